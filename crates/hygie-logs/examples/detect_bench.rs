//! Benchmark driver (not a test): batch detection over files, or streaming
//! JSON over loopback TCP. Prints one JSON line of figures.
//!
//! cargo run --release -p hygie-logs --example detect_bench -- batch THREADS RULES_DIR... -- LOGS...
//! cargo run --release -p hygie-logs --example detect_bench -- stream WORKERS NDJSON_FILE RULES_DIR...
//! cargo run --release -p hygie-logs --example detect_bench -- ndjson OUT_FILE LOGS...
//!
//! `ndjson` writes every event of LOGS flattened (Sigma field names, one
//! object per line): the input of `stream`, and of engines that take flat
//! JSON. `benches/detect_bench.sh` runs the whole comparison.

use hygie_detect::alert::Pushed;
use hygie_detect::{Detector, Mapping, load_paths};
use hygie_logs::batch::{Progress, run};
use hygie_logs::spool::{DEFAULT_MAX_BYTES, Spool, SpoolConfig};
use hygie_logs::stream::{
    AlertSink, BoxFuture, Checkpoint, Ingest, IngestConfig, ListenSpec, bind,
};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

// The same allocator as the `hygie` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn load(dirs: &[PathBuf]) -> (Detector, f64) {
    let t = Instant::now();
    let mapping = Mapping::builtin().expect("mapping");
    let load = load_paths(dirs, &mapping);
    let parsed = t.elapsed().as_secs_f64();
    let det = Detector::new(mapping, load.rules).with_correlations(load.correlations);
    eprintln!(
        "rules loaded {} (correlations {}), refused {}; parse+compile {parsed:.3} s, detector {:.3} s",
        det.rule_count(),
        det.correlations().len(),
        load.refused.len(),
        t.elapsed().as_secs_f64() - parsed
    );
    (det, t.elapsed().as_secs_f64())
}

struct Count(Arc<std::sync::atomic::AtomicU64>);
impl AlertSink for Count {
    fn deliver<'a>(
        &'a mut self,
        u: &'a [Pushed],
        _checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.0
            .fetch_add(u.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async { Ok(()) })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    match args.first().map(String::as_str) {
        Some("batch") => {
            let threads: usize = args[1].parse().expect("threads");
            let sep = args.iter().position(|a| a == "--").expect("-- before logs");
            let rules: Vec<PathBuf> = args[2..sep].iter().map(PathBuf::from).collect();
            let logs: Vec<PathBuf> = args[sep + 1..].iter().map(PathBuf::from).collect();
            let (det, load_s) = load(&rules);
            let (files, _) = hygie_logs::list_log_files(&logs);
            let t = Instant::now();
            let progress = Progress::default();
            let mut alerts = 0u64;
            let s = run(&det, "", &files, threads, 300, &progress, &mut |_| {
                alerts += 1
            });
            let eval_s = t.elapsed().as_secs_f64();
            let (groups, built) = det.groups_built();
            println!(
                "{{\"mode\":\"batch\",\"threads\":{threads},\"files\":{},\"events\":{},\"matches\":{},\"alerts\":{alerts},\"correlations\":{},\"errors\":{},\"rule_load_s\":{load_s:.2},\"rule_groups\":{groups},\"rule_groups_built\":{built},\"detect_s\":{eval_s:.2},\"total_s\":{:.2},\"events_per_s_detect\":{:.0},\"events_per_s_total\":{:.0},\"peak_rss_mb\":{:.0}}}",
                s.files,
                s.events,
                s.matches,
                det.correlations().len(),
                s.errors.len(),
                start.elapsed().as_secs_f64(),
                s.events as f64 / eval_s,
                s.events as f64 / start.elapsed().as_secs_f64(),
                peak_rss_mb()
            );
        }
        Some("stream") => {
            let workers: usize = args[1].parse().expect("workers");
            let data = std::fs::read(&args[2]).expect("ndjson file");
            let events = data.iter().filter(|&&b| b == b'\n').count() as u64;
            let rules: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
            let (det, _) = load(&rules);
            // As `hygie ingest` does: every group built before listening.
            det.prepare_all();
            let load_s = start.elapsed().as_secs_f64();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async move {
                let spec: ListenSpec = "json+tcp://127.0.0.1:0".parse().expect("spec");
                let src = bind(&spec).await.expect("bind");
                let addr = src.local_addr().expect("addr");
                let alerts = Arc::new(std::sync::atomic::AtomicU64::new(0));
                // As `hygie ingest` does: every event through the on-disk spool (in
                // HYGIE_SPOOL_DIR, else a temporary folder beside the other temporary files).
                let tmp = tempfile::tempdir().expect("spool folder");
                let dir = std::env::var_os("HYGIE_SPOOL_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| tmp.path().join("spool"));
                let spool = Spool::open(SpoolConfig::new(dir, DEFAULT_MAX_BYTES)).expect("spool");
                let ingest = Ingest::start(
                    Arc::new(det),
                    vec![src],
                    Box::new(Count(alerts.clone())),
                    IngestConfig { queue_batches: 256, workers, window_secs: 300, ..IngestConfig::default() },
                    spool,
                )
                .await
                .expect("start");
                let t = Instant::now();
                let sender = std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).expect("connect");
                    s.write_all(&data).expect("send");
                });
                sender.join().expect("sender");
                while ingest.stats.snapshot().evaluated < events {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                let secs = t.elapsed().as_secs_f64();
                let stats = ingest.shutdown().await.expect("shutdown");
                println!(
                    "{{\"mode\":\"stream\",\"workers\":{workers},\"events\":{events},\"accepted\":{},\"evaluated\":{},\"dropped\":{},\"alert_updates\":{},\"rule_load_s\":{load_s:.2},\"stream_s\":{secs:.2},\"events_per_s\":{:.0},\"peak_rss_mb\":{:.0}}}",
                    stats.accepted, stats.evaluated, stats.dropped, stats.alerts, events as f64 / secs, peak_rss_mb()
                );
            });
        }
        Some("split") => {
            // One thread, no queue: the cost per event of parsing a JSON line
            // and of evaluating it, each timed alone, and of building the rule
            // groups the events reach.
            let data = std::fs::read(&args[1]).expect("ndjson file");
            let rules: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
            let (det, _) = load(&rules);
            let source: Arc<str> = Arc::from("split");
            let parse = |(i, l): (usize, &[u8])| {
                let text = std::str::from_utf8(l).ok()?;
                hygie_logs::read::json_text_to_event(text, &source, i as u64 + 1)
                    .ok()
                    .flatten()
            };
            let lines = || {
                data.split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .enumerate()
            };
            let events: Vec<_> = lines().filter_map(parse).collect();
            // Parsing timed alone, each event dropped at once (as a worker does); best of five,
            // so that a busy machine's time slices count as little as they can.
            let mut parse_s = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let parsed = lines().filter_map(parse).count();
                assert_eq!(parsed, events.len());
                parse_s = parse_s.min(t.elapsed().as_secs_f64());
            }
            // First pass: builds the groups these events reach; then evaluation alone, best of
            // three.
            let mut cache = hygie_detect::RouteCache::default();
            let t = Instant::now();
            let matches: usize = events
                .iter()
                .map(|e| det.evaluate(e, &mut cache).len())
                .sum();
            let first_s = t.elapsed().as_secs_f64();
            let mut eval_s = f64::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                let again: usize = events
                    .iter()
                    .map(|e| det.evaluate(e, &mut cache).len())
                    .sum();
                eval_s = eval_s.min(t.elapsed().as_secs_f64());
                assert_eq!(matches, again);
            }
            let n = events.len() as f64;
            println!(
                "{{\"mode\":\"split\",\"events\":{},\"matches\":{matches},\"rule_groups_built\":{},\"group_build_s\":{:.2},\"parse_us_per_event\":{:.2},\"evaluate_us_per_event\":{:.2}}}",
                events.len(),
                det.groups_built().1,
                first_s - eval_s,
                parse_s * 1e6 / n,
                eval_s * 1e6 / n
            );
        }
        Some("ndjson") => {
            let out = std::fs::File::create(&args[1]).expect("output file");
            let mut out = std::io::BufWriter::new(out);
            let logs: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
            let (files, _) = hygie_logs::list_log_files(&logs);
            let mut events = 0u64;
            for (path, format) in &files {
                let errors = hygie_logs::read_file(path, *format, &mut |e| {
                    serde_json::to_writer(&mut out, &e.fields).expect("write");
                    out.write_all(b"\n").expect("write");
                    events += 1;
                });
                for e in errors {
                    eprintln!("skipped: {e}");
                }
            }
            out.flush().expect("write");
            println!(
                "{{\"mode\":\"ndjson\",\"files\":{},\"events\":{events}}}",
                files.len()
            );
        }
        _ => eprintln!(
            "usage: detect_bench batch THREADS RULES... -- LOGS... | stream WORKERS NDJSON RULES... | ndjson OUT LOGS..."
        ),
    }
}
