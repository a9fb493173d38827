//! Server-rendered pages, one module per area: account (login, TOTP, setup, language), passkeys
//! (a user's own, the second factor and the passwordless sign-in), facility
//! (home, dashboard, measure, declarations, evidence), facility_edit (registering a facility,
//! changing its record), region (matrix, CSV), requests (the agency's campaigns and a facility's
//! requests received), catalogue, audits, assets (the register),
//! alerts, incidents (with notification drafts and the PDF twins), admin (journal, tokens, webhook
//! deliveries), users (accounts,
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
//! under `/facilities/{finess}`), the audit runs grouped by audit and target (`run_groups`,
//! for the facility and audits pages) and small response helpers. Areas import from here and
//! from `crate::html`, never from each other.

mod account;
mod admin;
mod alerts;
mod assets;
mod audits;
mod catalog;
mod facility;
mod facility_edit;
mod incidents;
mod passkeys;
mod region;
pub(crate) mod requests;
mod second_factor;
mod sso;
mod users;

use crate::html::layout;
use crate::scope::AtFacility;
use crate::session::{ReaderLang, browser_lang, query_lang};
use crate::{AppState, Caller, WebError};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use hygie_core::{Facility, Lang, Localized};
use hygie_store::User;

/// Every page; the evidence and audit upload forms take bodies up to `upload_limit`.
pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .merge(account::routes())
        .merge(sso::routes())
        .merge(passkeys::routes())
        .merge(facility::routes(upload_limit))
        .merge(facility_edit::routes())
        .merge(region::routes())
        .merge(requests::routes())
        .merge(catalog::routes())
        .merge(admin::routes())
        .merge(users::routes())
        .merge(audits::routes(upload_limit))
        .merge(assets::routes())
        .merge(alerts::routes())
        .merge(incidents::routes())
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| localize_errors(upload_limit, req, next),
        ))
}

// --- audit runs, as the audits and the facility's dashboard list them ---

/// An audit's name in the reader's language (`ad`, `backups`...: the sources of the registry).
pub(super) fn source_label(lang: Lang, source: &str) -> String {
    let (en, fr) = match source {
        "ad" => ("Active Directory", "Active Directory"),
        "passwords" => ("Passwords", "Mots de passe"),
        "backups" => ("Backups", "Sauvegardes"),
        "antivirus" => ("Antivirus", "Antivirus"),
        "patching" => ("Patching", "Mises à jour"),
        "network" => ("Network and firewalls", "Réseau et pare-feu"),
        "wifi" => ("Wi-Fi", "Wi-Fi"),
        "mfa" => (
            "Multi-factor authentication",
            "Authentification multifacteur",
        ),
        "governance" => ("Governance", "Gouvernance"),
        "phishing" => ("Phishing exercise", "Exercice d'hameçonnage"),
        other => return other.to_owned(),
    };
    crate::html::t(lang, en, fr).to_owned()
}

/// The runs of one audit on one target (an AD domain), newest first.
pub(super) struct RunGroup<'a> {
    pub(super) label: String,
    pub(super) target: Option<&'a str>,
    pub(super) runs: Vec<RunRow<'a>>,
}

/// A run in its group, with the change of its failed rules against the run before it.
pub(super) struct RunRow<'a> {
    pub(super) run: &'a hygie_store::RunHeader,
    /// Failed rules minus those of the previous run of the group; None for the first run.
    pub(super) delta: Option<i64>,
}

/// Group runs (newest first) by audit and target, groups in the order of their newest run.
pub(super) fn run_groups(lang: Lang, runs: &[hygie_store::RunHeader]) -> Vec<RunGroup<'_>> {
    let mut out: Vec<RunGroup<'_>> = Vec::new();
    for r in runs {
        let (source, target) = (r.source.as_str(), r.target.as_deref());
        let label = source_label(lang, source);
        match out
            .iter_mut()
            .find(|g| g.runs[0].run.source == source && g.target == target)
        {
            Some(g) => g.runs.push(RunRow {
                run: r,
                delta: None,
            }),
            None => out.push(RunGroup {
                label,
                target,
                runs: vec![RunRow {
                    run: r,
                    delta: None,
                }],
            }),
        }
    }
    for g in &mut out {
        for i in 0..g.runs.len() {
            g.runs[i].delta = g
                .runs
                .get(i + 1)
                .map(|prev| g.runs[i].run.failed - prev.run.failed);
        }
    }
    out
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
        let mut res = self.0.mark(error_response(&self.0));
        if !self.0.unauthenticated() {
            let text = Localized::new(
                self.0.public_message_in(Lang::En),
                self.0.public_message_in(Lang::Fr),
            );
            res.extensions_mut().insert(ErrorText(text));
        }
        res
    }
}

/// An error page's message in both languages, for [`localize_errors`] to write in the
/// reader's, which only the `Caller` extractor knows (the account's choice).
#[derive(Debug, Clone)]
struct ErrorText(Localized);

/// Write a page's error in the reader's language: the `Caller` extractor notes it in the
/// request's `ReaderLang` slot; before it ran (or without a session), the address's or the
/// browser's. A body over `upload_limit` says what each kind of request may carry.
async fn localize_errors(upload_limit: usize, mut req: Request, next: Next) -> Response {
    let slot = ReaderLang::default();
    let fallback = query_lang(req.uri()).unwrap_or_else(|| browser_lang(req.headers()));
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(ErrorText(msg)) = res.extensions_mut().remove::<ErrorText>() {
        let lang = slot.get().unwrap_or(fallback);
        let status = res.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            crate::framework_errors::too_large(upload_limit)
        } else {
            msg
        };
        let title = match lang {
            Lang::En => format!("Error {}", status.as_u16()),
            Lang::Fr => format!("Erreur {}", status.as_u16()),
        };
        let page = error_page(lang, &title, status, msg.get(lang));
        *res.body_mut() = page.into_body();
    }
    res
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
