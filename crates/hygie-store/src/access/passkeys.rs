//! Passkeys (WebAuthn): a user's credentials, named, several per user; the random handle a
//! discoverable credential names its account by.
//!
//! The store knows no WebAuthn: a credential is the web layer's serialised record (public key
//! and signature counter, nothing secret), a ceremony's state an opaque text. Registering and
//! removing are journalled (`passkey.registered`, `passkey.removed`, with the passkey's name,
//! never its key); the counter moved by a sign-in, the handle and the ceremonies are
//! bookkeeping of the login flow (the sign-in itself is journalled with its session). The
//! ceremonies' state between their two requests is kept by [`super::ceremonies`].

use super::scoped::Scoped;
use crate::batch::Value;
use crate::journal::{Actor, append};
use crate::rows::ts_from_us;
use crate::{Result, Store, StoreError, now_us};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// A registered passkey as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeyInfo {
    /// The credential's id (base64url): public, names the passkey in forms.
    pub credential_id: String,
    pub name: String,
    pub created_at: jiff::Timestamp,
    /// When it last proved a sign-in.
    pub last_used: Option<jiff::Timestamp>,
}

/// A passkey with the web layer's record of it, for the sign-in ceremonies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub info: PasskeyInfo,
    /// The relying-party library's serialised credential (public key, counter).
    pub credential: String,
}

/// The longest a name may be (it is shown in lists and journalled).
pub const PASSKEY_NAME_MAX: usize = 100;

fn passkey_from_row(r: &sqlx::any::AnyRow) -> Result<StoredPasskey> {
    let used: i64 = r.try_get("used_us")?;
    Ok(StoredPasskey {
        info: PasskeyInfo {
            credential_id: r.try_get("credential_id")?,
            name: r.try_get("name")?,
            created_at: ts_from_us(r.try_get("created_us")?)?,
            last_used: if used > 0 {
                Some(ts_from_us(used)?)
            } else {
                None
            },
        },
        credential: r.try_get("credential")?,
    })
}

impl Store {
    /// The passkeys of a user, oldest first.
    pub async fn passkeys_of(&self, user_id: i64) -> Result<Vec<StoredPasskey>> {
        let rows = sqlx::query(
            "SELECT credential_id, name, credential, created_us, used_us FROM passkeys WHERE user_id = $1 ORDER BY created_us, credential_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(passkey_from_row).collect()
    }

    /// How many passkeys a user holds.
    pub async fn passkey_count(&self, user_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// How many passkeys each user holds (users without any are absent).
    pub async fn passkey_counts(&self) -> Result<HashMap<i64, i64>> {
        let rows = sqlx::query("SELECT user_id, COUNT(*) AS n FROM passkeys GROUP BY user_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("n")?)))
            .collect()
    }

    /// The handle of a user's passkeys: the one stored, else `new` (a random UUID the caller
    /// made), stored now. Bookkeeping: a name for the account, which grants nothing.
    pub async fn passkey_handle(&self, user_id: i64, new: &str) -> Result<String> {
        self.bookkeeping(
            "INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
            &[Value::I64(user_id), Value::from(new)],
        )
        .await?;
        Ok(
            sqlx::query_scalar("SELECT handle FROM passkey_handles WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The user whose passkeys carry this handle.
    pub async fn user_by_passkey_handle(&self, handle: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM passkey_handles WHERE handle = $1")
                .bind(handle)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Register a passkey for a user, journalled (`passkey.registered`, with its name). A
    /// credential already registered, to anyone, is a conflict.
    pub async fn add_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        name: &str,
        credential: &str,
        actor: &Actor,
    ) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > PASSKEY_NAME_MAX {
            return Err(StoreError::Invalid(format!(
                "passkey name: 1 to {PASSKEY_NAME_MAX} characters / nom de la clé d'accès : 1 à {PASSKEY_NAME_MAX} caractères"
            )));
        }
        self.write(|tx| {
            Box::pin(async move {
                let username: String =
                    sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
                let taken: Option<i64> =
                    sqlx::query_scalar("SELECT user_id FROM passkeys WHERE credential_id = $1")
                        .bind(credential_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(
                        "this passkey is already registered / cette clé d'accès est déjà enregistrée".into(),
                    ));
                }
                sqlx::query("INSERT INTO passkeys (credential_id, user_id, name, credential, created_us) VALUES ($1, $2, $3, $4, $5)")
                    .bind(credential_id)
                    .bind(user_id)
                    .bind(name)
                    .bind(credential)
                    .bind(now_us())
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({ "name": name });
                append(tx, actor, "passkey.registered", &username, &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Remove one passkey of a user, journalled (`passkey.removed`); false when the user holds
    /// no passkey of that id.
    pub async fn remove_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let row = sqlx::query("SELECT u.username, p.name FROM passkeys p JOIN users u ON u.id = p.user_id WHERE p.user_id = $1 AND p.credential_id = $2")
                    .bind(user_id)
                    .bind(credential_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(row) = row else {
                    return Ok(false);
                };
                let username: String = row.try_get("username")?;
                let name: String = row.try_get("name")?;
                sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
                    .bind(user_id)
                    .bind(credential_id)
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({ "name": name });
                append(tx, actor, "passkey.removed", &username, &details).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Remove every passkey of a user (the recovery an administrator runs when they are lost),
    /// journalled (`passkey.removed` with their names), and end the user's sessions, as a reset
    /// of the second factor does. Returns how many were removed.
    pub async fn remove_passkeys(&self, user_id: i64, actor: &Actor) -> Result<u64> {
        self.write(|tx| {
            Box::pin(async move {
                let username: String =
                    sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM passkeys WHERE user_id = $1 ORDER BY created_us",
                )
                .bind(user_id)
                .fetch_all(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                let ended = super::lifecycle::end_sessions_in(tx, user_id, None).await?;
                let details = serde_json::json!({
                    "names": names, "count": names.len(), "sessions_ended": ended,
                });
                append(tx, actor, "passkey.removed", &username, &details).await?;
                Ok(names.len() as u64)
            })
        })
        .await
    }

    /// A passkey proved a sign-in: its record (the counter the library moved) and its time of
    /// use. Bookkeeping: the sign-in is journalled with its session.
    pub async fn passkey_used(&self, credential_id: &str, credential: &str) -> Result<()> {
        self.bookkeeping(
            "UPDATE passkeys SET credential = $2, used_us = $3 WHERE credential_id = $1",
            &[
                Value::from(credential_id),
                Value::from(credential),
                Value::I64(now_us()),
            ],
        )
        .await?;
        Ok(())
    }
}

impl Scoped<'_> {
    fn own_user(&self) -> Result<i64> {
        self.access
            .user_id
            .ok_or_else(|| StoreError::Forbidden("an API token has no passkeys".into()))
    }

    /// The caller's own passkeys.
    pub async fn my_passkeys(&self) -> Result<Vec<PasskeyInfo>> {
        let id = self.own_user()?;
        Ok(self
            .store
            .passkeys_of(id)
            .await?
            .into_iter()
            .map(|p| p.info)
            .collect())
    }

    /// Register a passkey on the caller's own account.
    pub async fn add_my_passkey(
        &self,
        credential_id: &str,
        name: &str,
        credential: &str,
    ) -> Result<()> {
        let id = self.own_user()?;
        self.store
            .add_passkey(id, credential_id, name, credential, &self.access.actor())
            .await
    }

    /// Remove one of the caller's own passkeys; false when they hold none of that id.
    pub async fn remove_my_passkey(&self, credential_id: &str) -> Result<bool> {
        let id = self.own_user()?;
        self.store
            .remove_passkey(id, credential_id, &self.access.actor())
            .await
    }

    /// How many passkeys each user the caller manages holds (administrators only).
    pub async fn passkey_counts(&self) -> Result<HashMap<i64, i64>> {
        let within: std::collections::HashSet<i64> =
            self.users().await?.into_iter().map(|u| u.id).collect();
        let mut counts = self.store.passkey_counts().await?;
        counts.retain(|id, _| within.contains(id));
        Ok(counts)
    }

    /// The passkeys of a user the caller manages.
    pub async fn user_passkeys(&self, user_id: i64) -> Result<Vec<PasskeyInfo>> {
        self.managed_user(user_id).await?;
        Ok(self
            .store
            .passkeys_of(user_id)
            .await?
            .into_iter()
            .map(|p| p.info)
            .collect())
    }

    /// Remove every passkey of a user the caller manages (`Store::remove_passkeys`).
    pub async fn remove_user_passkeys(&self, user_id: i64) -> Result<u64> {
        self.managed_user(user_id).await?;
        self.store
            .remove_passkeys(user_id, &self.access.actor())
            .await
    }
}
