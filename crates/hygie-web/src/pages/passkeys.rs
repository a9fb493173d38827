//! Passkeys: a user's own list (register, name, remove) under `/account/passkeys`, the second
//! factor of a login (`/login/passkey`, offered on the code page) and the passwordless sign-in
//! (`/login/passwordless`, from the login page). Each ceremony is two requests: a page carrying
//! the options and a random ceremony id (its state in the store, `crate::passkey`), then the
//! form the page script posts with the browser's answer. The login steps reuse the account
//! area's session starts and second-factor rules (as `sso` does); every refusal carries its
//! security event (`passkey_failed`).

use super::account::{LOGIN_FAILED, check_pre, login_page, start_session_proved};
use super::second_factor::{after_second_factor, pending_session};
use super::{ClientIp, PageResult, PageUser, anon_page, see_other, with_cookie};
use crate::ceremony::{begin, end};
use crate::events::{Event, refuse};
use crate::html::t;
use crate::passkey::{Passkeys, Prompt, browser_options, credential_key, passkey_name};
use crate::session::{PRE_COOKIE, browser_lang, set_cookie, user_lang};
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use hygie_store::{Ceremony, Factor, LoginProof, PasskeyInfo, SessionStage, StoreError};
use serde::Deserialize;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/passkeys", get(list).post(register_start))
        .route("/account/passkeys/finish", post(register_finish))
        .route("/account/passkeys/remove", post(remove))
        .route("/login/passkey", get(second_start).post(second_finish))
        .route(
            "/login/passwordless",
            get(passwordless_start).post(passwordless_finish),
        )
}

/// The signed-in user's passkeys and the form adding one.
#[derive(askama::Template)]
#[template(path = "passkeys.html")]
struct PasskeysBody<'a> {
    lang: Lang,
    csrf: &'a str,
    msg: Option<&'a str>,
    passkeys: &'a [PasskeyInfo],
    /// The server knows its public address: passkeys can be registered.
    enabled: bool,
}

/// What a ceremony page is for (its texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasskeyKind {
    Register,
    SecondFactor,
    Passwordless,
}

/// A ceremony's page: the options for the browser, the ceremony's id and, at registration, the
/// name chosen.
#[derive(askama::Template)]
#[template(path = "passkey.html")]
struct CeremonyBody<'a> {
    lang: Lang,
    kind: PasskeyKind,
    action: &'a str,
    csrf: &'a str,
    msg: Option<&'a str>,
    prompt: &'a str,
    options: &'a str,
    ceremony: &'a str,
    name: Option<&'a str>,
    back: &'a str,
}

hygie_report::translate_by_lang_field!(PasskeysBody, CeremonyBody);

/// The browser's answer to a ceremony, posted by the page script.
#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// Whether the user may prove the second factor with a passkey (passkeys are enabled and they
/// hold one).
pub(super) async fn has_passkey(st: &AppState, user_id: i64) -> Result<bool, WebError> {
    Ok(st.config().passkeys.is_some() && st.store().passkey_count(user_id).await? > 0)
}

fn relying(st: &AppState) -> Result<&Passkeys, WebError> {
    st.config()
        .passkeys
        .as_deref()
        .ok_or_else(|| WebError::NotFound("passkeys are not enabled (hygie serve --public-url) / les clés d'accès ne sont pas activées".into()))
}

/// How long a passkey ceremony may take.
fn lasts() -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(crate::passkey::CEREMONY_MINUTES)
}

/// The stored passkeys of a user, as webauthn-rs reads them.
async fn passkeys_of(st: &AppState, user_id: i64) -> Result<Vec<(String, Passkey)>, WebError> {
    let stored = st.store().passkeys_of(user_id).await?;
    stored
        .into_iter()
        .map(|p| match serde_json::from_str(&p.credential) {
            Ok(k) => Ok((p.info.credential_id, k)),
            Err(_) => Err(WebError::Internal(format!(
                "unreadable passkey {} of user {user_id}",
                p.info.credential_id
            ))),
        })
        .collect()
}

/// The passkey a sign-in used, its counter moved as the ceremony's result says.
async fn record_use(
    st: &AppState,
    keys: Vec<(String, Passkey)>,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<(), WebError> {
    for (id, mut key) in keys {
        if key.update_credential(result).is_some() {
            let text =
                serde_json::to_string(&key).map_err(|e| WebError::Internal(e.to_string()))?;
            st.store().passkey_used(&id, &text).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ceremony_page(
    lang: Lang,
    kind: PasskeyKind,
    (action, back): (&str, &str),
    csrf: &str,
    options: &str,
    ceremony: &str,
    name: Option<&str>,
    msg: Option<&str>,
) -> String {
    let prompt = match kind {
        PasskeyKind::Register => Prompt::Create,
        _ => Prompt::Get,
    };
    hygie_report::render(&CeremonyBody {
        lang,
        kind,
        action,
        csrf,
        msg,
        prompt: prompt.as_str(),
        options,
        ceremony,
        name,
        back,
    })
}

// --- the user's own passkeys -----------------------------------------------------------------

async fn list_view(
    st: &AppState,
    p: &PageUser,
    msg: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let lang = p.lang();
    let passkeys = st.scoped(&p.c).my_passkeys().await?;
    let b = hygie_report::render(&PasskeysBody {
        lang,
        csrf: p.c.csrf(),
        msg,
        passkeys: &passkeys,
        enabled: st.config().passkeys.is_some(),
    });
    let mut res = p.page(t(lang, "My passkeys", "Mes clés d'accès"), &b);
    *res.status_mut() = status;
    Ok(res)
}

async fn list(State(st): State<AppState>, p: PageUser) -> PageResult {
    list_view(&st, &p, None, StatusCode::OK).await
}

async fn register_start(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<NameForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let rp = relying(&st)?;
    let name = match passkey_name(&f.name) {
        Ok(n) => n,
        Err((en, fr)) => {
            return list_view(&st, &p, Some(t(lang, en, fr)), StatusCode::BAD_REQUEST).await;
        }
    };
    let handle = st
        .store()
        .passkey_handle(p.user.id, &Uuid::new_v4().to_string())
        .await?;
    let handle = Uuid::parse_str(&handle)
        .map_err(|_| WebError::Internal("unreadable passkey handle".into()))?;
    // The browser refuses to register twice on one authenticator.
    let exclude = passkeys_of(&st, p.user.id)
        .await?
        .iter()
        .map(|(_, k)| k.cred_id().clone())
        .collect();
    let (options, state) = rp
        .webauthn()
        .start_passkey_registration(
            handle,
            &p.user.username,
            &p.user.display_name,
            Some(exclude),
        )
        .map_err(|e| WebError::Internal(format!("passkey registration: {e}")))?;
    let id = begin(&st, Ceremony::Register, p.user.id, &state, lasts()).await?;
    let b = ceremony_page(
        lang,
        PasskeyKind::Register,
        ("/account/passkeys/finish", "/account/passkeys"),
        p.c.csrf(),
        &browser_options(&options, Prompt::Create),
        &id,
        Some(&name),
        None,
    );
    Ok(p.page(t(lang, "Add a passkey", "Ajouter une clé d'accès"), &b))
}

async fn register_finish(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<AnswerForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let rp = relying(&st)?;
    let name = match passkey_name(&f.name) {
        Ok(n) => n,
        Err((en, fr)) => {
            return list_view(&st, &p, Some(t(lang, en, fr)), StatusCode::BAD_REQUEST).await;
        }
    };
    let state: Option<PasskeyRegistration> =
        end(&st, &f.ceremony, Ceremony::Register, p.user.id).await?;
    let refused = |en, fr| (t(lang, en, fr), StatusCode::BAD_REQUEST);
    let outcome = match state {
        None => Err(refused(
            "The passkey request ended (it lasts a few minutes and serves once): start again.",
            "La demande de clé d'accès a pris fin (elle dure quelques minutes et sert une fois) : recommencez.",
        )),
        Some(state) => match serde_json::from_str::<RegisterPublicKeyCredential>(&f.credential) {
            Err(_) => Err(refused(
                "The browser's answer is not a passkey.",
                "La réponse du navigateur n'est pas une clé d'accès.",
            )),
            Ok(answer) => rp.webauthn().finish_passkey_registration(&answer, &state).map_err(|e| {
                tracing::debug!(error = %e, "passkey registration refused");
                refused(
                    "The passkey was refused (wrong site, no user verification, or a changed answer).",
                    "La clé d'accès a été refusée (mauvais site, pas de vérification de l'utilisateur, ou réponse modifiée).",
                )
            }),
        },
    };
    let key = match outcome {
        Ok(k) => k,
        Err((msg, status)) => {
            let page = list_view(&st, &p, Some(msg), status).await?;
            return Ok(refuse(
                page,
                Event::PasskeyFailed,
                Some(&p.user.username),
                "registration_refused",
            ));
        }
    };
    let id = credential_key(key.cred_id());
    let text = serde_json::to_string(&key).map_err(|e| WebError::Internal(e.to_string()))?;
    match st.scoped(&p.c).add_my_passkey(&id, &name, &text).await {
        Ok(()) => Ok(see_other("/account/passkeys")),
        Err(StoreError::Conflict(_)) => {
            let msg = t(
                lang,
                "This passkey is already registered.",
                "Cette clé d'accès est déjà enregistrée.",
            );
            list_view(&st, &p, Some(msg), StatusCode::CONFLICT).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

async fn remove(State(st): State<AppState>, p: PageUser, Form(f): Form<RemoveForm>) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    if !st.scoped(&p.c).remove_my_passkey(f.id.trim()).await? {
        return Err(WebError::NotFound("passkey / clé d'accès".into()).into());
    }
    Ok(see_other("/account/passkeys"))
}

// --- the second factor of a login ------------------------------------------------------------

async fn second_start(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Totp).await?;
    let lang = user_lang(&s.user, &headers);
    let rp = relying(&st)?;
    let keys: Vec<Passkey> = passkeys_of(&st, s.user.id)
        .await?
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    if keys.is_empty() {
        return Ok(see_other("/login/totp"));
    }
    let (options, state) = rp
        .webauthn()
        .start_passkey_authentication(&keys)
        .map_err(|e| WebError::Internal(format!("passkey authentication: {e}")))?;
    let id = begin(&st, Ceremony::SecondFactor, s.user.id, &state, lasts()).await?;
    let back = if s.user.totp_enrolled {
        "/login/totp"
    } else {
        "/login"
    };
    let b = ceremony_page(
        lang,
        PasskeyKind::SecondFactor,
        ("/login/passkey", back),
        &s.csrf,
        &browser_options(&options, Prompt::Get),
        &id,
        None,
        None,
    );
    Ok(anon_page(
        lang,
        t(lang, "Second factor", "Second facteur"),
        &b,
        StatusCode::OK,
    ))
}

/// The page of a refused passkey sign-in: the login failure, with a way back.
fn failed_page(lang: Lang, href: &str) -> Response {
    anon_page(
        lang,
        t(lang, "Log in", "Connexion"),
        &super::notice(
            t(lang, LOGIN_FAILED.0, LOGIN_FAILED.1),
            Some("login-error"),
            href,
            href,
        ),
        StatusCode::UNAUTHORIZED,
    )
}

async fn second_finish(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<AnswerForm>,
) -> PageResult {
    let (_, s) = pending_session(&st, &headers, SessionStage::Totp).await?;
    let lang = user_lang(&s.user, &headers);
    let name = Some(s.user.username.as_str());
    if !auth::same(&f.csrf, &s.csrf) {
        let page = super::error_response(&WebError::Csrf);
        return Ok(refuse(page, Event::CsrfRejected, name, "csrf"));
    }
    let rp = relying(&st)?;
    if !st.allow_from(crate::Attempt::Code, ip) || !st.allow_account_attempt(&s.user.username) {
        let page = failed_page(lang, "/login/passkey");
        return Ok(refuse(page, Event::LoginThrottled, name, "passkey"));
    }
    let cred = st.store().credentials(s.user.id).await?;
    let now = jiff::Timestamp::now();
    if cred.locked_until > now || cred.totp_locked_until > now {
        return Ok(refuse(
            failed_page(lang, "/login"),
            Event::PasskeyFailed,
            name,
            "locked",
        ));
    }
    let state: Option<PasskeyAuthentication> =
        end(&st, &f.ceremony, Ceremony::SecondFactor, s.user.id).await?;
    let answer = serde_json::from_str::<PublicKeyCredential>(&f.credential).ok();
    let (Some(state), Some(answer)) = (state, answer) else {
        return Ok(refuse(
            failed_page(lang, "/login/passkey"),
            Event::PasskeyFailed,
            name,
            "no_ceremony",
        ));
    };
    let result = match rp.webauthn().finish_passkey_authentication(&answer, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "passkey second factor refused");
            st.metrics()
                .login_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(refuse(
                failed_page(lang, "/login/passkey"),
                Event::PasskeyFailed,
                name,
                "passkey_refused",
            ));
        }
    };
    record_use(&st, passkeys_of(&st, s.user.id).await?, &result).await?;
    st.account_succeeded(&s.user.username);
    st.store()
        .reset_failures(s.user.id, Factor::Password)
        .await?;
    st.store().reset_failures(s.user.id, Factor::Totp).await?;
    let client = crate::events::address_class(ip);
    let next = after_second_factor(&s.user);
    Ok(start_session_proved(
        &st,
        &headers,
        s.user.id,
        next,
        &client,
        LoginProof::PasskeySecondFactor,
    )
    .await?)
}

// --- the passwordless sign-in ----------------------------------------------------------------

async fn passwordless_start(State(st): State<AppState>, headers: HeaderMap) -> PageResult {
    let lang = browser_lang(&headers);
    let rp = relying(&st)?;
    let (options, state) = rp
        .webauthn()
        .start_discoverable_authentication()
        .map_err(|e| WebError::Internal(format!("passkey authentication: {e}")))?;
    let id = begin(&st, Ceremony::Passwordless, 0, &state, lasts()).await?;
    // The double-submit token of the anonymous forms, as the login form has.
    let pre = auth::random_hex(16)?;
    let b = ceremony_page(
        lang,
        PasskeyKind::Passwordless,
        ("/login/passwordless", "/login"),
        &pre,
        &browser_options(&options, Prompt::Get),
        &id,
        None,
        None,
    );
    let page = anon_page(
        lang,
        t(
            lang,
            "Sign in with a passkey",
            "Se connecter avec une clé d'accès",
        ),
        &b,
        StatusCode::OK,
    );
    Ok(with_cookie(
        page,
        set_cookie(PRE_COOKIE, &pre, 600, st.config().secure_cookies),
    ))
}

async fn passwordless_finish(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<AnswerForm>,
) -> PageResult {
    let lang = browser_lang(&headers);
    check_pre(&headers, &f.csrf)?;
    let rp = relying(&st)?;
    let failed = |st: &AppState, user: Option<&str>, reason| -> PageResult {
        st.metrics()
            .login_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let msg = t(
            lang,
            "Sign-in with a passkey failed: the passkey is not registered (any more), or the account cannot use it.",
            "Échec de la connexion par clé d'accès : la clé n'est pas (plus) enregistrée, ou le compte ne peut pas l'utiliser.",
        );
        let page = login_page(st, lang, Some(msg), StatusCode::UNAUTHORIZED, false)?;
        Ok(refuse(page, Event::PasskeyFailed, user, reason))
    };
    if !st.allow_attempt(ip) {
        let msg = t(
            lang,
            "Too many attempts from this address: wait a minute.",
            "Trop de tentatives depuis cette adresse : attendez une minute.",
        );
        let page = login_page(&st, lang, Some(msg), StatusCode::TOO_MANY_REQUESTS, false)?;
        return Ok(refuse(page, Event::LoginThrottled, None, "address"));
    }
    let state: Option<DiscoverableAuthentication> =
        end(&st, &f.ceremony, Ceremony::Passwordless, 0).await?;
    let answer = serde_json::from_str::<PublicKeyCredential>(&f.credential).ok();
    let (Some(state), Some(answer)) = (state, answer) else {
        return failed(&st, None, "no_ceremony");
    };
    let Ok((handle, _)) = rp.webauthn().identify_discoverable_authentication(&answer) else {
        return failed(&st, None, "no_user_handle");
    };
    let Some(user_id) = st
        .store()
        .user_by_passkey_handle(&handle.to_string())
        .await?
    else {
        return failed(&st, None, "unknown_passkey");
    };
    let keys = passkeys_of(&st, user_id).await?;
    let discoverable: Vec<DiscoverableKey> =
        keys.iter().map(|(_, k)| DiscoverableKey::from(k)).collect();
    let user = st.store().user(user_id).await?;
    let name = Some(user.username.as_str());
    let result =
        match rp
            .webauthn()
            .finish_discoverable_authentication(&answer, state, &discoverable)
        {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "passwordless sign-in refused");
                return failed(&st, name, "passkey_refused");
            }
        };
    let cred = st.store().credentials(user_id).await?;
    let now = jiff::Timestamp::now();
    let refusal = if user.disabled {
        Some("disabled")
    } else if cred.locked_until > now || cred.totp_locked_until > now {
        Some("locked")
    } else if !user.sign_in.is_local() {
        // A directory or provider account: its role follows its groups or claims, which only
        // its own sign-in reads.
        Some("not_a_local_account")
    } else if st
        .config()
        .oidc
        .as_ref()
        .is_some_and(|sso| sso.requires_sso(user.role))
    {
        Some("sso_required")
    } else {
        None
    };
    if let Some(reason) = refusal {
        return failed(&st, name, reason);
    }
    record_use(&st, keys, &result).await?;
    st.store().reset_failures(user_id, Factor::Password).await?;
    st.store().reset_failures(user_id, Factor::Totp).await?;
    let client = crate::events::address_class(ip);
    let next = after_second_factor(&user);
    Ok(start_session_proved(&st, &headers, user_id, next, &client, LoginProof::Passkey).await?)
}
