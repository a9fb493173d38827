//! What single sign-on asks its providers: GET the discovery document and key set, POST the
//! token request, one request per connection through the one outbound client (`outbound`: TLS
//! with the system's roots or the provider's CA file; answers capped in size and time). Plain
//! `http://` is accepted on loopback only (a test provider), never elsewhere.

use crate::outbound;
use bytes::Bytes;
use http_body_util::Full;
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
        let tls = outbound::tls_config(ca_cert).map_err(|e| format!("ca_cert {e}"))?;
        Ok(Client { tls })
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
        let tls = match url.scheme() {
            "https" => Some(&self.tls),
            "http" if outbound::is_loopback(host) => None,
            _ => {
                return Err(failed(
                    url,
                    "https:// only (http:// on loopback for tests) / https:// uniquement",
                ));
            }
        };
        let target = outbound::Target {
            host,
            port,
            tls,
            proxy: None,
        };
        let work = async {
            let mut connection = outbound::connect(&target, TIMEOUT).await?;
            connection.send(req, MAX_ANSWER_BYTES, TIMEOUT).await
        };
        let (status, body) = work.await.map_err(|e| failed(url, e))?;
        if !status.is_success() {
            // The provider's error (a JSON `error` code) helps the administrator; never a token.
            let text = String::from_utf8_lossy(&body);
            let short: String = text.chars().take(200).collect();
            return Err(failed(url, format!("HTTP {status}: {short}")));
        }
        Ok(body.to_vec())
    }
}
