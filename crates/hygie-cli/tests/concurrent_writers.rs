//! Writers of every kind at once, from several processes, on SQLite and PostgreSQL: declarations
//! (`assess set`), check runs (`audit mfa`), governance imports (`people import`, `roles import`),
//! alerts from `ingest` (JSON lines over TCP) and `detect` (a file), and the web's writes (logins,
//! API tokens, user changes) made through the same store calls by this test process. No command
//! fails, no alert is lost, and `journal verify` counts exactly the entries the writes make.

#![allow(clippy::unwrap_used)]

use hygie_core::Finess;
use hygie_store::{Actor, Binding, NewUser, Role, SessionStage, Store, TokenAccess};
use hygie_testkit::TestDb;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const FINESS: &str = "350000014";

const RULES: &str = r#"
title: Whoami
id: t-whoami
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
level: high
"#;

/// Alerts sent to `ingest` and written by `detect`: one per host, so each is a new alert.
const INGESTED: usize = 1500;
const DETECTED: usize = 1200;
/// `detect` writes its alerts in batches of 500: one journal entry each.
const DETECT_BATCHES: usize = 3;
const DECLARATIONS: usize = 12;
const CHECK_RUNS: usize = 6;
const PEOPLE_IMPORTS: usize = 5;
const ROLE_IMPORTS: usize = 5;
const WEB_ROUNDS: usize = 15;

/// How a `hygie` process reaches the database under test.
struct Target {
    db: TestDb,
    home: tempfile::TempDir,
}

impl Target {
    fn hygie(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hygie"));
        match &self.db.data_dir {
            Some(dir) => c
                .env("HYGIE_DATA_DIR", dir)
                .env_remove("HYGIE_DATABASE_URL"),
            None => c
                .env("HYGIE_DATA_DIR", self.home.path())
                .env("HYGIE_DATABASE_URL", &self.db.url),
        };
        c
    }

    /// Run a command that must succeed.
    fn run(&self, args: &[&str]) -> Output {
        let out = self.hygie().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}: hygie {args:?} failed ({}): {}",
            self.db.backend,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn sysmon(host: &str) -> String {
    format!(
        "{{\"EventID\": 1, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"Computer\": \"{host}\", \"TimeCreated\": \"2025-03-01T10:00:00Z\", \"Image\": \"C:\\\\Windows\\\\System32\\\\whoami.exe\"}}\n"
    )
}

/// Start `hygie ingest`, send one event per host over TCP, wait until the store holds them all
/// (the listener acknowledges nothing), then stop it with SIGTERM; it must exit cleanly.
fn ingest(t: &Target, rules: &Path, store: &Store, rt: &tokio::runtime::Runtime) {
    let mut child = t
        .hygie()
        .args(["ingest", "--listen", "json+tcp://127.0.0.1:0", "--rules"])
        .arg(rules)
        .args(["--facility", FINESS, "--window", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && err.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.strip_prefix("listening ") {
            addr = rest.split_whitespace().nth(1).map(str::to_owned);
        }
        line.clear();
    }
    let addr = addr.expect("ingest announced its listener");
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    for i in 0..INGESTED {
        tcp.write_all(sysmon(&format!("in-{i}")).as_bytes())
            .unwrap();
    }
    drop(tcp);
    let f = Finess::parse(FINESS).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let ingested = || {
        rt.block_on(store.alerts(&f, None))
            .unwrap()
            .iter()
            .filter(|a| a.host.as_deref().is_some_and(|h| h.starts_with("in-")))
            .count()
    };
    while ingested() < INGESTED && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let status = child.wait().unwrap();
    assert!(status.success(), "{}: ingest failed: {rest}", t.db.backend);
    assert_eq!(ingested(), INGESTED, "{}: ingest lost alerts", t.db.backend);
}

/// The web's writes, through the store calls its handlers make: a user created and changed,
/// logins (sessions), failed logins, API tokens. Returns the journal entries they make.
async fn web_writes(store: &Store) -> usize {
    let f = Finess::parse(FINESS).unwrap();
    let user = store
        .create_user(
            &NewUser {
                username: "it.staff".into(),
                display_name: "IT staff".into(),
                role: Role::ItStaff,
                binding: Binding::Facilities {
                    facilities: vec![f.clone()],
                },
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                lang: None,
            },
            &Actor("web:admin".into()),
        )
        .await
        .unwrap();
    let actor = Actor("web:it.staff".into());
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    for i in 0..WEB_ROUNDS {
        let locked = store
            .record_login_failure(user.id, 1000, jiff::SignedDuration::from_secs(60))
            .await
            .unwrap();
        assert!(!locked);
        store.reset_login_failures(user.id).await.unwrap();
        let session = format!("{i:064x}");
        store
            .create_session(&session, user.id, SessionStage::Full, "csrf", expires)
            .await
            .unwrap();
        store
            .create_token(
                &format!("agent-{i}"),
                &f,
                TokenAccess::Write,
                &format!("{:064x}", i + 1_000_000),
                &actor,
            )
            .await
            .unwrap();
        let lang = if i % 2 == 0 { "fr" } else { "en" };
        store.set_user_lang(user.id, lang, &actor).await.unwrap();
        store.logout(&session, &actor).await.unwrap();
    }
    // user.create, then per round: auth.login, token.create, user.lang, auth.logout.
    1 + 4 * WEB_ROUNDS
}

fn writers_of_every_kind_on(db: TestDb) {
    let t = Target {
        db,
        home: tempfile::tempdir().unwrap(),
    };
    let files = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let rules = file("rules.yml", RULES);
    let logs = file(
        "events.jsonl",
        &(0..DETECTED)
            .map(|i| sysmon(&format!("de-{i}")))
            .collect::<String>(),
    );
    let people = file(
        "people.csv",
        "id,name,function,department,reports_to,email\np1,Alice Martin,DPO,Direction,,\np2,Bob Durand,RSSI,DSI,,\n",
    );
    let roles = file(
        "roles.csv",
        "role,person,department,start,end\ndpo,p1,,2025-01-01,\n",
    );
    let required = file("required.csv", "account,privileged\nalice,yes\n");
    let idp = file("idp.csv", "user,mfa\nalice,yes\n");

    t.run(&[
        "facility",
        "add",
        "--finess",
        FINESS,
        "--name",
        "CH Test",
        "--kind",
        "hospital",
        "--region",
        "BRE",
        "--plan-start",
        "2025-01-01",
    ]);
    t.run(&[
        "people",
        "import",
        "--facility",
        FINESS,
        people.to_str().unwrap(),
    ]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(&t.db.url)).unwrap();
    let before = rt
        .block_on(store.journal_entries(None, None))
        .unwrap()
        .len();

    let web = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..DECLARATIONS {
                let status = ["in_progress", "implemented"][i % 2];
                t.run(&["assess", "set", FINESS, "GOV-01", "--status", status]);
            }
        });
        s.spawn(|| {
            for _ in 0..CHECK_RUNS {
                t.run(&[
                    "audit",
                    "mfa",
                    "--facility",
                    FINESS,
                    "--required",
                    required.to_str().unwrap(),
                    "--idp",
                    idp.to_str().unwrap(),
                ]);
            }
        });
        s.spawn(|| {
            for _ in 0..PEOPLE_IMPORTS {
                t.run(&[
                    "people",
                    "import",
                    "--facility",
                    FINESS,
                    people.to_str().unwrap(),
                ]);
                t.run(&[
                    "roles",
                    "import",
                    "--facility",
                    FINESS,
                    roles.to_str().unwrap(),
                ]);
            }
        });
        s.spawn(|| {
            t.run(&[
                "detect",
                "--facility",
                FINESS,
                "--rules",
                rules.to_str().unwrap(),
                "--logs",
                logs.to_str().unwrap(),
                "--format",
                "json",
            ]);
        });
        s.spawn(|| ingest(&t, &rules, &store, &rt));
        rt.block_on(web_writes(&store))
    });

    let f = Finess::parse(FINESS).unwrap();
    let alerts = rt.block_on(store.alerts(&f, None)).unwrap();
    assert_eq!(alerts.len(), INGESTED + DETECTED, "{}", t.db.backend);
    let entries = rt.block_on(store.journal_entries(None, None)).unwrap();
    let recorded: Vec<_> = entries[before..]
        .iter()
        .filter(|e| e.action == "alerts.record")
        .collect();
    let new: u64 = recorded
        .iter()
        .map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.details).unwrap();
            d["new"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(new as usize, INGESTED + DETECTED, "{}", t.db.backend);
    // `detect` makes exactly DETECT_BATCHES entries; the ingest's batches depend on timing, and
    // each of its entries must record at least one new alert (counted above).
    assert!(recorded.len() > DETECT_BATCHES);
    let expected =
        before + DECLARATIONS + CHECK_RUNS + PEOPLE_IMPORTS + ROLE_IMPORTS + recorded.len() + web;
    let out = t.run(&["journal", "verify", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], true, "{}: {v}", t.db.backend);
    assert_eq!(
        v["entries"].as_u64().unwrap() as usize,
        expected,
        "{}: journal entries",
        t.db.backend
    );
    rt.block_on(store.close());
}

#[test]
fn writers_of_every_kind_at_once_on_sqlite() {
    writers_of_every_kind_on(TestDb::sqlite());
}

#[test]
fn writers_of_every_kind_at_once_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        writers_of_every_kind_on(db);
    }
}
