//! The webhooks' outbox and delivery state (issue 24; what is posted and how it is signed is
//! `hygie_notify::webhook`).
//!
//! 1. **Events** (`webhook_events`) are inserted once under their id: an incident's in the
//!    transaction that opens it, a critical alert's in the one that records it ([`enqueue_in`]),
//!    a reminder's by the reminders' pass ([`Store::enqueue_events`]). An event exists whether
//!    or not any endpoint is configured: configuring one later does not lose the day's events.
//! 2. **Deliveries** (`webhook_deliveries`, one per event and endpoint) are planned by
//!    [`Store::plan_deliveries`] for the endpoints a process has configured, each taking events
//!    from the day before it was first seen. The queue is bounded per endpoint
//!    (`queue_limit`): an event beyond it is a delivery failed at once ("queue full"),
//!    journalled and shown, never silently dropped.
//! 3. **Sending**: [`Store::claim_deliveries`] moves due rows to `sending` with a lease, under
//!    the write lock, so of two processes on one PostgreSQL one claims each row; a row whose
//!    lease ran out (its process died) is claimed again: a receiver may see a delivery twice
//!    (same `Hygie-Delivery` id) but never miss one. [`Store::delivery_attempted`] records each
//!    attempt's outcome with its journal entry (`webhook.attempt`: endpoint, event, attempt,
//!    status code; never the secret, the signature or the body).

use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::Finess;
use hygie_notify::webhook::{Endpoint, Event, EventType};
use sqlx::Row;

/// How far back a newly configured endpoint takes events.
const BACKFILL_US: i64 = 24 * 3600 * 1_000_000;

/// Insert `ev` into the outbox inside a write transaction (once: a second insert of the same
/// id is ignored). Returns whether it was new. Journalled by the caller's entry (the incident's
/// opening, the alerts' record).
pub(crate) async fn enqueue_in(tx: &mut WriteTx<'_>, ev: &Event) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO webhook_events (id, kind, facility, body, created_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ev.id)
    .bind(ev.kind.as_str())
    .bind(&ev.facility)
    .bind(ev.body())
    .bind(now_us())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub event: String,
    pub endpoint: String,
    pub kind: String,
    pub facility: String,
    /// The exact bytes to post.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Another answer or no answer; tried again at `next`.
    Retry {
        status: Option<u16>,
        error: String,
        next: jiff::Timestamp,
    },
    /// Another answer or no answer, and no attempt left.
    Failed { status: Option<u16>, error: String },
}

/// A delivery's row, for the deliveries page and `hygie notify webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRecord {
    pub event: String,
    pub endpoint: String,
    pub facility: String,
    pub kind: String,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_at: jiff::Timestamp,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: jiff::Timestamp,
}

fn subject(endpoint: &str) -> String {
    format!("webhook/{endpoint}")
}

impl Store {
    /// Put events into the outbox (those not there yet), journalled as `webhook.event` each.
    /// Returns how many were new.
    pub async fn enqueue_events(&self, events: &[Event], actor: &Actor) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            Box::pin(async move {
                let mut new = 0;
                for ev in events {
                    if enqueue_in(tx, ev).await? {
                        new += 1;
                        let details = serde_json::json!({
                            "type": ev.kind.as_str(), "facility": ev.facility,
                        });
                        append(
                            tx,
                            actor,
                            "webhook.event",
                            &format!("event/{}", ev.id),
                            &details,
                        )
                        .await?;
                    }
                }
                Ok(new)
            })
        })
        .await
    }

    /// Create the deliveries of the events each endpoint takes and does not have yet (within
    /// its queue limit; beyond it, failed at once). Journalled per endpoint that got any
    /// (`webhook.queue`: how many queued and dropped). Returns (queued, dropped).
    pub async fn plan_deliveries(
        &self,
        endpoints: &[Endpoint],
        actor: &Actor,
    ) -> Result<(usize, usize)> {
        self.write(|tx| {
            Box::pin(async move {
                let now = now_us();
                let (mut queued, mut dropped) = (0, 0);
                for ep in endpoints {
                    sqlx::query(
                        "INSERT INTO webhook_endpoints (name, since_us) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&ep.name)
                    .bind(now - BACKFILL_US)
                    .execute(&mut **tx)
                    .await?;
                    let since: i64 =
                        sqlx::query_scalar("SELECT since_us FROM webhook_endpoints WHERE name = $1")
                            .bind(&ep.name)
                            .fetch_one(&mut **tx)
                            .await?;
                    let rows = sqlx::query(
                        "SELECT e.id, e.kind, e.facility FROM webhook_events e WHERE e.created_us >= $1 \
                         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event = e.id AND d.endpoint = $2) \
                         ORDER BY e.created_us, e.id",
                    )
                    .bind(since)
                    .bind(&ep.name)
                    .fetch_all(&mut **tx)
                    .await?;
                    let mut waiting: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint = $1 AND state IN ('pending', 'sending')",
                    )
                    .bind(&ep.name)
                    .fetch_one(&mut **tx)
                    .await?;
                    let (mut q, mut d) = (0usize, 0usize);
                    for r in &rows {
                        let id: String = r.try_get("id")?;
                        let kind: String = r.try_get("kind")?;
                        let facility: String = r.try_get("facility")?;
                        let Some(k) = EventType::parse(&kind) else {
                            continue;
                        };
                        if !ep.wants(k, &facility) {
                            continue;
                        }
                        let full = waiting >= i64::from(ep.queue_limit);
                        let (state, error) = if full {
                            d += 1;
                            ("failed", Some("queue full / file d'attente pleine"))
                        } else {
                            q += 1;
                            waiting += 1;
                            ("pending", None)
                        };
                        sqlx::query(
                            "INSERT INTO webhook_deliveries (event, endpoint, facility, kind, state, attempts, next_us, last_error, updated_us) \
                             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $6)",
                        )
                        .bind(&id)
                        .bind(&ep.name)
                        .bind(&facility)
                        .bind(&kind)
                        .bind(state)
                        .bind(now)
                        .bind(error)
                        .execute(&mut **tx)
                        .await?;
                    }
                    if q + d > 0 {
                        let details = serde_json::json!({ "queued": q, "dropped": d });
                        append(tx, actor, "webhook.queue", &subject(&ep.name), &details).await?;
                    }
                    queued += q;
                    dropped += d;
                }
                Ok((queued, dropped))
            })
        })
        .await
    }

    /// Claim up to `limit` deliveries due at `now` for the `endpoints` named (pending and due,
    /// or sending with a lease run out), holding them for `lease`. Unjournalled: a lease is
    /// bookkeeping of the sender; each attempt's outcome is journalled.
    pub async fn claim_deliveries(
        &self,
        endpoints: &[String],
        now: jiff::Timestamp,
        lease: jiff::SignedDuration,
        limit: i64,
        actor: &Actor,
    ) -> Result<Vec<ClaimedDelivery>> {
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let now_us = now.as_microsecond();
        let until = (now + lease).as_microsecond();
        self.write(|tx| {
            Box::pin(async move {
                let marks: Vec<String> = (0..endpoints.len()).map(|i| format!("${}", i + 3)).collect();
                let sql = format!(
                    "SELECT d.event, d.endpoint, d.kind, d.facility, d.attempts, e.body \
                     FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event \
                     WHERE ((d.state = 'pending' AND d.next_us <= $1) OR (d.state = 'sending' AND d.lease_us < $1)) \
                     AND d.endpoint IN ({}) ORDER BY d.next_us, d.event LIMIT $2",
                    marks.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(now_us).bind(limit);
                for e in endpoints {
                    q = q.bind(e);
                }
                let rows = q.fetch_all(&mut **tx).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let c = ClaimedDelivery {
                        event: r.try_get("event")?,
                        endpoint: r.try_get("endpoint")?,
                        kind: r.try_get("kind")?,
                        facility: r.try_get("facility")?,
                        body: r.try_get("body")?,
                        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    };
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = 'sending', claimed_by = $1, lease_us = $2, updated_us = $3 \
                         WHERE event = $4 AND endpoint = $5",
                    )
                    .bind(&actor.0)
                    .bind(until)
                    .bind(now_us)
                    .bind(&c.event)
                    .bind(&c.endpoint)
                    .execute(&mut **tx)
                    .await?;
                    out.push(c);
                }
                Ok(out)
            })
        })
        .await
    }

    /// Record one attempt of a claimed delivery, with its journal entry (`webhook.attempt`).
    pub async fn delivery_attempted(
        &self,
        d: &ClaimedDelivery,
        outcome: &Attempt,
        actor: &Actor,
    ) -> Result<()> {
        let attempt = i64::from(d.attempts) + 1;
        self.write(|tx| {
            Box::pin(async move {
                let now = now_us();
                let (state, status, error, next, label) = match outcome {
                    Attempt::Delivered { status } => ("delivered", Some(*status), None, now, "delivered"),
                    Attempt::Retry { status, error, next } => {
                        ("pending", *status, Some(error.as_str()), next.as_microsecond(), "retry")
                    }
                    Attempt::Failed { status, error } => ("failed", *status, Some(error.as_str()), now, "failed"),
                };
                let done = sqlx::query(
                    "UPDATE webhook_deliveries SET state = $1, attempts = $2, last_status = $3, last_error = $4, \
                     next_us = $5, claimed_by = NULL, lease_us = NULL, updated_us = $6 \
                     WHERE event = $7 AND endpoint = $8 AND state = 'sending' AND claimed_by = $9",
                )
                .bind(state)
                .bind(attempt)
                .bind(status.map(i64::from))
                .bind(error)
                .bind(next)
                .bind(now)
                .bind(&d.event)
                .bind(&d.endpoint)
                .bind(&actor.0)
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict(format!(
                        "delivery of {} to {} is no longer held by {}",
                        d.event, d.endpoint, actor.0
                    )));
                }
                let details = serde_json::json!({
                    "event": d.event,
                    "type": d.kind,
                    "facility": d.facility,
                    "attempt": attempt,
                    "status": status,
                    "outcome": label,
                    "error": error,
                });
                append(tx, actor, "webhook.attempt", &subject(&d.endpoint), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// The most recent deliveries (of one facility, or all), newest change first; failed
    /// ones only with `failed_only`.
    pub async fn webhook_deliveries(
        &self,
        facility: Option<&Finess>,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT event, endpoint, facility, kind, state, attempts, next_us, last_status, last_error, updated_us \
             FROM webhook_deliveries WHERE ($1 = '' OR facility = $1) AND ($2 = 0 OR state = 'failed') \
             ORDER BY updated_us DESC, event, endpoint LIMIT $3",
        )
        .bind(facility.map_or("", Finess::as_str))
        .bind(i64::from(failed_only))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRecord {
                    event: r.try_get("event")?,
                    endpoint: r.try_get("endpoint")?,
                    facility: r.try_get("facility")?,
                    kind: r.try_get("kind")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    next_at: crate::rows::ts_from_us(r.try_get("next_us")?)?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    updated_at: crate::rows::ts_from_us(r.try_get("updated_us")?)?,
                })
            })
            .collect()
    }
}
