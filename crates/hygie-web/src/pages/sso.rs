//! Single sign-on pages: the login page's provider button leads to `/login/sso/{provider}`,
//! which sends the browser to the provider; the provider sends it back to
//! `/login/sso/{provider}/callback`, where the code is redeemed, the ID token checked
//! (`crate::oidc`), the account mapped, created or updated, and the session started with the same
//! second-factor rules as a password login (unless the token says a strong method was used).
//!
//! The login in progress is a ceremony in the store (`crate::ceremony`: any `serve` process on
//! the store answers the callback), bound to the browser by a `SameSite=Lax` cookie (a Strict one would
//! not come back with the provider's cross-site redirect). For the same reason the callback
//! answers with a page that moves on with a `Refresh` header, a navigation of Hygie's own page,
//! so that the Strict session cookie it sets is sent with the next request.

use super::account::first_factor_accepted;
use super::{ClientIp, PageResult, anon_page, notice, see_other, with_cookie};
use crate::ceremony::{begin, end};
use crate::events::{Event, refuse};
use crate::html::t;
use crate::oidc::{Pending, ProviderError, Sso};
use crate::session::{browser_lang, cookie};
use crate::{AppState, WebError, auth};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use hygie_core::Lang;
use hygie_store::{Ceremony, SignIn};
use std::sync::Arc;

/// The cookie binding a login in progress to its browser (its secret; the server keeps a digest).
const SSO_COOKIE: &str = "hygie_sso";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/sso/{provider}", get(start))
        .route("/login/sso/{provider}/callback", get(callback))
}

fn sso_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let s = format!(
        "{SSO_COOKIE}={value}; Path=/login/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn sso(st: &AppState) -> Result<Arc<Sso>, WebError> {
    st.config()
        .oidc
        .clone()
        .ok_or_else(|| WebError::NotFound("single sign-on is not configured".into()))
}

/// The page saying a provider cannot be used now (its error goes to the log, not the page).
fn unavailable(lang: Lang, provider: &str, e: &ProviderError) -> Response {
    tracing::error!(target: "hygie::security", provider = %provider, error = %e, "single sign-on: the provider could not be used");
    let body = notice(
        t(
            lang,
            "The identity provider cannot be reached or answered wrongly: try again in a moment, or tell IT.",
            "Le fournisseur d'identité est injoignable ou a mal répondu : réessayez dans un instant, ou prévenez l'informatique.",
        ),
        Some("sso-error"),
        "/login",
        t(
            lang,
            "Back to the login page",
            "Retour à la page de connexion",
        ),
    );
    anon_page(
        lang,
        t(lang, "Single sign-on", "Authentification unique"),
        &body,
        StatusCode::BAD_GATEWAY,
    )
}

/// Send the browser to the provider, with a fresh state, nonce and PKCE verifier.
async fn start(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    let lang = browser_lang(&headers);
    let sso = sso(&st)?;
    let p = sso
        .provider(&name)
        .ok_or_else(|| WebError::NotFound(format!("identity provider {name}")))?;
    let d = match p.documents().await {
        Ok(d) => d,
        Err(e) => return Ok(unavailable(lang, &name, &e)),
    };
    let nonce = auth::random_hex(16)?;
    let browser = auth::random_hex(16)?;
    let (verifier, challenge) = crate::oidc::pkce()?;
    let pending = Pending {
        provider: name.clone(),
        nonce,
        verifier,
        browser: auth::digest(&browser),
        lang,
    };
    let lasts = jiff::SignedDuration::try_from(crate::oidc::PENDING_TTL)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // The ceremony's id is the `state` the provider sends back.
    let state = begin(&st, Ceremony::SingleSignOn, 0, &pending, lasts).await?;
    let to = p.authorization_url(&d, &state, &pending.nonce, &challenge);
    Ok(with_cookie(
        see_other(to.as_str()),
        sso_cookie(
            &browser,
            crate::oidc::PENDING_TTL.as_secs(),
            st.config().secure_cookies,
        ),
    ))
}

#[derive(serde::Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The refusal page of a single sign-on login, with its journal-free security event (the
/// journalled refusals are the mapping's).
fn refused(lang: Lang, msg: &str, user: Option<&str>, reason: &'static str) -> Response {
    let body = notice(
        msg,
        Some("sso-refused"),
        "/login",
        t(
            lang,
            "Back to the login page",
            "Retour à la page de connexion",
        ),
    );
    let page = anon_page(
        lang,
        t(lang, "Access refused", "Accès refusé"),
        &body,
        StatusCode::FORBIDDEN,
    );
    refuse(page, Event::LoginFailed, user, reason)
}

async fn callback(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> PageResult {
    let sso = sso(&st)?;
    let p = sso
        .provider(&name)
        .ok_or_else(|| WebError::NotFound(format!("identity provider {name}")))?;
    let pending: Option<Pending> = match q.state.as_deref() {
        Some(state) => end(&st, state, Ceremony::SingleSignOn, 0).await?,
        None => None,
    };
    let lang = pending
        .as_ref()
        .map(|x| x.lang)
        .unwrap_or_else(|| browser_lang(&headers));
    let expired = t(
        lang,
        "This sign-in has expired or did not start in this browser: start again from the login page.",
        "Cette connexion a expiré ou n'a pas commencé dans ce navigateur : recommencez depuis la page de connexion.",
    );
    let Some(pending) = pending else {
        return Ok(refused(lang, expired, None, "sso_unknown_state"));
    };
    let same_browser = cookie(&headers, SSO_COOKIE)
        .is_some_and(|c| auth::same(&auth::digest(&c), &pending.browser));
    if pending.provider != name || !same_browser {
        return Ok(refused(lang, expired, None, "sso_other_browser"));
    }
    if let Some(e) = &q.error {
        // The provider refused or the user cancelled: its error code only (a fixed vocabulary).
        let code: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        tracing::info!(target: "hygie::security", provider = %name, error = %code, "single sign-on: the provider returned an error");
        return Ok(refused(
            lang,
            t(
                lang,
                "The identity provider did not sign you in.",
                "Le fournisseur d'identité ne vous a pas connecté.",
            ),
            None,
            "sso_provider_error",
        ));
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(refused(lang, expired, None, "sso_no_code"));
    };
    let token = match p.redeem(code, &pending).await {
        Ok(t) => t,
        Err(ProviderError::Token(e)) => {
            tracing::warn!(target: "hygie::security", provider = %name, error = %e, "single sign-on: ID token refused");
            return Ok(refused(
                lang,
                t(
                    lang,
                    "The identity provider's answer failed its checks: you are not signed in.",
                    "La réponse du fournisseur d'identité n'a pas passé les contrôles : vous n'êtes pas connecté.",
                ),
                None,
                "sso_token_refused",
            ));
        }
        Err(e) => return Ok(unavailable(lang, &name, &e)),
    };
    let source = SignIn::Oidc(name.clone());
    let no_access = t(
        lang,
        "Your account at the identity provider gives no access to Hygie: ask the CISO or IT to grant you a role.",
        "Votre compte chez le fournisseur d'identité ne donne pas accès à Hygie : demandez au RSSI ou à l'informatique de vous attribuer un rôle.",
    );
    let Some(username) = p.username(&token) else {
        st.store()
            .record_external_refusal(&token.subject, &source, "no_username", 0)
            .await?;
        return Ok(refused(lang, no_access, None, "sso_no_username"));
    };
    let Some(map) = p.decide(&token) else {
        st.store()
            .record_external_refusal(
                &username,
                &source,
                "no_mapped_claim",
                token.values(&p.claim).len(),
            )
            .await?;
        return Ok(refused(lang, no_access, Some(&username), "no_mapped_claim"));
    };
    let display = token
        .text("name")
        .map(str::to_owned)
        .unwrap_or_else(|| username.clone());
    let signed = st
        .store()
        .sign_in_external_user(&hygie_store::ExternalSignIn {
            username: &username,
            display_name: &display,
            role: map.role,
            binding: map.binding.clone(),
            source,
            decided_by: serde_json::json!({ "claim": p.claim, "value": map.value }),
        })
        .await;
    let user = match signed {
        Ok(u) => u,
        Err(hygie_store::StoreError::Conflict(_)) => {
            return Ok(refused(
                lang,
                t(
                    lang,
                    "An account of this name signs in another way: ask an administrator.",
                    "Un compte de ce nom se connecte autrement : adressez-vous à un administrateur.",
                ),
                Some(&username),
                "account_conflict",
            ));
        }
        Err(hygie_store::StoreError::Invalid(m)) => {
            tracing::warn!(target: "hygie::security", provider = %name, error = %m, "single sign-on: the account cannot be made");
            return Ok(refused(lang, no_access, None, "sso_invalid_account"));
        }
        Err(e) => return Err(e.into()),
    };
    if user.disabled {
        return Ok(refused(lang, no_access, Some(&username), "disabled"));
    }
    let strong = p.strong(&token);
    let r = first_factor_accepted(&st, user, &username, &headers, ip, strong).await?;
    Ok(through_own_page(r, lang, st.config().secure_cookies))
}

/// Turn a redirect answering the provider's cross-site navigation into a page of Hygie that
/// moves on by itself (`Refresh`), keeping its cookies: the next request is then Hygie's own
/// navigation, and carries the Strict session cookie.
fn through_own_page(r: Response, lang: Lang, secure: bool) -> Response {
    let to = r
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    let cookies: Vec<HeaderValue> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let mut page = onward(
        lang,
        t(lang, "Single sign-on", "Authentification unique"),
        &Onward {
            id: "sso-continue",
            msg: t(lang, "Signed in.", "Connecté."),
            href: &to,
            link: t(lang, "Continue", "Continuer"),
        },
    );
    for c in cookies {
        page.headers_mut().append(header::SET_COOKIE, c);
    }
    with_cookie(page, sso_cookie("", 0, secure))
}

/// After the local session ended: the page sending the browser to the provider's end-session
/// endpoint (a page, not a redirect: the logout form may only lead to Hygie itself).
pub(super) async fn provider_logout(
    st: &AppState,
    user: &hygie_store::User,
    lang: Lang,
) -> Option<Response> {
    let SignIn::Oidc(name) = &user.sign_in else {
        return None;
    };
    let sso = st.config().oidc.clone()?;
    let p = sso.provider(name)?;
    let mut end = p.end_session_endpoint().await?;
    {
        let mut q = end.query_pairs_mut();
        q.append_pair("client_id", &p.client_id);
        if let Some(back) = &p.post_logout_redirect_url {
            q.append_pair("post_logout_redirect_uri", back.as_str());
        }
    }
    let page = onward(
        lang,
        t(lang, "Signed out", "Déconnecté"),
        &Onward {
            id: "sso-logout",
            msg: t(
                lang,
                "You are signed out of Hygie.",
                "Vous êtes déconnecté de Hygie.",
            ),
            href: end.as_str(),
            link: t(
                lang,
                "Sign out at the identity provider too",
                "Se déconnecter aussi du fournisseur d'identité",
            ),
        },
    );
    Some(page)
}

/// A page moving on by itself, with its link for a browser that does not.
#[derive(askama::Template)]
#[template(path = "sso_onward.html")]
struct Onward<'a> {
    id: &'a str,
    msg: &'a str,
    href: &'a str,
    link: &'a str,
}

fn onward(lang: Lang, title: &str, o: &Onward<'_>) -> Response {
    let mut page = anon_page(lang, title, &hygie_report::render(o), StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("0; url={}", o.href)) {
        page.headers_mut().insert(header::REFRESH, v);
    }
    page
}

/// The providers' buttons of the login page: (name, label).
pub(super) fn buttons(st: &AppState) -> Vec<(String, String)> {
    st.config()
        .oidc
        .as_ref()
        .map(|s| {
            s.providers
                .iter()
                .map(|p| (p.name.clone(), p.label.clone()))
                .collect()
        })
        .unwrap_or_default()
}
