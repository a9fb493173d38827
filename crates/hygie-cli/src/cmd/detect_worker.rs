//! `hygie detect-worker`: one of N detection workers sharing a durable JetStream pull consumer
//! (issue 20), or with `--correlate P` the correlator of partition P. Parses, opens the store,
//! runs `hygie_logs::nats::worker` with the store's additive merge as its sink (or
//! `hygie_logs::nats::correlate` with the store's alerts-and-checkpoint transaction), prints the
//! counters. The guarantees are in `hygie_logs::nats`.

use super::Ctx;
use super::detect::load_prepared_detector;
use super::ingest::{nats_url, stop_signal};
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_core::Finess;
use hygie_logs::nats::correlate::{self, CorrelationSink, CorrelatorConfig};
use hygie_logs::nats::{DEFAULT_STREAM, KeyedAlert, KeyedSink, WorkerConfig, worker};
use hygie_logs::stream::BoxFuture;
use hygie_store::{Actor, IngestCheckpoint, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct WorkerArgs {
    /// NATS server (nats://HOST:PORT, or tls://HOST:PORT; user and password or a token in the
    /// URL).
    #[arg(long, value_name = "URL")]
    nats: String,
    /// CA certificates (PEM) checking the NATS server's TLS certificate.
    #[arg(long, value_name = "FILE")]
    nats_ca: Option<PathBuf>,
    /// NATS credentials file (user JWT and NKey seed, as `nsc` writes it) to authenticate with.
    #[arg(long, value_name = "FILE")]
    nats_creds: Option<PathBuf>,
    /// Facility (FINESS) whose events this worker evaluates and whose alerts it stores.
    #[arg(long)]
    facility: String,
    /// Sigma rule folder or file (repeat for several).
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// JetStream stream (made if missing).
    #[arg(long, default_value = DEFAULT_STREAM)]
    stream: String,
    /// Durable consumer shared by the workers (default: hygie-detect-FINESS; for a correlator
    /// hygie-correlate-FINESS-P).
    #[arg(long)]
    consumer: Option<String>,
    /// Correlation partitions: workers spread the hits of correlation rules over this many
    /// hygie.hits.FINESS.P subjects, one correlator each. The same on every worker.
    #[arg(long, default_value_t = 1)]
    partitions: u32,
    /// Be the correlator of partition P (0 to --partitions minus 1): evaluate the correlation
    /// rules over the hits of that partition. One process per partition.
    #[arg(long, value_name = "P")]
    correlate: Option<u32>,
    /// Correlator: seconds a hit waits for hits earlier in time before it is folded.
    #[arg(long, default_value_t = 60, requires = "correlate")]
    lateness: u64,
    /// Messages per batch, one store transaction each (default 64 for a worker, whose messages
    /// hold up to 256 events each; 500 for a correlator, whose messages hold one hit).
    #[arg(long)]
    batch: Option<usize>,
    /// Deliveries of a message at most; the last one goes to hygie.dead.FINESS.
    #[arg(long, default_value_t = 5)]
    max_deliver: i64,
    /// Seconds JetStream waits for an acknowledgement before delivering again.
    #[arg(long, default_value_t = 30)]
    ack_wait: u64,
    /// Aggregation window in seconds (as `hygie detect --window`).
    #[arg(long, default_value_t = 300)]
    window: u64,
    #[command(flatten)]
    forward: super::forward::ForwardArgs,
}

/// Messages per batch of a worker (each up to 256 events) and of a correlator (one hit each).
const WORKER_BATCH: usize = 64;
const CORRELATOR_BATCH: usize = 500;

struct StoreSink {
    store: Store,
    facility: Finess,
    actor: Actor,
    forward: Option<super::forward::Forwarder>,
}

impl KeyedSink for StoreSink {
    fn commit<'a>(
        &'a mut self,
        stream: &'a str,
        alerts: &'a [KeyedAlert],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.store
                .merge_alerts(&self.facility, stream, alerts, &self.actor)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(fw) = &self.forward {
                // The totals as stored (this batch's partials merged into earlier ones).
                let ids: Vec<String> = alerts.iter().map(|k| k.alert.id.clone()).collect();
                match self.store.alerts_by_id(&self.facility, &ids).await {
                    Ok(stored) => {
                        let stored: Vec<_> = stored.into_iter().map(|r| r.alert).collect();
                        fw.send(&stored);
                    }
                    Err(e) => tracing::warn!(
                        target: "hygie::forward",
                        error = %e,
                        alerts = ids.len(),
                        "stored alerts not read back, not forwarded / alertes enregistrées non relues, non transmises"
                    ),
                }
            }
            Ok(())
        })
    }

    fn forget<'a>(&'a mut self, stream: &'a str, below: u64) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.store
                .forget_alert_events(stream, below)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

pub async fn run(ctx: &Ctx, a: WorkerArgs) -> anyhow::Result<u8> {
    let facility = Finess::parse(&a.facility)?;
    let url = nats_url(&a.nats)?;
    let ca = super::ingest::nats_ca(a.nats_ca.as_deref())?;
    let creds = super::ingest::nats_creds(a.nats_creds.as_deref()).await?;
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table, json"));
    }
    if a.partitions == 0 || a.correlate.is_some_and(|p| p >= a.partitions) {
        return Err(exit::invalid(
            "--partitions must be at least 1 and --correlate below it / --partitions au moins 1 et --correlate inférieur",
        ));
    }
    if let Some(p) = a.correlate {
        return run_correlator(ctx, a, facility, url, ca, creds, p).await;
    }
    let batch = a.batch.unwrap_or(WORKER_BATCH);
    if batch == 0 || a.max_deliver < 2 || a.ack_wait == 0 {
        return Err(exit::invalid(
            "--batch and --ack-wait must be at least 1, --max-deliver at least 2 / --batch et --ack-wait au moins 1, --max-deliver au moins 2",
        ));
    }
    let forward = a.forward.start(Some(&facility))?;
    let (detector, refused, not_compiled) = load_prepared_detector(&a.rules).await?;
    let not_compiled = not_compiled.len();
    let store = ctx.store().await?;
    store.facility(&facility).await?;
    let consumer = a
        .consumer
        .clone()
        .unwrap_or_else(|| format!("hygie-detect-{facility}"));
    eprintln!(
        "{} rules loaded, {} refused; worker of consumer {consumer} on {url}, stream {}; alerts go to facility {facility}. SIGTERM stops after the batch in hand. / {} règles chargées",
        detector.rule_count() - not_compiled,
        refused.len() + not_compiled,
        a.stream,
        detector.rule_count() - not_compiled
    );
    let stop = stop_after_batch();
    let mut sink = StoreSink {
        store,
        facility: facility.clone(),
        actor: Actor::cli(),
        forward,
    };
    let cfg = WorkerConfig {
        url,
        stream: a.stream,
        consumer,
        facility: facility.as_str().to_owned(),
        batch,
        max_deliver: a.max_deliver,
        ack_wait: Duration::from_secs(a.ack_wait),
        window_secs: a.window,
        ca,
        creds,
        partitions: a.partitions,
    };
    let stats = worker::run(Arc::new(detector), &mut sink, cfg, stop).await;
    if let Some(fw) = &sink.forward {
        fw.finish().await;
    }
    let stats = stats?;
    match ctx.format {
        Format::Json => output::json(&stats)?,
        _ => println!(
            "batches {}, events {}, messages acknowledged {}, delivered again {}, alert updates {}, correlation hits {}, dead letters {}, batches not committed {}; stored to committed p50 {:.1} ms, p99 {:.1} ms / lots, événements, messages acquittés, relivrés, mises à jour d'alertes, occurrences de corrélation, lettres mortes, lots non enregistrés ; de l'enregistrement à la validation p50, p99",
            stats.batches,
            stats.events,
            stats.acknowledged,
            stats.redelivered,
            stats.alert_updates,
            stats.hits,
            stats.dead,
            stats.uncommitted,
            stats.latency.all.p50_ms,
            stats.latency.all.p99_ms
        ),
    }
    Ok(exit::OK)
}

/// The correlator's sink: alerts and state in one transaction (`record_alerts_at`, the
/// spooled ingest's checkpoint table, keyed `nats:STREAM:CONSUMER`), then forwarded.
struct CheckpointSink {
    store: Store,
    facility: Finess,
    actor: Actor,
    forward: Option<super::forward::Forwarder>,
}

impl CorrelationSink for CheckpointSink {
    fn load<'a>(
        &'a mut self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<(u64, String)>, String>> {
        Box::pin(async move {
            match self
                .store
                .ingest_checkpoint(key)
                .await
                .map_err(|e| e.to_string())?
            {
                None => Ok(None),
                Some((owner, _)) if owner != self.facility.as_str() => Err(format!(
                    "{key} is the correlation state of facility {owner} / {key} est l'état de corrélation de l'établissement {owner}"
                )),
                Some((_, c)) => Ok(Some((c.position, c.state.unwrap_or_default()))),
            }
        })
    }

    fn commit<'a>(
        &'a mut self,
        key: &'a str,
        alerts: &'a [hygie_detect::Alert],
        position: u64,
        state: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let checkpoint = IngestCheckpoint {
                spool: key.to_owned(),
                position,
                state: Some(state.to_owned()),
            };
            self.store
                .record_alerts_at(&self.facility, alerts, &checkpoint, &self.actor)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(fw) = &self.forward
                && !alerts.is_empty()
            {
                fw.send(alerts);
            }
            Ok(())
        })
    }
}

/// `--correlate P`: the correlator of one partition.
async fn run_correlator(
    ctx: &Ctx,
    a: WorkerArgs,
    facility: Finess,
    url: String,
    ca: Option<PathBuf>,
    creds: Option<PathBuf>,
    partition: u32,
) -> anyhow::Result<u8> {
    let batch = a.batch.unwrap_or(CORRELATOR_BATCH);
    if batch == 0 || a.ack_wait == 0 {
        return Err(exit::invalid(
            "--batch and --ack-wait must be at least 1 / --batch et --ack-wait au moins 1",
        ));
    }
    let forward = a.forward.start(Some(&facility))?;
    let (detector, _) = super::detect::load_detector(&a.rules)?;
    let correlations = detector.correlations().clone();
    if correlations.is_empty() {
        return Err(exit::invalid(
            "--correlate: no correlation rule in --rules / aucune règle de corrélation dans --rules",
        ));
    }
    let store = ctx.store().await?;
    store.facility(&facility).await?;
    let consumer = a
        .consumer
        .clone()
        .unwrap_or_else(|| format!("hygie-correlate-{facility}-{partition}"));
    eprintln!(
        "{} correlation rules; correlator of partition {partition}/{} (consumer {consumer}) on {url}, stream {}; alerts go to facility {facility}. / {} règles de corrélation ; corrélateur de la partition {partition}/{}",
        correlations.len(),
        a.partitions,
        a.stream,
        correlations.len(),
        a.partitions,
    );
    let stop = stop_after_batch();
    let mut sink = CheckpointSink {
        store,
        facility: facility.clone(),
        actor: Actor::cli(),
        forward,
    };
    let cfg = CorrelatorConfig {
        url,
        stream: a.stream,
        consumer,
        facility: facility.as_str().to_owned(),
        partition,
        batch,
        ack_wait: Duration::from_secs(a.ack_wait),
        lateness_secs: a.lateness,
        ca,
        creds,
    };
    let stats = correlate::run(correlations, &mut sink, cfg, stop).await;
    if let Some(fw) = &sink.forward {
        fw.finish().await;
    }
    let stats = stats?;
    match ctx.format {
        Format::Json => output::json(&stats)?,
        _ => println!(
            "batches {}, hits {}, hits already held {}, hits unreadable {}, correlation alerts {} / lots, occurrences, déjà tenues, illisibles, alertes de corrélation",
            stats.batches, stats.hits, stats.skipped, stats.unreadable, stats.alerts
        ),
    }
    Ok(exit::OK)
}

/// A stop flag raised by SIGTERM or Ctrl-C: a worker or correlator finishes the batch in hand,
/// commits and acknowledges it, then returns.
fn stop_after_batch() -> tokio::sync::watch::Receiver<bool> {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop_signal().await;
        eprintln!("stopping after the batch in hand / arrêt après le lot en cours");
        let _ = stop_tx.send(true);
    });
    stop
}
