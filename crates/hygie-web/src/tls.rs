//! HTTPS with rustls (ring provider, no OpenSSL): `hygie serve --tls-cert PEM --tls-key PEM`.
//! The certificate and key are loaded here; the connections are served by `crate::server`, the
//! same accept loop as plain HTTP, so both get the same limits.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot load the TLS certificate {cert} and key {key}: {reason}")]
    Load {
        cert: String,
        key: String,
        reason: String,
    },
}

/// Certificate and key, loaded and checked.
#[derive(Clone)]
pub struct TlsConfig(pub(crate) Arc<rustls::ServerConfig>);

/// Load a PEM certificate chain and its private key, and check that they match.
pub fn load(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
    let fail = |reason: String| TlsError::Load {
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if chain.is_empty() {
        return Err(fail(format!("{} holds no certificate", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| fail(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| fail(e.to_string()))?;
    // HTTP/1.1 only: the server's timeouts (headers, idle, body) are HTTP/1.1's (`server`).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConfig(Arc::new(config)))
}
