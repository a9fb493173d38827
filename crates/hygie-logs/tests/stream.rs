//! Streaming over real loopback sockets: TCP JSON, TCP syslog and UDP syslog
//! listeners; every accepted event evaluated; alerts delivered within a
//! second; shutdown flushes; a restart replays the spool from the sink's checkpoint and ends
//! with the alerts of a run that never stopped. Each test is bounded in time.

use hygie_detect::alert::Pushed;
use hygie_detect::{Alert, Detector, Mapping, load_text};
use hygie_logs::spool::{MIN_MAX_BYTES, Spool, SpoolConfig};
use hygie_logs::stream::{
    AlertSink, BoxFuture, Checkpoint, Ingest, IngestConfig, ListenSpec, bind,
};
use hygie_testkit::{SSH_ROOT_RULE, WHOAMI, WHOAMI_RULE, sysmon_process};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// The testkit's whoami rule (`t-whoami`), then the SSH root-login rule (`t-ssh`).
fn rules() -> String {
    format!("{WHOAMI_RULE}---{SSH_ROOT_RULE}")
}

#[derive(Clone, Default)]
struct MemSink(Arc<Mutex<Vec<(Instant, Pushed)>>>);

impl AlertSink for MemSink {
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        _checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        let now = Instant::now();
        if let Ok(mut v) = self.0.lock() {
            v.extend(updates.iter().map(|u| (now, u.clone())));
        }
        Box::pin(async { Ok(()) })
    }
}

/// A fresh spool in a temporary folder (kept alive by the returned guard).
fn spool() -> (Spool, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let spool = Spool::open(SpoolConfig::new(
        dir.path().join("spool"),
        MIN_MAX_BYTES * 4,
    ))
    .expect("spool");
    (spool, dir)
}

fn detector() -> Arc<Detector> {
    let m = Mapping::builtin().expect("mapping");
    let hygie_detect::RuleLoad { rules, refused, .. } =
        load_text(Path::new("stream.yml"), &rules(), &m);
    assert!(refused.is_empty());
    Arc::new(Detector::new(m, rules))
}

/// Event `i` of a stream: on one of three hosts, one second apart (modulo a minute).
fn sysmon(i: usize, image: &str) -> String {
    let mut e = sysmon_process(&format!("pc{}", i % 3), image);
    e["TimeCreated"] = format!("2025-01-01T00:00:{:02}Z", i % 60).into();
    format!("{e}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_listeners_detect_and_flush() {
    tokio::time::timeout(Duration::from_secs(90), body())
        .await
        .expect("streaming test exceeded its time bound");
}

async fn body() {
    let specs: Vec<ListenSpec> = [
        "json+tcp://127.0.0.1:0",
        "syslog+tcp://127.0.0.1:0",
        "syslog+udp://127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.parse().expect("spec"))
    .collect();
    let mut sources = Vec::new();
    for s in &specs {
        sources.push(bind(s).await.expect("bind"));
    }
    let addrs: Vec<_> = sources
        .iter()
        .map(|s| s.local_addr().expect("addr"))
        .collect();
    let sink = MemSink::default();
    let (spool, _dir) = spool();
    let ingest = Ingest::start(
        detector(),
        sources,
        Box::new(sink.clone()),
        IngestConfig {
            queue_batches: 4,
            workers: 2,
            window_secs: 0,
            ..IngestConfig::default()
        },
        spool,
    )
    .await
    .expect("start");

    // Latency: one matching event, alert must arrive within a second.
    let mut json = tokio::net::TcpStream::connect(addrs[0])
        .await
        .expect("connect json");
    let sent = Instant::now();
    json.write_all(sysmon(0, WHOAMI).as_bytes())
        .await
        .expect("write");
    json.flush().await.expect("flush");
    loop {
        if let Ok(v) = sink.0.lock()
            && let Some((at, _)) = v.first()
        {
            assert!(
                at.duration_since(sent) <= Duration::from_secs(1),
                "alert after {:?}",
                at.duration_since(sent)
            );
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "no alert within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Volume through a small queue (backpressure on TCP): 20,000 events, 1 in 10 matching.
    let total = 20_000usize;
    let mut payload = String::new();
    for i in 1..=total {
        let img = if i % 10 == 0 {
            WHOAMI
        } else {
            "C:\\Windows\\notepad.exe"
        };
        payload.push_str(&sysmon(i, img));
    }
    payload.push_str("not json\n");
    json.write_all(payload.as_bytes())
        .await
        .expect("write bulk");
    json.shutdown().await.expect("close");

    let mut tcp = tokio::net::TcpStream::connect(addrs[1])
        .await
        .expect("connect syslog");
    tcp.write_all(b"<38>Oct 11 22:14:15 srv1 sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n<38>Oct 11 22:14:16 srv1 sshd[1]: Accepted publickey for bob\n")
        .await
        .expect("write syslog");
    tcp.shutdown().await.expect("close");

    // The UDP datagram must meet an idle queue: wait until every TCP event was read and evaluated
    // (on a loaded machine the 20,000-event backlog can take seconds to drain).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = ingest.stats.snapshot();
        if (s.accepted >= (total + 1 + 2) as u64 && s.evaluated == s.accepted)
            || Instant::now() >= deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    udp.send_to(
        b"<38>1 2025-10-11T22:14:15Z srv2 sshd 7 - - Failed password for root from 10.0.0.2",
        addrs[2],
    )
    .await
    .expect("send udp");

    // Let the listeners read what was sent, then shut down.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ingest.stats.snapshot().accepted < (total + 1 + 2) as u64 + 1 && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats_ref = ingest.stats.clone();
    let stats = ingest.shutdown().await.expect("clean shutdown");
    assert_eq!(stats, stats_ref.snapshot());
    // TCP: nothing lost; UDP: accepted or counted as dropped.
    assert_eq!(
        stats.accepted + stats.dropped,
        (total + 1 + 2 + 1) as u64,
        "{stats:?}"
    );
    assert_eq!(
        stats.dropped, 0,
        "one datagram into an idle queue is not dropped"
    );
    assert_eq!(
        stats.evaluated, stats.accepted,
        "every accepted event evaluated"
    );
    assert_eq!(stats.rejected, 1, "the non-JSON line is counted");

    let got = sink.0.lock().expect("lock").clone();
    let whoami = got
        .iter()
        .filter(|(_, u)| matches!(u, Pushed::Opened(a) if a.rule_id == "t-whoami"))
        .count();
    let ssh = got
        .iter()
        .filter(|(_, u)| matches!(u, Pushed::Opened(a) if a.rule_id == "t-ssh"))
        .count();
    assert_eq!(whoami, 1 + total / 10);
    assert_eq!(ssh, 2, "TCP and UDP syslog failures");
    assert_eq!(stats.alerts, got.len() as u64);
}

#[test]
fn listen_specs_parse() {
    assert!("syslog+udp://127.0.0.1:514".parse::<ListenSpec>().is_ok());
    assert!("json+tcp://[::1]:9000".parse::<ListenSpec>().is_ok());
    assert!("http://127.0.0.1:1".parse::<ListenSpec>().is_err());
    assert!("syslog+tcp://nohost".parse::<ListenSpec>().is_err());
    assert!("127.0.0.1:1".parse::<ListenSpec>().is_err());
}

/// A sink that refuses its first `failures` deliveries, then takes everything.
struct FlakySink {
    failures: usize,
    taken: Arc<Mutex<Vec<Pushed>>>,
    reported: Arc<Mutex<Vec<usize>>>,
}

impl AlertSink for FlakySink {
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        _checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        let result = if self.failures > 0 {
            self.failures -= 1;
            Err("database is locked".to_owned())
        } else {
            if let Ok(mut v) = self.taken.lock() {
                v.extend(updates.iter().cloned());
            }
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn unsaved(&mut self, count: usize, _error: &str) {
        if let Ok(mut v) = self.reported.lock() {
            v.push(count);
        }
    }
}

async fn through_flaky_sink(failures: usize) -> (Result<(), String>, usize, Vec<usize>) {
    let spec: ListenSpec = "json+tcp://127.0.0.1:0".parse().expect("spec");
    let source = bind(&spec).await.expect("bind");
    let addr = source.local_addr().expect("addr");
    let taken = Arc::new(Mutex::new(Vec::new()));
    let reported = Arc::new(Mutex::new(Vec::new()));
    let (spool, _dir) = spool();
    let ingest = Ingest::start(
        detector(),
        vec![source],
        Box::new(FlakySink {
            failures,
            taken: taken.clone(),
            reported: reported.clone(),
        }),
        IngestConfig {
            queue_batches: 4,
            workers: 1,
            window_secs: 0,
            ..IngestConfig::default()
        },
        spool,
    )
    .await
    .expect("start");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut payload = String::new();
    for i in 0..50 {
        payload.push_str(&sysmon(i, WHOAMI));
    }
    tcp.write_all(payload.as_bytes()).await.expect("write");
    tcp.shutdown().await.expect("close");
    while ingest.stats.snapshot().evaluated < 50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let result = ingest.shutdown().await.map(|_| ());
    let taken = taken.lock().expect("lock").len();
    let reported = reported.lock().expect("lock").clone();
    (result, taken, reported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_kept_and_tried_again() {
    // Fewer failures than one delivery's tries: nothing is reported, nothing lost.
    let (result, taken, reported) =
        tokio::time::timeout(Duration::from_secs(60), through_flaky_sink(2))
            .await
            .expect("time bound");
    assert_eq!(result, Ok(()));
    assert_eq!(taken, 50);
    assert!(reported.is_empty(), "{reported:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_never_takes_fails_the_shutdown_with_the_count() {
    let (result, taken, reported) =
        tokio::time::timeout(Duration::from_secs(60), through_flaky_sink(usize::MAX))
            .await
            .expect("time bound");
    let err = result.expect_err("unsaved alerts fail the shutdown");
    assert!(err.starts_with("50 alert updates not saved"), "{err}");
    assert_eq!(taken, 0);
    assert_eq!(
        reported.last(),
        Some(&50),
        "reported at once with the count"
    );
}

/// What a store keeps for the stream: the alerts by id (the last state delivered) and the
/// checkpoint, both changed together or not at all.
#[derive(Default)]
struct Kept {
    alerts: BTreeMap<String, Alert>,
    checkpoint: Option<Checkpoint>,
}

/// A sink over [`Kept`] that takes `allowed` deliveries, then refuses every other one (as a
/// store that went away: what the stream did after that is lost with the process).
struct KeepingSink {
    kept: Arc<Mutex<Kept>>,
    allowed: usize,
}

impl AlertSink for KeepingSink {
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        let result = if self.allowed == 0 {
            Err("gone".to_owned())
        } else {
            self.allowed -= 1;
            let mut k = self.kept.lock().expect("lock");
            for u in updates {
                let (Pushed::Opened(a) | Pushed::Repeated(a)) = u;
                k.alerts.insert(a.id.clone(), a.clone());
            }
            let state = match &checkpoint.state {
                Some(s) => Some(s.clone()),
                None => k.checkpoint.as_ref().and_then(|c| c.state.clone()),
            };
            assert!(state.is_some(), "the first checkpoint carries the state");
            k.checkpoint = Some(Checkpoint {
                state,
                ..checkpoint.clone()
            });
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn resume<'a>(
        &'a mut self,
        spool: &'a str,
    ) -> BoxFuture<'a, Result<Option<Checkpoint>, String>> {
        let cp = self.kept.lock().expect("lock").checkpoint.clone();
        assert!(cp.as_ref().is_none_or(|c| c.spool == spool));
        Box::pin(async move { Ok(cp) })
    }

    fn open_alerts<'a>(
        &'a mut self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Alert>, String>> {
        let k = self.kept.lock().expect("lock");
        let found = ids
            .iter()
            .filter_map(|id| k.alerts.get(id).cloned())
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn unsaved(&mut self, _count: usize, _error: &str) {}
}

/// An alert as runs compare it: id, count, first and last time, representative's record id.
type Compared = (String, u64, Option<String>, Option<String>, u64);

/// The alerts as a run compares them: everything but the connection's name.
fn comparable(k: &Kept) -> Vec<Compared> {
    k.alerts
        .values()
        .map(|a| {
            (
                a.id.clone(),
                a.count,
                a.time.clone(),
                a.last_time.clone(),
                a.record_id,
            )
        })
        .collect()
}

/// Send `events` matching events (three hosts, one a second, so over several 60-second
/// buckets) through one connection, then stop the ingest once they are all evaluated.
async fn run_once(
    spool_dir: &std::path::Path,
    kept: Arc<Mutex<Kept>>,
    allowed: usize,
    events: usize,
) -> (Result<hygie_logs::stream::StatsSnapshot, String>, u64) {
    let spec: ListenSpec = "json+tcp://127.0.0.1:0".parse().expect("spec");
    let source = bind(&spec).await.expect("bind");
    let addr = source.local_addr().expect("addr");
    let spool = Spool::open(SpoolConfig::new(spool_dir, MIN_MAX_BYTES)).expect("spool");
    let ingest = Ingest::start(
        detector(),
        vec![source],
        Box::new(KeepingSink { kept, allowed }),
        IngestConfig {
            queue_batches: 2,
            workers: 2,
            window_secs: 60,
            ..IngestConfig::default()
        },
        spool,
    )
    .await
    .expect("start");
    if events > 0 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut payload = String::new();
        for i in 0..events {
            let mut e = sysmon_process(&format!("pc{}", i % 3), WHOAMI);
            e["TimeCreated"] = format!("2025-01-01T00:{:02}:{:02}Z", (i / 60) % 60, i % 60).into();
            payload.push_str(&format!("{e}\n"));
        }
        tcp.write_all(payload.as_bytes()).await.expect("write");
        tcp.shutdown().await.expect("close");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ingest.stats.snapshot().accepted < events as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = ingest.stats.clone();
    let result = ingest.shutdown().await;
    (result, stats.snapshot().replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_replays_from_the_checkpoint_and_ends_as_a_clean_run() {
    tokio::time::timeout(Duration::from_secs(240), async {
        let events = 3000;
        let clean = Arc::new(Mutex::new(Kept::default()));
        let dir = tempfile::tempdir().expect("tmp");
        let (r, replayed) = run_once(&dir.path().join("clean"), clean.clone(), usize::MAX, events).await;
        let stats = r.expect("clean run");
        assert_eq!((stats.evaluated, replayed), (events as u64, 0));
        let expected = comparable(&clean.lock().expect("lock"));
        assert_eq!(expected.iter().map(|a| a.1).sum::<u64>(), events as u64);
        for allowed in [0, 1, 2, 3] {
            // First run: the store takes `allowed` deliveries, then stops taking any; the
            // process ends without saving the rest (as a crash would).
            let kept = Arc::new(Mutex::new(Kept::default()));
            let spool_dir = dir.path().join(format!("cut-{allowed}"));
            let (first, _) = run_once(&spool_dir, kept.clone(), allowed, events).await;
            assert!(first.is_err(), "some alerts could not be saved");
            let position = kept.lock().expect("lock").checkpoint.as_ref().map(|c| c.position);
            // Second run, nothing new sent: the spool is read again from the checkpoint.
            let (second, replayed) = run_once(&spool_dir, kept.clone(), usize::MAX, 0).await;
            let stats = second.expect("second run");
            assert!(replayed > 0 && replayed <= events as u64, "{allowed}: {replayed}");
            assert_eq!(stats.replayed, replayed);
            let got = comparable(&kept.lock().expect("lock"));
            let differ: Vec<_> = got.iter().zip(&expected).filter(|(g, e)| g != e).take(3).collect();
            assert!(
                got.len() == expected.len() && differ.is_empty(),
                "cut after {allowed} deliveries (position {position:?}): {} alerts for {}, first differences {differ:?}",
                got.len(),
                expected.len()
            );
            // Every segment wholly checkpointed was deleted, and the next start replays none.
            let (third, replayed) = run_once(&spool_dir, kept.clone(), usize::MAX, 0).await;
            third.expect("third run");
            assert_eq!(replayed, 0);
            assert_eq!(comparable(&kept.lock().expect("lock")), expected);
        }
    })
    .await
    .expect("time bound");
}
