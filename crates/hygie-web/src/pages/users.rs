//! User accounts: the administrators' list of users with their status and the form creating
//! one, a user's page (status, live sessions, the lifecycle actions: disable or enable, unlock,
//! reset the password or the second factor, end sessions, delete after typing the username),
//! the journalled security events filtered by user, and every user's own sessions ("end all my
//! other sessions"). Authorisation is the store's (`Scoped`); the shared pieces (status,
//! actions, temporary password) are in `crate::accounts`, which the API uses too.

use super::{CsrfForm, PageResult, PageUser, see_other};
use crate::accounts::{self, Action};
use crate::html::t;
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use hygie_store::{Binding, NewUser, Role, SessionInfo, StoreError, User};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(user_create))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/users/{id}/unlock", post(unlock))
        .route("/admin/users/{id}/reset-totp", post(reset_totp))
        .route("/admin/users/{id}/end-sessions", post(end_sessions))
        .route("/admin/users/{id}/reset-password", post(reset_password))
        .route("/admin/users/{id}/delete", get(delete_form).post(delete))
        .route("/admin/security", get(security_page))
        .route("/account/sessions", get(my_sessions))
        .route("/account/sessions/end-others", post(end_my_other_sessions))
}

/// The user accounts and the form to create one; `msg` says why the last creation was refused.
#[derive(askama::Template)]
#[template(path = "users.html")]
struct UsersBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    users: &'a [User],
}

/// One user: status, live sessions and the lifecycle actions; `msg` says why the last action
/// was refused.
#[derive(askama::Template)]
#[template(path = "user.html")]
struct UserBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    user: &'a User,
    sessions: &'a [SessionInfo],
}

/// The confirmation of a deletion: the administrator types the username.
#[derive(askama::Template)]
#[template(path = "user_delete.html")]
struct DeleteBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    user: &'a User,
}

/// A temporary password, shown once right after the reset.
#[derive(askama::Template)]
#[template(path = "user_password.html")]
struct TemporaryBody<'a> {
    lang: Lang,
    user: &'a User,
    password: &'a str,
}

/// The signed-in user's own sessions.
#[derive(askama::Template)]
#[template(path = "sessions.html")]
struct SessionsBody<'a> {
    lang: Lang,
    csrf: &'a str,
    sessions: &'a [SessionInfo],
}

/// Journalled account events, optionally of one user.
#[derive(askama::Template)]
#[template(path = "security.html")]
struct SecurityBody<'a> {
    lang: Lang,
    user: &'a str,
    entries: &'a [hygie_core::journal::JournalEntry],
}

hygie_report::translate_by_lang_field!(
    UsersBody,
    UserBody,
    DeleteBody,
    TemporaryBody,
    SessionsBody,
    SecurityBody
);

// --- the list and the creation of users ------------------------------------------------------

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

// --- one user and the lifecycle actions ------------------------------------------------------

async fn user_view(
    st: &AppState,
    p: &PageUser,
    id: i64,
    msg: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let user = scoped.managed_user(id).await?;
    let sessions = scoped.user_sessions(id).await?;
    let b = hygie_report::render(&UserBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        user: &user,
        sessions: &sessions,
    });
    let mut res = p.page(&user.username, &b);
    *res.status_mut() = status;
    Ok(res)
}

async fn user_page(State(st): State<AppState>, p: PageUser, Path(id): Path<String>) -> PageResult {
    user_view(&st, &p, accounts::user_id(&id)?, None, StatusCode::OK).await
}

/// Run an action and go back to the user's page; the refusal to take away the last
/// administrator is shown there, in the reader's language.
async fn act(st: &AppState, p: &PageUser, id: &str, csrf: &str, action: Action) -> PageResult {
    p.c.check_csrf(Some(csrf))?;
    let id = accounts::user_id(id)?;
    match action.apply(&st.scoped(&p.c), id).await {
        Ok(()) => Ok(see_other(&format!("/admin/users/{id}"))),
        Err(WebError::Conflict(_)) => {
            let msg = accounts::last_administrator(p.lang());
            user_view(st, p, id, Some(msg), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn disable(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::Disable).await
}

async fn enable(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::Enable).await
}

async fn unlock(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::Unlock).await
}

async fn reset_totp(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::ResetTotp).await
}

async fn end_sessions(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::EndSessions).await
}

/// The temporary password is on this answer only (`Cache-Control: no-store`, as every page).
async fn reset_password(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let id = accounts::user_id(&id)?;
    let scoped = st.scoped(&p.c);
    let password = accounts::temporary_password(&scoped, id).await?;
    let user = scoped.managed_user(id).await?;
    let b = hygie_report::render(&TemporaryBody {
        lang,
        user: &user,
        password: &password,
    });
    Ok(p.page(t(lang, "Temporary password", "Mot de passe temporaire"), &b))
}

fn delete_page(p: &PageUser, user: &User, msg: Option<&str>) -> axum::response::Response {
    let lang = p.lang();
    let b = hygie_report::render(&DeleteBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        user,
    });
    let mut res = p.page(t(lang, "Delete a user", "Supprimer un utilisateur"), &b);
    if msg.is_some() {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    res
}

async fn delete_form(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let user = st
        .scoped(&p.c)
        .managed_user(accounts::user_id(&id)?)
        .await?;
    Ok(delete_page(&p, &user, None))
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// Delete once the administrator typed the username (a slip of the mouse deletes nothing).
async fn delete(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let scoped = st.scoped(&p.c);
    let id = accounts::user_id(&id)?;
    let user = scoped.managed_user(id).await?;
    if f.confirm.trim() != user.username {
        let msg = t(
            p.lang(),
            "Type the username to confirm the deletion.",
            "Saisissez l'identifiant pour confirmer la suppression.",
        );
        return Ok(delete_page(&p, &user, Some(msg)));
    }
    match scoped.delete_user(id).await {
        Ok(()) => Ok(see_other("/admin/users")),
        Err(StoreError::LastAdministrator(..)) => {
            let msg = accounts::last_administrator(p.lang());
            user_view(&st, &p, id, Some(msg), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

// --- security events and one's own sessions --------------------------------------------------

async fn security_page(
    State(st): State<AppState>,
    p: PageUser,
    Query(q): Query<accounts::EventsQuery>,
) -> PageResult {
    let lang = p.lang();
    let user = q.user.as_deref().map(str::trim).unwrap_or("");
    let entries = st
        .scoped(&p.c)
        .security_events(Some(user).filter(|u| !u.is_empty()), accounts::EVENTS_SHOWN)
        .await?;
    let b = hygie_report::render(&SecurityBody {
        lang,
        user,
        entries: &entries,
    });
    Ok(p.page(t(lang, "Security events", "Événements de sécurité"), &b))
}

async fn my_sessions(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let current = p.c.session.as_ref().map(|(h, _)| h.as_str());
    let sessions = st.scoped(&p.c).my_sessions(current).await?;
    let b = hygie_report::render(&SessionsBody {
        lang,
        csrf: p.c.csrf(),
        sessions: &sessions,
    });
    Ok(p.page(t(lang, "My sessions", "Mes sessions"), &b))
}

async fn end_my_other_sessions(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let current =
        p.c.session
            .as_ref()
            .map(|(h, _)| h.clone())
            .ok_or(WebError::Unauthorized)?;
    st.scoped(&p.c).end_my_other_sessions(&current).await?;
    Ok(see_other("/account/sessions"))
}
