//! The NATS integration tests' shared part (`nats_workers`, `nats_correlation`, `nats_creds`):
//! the test's own `nats-server` (never the one on 4222), `hygie ingest --publish` and
//! `hygie detect-worker` processes, and what the stream, its consumers and the store hold.
//!
//! `nats-server` is Debian's (`scripts/test.sh` installs it); missing, a test fails under
//! `CI=true` and is skipped loudly elsewhere, as PostgreSQL is.

use super::{FINESS, Hygie, free_port};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tests' JetStream stream.
pub const STREAM: &str = "HYGIE_TEST";

/// The test's own NATS server with JetStream, on a free port, its store in a temporary folder.
pub struct Nats {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn nats_server() -> Option<PathBuf> {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

pub fn start_nats() -> Option<Nats> {
    start_nats_with(&[])
}

/// `nats-server` on a free port with `extra` arguments (TLS), JetStream in a temporary folder.
pub fn start_nats_with(extra: &[&str]) -> Option<Nats> {
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

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Events the stream holds (not the correlation hits the workers add), however many each
/// message carries.
pub fn stored(url: &str) -> u64 {
    rt().block_on(hygie_logs::nats::subject_events(
        url,
        STREAM,
        "hygie.events.>",
    ))
    .expect("stream events")
}

/// Messages holding the events (several events each when they come in a burst).
pub fn event_messages(url: &str) -> u64 {
    stored_on(url, "hygie.events.>")
}

/// Messages the stream holds on the subjects `filter` matches.
pub fn stored_on(url: &str, filter: &str) -> u64 {
    rt().block_on(hygie_logs::nats::subject_messages(url, STREAM, filter))
        .expect("stream info")
}

/// (not delivered yet, delivered and not acknowledged) of the facility's consumer, once a
/// worker made it (waiting for that).
pub fn pending(url: &str) -> (u64, usize) {
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
pub struct Running {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> (Running, BufReader<std::process::ChildStderr>) {
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

    pub fn collect(mut self, mut err: BufReader<std::process::ChildStderr>, seen: String) -> Self {
        self.stderr = std::thread::spawn(move || {
            let mut rest = seen;
            let _ = std::io::Read::read_to_string(&mut err, &mut rest);
            rest
        });
        self
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill9(mut self) -> String {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
        self.stderr.join().expect("stderr")
    }

    /// SIGTERM; it must exit 0 and print its counters as JSON.
    pub fn stop(self) -> Value {
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
pub fn start_publisher(h: &Hygie, url: &str) -> (Running, SocketAddr) {
    start_publisher_with(h, url, &[])
}

pub fn start_publisher_with(h: &Hygie, url: &str, extra: &[&str]) -> (Running, SocketAddr) {
    let mut cmd = h.cmd();
    cmd.args(["ingest", "--publish", url, "--stream", STREAM])
        .args(["--listen", "json+tcp://127.0.0.1:0", "--facility", FINESS])
        .args(["--format", "json"])
        .args(extra);
    spawn_listening(cmd)
}

/// A `hygie ingest` (publishing or detecting), once its TCP listener is announced.
pub fn spawn_listening(cmd: Command) -> (Running, SocketAddr) {
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

pub fn start_worker(h: &Hygie, url: &str, rules: &Path) -> Running {
    start_worker_with(h, url, rules, &[])
}

pub fn start_worker_with(h: &Hygie, url: &str, rules: &Path, extra: &[&str]) -> Running {
    let mut cmd = h.cmd();
    cmd.args(["detect-worker", "--nats", url, "--stream", STREAM])
        .args(["--facility", FINESS, "--rules"])
        .arg(rules)
        .args(["--ack-wait", "3", "--format", "json"])
        .args(extra);
    let (run, err) = Running::spawn(cmd);
    run.collect(err, String::new())
}

/// The test rule of the NATS tests: each failed logon (EventID 4625) is a match.
pub const FAILED_LOGON: &str = "title: Failed logon
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

/// Wait until `consumer` (made by its process) has nothing pending.
pub fn drained(url: &str, consumer: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rt().block_on(hygie_logs::nats::worker::pending(url, STREAM, consumer)) {
            Ok((0, 0)) => return,
            Ok(p) => assert!(Instant::now() < deadline, "{consumer}: {p:?} pending"),
            Err(e) => assert!(
                e.to_string().contains("not found") && Instant::now() < deadline,
                "{consumer}: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
