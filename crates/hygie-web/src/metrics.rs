//! Prometheus text metrics: requests by route class and status class, latency histogram.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
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
            self.login_failures
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        out
    }
}

pub async fn render(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics().text(),
    )
}
