//! The region's end of the online transport: `POST /api/v1/sync/packages`, body = a package
//! file's bytes (`hygie sync push` sends them; `curl --data-binary @P` would too).
//!
//! It runs exactly the import of `hygie sync import` (`hygie_sync::receive`,
//! `Store::import_package`: same checks, same one transaction, same refusals), and answers
//! with the import's report (200: `imported` or `already_imported`) or the refusal as the CLI
//! prints it (`Refusal::answer`, plus `error` in the reader's language): 409 when the package
//! does not follow the region's sequence (replay, rollback, gap, fork), 422 for any other
//! refusal, 403 for a package about another facility than the token's. Nothing is stored on
//! any refusal.
//!
//! `GET /api/v1/sync/requests` answers, to the same push token, the facility's requests (the
//! agency's campaigns that asked it) as a requests file signed by this instance's identity key
//! (`hygie_sync::seal_requests`); the facility checks it against the region key it trusts.
//!
//! The caller is a push token (`Store::push_token_holder`), never a session or an API token:
//! it opens this endpoint only, for its enrolment's FINESS, and ends with the enrolment
//! (hygie-store `sync_push` says why it is not an API token). A token refused is a security
//! event like any other (`WebError::TokenRefused`).

use crate::{AppState, WebError, auth};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hygie_core::Lang;
use hygie_store::StoreError;
use hygie_sync::Refusal;

/// The enrolment's FINESS the request's push token opens, or why it opens nothing.
async fn push_caller(st: &AppState, headers: &HeaderMap) -> Result<String, WebError> {
    let refused = |reason| WebError::TokenRefused {
        token: None,
        reason,
    };
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Err(WebError::Unauthorized);
    };
    let token = v
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| refused("malformed"))?;
    let holder = st
        .store()
        .push_token_holder(&auth::digest(token))
        .await?
        .ok_or_else(|| refused("unknown"))?;
    if holder.revoked {
        return Err(refused("revoked"));
    }
    Ok(holder.facility)
}

/// A refusal answered as the CLI prints it, with `error` in the reader's language.
fn refusal(status: StatusCode, r: &Refusal, lang: Lang) -> Response {
    let mut body = r.answer();
    body["error"] = r.reason().get(lang).to_owned().into();
    (status, axum::Json(body)).into_response()
}

/// Whether a refusal is about the region's sequence (the package itself is well formed).
fn sequence_refusal(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::Replay { .. }
            | Refusal::Rollback { .. }
            | Refusal::Gap { .. }
            | Refusal::Fork { .. }
    )
}

/// `POST /api/v1/sync/packages`.
pub async fn receive(
    State(st): State<AppState>,
    who: Option<axum::Extension<crate::events::Who>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let facility = push_caller(&st, &headers).await?;
    // The security log names the caller by the facility whose token it is.
    if let Some(axum::Extension(w)) = &who {
        w.set(format!("push:{facility}"));
    }
    let lang = crate::session::browser_lang(&headers);
    let (opened, checked) = match hygie_sync::receive(&body, Some(&facility)) {
        Ok(r) => r,
        Err(r @ Refusal::OtherFacility { .. }) => {
            return Ok(refusal(StatusCode::FORBIDDEN, &r, lang));
        }
        Err(r) => return Ok(refusal(StatusCode::UNPROCESSABLE_ENTITY, &r, lang)),
    };
    match st
        .store()
        .import_package(&opened, &checked, body.len() as u64)
        .await
    {
        Ok(report) => Ok(axum::Json(report).into_response()),
        Err(StoreError::Refused(r)) if sequence_refusal(&r) => {
            Ok(refusal(StatusCode::CONFLICT, &r, lang))
        }
        Err(StoreError::Refused(r)) => Ok(refusal(StatusCode::UNPROCESSABLE_ENTITY, &r, lang)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/sync/requests`: the signed requests file of the push token's facility (the same
/// bytes `hygie region request export` writes), which the facility's push fetches after its
/// packages. 404 when this instance has no identity key or the facility never reported.
pub async fn requests(
    State(st): State<AppState>,
    who: Option<axum::Extension<crate::events::Who>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let facility = push_caller(&st, &headers).await?;
    if let Some(axum::Extension(w)) = &who {
        w.set(format!("push:{facility}"));
    }
    let Some(identity) = st.config().identity.clone() else {
        return Err(WebError::NotFound(
            "this instance has no federation identity key".into(),
        ));
    };
    let id = hygie_core::Finess::parse(&facility)
        .map_err(|e| WebError::Internal(format!("enrolment of {facility}: {e}")))?;
    let bundle = st.store().requests_for(&id, jiff::Timestamp::now()).await?;
    let bytes = hygie_sync::seal_requests(&bundle, &identity)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}
