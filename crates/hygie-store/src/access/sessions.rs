//! Login sessions (stored by the digest of their id) and the first-run bootstrap token.

use super::users::{NewUser, User, check_new_user, insert_user};
use crate::batch::Value;
use crate::journal::{Actor, append};
use crate::{Result, Store, StoreError, now_us};
use sqlx::Row;

/// Where a session stands in the login flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Password accepted; a second factor (a TOTP code or a passkey) is still due.
    Totp,
    /// Password accepted; the user must enrol a TOTP second factor first.
    Enroll,
    /// A temporary password (set by an administrator) accepted; the user must choose their own.
    Password,
    /// Fully authenticated.
    Full,
}

impl SessionStage {
    fn as_str(self) -> &'static str {
        match self {
            SessionStage::Totp => "totp",
            SessionStage::Enroll => "enroll",
            SessionStage::Password => "password",
            SessionStage::Full => "full",
        }
    }
    pub(crate) fn parse(s: &str) -> Result<SessionStage> {
        match s {
            "totp" => Ok(SessionStage::Totp),
            "enroll" => Ok(SessionStage::Enroll),
            "password" => Ok(SessionStage::Password),
            "full" => Ok(SessionStage::Full),
            o => Err(StoreError::Corrupt(format!("session stage '{o}'"))),
        }
    }
}

/// What proved a sign-in, besides the account's own method (`users.auth_source`), as the
/// journal's `auth.login` entry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginProof {
    /// The account's method (a password, a directory bind, a provider), with a TOTP code when
    /// one was due.
    #[default]
    Usual,
    /// The account's method, and a passkey as the second factor.
    PasskeySecondFactor,
    /// A passkey alone (discoverable, with user verification): method `passkey`.
    Passkey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub stage: SessionStage,
    pub expires: jiff::Timestamp,
}

impl Store {
    // --- sessions -------------------------------------------------------------------------

    /// Create a session under a fresh id (its digest). A login always creates a new one: a
    /// session id known before the login is never promoted (no fixation). `client` is the class
    /// of the client's address (shown in the user's list of sessions), never the full address.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        stage: SessionStage,
        expires: jiff::Timestamp,
        client: &str,
    ) -> Result<()> {
        self.create_session_proved(id_hash, user_id, stage, expires, client, LoginProof::Usual)
            .await
    }

    /// As `create_session`, naming what proved the sign-in (a passkey) for the journal.
    pub async fn create_session_proved(
        &self,
        id_hash: &str,
        user_id: i64,
        stage: SessionStage,
        expires: jiff::Timestamp,
        client: &str,
        proof: LoginProof,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                if stage == SessionStage::Full {
                    // The sign-in is complete: journalled with its method (who checked the
                    // password), and kept as the user's last sign-in.
                    let (username, method): (String, String) =
                        sqlx::query_as("SELECT username, auth_source FROM users WHERE id = $1")
                            .bind(user_id)
                            .fetch_one(&mut **tx)
                            .await?;
                    sqlx::query("UPDATE users SET last_login_us = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now_us())
                        .execute(&mut **tx)
                        .await?;
                    let details = match proof {
                        LoginProof::Usual => serde_json::json!({ "method": method }),
                        LoginProof::PasskeySecondFactor => {
                            serde_json::json!({ "method": method, "second_factor": "passkey" })
                        }
                        LoginProof::Passkey => serde_json::json!({ "method": "passkey" }),
                    };
                    append(
                        tx,
                        &Actor(format!("web:{username}")),
                        "auth.login",
                        &username,
                        &details,
                    )
                    .await?;
                }
                // Ended sessions are purged here, so the table holds only live ones and the
                // few that ended since the last login.
                sqlx::query("DELETE FROM sessions WHERE expires_us <= $1")
                    .bind(now_us())
                    .execute(&mut **tx)
                    .await?;
                let now = now_us();
                sqlx::query("INSERT INTO sessions (id_hash, user_id, stage, created_us, seen_us, expires_us, client) VALUES ($1, $2, $3, $4, $4, $5, $6)")
                    .bind(id_hash)
                    .bind(user_id)
                    .bind(stage.as_str())
                    .bind(now)
                    .bind(expires.as_microsecond())
                    .bind(client)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Keep a session in use alive: its end moves to `now + idle`, never past its creation plus
    /// `longest`, and it was last seen now. Not journalled: bookkeeping of sessions (callers touch at most every few
    /// minutes, not on every request).
    pub async fn touch_session(
        &self,
        id_hash: &str,
        idle: jiff::SignedDuration,
        longest: jiff::SignedDuration,
    ) -> Result<()> {
        let now = now_us();
        let micros = |d: jiff::SignedDuration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let sql = "UPDATE sessions SET expires_us = CASE WHEN created_us + $2 < $3 THEN created_us + $2 ELSE $3 END, \
                   seen_us = $4 WHERE id_hash = $1 AND expires_us > $4";
        self.bookkeeping(
            sql,
            &[
                Value::from(id_hash),
                Value::I64(micros(longest)),
                Value::I64(now.saturating_add(micros(idle))),
                Value::I64(now),
            ],
        )
        .await?;
        Ok(())
    }

    /// The live session with this id digest, if any.
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, stage, expires_us FROM sessions WHERE id_hash = $1 AND expires_us > $2",
        )
        .bind(id_hash)
        .bind(now_us())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let user = self.user(r.try_get("user_id")?).await?;
        if user.disabled {
            return Ok(None);
        }
        let stage: String = r.try_get("stage")?;
        Ok(Some(Session {
            user,
            stage: SessionStage::parse(&stage)?,
            expires: crate::ts_from_us(r.try_get("expires_us")?)?,
        }))
    }

    /// Not journalled: a session that ends without a logout (expiry, a login step abandoned).
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let sql = "DELETE FROM sessions WHERE id_hash = $1";
        self.bookkeeping(sql, &[Value::from(id_hash)]).await?;
        Ok(())
    }

    /// Log out: end the session (journalled).
    pub async fn logout(&self, id_hash: &str, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let r = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut **tx)
                    .await?;
                if r.rows_affected() > 0 {
                    let who = actor.0.strip_prefix("web:").unwrap_or(&actor.0).to_owned();
                    append(tx, actor, "auth.logout", &who, "{}").await?;
                }
                Ok(())
            })
        })
        .await
    }

    // --- bootstrap ------------------------------------------------------------------------

    /// Remember the digest of a new one-time bootstrap token, while no user exists.
    /// Returns false (and stores nothing) once a user exists.
    pub async fn set_bootstrap_token(&self, token_hash: &str) -> Result<bool> {
        self.write(|tx| {
            Box::pin(async move {
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut **tx)
                    .await?;
                if users > 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM bootstrap")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO bootstrap (id, token_hash, created_us) VALUES (1, $1, $2)",
                )
                .bind(token_hash)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Whether a bootstrap token is pending.
    pub async fn bootstrap_pending(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bootstrap")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0 && self.user_count().await? == 0)
    }

    /// Create the first administrator with the bootstrap token, consuming it. Fails when the
    /// token is wrong or a user already exists.
    pub async fn bootstrap_admin(&self, token_hash: &str, u: &NewUser) -> Result<User> {
        check_new_user(u)?;
        // One transaction: the token is consumed only if the administrator is created.
        let id = self
            .write(|tx| {
                Box::pin(async move {
                    let r = sqlx::query("DELETE FROM bootstrap WHERE id = 1 AND token_hash = $1")
                        .bind(token_hash)
                        .execute(&mut **tx)
                        .await?;
                    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                        .fetch_one(&mut **tx)
                        .await?;
                    if r.rows_affected() != 1 || users > 0 {
                        return Err(StoreError::Forbidden(
                            "the bootstrap token is wrong or already used".into(),
                        ));
                    }
                    insert_user(tx, u, &Actor("web:bootstrap".into())).await
                })
            })
            .await?;
        self.user(id).await
    }
}
