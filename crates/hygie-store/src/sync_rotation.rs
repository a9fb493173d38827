//! Key rotation at the region (hygie-sync `Rotation`): a package that carries a statement
//! signed by the key in force moves the enrolment to the new key, in one transaction, journalled
//! as `sync.rotate`; the old key's enrolment is revoked (its packages refused from then on) and
//! the push token follows the enrolment. A statement naming another old key is refused. A
//! package's statement is applied inside the package's import transaction, so a package refused
//! for any reason leaves the enrolment as it was.

use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, now_us};
use hygie_core::Finess;
use hygie_sync::{Refusal, Rotation};
use sqlx::Row;

impl Store {
    /// Apply `rotation` (already verified: `hygie_sync::receive`) to the enrolment of
    /// `facility`, in its own transaction. Returns whether anything changed: a statement whose
    /// new key is already the one in force is the same rotation received again. (A package
    /// carrying a statement applies it inside its import's transaction instead: `import_package`.)
    pub async fn rotate_key(&self, facility: &Finess, rotation: &Rotation) -> Result<bool> {
        let actor = Actor(format!("sync:{facility}"));
        let actor = &actor;
        self.write(|tx| Box::pin(async move { rotate_in(tx, facility, rotation, actor).await }))
            .await
    }
}

/// Apply `rotation` to the enrolment of `facility` inside `tx`.
pub(crate) async fn rotate_in(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    rotation: &Rotation,
    actor: &Actor,
) -> Result<bool> {
    let (old, new) = rotation.verify()?;
    let row = sqlx::query(
            "SELECT id, public_key, push_token_hash FROM sync_keys WHERE facility = $1 AND revoked_us IS NULL",
        )
        .bind(facility.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let in_force: Option<(i64, String, Option<String>)> = row
        .map(|r| -> Result<_> {
            Ok((
                r.try_get("id")?,
                r.try_get("public_key")?,
                r.try_get("push_token_hash")?,
            ))
        })
        .transpose()?;
    match in_force {
        Some((_, key, _)) if key == new.hex() => Ok(false),
        Some((id, key, token)) if key == old.hex() => {
            let now = now_us();
            sqlx::query(
                "UPDATE sync_keys SET revoked_us = $2, push_token_hash = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let details = serde_json::json!({
                "old_key": old.hex(), "old_fingerprint": old.fingerprint(),
                "new_key": new.hex(), "new_fingerprint": new.fingerprint(),
                "at": rotation.at,
            });
            let seq = append(tx, actor, "sync.rotate", facility.as_str(), &details).await?;
            sqlx::query(
                    "INSERT INTO sync_keys (id, facility, public_key, enrolled_us, revoked_us, push_token_hash) \
                     VALUES ($1, $2, $3, $4, NULL, $5)",
                )
                .bind(seq)
                .bind(facility.as_str())
                .bind(new.hex())
                .bind(now)
                .bind(token)
                .execute(&mut **tx)
                .await?;
            Ok(true)
        }
        _ => Err(Refusal::RotationNotEnrolled {
            finess: facility.to_string(),
            fingerprint: old.fingerprint(),
        }
        .into()),
    }
}
