//! Federation online (`hygie sync push`): on a facility's instance, the packages exported with
//! their bytes and whether the region acknowledged them; on the region's, the push token of an
//! enrolment.
//!
//! **Why the push token belongs to the enrolment** and is not an API token (`access/tokens`):
//! an API token is bound to a facility registered in this store and opens the facility's data;
//! at the region a facility is registered by its first package, after it was enrolled, and
//! its push token must open nothing but the package endpoint, for its own FINESS. The token is
//! one more credential of the same trust decision as the key (the agency enrols the facility
//! and hands it the token), so it lives on the enrolment's row and ends with it: revoking the
//! key refuses the token too, and enrolling a new key needs a new token.

use crate::journal::{Actor, append};
use crate::sync::{i64_of, u64_of};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::Finess;
use hygie_sync::LastExport;
use sqlx::Row;

/// The enrolment a push token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTokenHolder {
    /// The FINESS whose packages it may push.
    pub facility: String,
    /// Whether the enrolment was revoked (the token opens nothing then).
    pub revoked: bool,
}

impl Store {
    /// The last package `facility` exported: its number, hash, facts digest, whether the region
    /// acknowledged it, and its bytes.
    pub async fn last_export(&self, facility: &Finess) -> Result<Option<LastExport>> {
        let row = sqlx::query(
            "SELECT sequence, hash, facts_digest, acknowledged_us, package FROM sync_exports \
             WHERE facility = $1 ORDER BY sequence DESC LIMIT 1",
        )
        .bind(facility.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LastExport {
                sequence: u64_of(r.try_get("sequence")?),
                hash: r.try_get("hash")?,
                facts_digest: r.try_get("facts_digest")?,
                acknowledged: r.try_get::<Option<i64>, _>("acknowledged_us")?.is_some(),
                bytes: r.try_get("package")?,
            })
        })
        .transpose()
    }

    /// The region confirmed package `sequence` (with this hash) of `facility`: it and every
    /// earlier package are acknowledged. Already acknowledged: nothing to
    /// do, nothing journalled. Unknown (another hash, another number): not found.
    pub async fn acknowledge_export(
        &self,
        facility: &Finess,
        sequence: u64,
        hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        let seq = i64_of(sequence)?;
        self.write(|tx| {
            Box::pin(async move {
                let acked: Option<Option<i64>> = sqlx::query_scalar(
                    "SELECT acknowledged_us FROM sync_exports WHERE facility = $1 AND sequence = $2 AND hash = $3",
                )
                .bind(facility.as_str())
                .bind(seq)
                .bind(hash)
                .fetch_optional(&mut **tx)
                .await?;
                match acked {
                    None => {
                        return Err(StoreError::NotFound(format!(
                            "package {sequence} of facility {facility} with hash {hash}"
                        )));
                    }
                    Some(Some(_)) => return Ok(()),
                    Some(None) => {}
                }
                sqlx::query(
                    "UPDATE sync_exports SET acknowledged_us = $3 \
                     WHERE facility = $1 AND sequence <= $2 AND acknowledged_us IS NULL",
                )
                .bind(facility.as_str())
                .bind(seq)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({ "sequence": sequence, "hash": hash });
                append(tx, actor, "sync.acknowledged", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// The sealed bytes and hash of package `sequence` of `facility`, as exported (to re-issue
    /// a package the region lost). None if there is no such package, or it was exported before
    /// bytes were kept.
    pub async fn exported_package(
        &self,
        facility: &Finess,
        sequence: u64,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT hash, package FROM sync_exports WHERE facility = $1 AND sequence = $2",
        )
        .bind(facility.as_str())
        .bind(i64_of(sequence)?)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let bytes: Option<Vec<u8>> = r.try_get("package")?;
        let hash: String = r.try_get("hash")?;
        Ok(bytes.map(|b| (hash, b)))
    }

    /// Give the enrolment in force of `facility` the push token with this digest (a new one
    /// replaces the old, which stops at once).
    pub async fn set_push_token(
        &self,
        facility: &Finess,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let key: Option<String> = sqlx::query_scalar(
                    "SELECT public_key FROM sync_keys WHERE facility = $1 AND revoked_us IS NULL",
                )
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                let Some(key) = key else {
                    return Err(StoreError::NotFound(format!(
                        "an enrolled key of facility {facility}"
                    )));
                };
                sqlx::query(
                    "UPDATE sync_keys SET push_token_hash = $2 WHERE facility = $1 AND revoked_us IS NULL",
                )
                .bind(facility.as_str())
                .bind(token_hash)
                .execute(&mut **tx)
                .await?;
                // The journal names the key, never the token or its digest.
                let details = serde_json::json!({ "public_key": key });
                append(tx, actor, "sync.push_token", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// The enrolment whose push token has this digest, revoked or not (to say why it is refused).
    pub async fn push_token_holder(&self, token_hash: &str) -> Result<Option<PushTokenHolder>> {
        let row =
            sqlx::query("SELECT facility, revoked_us FROM sync_keys WHERE push_token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(PushTokenHolder {
                facility: r.try_get("facility")?,
                revoked: r.try_get::<Option<i64>, _>("revoked_us")?.is_some(),
            })
        })
        .transpose()
    }
}
