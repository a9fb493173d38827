//! `--forward`: the alerts a command stores, sent on to SIEMs as they are stored (`hygie detect`,
//! `hygie ingest`, `hygie detect-worker`). The receivers, the syslog message and the JSON body
//! are `hygie_notify::siem`'s; this is the adapter: one bounded in-memory queue and one task per
//! receiver.
//!
//! **Never in detection's way.** [`Forwarder::send`] renders and queues without waiting: a
//! receiver that is down, slow or never reads fills its own queue, and past `--forward-queue`
//! alerts are dropped and counted. Syslog messages wait in the queue until written (reconnecting
//! with a doubling backoff, at most 30 s); an HTTP delivery is tried up to five times, then given
//! up and counted. At the end the command waits up to `--forward-drain` seconds for the queues
//! to empty; what is left is counted as unsent. Losses are logged (`WARN`, target
//! `hygie::forward`, at most one line per receiver every ten seconds, counts only, never an
//! alert) and every receiver's counters are printed on stderr at the end.
//!
//! **What a receiver gets.** Each store write of an alert: a new one, then the same id again
//! when more matches are counted (the SIEM keeps the last). Over TCP a message written just as
//! the receiver closes its connection can be lost (syslog over TCP has no acknowledgement);
//! HTTP deliveries are acknowledged by a 2xx.

use crate::exit;
use hygie_core::{Alert, Finess};
use hygie_notify::siem::{self, Receiver};
use jiff::{SignedDuration, Timestamp};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use zeroize::Zeroizing;

/// The `--forward` options, shared by the three commands.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ForwardArgs {
    /// Forward each alert stored to a SIEM: syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT
    /// (RFC 5424, octet counting) or https://HOST/PATH (JSON); repeat for several.
    #[arg(long = "forward", value_name = "URL")]
    pub forward: Vec<String>,
    /// CA certificates (PEM) the syslog+tls and https receivers are checked against (default:
    /// the system's roots).
    #[arg(long = "forward-ca", value_name = "FILE")]
    pub forward_ca: Option<PathBuf>,
    /// Secret (16 bytes or more) signing the https deliveries as the webhooks are
    /// (Hygie-Signature); unsigned without it.
    #[arg(long = "forward-secret-file", value_name = "FILE")]
    pub forward_secret_file: Option<PathBuf>,
    /// Alerts held in memory per receiver while it is slow or down; past it they are dropped
    /// and counted.
    #[arg(long = "forward-queue", default_value_t = 10_000)]
    pub forward_queue: usize,
    /// Seconds the command waits at its end for the queues to empty.
    #[arg(long = "forward-drain", default_value_t = 10)]
    pub forward_drain: u64,
}

/// One connection attempt, one write or one HTTP exchange at most this long.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one HTTP delivery before it is given up.
const HTTP_ATTEMPTS: u32 = 5;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// At most one loss line per receiver this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The counters of one receiver.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct ForwardStats {
    pub receiver: String,
    /// Written (syslog) or acknowledged with a 2xx (https).
    pub sent: u64,
    /// Dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// HTTP deliveries given up after their attempts.
    pub given_up: u64,
    /// Still queued when the command ended.
    pub unsent_at_exit: u64,
}

#[derive(Clone)]
struct Item {
    payload: Arc<[u8]>,
    /// `alert/ID`: the `Hygie-Delivery` header.
    delivery: Arc<str>,
}

struct Lane {
    receiver: Receiver,
    label: String,
    queue: Mutex<VecDeque<Item>>,
    capacity: usize,
    wake: Notify,
    closing: AtomicBool,
    sent: AtomicU64,
    dropped: AtomicU64,
    given_up: AtomicU64,
    last_warn: Mutex<Option<Instant>>,
}

impl Lane {
    fn push(&self, item: Item) {
        let accepted = match self.queue.lock() {
            Ok(mut q) if q.len() < self.capacity => {
                q.push_back(item);
                true
            }
            _ => false,
        };
        if accepted {
            self.wake.notify_one();
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.warn_losses();
        }
    }

    /// The first item, left in the queue until [`Lane::done`]; `None` once closing and empty.
    async fn next(&self) -> Option<Item> {
        loop {
            let woken = self.wake.notified();
            {
                let q = self.queue.lock().ok()?;
                if let Some(i) = q.front() {
                    return Some(i.clone());
                }
            }
            if self.closing.load(Ordering::Acquire) {
                return None;
            }
            woken.await;
        }
    }

    fn done(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.pop_front();
        }
    }

    fn queued(&self) -> u64 {
        self.queue.lock().map(|q| q.len() as u64).unwrap_or(0)
    }

    /// A loss line (counts, never an alert), at most every [`WARN_EVERY`].
    fn warn_losses(&self) {
        let Ok(mut last) = self.last_warn.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            target: "hygie::forward",
            receiver = %self.label,
            dropped_queue_full = self.dropped.load(Ordering::Relaxed),
            given_up = self.given_up.load(Ordering::Relaxed),
            "alerts not forwarded / alertes non transmises"
        );
    }

    fn stats(&self) -> ForwardStats {
        ForwardStats {
            receiver: self.label.clone(),
            sent: self.sent.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped.load(Ordering::Relaxed),
            given_up: self.given_up.load(Ordering::Relaxed),
            unsent_at_exit: self.queued(),
        }
    }
}

/// The receivers' queues and tasks of one command.
pub struct Forwarder {
    facility: String,
    hostname: String,
    lanes: Vec<Arc<Lane>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    drain: Duration,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.lanes.iter().map(|l| l.label.as_str()).collect();
        f.debug_struct("Forwarder")
            .field("receivers", &labels)
            .finish()
    }
}

impl ForwardArgs {
    /// Check every option (receivers, CA file, secret) and start the receivers' tasks; `None`
    /// without `--forward`. Errors name the option.
    pub fn start(&self, facility: Option<&Finess>) -> anyhow::Result<Option<Forwarder>> {
        if self.forward.is_empty() {
            return Ok(None);
        }
        let Some(facility) = facility else {
            return Err(exit::invalid(
                "--forward needs --facility: only stored alerts are forwarded / --forward demande --facility : seules les alertes enregistrées sont transmises",
            ));
        };
        if self.forward_queue == 0 {
            return Err(exit::invalid(
                "--forward-queue must be at least 1 / --forward-queue vaut au moins 1",
            ));
        }
        let receivers = self
            .forward
            .iter()
            .map(|f| Receiver::parse(f).map_err(|e| exit::invalid(e.to_string())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let needs_tls = receivers.iter().any(|r| match r {
            Receiver::Syslog { tls, .. } => *tls,
            Receiver::Http(u) => u.scheme_str() == Some("https"),
        });
        let tls = if needs_tls || self.forward_ca.is_some() {
            Some(
                hygie_web::outbound::tls_config(self.forward_ca.as_deref()).map_err(|e| {
                    exit::invalid(format!(
                        "--forward-ca: {e} / fichier d'AC illisible ou invalide"
                    ))
                })?,
            )
        } else {
            None
        };
        let secret = self
            .forward_secret_file
            .as_deref()
            .map(read_secret)
            .transpose()?
            .map(Arc::new);
        let mut lanes = Vec::new();
        let mut tasks = Vec::new();
        for receiver in receivers {
            let lane = Arc::new(Lane {
                label: receiver.label(),
                receiver,
                queue: Mutex::new(VecDeque::new()),
                capacity: self.forward_queue,
                wake: Notify::new(),
                closing: AtomicBool::new(false),
                sent: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                given_up: AtomicU64::new(0),
                last_warn: Mutex::new(None),
            });
            let task = match &lane.receiver {
                Receiver::Syslog { tls: use_tls, .. } => {
                    let tls = if *use_tls { tls.clone() } else { None };
                    tokio::spawn(run_syslog(Arc::clone(&lane), tls))
                }
                Receiver::Http(_) => {
                    tokio::spawn(run_http(Arc::clone(&lane), tls.clone(), secret.clone()))
                }
            };
            lanes.push(lane);
            tasks.push(task);
        }
        Ok(Some(Forwarder {
            facility: facility.as_str().to_owned(),
            hostname: hostname(),
            lanes,
            tasks: Mutex::new(tasks),
            drain: Duration::from_secs(self.forward_drain),
        }))
    }
}

/// The machine's name (RFC 5424 HOSTNAME), `-` when it cannot be read.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}

fn read_secret(p: &std::path::Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let raw = Zeroizing::new(std::fs::read(p).map_err(|e| {
        exit::invalid(format!(
            "--forward-secret-file {}: {e} / fichier du secret illisible",
            p.display()
        ))
    })?);
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r'))
        .map_or(0, |n| n + 1);
    if end < 16 {
        return Err(exit::invalid(format!(
            "--forward-secret-file {}: the secret must hold at least 16 bytes / le secret doit compter au moins 16 octets",
            p.display()
        )));
    }
    Ok(Zeroizing::new(raw[..end].to_vec()))
}

impl Forwarder {
    /// Queue `alerts` (just stored) for every receiver; never waits.
    pub fn send(&self, alerts: &[Alert]) {
        let now = Timestamp::now();
        for lane in &self.lanes {
            for a in alerts {
                let payload: Arc<[u8]> = match &lane.receiver {
                    Receiver::Syslog { .. } => siem::octet_counted(&siem::syslog_message(
                        &self.facility,
                        a,
                        &self.hostname,
                        now,
                    ))
                    .into(),
                    Receiver::Http(_) => {
                        siem::json_body(&self.facility, a, now).into_bytes().into()
                    }
                };
                lane.push(Item {
                    payload,
                    delivery: Arc::from(format!("alert/{}", a.id)),
                });
            }
        }
    }

    /// Wait up to `--forward-drain` for the queues to empty, stop the tasks, print and return
    /// each receiver's counters.
    pub async fn finish(&self) -> Vec<ForwardStats> {
        for lane in &self.lanes {
            lane.closing.store(true, Ordering::Release);
            lane.wake.notify_one();
        }
        let deadline = tokio::time::Instant::now() + self.drain;
        let tasks = self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
        let stats: Vec<ForwardStats> = self.lanes.iter().map(|l| l.stats()).collect();
        for s in &stats {
            eprintln!(
                "forward {}: {} sent, {} dropped (queue full), {} given up, {} unsent at exit / transfert : {} envoyées, {} perdues (file pleine), {} abandonnées, {} non envoyées",
                s.receiver,
                s.sent,
                s.dropped_queue_full,
                s.given_up,
                s.unsent_at_exit,
                s.sent,
                s.dropped_queue_full,
                s.given_up,
                s.unsent_at_exit
            );
        }
        stats
    }
}

/// The wait after `failures` failures in a row: 250 ms doubled each time, at most 30 s.
fn backoff(failures: u32) -> Duration {
    let ms = 250u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    // Syslog over TLS negotiates no application protocol.
    let mut config = (**tls).clone();
    config.alpn_protocols.clear();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("TLS name {host}: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(Box::new(stream))
}

/// One syslog receiver: write the queue in order on one connection, reconnecting after a
/// failure; an item leaves the queue once written.
async fn run_syslog(lane: Arc<Lane>, tls: Option<Arc<rustls::ClientConfig>>) {
    let Receiver::Syslog { host, port, .. } = lane.receiver.clone() else {
        return;
    };
    let mut conn: Option<Box<dyn Stream>> = None;
    let mut failures = 0u32;
    while let Some(item) = lane.next().await {
        if conn.is_none() {
            match tokio::time::timeout(STEP_TIMEOUT, connect(&host, port, tls.as_ref())).await {
                Ok(Ok(c)) => conn = Some(c),
                Ok(Err(e)) => {
                    failures += 1;
                    if failures == 1 {
                        tracing::warn!(target: "hygie::forward", receiver = %lane.label, error = %e, "cannot connect, retrying / connexion impossible, nouvel essai");
                    }
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
                Err(_) => {
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
        }
        let Some(w) = conn.as_mut() else { continue };
        let wrote = tokio::time::timeout(STEP_TIMEOUT, async {
            w.write_all(&item.payload).await?;
            w.flush().await
        })
        .await;
        if matches!(wrote, Ok(Ok(()))) {
            lane.done();
            lane.sent.fetch_add(1, Ordering::Relaxed);
            failures = 0;
        } else {
            conn = None;
            failures += 1;
            tokio::time::sleep(backoff(failures)).await;
        }
    }
    if let Some(mut c) = conn {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.shutdown()).await;
        // Read what the receiver sent and we never read (a TLS server's session tickets, its
        // close_notify) until it closes: a socket closed with unread data is reset, and a reset
        // makes the receiver's system drop what it had received and not yet read, our last
        // messages among it.
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while matches!(c.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// One HTTP receiver: a `POST` per alert, in order, each tried [`HTTP_ATTEMPTS`] times.
async fn run_http(
    lane: Arc<Lane>,
    tls: Option<Arc<rustls::ClientConfig>>,
    secret: Option<Arc<Zeroizing<Vec<u8>>>>,
) {
    let Receiver::Http(url) = lane.receiver.clone() else {
        return;
    };
    let mut attempts = 0u32;
    while let Some(item) = lane.next().await {
        let ok = tokio::time::timeout(
            STEP_TIMEOUT,
            post(&url, tls.as_ref(), secret.as_deref(), &item),
        )
        .await
        .is_ok_and(|r| r.is_ok_and(|s| (200..300).contains(&s)));
        if ok {
            lane.done();
            lane.sent.fetch_add(1, Ordering::Relaxed);
            attempts = 0;
            continue;
        }
        attempts += 1;
        if attempts >= HTTP_ATTEMPTS {
            lane.done();
            lane.given_up.fetch_add(1, Ordering::Relaxed);
            lane.warn_losses();
            attempts = 0;
        } else {
            let wait = hygie_notify::webhook::backoff(SignedDuration::from_secs(1), attempts);
            tokio::time::sleep(Duration::from_secs(wait.as_secs().max(0) as u64).min(MAX_BACKOFF))
                .await;
        }
    }
}

/// One `POST` through the one outbound client, signed when a secret is given.
async fn post(
    url: &hyper::Uri,
    tls: Option<&Arc<rustls::ClientConfig>>,
    secret: Option<&Zeroizing<Vec<u8>>>,
    item: &Item,
) -> Result<u16, String> {
    use hygie_notify::webhook;
    use hygie_web::outbound;
    let https = url.scheme_str() == Some("https");
    let target = outbound::Target {
        host: url.host().unwrap_or_default(),
        port: url.port_u16().unwrap_or(if https { 443 } else { 80 }),
        tls: if https { tls } else { None },
        proxy: None,
    };
    if https && target.tls.is_none() {
        return Err("no TLS configuration".into());
    }
    let mut request = hyper::Request::post(url.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, target.authority())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("Hygie/", env!("CARGO_PKG_VERSION")),
        )
        .header(webhook::HEADER_EVENT, siem::EVENT_TYPE)
        .header(webhook::HEADER_DELIVERY, &*item.delivery);
    if let Some(secret) = secret {
        let ts = Timestamp::now().as_second();
        request = request
            .header(webhook::HEADER_TIMESTAMP, ts.to_string())
            .header(
                webhook::HEADER_SIGNATURE,
                webhook::sign(secret, ts, &item.payload),
            );
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(
            &item.payload,
        )))
        .map_err(|e| format!("request: {e}"))?;
    let mut connection = outbound::connect(&target, STEP_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let (status, _) = connection
        .send(request, 64 * 1024, STEP_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    Ok(status.as_u16())
}
