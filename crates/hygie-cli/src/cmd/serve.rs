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
    /// `$XDG_CONFIG_HOME/hygie/secret.key` (else `~/.config/hygie/`, else `/etc/hygie/`),
    /// created on first run, apart from the data directory; a `secret.key` that an earlier
    /// version left in the data directory is still read, with a warning.
    #[arg(long, env = "HYGIE_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Reverse proxy (address or block, e.g. 10.0.0.5 or 10.0.0.0/24) whose X-Forwarded-For
    /// names the client for throttling and logs; repeat for several. Other peers' header is
    /// ignored.
    #[arg(long = "trusted-proxy", value_name = "ADDR/CIDR", value_parser = parse_cidr)]
    pub trusted_proxies: Vec<hygie_web::client::Cidr>,
    /// File holding the bearer token (32 characters or more, mode 0600) that may read /metrics,
    /// besides administrators' API tokens.
    #[arg(long, env = "HYGIE_METRICS_TOKEN_FILE", value_name = "FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Connections served at once; beyond, new ones are refused at once (503). Default: 1024,
    /// or half the file-descriptor limit when lower.
    #[arg(long, env = "HYGIE_MAX_CONNECTIONS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Seconds a client has to send a request's headers (and to finish the TLS handshake); a
    /// kept-alive connection idle this long is closed.
    #[arg(long, env = "HYGIE_HEADER_TIMEOUT", value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's whole body (an evidence upload included).
    #[arg(long, env = "HYGIE_BODY_TIMEOUT", value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Sign users in with the hospital's Active Directory: a TOML file naming the domain
    /// controller (ldaps:// URL, CA file, TLS server name, base DN, UPN suffix) and mapping
    /// directory groups, nested membership included, to Hygie roles and facilities or a region
    /// (`[[map]] group = "CN=...", role = "ciso", facilities = ["750000001"]`; the first
    /// matching entry decides). Passwords are checked by a bind as the user, never stored.
    /// Local accounts keep signing in with their own password. See the README.
    #[arg(long, env = "HYGIE_DIRECTORY_LOGIN", value_name = "FILE")]
    pub directory_login: Option<PathBuf>,
    /// Single sign-on with OpenID Connect: a TOML file with one `[[provider]]` per identity
    /// provider (name, issuer, client_id, client_secret_file — the secret is read from that file,
    /// never given on the command line —, redirect_url, scopes, the claim to map) and its
    /// `[[provider.map]]` entries mapping the claim's values to Hygie roles and facilities or a
    /// region, as for the directory (`value = "hygie-rssi", role = "ciso", facilities = [...]`).
    /// `require_sso_roles = ["administrator"]` refuses those roles' local passwords. The login page shows
    /// one button per provider. See the README.
    #[arg(long, env = "HYGIE_OIDC", value_name = "FILE")]
    pub oidc: Option<PathBuf>,
    /// The address users open Hygie at (https://hygie.chu-exemple.fr, or http://localhost:8080
    /// for a trial). It enables passkeys (WebAuthn): the relying party id is its host name, the
    /// origin its scheme, host and port, so it must be the address in the browser's bar (behind
    /// a reverse proxy, the proxy's). Users register passkeys on "My passkeys" and use them as
    /// the second factor or to sign in without a password; an administrator removes a user's
    /// lost passkeys on the user's page. Checked at start: https:// (or http://localhost) and a
    /// host name, not an IP address.
    #[arg(long, env = "HYGIE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Send the e-mail reminders and the weekly digests (as `hygie notify run`) every this many
    /// minutes, with the SMTP settings below; the next pass and the pass that sends the next
    /// digests are on /metrics.
    #[arg(long, env = "HYGIE_NOTIFY_EVERY", value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub notify_every: Option<u64>,
    /// The reminders' windows before a deadline.
    #[arg(long, env = "HYGIE_NOTIFY_WINDOWS", default_value = "24h,4h,1h")]
    pub notify_windows: String,
    /// The days before a recurring measure expires when its owner is reminded.
    #[arg(long, env = "HYGIE_NOTIFY_RENEWAL_WINDOWS", default_value = "30d,7d")]
    pub notify_renewal_windows: String,
    #[command(flatten)]
    pub digests: super::notify_digest::DigestArgs,
    #[command(flatten)]
    pub smtp: super::notify_smtp::SmtpArgs,
    #[command(flatten)]
    pub webhooks: super::notify_webhook::WebhookArgs,
    /// Run the webhooks' pass (reminder events, deliveries and retries) every this many
    /// seconds (with --webhooks).
    #[arg(long, env = "HYGIE_WEBHOOKS_EVERY", value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhooks_every: u64,
    /// Push this facility's federation packages to the regional instance at this address
    /// (https://...; as `hygie sync push`), every --sync-every minutes; the next push is on
    /// /metrics.
    #[arg(long, env = "HYGIE_SYNC_TO", value_name = "URL", requires_all = ["sync_facility", "sync_token_file"])]
    pub sync_to: Option<String>,
    /// The facility whose packages are pushed (FINESS).
    #[arg(
        long,
        env = "HYGIE_SYNC_FACILITY",
        value_name = "FINESS",
        requires = "sync_to"
    )]
    pub sync_facility: Option<String>,
    /// File holding the push token the agency gave (`hygie region push-token`).
    #[arg(
        long,
        env = "HYGIE_SYNC_TOKEN_FILE",
        value_name = "FILE",
        requires = "sync_to"
    )]
    pub sync_token_file: Option<PathBuf>,
    /// CA certificate(s) (PEM) of the region's server; default: the system's.
    #[arg(
        long,
        env = "HYGIE_SYNC_CA_CERT",
        value_name = "PEM",
        requires = "sync_to"
    )]
    pub sync_ca_cert: Option<PathBuf>,
    /// Minutes between pushes.
    #[arg(long, env = "HYGIE_SYNC_EVERY", value_name = "MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_every: u64,
}

/// The folder of the sealing key, created readable by its owner only.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).with_context(|| {
        format!(
            "cannot create the folder of the sealing key {}",
            dir.display()
        )
    })
}

fn parse_cidr(s: &str) -> Result<hygie_web::client::Cidr, String> {
    hygie_web::client::Cidr::parse(s).map_err(|e| e.message)
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

/// The reminders' schedule: a pass every `every`, the first at once; its next start and its
/// counts on /metrics. A pass that fails is logged and the schedule goes on. Several servers on
/// one PostgreSQL may all run it: the store's claim lets one of them send each reminder.
fn schedule_reminders(
    store: hygie_store::Store,
    state: hygie_web::AppState,
    smtp: super::notify_smtp::Smtp,
    settings: super::notify_digest::Settings,
    every: std::time::Duration,
    lang: hygie_core::Lang,
) {
    use std::sync::atomic::Ordering;
    tokio::spawn(async move {
        loop {
            let started = jiff::Timestamp::now();
            let next = started + jiff::SignedDuration::try_from(every).unwrap_or_default();
            let m = state.metrics();
            m.reminders_next_run.store(
                u64::try_from(next.as_second()).unwrap_or(0),
                Ordering::Relaxed,
            );
            // The digests go out at the first pass after their slot.
            let digest_next = settings
                .digest
                .and_then(|d| d.next_after(started))
                .map(|slot| {
                    let every_s = every.as_secs().max(1);
                    let wait = u64::try_from(slot.duration_since(started).as_secs()).unwrap_or(0);
                    let start = u64::try_from(started.as_second()).unwrap_or(0);
                    start.saturating_add(wait.div_ceil(every_s).saturating_mul(every_s))
                });
            m.digests_next_run
                .store(digest_next.unwrap_or(0), Ordering::Relaxed);
            match super::notify::run_once(&store, Some(&smtp), started, &settings, None, lang).await
            {
                Ok(r) => {
                    let sent = r.count(super::notify::Fate::Sent);
                    let failed = r.count(super::notify::Fate::Failed);
                    m.reminders_sent.fetch_add(sent as u64, Ordering::Relaxed);
                    m.reminders_failed
                        .fetch_add(failed as u64, Ordering::Relaxed);
                    for e in &r.errors {
                        tracing::warn!(target: "hygie::notify", "reminder not sent: {e}");
                    }
                    tracing::info!(target: "hygie::notify", sent, failed, next = %next, "reminders pass");
                }
                Err(e) => tracing::warn!(target: "hygie::notify", "reminders pass failed: {e:#}"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// The webhooks' schedule: a pass every `every` (reminder events, planned deliveries, the
/// retries due). Several servers on one PostgreSQL may all run it: each delivery is claimed by
/// one of them (hygie-store's `webhooks`).
fn schedule_webhooks(
    store: hygie_store::Store,
    state: hygie_web::AppState,
    hooks: super::notify_webhook::Webhooks,
    windows: (hygie_notify::Windows, hygie_notify::renewal::RenewalWindows),
    every: std::time::Duration,
) {
    tokio::spawn(async move {
        let actor = hygie_store::Actor(format!("serve/{}", std::process::id()));
        loop {
            let now = jiff::Timestamp::now();
            match super::notify_webhook::pass(
                &store,
                &hooks,
                now,
                (&windows.0, &windows.1),
                None,
                &actor,
            )
            .await
            {
                Ok(r) => {
                    use std::sync::atomic::Ordering;
                    let m = state.metrics();
                    m.webhooks_delivered
                        .fetch_add(r.delivered as u64, Ordering::Relaxed);
                    m.webhooks_retried
                        .fetch_add(r.retried as u64, Ordering::Relaxed);
                    m.webhooks_failed
                        .fetch_add((r.failed + r.dropped) as u64, Ordering::Relaxed);
                    for e in r.retries.iter().chain(&r.errors) {
                        tracing::warn!(target: "hygie::webhooks", "webhook not delivered: {e}");
                    }
                    if r.delivered + r.retried + r.failed + r.dropped > 0 {
                        tracing::info!(target: "hygie::webhooks", delivered = r.delivered, retried = r.retried, failed = r.failed, dropped = r.dropped, "webhooks pass");
                    }
                }
                Err(e) => tracing::warn!(target: "hygie::webhooks", "webhooks pass failed: {e:#}"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    // Checked before anything starts: a wrong public address stops the server (exit 2).
    let passkeys = match &a.public_url {
        Some(u) => Some(std::sync::Arc::new(
            hygie_web::passkey::Passkeys::new(u).map_err(|e| exit::invalid(e.to_string()))?,
        )),
        None => None,
    };
    let hooks = match a.webhooks.load()? {
        Some(h) => Some((
            h,
            (
                hygie_notify::Windows::parse("notify-windows", &a.notify_windows)
                    .map_err(|e| exit::invalid(e.to_string()))?,
                hygie_notify::renewal::RenewalWindows::parse(
                    "notify-renewal-windows",
                    &a.notify_renewal_windows,
                )
                .map_err(|e| exit::invalid(e.to_string()))?,
            ),
        )),
        None => None,
    };
    let reminders = match a.notify_every {
        Some(minutes) => Some((
            a.smtp.connect()?,
            super::notify_digest::Settings::load(
                ("notify-windows", &a.notify_windows),
                ("notify-renewal-windows", &a.notify_renewal_windows),
                &a.digests,
            )?,
            std::time::Duration::from_secs(minutes.saturating_mul(60)),
        )),
        None => None,
    };
    // Read and checked before anything starts: a bad address or token file stops the server.
    let push = match (&a.sync_to, &a.sync_facility, &a.sync_token_file) {
        (Some(to), Some(f), Some(token_file)) => {
            let dest = super::sync_push::Destination {
                to: to.clone(),
                token_file: token_file.clone(),
                ca_cert: a.sync_ca_cert.clone(),
            };
            Some((
                hygie_core::Finess::parse(f)?,
                dest.target()?,
                std::time::Duration::from_secs(a.sync_every.saturating_mul(60)),
            ))
        }
        _ => None,
    };
    let store = ctx.store().await?;
    if let Some((f, ..)) = &push {
        store.facility(f).await?;
        // The key exists before the first push (each push reads it again: a rotation is
        // picked up without a restart).
        super::identity::load_or_create(ctx)?;
    }
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(hygie_web::tls::load(c, k)?),
        _ => None,
    };
    let metrics_token_digest = match &a.metrics_token_file {
        Some(p) => Some(hygie_web::metrics::token_digest_from_file(p)?),
        None => None,
    };
    let limits = hygie_web::server::Limits {
        max_connections: a
            .max_connections
            .map_or_else(hygie_web::server::default_max_connections, |n| n as usize),
        header_timeout: std::time::Duration::from_secs(a.header_timeout),
        body_timeout: std::time::Duration::from_secs(a.body_timeout),
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
        None => match ctx.sealing_key() {
            super::SealingKey::Named(p) => hygie_web::seal::SecretKey::load(&p)?,
            super::SealingKey::Legacy { legacy, default } => {
                tracing::warn!(
                    "the key sealing TOTP seeds is read from the data directory ({}), where earlier versions kept it; move it apart: mkdir -p -m 700 {dir} && mv {} {} / la clé de scellement des graines TOTP est lue dans le dossier de données, où la rangeaient les versions précédentes ; déplacez-la hors de celui-ci (même commande)",
                    legacy.display(),
                    legacy.display(),
                    default.display(),
                    dir = default
                        .parent()
                        .map_or(String::new(), |d| d.display().to_string()),
                );
                hygie_web::seal::SecretKey::load(&legacy)?
            }
            super::SealingKey::Default(p) => {
                if let Some(dir) = p.parent() {
                    create_private_dir(dir)?;
                }
                hygie_web::seal::SecretKey::load_or_create(&p)?
            }
        },
    };
    let directory = match &a.directory_login {
        Some(p) => {
            let d = hygie_web::directory::DirectoryLogin::load(p)?;
            for f in d.facilities() {
                if let Err(e) = store.facility(f).await {
                    anyhow::bail!(
                        "{}: facility {} of a [[map]] entry: {e} / établissement {} d'une entrée [[map]] : inconnu",
                        p.display(),
                        f.as_str(),
                        f.as_str()
                    );
                }
            }
            Some(std::sync::Arc::new(d))
        }
        None => None,
    };
    let oidc = match &a.oidc {
        Some(p) => {
            let sso = hygie_web::oidc::Sso::load(p)?;
            for f in sso.facilities() {
                if let Err(e) = store.facility(f).await {
                    anyhow::bail!(
                        "{}: facility {} of a [[provider.map]] entry: {e} / établissement {} d'une entrée [[provider.map]] : inconnu",
                        p.display(),
                        f.as_str(),
                        f.as_str()
                    );
                }
            }
            Some(std::sync::Arc::new(sso))
        }
        None => None,
    };
    let config = hygie_web::Config {
        directory,
        oidc,
        passkeys,
        secure_cookies: tls.is_some(),
        breach_index,
        secret_key: Some(secret_key),
        trusted_proxies: a.trusted_proxies.clone(),
        metrics_token_digest,
        // A region signs its facilities' requests with its identity, once it has one (`hygie
        // identity show` makes it); serving does not create one.
        identity: if super::identity::key_file(ctx).exists() {
            Some(std::sync::Arc::new(super::identity::load_or_create(ctx)?))
        } else {
            None
        },
        ..hygie_web::Config::default()
    };
    let state = hygie_web::AppState::new(store.clone(), catalog, config);
    let store_for_hooks = store.clone();
    if let Some((f, target, every)) = push {
        super::sync_push::schedule(
            store.clone(),
            state.clone(),
            f,
            target,
            every,
            ctx.data_dir(),
        );
    }
    if let Some((smtp, settings, every)) = reminders {
        schedule_reminders(store, state.clone(), smtp, settings, every, ctx.lang);
    }
    if let Some((h, hook_windows)) = hooks {
        schedule_webhooks(
            store_for_hooks,
            state.clone(),
            h,
            hook_windows,
            std::time::Duration::from_secs(a.webhooks_every),
        );
    }
    if let Some(token) = state.bootstrap_token().await? {
        // Printed once on the console, never logged: it creates the first administrator.
        println!(
            "No user exists yet. Open http{}://{}/setup and enter this one-time token to create the first administrator:\n\n    {token}\n\nIl n'existe encore aucun utilisateur : ouvrez /setup et saisissez ce jeton à usage unique pour créer le premier administrateur.",
            if tls.is_some() { "s" } else { "" },
            a.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    // The bound address, not the asked one: with port 0 the system picks a free port.
    let bound = listener.local_addr().unwrap_or(a.listen);
    eprintln!(
        "hygie serve: listening on http{}://{} ({}; at most {} connections)",
        if tls.is_some() { "s" } else { "" },
        bound,
        ctx.database_label(),
        limits.max_connections
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    hygie_web::server::serve(listener, state, tls, limits, stop).await?;
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
