//! The facility's end of the online transport: one HTTPS connection to the regional instance
//! (`hygie sync push`, `hygie serve --sync-to`) that POSTs package files to
//! `/api/v1/sync/packages` (`sync_api` is the other end) with the enrolment's push token, and
//! reads the answer (`hygie_sync::PushAnswer`); then GETs the facility's requests file from
//! `/api/v1/sync/requests` on the same connection.
//!
//! HTTPS only: the token must not travel in clear. The server is checked against `--ca-cert`
//! (the region's own CA) or the system's roots. rustls and hyper's HTTP/1.1 client, no OpenSSL.
//! **Proxies**: `HTTPS_PROXY` (or `https_proxy`, then `ALL_PROXY`) names an HTTP proxy that the
//! connection goes through with `CONNECT` (TLS stays end to end), unless the region's host
//! matches `NO_PROXY` (names, `.suffix` or `*`, with or without port). Credentials in the proxy's
//! address (`http://user:password@proxy:3128`, %-escapes decoded) are sent as
//! `Proxy-Authorization: Basic` with `CONNECT` only; they are kept as a secret and an error
//! names the proxy as `http://***@proxy:3128`. Every step is bounded by a timeout, so a scheduled push never
//! hangs.

use crate::outbound::{self, OutboundError};
use bytes::Bytes;
use http_body_util::Full;
use hygie_sync::PushAnswer;
use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The endpoint, below the region's base address.
pub const PACKAGES_PATH: &str = "/api/v1/sync/packages";
/// Where the facility's requests are read, with the same token (`sync_api::requests`).
pub const REQUESTS_PATH: &str = "/api/v1/sync/requests";
/// Longest wait for a connection, a TLS handshake, or an answer.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read (the region's JSON is a few hundred bytes).
const MAX_ANSWER: usize = 1 << 20;
/// Largest requests file read.
const MAX_REQUESTS: usize = hygie_sync::MAX_REQUESTS_FILE;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("--to {url}: {reason} / adresse de la région invalide")]
    Url { url: String, reason: String },
    #[error("--ca-cert {path}: {reason} / certificat d'autorité illisible")]
    CaFile { path: String, reason: String },
    #[error("proxy {proxy}: {reason} / mandataire (proxy) inutilisable")]
    Proxy { proxy: String, reason: String },
    #[error("cannot reach the region at {addr}: {reason} / impossible de joindre la région")]
    Connect { addr: String, reason: String },
    #[error("TLS with the region failed: {0} / échec TLS avec la région")]
    Tls(String),
    #[error("HTTP with the region failed: {0} / échec HTTP avec la région")]
    Http(String),
    #[error(
        "the region refused the push token ({0}): ask the agency for the token of your enrolment / la région a refusé le jeton d'envoi ({0}) : demandez à l'agence le jeton de votre enrôlement"
    )]
    Token(String),
    #[error("the region answered {status}: {message} / la région a répondu {status} : {message}")]
    Answer { status: u16, message: String },
}

impl PushError {
    /// Whether the user's input is wrong (address, CA file, proxy, token), as against the
    /// network or the region failing (worth trying again later).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            PushError::Url { .. }
                | PushError::CaFile { .. }
                | PushError::Proxy { .. }
                | PushError::Token(_)
        )
    }
}

/// Where and how to push: the region's address, its trust roots, the token, the proxy if any.
pub struct PushTarget {
    host: String,
    port: u16,
    path: String,
    requests_path: String,
    tls: Arc<rustls::ClientConfig>,
    token: SecretString,
    proxy: Option<Proxy>,
}

/// The proxy a push goes through: where, and the `Proxy-Authorization` value when the proxy's
/// address carries credentials (`http://user:password@host:port`, percent-decoded).
pub struct Proxy {
    pub host: String,
    pub port: u16,
    authorization: Option<SecretString>,
}

impl Proxy {
    /// Whether credentials go with `CONNECT` (the value itself is never shown).
    pub fn authenticates(&self) -> bool {
        self.authorization.is_some()
    }
}

/// The proxy environment variables, read by the caller (`ProxyEnv::from_env`) and passed here.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// `HTTPS_PROXY`/`https_proxy`/`ALL_PROXY`/`all_proxy` and `NO_PROXY`/`no_proxy`, as curl reads them.
    pub fn from_env() -> ProxyEnv {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        ProxyEnv {
            https_proxy: first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
        }
    }

    /// The proxy to reach `host` through, if any. Its credentials (`user:password@`) become a
    /// `Proxy-Authorization: Basic` value; errors name the proxy without them.
    pub fn proxy_for(&self, host: &str) -> Result<Option<Proxy>, PushError> {
        let Some(proxy) = &self.https_proxy else {
            return Ok(None);
        };
        if let Some(list) = &self.no_proxy
            && bypassed(host, list)
        {
            return Ok(None);
        }
        let rest = proxy.strip_prefix("http://").unwrap_or(proxy);
        let authority = rest.split('/').next().unwrap_or_default();
        let (credentials, address) = match authority.rsplit_once('@') {
            Some((c, a)) => (Some(c), a),
            None => (None, authority),
        };
        let fail = |reason: &str| PushError::Proxy {
            proxy: format!(
                "http://{}{address}",
                if credentials.is_some() { "***@" } else { "" }
            ),
            reason: reason.to_owned(),
        };
        if rest.contains("://") {
            return Err(fail("only http:// proxies (CONNECT) are supported"));
        }
        let (h, p) = split_host_port(address, 3128).map_err(|r| fail(&r))?;
        let authorization = match credentials {
            None => None,
            Some(c) => {
                let (user, password) = c.split_once(':').unwrap_or((c, ""));
                let user =
                    percent_decode(user).ok_or_else(|| fail("bad %-escape in the user name"))?;
                let password =
                    percent_decode(password).ok_or_else(|| fail("bad %-escape in the password"))?;
                let decoded =
                    zeroize::Zeroizing::new(format!("{}:{}", user.as_str(), password.as_str()));
                use base64::Engine as _;
                Some(SecretString::from(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(decoded.as_bytes())
                )))
            }
        };
        Ok(Some(Proxy {
            host: h,
            port: p,
            authorization,
        }))
    }
}

/// `%XX` escapes decoded (a proxy URL's user and password), or None when one is malformed or
/// the result is not UTF-8.
fn percent_decode(s: &str) -> Option<zeroize::Zeroizing<String>> {
    let bytes = s.as_bytes();
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out.to_vec())
        .ok()
        .map(zeroize::Zeroizing::new)
}

/// Whether `host` is in a `NO_PROXY` list (comma-separated names, `.suffix`, `*`).
fn bypassed(host: &str, list: &str) -> bool {
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    list.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches("*.").to_ascii_lowercase();
        // An entry may carry a port; the name decides.
        let name = match entry.rsplit_once(':') {
            Some((n, p)) if p.chars().all(|c| c.is_ascii_digit()) && !n.contains(':') => n,
            _ => entry.as_str(),
        };
        let name = name.trim_matches(['[', ']']);
        name == "*"
            || (!name.is_empty()
                && (host == name.trim_start_matches('.')
                    || host.ends_with(&format!(".{}", name.trim_start_matches('.')))))
    })
}

fn split_host_port(authority: &str, default: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the address".to_owned())?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("'{p}' is not a port"))?,
        None => default,
    };
    Ok((host, port))
}

/// Trust roots: the PEM file given, else the system's (`outbound::tls_config`).
fn roots(ca_cert: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, PushError> {
    outbound::tls_config(ca_cert).map_err(|reason| match ca_cert {
        Some(path) => PushError::CaFile {
            path: path.display().to_string(),
            reason,
        },
        None => PushError::Tls(format!("{reason} (--ca-cert)")),
    })
}

impl From<OutboundError> for PushError {
    fn from(e: OutboundError) -> PushError {
        match e {
            OutboundError::Connect { addr, reason } => PushError::Connect { addr, reason },
            OutboundError::Proxy { proxy, reason } => PushError::Proxy { proxy, reason },
            OutboundError::Tls(t) => PushError::Tls(t),
            OutboundError::Http(h) => PushError::Http(h),
        }
    }
}

impl PushTarget {
    /// Parse `url` (`https://host[:port][/base]`), load the trust roots, pick the proxy.
    pub fn new(
        url: &str,
        ca_cert: Option<&Path>,
        token: SecretString,
        proxies: &ProxyEnv,
    ) -> Result<PushTarget, PushError> {
        let fail = |reason: &str| PushError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| fail("must start with https:// (the token must not travel in clear)"))?;
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.contains('@') || base.contains(['?', '#']) {
            return Err(fail("no credentials, query or fragment in the address"));
        }
        let (host, port) = split_host_port(authority, 443).map_err(|r| fail(&r))?;
        ServerName::try_from(host.clone()).map_err(|e| fail(&e.to_string()))?;
        Ok(PushTarget {
            proxy: proxies.proxy_for(&host)?,
            host,
            port,
            path: format!("{base}{PACKAGES_PATH}"),
            requests_path: format!("{base}{REQUESTS_PATH}"),
            tls: roots(ca_cert)?,
            token,
        })
    }

    /// The region's address as shown in messages (never the token).
    pub fn label(&self) -> String {
        format!("https://{}:{}{}", self.host, self.port, self.path)
    }

    /// Open the connection (through the proxy if any), TLS checked against the roots.
    pub async fn connect(&self) -> Result<Connection<'_>, PushError> {
        let target = outbound::Target {
            host: &self.host,
            port: self.port,
            tls: Some(&self.tls),
            proxy: self.proxy.as_ref().map(|p| outbound::ProxyHop {
                host: &p.host,
                port: p.port,
                authorization: p.authorization.as_ref(),
            }),
        };
        let inner = outbound::connect(&target, TIMEOUT).await?;
        Ok(Connection {
            target: self,
            inner,
            authority: target.authority(),
        })
    }
}

/// An open HTTPS connection to the region; packages are sent one after the other on it.
pub struct Connection<'a> {
    target: &'a PushTarget,
    inner: outbound::Connection,
    authority: String,
}

impl Connection<'_> {
    /// POST one package file; the region's answer, or why there is none.
    pub async fn send(&mut self, package: Vec<u8>) -> Result<PushAnswer, PushError> {
        let request = axum::http::Request::post(self.target.path.as_str())
            .header(axum::http::header::HOST, self.authority.as_str())
            .header(
                axum::http::header::AUTHORIZATION,
                format!("Bearer {}", self.target.token.expose_secret()),
            )
            .header(axum::http::header::CONTENT_TYPE, "application/octet-stream")
            .header(axum::http::header::CONTENT_LENGTH, package.len())
            .body(Full::new(Bytes::from(package)))
            .map_err(|e| PushError::Http(e.to_string()))?;
        let (status, body) = self.inner.send(request, MAX_ANSWER, TIMEOUT).await?;
        let status = status.as_u16();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status == 401 {
            return Err(PushError::Token(
                json.get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("authentication required")
                    .to_owned(),
            ));
        }
        match PushAnswer::parse(&json) {
            Some(a) => Ok(a),
            None => Err(PushError::Answer {
                status,
                message: json.get("error").and_then(|e| e.as_str()).map_or_else(
                    || String::from_utf8_lossy(&body).chars().take(200).collect(),
                    str::to_owned,
                ),
            }),
        }
    }
}

impl Connection<'_> {
    /// GET the facility's requests file (its bytes, checked by the caller against the region
    /// key it trusts: the TLS channel alone is not what makes a request genuine).
    pub async fn fetch_requests(&mut self) -> Result<Vec<u8>, PushError> {
        let request = axum::http::Request::get(self.target.requests_path.as_str())
            .header(axum::http::header::HOST, self.authority.as_str())
            .header(
                axum::http::header::AUTHORIZATION,
                format!("Bearer {}", self.target.token.expose_secret()),
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| PushError::Http(e.to_string()))?;
        let (status, body) = self.inner.send(request, MAX_REQUESTS, TIMEOUT).await?;
        match status.as_u16() {
            200 => Ok(body.to_vec()),
            401 => Err(PushError::Token("requests".into())),
            s => Err(PushError::Answer {
                status: s,
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(proxy: Option<&str>, no: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            https_proxy: proxy.map(str::to_owned),
            no_proxy: no.map(str::to_owned),
        }
    }

    #[test]
    fn proxies_are_taken_unless_the_host_is_excluded() {
        let e = env(
            Some("http://proxy.chu.local:8080"),
            Some("localhost,.ars.sante.fr"),
        );
        let at = |e: &ProxyEnv, host: &str| e.proxy_for(host).unwrap().map(|p| (p.host, p.port));
        assert_eq!(
            at(&e, "hygie.region.example"),
            Some(("proxy.chu.local".into(), 8080))
        );
        assert_eq!(at(&e, "hygie.ars.sante.fr"), None);
        assert_eq!(at(&e, "ars.sante.fr"), None);
        assert_eq!(at(&e, "localhost"), None);
        assert!(at(&e, "notars.sante.fr.evil").is_some());
        assert_eq!(at(&env(Some("proxy:3128"), Some("*")), "x"), None);
        assert_eq!(
            at(&env(Some("proxy"), Some("127.0.0.1:8443")), "127.0.0.1"),
            None
        );
        assert_eq!(
            at(&env(Some("proxy"), None), "x"),
            Some(("proxy".into(), 3128))
        );
        assert_eq!(at(&env(None, None), "x"), None);
        assert!(env(Some("socks5://proxy:1"), None).proxy_for("x").is_err());
    }

    #[test]
    fn proxy_credentials_become_basic_authorization_and_never_show() {
        use secrecy::ExposeSecret as _;
        let p = env(Some("http://chu%5Cjdupont:s%40cret:x@proxy:8080"), None)
            .proxy_for("region")
            .unwrap()
            .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy", 8080));
        // base64 of `chu\jdupont:s@cret:x`
        assert_eq!(
            p.authorization.as_ref().unwrap().expose_secret(),
            "Basic Y2h1XGpkdXBvbnQ6c0BjcmV0Ong="
        );
        assert!(p.authenticates());
        let e = env(Some("http://u:hunter2@proxy:port"), None)
            .proxy_for("x")
            .err()
            .unwrap()
            .to_string();
        assert!(
            !e.contains("hunter2") && e.contains("***@proxy:port"),
            "{e}"
        );
        assert!(
            env(Some("http://u:%zz@proxy:1"), None)
                .proxy_for("x")
                .is_err()
        );
    }

    #[test]
    fn only_https_addresses_are_accepted() {
        let t = |u: &str| PushTarget::new(u, None, SecretString::from("t"), &ProxyEnv::default());
        assert!(matches!(
            t("http://region:8443"),
            Err(PushError::Url { .. })
        ));
        assert!(matches!(
            t("https://u:p@region"),
            Err(PushError::Url { .. })
        ));
        assert!(matches!(t("https://"), Err(PushError::Url { .. })));
        assert!(matches!(
            t("https://region:port"),
            Err(PushError::Url { .. })
        ));
        assert_eq!(
            split_host_port("[::1]:8443", 443).unwrap(),
            ("::1".into(), 8443)
        );
        assert_eq!(
            split_host_port("region.example", 443).unwrap(),
            ("region.example".into(), 443)
        );
    }
}
