//! Detection scaled out on NATS JetStream (issue 20), on a real `nats-server` this test starts
//! on its own port (never the one on 4222): `hygie ingest --publish` takes 100,000 Windows
//! logon events over TCP and publishes them; two `hygie detect-worker`s share the durable
//! consumer on one PostgreSQL store; one is killed with SIGKILL mid-stream and started again;
//! once the consumer has nothing pending, the alerts (ids, counts, first and last times,
//! representatives) equal those of a batch `hygie detect` of the same events into another
//! store: every event evaluated, every alert exactly once. And the dead-letter path.
//!
//! `nats-server` is Debian's (`scripts/test.sh` installs it); missing, the test fails under
//! `CI=true` and is skipped loudly elsewhere, as PostgreSQL is.

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Events of the stream.
const EVENTS: usize = 100_000;
const HOSTS: [&str; 5] = [
    "DC01",
    "pc-1.chu.local",
    "pc-2.chu.local",
    "SRV-PACS",
    "pc-3",
];
const STREAM: &str = "HYGIE_TEST";

const FAILED_LOGON: &str = "title: Failed logon
id: 8d4f3b2a-4625-4b7e-9c1d-000000004625
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
level: low
";

const RDP_LOGON: &str = "title: Remote interactive logon
id: 8d4f3b2a-4624-4b7e-9c1d-000000004624
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
    LogonType: 10
  condition: selection
level: medium
";

/// Event `i`: one second after the previous one, on one of five hosts; even ones failed
/// logons, odd ones logons (remote interactive one time in two).
fn event(i: usize) -> String {
    let t = jiff::Timestamp::from_second(1_735_689_600 + i as i64).expect("time");
    let mut e = json!({
        "Channel": "Security",
        "Computer": HOSTS[i % HOSTS.len()],
        "EventRecordID": i + 1,
        "TimeCreated": t.to_string(),
        "TargetUserName": format!("user{}", i % 37),
    });
    if i.is_multiple_of(2) {
        e["EventID"] = 4625.into();
    } else {
        e["EventID"] = 4624.into();
        e["LogonType"] = if i % 4 == 1 { 10 } else { 3 }.into();
    }
    format!("{e}\n")
}

/// The test's own NATS server with JetStream, on a free port, its store in a temporary folder.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> Option<PathBuf> {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("address").port()
}

fn start_nats() -> Option<Nats> {
    start_nats_with(&[])
}

/// `nats-server` on a free port with `extra` arguments (TLS), JetStream in a temporary folder.
fn start_nats_with(extra: &[&str]) -> Option<Nats> {
    let Some(bin) = nats_server() else {
        hygie_testkit::missing("nats-server", "no /usr/sbin/nats-server");
        return None;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let port = free_port();
    assert_ne!(port, 4222);
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Nats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _dir: dir,
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Messages the stream holds.
fn stored(url: &str) -> u64 {
    rt().block_on(hygie_logs::nats::stream_messages(url, STREAM))
        .expect("stream info")
}

/// (not delivered yet, delivered and not acknowledged) of the facility's consumer, once a
/// worker made it (waiting for that).
fn pending(url: &str) -> (u64, usize) {
    let consumer = format!("hygie-detect-{FINESS}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rt().block_on(hygie_logs::nats::worker::pending(url, STREAM, &consumer)) {
            Ok(p) => return p,
            Err(e) if e.to_string().contains("not found") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("consumer info: {e}"),
        }
    }
}

/// A `hygie` process with its stderr collected by a thread.
struct Running {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> (Running, BufReader<std::process::ChildStderr>) {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hygie");
        let err = BufReader::new(child.stderr.take().expect("stderr"));
        (
            Running {
                child,
                stderr: std::thread::spawn(String::new),
            },
            err,
        )
    }

    fn collect(mut self, mut err: BufReader<std::process::ChildStderr>, seen: String) -> Self {
        self.stderr = std::thread::spawn(move || {
            let mut rest = seen;
            let _ = std::io::Read::read_to_string(&mut err, &mut rest);
            rest
        });
        self
    }

    fn kill9(mut self) -> String {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
        self.stderr.join().expect("stderr")
    }

    /// SIGTERM; it must exit 0 and print its counters as JSON.
    fn stop(self) -> Value {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let out = self.child.wait_with_output().expect("wait");
        let err = self.stderr.join().expect("stderr");
        assert!(out.status.success(), "hygie failed: {err}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("counters ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }
}

/// `hygie ingest --publish`, once its TCP listener is announced.
fn start_publisher(h: &Hygie, url: &str) -> (Running, SocketAddr) {
    start_publisher_with(h, url, &[])
}

fn start_publisher_with(h: &Hygie, url: &str, extra: &[&str]) -> (Running, SocketAddr) {
    let mut cmd = h.cmd();
    cmd.args(["ingest", "--publish", url, "--stream", STREAM])
        .args(["--listen", "json+tcp://127.0.0.1:0", "--facility", FINESS])
        .args(["--format", "json"])
        .args(extra);
    let (run, mut err) = Running::spawn(cmd);
    let started = Instant::now();
    let mut seen = String::new();
    let addr = loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).expect("stderr");
        assert!(
            n > 0 && started.elapsed() < Duration::from_secs(60),
            "no listener announced: {seen}"
        );
        seen.push_str(&line);
        if let Some(rest) = line.strip_prefix("listening tcp ") {
            let addr = rest.split_whitespace().next().expect("address");
            break addr.parse().expect("socket address");
        }
    };
    (run.collect(err, seen), addr)
}

fn start_worker(h: &Hygie, url: &str, rules: &Path) -> Running {
    start_worker_with(h, url, rules, &[])
}

fn start_worker_with(h: &Hygie, url: &str, rules: &Path, extra: &[&str]) -> Running {
    let mut cmd = h.cmd();
    cmd.args(["detect-worker", "--nats", url, "--stream", STREAM])
        .args(["--facility", FINESS, "--rules"])
        .arg(rules)
        .args(["--batch", "500", "--ack-wait", "3", "--format", "json"])
        .args(extra);
    let (run, err) = Running::spawn(cmd);
    run.collect(err, String::new())
}

/// The facility's alerts by id: (count, first time, last time, representative's record id).
type Alerts = BTreeMap<String, (u64, String, String, u64)>;

fn alerts(h: &Hygie) -> Alerts {
    let v = h.json(
        &["alerts", "list", "--facility", FINESS, "--limit", "1000000"],
        0,
    );
    v.as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                (
                    a["count"].as_u64().expect("count"),
                    a["time"].as_str().unwrap_or("").to_owned(),
                    a["last_time"].as_str().unwrap_or("").to_owned(),
                    a["record_id"].as_u64().expect("record id"),
                ),
            )
        })
        .collect()
}

fn write_rules(h: &Hygie) -> PathBuf {
    std::fs::create_dir_all(h.path().join("rules")).expect("rules folder");
    h.file("rules/failed-logon.yml", FAILED_LOGON);
    h.file("rules/rdp-logon.yml", RDP_LOGON);
    h.path().join("rules")
}

#[test]
fn two_workers_one_killed_store_every_alert_exactly_once() {
    let Some(nats) = start_nats() else { return };
    let Some(h) = Hygie::postgres() else { return };
    h.add(&HOSPITAL);
    let rules = write_rules(&h);

    // Publish: the events over one TCP connection to `ingest --publish`.
    let started = Instant::now();
    let (publisher, addr) = start_publisher(&h, &nats.url);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    let text: String = (0..EVENTS).map(event).collect();
    tcp.write_all(text.as_bytes()).expect("send");
    tcp.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored(&nats.url) < EVENTS as u64 {
        assert!(
            Instant::now() < deadline,
            "JetStream did not store every event"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = publisher.stop();
    assert_eq!(published["accepted"], EVENTS as u64, "{published}");
    assert_eq!(published["failed"], 0, "{published}");
    eprintln!("published {EVENTS} events in {:?}", started.elapsed());

    // Two workers; the first killed once a quarter of the stream is taken, then restarted.
    let evaluating = Instant::now();
    let first = start_worker(&h, &nats.url, &rules);
    let second = start_worker(&h, &nats.url, &rules);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (waiting, _) = pending(&nats.url);
        if waiting <= (EVENTS as u64) * 3 / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the workers took nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = first.kill9();
    let at_kill = pending(&nats.url);
    eprintln!("killed a worker with {at_kill:?} pending: {log}");
    assert!(at_kill.0 > 0, "killed after the whole stream was taken");
    let first = start_worker(&h, &nats.url, &rules);
    let deadline = Instant::now() + Duration::from_secs(300);
    while pending(&nats.url) != (0, 0) {
        assert!(
            Instant::now() < deadline,
            "messages still pending: {:?}",
            pending(&nats.url)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let a = first.stop();
    let b = second.stop();
    eprintln!("evaluated in {:?}; workers {a} {b}", evaluating.elapsed());
    let acknowledged =
        a["acknowledged"].as_u64().expect("n") + b["acknowledged"].as_u64().expect("n");
    assert!(acknowledged > 0);
    let redelivered = a["redelivered"].as_u64().expect("n") + b["redelivered"].as_u64().expect("n");
    assert!(
        redelivered > 0,
        "the killed worker's batch in hand was delivered again"
    );
    assert_eq!(a["dead"], 0);
    assert_eq!(b["dead"], 0);
    let got = alerts(&h);
    h.run(&["journal", "verify"], 0);

    // The batch run of the same events into another store.
    let batch = Hygie::sqlite();
    batch.add(&HOSPITAL);
    let batch_rules = write_rules(&batch);
    let logs = batch.file("events.jsonl", &text);
    batch
        .cmd()
        .args(["detect", "--rules"])
        .arg(&batch_rules)
        .arg("--logs")
        .arg(&logs)
        .args(["--facility", FINESS, "--format", "json"])
        .stdout(Stdio::null())
        .status()
        .expect("detect")
        .success()
        .then_some(())
        .expect("batch detect succeeded");
    let expected = alerts(&batch);
    let matches: u64 = expected.values().map(|a| a.0).sum();
    // Every even event and one odd event in two match.
    assert_eq!(matches, (EVENTS / 2 + EVENTS / 4) as u64);
    let counted: u64 = got.values().map(|a| a.0).sum();
    assert_eq!(counted, matches, "every matching event counted once");
    let differ: Vec<_> = expected
        .iter()
        .filter(|(id, a)| got.get(*id) != Some(a))
        .take(5)
        .collect();
    assert!(
        got.len() == expected.len() && differ.is_empty(),
        "{} alerts from the workers, {} from the batch; first differences: {differ:?}",
        got.len(),
        expected.len()
    );
}

#[test]
fn an_unreadable_message_goes_to_the_dead_letter_and_the_rest_is_evaluated() {
    let Some(nats) = start_nats() else { return };
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let rules = write_rules(&h);
    let subject = format!("hygie.events.{FINESS}.DC01");
    let url = nats.url.clone();
    let subject_ = subject.clone();
    rt().block_on(async move {
        let js = hygie_logs::nats::worker::context(&url, STREAM)
            .await
            .expect("connect");
        // No Hygie-Payload header: not something `ingest --publish` wrote.
        js.publish(subject_.clone(), "{\"EventID\": 4625}".into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
    // And one good event through the publisher.
    let (publisher, addr) = start_publisher(&h, &nats.url);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(event(0).as_bytes()).expect("send");
    drop(tcp);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&nats.url) < 2 {
        assert!(Instant::now() < deadline, "the event was not published");
        std::thread::sleep(Duration::from_millis(50));
    }
    publisher.stop();
    // The worker forwards the alert it stores to a syslog receiver (`--forward`).
    let siem = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let siem_url = format!("syslog+tcp://{}", siem.local_addr().expect("addr"));
    let received = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Ok((mut conn, _)) = siem.accept() {
            let _ = std::io::Read::read_to_end(&mut conn, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let worker = start_worker_with(&h, &nats.url, &rules, &["--forward", &siem_url]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(&nats.url) != (0, 0) {
        assert!(Instant::now() < deadline, "messages still pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = worker.stop();
    assert_eq!(stats["dead"], 1, "{stats}");
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().expect("alert").0, 1);
    let forwarded = received.join().expect("receiver");
    let id = got.keys().next().expect("alert id");
    assert_eq!(forwarded.matches("[hygie@32473 ").count(), 1, "{forwarded}");
    assert!(
        forwarded.contains(&format!("id=\"{id}\"")) && forwarded.contains("count=\"1\""),
        "{forwarded}"
    );
    // The dead letter: the payload as published, the reason and where it came from.
    let url = nats.url.clone();
    let (reason, origin, payload) = rt().block_on(async move {
        let js = hygie_logs::nats::worker::context(&url, STREAM)
            .await
            .expect("connect");
        let stream = js.get_stream(STREAM).await.expect("stream");
        let m = stream
            .get_last_raw_message_by_subject(&format!("hygie.dead.{FINESS}"))
            .await
            .expect("a dead letter");
        let header = |n: &str| {
            m.headers
                .get(n)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        };
        (
            header(hygie_logs::nats::DEAD_REASON_HEADER),
            header(hygie_logs::nats::DEAD_SUBJECT_HEADER),
            String::from_utf8_lossy(&m.payload).into_owned(),
        )
    });
    assert!(reason.contains("Hygie-Payload"), "{reason}");
    assert_eq!(origin, subject);
    assert_eq!(payload, "{\"EventID\": 4625}");
}

/// `--nats-ca`: the publisher and a worker reach a nats-server that requires TLS (certificate
/// from the test CA, on its own port), the event published is evaluated and its alert stored;
/// without the CA file the worker cannot connect (the system's roots do not know the test CA).
#[test]
fn publisher_and_worker_reach_a_tls_nats_server_with_its_ca_file() {
    let certs = tempfile::tempdir().expect("tmp");
    let (ca, cert, key) = common::test_ca(certs.path());
    let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
    let Some(nats) = start_nats_with(&["--tls", "--tlscert", cert, "--tlskey", key]) else {
        return;
    };
    let url = nats.url.replace("nats://127.0.0.1", "tls://localhost");
    let ca = ca.to_str().expect("path");
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let rules = write_rules(&h);

    let refused = h.run(
        &[
            "detect-worker",
            "--nats",
            &url,
            "--stream",
            STREAM,
            "--facility",
            FINESS,
            "--rules",
            rules.to_str().expect("path"),
        ],
        1,
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot connect to NATS"), "{err}");

    let (publisher, addr) = start_publisher_with(&h, &url, &["--nats-ca", ca]);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(event(0).as_bytes()).expect("send");
    drop(tcp);
    let worker = start_worker_with(&h, &url, &rules, &["--nats-ca", ca]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while alerts(&h).is_empty() {
        assert!(Instant::now() < deadline, "no alert stored over TLS");
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = publisher.stop();
    assert_eq!(published["accepted"], 1, "{published}");
    let stats = worker.stop();
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().expect("alert").0, 1);
}
