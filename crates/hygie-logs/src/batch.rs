//! Batch detection over files: every core (rayon; one task per file, and one
//! per 64 KiB chunk inside an EVTX file so that a single big file uses every
//! core too), a bounded channel to a single aggregating consumer, memory
//! bounded by the work in flight rather than by input size.

use crate::read::{EvtxFile, Format, InputError, read_file};
use hygie_detect::{Aggregator, Alert, Detector, Hit, RouteCache, alert::sort_alerts, alert_of};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

/// Counters readable while a run is going (for a progress display).
#[derive(Debug, Default)]
pub struct Progress {
    pub files_done: AtomicU64,
    pub events: AtomicU64,
    pub matches: AtomicU64,
}

/// Totals of a finished run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BatchSummary {
    pub files: u64,
    pub events: u64,
    pub matches: u64,
    pub alerts: u64,
    pub errors: Vec<InputError>,
}

enum Msg {
    Alerts(Vec<Alert>),
    /// Matches the correlation rules read.
    Hits(Vec<Hit>),
    Errors(Vec<InputError>),
}

/// Alerts are sent to the consumer in batches of this size.
const BATCH: usize = 256;

/// What a worker has not sent to the consumer yet.
#[derive(Default)]
struct Pending {
    alerts: Vec<Alert>,
    hits: Vec<Hit>,
}

/// Evaluate one event; matches are sent to the consumer in batches.
fn detect(
    detector: &Detector,
    progress: &Progress,
    cache: &mut RouteCache,
    event: &hygie_detect::LogEvent,
    pending: &mut Pending,
    tx: &SyncSender<Msg>,
) {
    progress.events.fetch_add(1, Ordering::Relaxed);
    let matches = detector.evaluate(event, cache);
    if matches.is_empty() {
        return;
    }
    progress
        .matches
        .fetch_add(matches.len() as u64, Ordering::Relaxed);
    let correlations = detector.correlations();
    for m in matches {
        if let Some(hit) = correlations.hit(&m, event) {
            pending.hits.push(hit);
        }
        if correlations.generates(&m.rule_id) {
            pending.alerts.push(alert_of(m, event));
        }
    }
    // A closed receiver only means the consumer stopped early.
    if pending.alerts.len() >= BATCH {
        let _ = tx.send(Msg::Alerts(std::mem::take(&mut pending.alerts)));
    }
    if pending.hits.len() >= BATCH {
        let _ = tx.send(Msg::Hits(std::mem::take(&mut pending.hits)));
    }
}

/// Send what a file or chunk left: its last alerts and hits, and its input errors.
fn finish(tx: &SyncSender<Msg>, pending: Pending, errors: Vec<InputError>) {
    if !pending.alerts.is_empty() {
        let _ = tx.send(Msg::Alerts(pending.alerts));
    }
    if !pending.hits.is_empty() {
        let _ = tx.send(Msg::Hits(pending.hits));
    }
    if !errors.is_empty() {
        let _ = tx.send(Msg::Errors(errors));
    }
}

/// Evaluate `detector` over `files` using `threads` workers (0 = every core), for `facility`
/// (its FINESS, part of every alert id; empty when the alerts are only printed).
/// `on_alert` receives the aggregated alerts (fixed buckets of `window_secs`,
/// 0 = none) and the correlation alerts on the calling thread at the end, in listing order;
/// they are the same whatever the thread count.
///
/// Correlation: the matches correlation rules read are kept as compact [`Hit`]s (time, rule,
/// the group-by fields) until the end, then folded in time order, so that a window never
/// depends on which worker finished first; their memory is proportional to those matches.
pub fn run(
    detector: &Detector,
    facility: &str,
    files: &[(PathBuf, Format)],
    threads: usize,
    window_secs: u64,
    progress: &Progress,
    on_alert: &mut dyn FnMut(Alert),
) -> BatchSummary {
    let (tx, rx) = sync_channel::<Msg>(64);
    let mut summary = BatchSummary {
        files: files.len() as u64,
        ..BatchSummary::default()
    };
    let mut agg = Aggregator::new(window_secs).for_facility(facility);
    let mut hits: Vec<Hit> = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            let work = |tx: SyncSender<Msg>| {
                use rayon::iter::{ParallelBridge, ParallelIterator};
                use rayon::prelude::*;
                files
                    .par_iter()
                    .for_each_with(tx, |tx, (path, format)| match format {
                        Format::Evtx => match EvtxFile::open(path) {
                            Ok((file, chunks)) => {
                                // par_bridge pulls chunks as workers free up, so
                                // only a few are read ahead of the evaluation.
                                chunks.par_bridge().for_each_with(
                                    (tx.clone(), RouteCache::default()),
                                    |(tx, cache), chunk| {
                                        let mut pending = Pending::default();
                                        let errors = file.read_chunk(chunk, &mut |event| {
                                            detect(
                                                detector,
                                                progress,
                                                cache,
                                                &event,
                                                &mut pending,
                                                tx,
                                            )
                                        });
                                        finish(tx, pending, errors);
                                    },
                                );
                                progress.files_done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                finish(tx, Pending::default(), vec![e]);
                                progress.files_done.fetch_add(1, Ordering::Relaxed);
                            }
                        },
                        _ => {
                            let mut cache = RouteCache::default();
                            let mut pending = Pending::default();
                            let errors = read_file(path, *format, &mut |event| {
                                detect(detector, progress, &mut cache, &event, &mut pending, tx)
                            });
                            finish(tx, pending, errors);
                            progress.files_done.fetch_add(1, Ordering::Relaxed);
                        }
                    });
            };
            match pool {
                Ok(pool) => pool.install(|| work(tx)),
                Err(_) => work(tx),
            }
        });
        for msg in rx {
            match msg {
                Msg::Alerts(alerts) => {
                    // Alerts are only handed out at the end, sorted: workers
                    // finish chunks in any order, and the result must not
                    // depend on it.
                    for a in alerts {
                        agg.push(a);
                    }
                }
                Msg::Hits(h) => {
                    hits.extend(h);
                }
                Msg::Errors(e) => summary.errors.extend(e),
            }
        }
    });
    let mut alerts = agg.finish();
    let correlated = detector.correlations().run(facility, hits);
    if !correlated.is_empty() {
        alerts.extend(correlated);
        sort_alerts(&mut alerts);
    }
    for a in alerts {
        summary.alerts += 1;
        on_alert(a);
    }
    summary.events = progress.events.load(Ordering::Relaxed);
    summary.matches = progress.matches.load(Ordering::Relaxed);
    summary
}
