//! The sending state of the e-mail reminders (issue 24): each reminder goes out once, across
//! restarts and across processes on one database.
//!
//! The protocol, per reminder identity (`INC-1/cnil/4h`, made by `hygie-notify`):
//! 1. [`Store::claim_reminder`] inserts the row in state `claimed` and journals `notify.claim`
//!    in one write transaction. Writers queue on the journal head's lock (`journal.rs`), so of
//!    two processes claiming one key, the second sees the first's row and gets `false`.
//! 2. The claimer sends, then [`Store::reminder_sent`] marks the row `sent` and journals
//!    `notify.sent` with each message's recipient role, language, subject and body digest
//!    (never the body, which names the incident).
//! 3. A sending that failed (the server refused, or was not reachable) is
//!    [`Store::release_reminder`]d: the row is deleted and `notify.failed` journalled, so the
//!    next run tries again.
//!
//! Reminders about a facility or a region rather than an incident (the renewals of recurring
//! measures, the ARS requests due soon, the weekly digests: `renewal/...`, `request/...`,
//! `digest/...`) are claimed by
//! [`Store::claim_scoped_reminder`] into `notify_scoped_reminders` and then follow the same
//! steps 2 and 3 ([`Store::reminder_sent`] and [`Store::release_reminder`] find the key in
//! either table).
//!
//! A process that dies between 1 and 2 leaves the row `claimed`: the reminder is not sent again
//! (at most once: a second e-mail about a legal deadline is worse than a missing one only when
//! it is not known; `hygie notify run` lists such claims as `unconfirmed`).

use crate::journal::{Actor, append};
use crate::{Result, Store, now_us};
use sqlx::Row;

/// One message of a reminder as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentMessage {
    pub role: String,
    pub lang: String,
    pub subject: String,
    pub digest: String,
}

/// A reminder's row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReminderState {
    pub key: String,
    pub incident: String,
    pub duty: String,
    pub slot: String,
    /// `claimed` or `sent`.
    pub state: String,
    pub claimed_by: String,
    pub claimed_at: jiff::Timestamp,
    pub sent_at: Option<jiff::Timestamp>,
    pub messages: i64,
}

fn subject(key: &str) -> String {
    format!("reminder/{key}")
}

impl Store {
    /// Claim a reminder for sending: true when this call inserted its row (the caller sends),
    /// false when it was already claimed or sent.
    pub async fn claim_reminder(
        &self,
        key: &str,
        incident: &str,
        duty: &str,
        slot: &str,
        actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT state FROM notify_reminders WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&mut **tx)
                        .await?;
                if exists.is_some() {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO notify_reminders (key, incident, duty, slot, state, claimed_by, claimed_us) \
                     VALUES ($1, $2, $3, $4, 'claimed', $5, $6)",
                )
                .bind(key)
                .bind(incident)
                .bind(duty)
                .bind(slot)
                .bind(&actor.0)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({
                    "incident": incident, "duty": duty, "slot": slot,
                });
                append(tx, actor, "notify.claim", &subject(key), &details).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Claim a reminder about a facility or region (`scope`) for sending, as
    /// [`Store::claim_reminder`] does for an incident's: true when this call inserted its row.
    pub async fn claim_scoped_reminder(
        &self,
        key: &str,
        scope: &str,
        kind: &str,
        subject_of: &str,
        slot: &str,
        actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT state FROM notify_scoped_reminders WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&mut **tx)
                        .await?;
                if exists.is_some() {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO notify_scoped_reminders (key, scope, kind, subject, slot, state, claimed_by, claimed_us) \
                     VALUES ($1, $2, $3, $4, $5, 'claimed', $6, $7)",
                )
                .bind(key)
                .bind(scope)
                .bind(kind)
                .bind(subject_of)
                .bind(slot)
                .bind(&actor.0)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({
                    "scope": scope, "kind": kind, "subject": subject_of, "slot": slot,
                });
                append(tx, actor, "notify.claim", &subject(key), &details).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Record that the claimed reminder `key` was accepted by the mail server, with what was
    /// sent (role, subject and digest of each message; no body).
    pub async fn reminder_sent(
        &self,
        key: &str,
        messages: &[SentMessage],
        actor: &Actor,
    ) -> Result<()> {
        let n = i64::try_from(messages.len()).unwrap_or(i64::MAX);
        self.write(|tx| {
            Box::pin(async move {
                for table in ["notify_reminders", "notify_scoped_reminders"] {
                    sqlx::query(&format!(
                        "UPDATE {table} SET state = 'sent', sent_us = $1, messages = $2 WHERE key = $3"
                    ))
                    .bind(now_us())
                    .bind(n)
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
                }
                let details = serde_json::json!({ "messages": messages });
                append(tx, actor, "notify.sent", &subject(key), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Give a claimed reminder back after a failed sending, so that a later run tries again;
    /// `error` says why (the server's reply, never the message).
    pub async fn release_reminder(&self, key: &str, error: &str, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                for table in ["notify_reminders", "notify_scoped_reminders"] {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE key = $1 AND state = 'claimed'"
                    ))
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
                }
                let details = serde_json::json!({ "error": error });
                append(tx, actor, "notify.failed", &subject(key), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Every reminder claimed or sent, oldest first; those about a facility or a region too,
    /// with the scope in `incident` and the kind and subject (`renewal:GOV-05`) in `duty`.
    pub async fn reminder_states(&self) -> Result<Vec<ReminderState>> {
        let rows = sqlx::query(
            "SELECT key, incident, duty, slot, state, claimed_by, claimed_us, sent_us, messages \
             FROM notify_reminders \
             UNION ALL SELECT key, scope, kind || ':' || subject, slot, state, claimed_by, claimed_us, sent_us, messages \
             FROM notify_scoped_reminders ORDER BY claimed_us, key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let sent: Option<i64> = r.try_get("sent_us")?;
                Ok(ReminderState {
                    key: r.try_get("key")?,
                    incident: r.try_get("incident")?,
                    duty: r.try_get("duty")?,
                    slot: r.try_get("slot")?,
                    state: r.try_get("state")?,
                    claimed_by: r.try_get("claimed_by")?,
                    claimed_at: crate::rows::ts_from_us(r.try_get("claimed_us")?)?,
                    sent_at: sent.map(crate::rows::ts_from_us).transpose()?,
                    messages: r.try_get("messages")?,
                })
            })
            .collect()
    }
}
