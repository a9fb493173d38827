//! The second step of a login: the TOTP code, its enrolment (the pending key shown with its QR
//! code until a code from it is accepted), and where a login goes once the factor is proved. A
//! passkey may stand for the code (`passkeys`). Every refusal carries its security event
//! (`crate::events`).

use super::account::{LOGIN_FAILED, start_session};
use super::passkeys::has_passkey;
use super::{ClientIp, CsrfForm, PageResult, anon_page, see_other};
use crate::events::{Event, refuse};
use crate::html::t;
use crate::session::session_of;
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use hygie_store::{Factor, SessionStage};
use serde::Deserialize;

hygie_report::translate_by_lang_field!(CodeBody);

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/totp", get(totp_form).post(totp_submit))
        .route("/login/enroll", get(enroll_form).post(enroll_submit))
        .route("/login/enroll/new", post(enroll_restart))
}

/// Where a login goes once the second factor is proved (or not required): to the change of a
/// temporary password, else in.
pub(super) fn after_second_factor(user: &hygie_store::User) -> (SessionStage, &'static str) {
    if user.must_change_password {
        (SessionStage::Password, "/login/password")
    } else {
        (SessionStage::Full, "/")
    }
}

/// The second-factor form; while the user sets the factor up, `enroll` holds the pending key.
#[derive(askama::Template)]
#[template(path = "code.html")]
struct CodeBody<'a> {
    lang: Lang,
    action: &'a str,
    csrf: &'a str,
    msg: Option<&'a str>,
    enroll: Option<Enrolment>,
    /// The user holds a passkey: the page offers it instead of a code.
    passkey: bool,
}

/// The pending key of an enrolment as the page shows it: as text, as an otpauth URI and as a
/// QR code of that URI (drawn on the server).
struct Enrolment {
    secret: String,
    uri: String,
    qr: Option<crate::html::QrSvg>,
}

/// The second-factor page: the form, and while enrolling the pending key with its QR code, so
/// that a wrong code never takes the key away from the page.
fn code_page(
    lang: Lang,
    action: &str,
    csrf: &str,
    msg: Option<&str>,
    enroll: Option<Enrolment>,
    (status, passkey): (StatusCode, bool),
) -> Response {
    let title = if enroll.is_some() {
        t(
            lang,
            "Set up the second factor",
            "Activer le second facteur",
        )
    } else {
        t(lang, "Second factor", "Second facteur")
    };
    let body = hygie_report::render(&CodeBody {
        lang,
        action,
        csrf,
        msg,
        enroll,
        passkey,
    });
    anon_page(lang, title, &body, status)
}

/// The pending key of `user`'s enrolment, made (and stored sealed) when there is none: the
/// same key is shown until a code from it is accepted or the user asks for a new one.
async fn enrolment(
    st: &AppState,
    user: &hygie_store::User,
    lang: Lang,
) -> Result<Enrolment, WebError> {
    let cred = st.store().credentials(user.id).await?;
    let secret = match st.open_totp(user.id, cred.totp_secret.as_deref()).await? {
        Some(x) => x,
        None => new_pending_key(st, user.id).await?,
    };
    let uri = auth::otpauth_uri(&secret, &user.username);
    Ok(Enrolment {
        qr: crate::html::QrSvg::of(lang, &uri),
        secret,
        uri,
    })
}

/// A new pending key for `user_id`, stored sealed in place of any other not yet confirmed.
async fn new_pending_key(st: &AppState, user_id: i64) -> Result<String, WebError> {
    let x = auth::new_totp_secret()?;
    st.store()
        .set_pending_totp(user_id, &st.seal_totp(user_id, &x)?)
        .await?;
    Ok(x)
}

pub(super) async fn pending_session(
    st: &AppState,
    headers: &HeaderMap,
    stage: SessionStage,
) -> Result<(String, crate::session::LiveSession), WebError> {
    match session_of(st, headers).await? {
        Some((h, s)) if s.stage == stage => Ok((h, s)),
        _ => Err(WebError::Unauthorized),
    }
}

async fn totp_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Totp).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    let passkey = has_passkey(&st, s.user.id).await?;
    if passkey && !s.user.totp_enrolled {
        return Ok(see_other("/login/passkey"));
    }
    Ok(code_page(
        lang,
        "/login/totp",
        &s.csrf,
        None,
        None,
        (StatusCode::OK, passkey),
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
    (headers, ip): (&HeaderMap, Option<std::net::IpAddr>),
    f: &CodeForm,
    stage: SessionStage,
    action: &str,
) -> PageResult {
    let client = &crate::events::address_class(ip);
    let (hash, s) = pending_session(st, headers, stage).await?;
    let lang = crate::session::user_lang(&s.user, headers);
    let name = Some(s.user.username.as_str());
    if !auth::same(&f.csrf, &s.csrf) {
        let page = super::error_response(&WebError::Csrf);
        return Ok(refuse(page, Event::CsrfRejected, name, "csrf"));
    }
    // Codes count against the address and the account, like passwords (one budget per account).
    if !st.allow_from(crate::Attempt::Code, ip) || !st.allow_account_attempt(&s.user.username) {
        let msg = t(
            lang,
            "Too many attempts: wait a minute.",
            "Trop de tentatives : attendez une minute.",
        );
        let enroll = enrolling(st, &s.user, stage, lang).await?;
        let page = code_page(
            lang,
            action,
            &s.csrf,
            Some(msg),
            enroll,
            (
                StatusCode::TOO_MANY_REQUESTS,
                has_passkey(st, s.user.id).await?,
            ),
        );
        return Ok(refuse(page, Event::LoginThrottled, name, "code"));
    }
    let cred = st.store().credentials(s.user.id).await?;
    let now = jiff::Timestamp::now();
    // The second factor has its own lock, which a correct password does not lift.
    let locked = cred.locked_until > now || cred.totp_locked_until > now;
    let secret = st
        .open_totp(s.user.id, cred.totp_secret.as_deref())
        .await?
        .unwrap_or_default();
    if locked || secret.is_empty() || !check_code(st, s.user.id, &secret, &f.code).await? {
        st.metrics()
            .login_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reason = if locked { "locked" } else { "wrong_code" };
        let locks_now = !locked
            && st
                .store()
                .record_failure(s.user.id, Factor::Totp, &st.config().totp_backoff)
                .await?
                .is_some();
        if locked || locks_now {
            st.store().delete_session(&hash).await?;
            let page = anon_page(
                lang,
                t(lang, "Log in", "Connexion"),
                &super::notice(
                    t(lang, LOGIN_FAILED.0, LOGIN_FAILED.1),
                    Some("login-error"),
                    "/login",
                    "/login",
                ),
                StatusCode::UNAUTHORIZED,
            );
            let page = refuse(page, Event::TotpFailed, name, reason);
            return Ok(if locks_now {
                refuse(page, Event::AccountLocked, name, "totp")
            } else {
                page
            });
        }
        let msg = t(
            lang,
            "Wrong or already used code.",
            "Code erroné ou déjà utilisé.",
        );
        let enroll = enrolling(st, &s.user, stage, lang).await?;
        let page = code_page(
            lang,
            action,
            &s.csrf,
            Some(msg),
            enroll,
            (StatusCode::UNAUTHORIZED, has_passkey(st, s.user.id).await?),
        );
        return Ok(refuse(page, Event::TotpFailed, name, reason));
    }
    st.account_succeeded(&s.user.username);
    if stage == SessionStage::Enroll {
        st.store()
            .confirm_totp(
                s.user.id,
                &hygie_store::Actor(format!("web:{}", s.user.username)),
            )
            .await?;
    }
    st.store()
        .reset_failures(s.user.id, Factor::Password)
        .await?;
    st.store().reset_failures(s.user.id, Factor::Totp).await?;
    // Rotate again: the next session (complete, or changing a temporary password) gets a new id.
    let (next, to) = after_second_factor(&s.user);
    Ok(start_session(st, headers, s.user.id, next, to, client).await?)
}

async fn totp_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> PageResult {
    code_step(&st, (&headers, ip), &f, SessionStage::Totp, "/login/totp").await
}

/// The pending key when `stage` is the enrolment (its page shows it again), else None.
async fn enrolling(
    st: &AppState,
    user: &hygie_store::User,
    stage: SessionStage,
    lang: Lang,
) -> Result<Option<Enrolment>, WebError> {
    if stage == SessionStage::Enroll {
        Ok(Some(enrolment(st, user, lang).await?))
    } else {
        Ok(None)
    }
}

async fn enroll_form(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Enroll).await?;
    let lang = crate::session::user_lang(&s.user, &headers);
    let enroll = enrolment(&st, &s.user, lang).await?;
    Ok(code_page(
        lang,
        "/login/enroll",
        &s.csrf,
        None,
        Some(enroll),
        (StatusCode::OK, false),
    ))
}

/// Start the enrolment again with a new key (the app lost the old one, say); the old key, never
/// confirmed, no longer opens anything.
async fn enroll_restart(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Enroll).await?;
    if !auth::same(&f.csrf, &s.csrf) {
        let page = super::error_response(&WebError::Csrf);
        let name = Some(s.user.username.as_str());
        return Ok(refuse(page, Event::CsrfRejected, name, "csrf"));
    }
    new_pending_key(&st, s.user.id).await?;
    Ok(see_other("/login/enroll"))
}

async fn enroll_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> PageResult {
    code_step(
        &st,
        (&headers, ip),
        &f,
        SessionStage::Enroll,
        "/login/enroll",
    )
    .await
}

// --- a temporary password replaced ----------------------------------------------------------
