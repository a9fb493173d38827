//! Detection alerts of a facility (issue 5): recorded by `hygie detect` and
//! `hygie ingest`, listed by `hygie alerts list`, linkable to an incident.
//!
//! Triage (issue 18): each alert has a status (new, acknowledged, false positive with a reason,
//! incident once linked to one) with who set it and when, journalled as `alert.triage`. Linking
//! goes both ways: an incident that names alerts links them in its own transaction
//! (`link_in`), and `link_alert` adds the alert to the incident's facts. Lists are pages in
//! keyset order (newest recorded first, then id descending), each filter served by an index
//! `(facility, column, created_us, id)`, so a page costs the same with a million alerts.
//!
//! Ids (issue 20) include the facility (32 hex digits). A store written before holds 24-digit
//! ids: an unknown id whose older twin exists (same facility, rule, host and representative
//! event, `legacy_twin`) updates the twin, so older alerts are neither renamed nor doubled and
//! what incidents name still resolves.
//!
//! Detection workers (issue 20, `hygie detect-worker`, several processes on one PostgreSQL
//! store) merge partial alerts with [`Store::merge_alerts`]: each comes with the keys of the
//! events it counts (JetStream stream sequences), recorded in `alert_events` in the same
//! transaction, and only the keys not recorded yet add to the count, so a message delivered
//! again adds nothing and two workers feeding one alert add up. The merge reads and writes the
//! alert under the store's one write lock (`journal.rs`: every write transaction first takes the
//! journal head's row lock), so two workers' merges of one alert never interleave; the count is
//! raised with `count = count + added` all the same.

use crate::batch::Value;
use crate::journal::{Actor, WriteTx, append};
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, now_us};
use hygie_core::alert::KeyedAlert;
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
    #[serde(default)]
    pub status: AlertStatus,
    /// Why it is a false positive (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Who set the status, and when (absent while it is new and untouched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<jiff::Timestamp>,
}

/// Where an alert stands in its triage.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    #[default]
    New,
    Acknowledged,
    FalsePositive,
    /// Linked to an incident (set by the link, never chosen in a triage).
    Incident,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] = [
        AlertStatus::New,
        AlertStatus::Acknowledged,
        AlertStatus::FalsePositive,
        AlertStatus::Incident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::FalsePositive => "false_positive",
            AlertStatus::Incident => "incident",
        }
    }

    pub fn label(self) -> hygie_core::Localized {
        let (en, fr) = match self {
            AlertStatus::New => ("new", "nouvelle"),
            AlertStatus::Acknowledged => ("acknowledged", "prise en compte"),
            AlertStatus::FalsePositive => ("false positive", "faux positif"),
            AlertStatus::Incident => ("linked to an incident", "rattachée à un incident"),
        };
        hygie_core::Localized::new(en, fr)
    }

    pub fn parse(s: &str) -> Result<AlertStatus> {
        AlertStatus::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "status: '{s}' is not an alert status (new, acknowledged, false_positive, incident)"
                ))
            })
    }
}

/// The filters and the page of an alerts list. Every filter is optional; `after` is the `next`
/// of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub level: Option<String>,
    pub rule: Option<String>,
    pub host: Option<String>,
    pub status: Option<AlertStatus>,
    /// Recorded at or after / before (microseconds since the epoch).
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    pub after: Option<AlertCursor>,
    pub limit: i64,
}

/// Where a page ended: the last alert's recording time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCursor {
    pub created_us: i64,
    pub id: String,
}

impl AlertCursor {
    /// The cursor as a URL-safe token: `<created_us>.<id>`.
    pub fn token(&self) -> String {
        format!("{}.{}", self.created_us, self.id)
    }

    pub fn parse(s: &str) -> Result<AlertCursor> {
        let bad = || StoreError::Invalid(format!("after: '{s}' is not a page cursor"));
        let (us, id) = s.split_once('.').ok_or_else(bad)?;
        Ok(AlertCursor {
            created_us: us.parse().map_err(|_| bad())?,
            id: id.to_owned(),
        })
    }
}

/// One page of alerts and the cursor of the next one, if there is more.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertPage {
    pub alerts: Vec<AlertRecord>,
    pub next: Option<String>,
}

/// The most alerts a page holds.
pub const ALERT_PAGE_MAX: i64 = 500;

const ALERT_COLUMNS: &str = "id, rule_id, title, level, tags, event_time, last_time, host, record_id, source, fields, count, incident, status, status_reason, status_by, status_us, created_us";

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
            status: AlertStatus::New,
            status_reason: None,
            status_by: None,
            status_at: None,
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

    /// Merge partial alerts of detection workers, in one transaction: for each, record its
    /// event keys (`stream`, sequence) and add to the alert only the events not recorded before
    /// ([`Alert::merge`]: earlier representative, later last time, count plus the new events).
    /// An alert whose events were all counted already is left as it is. Returns how many alerts
    /// were new and how many events were counted.
    pub async fn merge_alerts(
        &self,
        facility: &Finess,
        stream: &str,
        alerts: &[KeyedAlert],
        actor: &Actor,
    ) -> Result<Merged> {
        if alerts.is_empty() {
            return Ok(Merged::default());
        }
        self.write(|tx| {
            Box::pin(async move { merge_keyed(tx, facility, stream, alerts, actor).await })
        })
        .await
    }

    /// Forget the event keys of `stream` below `seq` (the consumer's acknowledgement floor: those
    /// messages were counted and acknowledged) and raise the stream's floor to it, so that a
    /// stale copy of such a message, still in some worker's hands, adds nothing later
    /// ([`Store::merge_alerts`] drops the keys below the floor). Unjournalled: bookkeeping of the
    /// stream, not a fact of a facility. Returns how many keys were deleted.
    pub async fn forget_alert_events(&self, stream: &str, below: u64) -> Result<u64> {
        let below = i64::try_from(below).unwrap_or(i64::MAX);
        self.write(|tx| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO alert_event_floors (stream, below) VALUES ($1, $2) \
                     ON CONFLICT (stream) DO UPDATE SET below = excluded.below \
                     WHERE excluded.below > alert_event_floors.below",
                )
                .bind(stream)
                .bind(below)
                .execute(&mut **tx)
                .await?;
                let done = sqlx::query("DELETE FROM alert_events WHERE stream = $1 AND seq < $2")
                    .bind(stream)
                    .bind(below)
                    .execute(&mut **tx)
                    .await?;
                Ok(done.rows_affected())
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
        // A hundred ids per statement: a worker reads back a whole batch's alerts in a few
        // round trips, and no statement nears SQLite's or PostgreSQL's limit on parameters.
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE facility = $1 AND id IN ({})",
                crate::batch::placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(facility.as_str());
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(row_to_alert(&r)?);
            }
        }
        Ok(out)
    }

    /// How many alerts of a facility were recorded on each UTC day of `[from, to)`, by level:
    /// (days since 1970-01-01, level, count), in day then level order. The alerts page's chart;
    /// it reads the facility's index on the recording time, so its cost follows the alerts of
    /// the period, not the whole table.
    pub async fn alerts_per_day(
        &self,
        facility: &Finess,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT created_us / 86400000000 AS day, level, COUNT(*) AS n FROM alerts \
             WHERE facility = $1 AND created_us >= $2 AND created_us < $3 \
             GROUP BY created_us / 86400000000, level ORDER BY day, level",
        )
        .bind(facility.as_str())
        .bind(from.as_microsecond())
        .bind(to.as_microsecond())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("day")?, r.try_get("level")?, r.try_get("n")?)))
            .collect()
    }

    /// Alerts of a facility, newest first (optionally at least `min_level`).
    pub async fn alerts(&self, facility: &Finess, limit: Option<i64>) -> Result<Vec<AlertRecord>> {
        let rows = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE facility = $1 ORDER BY created_us DESC, id DESC LIMIT $2"))
            .bind(facility.as_str())
            .bind(limit.unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_alert).collect()
    }

    /// How many alerts of a facility were recorded in `[from, to)`, by level (the weekly
    /// digest's count), levels in alphabetical order.
    pub async fn alert_counts(
        &self,
        facility: &Finess,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT level, COUNT(*) AS n FROM alerts WHERE facility = $1 AND created_us >= $2 \
             AND created_us < $3 GROUP BY level ORDER BY level",
        )
        .bind(facility.as_str())
        .bind(from.as_microsecond())
        .bind(to.as_microsecond())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("level")?, r.try_get("n")?)))
            .collect()
    }

    /// Link an alert to an incident of the same facility, both ways: the alert's incident and
    /// status, and the alert's id among the incident's facts (journalled on both subjects).
    pub async fn link_alert(
        &self,
        facility: &Finess,
        alert_id: &str,
        incident: &str,
        actor: &Actor,
    ) -> Result<()> {
        let now = jiff::Timestamp::now();
        let alert = alert_id.to_owned();
        self.update_incident(incident, actor, "incident.update", move |inc| {
            if inc.facts.facility != facility.as_str() {
                return Err(StoreError::NotFound(format!("incident {}", inc.id)));
            }
            let patch = hygie_incident::FactsInput {
                alert_ids: vec![alert.clone()],
                ..hygie_incident::FactsInput::default()
            };
            let before = inc.facts.clone();
            let changed = inc
                .update(&patch, now)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let diff = hygie_incident::incident::facts_diff(&before, &inc.facts, &changed);
            Ok(serde_json::json!({ "changed": diff, "linked_alert": alert }))
        })
        .await?;
        Ok(())
    }

    /// One alert of a facility.
    pub async fn alert(&self, facility: &Finess, id: &str) -> Result<AlertRecord> {
        self.alerts_by_id(facility, &[id.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("alert {id}")))
    }

    /// A page of a facility's alerts, newest recorded first, filtered by `q`.
    pub async fn alert_page(&self, facility: &Finess, q: &AlertQuery) -> Result<AlertPage> {
        let limit = q.limit.clamp(1, ALERT_PAGE_MAX);
        // Only the filters given enter the statement, so each one meets the index that starts
        // with it (a condition `$n = '' OR col = $n` would hide it from SQLite's planner).
        let mut cond = String::from("facility = $1");
        let mut binds = vec![Value::Text(facility.as_str().to_owned())];
        let mut add = |c: &str, b: Value| {
            binds.push(b);
            cond.push_str(&c.replace('?', &format!("${}", binds.len())));
        };
        if let Some(v) = q.level.as_deref() {
            add(" AND level = ?", Value::Text(v.to_owned()));
        }
        if let Some(v) = q.rule.as_deref() {
            add(" AND rule_id = ?", Value::Text(v.to_owned()));
        }
        if let Some(v) = q.host.as_deref() {
            add(" AND host = ?", Value::Text(v.to_owned()));
        }
        if let Some(v) = q.status {
            add(" AND status = ?", Value::Text(v.as_str().to_owned()));
        }
        if let Some(v) = q.from_us {
            add(" AND created_us >= ?", Value::I64(v));
        }
        if let Some(v) = q.to_us {
            add(" AND created_us < ?", Value::I64(v));
        }
        if let Some(c) = &q.after {
            add(" AND (created_us < ?", Value::I64(c.created_us));
            add(" OR (created_us = ?", Value::I64(c.created_us));
            add(" AND id < ?))", Value::Text(c.id.clone()));
        }
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {cond} ORDER BY created_us DESC, id DESC LIMIT {}",
            limit + 1
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = crate::batch::bind(query, b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut alerts = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in rows.iter().take(limit as usize) {
            last = Some(AlertCursor {
                created_us: r.try_get("created_us")?,
                id: r.try_get("id")?,
            });
            alerts.push(row_to_alert(r)?);
        }
        let next = if rows.len() as i64 > limit {
            last.map(|c| c.token())
        } else {
            None
        };
        Ok(AlertPage { alerts, next })
    }

    /// Set an alert's triage status: `new`, `acknowledged` or `false_positive` (with a reason).
    /// An alert linked to an incident keeps its status `incident`: it is triaged by the
    /// incident. Journalled as `alert.triage` with the status before and after.
    pub async fn triage_alert(
        &self,
        facility: &Finess,
        alert_id: &str,
        status: AlertStatus,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<AlertRecord> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        match (status, reason) {
            (AlertStatus::Incident, _) => {
                return Err(StoreError::Invalid(
                    "status: an alert is linked to an incident by opening or updating the incident"
                        .into(),
                ));
            }
            (AlertStatus::FalsePositive, None) => {
                return Err(StoreError::Invalid(
                    "reason: say why the alert is a false positive".into(),
                ));
            }
            (_, Some(r)) if r.chars().count() > 2000 => {
                return Err(StoreError::Invalid(
                    "reason: at most 2000 characters".into(),
                ));
            }
            _ => {}
        }
        self.write(|tx| {
            Box::pin(async move {
                let before: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT status, incident FROM alerts WHERE id = $1 AND facility = $2",
                )
                .bind(alert_id)
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                let Some((before, incident)) = before else {
                    return Err(StoreError::NotFound(format!("alert {alert_id}")));
                };
                if let Some(i) = incident {
                    return Err(StoreError::Invalid(format!(
                        "status: alert {alert_id} is linked to incident {i}, which triages it"
                    )));
                }
                sqlx::query("UPDATE alerts SET status = $1, status_reason = $2, status_by = $3, status_us = $4, updated_us = $4 WHERE id = $5 AND facility = $6")
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(&actor.0)
                    .bind(now_us())
                    .bind(alert_id)
                    .bind(facility.as_str())
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({
                    "alert": alert_id, "from": before, "to": status.as_str(), "reason": reason,
                });
                append(tx, actor, "alert.triage", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await?;
        self.alert(facility, alert_id).await
    }
}

/// Link the alerts an incident names (`ids`) to it inside the incident's transaction: each
/// must be an alert of the incident's facility; those already linked to it are left as they
/// are. Returns the ids newly linked (the caller journals them with the incident's change).
pub(crate) async fn link_in(
    tx: &mut WriteTx<'_>,
    facility: &str,
    incident: &str,
    ids: &[String],
    actor: &Actor,
) -> Result<Vec<String>> {
    let mut linked = Vec::new();
    for id in ids {
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT incident FROM alerts WHERE id = $1 AND facility = $2")
                .bind(id)
                .bind(facility)
                .fetch_optional(&mut **tx)
                .await?;
        match current {
            None => {
                return Err(StoreError::NotFound(format!(
                    "alert {id} of facility {facility}"
                )));
            }
            Some(Some(i)) if i == incident => {}
            Some(_) => {
                sqlx::query("UPDATE alerts SET incident = $1, status = 'incident', status_reason = NULL, status_by = $2, status_us = $3, updated_us = $3 WHERE id = $4 AND facility = $5")
                    .bind(incident)
                    .bind(&actor.0)
                    .bind(now_us())
                    .bind(id)
                    .bind(facility)
                    .execute(&mut **tx)
                    .await?;
                linked.push(id.clone());
            }
        }
    }
    Ok(linked)
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
                insert_alert(tx, facility, a, now).await?;
            }
        }
    }
    if new > 0 {
        let details = serde_json::json!({ "new": new, "updated": alerts.len() - new });
        append(tx, actor, "alerts.record", facility.as_str(), &details).await?;
    }
    Ok(new)
}

/// What [`Store::merge_alerts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    /// Alerts inserted.
    pub new: usize,
    /// Alerts that existed and counted new events.
    pub updated: usize,
    /// Events counted (keys not seen before).
    pub events: u64,
}

/// Event keys inserted per statement (two shared parameters and one per key).
const KEYS_PER_STATEMENT: usize = 500;

async fn merge_keyed(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    stream: &str,
    alerts: &[KeyedAlert],
    actor: &Actor,
) -> Result<Merged> {
    ensure_facility(tx, facility).await?;
    let now = now_us();
    let mut merged = Merged::default();
    // Events below the forgotten floor were counted before (and acknowledged): a late copy's.
    let floor: i64 = sqlx::query_scalar("SELECT below FROM alert_event_floors WHERE stream = $1")
        .bind(stream)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(0);
    let floor = u64::try_from(floor).unwrap_or(0);
    for k in alerts {
        let a = &k.alert;
        let mut added = 0u64;
        let first_new = k.events.partition_point(|&seq| seq < floor);
        for chunk in k.events[first_new..].chunks(KEYS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, $2, ${})", i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO alert_events (alert_id, stream, seq) VALUES {} ON CONFLICT DO NOTHING RETURNING seq",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(&a.id).bind(stream);
            for &seq in chunk {
                q = q.bind(i64::try_from(seq).map_err(|_| {
                    StoreError::Invalid(format!("stream sequence {seq} out of range"))
                })?);
            }
            added += q.fetch_all(&mut **tx).await?.len() as u64;
        }
        if added == 0 {
            continue;
        }
        merged.events += added;
        let existing = sqlx::query(&format!(
            "SELECT facility, {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        ))
        .bind(&a.id)
        .fetch_optional(&mut **tx)
        .await?;
        match existing {
            Some(row) => {
                let owner: String = row.try_get("facility")?;
                if owner != facility.as_str() {
                    return Err(StoreError::Conflict(format!(
                        "alert {} of another facility",
                        a.id
                    )));
                }
                let mut m = row_to_alert(&row)?.alert;
                m.merge(a, added);
                sqlx::query("UPDATE alerts SET count = count + $1, last_time = $2, event_time = $3, record_id = $4, source = $5, fields = $6, updated_us = $7 WHERE id = $8")
                    .bind(i64::try_from(added).unwrap_or(i64::MAX))
                    .bind(m.last_time.clone())
                    .bind(m.time.clone())
                    .bind(i64::try_from(m.record_id).unwrap_or(i64::MAX))
                    .bind(&m.source)
                    .bind(serde_json::to_string(&m.fields).unwrap_or_else(|_| "[]".into()))
                    .bind(now)
                    .bind(&a.id)
                    .execute(&mut **tx)
                    .await?;
                merged.updated += 1;
            }
            None => {
                let mut first = a.clone();
                first.count = added;
                insert_alert(tx, facility, &first, now).await?;
                merged.new += 1;
            }
        }
    }
    if merged.events > 0 {
        let details = serde_json::json!({
            "new": merged.new, "updated": merged.updated, "events": merged.events, "stream": stream,
        });
        append(tx, actor, "alerts.record", facility.as_str(), &details).await?;
    }
    Ok(merged)
}

async fn insert_alert(tx: &mut WriteTx<'_>, facility: &Finess, a: &Alert, now: i64) -> Result<()> {
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
    // A new critical alert is a webhook event, in the transaction that records it.
    let at = jiff::Timestamp::from_microsecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    if let Some(ev) = hygie_notify::webhook::Event::critical_alert(facility.as_str(), a, at) {
        crate::webhooks::enqueue_in(tx, &ev).await?;
    }
    Ok(())
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
    let status: String = r.try_get("status")?;
    let status_us: Option<i64> = r.try_get("status_us")?;
    Ok(AlertRecord {
        alert,
        incident: r.try_get("incident")?,
        status: AlertStatus::parse(&status)
            .map_err(|_| StoreError::Corrupt(format!("alert status '{status}'")))?,
        status_reason: r.try_get("status_reason")?,
        status_by: r.try_get("status_by")?,
        status_at: status_us.map(crate::rows::ts_from_us).transpose()?,
    })
}
