//! Signing in and out: login (its second step is `second_factor`; a passkey may stand for the
//! code: `passkeys`), the change of a temporary password, the first-run setup of the first
//! administrator, and the language switch. Every refusal carries its security event
//! (`crate::events`).

use super::passkeys::has_passkey;
use super::second_factor::{after_second_factor, pending_session};
use super::{
    ClientIp, CsrfForm, PageResult, PageUser, anon_page, safe_back, see_other, with_cookie,
};
use crate::events::{Event, refuse};
use crate::html::t;
use crate::session::{PRE_COOKIE, SESSION_COOKIE, browser_lang, cookie, set_cookie};
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use hygie_store::{Binding, Factor, LoginProof, NewUser, Role, SessionStage, StoreError};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/password", get(password_form).post(password_submit))
        .route("/logout", post(logout))
        .route("/setup", get(setup_form).post(setup))
        .route("/lang", post(switch_lang))
        .merge(super::second_factor::routes())
}

/// The login form; `pre` is the double-submit token, `bootstrap` points to the first-run setup.
#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginBody<'a> {
    lang: Lang,
    pre: &'a str,
    msg: Option<&'a str>,
    bootstrap: bool,
    /// The single sign-on providers' buttons: (name, label).
    providers: Vec<(String, String)>,
    /// Passkeys are enabled: the page offers "Sign in with a passkey".
    passkeys: bool,
}

/// The first-run form creating the first administrator.
#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupBody<'a> {
    lang: Lang,
    pre: &'a str,
    msg: Option<&'a str>,
}

/// The form choosing a new password after a temporary one; `msg` says why the last was refused.
#[derive(askama::Template)]
#[template(path = "password.html")]
struct PasswordBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
}

hygie_report::translate_by_lang_field!(LoginBody, SetupBody, PasswordBody);

// --- login flow ------------------------------------------------------------------------------

/// The login form, with a fresh double-submit token in a cookie.
pub(super) fn login_page(
    st: &AppState,
    lang: Lang,
    msg: Option<&str>,
    status: StatusCode,
    bootstrap: bool,
) -> Result<Response, WebError> {
    let pre = auth::random_hex(16)?;
    let body = hygie_report::render(&LoginBody {
        lang,
        pre: &pre,
        msg,
        bootstrap,
        providers: super::sso::buttons(st),
        passkeys: st.config().passkeys.is_some(),
    });
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

pub(super) fn check_pre(headers: &HeaderMap, token: &str) -> Result<(), WebError> {
    match cookie(headers, PRE_COOKIE) {
        Some(c) if !c.is_empty() && auth::same(&c, token) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

/// Start a session under a brand-new id (the old one, if any, is deleted: no fixation).
/// `client` is the class of the client's address, kept with the session for its user to see.
pub(super) async fn start_session(
    st: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    stage: SessionStage,
    to: &str,
    client: &str,
) -> Result<Response, WebError> {
    let next = (stage, to);
    start_session_proved(st, headers, user_id, next, client, LoginProof::Usual).await
}

/// As `start_session`, naming what proved the sign-in (a passkey) for the journal.
pub(super) async fn start_session_proved(
    st: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    (stage, to): (SessionStage, &str),
    client: &str,
    proof: LoginProof,
) -> Result<Response, WebError> {
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        st.store().delete_session(&auth::digest(&old)).await?;
    }
    let id = auth::random_hex(32)?;
    // The cookie lives as long as a session may; the server ends it sooner when it is idle.
    let (ttl, idle) = match stage {
        SessionStage::Full => (
            st.config().session_ttl,
            st.config().session_idle.min(st.config().session_ttl),
        ),
        _ => (
            jiff::SignedDuration::from_mins(10),
            jiff::SignedDuration::from_mins(10),
        ),
    };
    let expires = jiff::Timestamp::now()
        .checked_add(idle)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    st.store()
        .create_session_proved(&auth::digest(&id), user_id, stage, expires, client, proof)
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

pub(super) const LOGIN_FAILED: (&str, &str) = (
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
    let too_many = if !st.allow_attempt(ip) {
        Some((
            t(
                lang,
                "Too many attempts from this address: wait a minute.",
                "Trop de tentatives depuis cette adresse : attendez une minute.",
            ),
            "address",
        ))
    } else if !st.allow_account_attempt(&f.username) {
        // Whoever sends them, and whether the account exists or not.
        Some((
            t(
                lang,
                "Too many attempts for this account: wait a minute.",
                "Trop de tentatives pour ce compte : attendez une minute.",
            ),
            "account",
        ))
    } else {
        None
    };
    if let Some((msg, reason)) = too_many {
        let page = login_page(&st, lang, Some(msg), StatusCode::TOO_MANY_REQUESTS, false)?;
        return Ok(refuse(page, Event::LoginThrottled, None, reason));
    }
    // The same answer whatever the reason; the log says which (never the typed username of an
    // account that does not exist: it is often a password typed in the wrong field).
    let failed = |st: &AppState, user: Option<&str>, reason| -> Result<Response, WebError> {
        st.metrics()
            .login_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let page = login_page(
            st,
            lang,
            Some(t(lang, LOGIN_FAILED.0, LOGIN_FAILED.1)),
            StatusCode::UNAUTHORIZED,
            false,
        )?;
        Ok(refuse(page, Event::LoginFailed, user, reason))
    };
    let mut found = st.store().user_for_login(&f.username).await?;
    if let Some(dir) = st.config().directory.clone() {
        // Directory accounts are kept under their lower-case account name.
        if found.is_none()
            && let Some(name) =
                hygie_ad::login::account_name(&f.username, &dir.directory.upn_suffix)
        {
            found = st.store().user_for_login(&name).await?;
        }
        let local = found
            .as_ref()
            .is_some_and(|(u, _)| u.sign_in == hygie_store::SignIn::Local);
        if !local {
            return directory_login(&st, &dir, found, &f, &headers, ip, lang, failed).await;
        }
    }
    let phc = found
        .as_ref()
        .map(|(_, c)| c.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let pw = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &phc)).await?;
    let Some((user, cred)) = found else {
        return Ok(failed(&st, None, "unknown_user")?);
    };
    let name = Some(user.username.as_str());
    if user.disabled {
        return Ok(failed(&st, name, "disabled")?);
    }
    if cred.locked_until > jiff::Timestamp::now() {
        return Ok(failed(&st, name, "locked")?);
    }
    if !user.sign_in.is_local() {
        // A directory account while no directory is configured, or a single sign-on account:
        // Hygie checks no password of theirs.
        return Ok(failed(&st, name, "not_a_local_account")?);
    }
    if !ok {
        let locked = st
            .store()
            .record_failure(user.id, Factor::Password, &st.config().password_backoff)
            .await?;
        let page = failed(&st, name, "wrong_password")?;
        return Ok(match locked {
            Some(_) => refuse(page, Event::AccountLocked, name, "password"),
            None => page,
        });
    }
    if let Some(sso) = &st.config().oidc
        && sso.requires_sso(user.role)
    {
        // The password was right, but this role signs in through its provider only.
        let page = login_page(
            &st,
            lang,
            Some(t(
                lang,
                "Your role signs in through single sign-on only: use your organisation's button below.",
                "Votre rôle se connecte uniquement par authentification unique : utilisez le bouton de votre organisation ci-dessous.",
            )),
            StatusCode::FORBIDDEN,
            false,
        )?;
        return Ok(refuse(page, Event::LoginFailed, name, "sso_required"));
    }
    first_factor_accepted(&st, user, &f.username, &headers, ip, false).await
}

/// The first factor is proved (a local password, a directory bind, a provider's ID token): end
/// its failure count, then on to the second factor, the change of a temporary password, or in.
/// `strong` says the provider vouched for a second factor (its `amr`/`acr`): no TOTP is asked.
pub(super) async fn first_factor_accepted(
    st: &AppState,
    user: hygie_store::User,
    typed: &str,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    strong: bool,
) -> PageResult {
    st.store().reset_failures(user.id, Factor::Password).await?;
    // Only guesses spend the account's budget: a correct password gives its attempt back.
    st.account_succeeded(typed);
    // A temporary password is changed last, once any second factor is proved: the temporary
    // password alone changes nothing.
    // A passkey is a second factor as TOTP is: whoever holds one is asked for a factor.
    let passkey = has_passkey(st, user.id).await?;
    let (stage, to) = if strong {
        after_second_factor(&user)
    } else if user.totp_enrolled {
        (SessionStage::Totp, "/login/totp")
    } else if passkey {
        (SessionStage::Totp, "/login/passkey")
    } else if user.role.requires_totp() {
        (SessionStage::Enroll, "/login/enroll")
    } else {
        after_second_factor(&user)
    };
    let client = crate::events::address_class(ip);
    Ok(start_session(st, headers, user.id, stage, to, &client).await?)
}

/// A login the directory checks: bind as the user, map their groups to a role and binding,
/// create or update the account, then the same second-factor rules as a local account. A wrong
/// password counts against the account's lock like a local one (once the account exists).
#[allow(clippy::too_many_arguments)]
async fn directory_login(
    st: &AppState,
    dir: &crate::directory::DirectoryLogin,
    found: Option<(hygie_store::User, hygie_store::Credentials)>,
    f: &LoginForm,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    lang: Lang,
    failed: impl Fn(&AppState, Option<&str>, &'static str) -> Result<Response, WebError>,
) -> PageResult {
    let known = found.as_ref().map(|(u, _)| u.username.clone());
    if let Some((user, cred)) = &found {
        if user.disabled {
            return Ok(failed(st, known.as_deref(), "disabled")?);
        }
        if cred.locked_until > jiff::Timestamp::now() {
            return Ok(failed(st, known.as_deref(), "locked")?);
        }
    }
    let password = hygie_ad::collect::Password::from(f.password.clone());
    let account = match hygie_ad::login::authenticate(&dir.directory, &f.username, &password).await
    {
        Ok(a) => a,
        Err(hygie_ad::login::LoginError::Refused) => {
            let Some((user, _)) = &found else {
                return Ok(failed(st, None, "directory_refused")?);
            };
            let locked = st
                .store()
                .record_failure(user.id, Factor::Password, &st.config().password_backoff)
                .await?;
            let page = failed(st, known.as_deref(), "wrong_password")?;
            return Ok(match locked {
                Some(_) => refuse(page, Event::AccountLocked, known.as_deref(), "password"),
                None => page,
            });
        }
        Err(hygie_ad::login::LoginError::Directory(e)) => {
            tracing::error!(target: "hygie::security", error = %e, "directory login: the directory could not be asked");
            let page = login_page(
                st,
                lang,
                Some(t(
                    lang,
                    "The directory (Active Directory) cannot be reached: try again in a moment, or tell IT.",
                    "L'annuaire (Active Directory) est injoignable : réessayez dans un instant, ou prévenez l'informatique.",
                )),
                StatusCode::SERVICE_UNAVAILABLE,
                false,
            )?;
            return Ok(refuse(
                page,
                Event::LoginFailed,
                known.as_deref(),
                "directory_unreachable",
            ));
        }
    };
    let Some(map) = dir.decide(&account.groups) else {
        st.store()
            .record_external_refusal(
                &account.username,
                &hygie_store::SignIn::Directory,
                "no_mapped_group",
                account.groups.len(),
            )
            .await?;
        let page = login_page(
            st,
            lang,
            Some(t(
                lang,
                "Your directory account is in no group that gives access to Hygie: ask the CISO or IT to add you to one.",
                "Votre compte de l'annuaire n'appartient à aucun groupe donnant accès à Hygie : demandez au RSSI ou à l'informatique de vous y ajouter.",
            )),
            StatusCode::FORBIDDEN,
            false,
        )?;
        return Ok(refuse(
            page,
            Event::LoginFailed,
            Some(&account.username),
            "no_mapped_group",
        ));
    };
    let signed = st
        .store()
        .sign_in_external_user(&hygie_store::ExternalSignIn {
            username: &account.username,
            display_name: &account.display_name,
            role: map.role,
            binding: map.binding.clone(),
            source: hygie_store::SignIn::Directory,
            decided_by: serde_json::json!({ "group": map.value }),
        })
        .await;
    let user = match signed {
        Ok(u) => u,
        Err(hygie_store::StoreError::Conflict(_)) => {
            // A local account holds the name; it signs in with its own password only.
            return Ok(failed(
                st,
                Some(&account.username),
                "local_account_conflict",
            )?);
        }
        Err(e) => return Err(e.into()),
    };
    first_factor_accepted(st, user, &f.username, headers, ip, false).await
}

fn password_page(lang: Lang, csrf: &str, msg: Option<&str>) -> Response {
    let body = hygie_report::render(&PasswordBody { lang, csrf, msg });
    anon_page(
        lang,
        t(
            lang,
            "Choose your password",
            "Choisissez votre mot de passe",
        ),
        &body,
        if msg.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
    )
}

async fn password_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Password).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    Ok(password_page(lang, &s.csrf, None))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    password: String,
    repeat: String,
}

/// The user replaces the temporary password an administrator gave them by one of their own
/// (the policy applies, and it must differ from the temporary one); then the login is complete.
async fn password_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Password).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    let name = Some(s.user.username.as_str());
    if !auth::same(&f.csrf, &s.csrf) {
        let page = super::error_response(&WebError::Csrf);
        return Ok(refuse(page, Event::CsrfRejected, name, "csrf"));
    }
    let refused = |msg: &str, reason| {
        refuse(
            password_page(lang, &s.csrf, Some(msg)),
            Event::PasswordRefused,
            name,
            reason,
        )
    };
    if f.password != f.repeat {
        return Ok(refused(
            t(
                lang,
                "The two passwords differ.",
                "Les deux mots de passe diffèrent.",
            ),
            "mismatch",
        ));
    }
    if let Err(e) = auth::check_password(
        &f.password,
        &s.user.username,
        st.config().breach_index.as_deref(),
    ) {
        return Ok(refused(
            if lang == Lang::Fr { &e.fr } else { &e.en },
            "policy",
        ));
    }
    let current = st.store().credentials(s.user.id).await?.password_hash;
    let (pw, again) = (f.password.clone(), f.password.clone());
    let same = tokio::task::spawn_blocking(move || auth::verify_password(&again, &current)).await?;
    if same {
        return Ok(refused(
            t(
                lang,
                "Choose a password other than the temporary one.",
                "Choisissez un autre mot de passe que le mot de passe temporaire.",
            ),
            "unchanged",
        ));
    }
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    st.store()
        .change_password(
            s.user.id,
            &phc,
            &hygie_store::Actor(format!("web:{}", s.user.username)),
        )
        .await?;
    let client = crate::events::address_class(ip);
    Ok(start_session(&st, &headers, s.user.id, SessionStage::Full, "/", &client).await?)
}

async fn logout(State(st): State<AppState>, p: PageUser, Form(f): Form<CsrfForm>) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    if let Some((hash, _)) = &p.c.session {
        st.store().logout(hash, &p.c.access.actor()).await?;
    }
    let cleared = set_cookie(SESSION_COOKIE, "", 0, st.config().secure_cookies);
    if let Some(page) = super::sso::provider_logout(&st, &p.user, p.c.lang).await {
        return Ok(with_cookie(page, cleared));
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
        let page = super::error_response(&WebError::NotFound("setup is done".into()));
        return Ok(refuse(page, Event::SetupRefused, None, "closed"));
    }
    Ok(setup_page(&st, lang, None)?)
}

fn setup_page(st: &AppState, lang: Lang, msg: Option<&str>) -> Result<Response, WebError> {
    let pre = auth::random_hex(16)?;
    let b = hygie_report::render(&SetupBody {
        lang,
        pre: &pre,
        msg,
    });
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
        let page = super::error_response(&WebError::TooMany);
        return Ok(refuse(page, Event::LoginThrottled, None, "address"));
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
        Err(StoreError::Forbidden(_)) => {
            let page = setup_page(
                &st,
                lang,
                Some(t(
                    lang,
                    "Wrong or already used setup token.",
                    "Jeton d'installation erroné ou déjà utilisé.",
                )),
            )?;
            Ok(refuse(page, Event::SetupRefused, None, "wrong_token"))
        }
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
