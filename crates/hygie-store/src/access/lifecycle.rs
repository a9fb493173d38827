//! The lifecycle of an account, as an administrator drives it from the web or the command line:
//! disable and enable, delete, reset the password or the second factor, unlock, end sessions;
//! and what a user sees of their own sessions. Every change is journalled with its actor, under
//! the username as subject, so the journal keeps naming a user after their deletion.
//!
//! One rule holds across them: the installation keeps an enabled administrator. Disabling or
//! deleting the last one is refused (as is the last one bound to the whole installation while
//! it is one), so someone can always manage the accounts from the web; locks always end
//! (`Backoff`), and `hygie users unlock` works without the web.

use super::sessions::SessionStage;
use super::users::Role;
use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::journal::JournalEntry;
use serde::Serialize;
use sqlx::Row;

/// A live session as its user, or an administrator, sees it: never its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub created_at: jiff::Timestamp,
    /// When a request last moved the session's end (kept to a few minutes, not to the request).
    pub last_seen: jiff::Timestamp,
    pub expires_at: jiff::Timestamp,
    /// The class of the address the login came from (`192.0.2.0/24`, `2001:db8:1:2::/64`), as
    /// the web recorded it; empty when unknown.
    pub client: String,
    /// Whether the login is complete (false while a code or a new password is still due).
    pub complete: bool,
    /// Whether this is the session the asking request came with.
    pub current: bool,
}

/// What the lifecycle rules read of the user a change is about, under the write lock.
struct Target {
    username: String,
    role: String,
    binding: String,
    disabled: bool,
}

async fn target(tx: &mut WriteTx<'_>, user_id: i64) -> Result<Target> {
    let r = sqlx::query("SELECT username, role, binding, disabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    Ok(Target {
        username: r.try_get("username")?,
        role: r.try_get("role")?,
        binding: r.try_get("binding")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

/// Refuse to take away the last enabled administrator, or the last enabled one bound to the
/// whole installation (only they can manage every account).
async fn keep_an_administrator(tx: &mut WriteTx<'_>, user_id: i64, t: &Target) -> Result<()> {
    if t.role != Role::Administrator.as_str() || t.disabled {
        return Ok(());
    }
    let others = |installation: bool| {
        format!(
            "SELECT COUNT(*) FROM users WHERE role = 'administrator' AND disabled = 0 AND id <> $1{}",
            if installation {
                " AND binding = 'installation'"
            } else {
                ""
            }
        )
    };
    let any: i64 = sqlx::query_scalar(&others(false))
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    let whole: i64 = sqlx::query_scalar(&others(true))
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    if any == 0 || (t.binding == "installation" && whole == 0) {
        return Err(StoreError::LastAdministrator(
            t.username.clone(),
            if any == 0 {
                ""
            } else {
                " of the whole installation"
            },
        ));
    }
    Ok(())
}

/// End the sessions of a user, but `except` (a session id digest); returns how many ended.
pub(super) async fn end_sessions_in(
    tx: &mut WriteTx<'_>,
    user_id: i64,
    except: Option<&str>,
) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(except.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected())
}

/// Revoke the API tokens a user created (each journalled under its facility, with `reason`);
/// returns their ids. A token outlives nobody: it acts with the rights its creator had.
async fn revoke_tokens_of(
    tx: &mut WriteTx<'_>,
    username: &str,
    actor: &Actor,
    reason: &str,
) -> Result<Vec<String>> {
    let creator = format!("web:{username}");
    let rows = sqlx::query(
        "SELECT id, name, facility FROM api_tokens WHERE created_by = $1 AND revoked_us IS NULL ORDER BY id",
    )
    .bind(&creator)
    .fetch_all(&mut **tx)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id")?;
        let name: String = r.try_get("name")?;
        let facility: String = r.try_get("facility")?;
        sqlx::query("UPDATE api_tokens SET revoked_us = $2 WHERE id = $1")
            .bind(&id)
            .bind(now_us())
            .execute(&mut **tx)
            .await?;
        let details = serde_json::json!({ "id": id, "name": name, "reason": reason });
        append(tx, actor, "token.revoke", &facility, &details).await?;
        ids.push(id);
    }
    Ok(ids)
}

impl Store {
    /// Disable a user: no login, their sessions end, the API tokens they created are revoked
    /// (and stay so if the user is enabled again). Returns false when the user was already
    /// disabled (nothing changes, nothing is journalled).
    pub async fn disable_user(&self, user_id: i64, actor: &Actor) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                if t.disabled {
                    return Ok(false);
                }
                keep_an_administrator(tx, user_id, &t).await?;
                sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                let ended = end_sessions_in(tx, user_id, None).await?;
                let revoked = revoke_tokens_of(tx, &t.username, actor, "creator disabled").await?;
                let details =
                    serde_json::json!({ "sessions_ended": ended, "tokens_revoked": revoked });
                append(tx, actor, "user.disable", &t.username, &details).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Enable a disabled user again. Returns false when the user was not disabled.
    pub async fn enable_user(&self, user_id: i64, actor: &Actor) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                if !t.disabled {
                    return Ok(false);
                }
                sqlx::query("UPDATE users SET disabled = 0 WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                append(tx, actor, "user.enable", &t.username, "{}").await?;
                Ok(true)
            })
        })
        .await
    }

    /// Delete a user: their sessions and bindings go, the API tokens they created are revoked
    /// (kept in the list as revoked, with their creator's name); the journal keeps their name.
    pub async fn delete_user(&self, user_id: i64, actor: &Actor) -> Result<()> {
        let u = self.user(user_id).await?;
        let u = &u;
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                keep_an_administrator(tx, user_id, &t).await?;
                let ended = end_sessions_in(tx, user_id, None).await?;
                let revoked = revoke_tokens_of(tx, &t.username, actor, "creator deleted").await?;
                for table in [
                    "user_facilities",
                    "passkeys",
                    "passkey_handles",
                    "sign_in_ceremonies",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                        .bind(user_id)
                        .execute(&mut **tx)
                        .await?;
                }
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({
                    "display_name": u.display_name, "role": u.role.as_str(), "binding": u.binding,
                    "sessions_ended": ended, "tokens_revoked": revoked,
                });
                append(tx, actor, "user.delete", &t.username, &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Set a password someone else chose (`password_hash`: an Argon2id PHC string): the user
    /// must change it at the next login, their sessions end and the password lock is lifted.
    pub async fn reset_password(
        &self,
        user_id: i64,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                sqlx::query(
                    "UPDATE users SET password_hash = $2, must_change_password = 1, failed_logins = 0, locked_until_us = 0 WHERE id = $1",
                )
                .bind(user_id)
                .bind(password_hash)
                .execute(&mut **tx)
                .await?;
                let ended = end_sessions_in(tx, user_id, None).await?;
                let details = serde_json::json!({ "sessions_ended": ended });
                append(tx, actor, "user.password_reset", &t.username, &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// The user chose their own password (after a reset): it is no longer temporary, and every
    /// session they had ends (the login flow starts a new one).
    pub async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                sqlx::query(
                    "UPDATE users SET password_hash = $2, must_change_password = 0 WHERE id = $1",
                )
                .bind(user_id)
                .bind(password_hash)
                .execute(&mut **tx)
                .await?;
                end_sessions_in(tx, user_id, None).await?;
                append(tx, actor, "user.password_change", &t.username, "{}").await?;
                Ok(())
            })
        })
        .await
    }

    /// Forget a user's second factor (a lost phone): the seed is erased, the user enrols a new
    /// one at the next login (roles that require it), the factor's lock and count end, and their
    /// sessions end. The last time step used goes too: it guarded the old seed's codes against
    /// replay, and would refuse the new seed's codes of the same minute.
    pub async fn reset_totp(&self, user_id: i64, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                sqlx::query(
                    "UPDATE users SET totp_secret = NULL, totp_confirmed = 0, totp_last_step = 0, totp_failures = 0, totp_locked_until_us = 0 WHERE id = $1",
                )
                .bind(user_id)
                .execute(&mut **tx)
                .await?;
                let ended = end_sessions_in(tx, user_id, None).await?;
                let details = serde_json::json!({ "sessions_ended": ended });
                append(tx, actor, "user.totp_reset", &t.username, &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Lift both locks and clear both failure counts (so the next lock starts short again).
    /// Returns whether a lock was running.
    pub async fn unlock_user(&self, user_id: i64, actor: &Actor) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                let locked: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE id = $1 AND (locked_until_us > $2 OR totp_locked_until_us > $2)",
                )
                .bind(user_id)
                .bind(now_us())
                .fetch_one(&mut **tx)
                .await?;
                sqlx::query(
                    "UPDATE users SET failed_logins = 0, locked_until_us = 0, totp_failures = 0, totp_locked_until_us = 0 WHERE id = $1",
                )
                .bind(user_id)
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({ "was_locked": locked > 0 });
                append(tx, actor, "user.unlock", &t.username, &details).await?;
                Ok(locked > 0)
            })
        })
        .await
    }

    /// End every session of a user but `except` (the digest of the session asking, for "end my
    /// other sessions"); returns how many ended.
    pub async fn end_sessions(
        &self,
        user_id: i64,
        except: Option<&str>,
        actor: &Actor,
    ) -> Result<u64> {
        self.write(|tx| {
            Box::pin(async move {
                let t = target(tx, user_id).await?;
                let ended = end_sessions_in(tx, user_id, except).await?;
                let details =
                    serde_json::json!({ "sessions_ended": ended, "kept_current": except.is_some() });
                append(tx, actor, "user.sessions_end", &t.username, &details).await?;
                Ok(ended)
            })
        })
        .await
    }

    /// A user's live sessions, newest first; `current` (a session id digest) marks the asking
    /// one. Ids are never returned.
    pub async fn user_sessions(
        &self,
        user_id: i64,
        current: Option<&str>,
    ) -> Result<Vec<SessionInfo>> {
        let rows = sqlx::query(
            "SELECT id_hash, stage, created_us, seen_us, expires_us, client FROM sessions \
             WHERE user_id = $1 AND expires_us > $2 ORDER BY created_us DESC",
        )
        .bind(user_id)
        .bind(now_us())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id_hash")?;
                let stage: String = r.try_get("stage")?;
                let created: i64 = r.try_get("created_us")?;
                let seen: i64 = r.try_get("seen_us")?;
                Ok(SessionInfo {
                    created_at: crate::ts_from_us(created)?,
                    last_seen: crate::ts_from_us(seen.max(created))?,
                    expires_at: crate::ts_from_us(r.try_get("expires_us")?)?,
                    client: r.try_get("client")?,
                    complete: SessionStage::parse(&stage)? == SessionStage::Full,
                    current: current == Some(id.as_str()),
                })
            })
            .collect()
    }

    /// The latest `limit` journal entries about accounts (logins, lockouts, every lifecycle
    /// change), oldest first; only those about the users named in `subjects` when given.
    pub async fn account_events(
        &self,
        subjects: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<JournalEntry>> {
        let names = match subjects {
            Some([]) => return Ok(Vec::new()),
            Some(names) => names,
            None => &[],
        };
        let within = if names.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 2)).collect();
            format!(" AND subject IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM journal \
             WHERE (action LIKE 'auth.%' OR action LIKE 'user.%'){within} ORDER BY seq DESC LIMIT $1"
        );
        let mut q = sqlx::query(&sql).bind(limit);
        for n in names {
            q = q.bind(n);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out: Vec<JournalEntry> = rows
            .iter()
            .map(crate::journal::row_to_entry)
            .collect::<Result<_>>()?;
        out.reverse();
        Ok(out)
    }
}
