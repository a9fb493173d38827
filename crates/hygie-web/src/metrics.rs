//! Prometheus text metrics: requests by route class and status class, latency histogram, login
//! failures, connections. Read with a bearer token: the one of `--metrics-token-file`, or an API
//! token an administrator created (and who still is one); anything else answers 401 (403 for
//! another valid token). Request counts and failures tell how busy the installation is and when
//! it is attacked: not for anyone who can reach the port.

use crate::{AppState, WebError, auth};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency: Mutex<BTreeMap<&'static str, Series>>,
    pub login_failures: std::sync::atomic::AtomicU64,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
    /// The reminders' schedule run by `hygie serve --notify-every` (0: none): when its next
    /// pass starts, in seconds since the epoch, and what the passes sent or failed to send.
    pub reminders_next_run: AtomicU64,
    pub reminders_sent: AtomicU64,
    pub reminders_failed: AtomicU64,
    /// The pass that will send the next weekly digests (the first after their weekday and
    /// hour), in seconds since the epoch (0: none scheduled).
    pub digests_next_run: AtomicU64,
    /// The webhooks' passes run by `hygie serve --webhooks`: deliveries accepted, attempts to
    /// be tried again, deliveries given up (failed or dropped because the queue was full).
    pub webhooks_delivered: AtomicU64,
    pub webhooks_retried: AtomicU64,
    pub webhooks_failed: AtomicU64,
    /// The federation push run by `hygie serve --sync-to` (0: none): when its next pass starts,
    /// in seconds since the epoch, and the packages its passes had acknowledged or failed to send.
    pub sync_next_run: AtomicU64,
    pub sync_pushed: AtomicU64,
    pub sync_failed: AtomicU64,
}

/// An open connection, counted in `hygie_connections_open` until it is dropped.
pub struct OpenConnection<'a>(&'a AtomicU64);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A coarse, bounded label for a path (never an id, so cardinality stays small).
pub fn route_class(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/regions/") {
        "region"
    } else if path.starts_with("/facilities/") {
        "facility"
    } else if path.starts_with("/login") || path.starts_with("/setup") || path == "/logout" {
        "auth"
    } else if path == "/metrics" || path == "/healthz" {
        "ops"
    } else {
        "page"
    }
}

fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    /// Count a connection as open until the returned guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(&self.connections_open)
    }

    /// Count a connection refused because the server had as many open as it may.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe(&self, route: &'static str, status: u16, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status_class(status))).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let s = m.entry(route).or_default();
            let secs = took.as_secs_f64();
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP hygie_http_requests_total HTTP requests answered.\n# TYPE hygie_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "hygie_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP hygie_http_request_duration_seconds Time to answer.\n# TYPE hygie_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            for (route, s) in m.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "hygie_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        s.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "hygie_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nhygie_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nhygie_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    s.count, s.sum, s.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP hygie_login_failures_total Failed login attempts.\n# TYPE hygie_login_failures_total counter\nhygie_login_failures_total {}",
            self.login_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hygie_connections_open HTTP connections open now.\n# TYPE hygie_connections_open gauge\nhygie_connections_open {}\n# HELP hygie_connections_refused_total Connections refused because as many as allowed were open.\n# TYPE hygie_connections_refused_total counter\nhygie_connections_refused_total {}",
            self.connections_open.load(Ordering::Relaxed),
            self.connections_refused.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hygie_reminders_next_run_timestamp_seconds When the next pass of the e-mail reminders starts (0: not scheduled).\n# TYPE hygie_reminders_next_run_timestamp_seconds gauge\nhygie_reminders_next_run_timestamp_seconds {}\n# HELP hygie_reminders_sent_total Reminders sent by this process.\n# TYPE hygie_reminders_sent_total counter\nhygie_reminders_sent_total {}\n# HELP hygie_reminders_failed_total Reminders this process could not send (tried again at the next pass).\n# TYPE hygie_reminders_failed_total counter\nhygie_reminders_failed_total {}\n# HELP hygie_digests_next_run_timestamp_seconds When the pass that sends the next weekly digests starts (0: not scheduled).\n# TYPE hygie_digests_next_run_timestamp_seconds gauge\nhygie_digests_next_run_timestamp_seconds {}",
            self.reminders_next_run.load(Ordering::Relaxed),
            self.reminders_sent.load(Ordering::Relaxed),
            self.reminders_failed.load(Ordering::Relaxed),
            self.digests_next_run.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hygie_webhooks_delivered_total Webhook deliveries accepted (2xx) by this process.\n# TYPE hygie_webhooks_delivered_total counter\nhygie_webhooks_delivered_total {}\n# HELP hygie_webhooks_retried_total Webhook attempts refused or unanswered, to be tried again.\n# TYPE hygie_webhooks_retried_total counter\nhygie_webhooks_retried_total {}\n# HELP hygie_webhooks_failed_total Webhook deliveries given up (attempts exhausted, or queue full).\n# TYPE hygie_webhooks_failed_total counter\nhygie_webhooks_failed_total {}",
            self.webhooks_delivered.load(Ordering::Relaxed),
            self.webhooks_retried.load(Ordering::Relaxed),
            self.webhooks_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hygie_sync_next_run_timestamp_seconds When the next push of federation packages to the region starts (0: not scheduled).\n# TYPE hygie_sync_next_run_timestamp_seconds gauge\nhygie_sync_next_run_timestamp_seconds {}\n# HELP hygie_sync_pushed_total Packages the region acknowledged to this process's pushes.\n# TYPE hygie_sync_pushed_total counter\nhygie_sync_pushed_total {}\n# HELP hygie_sync_failed_total Pushes that failed (network, refusal; sent again at the next pass).\n# TYPE hygie_sync_failed_total counter\nhygie_sync_failed_total {}",
            self.sync_next_run.load(Ordering::Relaxed),
            self.sync_pushed.load(Ordering::Relaxed),
            self.sync_failed.load(Ordering::Relaxed)
        );
        out
    }
}

pub async fn render(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, WebError> {
    authorise(&st, &headers).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics().text(),
    ))
}

async fn authorise(st: &AppState, headers: &HeaderMap) -> Result<(), WebError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(WebError::Unauthorized)?;
    let digest = auth::digest(token);
    if let Some(expected) = &st.config().metrics_token_digest
        && auth::same(&digest, expected)
    {
        return Ok(());
    }
    let t = st
        .store()
        .token_by_hash(&digest)
        .await?
        .ok_or(WebError::Unauthorized)?;
    // Tokens are created from a session: their creator is the actor `web:USERNAME`.
    let creator = match t.created_by.strip_prefix("web:") {
        Some(name) => st.store().user_for_login(name).await?,
        None => None,
    };
    match creator {
        Some((u, _)) if u.role == hygie_store::Role::Administrator && !u.disabled => Ok(()),
        _ => Err(WebError::Forbidden(
            "the metrics are for the metrics token or an administrator's API token".into(),
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsTokenError {
    #[error("cannot read the metrics token file {path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "the metrics token file {path} is readable by other users (mode {mode:o}): run chmod 600 on it"
    )]
    Permissions { path: String, mode: u32 },
    #[error(
        "the metrics token in {path} is too short: at least {MIN_METRICS_TOKEN} characters (for example `openssl rand -hex 32`)"
    )]
    Short { path: String },
}

/// The shortest metrics token accepted: it is compared by digest, so it must not be guessable.
pub const MIN_METRICS_TOKEN: usize = 32;

/// The digest of the metrics token in `path` (its first line, trimmed; the file readable by its
/// owner only). Only the digest is kept in memory.
pub fn token_digest_from_file(path: &Path) -> Result<String, MetricsTokenError> {
    let p = || path.display().to_string();
    let read = |e: std::io::Error| MetricsTokenError::Read {
        path: p(),
        message: e.to_string(),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(MetricsTokenError::Permissions {
                path: p(),
                mode: mode & 0o777,
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < MIN_METRICS_TOKEN {
        return Err(MetricsTokenError::Short { path: p() });
    }
    Ok(auth::digest(token))
}
