//! The scoped view of a facility's alerts and incidents: reads need the facility in the
//! caller's binding; triage, opening and every change of an incident need a write-capable
//! account or token too. Another facility's alert or incident is "not found", as a facility out
//! of scope is.

use super::scoped::Scoped;
use crate::{
    AlertPage, AlertQuery, AlertRecord, AlertStatus, IncidentChangeError, Result, StoreError,
};
use hygie_core::Finess;
use hygie_incident::{FactsInput, Incident};
use jiff::Timestamp;

impl Scoped<'_> {
    /// A page of a facility's alerts, newest first.
    pub async fn alert_page(&self, id: &Finess, q: &AlertQuery) -> Result<AlertPage> {
        self.facility(id).await?;
        self.store.alert_page(id, q).await
    }

    /// Alerts of a facility recorded per UTC day and level (`Store::alerts_per_day`).
    pub async fn alerts_per_day(
        &self,
        id: &Finess,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(i64, String, i64)>> {
        self.facility(id).await?;
        self.store.alerts_per_day(id, from, to).await
    }

    /// One alert of a facility.
    pub async fn alert(&self, id: &Finess, alert: &str) -> Result<AlertRecord> {
        self.facility(id).await?;
        self.store.alert(id, alert).await
    }

    /// Set an alert's triage status (`Store::triage_alert`).
    pub async fn triage_alert(
        &self,
        id: &Finess,
        alert: &str,
        status: AlertStatus,
        reason: Option<&str>,
    ) -> Result<AlertRecord> {
        self.facility(id).await?;
        self.check_write()?;
        self.store
            .triage_alert(id, alert, status, reason, &self.access.actor())
            .await
    }

    /// Incidents of a facility (closed ones included), oldest awareness first.
    pub async fn incidents(&self, id: &Finess) -> Result<Vec<Incident>> {
        self.facility(id).await?;
        self.store.incidents(Some(id), true).await
    }

    /// One incident of a facility; another facility's incident is not found.
    pub async fn incident(&self, id: &Finess, incident: &str) -> Result<Incident> {
        self.facility(id).await?;
        match self.store.incident(incident).await {
            Ok(inc) if inc.facts.facility == id.as_str() => Ok(inc),
            Ok(_) | Err(StoreError::NotFound(_)) => {
                Err(StoreError::NotFound(format!("incident {incident}")))
            }
            Err(e) => Err(e),
        }
    }

    /// The journal entries of one incident of a facility (its file's history), oldest first.
    pub async fn incident_journal(
        &self,
        id: &Finess,
        incident: &str,
    ) -> Result<Vec<hygie_core::journal::JournalEntry>> {
        let inc = self.incident(id, incident).await?;
        self.store
            .journal_entries(Some(&crate::incident_subject(&inc.id)), None)
            .await
    }

    /// The recent webhook deliveries: of one facility in scope, or (`None`) of every facility
    /// for an installation-wide account. Readers of the journal only: the deliveries are its
    /// operational side.
    pub async fn webhook_deliveries(
        &self,
        id: Option<&Finess>,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<crate::DeliveryRecord>> {
        self.check_journal()?;
        match id {
            Some(f) => {
                self.facility(f).await?;
            }
            None if matches!(self.access.binding, crate::Binding::Installation) => {}
            None => {
                return Err(StoreError::Forbidden(
                    "every facility's deliveries are for installation-wide accounts".into(),
                ));
            }
        }
        self.store.webhook_deliveries(id, failed_only, limit).await
    }

    /// Open an incident on a facility, blank or from its alerts (`Store::open_incident`).
    pub async fn open_incident(
        &self,
        id: &Finess,
        input: FactsInput,
        now: Timestamp,
    ) -> std::result::Result<Incident, IncidentChangeError> {
        self.facility(id).await?;
        self.check_write()?;
        if input
            .facility
            .as_deref()
            .is_some_and(|f| f.trim() != id.as_str())
        {
            return Err(StoreError::Invalid(format!(
                "facility: the incident is opened on facility {id}"
            ))
            .into());
        }
        self.store
            .open_incident(id, input, now, &self.access.actor())
            .await
    }

    /// Change an incident of a facility (`Store::update_incident`): `change` is one of
    /// `hygie_incident::ops`, run inside the write transaction.
    pub async fn update_incident(
        &self,
        id: &Finess,
        incident: &str,
        action: &str,
        change: impl FnOnce(
            &mut Incident,
        ) -> std::result::Result<serde_json::Value, IncidentChangeError>
        + Send,
    ) -> std::result::Result<Incident, IncidentChangeError> {
        // The incident's facility never changes: checked once, before the write.
        self.incident(id, incident).await?;
        self.check_write()?;
        self.store
            .update_incident(incident, &self.access.actor(), action, change)
            .await
    }
}
