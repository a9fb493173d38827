//! `hygie ingest`: streaming detection from syslog (UDP/TCP) and JSON (TCP)
//! listeners into a facility's alerts (issue 5), through an on-disk spool that a restart
//! replays from the checkpoint the store committed with the alerts (issue 25; the contract per
//! source is in `hygie_logs::spool`). Correlation rules are evaluated too, their state committed
//! in that checkpoint (issue 20, `hygie_logs::stream`). With `--publish nats://…` the listeners
//! publish to NATS JetStream instead (issue 20, `hygie_logs::nats`), for `hygie detect-worker`s.

use super::Ctx;
use super::detect::load_prepared_detector;
use super::forward::Forwarder;
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_core::Finess;
use hygie_detect::Alert;
use hygie_detect::alert::Pushed;
use hygie_logs::spool::{DEFAULT_MAX_BYTES, Spool, SpoolConfig};
use hygie_logs::stream::{
    AlertSink, BoxFuture, Checkpoint, Ingest, IngestConfig, ListenSpec, bind,
};
use hygie_store::{Actor, IngestCheckpoint, Store};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct IngestArgs {
    /// syslog+udp://ADDR, syslog+tcp://ADDR or json+tcp://ADDR (repeat for several).
    #[arg(long = "listen", required = true)]
    listen: Vec<ListenSpec>,
    /// Sigma rule folder or file (repeat for several); not with --publish.
    #[arg(
        long = "rules",
        required_unless_present = "publish",
        conflicts_with = "publish"
    )]
    rules: Vec<PathBuf>,
    /// Publish the accepted events to NATS JetStream (nats://HOST:PORT) instead of evaluating
    /// them: on hygie.events.FINESS.HOST, a sender acknowledged once JetStream stored them.
    #[arg(long, value_name = "URL")]
    publish: Option<String>,
    /// JetStream stream (made if missing, file storage).
    #[arg(long, default_value = hygie_logs::nats::DEFAULT_STREAM)]
    stream: String,
    /// CA certificates (PEM) checking the NATS server's TLS certificate (tls://HOST:PORT).
    #[arg(long, value_name = "FILE", requires = "publish")]
    nats_ca: Option<PathBuf>,
    /// NATS credentials file (user JWT and NKey seed, as `nsc` writes it) to authenticate with.
    #[arg(long, value_name = "FILE", requires = "publish")]
    nats_creds: Option<PathBuf>,
    /// Events of one host packed into one message, at most (texts separated by newlines; 1 for
    /// consumers that read one event per message, 256 at most).
    #[arg(long, default_value_t = 256, requires = "publish", value_parser = clap::value_parser!(u16).range(1..=256))]
    events_per_message: u16,
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
    /// Seconds a correlation hit waits for hits earlier in time (other hosts, other
    /// connections) before it is folded.
    #[arg(long, default_value_t = 60)]
    lateness: u64,
    /// Folder of the on-disk spool where accepted events wait for detection (default:
    /// spool/ingest-FINESS in the data directory). One ingest at a time per spool.
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Bound of the spool (bytes; K, M, G suffixes of 1024): past it TCP senders wait and UDP
    /// datagrams are dropped and counted.
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES, value_parser = parse_bytes)]
    spool_max_bytes: u64,
    #[command(flatten)]
    forward: super::forward::ForwardArgs,
}

/// `1073741824`, `512M`, `1G`, `64K` (powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => {
            return Err(format!(
                "{s}: a size in bytes, K, M or G / une taille en octets, K, M ou G"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{s}: a size in bytes, K, M or G / une taille en octets, K, M ou G"))
}

struct StoreSink {
    store: Store,
    facility: Finess,
    actor: Actor,
    forward: Option<Arc<Forwarder>>,
}

impl AlertSink for StoreSink {
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let records: Vec<_> = updates
                .iter()
                .map(|u| match u {
                    Pushed::Opened(a) | Pushed::Repeated(a) => a.clone(),
                })
                .collect();
            let checkpoint = IngestCheckpoint {
                spool: checkpoint.spool.clone(),
                position: checkpoint.position,
                state: checkpoint.state.clone(),
            };
            self.store
                .record_alerts_at(&self.facility, &records, &checkpoint, &self.actor)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(fw) = &self.forward {
                fw.send(&records);
            }
            Ok(())
        })
    }

    fn resume<'a>(
        &'a mut self,
        spool: &'a str,
    ) -> BoxFuture<'a, Result<Option<Checkpoint>, String>> {
        Box::pin(async move {
            let saved = self
                .store
                .ingest_checkpoint(spool)
                .await
                .map_err(|e| e.to_string())?;
            match saved {
                None => Ok(None),
                Some((owner, _)) if owner != self.facility.as_str() => Err(format!(
                    "this spool holds the events of facility {owner}, not {}: give another --spool-dir / \
                     cette file d'attente contient les événements de l'établissement {owner} : indiquer un autre --spool-dir",
                    self.facility
                )),
                Some((_, cp)) => Ok(Some(Checkpoint {
                    spool: cp.spool,
                    position: cp.position,
                    state: cp.state,
                })),
            }
        })
    }

    fn open_alerts<'a>(
        &'a mut self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Alert>, String>> {
        Box::pin(async move {
            let found = self
                .store
                .alerts_by_id(&self.facility, ids)
                .await
                .map_err(|e| e.to_string())?;
            Ok(found.into_iter().map(|r| r.alert).collect())
        })
    }

    fn unsaved(&mut self, count: usize, error: &str) {
        eprintln!(
            "error: {count} alert updates not saved yet, kept and tried again with the next batch / \
             {count} mises à jour d'alertes non enregistrées, gardées pour un nouvel essai: {error}"
        );
    }
}

pub(super) async fn stop_signal() {
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
    if let Some(url) = &a.publish {
        if !a.forward.forward.is_empty() {
            return Err(exit::invalid(
                "--forward goes with detection, not --publish: give it to hygie detect-worker / --forward accompagne la détection, pas --publish : le donner à hygie detect-worker",
            ));
        }
        return publish(ctx, &a, facility, url).await;
    }
    let forward = a.forward.start(Some(&facility))?.map(Arc::new);
    let (detector, mut refused, not_compiled) = load_prepared_detector(&a.rules).await?;
    let loaded = detector.rule_count() - not_compiled.len();
    refused.extend(not_compiled);
    let store = ctx.store().await?;
    store.facility(&facility).await?;
    let spool_dir = a.spool_dir.clone().unwrap_or_else(|| {
        ctx.data_dir()
            .join("spool")
            .join(format!("ingest-{facility}"))
    });
    let spool = Spool::open(SpoolConfig::new(&spool_dir, a.spool_max_bytes))
        .map_err(|e| exit::invalid(e.to_string()))?;
    if spool.cut_bytes() > 0 {
        eprintln!(
            "spool: {} bytes of a torn last record cut off (a crash mid-write) / {} octets d'un dernier enregistrement incomplet retirés",
            spool.cut_bytes(),
            spool.cut_bytes()
        );
    }
    eprintln!(
        "spool {}: {} bytes kept from an earlier run, replayed from the last checkpoint / {} octets gardés d'une exécution précédente, repris au dernier point de reprise",
        spool_dir.display(),
        spool.end() - spool.start(),
        spool.end() - spool.start()
    );
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
        "{} rules loaded ({} correlations), {} refused; alerts go to facility {facility}. Ctrl-C or SIGTERM stops after flushing. / {} règles chargées ({} corrélations), {} refusées",
        loaded,
        detector.correlations().len(),
        refused.len(),
        loaded,
        detector.correlations().len(),
        refused.len()
    );
    let sink = StoreSink {
        store: store.clone(),
        facility: facility.clone(),
        actor: Actor::cli(),
        forward: forward.clone(),
    };
    let ingest = Ingest::start(
        Arc::new(detector),
        sources,
        Box::new(sink),
        IngestConfig {
            queue_batches: a.queue.max(1),
            workers: a.workers,
            window_secs: a.window,
            facility: facility.as_str().to_owned(),
            lateness_secs: a.lateness,
        },
        spool,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    stop_signal().await;
    eprintln!("stopping: flushing accepted events / arrêt : traitement des événements acceptés");
    let stats = ingest.shutdown().await;
    if let Some(fw) = &forward {
        fw.finish().await;
    }
    let stats = stats.map_err(|e| anyhow::anyhow!(e))?;
    match ctx.format {
        Format::Json => output::json(&stats)?,
        _ => println!(
            "accepted {}, evaluated {} (replayed from an earlier run {}), dropped (UDP, spool full) {}, rejected {}, alert updates {}",
            stats.accepted,
            stats.evaluated,
            stats.replayed,
            stats.dropped,
            stats.rejected,
            stats.alerts
        ),
    }
    Ok(exit::OK)
}

/// `--nats-ca`, checked now (a PEM file of certificates), so that a bad file stops the start
/// naming the option.
pub(super) fn nats_ca(ca: Option<&std::path::Path>) -> anyhow::Result<Option<PathBuf>> {
    let Some(ca) = ca else { return Ok(None) };
    hygie_web::outbound::tls_config(Some(ca)).map_err(|e| {
        exit::invalid(format!(
            "--nats-ca: {e} / fichier d'AC illisible ou invalide"
        ))
    })?;
    Ok(Some(ca.to_path_buf()))
}

/// `--nats-creds`, read and parsed now, so that a bad file stops the start naming it (never
/// printing its content).
pub(super) async fn nats_creds(creds: Option<&std::path::Path>) -> anyhow::Result<Option<PathBuf>> {
    let Some(file) = creds else { return Ok(None) };
    hygie_logs::nats::check_creds(file)
        .await
        .map_err(|e| exit::invalid(format!("--nats-creds: {e}")))?;
    Ok(Some(file.to_path_buf()))
}

/// A `nats://` or `tls://` URL, else invalid input.
pub(super) fn nats_url(url: &str) -> anyhow::Result<String> {
    let ok = ["nats://", "tls://"].iter().any(|p| url.starts_with(p)) && url.len() > 7;
    if !ok {
        return Err(exit::invalid(format!(
            "{url}: expected nats://HOST:PORT / attendu nats://HÔTE:PORT"
        )));
    }
    Ok(url.to_owned())
}

/// Listeners publishing to JetStream until SIGTERM, then the counters.
async fn publish(ctx: &Ctx, a: &IngestArgs, facility: Finess, url: &str) -> anyhow::Result<u8> {
    use hygie_logs::nats::{PublishConfig, Publishing};
    let url = nats_url(url)?;
    let ca = nats_ca(a.nats_ca.as_deref())?;
    let creds = nats_creds(a.nats_creds.as_deref()).await?;
    let mut sources = Vec::new();
    for spec in &a.listen {
        let src = bind(spec)
            .await
            .map_err(|e| exit::invalid(format!("cannot listen on {}: {e}", spec.addr)))?;
        sources.push((spec.udp, src));
    }
    let cfg = PublishConfig {
        url: url.clone(),
        stream: a.stream.clone(),
        facility: facility.as_str().to_owned(),
        in_flight: 4096,
        events_per_message: usize::from(a.events_per_message),
        ca,
        creds,
    };
    let mut bound = Vec::new();
    for (udp, src) in sources {
        eprintln!(
            "listening {} {} / écoute",
            if udp { "udp" } else { "tcp" },
            src.local_addr().map(|x| x.to_string()).unwrap_or_default()
        );
        bound.push(src);
    }
    let publishing = Publishing::start(bound, cfg).await?;
    eprintln!(
        "publishing to {url}, stream {}, subjects hygie.events.{facility}.HOST. Ctrl-C or SIGTERM stops after the last acknowledgement. / publication vers {url}",
        a.stream
    );
    stop_signal().await;
    eprintln!("stopping: publishing accepted events / arrêt : publication des événements acceptés");
    let stats = publishing.shutdown().await;
    match ctx.format {
        Format::Json => output::json(&stats)?,
        _ => println!(
            "published {}, dropped (UDP, queue full) {}, rejected {}, not stored by JetStream {} / publiés {}, rejetés {}, non stockés {}",
            stats.accepted,
            stats.dropped,
            stats.rejected,
            stats.failed,
            stats.accepted,
            stats.rejected,
            stats.failed
        ),
    }
    if stats.failed > 0 {
        return Err(anyhow::anyhow!(
            "{} events not stored by JetStream (their connections were closed) / {} événements non stockés par JetStream",
            stats.failed,
            stats.failed
        ));
    }
    Ok(exit::OK)
}
