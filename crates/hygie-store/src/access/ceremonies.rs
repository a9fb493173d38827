//! Sign-in ceremonies under way: the state a login keeps between its two requests (a passkey's
//! challenge, a single sign-on's PKCE verifier and nonce), in the store rather than in a
//! process's memory, so that several `serve` processes behind one address each finish what
//! another started.
//!
//! A ceremony is kept under the digest of the random id its page or redirect carries (the id
//! itself is never stored), for one purpose and one user (0 while the user is not known yet),
//! with an end. It is taken back once: whatever the answer, the id is spent, so a replayed
//! callback finds nothing. Ended ceremonies are purged whenever one is stored. The state is
//! opaque here; the web layer seals what must not be readable in the database.
//! Bookkeeping of the login flow: the sign-in itself is journalled with its session.

use crate::{Result, Store, now_us};
use sqlx::Row;

/// What a ceremony is for: its state is taken back only for the same purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Adding a passkey to the signed-in user's account.
    Register,
    /// Proving the second factor of a login whose first factor is accepted.
    SecondFactor,
    /// Signing in with a passkey alone (the account is known from the passkey's handle).
    Passwordless,
    /// A login sent to an OpenID Connect provider, waiting for its callback.
    SingleSignOn,
}

impl Ceremony {
    pub fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::SecondFactor => "second_factor",
            Ceremony::Passwordless => "passwordless",
            Ceremony::SingleSignOn => "single_sign_on",
        }
    }
}

impl Store {
    /// Keep a ceremony's state until `expires` under the digest of its id, for `purpose` and
    /// `user_id` (0 while the user is unknown). Ended ceremonies are purged here.
    pub async fn put_ceremony(
        &self,
        id_hash: &str,
        purpose: Ceremony,
        user_id: i64,
        state: &str,
        expires: jiff::Timestamp,
    ) -> Result<()> {
        let expires = expires.as_microsecond();
        self.write(|tx| {
            Box::pin(async move {
                sqlx::query("DELETE FROM sign_in_ceremonies WHERE expires_us <= $1")
                    .bind(now_us())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("INSERT INTO sign_in_ceremonies (id_hash, purpose, user_id, state, expires_us) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id_hash)
                    .bind(purpose.as_str())
                    .bind(user_id)
                    .bind(state)
                    .bind(expires)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Take a ceremony's state back, once: None when there is none under this id for this
    /// purpose and user, or it ended. Whatever the answer, the id is spent.
    pub async fn take_ceremony(
        &self,
        id_hash: &str,
        purpose: Ceremony,
        user_id: i64,
    ) -> Result<Option<String>> {
        self.write(|tx| {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT purpose, user_id, state, expires_us FROM sign_in_ceremonies WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM sign_in_ceremonies WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut **tx)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let ok = row.try_get::<String, _>("purpose")? == purpose.as_str()
                    && row.try_get::<i64, _>("user_id")? == user_id
                    && row.try_get::<i64, _>("expires_us")? > now_us();
                Ok(if ok { Some(row.try_get("state")?) } else { None })
            })
        })
        .await
    }
}
