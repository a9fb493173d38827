//! API tokens for scripts and agents: one facility, read or write, stored by digest only. A
//! token expires (90 days unless its creator chose otherwise, one year at most) and is revoked
//! with its creator (`lifecycle`: a disabled or deleted user's tokens stop at once).

use crate::batch::Value;
use crate::journal::{Actor, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::Finess;
use serde::Serialize;
use sqlx::Row;

/// Read or read-write, for API tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAccess {
    Read,
    Write,
}

impl TokenAccess {
    pub const ALL: [TokenAccess; 2] = [TokenAccess::Read, TokenAccess::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::Write => "write",
        }
    }
    pub fn label(self) -> hygie_core::Localized {
        match self {
            TokenAccess::Read => hygie_core::Localized::new("read", "lecture"),
            TokenAccess::Write => {
                hygie_core::Localized::new("read and write", "lecture et écriture")
            }
        }
    }
    pub fn parse(s: &str) -> Result<TokenAccess, hygie_core::InvalidValue> {
        match s.trim() {
            "read" => Ok(TokenAccess::Read),
            "write" => Ok(TokenAccess::Write),
            o => Err(hygie_core::InvalidValue::new(
                "access",
                format!("'{o}' is not a token access (read, write)"),
            )),
        }
    }
}

/// An API token for scripts and agents: one facility, read or write. The secret is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub facility: Finess,
    pub access: TokenAccess,
    pub created_by: String,
    pub created_at: jiff::Timestamp,
    pub revoked_at: Option<jiff::Timestamp>,
    pub expires_at: jiff::Timestamp,
    /// When the token last opened a request (kept to a few minutes, not to the request).
    pub last_used_at: Option<jiff::Timestamp>,
}

impl ApiToken {
    /// Whether the token opens requests now: neither revoked nor expired.
    pub fn live(&self, now: jiff::Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A token's lifetime when its creator names none, in days.
pub const TOKEN_DEFAULT_DAYS: i64 = 90;
/// The longest lifetime a token may be given, in days.
pub const TOKEN_MAX_DAYS: i64 = 365;

/// How stale a token's "last used" may get before a use moves it: a write per token every few
/// minutes at most, never one per request.
const USE_EVERY_US: i64 = 5 * 60 * 1_000_000;

const TOKEN_COLS: &str =
    "id, name, facility, access, created_by, created_us, revoked_us, expires_us, last_used_us";

impl Store {
    // --- API tokens -----------------------------------------------------------------------

    /// Create a token that expires in `days` days (1 to [`TOKEN_MAX_DAYS`]).
    pub async fn create_token(
        &self,
        name: &str,
        facility: &Finess,
        access: TokenAccess,
        token_hash: &str,
        days: i64,
        actor: &Actor,
    ) -> Result<ApiToken> {
        if !(1..=TOKEN_MAX_DAYS).contains(&days) {
            return Err(StoreError::Invalid(format!(
                "expires_in_days: {days} is not between 1 and {TOKEN_MAX_DAYS} days"
            )));
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        self.write(|tx| {
            let id = id.clone();
            Box::pin(async move {
                crate::rows::ensure_facility(tx, facility).await?;
                let at = now_us();
                let expires = at + days * 86_400 * 1_000_000;
                let details = serde_json::json!({
                    "id": id, "name": name, "access": access.as_str(),
                    "expires": crate::ts_from_us(expires)?.to_string(),
                });
                append(tx, actor, "token.create", facility.as_str(), &details).await?;
                sqlx::query("INSERT INTO api_tokens (id, name, token_hash, facility, access, created_by, created_us, expires_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&id)
                    .bind(name)
                    .bind(token_hash)
                    .bind(facility.as_str())
                    .bind(access.as_str())
                    .bind(&actor.0)
                    .bind(at)
                    .bind(expires)
                    .execute(&mut **tx)
                    .await?;
                Ok(ApiToken {
                    id,
                    name: name.to_owned(),
                    facility: facility.clone(),
                    access,
                    created_by: actor.0.clone(),
                    created_at: crate::ts_from_us(at)?,
                    revoked_at: None,
                    expires_at: crate::ts_from_us(expires)?,
                    last_used_at: None,
                })
            })
        })
        .await
    }

    /// The live (neither revoked nor expired) token with this digest.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let now = jiff::Timestamp::now();
        Ok(self
            .token_by_hash_any(token_hash)
            .await?
            .filter(|t| t.live(now)))
    }

    /// The token with this digest, revoked or expired ones included (to say why one is refused).
    pub async fn token_by_hash_any(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_token).transpose()
    }

    /// A token opened a request: its "last used" moves to now when it is a few minutes stale.
    /// Not journalled: bookkeeping of token use, like a session's last request.
    pub async fn token_used(&self, t: &ApiToken) -> Result<()> {
        let now = now_us();
        let last = t.last_used_at.map_or(0, |l| l.as_microsecond());
        if now - last < USE_EVERY_US {
            return Ok(());
        }
        let sql = "UPDATE api_tokens SET last_used_us = $2 WHERE id = $1";
        self.bookkeeping(sql, &[Value::from(t.id.as_str()), Value::I64(now)])
            .await?;
        Ok(())
    }

    /// Tokens of some facilities (all when `facilities` is None).
    pub async fn tokens(&self, facilities: Option<&[Finess]>) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_us, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let all: Vec<ApiToken> = rows.iter().map(row_to_token).collect::<Result<_>>()?;
        Ok(match facilities {
            None => all,
            Some(fs) => all
                .into_iter()
                .filter(|t| fs.contains(&t.facility))
                .collect(),
        })
    }

    pub async fn token(&self, id: &str) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        row_to_token(&row)
    }

    pub async fn revoke_token(&self, id: &str, actor: &Actor) -> Result<()> {
        let t = self.token(id).await?;
        let t = &t;
        self.write(|tx| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE api_tokens SET revoked_us = $2 WHERE id = $1 AND revoked_us IS NULL",
                )
                .bind(id)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                if r.rows_affected() == 1 {
                    let details = serde_json::json!({ "id": id, "name": t.name });
                    append(tx, actor, "token.revoke", t.facility.as_str(), &details).await?;
                }
                Ok(())
            })
        })
        .await
    }
}

fn row_to_token(r: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let corrupt = |e: hygie_core::InvalidValue| StoreError::Corrupt(e.to_string());
    let facility: String = r.try_get("facility")?;
    let access: String = r.try_get("access")?;
    let revoked: Option<i64> = r.try_get("revoked_us")?;
    let used: Option<i64> = r.try_get("last_used_us")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        facility: Finess::parse(&facility).map_err(corrupt)?,
        access: TokenAccess::parse(&access).map_err(corrupt)?,
        created_by: r.try_get("created_by")?,
        created_at: crate::ts_from_us(r.try_get("created_us")?)?,
        revoked_at: revoked.map(crate::ts_from_us).transpose()?,
        expires_at: crate::ts_from_us(r.try_get("expires_us")?)?,
        last_used_at: used.map(crate::ts_from_us).transpose()?,
    })
}
