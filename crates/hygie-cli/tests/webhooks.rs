//! Issue 24: signed webhooks, end to end. A receiver in the test process (axum on a free
//! loopback port) records every delivery, answers 500 to the first attempt of each event and
//! 204 afterwards; `hygie notify run --webhooks` delivers, retries after the backoff, and never
//! delivers an event twice, on SQLite and on PostgreSQL (also with two processes at once). The
//! signatures verify under the documented scheme (the Rust verifier and the README's Python
//! snippet), a replay with an old timestamp is refused, and the secret is nowhere in the
//! journal, the output or the database.

mod common;

use common::receiver::{Received, Receiver};
use common::{HOSPITAL, Hygie};
use hygie_notify::webhook;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "wh-secret-5f1d0c9a7e3b2468ace0";

/// The receiver of these tests: the first attempt of each event fails (500), later ones are
/// accepted (204).
fn receiver() -> Receiver {
    Receiver::start(|got, headers| {
        let event = headers
            .get(&webhook::HEADER_DELIVERY.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        if got.iter().any(|r| event_of(r) == event) {
            204
        } else {
            500
        }
    })
}

fn event_of(r: &Received) -> &str {
    r.header(webhook::HEADER_DELIVERY)
}

/// Deliveries answered 2xx, per event id.
fn accepted(rx: &Receiver) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rx.accepted() {
        *m.entry(event_of(&r).to_owned()).or_default() += 1;
    }
    m
}

/// The webhooks file and the secret file in the test's directory.
fn config(env: &Hygie, port: u16) -> std::path::PathBuf {
    env.file("siem.secret", &format!("{SECRET}\n"));
    env.file(
        "webhooks.toml",
        &format!(
            "[[endpoint]]\nname = \"siem\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
             secret_file = \"siem.secret\"\nbackoff_seconds = 1\nmax_attempts = 4\n"
        ),
    )
}

fn ago(hours: i64) -> String {
    (Timestamp::now() - SignedDuration::from_hours(hours)).to_string()
}

/// A personal-data breach known for 70 h: opening it is an event, and its CNIL notification
/// (due at 72 h) is in the 4 h window, a reminder event.
fn breach(env: &Hygie) -> String {
    let v = env.json(
        &[
            "incident",
            "open",
            "--facility",
            common::FINESS,
            "--title",
            "Fuite de données patients",
            "--awareness",
            &ago(70),
            "--personal-data-breach",
            "risk",
            "--serious",
            "--impact",
            "health_data",
        ],
        0,
    );
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn run_hooks(env: &Hygie, file: &std::path::Path) -> (Value, String) {
    let out = env.run(
        &[
            "notify",
            "run",
            "--webhooks",
            file.to_str().unwrap_or_default(),
            "--format",
            "json",
        ],
        0,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (v, text)
}

/// The receiver's check as the README documents it, in Python.
const PY_VERIFY: &str = r#"
import hmac, hashlib, time, sys
def verify(secret: bytes, timestamp: str, signature: str, body: bytes) -> bool:
    if abs(time.time() - int(timestamp)) > 300:
        return False                      # outside the replay window
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + mac, signature)
secret, ts, sig, path = sys.argv[1:5]
sys.exit(0 if verify(secret.encode(), ts, sig, open(path, "rb").read()) else 1)
"#;

fn python_verifies(env: &Hygie, r: &Received, ts: &str, sig: &str) -> bool {
    let body = env.path().join("body.json");
    std::fs::write(&body, &r.body).expect("body written");
    let script = env.file("verify.py", PY_VERIFY);
    Command::new("python3")
        .arg(script)
        .args([SECRET, ts, sig])
        .arg(body)
        .status()
        .expect("python3 runs")
        .success()
}

#[test]
fn deliveries_are_signed_retried_after_a_500_and_delivered_once() {
    for env in Hygie::each() {
        let rx = receiver();
        let file = config(&env, rx.port);
        env.add(&HOSPITAL);
        let id = breach(&env);

        // First pass: every first attempt gets a 500 and waits for its retry.
        let (v, out1) = run_hooks(&env, &file);
        let w = &v["webhooks"];
        assert!(w["queued"].as_u64().unwrap_or(0) >= 2, "{v:#}");
        assert_eq!(w["delivered"], 0, "{v:#}");
        assert_eq!(w["retried"], w["queued"], "{v:#}");
        let first = rx.received();
        assert!(first.iter().all(|r| r.status == 500), "{first:?}");

        // After the backoff (1 s for the first retry), the second pass delivers them all.
        std::thread::sleep(Duration::from_millis(1_300));
        let (v, out2) = run_hooks(&env, &file);
        assert_eq!(v["webhooks"]["delivered"], w["queued"], "{v:#}");
        // And a third delivers nothing again.
        std::thread::sleep(Duration::from_millis(1_300));
        let (v, out3) = run_hooks(&env, &file);
        assert_eq!(v["webhooks"]["delivered"], 0, "{v:#}");
        assert_eq!(v["webhooks"]["queued"], 0, "{v:#}");

        let accepted = accepted(&rx);
        assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
        let opened = format!("incident/{id}");
        let reminder = format!("reminder/{id}/cnil/4h");
        assert_eq!(accepted.get(&opened), Some(&1), "{accepted:?}");
        assert_eq!(accepted.get(&reminder), Some(&1), "{accepted:?}");

        // Every delivery is signed over `timestamp.body`; the body names no person and no title.
        let now = Timestamp::now();
        for r in &rx.received() {
            assert_eq!(
                webhook::verify(
                    SECRET.as_bytes(),
                    r.header(webhook::HEADER_TIMESTAMP),
                    r.header(webhook::HEADER_SIGNATURE),
                    &r.body,
                    now
                ),
                Ok(()),
                "{r:?}"
            );
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            assert_eq!(body["id"], event_of(r));
            assert_eq!(body["type"], r.header(webhook::HEADER_EVENT));
            assert_eq!(body["facility"], common::FINESS);
            let text = String::from_utf8_lossy(&r.body);
            assert!(!text.contains("Fuite"), "{text}");
        }
        let open = rx
            .received()
            .into_iter()
            .find(|r| event_of(r) == opened && r.status < 300)
            .expect("the opening delivered");
        assert_eq!(open.header(webhook::HEADER_EVENT), "incident.opened");
        let body: Value = serde_json::from_slice(&open.body).unwrap_or(Value::Null);
        assert_eq!(body["data"]["incident"], id.as_str());

        // A replay: the same delivery ten minutes later is refused by the documented check,
        // and so is a timestamp set back by a captor (the signature no longer matches).
        let later = now + SignedDuration::from_mins(10);
        assert_eq!(
            webhook::verify(
                SECRET.as_bytes(),
                open.header(webhook::HEADER_TIMESTAMP),
                open.header(webhook::HEADER_SIGNATURE),
                &open.body,
                later
            ),
            Err(webhook::Refused::OutsideWindow)
        );
        assert!(python_verifies(
            &env,
            &open,
            open.header(webhook::HEADER_TIMESTAMP),
            open.header(webhook::HEADER_SIGNATURE)
        ));
        let old = (open
            .header(webhook::HEADER_TIMESTAMP)
            .parse::<i64>()
            .unwrap_or(0)
            - 400)
            .to_string();
        let old_sig = webhook::sign(SECRET.as_bytes(), old.parse().unwrap_or(0), &open.body);
        assert!(!python_verifies(&env, &open, &old, &old_sig));
        assert!(!python_verifies(
            &env,
            &open,
            open.header(webhook::HEADER_TIMESTAMP),
            &old_sig
        ));

        // Each attempt is journalled with its endpoint, event and status code.
        let journal = env.stdout(
            &["journal", "list", "--limit", "10000", "--format", "json"],
            0,
        );
        let entries: Value = serde_json::from_str(&journal).unwrap_or(Value::Null);
        let attempts: Vec<&Value> = entries
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["action"] == "webhook.attempt")
                    .collect()
            })
            .unwrap_or_default();
        let details = |e: &Value| -> Value {
            serde_json::from_str(e["details"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
        };
        let statuses: Vec<i64> = attempts
            .iter()
            .map(|e| details(e))
            .filter(|d| d["event"] == opened.as_str())
            .filter_map(|d| d["status"].as_i64())
            .collect();
        assert_eq!(statuses, vec![500, 204], "{journal}");
        assert!(
            attempts.iter().all(|e| e["subject"] == "webhook/siem"),
            "{journal}"
        );

        // The list of deliveries.
        let list = env.json(&["notify", "webhooks"], 0);
        let rows = list.as_array().cloned().unwrap_or_default();
        assert!(
            rows.iter()
                .all(|r| r["state"] == "delivered" && r["attempts"] == 2),
            "{list:#}"
        );

        // The secret is nowhere: journal, output, database.
        for text in [&journal, &out1, &out2, &out3, &list.to_string()] {
            assert!(!text.contains(SECRET), "the secret leaked: {text}");
        }
        if env.backend() == "sqlite" {
            for f in std::fs::read_dir(env.data()).expect("data dir").flatten() {
                let bytes = std::fs::read(f.path()).unwrap_or_default();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the secret is in {}",
                    f.path().display()
                );
            }
        }
    }
}

#[test]
fn two_processes_on_one_postgresql_deliver_each_event_once() {
    let Some(env) = Hygie::postgres() else {
        return;
    };
    let rx = receiver();
    let file = config(&env, rx.port);
    env.add(&HOSPITAL);
    for _ in 0..3 {
        breach(&env);
    }
    // Three passes of two processes at once, a backoff apart: each first attempt fails, each
    // event is then accepted once whoever delivers it.
    for _ in 0..3 {
        let spawn = || {
            env.cmd()
                .args(["notify", "run", "--webhooks"])
                .arg(&file)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("hygie runs")
        };
        let (mut a, mut b) = (spawn(), spawn());
        assert!(a.wait().expect("a").success());
        assert!(b.wait().expect("b").success());
        std::thread::sleep(Duration::from_millis(1_300));
    }
    let accepted = accepted(&rx);
    assert!(accepted.len() >= 6, "{accepted:?}");
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    // A first attempt per event and endpoint, never two.
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    for r in rx.received().iter().filter(|r| r.status == 500) {
        *failed.entry(event_of(r).to_owned()).or_default() += 1;
    }
    assert!(failed.values().all(|n| *n == 1), "{failed:?}");
}

#[test]
fn a_bad_webhooks_file_names_the_file_and_the_field() {
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    env.file("s.secret", &format!("{SECRET}\n"));
    let bad = env.file(
        "hooks.toml",
        "[[endpoint]]\nname = \"siem\"\nurl = \"http://siem.example.org/hook\"\nsecret_file = \"s.secret\"\n",
    );
    let err = env.stderr(
        &[
            "notify",
            "run",
            "--webhooks",
            bad.to_str().unwrap_or_default(),
        ],
        2,
    );
    assert!(err.contains("hooks.toml"), "{err}");
    assert!(err.contains("endpoint[0].url"), "{err}");
    assert!(err.contains("https"), "{err}");

    let short = env.file("short.secret", "abc\n");
    let _ = short;
    let bad = env.file(
        "hooks2.toml",
        "[[endpoint]]\nname = \"siem\"\nurl = \"https://siem.example.org/hook\"\nsecret_file = \"short.secret\"\n",
    );
    let err = env.stderr(
        &[
            "notify",
            "run",
            "--webhooks",
            bad.to_str().unwrap_or_default(),
        ],
        2,
    );
    assert!(err.contains("endpoint[0].secret_file"), "{err}");
    assert!(!err.contains("abc"), "{err}");

    // `hygie serve` checks the file at start too, through the environment variable.
    let err = common::stderr(
        env.cmd()
            .env("HYGIE_WEBHOOKS", env.path().join("hooks.toml"))
            .args(["serve", "--listen", "127.0.0.1:0"]),
        2,
    );
    assert!(err.contains("endpoint[0].url"), "{err}");
    // Nothing was recorded.
    assert_eq!(env.json(&["notify", "webhooks"], 0), serde_json::json!([]));
}

/// `hygie serve --webhooks`, started with its log captured; killed on drop.
struct Serve {
    child: std::process::Child,
    log: Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(env: &Hygie, file: &std::path::Path) -> Serve {
        use std::io::Read as _;
        let mut child = env
            .cmd()
            .env("RUST_LOG", "info")
            .args(["serve", "--listen", "127.0.0.1:0", "--webhooks-every", "1"])
            .arg("--webhooks")
            .arg(file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hygie serve starts");
        let mut err = child.stderr.take().expect("stderr");
        let log: Arc<Mutex<String>> = Arc::default();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Serve { child, log }
    }
}

#[test]
fn two_servers_on_one_postgresql_deliver_each_event_once() {
    let Some(env) = Hygie::postgres() else {
        return;
    };
    let rx = receiver();
    let file = config(&env, rx.port);
    env.add(&HOSPITAL);
    for _ in 0..3 {
        breach(&env);
    }
    let servers = [Serve::start(&env, &file), Serve::start(&env, &file)];
    // Both run a pass every second; wait until every delivery is done (first attempt 500,
    // retry after 1 s accepted).
    let start = std::time::Instant::now();
    loop {
        let rows = env.json(&["notify", "webhooks"], 0);
        let rows = rows.as_array().cloned().unwrap_or_default();
        if rows.len() >= 6 && rows.iter().all(|r| r["state"] == "delivered") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "deliveries not done: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let logs: Vec<String> = servers
        .iter()
        .map(|s| s.log.lock().expect("lock").clone())
        .collect();
    drop(servers);
    let accepted = accepted(&rx);
    assert!(accepted.len() >= 6, "{accepted:?}");
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    for log in &logs {
        assert!(!log.contains(SECRET), "the secret is in the log: {log}");
    }
    assert!(
        logs.iter().any(|l| l.contains("webhook not delivered")),
        "the 500s are logged: {logs:?}"
    );
}

/// An HTTPS receiver (Python's http.server behind its ssl module, on a free loopback port) with
/// a certificate from `common::test_ca`; it answers 204 and appends each body to `log`.
struct HttpsReceiver {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for HttpsReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PY_HTTPS: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[3], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

impl HttpsReceiver {
    fn start(dir: &std::path::Path, cert: &std::path::Path, key: &std::path::Path) -> Self {
        use std::io::BufRead as _;
        let script = dir.join("https_receiver.py");
        std::fs::write(&script, PY_HTTPS).expect("script written");
        let log = dir.join("received.jsonl");
        let mut child = Command::new("python3")
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
        HttpsReceiver { child, port, log }
    }

    fn bodies(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A receiver certified by the hospital's own CA: refused with the system's roots (the delivery
/// waits for a retry, nothing arrives), delivered once the endpoint names the CA file
/// (`ca_cert`); a CA file that is not one stops the command at start, naming the field.
#[test]
fn an_endpoint_certified_by_its_own_ca_is_reached_with_its_ca_file() {
    let env = Hygie::sqlite();
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = common::test_ca(dir.path());
    let rx = HttpsReceiver::start(dir.path(), &cert, &key);
    env.add(&HOSPITAL);
    let id = breach(&env);
    env.file("siem.secret", &format!("{SECRET}\n"));
    let endpoint = |extra: &str| {
        format!(
            "[[endpoint]]\nname = \"siem\"\nurl = \"https://localhost:{}/hook\"\n\
             secret_file = \"siem.secret\"\nbackoff_seconds = 1\nmax_attempts = 5\n{extra}",
            rx.port
        )
    };
    let without = env.file("without-ca.toml", &endpoint(""));
    let (v, out) = run_hooks(&env, &without);
    assert_eq!(v["webhooks"]["delivered"], 0, "{out}");
    assert!(rx.bodies().is_empty(), "{out}");

    let with = env.file(
        "with-ca.toml",
        &endpoint(&format!("ca_cert = \"{}\"\n", ca.display())),
    );
    std::thread::sleep(Duration::from_millis(1_300));
    let (v, out) = run_hooks(&env, &with);
    assert!(
        v["webhooks"]["delivered"].as_u64().unwrap_or(0) >= 1,
        "{out}"
    );
    let got = rx.bodies();
    assert!(
        got.iter().any(|b| b["id"] == format!("incident/{id}")),
        "{got:?}"
    );

    let bad = env.file("not-a-ca.pem", "not a certificate\n");
    let cfg = env.file(
        "bad-ca.toml",
        &endpoint(&format!("ca_cert = \"{}\"\n", bad.display())),
    );
    let out = env.run(
        &[
            "notify",
            "run",
            "--webhooks",
            cfg.to_str().unwrap_or_default(),
        ],
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("endpoint[0].ca_cert"), "{err}");
}

/// A recurring measure about to expire is an event too (`renewal.window`), once, with its
/// measure and expiry and without its owner.
#[test]
fn a_measure_about_to_expire_is_a_renewal_event() {
    let env = Hygie::sqlite();
    let rx = receiver();
    let file = config(&env, rx.port);
    env.add(&HOSPITAL);
    env.run(
        &[
            "assess",
            "set",
            common::FINESS,
            "GOV-05",
            "--status",
            "implemented",
            "--owner",
            "Claire Martin",
        ],
        0,
    );
    // Declared a year less ten days ago: its 30-day window.
    let at = (Timestamp::now() + SignedDuration::from_hours(24 * 10))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(jiff::Span::new().months(12))
        .expect("a year back")
        .timestamp();
    let url = env.database_url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            use sqlx::Connection as _;
            sqlx::any::install_default_drivers();
            let mut c = sqlx::AnyConnection::connect(&url).await.expect("connect");
            sqlx::query("UPDATE declarations SET at_us = $1 WHERE measure = 'GOV-05'")
                .bind(at.as_microsecond())
                .execute(&mut c)
                .await
                .expect("update");
        });
    run_hooks(&env, &file);
    std::thread::sleep(Duration::from_millis(1_300));
    run_hooks(&env, &file);
    let renewals: Vec<Received> = rx
        .received()
        .into_iter()
        .filter(|r| r.header(webhook::HEADER_EVENT) == "renewal.window" && r.status < 300)
        .collect();
    assert_eq!(renewals.len(), 1, "{:?}", rx.received());
    let body: Value = serde_json::from_slice(&renewals[0].body).unwrap_or(Value::Null);
    assert_eq!(body["data"]["measure"], "GOV-05", "{body}");
    assert_eq!(body["data"]["slot"], "30d", "{body}");
    assert!(
        body["id"]
            .as_str()
            .unwrap_or("")
            .starts_with("reminder/renewal/")
    );
    assert!(!String::from_utf8_lossy(&renewals[0].body).contains("Claire"));
}
