//! Errors the framework answers by itself, shown like the application's own. axum's extractors
//! refuse a body too large (413), malformed JSON or query (400), a missing or mistyped field
//! (422), a wrong content type (415), an unknown path (404) or method (405) with English plain
//! text or nothing at all; this layer turns every such answer into the request's language (FR or
//! EN, from `Accept-Language`): JSON `{"error", "detail"}` under `/api/`, an HTML page
//! elsewhere. A request whose body did not arrive in time (`server::BodyDeadline`) becomes a
//! `408` and closes its connection.
//!
//! An answer is the framework's when it is an error and carries no content type or plain text:
//! every error of the application itself is JSON (`WebError`) or HTML (`PageError`).

use crate::AppState;
use crate::server::BodyDeadline;
use crate::session::browser_lang;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hygie_core::{Lang, Localized};

/// The longest part of the framework's own message kept as `detail` (it can quote the input).
const DETAIL_CHARS: usize = 300;

pub(crate) async fn render(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let lang = crate::session::query_lang(req.uri()).unwrap_or_else(|| browser_lang(req.headers()));
    let api = req.uri().path().starts_with("/api/");
    let deadline = req.extensions().get::<BodyDeadline>().cloned();
    let res = next.run(req).await;
    if deadline.is_some_and(|d| d.passed()) {
        let mut r = answer(&st, api, lang, StatusCode::REQUEST_TIMEOUT, None);
        // The rest of the body may still be on its way: the connection cannot be reused.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || !plain(&res) {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(res.into_body(), 4 * DETAIL_CHARS)
        .await
        .unwrap_or_default();
    let detail: String = String::from_utf8_lossy(&text)
        .trim()
        .chars()
        .take(DETAIL_CHARS)
        .collect();
    let mut r = answer(
        &st,
        api,
        lang,
        status,
        Some(detail).filter(|d| !d.is_empty()),
    );
    if let Some(allow) = allow {
        r.headers_mut().insert(header::ALLOW, allow);
    }
    r
}

/// No content type, or plain text: what axum's rejections and default answers carry.
fn plain(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"))
}

fn answer(
    st: &AppState,
    api: bool,
    lang: Lang,
    status: StatusCode,
    detail: Option<String>,
) -> Response {
    let msg = message(st, status);
    let msg = msg.get(lang);
    if api {
        let mut body = serde_json::json!({ "error": msg });
        if let Some(d) = detail {
            body["detail"] = serde_json::Value::String(d);
        }
        (status, axum::Json(body)).into_response()
    } else {
        let title = match lang {
            Lang::En => format!("Error {}", status.as_u16()),
            Lang::Fr => format!("Erreur {}", status.as_u16()),
        };
        crate::pages::error_page(lang, &title, status, msg)
    }
}

/// A body over its limit: what each kind of request may carry (the framework's 413 and the
/// pages' own, `pages::localize_errors`).
pub(crate) fn too_large(upload_limit: usize) -> Localized {
    let (form, upload) = (size(crate::MAX_FORM_BYTES), size(upload_limit));
    Localized::new(
        format!(
            "The request is too large: forms and JSON take at most {form}B, evidence files and audited exports at most {upload}B."
        ),
        format!(
            "La requête est trop volumineuse : {form}o au plus pour un formulaire ou du JSON, {upload}o pour un fichier de preuve ou un export à auditer."
        ),
    )
}

/// What went wrong, for each status the framework answers by itself.
fn message(st: &AppState, status: StatusCode) -> Localized {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(st.config().max_upload_bytes),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Localized::new(
            "Wrong content type: this address takes JSON (application/json) or a form (application/x-www-form-urlencoded), as documented.",
            "Type de contenu incorrect : cette adresse attend du JSON (application/json) ou un formulaire (application/x-www-form-urlencoded), comme documenté.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => Localized::new(
            "A field of the request is missing or has the wrong type.",
            "Un champ de la requête manque ou n'a pas le bon type.",
        ),
        StatusCode::NOT_FOUND => Localized::new("Not found.", "Introuvable."),
        StatusCode::METHOD_NOT_ALLOWED => Localized::new(
            "This method is not allowed at this address.",
            "Cette méthode n'est pas permise à cette adresse.",
        ),
        StatusCode::REQUEST_TIMEOUT => Localized::new(
            "The request took too long to arrive: send it again.",
            "La requête a mis trop de temps à arriver : envoyez-la de nouveau.",
        ),
        s if s.is_server_error() => Localized::new("Internal error.", "Erreur interne."),
        _ => Localized::new("The request is malformed.", "La requête est mal formée."),
    }
}

/// A byte count with its binary prefix ("64 Ki", "25 Mi"), to which the text appends its unit
/// (B in English, o in French).
pub(crate) fn size(bytes: usize) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} Mi", bytes / (1024 * 1024))
    } else {
        format!("{} Ki", bytes / 1024)
    }
}
