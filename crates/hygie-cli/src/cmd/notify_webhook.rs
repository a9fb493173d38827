//! The webhooks' adapter: the configuration file and the secrets read at start, the signed
//! `POST` (through `hygie_web::outbound`, the one outbound client: for `https`, the endpoint's
//! own CA file when it names one, else the system's roots), and
//! one pass ([`pass`]): the reminders due become events, deliveries are planned, claimed, sent
//! and their outcomes recorded. The format, the signature and the receiver's check are
//! documented in `hygie_notify::webhook`; the outbox protocol in hygie-store's `webhooks`.
//!
//! A secret lives in memory only (zeroized on drop); it is never stored, logged nor journalled,
//! and errors name the secret's file, never its content.

use crate::exit;
use hygie_core::Finess;
use hygie_notify::webhook::{self, Endpoint, Event};
use hygie_store::{Actor, Attempt, ClaimedDelivery, Store};
use jiff::{SignedDuration, Timestamp};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// `--webhooks FILE` of `hygie notify run` and `hygie serve`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct WebhookArgs {
    /// TOML file of the webhook endpoints ([[endpoint]] name, url, secret_file, ca_cert,
    /// facility, events, max_attempts, backoff_seconds, queue_limit); see the README.
    #[arg(long, env = "HYGIE_WEBHOOKS", value_name = "FILE")]
    pub webhooks: Option<PathBuf>,
}

/// How long one attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a claimed delivery is held before another process may take it again.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Deliveries claimed at once.
const BATCH: i64 = 32;

struct Target {
    endpoint: Endpoint,
    secret: Zeroizing<Vec<u8>>,
    /// The TLS settings of an `https` endpoint: its own CA (`ca_cert`) or the system's roots.
    tls: Arc<rustls::ClientConfig>,
}

/// The endpoints, checked, with their secrets.
pub struct Webhooks {
    targets: Vec<Target>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .targets
            .iter()
            .map(|t| t.endpoint.name.as_str())
            .collect();
        f.debug_struct("Webhooks")
            .field("endpoints", &names)
            .finish()
    }
}

impl WebhookArgs {
    /// Read and check the file and every secret; `None` without `--webhooks`.
    pub fn load(&self) -> anyhow::Result<Option<Webhooks>> {
        self.webhooks.as_deref().map(Webhooks::load).transpose()
    }
}

impl Webhooks {
    /// Read `path`, check every field (errors name the file and the field), read each secret.
    pub fn load(path: &Path) -> anyhow::Result<Webhooks> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            exit::invalid(format!(
                "--webhooks {}: {e} / fichier des webhooks illisible",
                path.display()
            ))
        })?;
        let endpoints =
            webhook::parse_config(path, &text).map_err(|e| exit::invalid(e.to_string()))?;
        let mut targets = Vec::with_capacity(endpoints.len());
        let mut system = None;
        for (i, endpoint) in endpoints.into_iter().enumerate() {
            let secret = read_secret(path, i, &endpoint.secret_file)?;
            // Checked now, as the other outbound clients' CA files are: a CA file that is not
            // one stops the start, naming the file and the field.
            let tls = match &endpoint.ca_cert {
                Some(ca) => hygie_web::outbound::tls_config(Some(ca)).map_err(|e| {
                    exit::invalid(format!(
                        "{}: endpoint[{i}].ca_cert: {e} / fichier d'AC illisible ou invalide",
                        path.display()
                    ))
                })?,
                None => match &system {
                    Some(t) => Arc::clone(t),
                    None => {
                        let t = hygie_web::outbound::tls_config(None).map_err(|e| {
                            anyhow::anyhow!("TLS for the webhooks / TLS des webhooks: {e}")
                        })?;
                        system = Some(Arc::clone(&t));
                        t
                    }
                },
            };
            targets.push(Target {
                endpoint,
                secret,
                tls,
            });
        }
        Ok(Webhooks { targets })
    }

    fn names(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| t.endpoint.name.clone())
            .collect()
    }

    fn endpoints(&self) -> Vec<Endpoint> {
        self.targets.iter().map(|t| t.endpoint.clone()).collect()
    }
}

fn read_secret(file: &Path, i: usize, p: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let named = || {
        format!(
            "{}: endpoint[{i}].secret_file {}",
            file.display(),
            p.display()
        )
    };
    let raw =
        Zeroizing::new(std::fs::read(p).map_err(|e| {
            exit::invalid(format!("{}: {e} / fichier du secret illisible", named()))
        })?);
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r'))
        .map_or(0, |n| n + 1);
    if end < 16 {
        return Err(exit::invalid(format!(
            "{}: the secret must hold at least 16 bytes / le secret doit compter au moins 16 octets",
            named()
        )));
    }
    Ok(Zeroizing::new(raw[..end].to_vec()))
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub events: usize,
    pub queued: usize,
    pub dropped: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// One line per attempt to be tried again: endpoint, event, why.
    pub retries: Vec<String>,
    /// One line per delivery given up: endpoint, event, why.
    pub errors: Vec<String>,
}

/// One pass at `now`: enqueue the reminders due, the incidents' and the renewals' (events
/// `reminder/KEY`), plan the deliveries
/// of every event the endpoints take, then send what is due until nothing is.
pub async fn pass(
    store: &Store,
    hooks: &Webhooks,
    now: Timestamp,
    (windows, renewals): (
        &hygie_notify::Windows,
        &hygie_notify::renewal::RenewalWindows,
    ),
    facility: Option<&Finess>,
    actor: &Actor,
) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    let incidents = store.incidents(facility, false).await?;
    let due = hygie_notify::due_reminders(&incidents, now, windows)
        .map_err(|e| exit::invalid(e.to_string()))?;
    let mut events: Vec<Event> = due.iter().map(|r| Event::reminder(r, now)).collect();
    for (_, renewals) in super::notify_renewal::due(store, now, renewals, facility).await? {
        events.extend(renewals.iter().map(|r| Event::renewal(r, now)));
    }
    report.events = store.enqueue_events(&events, actor).await?;
    (report.queued, report.dropped) = store.plan_deliveries(&hooks.endpoints(), actor).await?;
    let names = hooks.names();
    loop {
        let batch = store
            .claim_deliveries(&names, Timestamp::now(), LEASE, BATCH, actor)
            .await?;
        if batch.is_empty() {
            break;
        }
        for d in &batch {
            let Some(t) = hooks.targets.iter().find(|t| t.endpoint.name == d.endpoint) else {
                continue;
            };
            let outcome = attempt(t, d).await;
            match &outcome {
                Attempt::Delivered { .. } => report.delivered += 1,
                Attempt::Retry { error, .. } => {
                    report.retried += 1;
                    report
                        .retries
                        .push(format!("{} {}: {error}", d.endpoint, d.event));
                }
                Attempt::Failed { error, .. } => {
                    report.failed += 1;
                    report
                        .errors
                        .push(format!("{} {}: {error} (given up)", d.endpoint, d.event));
                }
            }
            store.delivery_attempted(d, &outcome, actor).await?;
        }
    }
    Ok(report)
}

/// Post `d` to its endpoint once, signed now, and say what follows.
async fn attempt(t: &Target, d: &ClaimedDelivery) -> Attempt {
    let result = tokio::time::timeout(ATTEMPT_TIMEOUT, post(t, d)).await;
    let (status, error) = match result {
        Ok(Ok(s)) if (200..300).contains(&s) => return Attempt::Delivered { status: s },
        Ok(Ok(s)) => (Some(s), format!("HTTP {s}")),
        Ok(Err(e)) => (None, e),
        Err(_) => (
            None,
            format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()),
        ),
    };
    let made = d.attempts + 1;
    if made >= t.endpoint.max_attempts {
        Attempt::Failed { status, error }
    } else {
        Attempt::Retry {
            status,
            error,
            next: Timestamp::now() + webhook::backoff(t.endpoint.backoff, made),
        }
    }
}

/// One signed `POST`; the answer's status code, or why there is none (never the secret). The
/// configuration allowed plain `http` on loopback only.
async fn post(t: &Target, d: &ClaimedDelivery) -> Result<u16, String> {
    use hygie_web::outbound;
    let url = &t.endpoint.url;
    let host = url.host().unwrap_or_default();
    let https = url.scheme_str() == Some("https");
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let target = outbound::Target {
        host,
        port,
        tls: https.then_some(&t.tls),
        proxy: None,
    };
    let ts = Timestamp::now().as_second();
    let signature = webhook::sign(&t.secret, ts, d.body.as_bytes());
    let request = hyper::Request::post(url.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, target.authority())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("Hygie/", env!("CARGO_PKG_VERSION")),
        )
        .header(webhook::HEADER_EVENT, &d.kind)
        .header(webhook::HEADER_DELIVERY, &d.event)
        .header(webhook::HEADER_TIMESTAMP, ts.to_string())
        .header(webhook::HEADER_SIGNATURE, signature)
        .body(http_body_util::Full::new(bytes::Bytes::from(
            d.body.clone(),
        )))
        .map_err(|e| format!("request: {e}"))?;
    let mut connection = outbound::connect(&target, ATTEMPT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let (status, _) = connection
        .send(request, 64 * 1024, ATTEMPT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    Ok(status.as_u16())
}
