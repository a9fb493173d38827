//! User accounts: the administrators' list of users with their status and the form creating
//! one, a user's page (status, live sessions, the lifecycle actions: disable or enable, unlock,
//! reset the password or the second factor, remove the passkeys, end sessions, delete after
//! typing the username),
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
        .route("/admin/users/{id}/remove-passkeys", post(remove_passkeys))
        .route("/admin/users/{id}/reset-password", post(reset_password))
        .route("/admin/users/{id}/delete", get(delete_form).post(delete))
        .route("/admin/security", get(security_page))
        .route("/account/sessions", get(my_sessions))
        .route("/account/sessions/end-others", post(end_my_other_sessions))
}

/// The user accounts and the form to create one; `msg` says why the last creation was refused,
/// and `form` holds what was typed then (all but the password).
#[derive(askama::Template)]
#[template(path = "users.html")]
struct UsersBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    users: &'a [User],
    form: &'a UserForm,
    /// The bindings the administrator may give: regions, and facilities.
    regions: &'a [hygie_core::Region],
    facilities: &'a [hygie_core::Facility],
    /// How many passkeys each user holds.
    passkeys: &'a std::collections::HashMap<i64, i64>,
}

impl UsersBody<'_> {
    fn passkey_count(&self, user_id: &i64) -> i64 {
        self.passkeys.get(user_id).copied().unwrap_or(0)
    }
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
    /// The user's passkeys (their names; an administrator can remove them all).
    passkeys: &'a [hygie_store::PasskeyInfo],
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
    /// Newest first, in Paris time.
    rows: Vec<super::admin::JournalRow>,
    show_seq: bool,
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

async fn users_view(
    st: &AppState,
    p: &PageUser,
    msg: Option<&str>,
    form: &UserForm,
    status: StatusCode,
) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let users = scoped.users().await?;
    let facilities = scoped.facilities().await?;
    let regions: Vec<hygie_core::Region> = match &p.user.binding {
        Binding::Installation => {
            let mut r: Vec<_> = hygie_core::Region::all().collect();
            if facilities.iter().any(|f| f.region.is_demo()) {
                r.push(hygie_core::Region::demo());
            }
            r
        }
        Binding::Region { region } => vec![*region],
        Binding::Facilities { .. } => Vec::new(),
    };
    let passkeys = scoped.passkey_counts().await?;
    let b = hygie_report::render(&UsersBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        users: &users,
        form,
        regions: &regions,
        facilities: &facilities,
        passkeys: &passkeys,
    });
    let mut res = p.page(t(lang, "Users", "Utilisateurs"), &b);
    *res.status_mut() = status;
    Ok(res)
}

async fn users_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    users_view(&st, &p, None, &UserForm::default(), StatusCode::OK).await
}

/// The creation form as typed; the facilities come as one field each (a list), or as one
/// field of FINESS numbers separated by commas (older clients).
#[derive(Debug, Clone)]
struct UserForm {
    csrf: String,
    username: String,
    display_name: String,
    role: Role,
    region: String,
    facilities: Vec<String>,
    password: String,
}

impl Default for UserForm {
    /// A new user starts with the least privilege.
    fn default() -> Self {
        UserForm {
            csrf: String::new(),
            username: String::new(),
            display_name: String::new(),
            role: Role::LEAST,
            region: String::new(),
            facilities: Vec::new(),
            password: String::new(),
        }
    }
}

impl UserForm {
    /// From the form's fields (`Form<Vec<(String, String)>>`, which keeps repeated fields).
    fn of(pairs: Vec<(String, String)>) -> Result<UserForm, WebError> {
        let mut f = UserForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "username" => f.username = v,
                "display_name" => f.display_name = v,
                "role" => f.role = Role::parse(&v)?,
                "region" => f.region = v,
                "facilities" => f.facilities.extend(
                    v.split([',', ' ', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                "password" => f.password = v,
                _ => {}
            }
        }
        Ok(f)
    }

    /// Whether the form holds this facility (its option is selected again).
    fn has(&self, f: &hygie_core::Finess) -> bool {
        self.facilities
            .iter()
            .any(|x| x.eq_ignore_ascii_case(f.as_str()))
    }
}

/// Build a binding from the form's region or FINESS list; the refusal in the reader's language.
fn binding_of(region: &str, facilities: &[String], lang: Lang) -> Result<Binding, String> {
    let region = region.trim();
    match (region.is_empty(), facilities.is_empty()) {
        (false, true) => Ok(Binding::Region {
            region: hygie_core::Region::parse(region).map_err(|e| e.to_string())?,
        }),
        (true, false) => Ok(Binding::Facilities {
            facilities: facilities
                .iter()
                .map(|f| hygie_core::Finess::parse_localized(f))
                .collect::<Result<_, _>>()
                .map_err(|e| e.get(lang).to_owned())?,
        }),
        _ => Err(t(
            lang,
            "Choose either a region (regional roles) or facilities (facility roles).",
            "Choisissez soit une région (rôles régionaux), soit des établissements (rôles d'établissement).",
        )
        .to_owned()),
    }
}

async fn user_create(
    State(st): State<AppState>,
    p: PageUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = UserForm::of(pairs)?;
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let refused = |msg: String| {
        let (st, p, f) = (&st, &p, &f);
        async move { users_view(st, p, Some(&msg), f, StatusCode::BAD_REQUEST).await }
    };
    let binding = match binding_of(&f.region, &f.facilities, lang) {
        Ok(b) => b,
        Err(m) => return refused(m).await,
    };
    if let Err(e) = auth::check_password(
        &f.password,
        &f.username,
        st.config().breach_index.as_deref(),
    ) {
        return refused(if lang == Lang::Fr { e.fr } else { e.en }).await;
    }
    let pw = f.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    let u = NewUser {
        username: f.username.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        role: f.role,
        binding,
        password_hash: phc,
        lang: None,
    };
    match st.scoped(&p.c).create_user(&u).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(StoreError::Conflict(_)) => {
            refused(format!(
                "{} {}",
                u.username,
                t(
                    lang,
                    "is already taken: choose another username.",
                    "est déjà pris : choisissez un autre identifiant."
                )
            ))
            .await
        }
        Err(StoreError::Invalid(m)) => refused(m).await,
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
    let passkeys = scoped.user_passkeys(id).await?;
    let b = hygie_report::render(&UserBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        user: &user,
        sessions: &sessions,
        passkeys: &passkeys,
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

async fn remove_passkeys(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    act(&st, &p, &id, &f.csrf, Action::RemovePasskeys).await
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
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let b = hygie_report::render(&SecurityBody {
        lang,
        user,
        rows: entries
            .iter()
            .rev()
            .map(|e| super::admin::JournalRow::of(e, &paris))
            .collect(),
        show_seq: true,
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
