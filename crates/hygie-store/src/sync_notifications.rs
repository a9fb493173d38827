//! The region's incident obligations (table `sync_obligations`, replaced by each package) with
//! their facility, as `hygie_core::notifications` judges them: the regional list of serious
//! incidents and late notifications (`hygie region incidents`, `/regions/R/incidents`) and the
//! counts on the region's dashboard. Read only; migrations 1000.

use crate::{Result, Store, StoreError};
use hygie_core::notifications::ReportedObligation;
use hygie_core::{Finess, Localized, Region};
use sqlx::Row;

fn timestamp(field: &str, v: Option<String>) -> Result<Option<jiff::Timestamp>> {
    v.map(|s| {
        s.parse()
            .map_err(|e| StoreError::Corrupt(format!("sync_obligations.{field} '{s}': {e}")))
    })
    .transpose()
}

/// The duty's name in both languages, or its code when this build does not know it.
fn duty_label(code: &str) -> Localized {
    hygie_incident::Duty::ALL
        .into_iter()
        .find(|d| d.as_str() == code)
        .map_or_else(|| Localized::new(code, code), hygie_incident::Duty::label)
}

impl Store {
    /// Every incident obligation the facilities of `region` reported in their last package, in
    /// facility then package order.
    pub async fn region_obligations(&self, region: Region) -> Result<Vec<ReportedObligation>> {
        let rows = sqlx::query(
            "SELECT o.facility, f.name, o.incident, o.duty, o.status, o.due, o.sent, o.late \
             FROM sync_obligations o JOIN facilities f ON f.finess = o.facility \
             WHERE f.region = $1 ORDER BY o.facility, o.position",
        )
        .bind(region.code())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let facility: String = r.try_get("facility")?;
                let departement = Finess::parse(&facility)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .departement()
                    .to_owned();
                let duty: String = r.try_get("duty")?;
                Ok(ReportedObligation {
                    facility_name: r.try_get("name")?,
                    departement,
                    incident: r.try_get("incident")?,
                    duty_label: duty_label(&duty),
                    duty,
                    status: r.try_get("status")?,
                    due: timestamp("due", r.try_get("due")?)?,
                    sent: timestamp("sent", r.try_get("sent")?)?,
                    late: r.try_get::<i64, _>("late")? != 0,
                    facility,
                })
            })
            .collect()
    }
}
