//! `hygie ingest`: streaming detection from syslog (UDP/TCP) and JSON (TCP)
//! listeners into a facility's alerts (issue 5).

use super::Ctx;
use super::detect::load_detector;
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_core::Finess;
use hygie_detect::alert::Pushed;
use hygie_logs::stream::{AlertSink, BoxFuture, Ingest, IngestConfig, ListenSpec, bind};
use hygie_store::{Actor, Store};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct IngestArgs {
    /// syslog+udp://ADDR, syslog+tcp://ADDR or json+tcp://ADDR (repeat for several).
    #[arg(long = "listen", required = true)]
    listen: Vec<ListenSpec>,
    /// Sigma rule folder or file (repeat for several).
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Facility (FINESS) the alerts belong to.
    #[arg(long)]
    facility: String,
    /// Aggregate the matches of a rule on a host falling in the same fixed time bucket of this
    /// many seconds.
    #[arg(long, default_value_t = 300)]
    window: u64,
    /// Queue capacity, in batches of up to 256 events.
    #[arg(long, default_value_t = 256)]
    queue: usize,
    /// Detection threads (0: every core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

struct StoreSink {
    store: Store,
    facility: Finess,
    actor: Actor,
}

impl AlertSink for StoreSink {
    fn deliver<'a>(&'a mut self, updates: &'a [Pushed]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let records: Vec<_> = updates
                .iter()
                .map(|u| match u {
                    Pushed::Opened(a) | Pushed::Repeated(a) => a.clone(),
                })
                .collect();
            self.store
                .record_alerts(&self.facility, &records, &self.actor)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn unsaved(&mut self, count: usize, error: &str) {
        eprintln!(
            "error: {count} alert updates not saved yet, kept and tried again with the next batch / \
             {count} mises à jour d'alertes non enregistrées, gardées pour un nouvel essai: {error}"
        );
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn run(ctx: &Ctx, a: IngestArgs) -> anyhow::Result<u8> {
    let facility = Finess::parse(&a.facility)?;
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table, json"));
    }
    let (detector, mut refused) = load_detector(&a.rules)?;
    // A listener compiles every rule group before accepting, so that no event
    // waits for an index build and every refusal is known at start.
    let detector = tokio::task::spawn_blocking(move || {
        detector.prepare_all();
        detector
    })
    .await?;
    let not_compiled = detector.compile_refusals();
    let loaded = detector.rule_count() - not_compiled.len();
    refused.extend(not_compiled);
    let store = ctx.store().await?;
    store.facility(&facility).await?;
    let mut sources = Vec::new();
    for spec in &a.listen {
        let src = bind(spec)
            .await
            .map_err(|e| exit::invalid(format!("cannot listen on {}: {e}", spec.addr)))?;
        eprintln!(
            "listening {} {} / écoute",
            if spec.udp { "udp" } else { "tcp" },
            src.local_addr().map(|x| x.to_string()).unwrap_or_default()
        );
        sources.push(src);
    }
    eprintln!(
        "{} rules loaded, {} refused; alerts go to facility {facility}. Ctrl-C or SIGTERM stops after flushing.",
        loaded,
        refused.len()
    );
    let sink = StoreSink {
        store: store.clone(),
        facility: facility.clone(),
        actor: Actor::cli(),
    };
    let ingest = Ingest::start(
        Arc::new(detector),
        sources,
        Box::new(sink),
        IngestConfig {
            queue_batches: a.queue.max(1),
            workers: a.workers,
            window_secs: a.window,
        },
    );
    stop_signal().await;
    eprintln!("stopping: flushing accepted events / arrêt : traitement des événements acceptés");
    let stats = ingest.shutdown().await.map_err(|e| anyhow::anyhow!(e))?;
    match ctx.format {
        Format::Json => output::json(&stats)?,
        _ => println!(
            "accepted {}, evaluated {}, dropped (UDP, queue full) {}, rejected {}, alert updates {}",
            stats.accepted, stats.evaluated, stats.dropped, stats.rejected, stats.alerts
        ),
    }
    Ok(exit::OK)
}
