//! Administration: the journal and API tokens (user accounts are in `users`).

use super::{ClientIp, CsrfForm, PageResult, PageUser, see_other};
use crate::api::{self};
use crate::html::t;
use crate::{AppState, WebError};
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/journal", get(journal_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
}

/// The journal's last entries, newest first, under the verdict on its hash chain.
#[derive(askama::Template)]
#[template(path = "journal.html")]
struct JournalBody<'a> {
    lang: Lang,
    check: &'a hygie_store::JournalCheck,
    entries: &'a [hygie_core::journal::JournalEntry],
    /// Sequence numbers are installation-wide: shown to installation-wide accounts only.
    show_seq: bool,
}

/// The API tokens in scope and the form to create one; `created` is a new token's secret, shown
/// once right after its creation.
#[derive(askama::Template)]
#[template(path = "tokens.html")]
struct TokensBody<'a> {
    lang: Lang,
    csrf: &'a str,
    created: Option<&'a str>,
    tokens: &'a [hygie_store::ApiToken],
    facilities: &'a [hygie_core::Facility],
    default_days: i64,
    max_days: i64,
}

hygie_report::translate_by_lang_field!(JournalBody, TokensBody);

async fn journal_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let check = scoped.verify_journal().await?;
    let entries = scoped.journal_entries(200).await?;
    let b = hygie_report::render(&JournalBody {
        lang,
        check: &check,
        entries: &entries,
        show_seq: scoped.sees_journal_sequence(),
    });
    Ok(p.page(t(lang, "Journal", "Journal"), &b))
}

// --- API tokens ------------------------------------------------------------------------------

async fn tokens_view(st: &AppState, p: &PageUser, created: Option<&str>) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let tokens = scoped.tokens().await?;
    let facilities = scoped.facilities().await?;
    let b = hygie_report::render(&TokensBody {
        lang,
        csrf: p.c.csrf(),
        created,
        tokens: &tokens,
        facilities: &facilities,
        default_days: hygie_store::TOKEN_DEFAULT_DAYS,
        max_days: hygie_store::TOKEN_MAX_DAYS,
    });
    Ok(p.page(t(lang, "API tokens", "Jetons d'API"), &b))
}

async fn tokens_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    tokens_view(&st, &p, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    name: String,
    facility: String,
    access: String,
    /// Days until the token expires (the form offers 90, at most 365).
    expires_in_days: Option<String>,
}

async fn token_create(
    State(st): State<AppState>,
    p: PageUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let days = match f.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => hygie_store::TOKEN_DEFAULT_DAYS,
        Some(d) => d.parse().map_err(|_| {
            WebError::Invalid(format!("expires_in_days: '{d}' is not a number of days"))
        })?,
    };
    let (secret, _) =
        api::create_token(&st, &p.c, ip, &f.name, &f.facility, &f.access, days).await?;
    tokens_view(&st, &p, Some(&secret)).await
}

async fn token_revoke(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    st.scoped(&p.c).revoke_token(&id).await?;
    Ok(see_other("/tokens"))
}
