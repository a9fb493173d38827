//! Server-rendered pages: login (+ TOTP), first-run setup, facility and regional dashboards,
//! measure page, catalogue, journal, API tokens, users. Every form that changes state carries the
//! session's CSRF token; every read goes through `Store::scoped`.

use crate::api::{self, AsOf, clean_file_name, finess, measure_id, region, today};
use crate::html::{bar, demo_note, layout, t, table_head, trend_svg};
use crate::session::{PRE_COOKIE, SESSION_COOKIE, browser_lang, cookie, session_of, set_cookie};
use crate::{AppState, Caller, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hygie_core::{DeclaredStatus, EffectiveStatus, FacilityKind, Lang};
use hygie_report::esc;
use hygie_store::{Binding, NewUser, Role, SessionStage, StoreError, User};
use serde::Deserialize;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/login/totp", get(totp_form).post(totp_submit))
        .route("/login/enroll", get(enroll_form).post(enroll_submit))
        .route("/logout", post(logout))
        .route("/setup", get(setup_form).post(setup))
        .route("/lang", post(switch_lang))
        .route("/facilities/{finess}", get(facility_page))
        .route("/facilities/{finess}/measures/{measure}", get(measure_page))
        .route(
            "/facilities/{finess}/measures/{measure}/declare",
            post(declare),
        )
        .route(
            "/facilities/{finess}/measures/{measure}/evidence",
            post(upload),
        )
        .route("/facilities/{finess}/evidence/{sha256}", get(download))
        .route("/regions/{region}", get(region_page))
        .route("/regions/{region}/export.csv", get(region_csv))
        .route("/catalog", get(catalog_page))
        .route("/catalog/{measure}", get(catalog_measure))
        .route("/journal", get(journal_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/users", get(users_page).post(user_create))
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
        if matches!(self.0, WebError::Unauthorized) {
            return Redirect::to("/login").into_response();
        }
        if let WebError::Internal(m) = &self.0 {
            tracing::error!("internal error: {m}");
        }
        let body = format!(
            "<p class=\"err\">{}</p><p><a href=\"/\">Hygie</a></p>",
            esc(&self.0.public_message())
        );
        (
            self.0.status(),
            Html(layout(
                Lang::En,
                &format!("Error {} / Erreur", self.0.status().as_u16()),
                None,
                &body,
            )),
        )
            .into_response()
    }
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

/// The client address, when the server knows it (absent in in-process tests).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn with_cookie(mut r: Response, c: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, c);
    r
}

/// A local path to go back to (never another site).
fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => "/".to_owned(),
    }
}

// --- login flow ------------------------------------------------------------------------------

fn anon_page(lang: Lang, title: &str, body: &str, status: StatusCode) -> Response {
    (status, Html(layout(lang, title, None, body))).into_response()
}

/// The login form, with a fresh double-submit token in a cookie.
fn login_page(
    st: &AppState,
    lang: Lang,
    msg: Option<&str>,
    status: StatusCode,
    bootstrap: bool,
) -> Result<Response, WebError> {
    let pre = auth::random_hex(16)?;
    let mut body = String::new();
    if let Some(m) = msg {
        let _ = write!(body, "<p class=\"err\" id=\"login-error\">{}</p>", esc(m));
    }
    if bootstrap {
        let _ = write!(
            body,
            "<p class=\"card\">{} <a href=\"/setup\">/setup</a></p>",
            t(
                lang,
                "No account exists yet: create the first administrator with the one-time token printed by `hygie serve`:",
                "Aucun compte n'existe encore : créez le premier administrateur avec le jeton à usage unique affiché par `hygie serve` :"
            )
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/login\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{pre}\">\
<label>{} <input name=\"username\" id=\"username\" autocomplete=\"username\" required></label>\
<label>{} <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\" id=\"login\">{}</button></form>",
        t(lang, "Username", "Identifiant"),
        t(lang, "Password", "Mot de passe"),
        t(lang, "Log in", "Se connecter")
    );
    let r = anon_page(lang, t(lang, "Log in", "Connexion"), &body, status);
    Ok(with_cookie(
        r,
        set_cookie(PRE_COOKIE, &pre, 3600, st.config().secure_cookies),
    ))
}

async fn login_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let lang = browser_lang(&headers);
    let pending = st.store().bootstrap_pending().await?;
    Ok(login_page(&st, lang, None, StatusCode::OK, pending)?)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

fn check_pre(headers: &HeaderMap, token: &str) -> Result<(), WebError> {
    match cookie(headers, PRE_COOKIE) {
        Some(c) if !c.is_empty() && auth::same(&c, token) => Ok(()),
        _ => Err(WebError::Forbidden("missing or wrong CSRF token".into())),
    }
}

/// Start a session under a brand-new id (the old one, if any, is deleted: no fixation).
async fn start_session(
    st: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    stage: SessionStage,
    to: &str,
) -> Result<Response, WebError> {
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        st.store().delete_session(&auth::digest(&old)).await?;
    }
    let id = auth::random_hex(32)?;
    let csrf = auth::random_hex(32)?;
    let ttl = match stage {
        SessionStage::Full => st.config().session_ttl,
        _ => jiff::SignedDuration::from_mins(10),
    };
    let expires = jiff::Timestamp::now()
        .checked_add(ttl)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    st.store()
        .create_session(&auth::digest(&id), user_id, stage, &csrf, expires)
        .await?;
    let r = see_other(to);
    let r = with_cookie(
        r,
        set_cookie(
            SESSION_COOKIE,
            &id,
            ttl.as_secs(),
            st.config().secure_cookies,
        ),
    );
    Ok(with_cookie(
        r,
        set_cookie(PRE_COOKIE, "", 0, st.config().secure_cookies),
    ))
}

const LOGIN_FAILED: (&str, &str) = (
    "Login failed: wrong credentials, or the account is temporarily locked.",
    "Échec de la connexion : identifiants erronés, ou compte temporairement verrouillé.",
);

async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let lang = browser_lang(&headers);
    check_pre(&headers, &f.csrf)?;
    if !st.allow_attempt(ip) {
        return Ok(login_page(
            &st,
            lang,
            Some(t(
                lang,
                "Too many attempts from this address: wait a minute.",
                "Trop de tentatives depuis cette adresse : attendez une minute.",
            )),
            StatusCode::TOO_MANY_REQUESTS,
            false,
        )?);
    }
    let failed = |st: &AppState| {
        st.metrics()
            .login_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        login_page(
            st,
            lang,
            Some(t(lang, LOGIN_FAILED.0, LOGIN_FAILED.1)),
            StatusCode::UNAUTHORIZED,
            false,
        )
    };
    let found = st.store().user_for_login(&f.username).await?;
    let phc = found
        .as_ref()
        .map(|(_, c)| c.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let pw = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &phc)).await?;
    let Some((user, cred)) = found else {
        return Ok(failed(&st)?);
    };
    if user.disabled || cred.locked_until > jiff::Timestamp::now() {
        return Ok(failed(&st)?);
    }
    if !ok {
        st.store()
            .record_login_failure(user.id, st.config().max_failures, st.config().lockout)
            .await?;
        return Ok(failed(&st)?);
    }
    st.store().reset_login_failures(user.id).await?;
    let (stage, to) = if user.totp_enrolled {
        (SessionStage::Totp, "/login/totp")
    } else if user.role.requires_totp() {
        (SessionStage::Enroll, "/login/enroll")
    } else {
        (SessionStage::Full, "/")
    };
    Ok(start_session(&st, &headers, user.id, stage, to).await?)
}

fn code_form(lang: Lang, action: &str, csrf: &str, intro: &str, msg: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(m) = msg {
        let _ = write!(b, "<p class=\"err\" id=\"login-error\">{}</p>", esc(m));
    }
    let _ = write!(
        b,
        "{intro}<form method=\"post\" action=\"{action}\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label>{} <input name=\"code\" id=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" required></label>\
<button type=\"submit\" id=\"verify\">{}</button></form>",
        esc(csrf),
        t(
            lang,
            "6-digit code from your authenticator app",
            "Code à 6 chiffres de votre application d'authentification"
        ),
        t(lang, "Verify", "Vérifier")
    );
    b
}

async fn pending_session(
    st: &AppState,
    headers: &HeaderMap,
    stage: SessionStage,
) -> Result<(String, hygie_store::Session), WebError> {
    match session_of(st, headers).await? {
        Some((h, s)) if s.stage == stage => Ok((h, s)),
        _ => Err(WebError::Unauthorized),
    }
}

async fn totp_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Totp).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    let body = code_form(lang, "/login/totp", &s.csrf, "", None);
    Ok(anon_page(
        lang,
        t(lang, "Second factor", "Second facteur"),
        &body,
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    #[serde(default)]
    csrf: String,
}

/// Check a TOTP code: right for the current time (±1 step) and a step never used before.
async fn check_code(
    st: &AppState,
    user_id: i64,
    secret: &str,
    code: &str,
) -> Result<bool, WebError> {
    let now = jiff::Timestamp::now().as_second();
    match auth::totp_match(secret, code, now) {
        Some(step) => Ok(st.store().accept_totp_step(user_id, step).await?),
        None => Ok(false),
    }
}

async fn code_step(
    st: &AppState,
    headers: &HeaderMap,
    f: &CodeForm,
    stage: SessionStage,
    action: &str,
) -> PageResult {
    let (hash, s) = pending_session(st, headers, stage).await?;
    let lang = crate::session::user_lang(&s.user, headers);
    if !auth::same(&f.csrf, &s.csrf) {
        return Err(WebError::Forbidden("missing or wrong CSRF token".into()).into());
    }
    let cred = st.store().credentials(s.user.id).await?;
    let locked = cred.locked_until > jiff::Timestamp::now();
    let secret = st
        .open_totp(s.user.id, cred.totp_secret.as_deref())
        .await?
        .unwrap_or_default();
    if locked || secret.is_empty() || !check_code(st, s.user.id, &secret, &f.code).await? {
        st.metrics()
            .login_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now_locked = locked
            || st
                .store()
                .record_login_failure(s.user.id, st.config().max_failures, st.config().lockout)
                .await?;
        if now_locked {
            st.store().delete_session(&hash).await?;
            return Ok(anon_page(
                lang,
                t(lang, "Log in", "Connexion"),
                &format!(
                    "<p class=\"err\" id=\"login-error\">{}</p><p><a href=\"/login\">/login</a></p>",
                    t(lang, LOGIN_FAILED.0, LOGIN_FAILED.1)
                ),
                StatusCode::UNAUTHORIZED,
            ));
        }
        let msg = t(
            lang,
            "Wrong or already used code.",
            "Code erroné ou déjà utilisé.",
        );
        let body = code_form(lang, action, &s.csrf, "", Some(msg));
        return Ok(anon_page(
            lang,
            t(lang, "Second factor", "Second facteur"),
            &body,
            StatusCode::UNAUTHORIZED,
        ));
    }
    if stage == SessionStage::Enroll {
        st.store()
            .confirm_totp(
                s.user.id,
                &hygie_store::Actor(format!("web:{}", s.user.username)),
            )
            .await?;
    }
    st.store().reset_login_failures(s.user.id).await?;
    // Rotate again: the fully authenticated session gets a new id.
    Ok(start_session(st, headers, s.user.id, SessionStage::Full, "/").await?)
}

async fn totp_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> PageResult {
    code_step(&st, &headers, &f, SessionStage::Totp, "/login/totp").await
}

async fn enroll_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Enroll).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    let cred = st.store().credentials(s.user.id).await?;
    let secret = match st.open_totp(s.user.id, cred.totp_secret.as_deref()).await? {
        Some(x) => x,
        None => {
            let x = auth::new_totp_secret()?;
            st.store()
                .set_pending_totp(s.user.id, &st.seal_totp(s.user.id, &x)?)
                .await?;
            x
        }
    };
    let intro = format!(
        "<div class=\"card\"><p>{}</p><p>{} <code id=\"totp-secret\">{}</code></p><p>{} <code>{}</code></p></div>",
        t(
            lang,
            "Your role requires a second factor. Add this key to an authenticator app (TOTP, 6 digits, 30 s), then type the code it shows.",
            "Votre rôle impose un second facteur. Ajoutez cette clé à une application d'authentification (TOTP, 6 chiffres, 30 s), puis saisissez le code affiché."
        ),
        t(lang, "Key:", "Clé :"),
        esc(&secret),
        t(lang, "Or import:", "Ou importez :"),
        esc(&auth::otpauth_uri(&secret, &s.user.username))
    );
    let body = code_form(lang, "/login/enroll", &s.csrf, &intro, None);
    Ok(anon_page(
        lang,
        t(
            lang,
            "Set up the second factor",
            "Activer le second facteur",
        ),
        &body,
        StatusCode::OK,
    ))
}

async fn enroll_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> PageResult {
    code_step(&st, &headers, &f, SessionStage::Enroll, "/login/enroll").await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(st): State<AppState>, p: PageUser, Form(f): Form<CsrfForm>) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    if let Some((hash, _)) = &p.c.session {
        st.store().logout(hash, &p.c.access.actor()).await?;
    }
    Ok(with_cookie(
        see_other("/login"),
        set_cookie(SESSION_COOKIE, "", 0, st.config().secure_cookies),
    ))
}

// --- first-run setup -------------------------------------------------------------------------

async fn setup_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let lang = browser_lang(&headers);
    if !st.store().bootstrap_pending().await? {
        return Err(WebError::NotFound("setup is done".into()).into());
    }
    Ok(setup_page(&st, lang, None)?)
}

fn setup_page(st: &AppState, lang: Lang, msg: Option<&str>) -> Result<Response, WebError> {
    let pre = auth::random_hex(16)?;
    let mut b = String::new();
    if let Some(m) = msg {
        let _ = write!(b, "<p class=\"err\">{}</p>", esc(m));
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/setup\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{pre}\">\
<label>{} <input name=\"token\" id=\"token\" required autocomplete=\"off\"></label>\
<label>{} <input name=\"username\" id=\"username\" required></label>\
<label>{} <input name=\"display_name\" id=\"display_name\" required></label>\
<label>{} <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"new-password\" required minlength=\"12\"></label>\
<button type=\"submit\" id=\"create\">{}</button></form>",
        t(
            lang,
            "One-time setup token",
            "Jeton d'installation à usage unique"
        ),
        t(lang, "Username", "Identifiant"),
        t(lang, "Full name", "Nom complet"),
        t(
            lang,
            "Password (12 characters or more)",
            "Mot de passe (12 caractères ou plus)"
        ),
        t(lang, "Create the administrator", "Créer l'administrateur")
    );
    let r = anon_page(
        lang,
        t(lang, "First administrator", "Premier administrateur"),
        &b,
        if msg.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
    );
    Ok(with_cookie(
        r,
        set_cookie(PRE_COOKIE, &pre, 3600, st.config().secure_cookies),
    ))
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    csrf: String,
    token: String,
    username: String,
    display_name: String,
    password: String,
}

async fn setup(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> PageResult {
    let lang = browser_lang(&headers);
    check_pre(&headers, &f.csrf)?;
    if !st.allow_attempt(ip) {
        return Err(WebError::TooMany.into());
    }
    if let Err(e) = auth::check_password(
        &f.password,
        &f.username,
        st.config().breach_index.as_deref(),
    ) {
        return Ok(setup_page(
            &st,
            lang,
            Some(if lang == Lang::Fr { &e.fr } else { &e.en }),
        )?);
    }
    let pw = f.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    let u = NewUser {
        username: f.username.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        role: Role::Administrator,
        binding: Binding::Installation,
        password_hash: phc,
        lang: None,
    };
    match st
        .store()
        .bootstrap_admin(&auth::digest(f.token.trim()), &u)
        .await
    {
        Ok(_) => Ok(see_other("/login")),
        Err(StoreError::Forbidden(_)) => Ok(setup_page(
            &st,
            lang,
            Some(t(
                lang,
                "Wrong or already used setup token.",
                "Jeton d'installation erroné ou déjà utilisé.",
            )),
        )?),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

async fn switch_lang(
    State(st): State<AppState>,
    p: PageUser,
    headers: HeaderMap,
    Form(f): Form<LangForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang: Lang = f.lang.parse()?;
    let code = match lang {
        Lang::En => "en",
        Lang::Fr => "fr",
    };
    st.store()
        .set_user_lang(p.user.id, code, &p.c.access.actor())
        .await?;
    // Back to the page the form was on (same origin only).
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()));
    Ok(see_other(&safe_back(back.as_deref())))
}

// --- dashboards ------------------------------------------------------------------------------

async fn home(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let facilities = scoped.facilities().await?;
    match &p.user.binding {
        Binding::Region { region } => return Ok(see_other(&format!("/regions/{}", region.code()))),
        Binding::Facilities { .. } if facilities.len() == 1 => {
            return Ok(see_other(&format!("/facilities/{}", facilities[0].id)));
        }
        _ => {}
    }
    let mut b = String::new();
    let regions = scoped.regions().await?;
    if !regions.is_empty() {
        let _ = write!(b, "<h2>{}</h2><ul>", t(lang, "Regions", "Régions"));
        for r in regions {
            let _ = write!(
                b,
                "<li><a href=\"/regions/{}\">{} — {}</a></li>",
                r.code(),
                r.code(),
                esc(r.name())
            );
        }
        b.push_str("</ul>");
    }
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Facilities", "Établissements"));
    b.push_str(&table_head(&[
        "FINESS",
        t(lang, "Name", "Nom"),
        t(lang, "Kind", "Type"),
        t(lang, "Region", "Région"),
    ]));
    for f in facilities.iter().take(500) {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(f.kind.label().get(lang)),
            f.region.code(),
            id = f.id
        );
    }
    b.push_str("</table>");
    if facilities.len() > 500 {
        let _ = write!(
            b,
            "<p>… {} {}</p>",
            facilities.len() - 500,
            t(
                lang,
                "more: open a regional view",
                "de plus : ouvrez une vue régionale"
            )
        );
    }
    Ok(p.page(t(lang, "Home", "Accueil"), &b))
}

fn status_label(s: EffectiveStatus, lang: Lang) -> String {
    let class = match s {
        EffectiveStatus::Failing | EffectiveStatus::Expired => "late",
        EffectiveStatus::Verified | EffectiveStatus::Implemented => "ok",
        _ => "",
    };
    format!(
        "<span class=\"{class}\">{}</span>",
        esc(s.label().get(lang))
    )
}

/// First day of the month `back` months before `d`'s month (for trend points).
fn months_back(d: jiff::civil::Date, back: i32) -> jiff::civil::Date {
    d.first_of_month()
        .checked_sub(jiff::Span::new().months(back))
        .unwrap_or(d)
}

async fn facility_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let as_of = api::as_of(&q)?;
    let dates: Vec<jiff::civil::Date> = (1..=12).rev().map(|m| months_back(as_of, m)).collect();
    let scoped = st.store().scoped(&p.c.access);
    let s = &scoped.facility_status(st.catalog(), &id, as_of).await?;
    let mut points = scoped.facility_trend(st.catalog(), &id, &dates).await?;
    points.push((as_of, s.score));
    let f = &s.facility;
    let mut b = crate::activity::facility_nav(lang, &f.id);
    if f.region.is_demo() {
        b.push_str(&demo_note(
            lang,
            "Demo data: this facility is fictitious.",
            "Données de démonstration : cet établissement est fictif.",
        ));
    }
    let _ = write!(
        b,
        "<p>FINESS {} · {} · {} · NIS 2: {} · {} {} · <strong id=\"score\">{}: {:.1}%</strong> · <span id=\"level-reached\">{}: {}</span></p>",
        f.id,
        esc(f.kind.label().get(lang)),
        f.region.code(),
        f.nis2.as_str(),
        t(lang, "status on", "situation au"),
        s.as_of,
        t(lang, "Score", "Score"),
        s.score,
        t(lang, "Level reached", "Palier atteint"),
        s.level_reached
    );
    b.push_str("<div class=\"grid\"><div class=\"card\">");
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Plan levels", "Paliers du plan"));
    b.push_str(&table_head(&[
        t(lang, "Level", "Palier"),
        t(lang, "Due", "Échéance"),
        t(lang, "Progress", "Avancement"),
        t(lang, "Overdue", "En retard"),
    ]));
    for l in &s.levels {
        let late = if l.overdue.is_empty() {
            String::from("0")
        } else {
            format!("<span class=\"late\">{}</span>", l.overdue.len())
        };
        let _ = write!(
            b,
            "<tr id=\"level-{}\"><td>{}</td><td>{}</td><td class=\"progress\">{}</td><td>{late}</td></tr>",
            l.level,
            l.level,
            l.due_date,
            bar(l.done, l.total)
        );
    }
    b.push_str("</table></div><div class=\"card\">");
    let _ = write!(
        b,
        "<h2>{}</h2><table>",
        t(
            lang,
            "Score per PGSSI-S principle",
            "Score par principe PGSSI-S"
        )
    );
    for ps in &s.principles {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            esc(ps.principle.label().get(lang)),
            bar(ps.done, ps.total),
            ps.score
        );
    }
    b.push_str("</table></div></div>");
    let _ = write!(
        b,
        "<div class=\"card\"><h2>{}</h2>{}</div>",
        t(lang, "Trend", "Tendance"),
        trend_svg(&points, lang)
    );
    let overdue: Vec<_> = s
        .measures
        .iter()
        .filter(|m| m.days_overdue.is_some())
        .collect();
    let _ = write!(
        b,
        "<div class=\"card\"><h2>{} ({})</h2>",
        t(lang, "Overdue measures", "Mesures en retard"),
        overdue.len()
    );
    if !overdue.is_empty() {
        b.push_str("<table>");
        for m in overdue.iter().take(100) {
            let _ = write!(
                b,
                "<tr><td><a href=\"/facilities/{}/measures/{}\">{}</a></td><td>{}</td><td class=\"late\">{} {}</td></tr>",
                f.id,
                m.id,
                m.id,
                esc(m.title.get(lang)),
                m.days_overdue.unwrap_or(0),
                t(lang, "days", "jours")
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Measures", "Mesures"));
    b.push_str(&table_head(&[
        t(lang, "Id", "Id"),
        t(lang, "Title", "Titre"),
        t(lang, "Level", "Palier"),
        t(lang, "Status", "État"),
    ]));
    for m in &s.measures {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{}/measures/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.id,
            m.id,
            m.id,
            esc(m.title.get(lang)),
            m.level.map(|l| l.to_string()).unwrap_or_default(),
            status_label(m.status, lang)
        );
    }
    b.push_str("</table>");
    Ok(p.page(&f.name, &b))
}

async fn measure_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let scoped = st.store().scoped(&p.c.access);
    let s = scoped.facility_status(st.catalog(), &id, today()).await?;
    let Some(measure) = st.catalog().measure(&mid) else {
        return Err(WebError::NotFound(format!("measure {m}")).into());
    };
    let state = s.measures.iter().find(|x| x.id == mid);
    let history = scoped.declaration_history(&id, Some(&mid)).await?;
    let evidence = scoped.evidence(&id, Some(&mid)).await?;
    let runs = scoped.check_runs(&id).await?;
    let mut b = String::new();
    let _ = write!(
        b,
        "<p><a href=\"/facilities/{}\">{}</a></p><p>{}</p>",
        id,
        esc(&s.facility.name),
        esc(measure.description.get(lang))
    );
    match state {
        Some(x) => {
            let _ = write!(
                b,
                "<p class=\"card\">{}: <strong id=\"measure-status\">{}</strong>",
                t(lang, "Status", "État"),
                status_label(x.status, lang)
            );
            if let Some(r) = &x.reason {
                let _ = write!(b, " — {}", esc(r.get(lang)));
            }
            if let Some(d) = x.days_overdue {
                let _ = write!(
                    b,
                    " — <span class=\"late\">{d} {}</span>",
                    t(lang, "days overdue", "jours de retard")
                );
            }
            b.push_str("</p>");
        }
        None => {
            let _ = write!(
                b,
                "<p class=\"card\">{}</p>",
                t(
                    lang,
                    "This measure does not apply to this facility.",
                    "Cette mesure ne s'applique pas à cet établissement."
                )
            );
        }
    }
    let _ = write!(b, "<h2>{}</h2><ul>", t(lang, "Sources", "Sources"));
    for src in &measure.sources {
        let entry = st.catalog().framework(&src.framework).and_then(|fw| {
            fw.entries
                .iter()
                .find(|e| e.reference == src.reference)
                .map(|e| (fw, e))
        });
        match entry {
            Some((fw, e)) => {
                let _ = write!(
                    b,
                    "<li>{} {} — {}</li>",
                    esc(fw.name.get(lang)),
                    esc(&src.reference),
                    esc(e.title.get(lang))
                );
            }
            None => {
                let _ = write!(
                    b,
                    "<li>{} {}</li>",
                    esc(&src.framework),
                    esc(&src.reference)
                );
            }
        }
    }
    b.push_str("</ul>");
    if !measure.evidence.is_empty() {
        let _ = write!(
            b,
            "<h2>{}</h2><ul>",
            t(lang, "Expected evidence", "Preuves attendues")
        );
        for e in &measure.evidence {
            let _ = write!(b, "<li>{}</li>", esc(e.get(lang)));
        }
        b.push_str("</ul>");
    }
    // Automatic check results touching this measure.
    let mut checks = String::new();
    for run in runs.iter().rev() {
        for r in run.results.iter().filter(|r| r.measures.contains(&mid)) {
            let outcome = match r.outcome {
                hygie_core::RuleOutcome::Pass => {
                    format!("<span class=\"ok\">{}</span>", t(lang, "pass", "conforme"))
                }
                hygie_core::RuleOutcome::Fail => {
                    format!("<span class=\"late\">{}</span>", t(lang, "fail", "échec"))
                }
            };
            let objects: Vec<String> = r.objects.iter().take(20).map(|o| esc(o)).collect();
            let _ = write!(
                checks,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                run.at.strftime("%Y-%m-%d %H:%M"),
                esc(&run.source),
                esc(&r.rule),
                r.severity.as_str(),
                outcome,
                objects.join(", ")
            );
        }
    }
    let _ = write!(
        b,
        "<h2>{}</h2>",
        t(lang, "Automatic checks", "Contrôles automatiques")
    );
    if checks.is_empty() {
        let _ = write!(
            b,
            "<p>{}</p>",
            t(
                lang,
                "No automated check covers this measure yet.",
                "Aucun contrôle automatique ne couvre encore cette mesure."
            )
        );
    } else {
        b.push_str(&table_head(&[
            t(lang, "When", "Date"),
            t(lang, "Audit", "Audit"),
            t(lang, "Rule", "Règle"),
            t(lang, "Severity", "Gravité"),
            t(lang, "Outcome", "Résultat"),
            t(lang, "Findings", "Constats"),
        ]));
        b.push_str(&checks);
        b.push_str("</table>");
    }
    let _ = write!(
        b,
        "<h2>{}</h2><table id=\"evidence\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "Evidence", "Preuves"),
        t(lang, "File or link", "Fichier ou lien"),
        t(lang, "Added", "Ajoutée"),
        t(lang, "By", "Par")
    );
    for e in &evidence {
        let what = match &e.kind {
            hygie_store::EvidenceKind::File {
                sha256,
                file_name,
                size,
            } => format!(
                "<a href=\"/facilities/{id}/evidence/{sha256}\">{}</a> ({size} B)",
                esc(file_name)
            ),
            hygie_store::EvidenceKind::Link { url } => esc(url),
        };
        let _ = write!(
            b,
            "<tr><td>{what}</td><td>{}</td><td>{}</td></tr>",
            e.added_at.strftime("%Y-%m-%d %H:%M"),
            esc(&e.added_by)
        );
    }
    b.push_str("</table>");
    if p.c.access.write {
        let csrf = esc(p.c.csrf());
        let opts: String = [
            ("implemented", "implemented", "mise en œuvre"),
            ("in_progress", "in progress", "en cours"),
            ("not_started", "not started", "non commencée"),
            ("not_applicable", "not applicable", "non applicable"),
        ]
        .iter()
        .map(|(v, en, fr)| {
            format!(
                "<option value=\"{v}\">{}</option>",
                if lang == Lang::Fr { fr } else { en }
            )
        })
        .collect();
        let _ = write!(
            b,
            "<div class=\"grid\"><form class=\"card\" method=\"post\" action=\"/facilities/{id}/measures/{mid}/declare\"><h3>{}</h3><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <select name=\"status\" id=\"status\">{opts}</select></label><label>{} <input name=\"justification\"></label>\
<label>{} <input name=\"owner\"></label><label>{} <input name=\"note\"></label><button type=\"submit\" id=\"declare\">{}</button></form>\
<form class=\"card\" method=\"post\" enctype=\"multipart/form-data\" action=\"/facilities/{id}/measures/{mid}/evidence\"><h3>{}</h3><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input type=\"file\" name=\"file\" id=\"file\" required></label><label><input type=\"checkbox\" name=\"implemented\" value=\"1\" id=\"mark-implemented\"> {}</label><button type=\"submit\" id=\"upload\">{}</button></form></div>",
            t(lang, "Declare", "Déclarer"),
            t(lang, "Status", "État"),
            t(
                lang,
                "Justification (required if not applicable)",
                "Justification (obligatoire si non applicable)"
            ),
            t(lang, "Owner", "Responsable"),
            t(lang, "Note", "Note"),
            t(lang, "Save", "Enregistrer"),
            t(lang, "Add an evidence file", "Ajouter un fichier de preuve"),
            t(lang, "File", "Fichier"),
            t(
                lang,
                "and declare the measure implemented",
                "et déclarer la mesure mise en œuvre"
            ),
            t(lang, "Upload", "Téléverser")
        );
    }
    let _ = write!(
        b,
        "<h2>{}</h2><table id=\"history\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "History", "Historique"),
        t(lang, "When", "Date"),
        t(lang, "Status", "État"),
        t(lang, "By", "Par"),
        t(lang, "Note", "Note")
    );
    for h in history.iter().rev() {
        let d = &h.declaration;
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.at.strftime("%Y-%m-%d %H:%M"),
            esc(d.status.as_str()),
            esc(&d.by),
            esc(d.note.as_deref().or(d.status.justification()).unwrap_or(""))
        );
    }
    b.push_str("</table>");
    Ok(p.page(&format!("{} — {}", mid, measure.title.get(lang)), &b))
}

#[derive(Deserialize)]
struct DeclareForm {
    #[serde(default)]
    csrf: String,
    status: String,
    justification: Option<String>,
    owner: Option<String>,
    note: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

async fn declare(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<DeclareForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let fid = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let status = DeclaredStatus::parse(&f.status, non_empty(&f.justification))?;
    st.store()
        .scoped(&p.c.access)
        .declare(&fid, &mid, &status, non_empty(&f.owner), non_empty(&f.note))
        .await?;
    Ok(see_other(&format!("/facilities/{fid}/measures/{mid}")))
}

async fn upload(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
    mut mp: Multipart,
) -> PageResult {
    let fid = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let (mut csrf, mut file, mut implemented) = (None, None, false);
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| WebError::Invalid(e.to_string()))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| WebError::Invalid(e.to_string()))?,
                )
            }
            Some("implemented") => implemented = true,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::Invalid(e.to_string()))?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    p.c.check_csrf(csrf.as_deref())?;
    let (name, bytes) = file.ok_or_else(|| WebError::Invalid("choose a file".into()))?;
    if bytes.is_empty() {
        return Err(WebError::Invalid("the evidence file is empty".into()).into());
    }
    let name = clean_file_name(&name)?;
    let scoped = st.store().scoped(&p.c.access);
    scoped.add_evidence_file(&fid, &mid, &name, &bytes).await?;
    if implemented {
        let note = format!("evidence: {name}");
        scoped
            .declare(&fid, &mid, &DeclaredStatus::Implemented, None, Some(&note))
            .await?;
    }
    Ok(see_other(&format!("/facilities/{fid}/measures/{mid}")))
}

async fn download(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, sha)): Path<(String, String)>,
) -> PageResult {
    let fid = finess(&id)?;
    let (name, content) = st
        .store()
        .scoped(&p.c.access)
        .evidence_file(&fid, &sha)
        .await?;
    Ok(api::download(&name, content))
}

#[derive(Deserialize)]
struct RegionQuery {
    as_of: Option<String>,
    kind: Option<String>,
    dep: Option<String>,
}

async fn region_rows(
    st: &AppState,
    p: &PageUser,
    r: &str,
    q: &RegionQuery,
) -> Result<hygie_core::RegionStatus, WebError> {
    let region = region(r)?;
    let as_of = api::as_of(&AsOf {
        as_of: q.as_of.clone(),
    })?;
    let mut rs = st.region_status(&p.c.access, region, as_of).await?;
    let kind = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| k.parse::<FacilityKind>())
        .transpose()?;
    let dep = q
        .dep
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_ascii_uppercase);
    rs.facilities.retain(|f| {
        kind.is_none_or(|k| f.kind == k) && dep.as_deref().is_none_or(|d| f.departement == d)
    });
    Ok(rs)
}

async fn region_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let lang = p.lang();
    let rs = region_rows(&st, &p, &r, &q).await?;
    let mut b = String::new();
    if rs.demo {
        b.push_str(&demo_note(
            lang,
            "Demo region: fictitious facilities.",
            "Région de démonstration : établissements fictifs.",
        ));
    }
    let late = rs.facilities.iter().filter(|f| f.overdue > 0).count();
    let overdue: usize = rs.facilities.iter().map(|f| f.overdue).sum();
    let _ = write!(
        b,
        "<p>{} {} · <strong id=\"facility-count\">{}</strong> {} · <span class=\"late\" id=\"late-count\">{late}</span> {} · {overdue} {}</p>",
        t(lang, "Status on", "Situation au"),
        rs.as_of,
        rs.facilities.len(),
        t(lang, "facilities", "établissements"),
        t(
            lang,
            "with a late obligation",
            "avec une obligation en retard"
        ),
        t(
            lang,
            "overdue measures in all",
            "mesures en retard au total"
        )
    );
    let kinds: String = FacilityKind::ALL
        .iter()
        .map(|k| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                k.as_str(),
                if q.kind.as_deref() == Some(k.as_str()) {
                    " selected"
                } else {
                    ""
                },
                esc(k.label().get(lang))
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"get\" class=\"card\"><label>{} <select name=\"kind\"><option value=\"\">—</option>{kinds}</select></label>\
<label>{} <input name=\"dep\" size=\"3\" value=\"{}\"></label><button type=\"submit\">{}</button> \
<a href=\"/regions/{}/export.csv?kind={}&amp;dep={}\">CSV</a></form>",
        t(lang, "Kind", "Type"),
        t(lang, "Département", "Département"),
        esc(q.dep.as_deref().unwrap_or("")),
        t(lang, "Filter", "Filtrer"),
        rs.region.code(),
        esc(q.kind.as_deref().unwrap_or("")),
        esc(q.dep.as_deref().unwrap_or(""))
    );
    let _ = write!(
        b,
        "<table id=\"matrix\"><tr><th>FINESS</th><th>{}</th><th>{}</th><th>{}</th><th>{} 1</th><th>{} 2</th><th>{} 3</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "Name", "Nom"),
        t(lang, "Kind", "Type"),
        t(lang, "Dept", "Dépt"),
        t(lang, "Level", "Palier"),
        t(lang, "Level", "Palier"),
        t(lang, "Level", "Palier"),
        t(lang, "Reached", "Atteint"),
        t(lang, "Overdue", "En retard"),
        t(lang, "Failing", "En échec"),
        t(lang, "Score", "Score")
    );
    for f in &rs.facilities {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&f.name),
            esc(f.kind.label().get(lang)),
            esc(&f.departement),
            id = f.id
        );
        for l in &f.levels {
            let late = if l.overdue > 0 {
                format!(" <span class=\"late\">({})</span>", l.overdue)
            } else {
                String::new()
            };
            let _ = write!(b, "<td>{}{late}</td>", bar(l.done, l.total));
        }
        let _ = write!(
            b,
            "<td>{}</td><td{}>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            f.level_reached,
            if f.overdue > 0 { " class=\"late\"" } else { "" },
            f.overdue,
            f.failing,
            f.score
        );
    }
    b.push_str("</table>");
    Ok(p.page(&format!("{} — {}", rs.region.code(), rs.name), &b))
}

async fn region_csv(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let rs = region_rows(&st, &p, &r, &q).await?;
    let mut s = String::from(
        "finess,name,kind,departement,level_reached,l1_done,l1_total,l1_overdue,l2_done,l2_total,l2_overdue,l3_done,l3_total,l3_overdue,overdue,failing,score\n",
    );
    let cell = |v: &str| {
        // Quote, and neutralise spreadsheet formulas.
        let v = if v.starts_with(['=', '+', '-', '@']) {
            format!("'{v}")
        } else {
            v.to_owned()
        };
        format!("\"{}\"", v.replace('"', "\"\""))
    };
    for f in &rs.facilities {
        let _ = write!(
            s,
            "{},{},{},{},{}",
            f.id,
            cell(&f.name),
            f.kind.as_str(),
            cell(&f.departement),
            f.level_reached
        );
        for l in &f.levels {
            let _ = write!(s, ",{},{},{}", l.done, l.total, l.overdue);
        }
        let _ = writeln!(s, ",{},{},{:.1}", f.overdue, f.failing, f.score);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"hygie-{}-{}.csv\"",
                    rs.region.code(),
                    rs.as_of
                ),
            ),
        ],
        s,
    )
        .into_response())
}

// --- catalogue, journal ----------------------------------------------------------------------

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
    level: Option<String>,
}

async fn catalog_page(
    State(st): State<AppState>,
    p: PageUser,
    Query(q): Query<CatalogQuery>,
) -> PageResult {
    let lang = p.lang();
    let c = st.catalog();
    let needle = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let level: Option<u8> = q.level.as_deref().and_then(|l| l.parse().ok());
    let mut b = format!(
        "<form method=\"get\" class=\"card\"><label>{} <input name=\"q\" value=\"{}\"></label><label>{} <select name=\"level\"><option value=\"\">—</option><option>1</option><option>2</option><option>3</option></select></label><button type=\"submit\">{}</button></form><p>{} {} · {} {}</p>",
        t(lang, "Search", "Rechercher"),
        esc(&needle),
        t(lang, "Level", "Palier"),
        t(lang, "Filter", "Filtrer"),
        t(lang, "Catalogue version", "Version du catalogue"),
        esc(&c.version),
        c.measures.len(),
        t(lang, "measures", "mesures")
    );
    b.push_str(&table_head(&[
        "Id",
        t(lang, "Title", "Titre"),
        t(lang, "Level", "Palier"),
        t(lang, "Verification", "Vérification"),
        t(lang, "Principles", "Principes"),
    ]));
    for m in c.measures.iter().filter(|m| {
        level.is_none_or(|l| m.level == Some(l))
            && (needle.is_empty()
                || m.id.as_str().to_lowercase().contains(&needle)
                || m.title.get(lang).to_lowercase().contains(&needle))
    }) {
        let pr: Vec<String> = m
            .principles
            .iter()
            .map(|p| esc(p.label().get(lang)))
            .collect();
        let _ = write!(
            b,
            "<tr><td><a href=\"/catalog/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.id,
            m.id,
            esc(m.title.get(lang)),
            m.level.map(|l| l.to_string()).unwrap_or_default(),
            m.verification.as_str(),
            pr.join(", ")
        );
    }
    b.push_str("</table>");
    Ok(p.page(t(lang, "Measure catalogue", "Catalogue des mesures"), &b))
}

async fn catalog_measure(
    State(st): State<AppState>,
    p: PageUser,
    Path(m): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = measure_id(&st, &m)?;
    let Some(m) = st.catalog().measure(&id) else {
        return Err(WebError::NotFound(format!("measure {id}")).into());
    };
    let mut b = format!("<p>{}</p><ul>", esc(m.description.get(lang)));
    for src in &m.sources {
        let _ = write!(
            b,
            "<li>{} {}</li>",
            esc(&src.framework),
            esc(&src.reference)
        );
    }
    b.push_str("</ul>");
    let kinds: Vec<String> = m
        .applies_to
        .iter()
        .map(|k| esc(k.label().get(lang)))
        .collect();
    let _ = write!(
        b,
        "<p>{}: {} · {}: {} · {}: {}</p>",
        t(lang, "Level", "Palier"),
        m.level.map(|l| l.to_string()).unwrap_or_else(|| "—".into()),
        t(lang, "Applies to", "S'applique à"),
        kinds.join(", "),
        t(lang, "Verification", "Vérification"),
        m.verification.as_str()
    );
    let facilities = st.store().scoped(&p.c.access).facilities().await?;
    if !facilities.is_empty() && facilities.len() <= 50 {
        let _ = write!(
            b,
            "<h2>{}</h2><ul>",
            t(lang, "At my facilities", "Dans mes établissements")
        );
        for f in facilities {
            let _ = write!(
                b,
                "<li><a href=\"/facilities/{}/measures/{}\">{}</a></li>",
                f.id,
                m.id,
                esc(&f.name)
            );
        }
        b.push_str("</ul>");
    }
    Ok(p.page(&format!("{} — {}", m.id, m.title.get(lang)), &b))
}

async fn journal_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let check = scoped.verify_journal().await?;
    let entries = scoped.journal_entries(200).await?;
    let mut b = match check {
        hygie_store::JournalCheck::Intact { entries } => format!(
            "<p class=\"card ok\" id=\"journal-status\">{} ({entries} {})</p>",
            t(
                lang,
                "The journal's hash chain is intact",
                "La chaîne de hachage du journal est intacte"
            ),
            t(lang, "entries", "entrées")
        ),
        hygie_store::JournalCheck::Broken(br) => format!(
            "<p class=\"err\" id=\"journal-status\">{}: {}</p>",
            t(lang, "The journal is BROKEN", "Le journal est ROMPU"),
            esc(&br.to_string())
        ),
    };
    b.push_str(&table_head(&[
        "#",
        t(lang, "When", "Date"),
        t(lang, "Who", "Qui"),
        t(lang, "Action", "Action"),
        t(lang, "Subject", "Objet"),
        t(lang, "Details", "Détails"),
    ]));
    for e in entries.iter().rev() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            esc(&e.at),
            esc(&e.actor),
            esc(&e.action),
            esc(&e.subject),
            esc(&e.details)
        );
    }
    b.push_str("</table>");
    Ok(p.page(t(lang, "Journal", "Journal"), &b))
}

// --- API tokens and users --------------------------------------------------------------------

async fn tokens_view(st: &AppState, p: &PageUser, created: Option<&str>) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let tokens = scoped.tokens().await?;
    let facilities = scoped.facilities().await?;
    let csrf = esc(p.c.csrf());
    let mut b = String::new();
    if let Some(secret) = created {
        let _ = write!(
            b,
            "<p class=\"card\">{} <code id=\"new-token\">{}</code></p>",
            t(
                lang,
                "New token (shown once, copy it now):",
                "Nouveau jeton (affiché une seule fois, copiez-le maintenant) :"
            ),
            esc(secret)
        );
    }
    b.push_str(&table_head(&[
        "Id",
        t(lang, "Name", "Nom"),
        "FINESS",
        t(lang, "Access", "Accès"),
        t(lang, "Created", "Créé"),
        t(lang, "Revoked", "Révoqué"),
        "",
    ]));
    for tk in &tokens {
        let revoke = if tk.revoked_at.is_none() {
            format!(
                "<form method=\"post\" action=\"/tokens/{}/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">{}</button></form>",
                esc(&tk.id),
                t(lang, "Revoke", "Révoquer")
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
            esc(&tk.id),
            esc(&tk.name),
            tk.facility,
            tk.access.as_str(),
            tk.created_at.strftime("%Y-%m-%d"),
            tk.revoked_at
                .map(|r| r.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default()
        );
    }
    b.push_str("</table>");
    let opts: String = facilities
        .iter()
        .take(2000)
        .map(|f| {
            format!(
                "<option value=\"{}\">{} — {}</option>",
                f.id,
                f.id,
                esc(&f.name)
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/tokens\" class=\"card\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input name=\"name\" required></label><label>FINESS <select name=\"facility\">{opts}</select></label>\
<label>{} <select name=\"access\"><option value=\"read\">read</option><option value=\"write\">write</option></select></label><button type=\"submit\">{}</button></form>",
        t(lang, "New token", "Nouveau jeton"),
        t(lang, "Name", "Nom"),
        t(lang, "Access", "Accès"),
        t(lang, "Create", "Créer")
    );
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
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let (secret, _) = api::create_token(&st, &p.c, &f.name, &f.facility, &f.access).await?;
    tokens_view(&st, &p, Some(&secret)).await
}

async fn token_revoke(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    st.store().scoped(&p.c.access).revoke_token(&id).await?;
    Ok(see_other("/tokens"))
}

async fn users_view(st: &AppState, p: &PageUser, msg: Option<&str>) -> PageResult {
    let lang = p.lang();
    let users = st.store().scoped(&p.c.access).users().await?;
    let csrf = esc(p.c.csrf());
    let mut b = String::new();
    if let Some(m) = msg {
        let _ = write!(b, "<p class=\"err\">{}</p>", esc(m));
    }
    b.push_str(&table_head(&[
        t(lang, "Username", "Identifiant"),
        t(lang, "Name", "Nom"),
        t(lang, "Role", "Rôle"),
        t(lang, "Scope", "Périmètre"),
        "TOTP",
    ]));
    for u in &users {
        let scope = match &u.binding {
            Binding::Installation => t(lang, "installation", "installation").to_owned(),
            Binding::Region { region } => region.code().to_owned(),
            Binding::Facilities { facilities } => facilities
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.username),
            esc(&u.display_name),
            esc(u.role.label().get(lang)),
            esc(&scope),
            if u.totp_enrolled { "✓" } else { "" }
        );
    }
    b.push_str("</table>");
    let roles: String = Role::ALL
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{}\">{}</option>",
                r.as_str(),
                esc(r.label().get(lang))
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/admin/users\" class=\"card\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input name=\"username\" required></label><label>{} <input name=\"display_name\" required></label>\
<label>{} <select name=\"role\">{roles}</select></label>\
<label>{} <input name=\"region\" size=\"5\"></label><label>{} <input name=\"facilities\" size=\"40\"></label>\
<label>{} <input type=\"password\" name=\"password\" required minlength=\"12\" autocomplete=\"new-password\"></label><button type=\"submit\">{}</button></form>",
        t(lang, "New user", "Nouvel utilisateur"),
        t(lang, "Username", "Identifiant"),
        t(lang, "Full name", "Nom complet"),
        t(lang, "Role", "Rôle"),
        t(
            lang,
            "Region code (regional roles)",
            "Code région (rôles régionaux)"
        ),
        t(
            lang,
            "FINESS numbers, comma-separated (facility roles)",
            "Numéros FINESS séparés par des virgules (rôles d'établissement)"
        ),
        t(lang, "Initial password", "Mot de passe initial"),
        t(lang, "Create", "Créer")
    );
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
    match st.store().scoped(&p.c.access).create_user(&u).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(StoreError::Invalid(m)) | Err(StoreError::Conflict(m)) => {
            users_view(&st, &p, Some(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}
