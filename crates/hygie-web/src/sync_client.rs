//! The facility's end of the online transport: one HTTPS connection to the regional instance
//! (`hygie sync push`, `hygie serve --sync-to`) that POSTs package files to
//! `/api/v1/sync/packages` (`sync_api` is the other end) with the enrolment's push token, and
//! reads the answer (`hygie_sync::PushAnswer`).
//!
//! HTTPS only: the token must not travel in clear. The server is checked against `--ca-cert`
//! (the region's own CA) or the system's roots. rustls and hyper's HTTP/1.1 client, no OpenSSL.
//! **Proxies**: `HTTPS_PROXY` (or `https_proxy`, then `ALL_PROXY`) names an HTTP proxy that the
//! connection goes through with `CONNECT` (TLS stays end to end), unless the region's host
//! matches `NO_PROXY` (names, `.suffix` or `*`, with or without port); a proxy asking for
//! credentials is not supported. Every step is bounded by a timeout, so a scheduled push never
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
/// Longest wait for a connection, a TLS handshake, or an answer.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read (the region's JSON is a few hundred bytes).
const MAX_ANSWER: usize = 1 << 20;

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
    tls: Arc<rustls::ClientConfig>,
    token: SecretString,
    proxy: Option<(String, u16)>,
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

    /// The proxy (host, port) to reach `host` through, if any.
    pub fn proxy_for(&self, host: &str) -> Result<Option<(String, u16)>, PushError> {
        let Some(proxy) = &self.https_proxy else {
            return Ok(None);
        };
        if let Some(list) = &self.no_proxy
            && bypassed(host, list)
        {
            return Ok(None);
        }
        let fail = |reason: &str| PushError::Proxy {
            proxy: proxy.clone(),
            reason: reason.to_owned(),
        };
        let rest = proxy.strip_prefix("http://").unwrap_or(proxy);
        if rest.contains("://") {
            return Err(fail("only http:// proxies (CONNECT) are supported"));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err(fail("proxy credentials are not supported"));
        }
        let (h, p) = split_host_port(authority, 3128).map_err(|r| fail(&r))?;
        Ok(Some((h, p)))
    }
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
            proxy: self.proxy.as_ref().map(|(h, p)| (h.as_str(), *p)),
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
        assert_eq!(
            e.proxy_for("hygie.region.example").unwrap(),
            Some(("proxy.chu.local".into(), 8080))
        );
        assert_eq!(e.proxy_for("hygie.ars.sante.fr").unwrap(), None);
        assert_eq!(e.proxy_for("ars.sante.fr").unwrap(), None);
        assert_eq!(e.proxy_for("localhost").unwrap(), None);
        assert!(e.proxy_for("notars.sante.fr.evil").unwrap().is_some());
        assert_eq!(
            env(Some("proxy:3128"), Some("*")).proxy_for("x").unwrap(),
            None
        );
        assert_eq!(
            env(Some("proxy"), Some("127.0.0.1:8443"))
                .proxy_for("127.0.0.1")
                .unwrap(),
            None
        );
        assert_eq!(
            env(Some("proxy"), None).proxy_for("x").unwrap(),
            Some(("proxy".into(), 3128))
        );
        assert_eq!(env(None, None).proxy_for("x").unwrap(), None);
        assert!(
            env(Some("http://u:p@proxy:1"), None)
                .proxy_for("x")
                .is_err()
        );
        assert!(env(Some("socks5://proxy:1"), None).proxy_for("x").is_err());
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
