//! Who is calling: a bearer API token or a session cookie; cookies and language detection.

use crate::{AppState, WebError, auth};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use hygie_core::Lang;
use hygie_store::{Access, ApiToken, Session, SessionStage, User};

/// The session cookie: an opaque 256-bit random id; the store keeps only its digest.
pub const SESSION_COOKIE: &str = "hygie_session";
/// The pre-login anti-CSRF cookie (double submit) of the login and setup forms.
pub const PRE_COOKIE: &str = "hygie_pre";

/// An authenticated caller (fully logged-in user or API token).
#[derive(Debug, Clone)]
pub struct Caller {
    pub access: Access,
    pub user: Option<User>,
    /// The session's id digest and CSRF token, when authenticated by cookie.
    pub session: Option<(String, String)>,
    pub lang: Lang,
}

impl Caller {
    /// State-changing requests authenticated by cookie must carry the session's CSRF token.
    /// Bearer-token requests carry no ambient credential, so they need none.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), WebError> {
        match &self.session {
            None => Ok(()),
            Some((_, csrf)) => match token {
                Some(t) if auth::same(t, csrf) => Ok(()),
                _ => Err(WebError::Csrf),
            },
        }
    }

    pub fn csrf(&self) -> &str {
        self.session.as_ref().map(|(_, c)| c.as_str()).unwrap_or("")
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Caller, WebError> {
        // The security log names the caller even when a later check refuses the request.
        let who = parts.extensions.get::<crate::events::Who>().cloned();
        if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
            let refused = |token: Option<&ApiToken>, reason| WebError::TokenRefused {
                token: token.map(|t| t.id.clone()),
                reason,
            };
            let v = v.to_str().map_err(|_| refused(None, "malformed"))?;
            let token = v
                .strip_prefix("Bearer ")
                .ok_or_else(|| refused(None, "malformed"))?
                .trim();
            let t = st
                .store()
                .token_by_hash_any(&auth::digest(token))
                .await?
                .ok_or_else(|| refused(None, "unknown"))?;
            if t.revoked_at.is_some() {
                return Err(refused(Some(&t), "revoked"));
            }
            if !t.live(jiff::Timestamp::now()) {
                return Err(refused(Some(&t), "expired"));
            }
            st.store().token_used(&t).await?;
            if let Some(w) = &who {
                w.set(format!("token:{}", t.id));
            }
            return Ok(Caller {
                access: Access::for_token(&t),
                user: None,
                session: None,
                lang: reader_lang(parts, None),
            });
        }
        match session_of(st, &parts.headers).await? {
            Some((hash, s)) if s.stage == SessionStage::Full => {
                keep_alive(st, &hash, s.expires).await?;
                if let Some(w) = &who {
                    w.set(s.user.username.clone());
                }
                Ok(Caller {
                    access: Access::for_user(&s.user),
                    lang: reader_lang(parts, Some(&s.user)),
                    user: Some(s.session.user),
                    session: Some((hash, s.csrf.clone())),
                })
            }
            // A login still under way opens nothing yet; it is no failure.
            Some(_) => Err(WebError::Unauthorized),
            None if cookie(&parts.headers, SESSION_COOKIE).is_some_and(|c| !c.is_empty()) => {
                Err(WebError::SessionRefused)
            }
            None => Err(WebError::Unauthorized),
        }
    }
}

/// How stale a session's end may get before a request moves it: one write per session every
/// few minutes at most, never one per request.
const TOUCH_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// A request in a session pushes its idle end back (up to the session's longest lifetime).
async fn keep_alive(st: &AppState, hash: &str, expires: jiff::Timestamp) -> Result<(), WebError> {
    let idle = st.config().session_idle;
    let left = expires.duration_since(jiff::Timestamp::now());
    if left < idle.saturating_sub(TOUCH_EVERY) {
        st.store()
            .touch_session(hash, idle, st.config().session_ttl)
            .await?;
    }
    Ok(())
}

/// A live session with its CSRF token, derived from the cookie's id (`auth::csrf_token`).
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: Session,
    pub csrf: String,
}

impl std::ops::Deref for LiveSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

/// The session named by the cookie, at any stage of the login flow, under its id's digest.
pub async fn session_of(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, LiveSession)>, WebError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = auth::digest(&id);
    let csrf = auth::csrf_token(&id);
    Ok(st
        .store()
        .session(&hash)
        .await?
        .map(|session| (hash, LiveSession { session, csrf })))
}

/// The value of a cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure under TLS.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The language the browser prefers among FR and EN (EN when it names neither).
pub fn browser_lang(headers: &HeaderMap) -> Lang {
    let Some(v) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Lang::En;
    };
    let mut best: Option<(f32, Lang)> = None;
    for part in v.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag.starts_with("fr") {
            Lang::Fr
        } else if tag.starts_with("en") {
            Lang::En
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Lang::En)
}

/// The language a page's address asks for (`?lang=fr`, `?lang=en`): it beats the account's
/// choice for that one page (a link sent to a colleague, a check of every page in one language).
pub fn query_lang(uri: &axum::http::Uri) -> Option<Lang> {
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(|v| v.parse().ok())
}

/// The language of the caller's answer: the address's, else the user's choice, else the
/// browser's; noted in the request's [`ReaderLang`] slot for the error page it may end with.
fn reader_lang(parts: &Parts, user: Option<&User>) -> Lang {
    let lang = query_lang(&parts.uri).unwrap_or_else(|| match user {
        Some(u) => user_lang(u, &parts.headers),
        None => browser_lang(&parts.headers),
    });
    if let Some(slot) = parts.extensions.get::<ReaderLang>() {
        slot.set(lang);
    }
    lang
}

/// The reader's language as the `Caller` extractor found it, read after the handler by the
/// pages' middleware that writes an error page in that language (a request extension both
/// share, as `events::Who`).
#[derive(Debug, Clone, Default)]
pub struct ReaderLang(std::sync::Arc<std::sync::Mutex<Option<Lang>>>);

impl ReaderLang {
    fn set(&self, lang: Lang) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(lang);
        }
    }
    pub fn get(&self) -> Option<Lang> {
        self.0.lock().ok().and_then(|s| *s)
    }
}

/// A user's chosen language, else the browser's.
pub fn user_lang(u: &User, headers: &HeaderMap) -> Lang {
    u.lang
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| browser_lang(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        let table = [
            ("fr-FR,fr;q=0.9,en;q=0.8", Lang::Fr),
            ("en-GB,en;q=0.9,fr;q=0.8", Lang::En),
            ("de-DE,fr;q=0.5,en;q=0.7", Lang::En),
            ("de-DE", Lang::En),
            ("de,fr;q=0.3", Lang::Fr),
        ];
        for (h, want) in table {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(h));
            assert_eq!(browser_lang(&m), want, "{h}");
        }
        assert_eq!(browser_lang(&HeaderMap::new()), Lang::En);
    }

    #[test]
    fn cookies() {
        let mut m = HeaderMap::new();
        m.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hygie_session=abc; b=2"),
        );
        assert_eq!(cookie(&m, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&m, "c"), None);
        let c = set_cookie("x", "y", 10, true);
        let c = c.to_str().unwrap_or("");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
    }
}
