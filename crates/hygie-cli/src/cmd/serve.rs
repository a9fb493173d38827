//! `hygie serve`: the web application and API on the same store as the command line.

use super::Ctx;
use crate::exit;
use anyhow::Context as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// TLS certificate chain (PEM). With --tls-key, serve HTTPS and mark cookies Secure.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(hygie_web::tls::load(c, k).await?),
        _ => None,
    };
    let config = hygie_web::Config {
        secure_cookies: tls.is_some(),
        ..hygie_web::Config::default()
    };
    let state = hygie_web::AppState::new(store, catalog, config);
    if let Some(token) = state.bootstrap_token().await? {
        // Printed once on the console, never logged: it creates the first administrator.
        println!(
            "No user exists yet. Open http{}://{}/setup and enter this one-time token to create the first administrator:\n\n    {token}\n\nIl n'existe encore aucun utilisateur : ouvrez /setup et saisissez ce jeton à usage unique pour créer le premier administrateur.",
            if tls.is_some() { "s" } else { "" },
            a.listen
        );
    }
    let app = hygie_web::router(state);
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    eprintln!(
        "hygie serve: listening on http{}://{} ({})",
        if tls.is_some() { "s" } else { "" },
        a.listen,
        ctx.database_label()
    );
    match tls {
        Some(cfg) => hygie_web::tls::serve(listener, app, cfg).await?,
        None => axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the server stopped")?,
    }
    Ok(exit::OK)
}
