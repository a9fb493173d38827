//! Hygie's one outbound HTTP client. The federation push (`sync_client`), single sign-on's calls
//! to its providers (`oidc::fetch`) and the CLI's webhooks all connect, check the server, bound
//! their waits and read answers here, the same way.
//!
//! HTTP/1.1 over hyper's connection API, TLS through rustls (ring, no OpenSSL) against the
//! system's roots or a CA file. A [`Connection`] carries requests one after the other (the push
//! sends its packages on one); the others open one per request. Plain `http://` is the caller's
//! decision (loopback receivers and test providers only). An HTTP proxy is crossed with `CONNECT`,
//! TLS staying end to end. Every step is bounded by the caller's timeout, so a scheduled pass never
//! hangs on a server that does not answer.
//!
//! Why on hyper and not reqwest: hyper (server and client) and rustls are already the web
//! server's; reqwest would add about thirty crates to the build for three small clients that need
//! neither cookies, redirects nor connection pools.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a request got no answer. Never carries a request's body or headers (tokens, signatures).
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("proxy {proxy}: {reason}")]
    Proxy { proxy: String, reason: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("HTTP: {0}")]
    Http(String),
}

/// A TLS client configuration trusting `ca_cert` (PEM, one or more certificates) when given,
/// else the system's roots. The error names the file.
pub fn tls_config(ca_cert: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_cert {
        Some(path) => {
            let fail = |reason: String| format!("{}: {reason}", path.display());
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| fail(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(e.to_string()))?;
            if certs.is_empty() {
                return Err(fail("no PEM certificate found".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| fail(e.to_string()))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err("no system CA certificates found: give a CA file".into());
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

/// Whether a host is the loopback interface (where plain HTTP may be allowed).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where a connection goes.
pub struct Target<'a> {
    /// Host name or address (IPv6 with or without brackets).
    pub host: &'a str,
    pub port: u16,
    /// TLS with this configuration; `None`: plain HTTP (the caller allowed it).
    pub tls: Option<&'a Arc<rustls::ClientConfig>>,
    /// An HTTP proxy crossed with `CONNECT`.
    pub proxy: Option<ProxyHop<'a>>,
}

/// An HTTP proxy: where it listens and, when it asks for credentials, the `Proxy-Authorization`
/// value sent with `CONNECT` only (to the proxy, never through the tunnel; never logged).
#[derive(Clone, Copy)]
pub struct ProxyHop<'a> {
    pub host: &'a str,
    pub port: u16,
    pub authorization: Option<&'a secrecy::SecretString>,
}

impl Target<'_> {
    /// `host:port` as the `Host` header and `CONNECT` want it.
    pub fn authority(&self) -> String {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        if bare.contains(':') {
            format!("[{bare}]:{}", self.port)
        } else {
            format!("{bare}:{}", self.port)
        }
    }
}

/// An open connection; requests go one after the other. Dropping it closes it.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Open a connection to `target` (through its proxy if any), the server checked against the
/// TLS roots; each step within `timeout`.
pub async fn connect(target: &Target<'_>, timeout: Duration) -> Result<Connection, OutboundError> {
    let bare = target.host.trim_start_matches('[').trim_end_matches(']');
    let authority = target.authority();
    let dial = match &target.proxy {
        Some(p) => format!("{}:{}", p.host, p.port),
        None => authority.clone(),
    };
    let connect_fail = |reason: String| OutboundError::Connect {
        addr: dial.clone(),
        reason,
    };
    let mut tcp = tokio::time::timeout(timeout, TcpStream::connect(&dial))
        .await
        .map_err(|_| connect_fail("timed out".into()))?
        .map_err(|e| connect_fail(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    if let Some(p) = &target.proxy {
        tokio::time::timeout(timeout, tunnel(&mut tcp, &authority, p.authorization))
            .await
            .map_err(|_| connect_fail("the proxy did not answer CONNECT in time".into()))?
            .map_err(|reason| OutboundError::Proxy {
                proxy: dial.clone(),
                reason,
            })?;
    }
    let handshake = async {
        match target.tls {
            Some(tls) => {
                let name = ServerName::try_from(bare.to_owned())
                    .map_err(|e| OutboundError::Tls(format!("{bare}: {e}")))?;
                let stream = tokio_rustls::TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| OutboundError::Tls(e.to_string()))?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| OutboundError::Http(e.to_string()))?;
                Ok((sender, tokio::spawn(async move { drop(conn.await) })))
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| OutboundError::Http(e.to_string()))?;
                Ok((sender, tokio::spawn(async move { drop(conn.await) })))
            }
        }
    };
    let (sender, driver) = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| OutboundError::Tls("handshake timed out".into()))??;
    Ok(Connection { sender, driver })
}

impl Connection {
    /// Send `request` and read the answer's status and body (at most `max_answer` bytes), within
    /// `timeout`. The caller sets the `Host` header and gives the path as the request's URI.
    pub async fn send(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
        max_answer: usize,
        timeout: Duration,
    ) -> Result<(hyper::StatusCode, Bytes), OutboundError> {
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| OutboundError::Http(e.to_string()))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| OutboundError::Http(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), max_answer)
                .collect()
                .await
                .map_err(|e| OutboundError::Http(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| OutboundError::Http("no answer in time".into()))?
    }
}

/// Ask the proxy for a tunnel to `authority` and read its answer's head (2xx or an error).
async fn tunnel(
    tcp: &mut TcpStream,
    authority: &str,
    authorization: Option<&secrecy::SecretString>,
) -> Result<(), String> {
    use secrecy::ExposeSecret as _;
    let mut request = zeroize::Zeroizing::new(format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    ));
    if let Some(a) = authorization {
        request.push_str("Proxy-Authorization: ");
        request.push_str(a.expose_secret());
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // Read byte by byte up to the blank line: nothing of the tunnel's data is read ahead.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err("the proxy's answer is too long".into());
        }
        let b = tcp.read_u8().await.map_err(|e| e.to_string())?;
        head.push(b);
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or_default().to_owned();
    match status.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(format!("CONNECT refused: {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_authority() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("hygie.ars.example"));
        assert!(!is_loopback("10.0.0.1"));
        let t = |host| Target {
            host,
            port: 8443,
            tls: None,
            proxy: None,
        };
        assert_eq!(t("::1").authority(), "[::1]:8443");
        assert_eq!(t("[::1]").authority(), "[::1]:8443");
        assert_eq!(t("region.example").authority(), "region.example:8443");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "not a certificate\n").expect("write");
        let e = tls_config(Some(&file)).expect_err("refused");
        assert!(e.contains("ca.pem"), "{e}");
    }
}
