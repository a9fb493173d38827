//! HTTPS with rustls (ring provider, no OpenSSL): `hygie serve --tls-cert PEM --tls-key PEM`.

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot load the TLS certificate {cert} and key {key}: {source}")]
    Load {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("the HTTPS server stopped: {0}")]
    Serve(std::io::Error),
}

/// Certificate and key, loaded and checked.
#[derive(Clone)]
pub struct TlsConfig(RustlsConfig);

pub async fn load(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(cert, key)
        .await
        .map(TlsConfig)
        .map_err(|source| TlsError::Load {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            source,
        })
}

/// Serve `app` over TLS on an already bound listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    cfg: TlsConfig,
) -> Result<(), TlsError> {
    let std = listener.into_std().map_err(TlsError::Serve)?;
    axum_server::from_tcp_rustls(std, cfg.0)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
        .map_err(TlsError::Serve)
}
