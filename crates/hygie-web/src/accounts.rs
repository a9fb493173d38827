//! The lifecycle of accounts over the JSON API (routes in `api::api_routes!`): users with their
//! status, an administrator's actions on a user (disable, enable, unlock, reset the password or
//! the second factor, end sessions, delete), a user's own sessions, the journalled security
//! events; and what the pages share with it (`pages/users.rs`): a user's status, the actions,
//! the temporary password of a reset. Authorisation is the store's (`Scoped`): administrators,
//! for the users within their binding; any other user is "not found".

use crate::api::Changing;
use crate::{AppState, Caller, WebError, auth};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hygie_core::Lang;
use hygie_store::{Scoped, User};
use serde::Deserialize;

/// Where an account stands, as lists show it (`User::status`).
pub(crate) fn status(u: &User) -> &'static str {
    u.status()
}

/// The status in words (`locked until` is followed by the lock's end where it is shown).
pub(crate) fn status_label(u: &User, lang: Lang) -> &'static str {
    let (en, fr) = match status(u) {
        "disabled" => ("disabled", "désactivé"),
        "locked" => ("locked until", "verrouillé jusqu'au"),
        _ => ("active", "actif"),
    };
    hygie_report::t(lang, en, fr)
}

/// A user as the API shows it: the record and its status.
pub(crate) fn user_json(u: &User) -> serde_json::Value {
    let mut v = serde_json::to_value(u).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("status".into(), status(u).into());
    }
    v
}

/// A user id from a path; anything else names no user.
pub(crate) fn user_id(s: &str) -> Result<i64, WebError> {
    s.parse()
        .map_err(|_| WebError::NotFound(format!("user {s}")))
}

/// An administrator's action on a user that needs no more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Disable,
    Enable,
    Unlock,
    ResetTotp,
    EndSessions,
    /// Remove every passkey of the user (they were lost): the recovery of passkeys.
    RemovePasskeys,
}

impl Action {
    pub(crate) async fn apply(self, scoped: &Scoped<'_>, id: i64) -> Result<(), WebError> {
        match self {
            Action::Disable => scoped.disable_user(id).await.map(drop),
            Action::Enable => scoped.enable_user(id).await.map(drop),
            Action::Unlock => scoped.unlock_user(id).await.map(drop),
            Action::ResetTotp => scoped.reset_totp(id).await,
            Action::EndSessions => scoped.end_user_sessions(id).await.map(drop),
            Action::RemovePasskeys => scoped.remove_user_passkeys(id).await.map(drop),
        }
        .map_err(WebError::from)
    }
}

/// Reset a user's password to a temporary one; returns it, to be shown once (never logged,
/// never stored but as its Argon2id hash).
pub(crate) async fn temporary_password(scoped: &Scoped<'_>, id: i64) -> Result<String, WebError> {
    let user = scoped.managed_user(id).await?;
    match &user.sign_in {
        hygie_store::SignIn::Local => {}
        hygie_store::SignIn::Directory => {
            return Err(WebError::Conflict(
                "this account's password is the directory's (Active Directory): reset it there / le mot de passe de ce compte est celui de l'annuaire (Active Directory) : réinitialisez-le là".into(),
            ));
        }
        hygie_store::SignIn::Oidc(p) => {
            return Err(WebError::Conflict(format!(
                "this account signs in through the identity provider {p}, which holds its password / ce compte se connecte par le fournisseur d'identité {p}, qui détient son mot de passe"
            )));
        }
    }
    let password = auth::temporary_password()?;
    let pw = password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    scoped.reset_password(id, &phc).await?;
    Ok(password)
}

/// The message of a refusal to take away the last administrator, in the reader's language.
pub(crate) fn last_administrator(lang: Lang) -> &'static str {
    hygie_report::t(
        lang,
        "Refused: this is the last enabled administrator (of the whole installation). Enable or add another administrator first.",
        "Refusé : c'est le dernier administrateur actif (de toute l'installation). Activez ou ajoutez d'abord un autre administrateur.",
    )
}

// --- handlers ---------------------------------------------------------------------------------

pub(crate) async fn users(State(st): State<AppState>, c: Caller) -> Result<Response, WebError> {
    let list = st.scoped(&c).users().await?;
    Ok(Json(list.iter().map(user_json).collect::<Vec<_>>()).into_response())
}

/// One user with their status and live sessions (never the sessions' ids).
pub(crate) async fn user(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = user_id(&id)?;
    let scoped = st.scoped(&c);
    let u = scoped.managed_user(id).await?;
    let sessions = scoped.user_sessions(id).await?;
    Ok(Json(serde_json::json!({ "user": user_json(&u), "sessions": sessions })).into_response())
}

async fn act(st: &AppState, c: &Caller, id: &str, action: Action) -> Result<Response, WebError> {
    let id = user_id(id)?;
    let scoped = st.scoped(c);
    action.apply(&scoped, id).await?;
    Ok(Json(user_json(&scoped.managed_user(id).await?)).into_response())
}

pub(crate) async fn disable(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    act(&st, &c, &id, Action::Disable).await
}

pub(crate) async fn enable(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    act(&st, &c, &id, Action::Enable).await
}

pub(crate) async fn unlock(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    act(&st, &c, &id, Action::Unlock).await
}

pub(crate) async fn reset_totp(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    act(&st, &c, &id, Action::ResetTotp).await
}

pub(crate) async fn end_sessions(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    act(&st, &c, &id, Action::EndSessions).await
}

/// A temporary password, returned once; the user must change it at the next login.
pub(crate) async fn reset_password(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = user_id(&id)?;
    let scoped = st.scoped(&c);
    let password = temporary_password(&scoped, id).await?;
    let u = scoped.managed_user(id).await?;
    Ok(
        Json(serde_json::json!({ "user": user_json(&u), "temporary_password": password }))
            .into_response(),
    )
}

pub(crate) async fn delete(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = user_id(&id)?;
    st.scoped(&c).delete_user(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller's digest of their session, to mark it (or keep it) among their sessions.
fn current(c: &Caller) -> Option<&str> {
    c.session.as_ref().map(|(hash, _)| hash.as_str())
}

pub(crate) async fn my_sessions(
    State(st): State<AppState>,
    c: Caller,
) -> Result<Response, WebError> {
    let list = st.scoped(&c).my_sessions(current(&c)).await?;
    Ok(Json(list).into_response())
}

pub(crate) async fn end_my_other_sessions(
    State(st): State<AppState>,
    Changing(c): Changing,
) -> Result<Response, WebError> {
    let keep =
        current(&c).ok_or_else(|| WebError::Forbidden("an API token has no sessions".into()))?;
    let ended = st.scoped(&c).end_my_other_sessions(keep).await?;
    Ok(Json(serde_json::json!({ "sessions_ended": ended })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    pub user: Option<String>,
    pub limit: Option<i64>,
}

/// Journalled account events shown at most.
pub(crate) const EVENTS_SHOWN: i64 = 500;

pub(crate) async fn security_events(
    State(st): State<AppState>,
    c: Caller,
    Query(q): Query<EventsQuery>,
) -> Result<Response, WebError> {
    let limit = q.limit.unwrap_or(EVENTS_SHOWN).clamp(1, EVENTS_SHOWN);
    let list = st
        .scoped(&c)
        .security_events(q.user.as_deref(), limit)
        .await?;
    Ok(Json(list).into_response())
}
