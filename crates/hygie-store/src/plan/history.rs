//! Statuses recomputed from the whole history, for any date: the reference the precomputed views
//! of `current.rs` must equal, and what they fall back to for a date before a facility's latest
//! fact. Regional views load every facility's data in a fixed number of queries, whatever the count.

use crate::{Result, Store};
use hygie_core::plan::{self, RegionStatus};
use hygie_core::{Catalog, CheckRun, Declaration, Facility, FacilityStatus, MeasureId, Region};
use sqlx::Row;
use std::collections::BTreeMap;

type Declarations = BTreeMap<MeasureId, Vec<Declaration>>;

impl Store {
    /// Where one facility stands on `as_of`, replayed from its whole history.
    pub async fn facility_status_from_history(
        &self,
        catalog: &Catalog,
        f: &Facility,
        as_of: jiff::civil::Date,
    ) -> Result<FacilityStatus> {
        let decl = self.declarations(&f.id).await?;
        let runs = self.check_runs(&f.id, None).await?;
        Ok(plan::facility_status(f, catalog, &decl, &runs, as_of))
    }

    /// Every facility of a region on `as_of`, with their full statuses, replayed from history.
    pub async fn region_statuses(
        &self,
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<Vec<FacilityStatus>> {
        let facilities = self.facilities(Some(region)).await?;
        let cutoff = plan::end_of_day(as_of).as_microsecond();
        let mut decl: BTreeMap<String, Declarations> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT d.facility, d.measure, d.status, d.justification, d.owner, d.note, d.at_us, d.actor FROM declarations d \
             JOIN facilities f ON f.finess = d.facility WHERE f.region = $1 AND d.at_us < $2 ORDER BY d.at_us, d.seq",
        )
        .bind(region.code())
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let facility: String = r.try_get("facility")?;
            let (measure, d) = crate::rows::declaration_from_row(&r)?;
            decl.entry(facility)
                .or_default()
                .entry(measure)
                .or_default()
                .push(d);
        }
        // Only the latest run of each source by the cutoff matters: select those in SQL.
        let rows = sqlx::query(
            "SELECT c.facility, c.id, c.source, c.at_us, r.rule, r.severity, r.outcome, r.measures, r.objects \
             FROM check_runs c JOIN facilities f ON f.finess = c.facility \
             JOIN check_results r ON r.run_id = c.id \
             WHERE f.region = $1 AND c.at_us < $2 AND c.at_us = (SELECT MAX(c2.at_us) FROM check_runs c2 \
               WHERE c2.facility = c.facility AND c2.source = c.source AND c2.at_us < $2) \
             ORDER BY c.facility, c.id",
        )
        .bind(region.code())
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        let mut runs: BTreeMap<String, Vec<CheckRun>> = BTreeMap::new();
        for r in rows {
            crate::rows::push_run_row(&mut runs, &r)?;
        }
        let empty_decl = Declarations::new();
        Ok(facilities
            .iter()
            .map(|f| {
                let d = decl.get(f.id.as_str()).unwrap_or(&empty_decl);
                let r = runs.get(f.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                plan::facility_status(f, catalog, d, r, as_of)
            })
            .collect())
    }

    /// The regional side-by-side view, replayed from history.
    pub async fn region_status_from_history(
        &self,
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<RegionStatus> {
        let statuses = self.region_statuses(catalog, region, as_of).await?;
        let mut view = RegionStatus::from_statuses(region, as_of, &statuses);
        self.fill_last_reports(&mut view).await?;
        Ok(view)
    }
}
