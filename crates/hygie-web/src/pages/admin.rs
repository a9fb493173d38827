//! Administration: the journal, API tokens and user accounts.

use super::{ClientIp, CsrfForm, PageResult, PageUser, see_other};
use crate::api::{self};
use crate::html::t;
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use hygie_store::{Binding, NewUser, Role, StoreError};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/journal", get(journal_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/users", get(users_page).post(user_create))
}

/// The journal's last entries, newest first, under the verdict on its hash chain.
#[derive(askama::Template)]
#[template(path = "journal.html")]
struct JournalBody<'a> {
    lang: Lang,
    check: &'a hygie_store::JournalCheck,
    entries: &'a [hygie_core::journal::JournalEntry],
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
}

/// The user accounts and the form to create one; `msg` says why the last creation was refused.
#[derive(askama::Template)]
#[template(path = "users.html")]
struct UsersBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    users: &'a [hygie_store::User],
}

hygie_report::translate_by_lang_field!(JournalBody, TokensBody, UsersBody);

async fn journal_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let check = scoped.verify_journal().await?;
    let entries = scoped.journal_entries(200).await?;
    let b = hygie_report::render(&JournalBody {
        lang,
        check: &check,
        entries: &entries,
    });
    Ok(p.page(t(lang, "Journal", "Journal"), &b))
}

// --- API tokens and users --------------------------------------------------------------------

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
}

async fn token_create(
    State(st): State<AppState>,
    p: PageUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let (secret, _) = api::create_token(&st, &p.c, ip, &f.name, &f.facility, &f.access).await?;
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

async fn users_view(st: &AppState, p: &PageUser, msg: Option<&str>) -> PageResult {
    let lang = p.lang();
    let users = st.scoped(&p.c).users().await?;
    let b = hygie_report::render(&UsersBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        users: &users,
    });
    Ok(p.page(t(lang, "Users", "Utilisateurs"), &b))
}

async fn users_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    users_view(&st, &p, None).await
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    region: Option<String>,
    facilities: Option<String>,
    password: String,
}

/// Build a binding from the form's region or FINESS list.
pub(crate) fn binding_of(
    region: Option<&str>,
    facilities: Option<&str>,
) -> Result<Binding, WebError> {
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    let list: Vec<&str> = facilities
        .unwrap_or("")
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match (region, list.is_empty()) {
        (Some(r), true) => Ok(Binding::Region {
            region: hygie_core::Region::parse(r)?,
        }),
        (None, false) => Ok(Binding::Facilities {
            facilities: list
                .iter()
                .map(|f| hygie_core::Finess::parse(f))
                .collect::<Result<_, _>>()?,
        }),
        _ => Err(WebError::Invalid(
            "give either a region or a list of FINESS numbers".into(),
        )),
    }
}

async fn user_create(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<UserForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let role = Role::parse(&f.role)?;
    let binding = match binding_of(f.region.as_deref(), f.facilities.as_deref()) {
        Ok(b) => b,
        Err(e) => return users_view(&st, &p, Some(&e.public_message())).await,
    };
    if let Err(e) = auth::check_password(
        &f.password,
        &f.username,
        st.config().breach_index.as_deref(),
    ) {
        return users_view(&st, &p, Some(if lang == Lang::Fr { &e.fr } else { &e.en })).await;
    }
    let pw = f.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    let u = NewUser {
        username: f.username.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        role,
        binding,
        password_hash: phc,
        lang: None,
    };
    match st.scoped(&p.c).create_user(&u).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(StoreError::Invalid(m)) | Err(StoreError::Conflict(m)) => {
            users_view(&st, &p, Some(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}
