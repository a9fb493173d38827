//! The small HTTP client single sign-on needs: GET the discovery document and key set, POST the
//! token request. One request per connection (hyper's HTTP/1.1 client over TCP, TLS through
//! rustls with the system's roots or the provider's CA file); answers are capped in size and
//! time. Plain `http://` is accepted on loopback only (a test provider), never elsewhere.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Largest answer read from a provider.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
}

fn failed(url: &url::Url, message: impl std::fmt::Display) -> FetchError {
    FetchError::Failed {
        url: url.to_string(),
        message: message.to_string(),
    }
}

/// The client of one provider (its TLS roots).
#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oidc::fetch::Client")
    }
}

impl Client {
    /// A client trusting `ca_cert` (PEM) when given, else the system's roots.
    pub fn new(ca_cert: Option<&Path>) -> Result<Client, String> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        match ca_cert {
            Some(p) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                    .and_then(|i| i.collect())
                    .map_err(|e| format!("ca_cert {}: {e}", p.display()))?;
                if certs.is_empty() {
                    return Err(format!("ca_cert {}: no PEM certificate", p.display()));
                }
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| format!("ca_cert {}: {e}", p.display()))?;
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client { tls: Arc::new(tls) })
    }

    /// GET a JSON document.
    pub async fn get(&self, url: &url::Url) -> Result<Vec<u8>, FetchError> {
        let req = hyper::Request::get(url.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(url, e))?;
        self.send(url, req).await
    }

    /// POST a form, with HTTP Basic client authentication (`client_secret_basic`).
    pub async fn post_form(
        &self,
        url: &url::Url,
        form: String,
        basic: (&str, &str),
    ) -> Result<Vec<u8>, FetchError> {
        use base64::Engine as _;
        // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(basic.0),
            enc(basic.1)
        ));
        let req = hyper::Request::post(url.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(hyper::header::AUTHORIZATION, format!("Basic {credentials}"))
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| failed(url, e))?;
        self.send(url, req).await
    }

    async fn send(
        &self,
        url: &url::Url,
        mut req: hyper::Request<Full<Bytes>>,
    ) -> Result<Vec<u8>, FetchError> {
        let host = url.host_str().ok_or_else(|| failed(url, "no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| failed(url, "no port"))?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        req.headers_mut().insert(
            hyper::header::HOST,
            authority.parse().map_err(|e| failed(url, e))?,
        );
        // hyper's client sends the URI as given: origin-form (path and query) for HTTP/1.1.
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        *req.uri_mut() = path.parse().map_err(|e| failed(url, e))?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let work = async {
            let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
                .await
                .map_err(|e| failed(url, e))?;
            match url.scheme() {
                "https" => {
                    let name = ServerName::try_from(bare.clone()).map_err(|e| failed(url, e))?;
                    let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|e| failed(url, e))?;
                    exchange(url, hyper_util::rt::TokioIo::new(tls), req).await
                }
                "http" if is_loopback(&bare) => {
                    exchange(url, hyper_util::rt::TokioIo::new(tcp), req).await
                }
                _ => Err(failed(
                    url,
                    "https:// only (http:// on loopback for tests) / https:// uniquement",
                )),
            }
        };
        tokio::time::timeout(TIMEOUT, work)
            .await
            .map_err(|_| failed(url, "no answer in 10 s"))?
    }
}

/// Whether a host is the loopback interface.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn exchange<T>(
    url: &url::Url,
    io: T,
    req: hyper::Request<Full<Bytes>>,
) -> Result<Vec<u8>, FetchError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| failed(url, e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let res = sender.send_request(req).await.map_err(|e| failed(url, e))?;
    let status = res.status();
    let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| failed(url, e))?
        .to_bytes();
    if !status.is_success() {
        // The provider's error (a JSON `error` code) helps the administrator; never a token.
        let text = String::from_utf8_lossy(&body);
        let short: String = text.chars().take(200).collect();
        return Err(failed(url, format!("HTTP {status}: {short}")));
    }
    Ok(body.to_vec())
}
