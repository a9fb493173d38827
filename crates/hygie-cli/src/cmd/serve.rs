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
    /// Breach-corpus index built by `hygie breached import`: passwords found in it are refused
    /// when accounts are created or passwords set.
    #[arg(long, value_name = "INDEX")]
    pub breached: Option<PathBuf>,
    /// Key file (64 hex digits, mode 0600) sealing the TOTP seeds in the database. Default:
    /// `secret.key` in the data directory, created on first run.
    #[arg(long, env = "HYGIE_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
}

/// The password audit's breach index seen by the web's password policy: a password is breached
/// when its NT hash is in the corpus.
struct Breached(hygie_passwords::BreachIndex);

impl hygie_web::auth::BreachIndex for Breached {
    fn contains(&self, password: &str) -> bool {
        self.0
            .contains(&hygie_passwords::NtHash::of_password(password))
    }
}

fn open_breached(path: &std::path::Path) -> anyhow::Result<Breached> {
    let index = hygie_passwords::BreachIndex::open(path)
        .with_context(|| format!("cannot open the breach index {}", path.display()))?;
    Ok(Breached(index))
}

pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(hygie_web::tls::load(c, k).await?),
        _ => None,
    };
    let breach_index = match &a.breached {
        Some(p) => Some(std::sync::Arc::new(open_breached(p)?)
            as std::sync::Arc<dyn hygie_web::auth::BreachIndex>),
        None => None,
    };
    let secret_key = match &a.secret_key_file {
        // A key named explicitly must exist: creating one would make the seeds sealed with the
        // intended key unreadable without notice.
        Some(p) => hygie_web::seal::SecretKey::load(p)?,
        None => {
            let dir = ctx.data_dir();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            hygie_web::seal::SecretKey::load_or_create(&dir.join("secret.key"))?
        }
    };
    let config = hygie_web::Config {
        secure_cookies: tls.is_some(),
        breach_index,
        secret_key: Some(secret_key),
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
    // The bound address, not the asked one: with port 0 the system picks a free port.
    let bound = listener.local_addr().unwrap_or(a.listen);
    eprintln!(
        "hygie serve: listening on http{}://{} ({})",
        if tls.is_some() { "s" } else { "" },
        bound,
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

#[cfg(test)]
mod tests {
    use super::*;
    use md4::Digest as _;

    fn nt_hex(password: &str) -> String {
        let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
        md4::Md4::digest(&utf16)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// An index in the password audit's format, opened as `--breached` does, makes the web's
    /// password policy refuse the breached password and accept another one.
    #[test]
    fn the_breach_index_refuses_breached_passwords() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut lines: Vec<String> = ["correct horse battery staple", "Summer2026!Summer"]
            .iter()
            .map(|p| format!("{}:42", nt_hex(p)))
            .collect();
        lines.sort();
        let input = lines.join("\n") + "\n";
        let index = dir.path().join("breached.idx");
        hygie_passwords::import(&mut input.as_bytes(), "test", &index, &mut |_| {})?;
        let breached = open_breached(&index)?;
        let check = |pw: &str| hygie_web::auth::check_password(pw, "alice", Some(&breached));
        assert!(check("correct horse battery staple").is_err());
        assert!(check("Summer2026!Summer").is_err());
        assert!(check("a long unbreached passphrase").is_ok());
        let missing = open_breached(&dir.path().join("none.idx"));
        assert!(missing.is_err_and(|e| e.to_string().contains("none.idx")));
        Ok(())
    }
}
