//! Sign-in ceremonies between their two requests: a passkey's challenge, a single sign-on's
//! PKCE verifier and nonce. Their state is kept in the store (`Store::put_ceremony`), so that
//! any `serve` process on the same store finishes what another started, and sealed with the
//! server's key under the ceremony's purpose and user, so that the database never holds it
//! readable (a verifier and a nonce are secrets until the callback). Several processes must
//! therefore share the key file (`hygie serve --secret-key-file`), as they already must for the
//! TOTP seeds; a state sealed under another key cannot be opened and counts as ended.

use crate::{AppState, WebError, auth};
use hygie_store::Ceremony;

/// Keep a ceremony's state for `lasts`; returns the random id its page or redirect carries
/// (the store keeps the id's digest only).
pub(crate) async fn begin(
    st: &AppState,
    purpose: Ceremony,
    user_id: i64,
    state: &impl serde::Serialize,
    lasts: jiff::SignedDuration,
) -> Result<String, WebError> {
    let id = auth::random_hex(32)?;
    let state = serde_json::to_string(state).map_err(|e| WebError::Internal(e.to_string()))?;
    let sealed = st
        .secret_key()?
        .seal_for(&sealed_as(purpose), user_id, &state)?;
    let expires = jiff::Timestamp::now()
        .checked_add(lasts)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    st.store()
        .put_ceremony(&auth::digest(&id), purpose, user_id, &sealed, expires)
        .await?;
    Ok(id)
}

/// Take a ceremony's state back (once: the id is spent whatever the answer); None when it is
/// unknown, spent, ended, of another purpose or user, or sealed under another key.
pub(crate) async fn end<T: serde::de::DeserializeOwned>(
    st: &AppState,
    id: &str,
    purpose: Ceremony,
    user_id: i64,
) -> Result<Option<T>, WebError> {
    let Some(sealed) = st
        .store()
        .take_ceremony(&auth::digest(id.trim()), purpose, user_id)
        .await?
    else {
        return Ok(None);
    };
    let Ok(state) = st
        .secret_key()?
        .open_for(&sealed_as(purpose), user_id, &sealed)
    else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&state).ok())
}

fn sealed_as(purpose: Ceremony) -> String {
    format!("ceremony:{}", purpose.as_str())
}
