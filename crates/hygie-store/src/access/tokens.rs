//! API tokens for scripts and agents: one facility, read or write, stored by digest only.

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
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::Write => "write",
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
}

impl Store {
    // --- API tokens -----------------------------------------------------------------------

    pub async fn create_token(
        &self,
        name: &str,
        facility: &Finess,
        access: TokenAccess,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<ApiToken> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        self.write(|tx| {
            let id = id.clone();
            Box::pin(async move {
                crate::rows::ensure_facility(tx, facility).await?;
                let details = serde_json::json!({ "id": id, "name": name, "access": access.as_str() });
                append(tx, actor, "token.create", facility.as_str(), &details).await?;
                let at = now_us();
                sqlx::query("INSERT INTO api_tokens (id, name, token_hash, facility, access, created_by, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&id)
                    .bind(name)
                    .bind(token_hash)
                    .bind(facility.as_str())
                    .bind(access.as_str())
                    .bind(&actor.0)
                    .bind(at)
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
                })
            })
        })
        .await
    }

    /// The live (not revoked) token with this digest.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query("SELECT id, name, facility, access, created_by, created_us, revoked_us FROM api_tokens WHERE token_hash = $1 AND revoked_us IS NULL")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_token).transpose()
    }

    /// Tokens of some facilities (all when `facilities` is None).
    pub async fn tokens(&self, facilities: Option<&[Finess]>) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT id, name, facility, access, created_by, created_us, revoked_us FROM api_tokens ORDER BY created_us, id")
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
        let row = sqlx::query("SELECT id, name, facility, access, created_by, created_us, revoked_us FROM api_tokens WHERE id = $1")
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
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        facility: Finess::parse(&facility).map_err(corrupt)?,
        access: TokenAccess::parse(&access).map_err(corrupt)?,
        created_by: r.try_get("created_by")?,
        created_at: crate::ts_from_us(r.try_get("created_us")?)?,
        revoked_at: revoked.map(crate::ts_from_us).transpose()?,
    })
}
