//! Server-rendered pages, one module per area: account (login, TOTP, setup, language), facility
//! (home, dashboard, measure, declarations, evidence), facility_edit (registering a facility,
//! changing its record), region (matrix, CSV), catalogue, audits,
//! alerts, incidents (with notification drafts), admin (journal, tokens), users (accounts,
//! their lifecycle, security events, one's own sessions). Every form that
//! changes state carries the session's CSRF token; every read goes through `Store::scoped`.
//!
//! Every page body is an askama template in `templates/` filled from a typed view struct (named
//! `...Body`) declared in the area's module: the handler reads through `Store::scoped`, builds the
//! struct from borrowed data and calls `hygie_report::render`; `PageUser::page` (or `anon_page`)
//! wraps the body in `layout.html`. Templates escape every value with hygie-report's escaper and
//! share pieces: `facility_nav.html` (included), `web_macros.html` (progress bar, demo banner,
//! measure status, time left). No HTML is assembled in Rust code. To add a page: a handler and
//! its view struct in the area's module, a template here, a test in `tests/`.
//!
//! This module holds what the areas share: the page error, the logged-in-user extractor, the
//! facility page (`FacilityPage`: user and facility of the path, the opening of every handler
//! under `/facilities/{finess}`) and small response helpers. Areas import from here and from `crate::html`, never from each other.

mod account;
mod admin;
mod alerts;
mod audits;
mod catalog;
mod facility;
mod facility_edit;
mod incidents;
mod region;
mod users;

use crate::html::layout;
use crate::scope::AtFacility;
use crate::{AppState, Caller, WebError};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hygie_core::{Facility, Lang};
use hygie_store::User;

/// Every page; the evidence upload form takes bodies up to `upload_limit`.
pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .merge(account::routes())
        .merge(facility::routes(upload_limit))
        .merge(facility_edit::routes())
        .merge(region::routes())
        .merge(catalog::routes())
        .merge(admin::routes())
        .merge(users::routes())
        .merge(audits::routes())
        .merge(alerts::routes())
        .merge(incidents::routes())
}

// --- errors and extractors -------------------------------------------------------------------

/// An error shown as an HTML page.
pub struct PageError(WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.mark(error_response(&self.0))
    }
}

/// The page of an error, without its security event (`PageError` adds it; the login flow adds
/// its own, naming the user): a redirection to the login page when unauthenticated.
pub(super) fn error_response(e: &WebError) -> Response {
    if e.unauthenticated() {
        return Redirect::to("/login").into_response();
    }
    if let WebError::Internal(m) = e {
        tracing::error!("internal error: {m}");
    }
    let title = format!("Error {} / Erreur", e.status().as_u16());
    error_page(Lang::En, &title, e.status(), &e.public_message())
}

/// An error page: the message and a link to the home page (the framework's own errors too,
/// `crate::framework_errors`).
pub(crate) fn error_page(lang: Lang, title: &str, status: StatusCode, msg: &str) -> Response {
    let body = notice(msg, None, "/", "Hygie");
    (status, Html(layout(lang, title, None, &body))).into_response()
}

#[derive(askama::Template)]
#[template(path = "notice.html")]
struct Notice<'a> {
    msg: &'a str,
    id: Option<&'a str>,
    href: &'a str,
    link: &'a str,
}

/// An error message with one link onward (template `notice.html`).
pub(super) fn notice(msg: &str, id: Option<&str>, href: &str, link: &str) -> String {
    hygie_report::render(&Notice {
        msg,
        id,
        href,
        link,
    })
}

pub(crate) type PageResult = Result<Response, PageError>;

/// A logged-in user for a page (redirects to the login page otherwise).
pub struct PageUser {
    pub c: Caller,
    pub user: User,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<PageUser, PageError> {
        // Pages are for people: a bearer token does not open them.
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(PageError(WebError::Unauthorized));
        }
        let c = Caller::from_request_parts(parts, st).await?;
        let user = c.user.clone().ok_or(WebError::Unauthorized)?;
        Ok(PageUser { c, user })
    }
}

impl PageUser {
    pub(crate) fn page(&self, title: &str, body: &str) -> Response {
        Html(layout(
            self.c.lang,
            title,
            Some((&self.user, self.c.csrf())),
            body,
        ))
        .into_response()
    }
    pub(crate) fn lang(&self) -> Lang {
        self.c.lang
    }
}

impl AsRef<Caller> for PageUser {
    fn as_ref(&self) -> &Caller {
        &self.c
    }
}

/// A page about one facility: the logged-in user and the facility of the path (`crate::scope`).
pub(crate) type FacilityPage = AtFacility<PageUser>;

impl FacilityPage {
    /// The page of `body`, titled "<facility> — <what>".
    pub(crate) fn titled<T: askama::Template>(
        &self,
        f: &Facility,
        what: &str,
        body: &T,
    ) -> Response {
        self.who
            .page(&format!("{} — {what}", f.name), &hygie_report::render(body))
    }
}

pub use crate::client::ClientIp;

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(super) fn with_cookie(mut r: Response, c: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, c);
    r
}

/// A local path to go back to (never another site).
pub(super) fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => "/".to_owned(),
    }
}

pub(super) fn anon_page(lang: Lang, title: &str, body: &str, status: StatusCode) -> Response {
    (status, Html(layout(lang, title, None, body))).into_response()
}

/// A form that carries only the session's CSRF token (logout, revocations).
#[derive(serde::Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}
