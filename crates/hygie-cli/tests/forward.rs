//! `--forward`: the alerts stored reach real receivers as RFC 5424 messages (octet-counted, over
//! TCP and over TLS with the test CA), parsed back here; a receiver down at first gets the
//! queued alerts once up, the overflow counted; a receiver that never reads does not hold
//! detection up.

mod common;

use common::receiver::{Received, Receiver};
use common::{FINESS, HOSPITAL, Hygie};
use hygie_testkit::{WHOAMI, sysmon_process};
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A rule matching [`WHOAMI`], with a title of `title_len` characters.
fn rule(title_len: usize) -> String {
    let title = format!("Whoami {}", "x".repeat(title_len.saturating_sub(7)));
    format!(
        "title: {title}\nid: t-whoami\nlogsource: {{product: windows, category: process_creation}}\n\
         detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\nlevel: high\n"
    )
}

/// `n` whoami events on `n` hosts: `n` alerts.
fn logs(env: &Hygie, n: usize) -> std::path::PathBuf {
    let mut j = String::new();
    for i in 0..n {
        let mut e = sysmon_process(&format!("pc{i}.chu.test"), WHOAMI);
        e["EventRecordID"] = i.into();
        e["TimeCreated"] = "2026-12-07T08:00:00Z".into();
        j.push_str(&format!("{e}\n"));
    }
    env.file("events.jsonl", &j)
}

/// A plain TCP receiver keeping every byte of every connection, in order.
struct TcpReceiver {
    port: u16,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl TcpReceiver {
    fn on(listener: TcpListener) -> TcpReceiver {
        let port = listener.local_addr().expect("addr").port();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&bytes);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 8192];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut b) = keep.lock() {
                        b.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        TcpReceiver { port, bytes }
    }

    fn start() -> TcpReceiver {
        TcpReceiver::on(TcpListener::bind("127.0.0.1:0").expect("bind"))
    }

    fn received(&self) -> Vec<u8> {
        self.bytes.lock().expect("lock").clone()
    }
}

/// RFC 6587 octet-counted frames back to messages; panics on a framing error.
fn frames(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let space = bytes
            .iter()
            .position(|b| *b == b' ')
            .expect("a length, then a space");
        let len: usize = std::str::from_utf8(&bytes[..space])
            .expect("digits")
            .parse()
            .expect("a length");
        let end = space + 1 + len;
        assert!(end <= bytes.len(), "a whole frame");
        out.push(String::from_utf8(bytes[space + 1..end].to_vec()).expect("UTF-8"));
        bytes = &bytes[end..];
    }
    out
}

/// How many whole octet-counted frames `bytes` starts with (a receiver may be mid-frame).
fn whole_frames(mut bytes: &[u8]) -> usize {
    let mut n = 0;
    while let Some(space) = bytes.iter().position(|b| *b == b' ') {
        let Some(len) = std::str::from_utf8(&bytes[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        let end = space + 1 + len;
        if end > bytes.len() {
            break;
        }
        n += 1;
        bytes = &bytes[end..];
    }
    n
}

/// Each message parsed as RFC 5424: (alert id → its structured data), with the checks every
/// message must pass.
fn parse(messages: &[String]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for m in messages {
        let p = syslog_loose::parse_message_with_year_exact(
            m,
            |_| 2026,
            syslog_loose::Variant::RFC5424,
        )
        .expect("an RFC 5424 message");
        assert_eq!(p.protocol, syslog_loose::Protocol::RFC5424(1), "{m}");
        assert_eq!(p.appname, Some("hygie"));
        assert_eq!(p.msgid, Some("alert"));
        assert_eq!(p.severity, Some(syslog_loose::SyslogSeverity::SEV_ERR));
        assert!(p.timestamp.is_some(), "{m}");
        assert!(
            p.msg
                .trim_start_matches('\u{feff}')
                .starts_with("Hygie alert: Whoami"),
            "{m}"
        );
        let sd = p
            .structured_data
            .iter()
            .find(|e| e.id == "hygie@32473")
            .expect("Hygie's structured data");
        let params: BTreeMap<String, String> = sd
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let id = params["id"].clone();
        assert!(out.insert(id, params).is_none(), "each alert once: {m}");
    }
    out
}

/// The stored alerts: id → host.
fn stored(env: &Hygie) -> BTreeMap<String, String> {
    let v = env.json(
        &["alerts", "list", "--facility", FINESS, "--limit", "100000"],
        0,
    );
    v.as_array()
        .expect("a list")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                a["host"].as_str().expect("host").to_owned(),
            )
        })
        .collect()
}

/// A TLS receiver (Python's ssl module, the test CA's server certificate) appending every byte
/// it reads to a file.
struct TlsReceiver {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for TlsReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PY_TLS: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    conn, _ = s.accept()
    try:
        c = ctx.wrap_socket(conn, server_side=True)
        with open(sys.argv[3], "ab") as f:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                f.write(b)
                f.flush()
        c.close()
    except (ssl.SSLError, OSError):
        conn.close()
"#;

impl TlsReceiver {
    fn start(dir: &std::path::Path, cert: &std::path::Path, key: &std::path::Path) -> Self {
        let script = dir.join("tls_receiver.py");
        std::fs::write(&script, PY_TLS).expect("script written");
        let log = dir.join("tls-received.bin");
        let mut child = std::process::Command::new("python3")
            .arg(&script)
            .arg(cert)
            .arg(key)
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let port = line.trim().parse().expect("the receiver's port");
        TlsReceiver { child, port, log }
    }

    fn received(&self) -> Vec<u8> {
        std::fs::read(&self.log).unwrap_or_default()
    }
}

/// Wait until `f` holds or the bound passes.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn detect_forwards_exactly_the_stored_alerts_over_tcp_and_tls() {
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, cert, key) = common::test_ca(dir.path());
    let tcp = TcpReceiver::start();
    let tls = TlsReceiver::start(dir.path(), &cert, &key);
    let rules = env.file("r.yml", &rule(10));
    let logs = logs(&env, 40);
    let out = env.run(
        &[
            "detect",
            "--rules",
            rules.to_str().unwrap_or_default(),
            "--logs",
            logs.to_str().unwrap_or_default(),
            "--facility",
            FINESS,
            "--forward",
            &format!("syslog+tcp://127.0.0.1:{}", tcp.port),
            "--forward",
            &format!("syslog+tls://localhost:{}", tls.port),
            "--forward-ca",
            ca.to_str().unwrap_or_default(),
        ],
        0,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "forward syslog+tcp://127.0.0.1:{}: 40 sent, 0 dropped (queue full), 0 given up, 0 unsent at exit",
            tcp.port
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "forward syslog+tls://localhost:{}: 40 sent, 0 dropped (queue full), 0 given up, 0 unsent at exit",
            tls.port
        )),
        "{err}"
    );
    let stored = stored(&env);
    assert_eq!(stored.len(), 40);
    // "Sent" means handed to the connection: the receivers (another process for TLS) may still
    // be writing the last frames down when detect exits.
    eventually("every alert received over TCP and TLS", || {
        whole_frames(&tcp.received()) >= 40 && whole_frames(&tls.received()) >= 40
    });
    for (name, bytes) in [("tcp", tcp.received()), ("tls", tls.received())] {
        let got = parse(&frames(&bytes));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            stored.keys().collect::<Vec<_>>(),
            "{name}: exactly the stored alerts"
        );
        for (id, sd) in &got {
            assert_eq!(sd["host"], stored[id], "{name}");
            assert_eq!(sd["facility"], FINESS);
            assert_eq!(sd["rule"], "t-whoami");
            assert_eq!(sd["level"], "high");
            assert_eq!(sd["count"], "1");
        }
    }

    // A receiver that is not one: the command refuses to start, naming the option.
    let bad = env.run(
        &[
            "detect",
            "--rules",
            rules.to_str().unwrap_or_default(),
            "--logs",
            logs.to_str().unwrap_or_default(),
            "--facility",
            FINESS,
            "--forward",
            "syslog+udp://127.0.0.1:514",
        ],
        2,
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--forward syslog+udp://127.0.0.1:514"),
        "{err}"
    );
}

#[test]
fn a_receiver_down_then_up_gets_the_queued_alerts_and_the_overflow_is_counted() {
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    let port = common::free_port();
    let rules = env.file("r.yml", &rule(10));
    let logs = logs(&env, 12);
    let child = env
        .cmd()
        .args(["detect", "--rules"])
        .arg(&rules)
        .arg("--logs")
        .arg(&logs)
        .args(["--facility", FINESS, "--forward"])
        .arg(format!("syslog+tcp://127.0.0.1:{port}"))
        .args(["--forward-queue", "5", "--forward-drain", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hygie detect");
    // The receiver comes up once the twelve alerts are stored (and queued: five kept).
    eventually("the alerts stored", || stored(&env).len() == 12);
    let rx = TcpReceiver::on(TcpListener::bind(("127.0.0.1", port)).expect("the port again"));
    let out = child.wait_with_output().expect("hygie detect ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "forward syslog+tcp://127.0.0.1:{port}: 5 sent, 7 dropped (queue full), 0 given up, 0 unsent at exit"
        )),
        "{err}"
    );
    eventually("five messages", || frames(&rx.received()).len() == 5);
    let got = parse(&frames(&rx.received()));
    let stored = stored(&env);
    assert!(got.keys().all(|id| stored.contains_key(id)), "{got:?}");
}

#[test]
fn a_receiver_that_never_reads_does_not_hold_detection_up() {
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    // Accepts and never reads: once the socket buffers are full, every write waits.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(120));
        drop(conn);
    });
    // 3,000 alerts of 3 KB each: far more than the loopback buffers hold.
    let rules = env.file("r.yml", &rule(3_000));
    let logs = logs(&env, 3_000);
    let started = Instant::now();
    let out = env.run(
        &[
            "detect",
            "--rules",
            rules.to_str().unwrap_or_default(),
            "--logs",
            logs.to_str().unwrap_or_default(),
            "--facility",
            FINESS,
            "--forward",
            &format!("syslog+tcp://127.0.0.1:{port}"),
            "--forward-drain",
            "1",
        ],
        0,
    );
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(took < Duration::from_secs(60), "{took:?}: {err}");
    assert_eq!(stored(&env).len(), 3_000);
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("forward syslog+tcp://127.0.0.1:{port}:")))
        .expect("the receiver's counters");
    let (_, counts) = line.split_once(&format!(":{port}: ")).expect("counts");
    let numbers: Vec<u64> = counts
        .split([',', '/'])
        .filter_map(|part| part.split_whitespace().next()?.parse().ok())
        .collect();
    // sent, dropped, given up, unsent: nothing dropped, the unread rest counted as unsent.
    let [sent, dropped, given_up, unsent] = numbers[..4] else {
        panic!("{line}");
    };
    assert_eq!((dropped, given_up), (0, 0), "{line}");
    assert!(unsent > 0, "the receiver never read: {line}");
    assert_eq!(sent + unsent, 3_000, "{line}");
    drop(held);
}

/// A plain HTTP receiver on loopback: answers 503 to the first `POST`, 204 to the others, and
/// keeps each accepted request's headers and body.
#[test]
fn ingest_forwards_its_alerts_as_signed_json_retrying_a_refusal() {
    use std::io::Write as _;
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    // The first request is refused (503), the others accepted.
    let rx = Receiver::start(|got, _| if got.is_empty() { 503 } else { 204 });
    let secret = "0123456789abcdef-forward";
    let secret_file = env.file("forward.secret", &format!("{secret}\n"));
    let rules = env.file("r.yml", &rule(10));
    let mut child = env
        .cmd()
        .args(["ingest", "--listen", "json+tcp://127.0.0.1:0", "--rules"])
        .arg(&rules)
        .args(["--facility", FINESS, "--forward"])
        .arg(format!("http://127.0.0.1:{}/hook", rx.port))
        .arg("--forward-secret-file")
        .arg(&secret_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hygie ingest");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        assert!(err.read_line(&mut line).expect("read") > 0, "ingest ended");
        if let Some(rest) = line.strip_prefix("listening ") {
            addr = rest.split_whitespace().nth(1).map(str::to_owned);
        }
    }
    let mut tcp = std::net::TcpStream::connect(addr.expect("addr")).expect("connect");
    for i in 0..6 {
        let mut e = sysmon_process(&format!("pc{i}.chu.test"), WHOAMI);
        e["TimeCreated"] = "2026-12-07T08:00:00Z".into();
        writeln!(tcp, "{e}").expect("write");
    }
    drop(tcp);
    eventually("six alerts forwarded", || rx.accepted().len() >= 6);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(child.wait().expect("wait").success(), "{rest}");
    assert!(
        rest.contains(&format!(
            "forward http://127.0.0.1:{}/hook: 6 sent, 0 dropped (queue full), 0 given up, 0 unsent at exit",
            rx.port
        )),
        "{rest}"
    );
    // Six alerts, one refusal tried again: seven requests.
    assert_eq!(rx.received().len(), 7);
    let stored = stored(&env);
    let got = rx.accepted();
    let mut ids = Vec::new();
    for Received { headers, body, .. } in &got {
        hygie_notify::webhook::verify(
            secret.as_bytes(),
            &headers["hygie-timestamp"],
            &headers["hygie-signature"],
            body,
            jiff::Timestamp::now(),
        )
        .expect("signed as the webhooks are");
        assert_eq!(headers["hygie-event"], "alert.stored");
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        assert_eq!(v["type"], "alert.stored");
        assert_eq!(v["facility"], FINESS);
        let id = v["data"]["alert"].as_str().expect("id").to_owned();
        assert_eq!(v["data"]["host"], stored[&id].as_str());
        assert_eq!(headers["hygie-delivery"], format!("alert/{id}"));
        ids.push(id);
    }
    ids.sort();
    assert_eq!(ids, stored.keys().cloned().collect::<Vec<_>>());
}
