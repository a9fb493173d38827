//! Detection alerts of a facility (issue 5): recorded by `hygie detect` and
//! `hygie ingest`, listed by `hygie alerts list`, linkable to an incident.

use crate::journal::{Actor, WriteTx, append};
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, now_us};
use hygie_core::{Alert, Finess};
use sqlx::Row;

/// An alert as stored: the detection's alert (`hygie_core::Alert`, what `record_alerts` takes)
/// and the incident it was linked to, if any. It reads as the alert it holds (`Deref`), so views
/// and exports name the alert's fields directly; its JSON is the alert's with `incident` added.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertRecord {
    #[serde(flatten)]
    pub alert: Alert,
    #[serde(default)]
    pub incident: Option<String>,
}

impl std::ops::Deref for AlertRecord {
    type Target = Alert;
    fn deref(&self) -> &Alert {
        &self.alert
    }
}

/// A new alert, not linked to an incident yet.
impl From<Alert> for AlertRecord {
    fn from(alert: Alert) -> Self {
        AlertRecord {
            alert,
            incident: None,
        }
    }
}

/// Where a streaming ingest stands in its on-disk spool (`hygie_logs::spool`): every record
/// before `position` was evaluated and its alerts are committed with this checkpoint, in one
/// transaction. `state` is the aggregation's open state (JSON, opaque to the store); `None`
/// keeps the one saved before (it did not change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestCheckpoint {
    /// The spool's own id.
    pub spool: String,
    pub position: u64,
    pub state: Option<String>,
}

impl Store {
    /// Insert new alerts and update repeats (count, last time) in one
    /// transaction. Returns how many alerts were new.
    pub async fn record_alerts(
        &self,
        facility: &Finess,
        alerts: &[Alert],
        actor: &Actor,
    ) -> Result<usize> {
        if alerts.is_empty() {
            return Ok(0);
        }
        self.write(|tx| Box::pin(async move { upsert_alerts(tx, facility, alerts, actor).await }))
            .await
    }

    /// [`Self::record_alerts`] and the ingest checkpoint they bring the stream to, in one
    /// transaction: after a crash the stream replays from the last checkpoint committed, so an
    /// event is never counted twice nor skipped. Also with no alert, to move the checkpoint.
    /// The checkpoint itself is not journalled (a cursor of the stream, not a fact of the
    /// facility); the alerts are, as `record_alerts` journals them.
    pub async fn record_alerts_at(
        &self,
        facility: &Finess,
        alerts: &[Alert],
        checkpoint: &IngestCheckpoint,
        actor: &Actor,
    ) -> Result<usize> {
        let position = i64::try_from(checkpoint.position)
            .map_err(|_| StoreError::Invalid(format!("spool position {}", checkpoint.position)))?;
        self.write(|tx| {
            Box::pin(async move {
                let new = upsert_alerts(tx, facility, alerts, actor).await?;
                let owner: Option<String> =
                    sqlx::query_scalar("SELECT facility FROM ingest_checkpoints WHERE spool = $1")
                        .bind(&checkpoint.spool)
                        .fetch_optional(&mut **tx)
                        .await?;
                if owner.as_deref().is_some_and(|f| f != facility.as_str()) {
                    return Err(StoreError::Conflict(format!(
                        "spool {} of another facility",
                        checkpoint.spool
                    )));
                }
                match (&checkpoint.state, owner) {
                    (Some(state), _) => {
                        sqlx::query("INSERT INTO ingest_checkpoints (spool, facility, position, state, updated_us) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (spool) DO UPDATE SET position = excluded.position, state = excluded.state, updated_us = excluded.updated_us")
                            .bind(&checkpoint.spool)
                            .bind(facility.as_str())
                            .bind(position)
                            .bind(state)
                            .bind(now_us())
                            .execute(&mut **tx)
                            .await?;
                    }
                    (None, Some(_)) => {
                        sqlx::query("UPDATE ingest_checkpoints SET position = $1, updated_us = $2 WHERE spool = $3")
                            .bind(position)
                            .bind(now_us())
                            .bind(&checkpoint.spool)
                            .execute(&mut **tx)
                            .await?;
                    }
                    (None, None) => {
                        return Err(StoreError::Invalid(format!(
                            "the first checkpoint of spool {} has no state",
                            checkpoint.spool
                        )));
                    }
                }
                Ok(new)
            })
        })
        .await
    }

    /// The last checkpoint committed for a spool, with the facility it belongs to.
    pub async fn ingest_checkpoint(
        &self,
        spool: &str,
    ) -> Result<Option<(String, IngestCheckpoint)>> {
        let row = sqlx::query(
            "SELECT facility, position, state FROM ingest_checkpoints WHERE spool = $1",
        )
        .bind(spool)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let position: i64 = r.try_get("position")?;
        let checkpoint = IngestCheckpoint {
            spool: spool.to_owned(),
            position: u64::try_from(position)
                .map_err(|_| StoreError::Corrupt(format!("spool {spool} position {position}")))?,
            state: Some(r.try_get("state")?),
        };
        Ok(Some((r.try_get("facility")?, checkpoint)))
    }

    /// The alerts of a facility with these ids (those that exist), in no particular order.
    pub async fn alerts_by_id(
        &self,
        facility: &Finess,
        ids: &[String],
    ) -> Result<Vec<AlertRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT id, rule_id, title, level, tags, event_time, last_time, host, record_id, source, fields, count, incident FROM alerts WHERE id = $1 AND facility = $2")
                .bind(id)
                .bind(facility.as_str())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(r) = row {
                out.push(row_to_alert(&r)?);
            }
        }
        Ok(out)
    }

    /// Alerts of a facility, newest first (optionally at least `min_level`).
    pub async fn alerts(&self, facility: &Finess, limit: Option<i64>) -> Result<Vec<AlertRecord>> {
        let rows = sqlx::query("SELECT id, rule_id, title, level, tags, event_time, last_time, host, record_id, source, fields, count, incident FROM alerts WHERE facility = $1 ORDER BY created_us DESC, event_time DESC, id LIMIT $2")
            .bind(facility.as_str())
            .bind(limit.unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_alert).collect()
    }

    /// Link an alert to an incident (journalled).
    pub async fn link_alert(
        &self,
        facility: &Finess,
        alert_id: &str,
        incident: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE alerts SET incident = $1, updated_us = $2 WHERE id = $3 AND facility = $4",
                )
                .bind(incident)
                .bind(now_us())
                .bind(alert_id)
                .bind(facility.as_str())
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!(
                        "alert {alert_id} of facility {facility}"
                    )));
                }
                let details = serde_json::json!({ "alert": alert_id, "incident": incident });
                append(tx, actor, "alert.link", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }
}

/// Insert new alerts and update repeats inside `tx`; journals the new ones. Returns how many
/// were new.
async fn upsert_alerts(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    alerts: &[Alert],
    actor: &Actor,
) -> Result<usize> {
    ensure_facility(tx, facility).await?;
    let now = now_us();
    let mut new = 0usize;
    for a in alerts {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT facility FROM alerts WHERE id = $1")
                .bind(&a.id)
                .fetch_optional(&mut **tx)
                .await?;
        let target = match existing {
            Some(f) if f != facility.as_str() => {
                return Err(StoreError::Conflict(format!(
                    "alert {} of another facility",
                    a.id
                )));
            }
            Some(_) => Some(a.id.clone()),
            None => legacy_twin(tx, facility, a).await?,
        };
        match target {
            Some(id) => {
                // The id names (facility, rule, host, time bucket); the aggregator
                // sends the bucket's whole state, whose representative
                // (earliest match) may have changed if an earlier event
                // arrived late.
                sqlx::query("UPDATE alerts SET count = $1, last_time = $2, event_time = $3, record_id = $4, source = $5, fields = $6, updated_us = $7 WHERE id = $8")
                    .bind(i64::try_from(a.count).unwrap_or(i64::MAX))
                    .bind(a.last_time.clone())
                    .bind(a.time.clone())
                    .bind(i64::try_from(a.record_id).unwrap_or(i64::MAX))
                    .bind(&a.source)
                    .bind(serde_json::to_string(&a.fields).unwrap_or_else(|_| "[]".into()))
                    .bind(now)
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
            }
            None => {
                new += 1;
                sqlx::query("INSERT INTO alerts (id, facility, rule_id, title, level, tags, event_time, last_time, host, record_id, source, fields, count, incident, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14, $14)")
                    .bind(&a.id)
                    .bind(facility.as_str())
                    .bind(&a.rule_id)
                    .bind(&a.title)
                    .bind(&a.level)
                    .bind(serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into()))
                    .bind(a.time.clone())
                    .bind(a.last_time.clone())
                    .bind(a.host.clone())
                    .bind(i64::try_from(a.record_id).unwrap_or(i64::MAX))
                    .bind(&a.source)
                    .bind(serde_json::to_string(&a.fields).unwrap_or_else(|_| "[]".into()))
                    .bind(i64::try_from(a.count).unwrap_or(i64::MAX))
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    if new > 0 {
        let details = serde_json::json!({ "new": new, "updated": alerts.len() - new });
        append(tx, actor, "alerts.record", facility.as_str(), &details).await?;
    }
    Ok(new)
}

/// Length of the alert ids made before they included the facility (24 hex digits; now 32).
const LEGACY_ID_LEN: i64 = 24;

/// The alert of an older store (its id made without the facility, kept so that incidents naming
/// it still resolve) that `a` is a new run's version of: same facility, rule and host, and the
/// same representative event (time, source, record), which fixes the time bucket. Without it, a
/// facility analysing again logs it had analysed before the upgrade would get each alert twice.
async fn legacy_twin(tx: &mut WriteTx<'_>, facility: &Finess, a: &Alert) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM alerts WHERE facility = $1 AND rule_id = $2 AND COALESCE(host, '') = $3 AND COALESCE(event_time, '') = $4 AND source = $5 AND record_id = $6 AND length(id) = $7 ORDER BY id LIMIT 1",
    )
    .bind(facility.as_str())
    .bind(&a.rule_id)
    .bind(a.host.clone().unwrap_or_default())
    .bind(a.time.clone().unwrap_or_default())
    .bind(&a.source)
    .bind(i64::try_from(a.record_id).unwrap_or(i64::MAX))
    .bind(LEGACY_ID_LEN)
    .fetch_optional(&mut **tx)
    .await?)
}

fn row_to_alert(r: &sqlx::any::AnyRow) -> Result<AlertRecord> {
    let corrupt =
        |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("alert {what}: {e}"));
    let tags: String = r.try_get("tags")?;
    let fields: String = r.try_get("fields")?;
    let record_id: i64 = r.try_get("record_id")?;
    let count: i64 = r.try_get("count")?;
    let alert = Alert {
        id: r.try_get("id")?,
        rule_id: r.try_get("rule_id")?,
        title: r.try_get("title")?,
        level: r.try_get("level")?,
        tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags", e))?,
        time: r.try_get("event_time")?,
        last_time: r.try_get("last_time")?,
        host: r.try_get("host")?,
        record_id: u64::try_from(record_id).unwrap_or(0),
        source: r.try_get("source")?,
        fields: serde_json::from_str(&fields).map_err(|e| corrupt("fields", e))?,
        count: u64::try_from(count).unwrap_or(0),
    };
    Ok(AlertRecord {
        alert,
        incident: r.try_get("incident")?,
    })
}
