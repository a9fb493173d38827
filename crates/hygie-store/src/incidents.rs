//! Incidents (issue 6). Each change reads the record, applies a pure operation of
//! `hygie-incident`, writes the record back and appends a journal entry with subject
//! `incident/<id>` in the same transaction. The entry carries the record's digest, so an edit
//! of the stored record outside Hygie shows as a mismatch with the journal.
//!
//! The alerts an incident names (`facts.detection.alert_ids`) are linked to it in the same
//! transaction, on opening and on every change (`alerts::link_in`): an unknown alert id, or
//! one of another facility, refuses the change.

use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::Finess;
use hygie_incident::Incident;
use sqlx::Row;

/// The journal subject of an incident.
pub fn incident_subject(id: &str) -> String {
    format!("incident/{id}")
}

fn parse_record(id: &str, json: &str) -> Result<Incident> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("incident {id}: record does not parse: {e}")))
}

fn to_json(inc: &Incident) -> Result<String> {
    serde_json::to_string(inc).map_err(|e| StoreError::Corrupt(format!("incident {}: {e}", inc.id)))
}

async fn write_sendings(
    tx: &mut WriteTx<'_>,
    inc: &Incident,
    from: usize,
    seq: i64,
    actor: &Actor,
) -> Result<()> {
    for (n, s) in inc.sendings.iter().enumerate().skip(from) {
        sqlx::query(
            "INSERT INTO incident_sendings (incident, n, journal_seq, duty, phase, sent_us, reference, lang, late_reason, snapshot, snapshot_sha256, actor, channel) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&inc.id)
        .bind(n as i64)
        .bind(seq)
        .bind(s.duty.as_str())
        .bind(match s.phase {
            hygie_incident::Phase::Initial => "initial",
            hygie_incident::Phase::Complement => "complement",
        })
        .bind(s.at.timestamp().as_microsecond())
        .bind(s.reference.clone())
        .bind(match s.lang {
            hygie_core::Lang::En => "en",
            hygie_core::Lang::Fr => "fr",
        })
        .bind(s.late_reason.clone())
        .bind(&s.snapshot)
        .bind(&s.snapshot_sha256)
        .bind(&actor.0)
        .bind(s.channel.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A sent version as kept in `incident_sendings`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredSending {
    pub n: i64,
    pub journal_seq: i64,
    pub duty: String,
    pub phase: String,
    pub sent_us: i64,
    pub reference: Option<String>,
    pub lang: String,
    pub late_reason: Option<String>,
    pub snapshot: String,
    pub snapshot_sha256: String,
    pub actor: String,
    pub channel: Option<String>,
}

/// Why a change to an incident was refused: the store's refusal or the domain's.
#[derive(Debug, thiserror::Error)]
pub enum IncidentChangeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Incident(#[from] hygie_incident::IncidentError),
}

impl Store {
    /// Open an incident on `facility` from `input`: the facility's record gives its name, NIS 2
    /// status and kind; the alerts `input` names (all of this facility) pre-fill the facts it
    /// leaves empty (`hygie_incident::ops::prefill_from_alerts`) and are linked to it in the
    /// same transaction.
    pub async fn open_incident(
        &self,
        facility: &Finess,
        mut input: hygie_incident::FactsInput,
        now: jiff::Timestamp,
        actor: &Actor,
    ) -> std::result::Result<Incident, IncidentChangeError> {
        input.facility = Some(facility.as_str().to_owned());
        let fac = self.facility(facility).await?;
        let alerts = self.alerts_by_id(facility, &input.alert_ids).await?;
        if let Some(missing) = input
            .alert_ids
            .iter()
            .find(|id| !alerts.iter().any(|a| &a.id == *id))
        {
            return Err(StoreError::NotFound(format!("alert {missing}")).into());
        }
        let alerts: Vec<hygie_core::Alert> = alerts.into_iter().map(|a| a.alert).collect();
        hygie_incident::ops::prefill_from_alerts(&mut input, &alerts);
        let defaults = hygie_incident::ops::FacilityDefaults {
            name: fac.name.clone(),
            nis2: fac.nis2,
            kind: fac.kind,
        };
        self.create_incident(facility, actor, |id| {
            hygie_incident::ops::open(&id, input, &defaults, now).map_err(IncidentChangeError::from)
        })
        .await
    }

    /// Create an incident: `build` receives the new id (`INC-750712184-00001`...: the facility's
    /// FINESS and its own sequence) and returns the record.
    /// The facility must exist. Journalled as `incident.open`.
    pub async fn create_incident<E: From<StoreError> + Send>(
        &self,
        facility: &Finess,
        actor: &Actor,
        build: impl FnOnce(String) -> std::result::Result<Incident, E> + Send,
    ) -> std::result::Result<Incident, E> {
        // The domain's error aborts without a retry: the body returns it inside `Ok`, before
        // anything is written.
        let mut build = Some(build);
        let created = self.write(|tx| {
            let build = build.take();
            Box::pin(async move {
                let Some(build) = build else {
                    return Err(StoreError::Invalid("incident creation tried twice".into()));
                };
                crate::rows::ensure_facility(tx, facility).await?;
                // Numbered per facility, the FINESS in the id: an installation-wide number
                // would tell a facility's users how many incidents the others had (issue 25).
                // Older stores keep their `INC-00001` ids, which cannot collide with these.
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE facility = $1")
                        .bind(facility.as_str())
                        .fetch_one(&mut **tx)
                        .await?;
                let id = incident_id(facility, n + 1);
                let inc = match build(id.clone()) {
                    Ok(inc) => inc,
                    Err(e) => return Ok(Err(e)),
                };
                if inc.id != id || inc.facts.facility != facility.as_str() {
                    return Err(StoreError::Corrupt(
                        "incident built with another id or facility".into(),
                    ));
                }
                let now = now_us();
                sqlx::query(
                    "INSERT INTO incidents (id, facility, title, status, breach, awareness_us, record, digest, opened_us, updated_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&inc.id)
                .bind(facility.as_str())
                .bind(&inc.facts.title)
                .bind(inc.status.as_str())
                .bind(inc.facts.personal_data_breach.as_str())
                .bind(inc.facts.awareness.timestamp().as_microsecond())
                .bind(to_json(&inc)?)
                .bind(inc.digest())
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let linked = crate::alerts::link_in(
                    tx,
                    facility.as_str(),
                    &inc.id,
                    &inc.facts.detection.alert_ids,
                    actor,
                )
                .await?;
                let details = serde_json::json!({
                    "linked_alerts": linked,
                    "facility": facility.as_str(),
                    "title": inc.facts.title,
                    "awareness": hygie_incident::clock::rfc3339(&inc.facts.awareness),
                    "facts": inc.facts,
                    "digest": inc.digest(),
                });
                append(tx, actor, "incident.open", &incident_subject(&inc.id), &details).await?;
                // The webhook event of the opening, in the same transaction (outbox).
                let at = jiff::Timestamp::from_microsecond(now).unwrap_or(inc.opened_at);
                crate::webhooks::enqueue_in(tx, &hygie_notify::webhook::Event::incident_opened(&inc, at))
                    .await?;
                Ok(Ok(inc))
            })
        })
        .await?;
        let mut inc = created?;
        inc.regimes = self.regimes().await?;
        Ok(inc)
    }

    /// Change an incident: `change` mutates the record and returns the journal details of the
    /// change (the store adds the new digest). Nothing is written when `change` fails.
    pub async fn update_incident<E: From<StoreError> + Send>(
        &self,
        id: &str,
        actor: &Actor,
        action: &str,
        change: impl FnOnce(&mut Incident) -> std::result::Result<serde_json::Value, E> + Send,
    ) -> std::result::Result<Incident, E> {
        let mut change = Some(change);
        self.write(|tx| {
            let change = change.take();
            Box::pin(async move {
                let Some(change) = change else {
                    return Err(StoreError::Invalid("incident change tried twice".into()));
                };
                let json: Option<String> = sqlx::query_scalar("SELECT record FROM incidents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(json) = json else {
                    return Err(StoreError::NotFound(format!("incident {id}")));
                };
                let mut inc = parse_record(id, &json)?;
                inc.regimes = crate::regimes::regimes_in(tx).await?;
                let sent_before = inc.sendings.len();
                let mut details = match change(&mut inc) {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(e)),
                };
                let digest = inc.digest();
                let facility: String =
                    sqlx::query_scalar("SELECT facility FROM incidents WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut **tx)
                        .await?;
                let linked = crate::alerts::link_in(
                    tx,
                    &facility,
                    id,
                    &inc.facts.detection.alert_ids,
                    actor,
                )
                .await?;
                if let serde_json::Value::Object(m) = &mut details {
                    m.insert("digest".into(), serde_json::Value::String(digest.clone()));
                    if !linked.is_empty() {
                        m.insert("linked_alerts".into(), serde_json::json!(linked));
                    }
                }
                let seq = append(tx, actor, action, &incident_subject(id), &details).await?;
                write_sendings(tx, &inc, sent_before, seq, actor).await?;
                sqlx::query(
                    "UPDATE incidents SET title = $1, status = $2, breach = $3, awareness_us = $4, record = $5, digest = $6, updated_us = $7 WHERE id = $8",
                )
                .bind(&inc.facts.title)
                .bind(inc.status.as_str())
                .bind(inc.facts.personal_data_breach.as_str())
                .bind(inc.facts.awareness.timestamp().as_microsecond())
                .bind(to_json(&inc)?)
                .bind(&digest)
                .bind(now_us())
                .bind(id)
                .execute(&mut **tx)
                .await?;
                Ok(Ok(inc))
            })
        })
        .await?
    }

    pub async fn incident(&self, id: &str) -> Result<Incident> {
        let json: Option<String> = sqlx::query_scalar("SELECT record FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let mut inc = match json {
            Some(j) => parse_record(id, &j)?,
            None => return Err(StoreError::NotFound(format!("incident {id}"))),
        };
        inc.regimes = self.regimes().await?;
        Ok(inc)
    }

    /// Incidents, oldest awareness first; optionally of one facility, optionally with closed ones.
    pub async fn incidents(
        &self,
        facility: Option<&Finess>,
        include_closed: bool,
    ) -> Result<Vec<Incident>> {
        let rows = sqlx::query(
            "SELECT id, record FROM incidents WHERE ($1 = '' OR facility = $1) AND ($2 = 1 OR status <> 'closed') \
             ORDER BY awareness_us, id",
        )
        .bind(facility.map(|f| f.as_str()).unwrap_or(""))
        .bind(i64::from(include_closed))
        .fetch_all(&self.pool)
        .await?;
        let regimes = self.regimes().await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let json: String = r.try_get("record")?;
                let mut inc = parse_record(&id, &json)?;
                inc.regimes = regimes.clone();
                Ok(inc)
            })
            .collect()
    }

    /// The stored digest of an incident's record next to the digest recomputed from it.
    pub async fn incident_digests(&self, id: &str) -> Result<(String, String)> {
        let row = sqlx::query("SELECT record, digest FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("incident {id}")));
        };
        let json: String = row.try_get("record")?;
        let stored: String = row.try_get("digest")?;
        Ok((stored, parse_record(id, &json)?.digest()))
    }

    /// Every sent version of an incident's notifications, in order.
    pub async fn incident_sendings(&self, id: &str) -> Result<Vec<StoredSending>> {
        let rows = sqlx::query(
            "SELECT n, journal_seq, duty, phase, sent_us, reference, lang, late_reason, snapshot, snapshot_sha256, actor, channel \
             FROM incident_sendings WHERE incident = $1 ORDER BY n",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredSending {
                    n: r.try_get("n")?,
                    journal_seq: r.try_get("journal_seq")?,
                    duty: r.try_get("duty")?,
                    phase: r.try_get("phase")?,
                    sent_us: r.try_get("sent_us")?,
                    reference: r.try_get("reference")?,
                    lang: r.try_get("lang")?,
                    late_reason: r.try_get("late_reason")?,
                    snapshot: r.try_get("snapshot")?,
                    snapshot_sha256: r.try_get("snapshot_sha256")?,
                    actor: r.try_get("actor")?,
                    channel: r.try_get("channel")?,
                })
            })
            .collect()
    }
}

/// The id of a facility's `n`th incident: `INC-{FINESS}-{n:05}`.
pub fn incident_id(facility: &Finess, n: i64) -> String {
    format!("INC-{}-{n:05}", facility.as_str())
}
