//! Writers of every kind at once, from several processes, on SQLite and PostgreSQL: declarations
//! (`assess set`), check runs (`audit mfa`), governance imports (`people import`, `roles import`),
//! alerts from `ingest` (JSON lines over TCP) and `detect` (a file), and the web app's writes
//! (users created, failed and successful logins with TOTP enrolment, API tokens, language changes,
//! logouts) sent over HTTP to a `hygie serve` process. No command or request fails, no alert is
//! lost, and `journal verify` counts exactly the entries the writes make.

#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_core::Finess;
use hygie_store::{Actor, Binding, NewUser, Role, Store};
use hygie_testkit::http::{self, Response};
use hygie_testkit::{TestDb, WHOAMI, WHOAMI_RULE, sysmon_process};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Alerts sent to `ingest` and written by `detect`: one per host, so each is a new alert.
const INGESTED: usize = 1500;
const DETECTED: usize = 1200;
/// `detect` writes its alerts in batches of 500: one journal entry each.
const DETECT_BATCHES: usize = 3;
const DECLARATIONS: usize = 12;
const CHECK_RUNS: usize = 6;
const PEOPLE_IMPORTS: usize = 5;
const ROLE_IMPORTS: usize = 5;
/// Two password logins a round from one address: under the login throttle (30 a minute).
const WEB_ROUNDS: usize = 12;
const ADMIN_PASSWORD: &str = "initial admin passphrase 2025";

/// One whoami process creation on `host`, as a JSON line.
fn sysmon(host: &str) -> String {
    let mut e = sysmon_process(host, WHOAMI);
    e["TimeCreated"] = "2025-03-01T10:00:00Z".into();
    format!("{e}\n")
}

/// Start `hygie ingest`, send one event per host over TCP, wait until the store holds them all
/// (the listener acknowledges nothing), then stop it with SIGTERM; it must exit cleanly.
fn ingest(t: &Hygie, rules: &Path, store: &Store, rt: &tokio::runtime::Runtime) {
    let mut child = t
        .cmd()
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
    assert!(status.success(), "{}: ingest failed: {rest}", t.backend());
    assert_eq!(ingested(), INGESTED, "{}: ingest lost alerts", t.backend());
}

/// `hygie serve` on a free loopback port, stopped (SIGINT, as Ctrl-C) when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
}

impl Server {
    fn start(t: &Hygie) -> Server {
        let mut child = t
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let mut addr = None;
        while addr.is_none() && err.read_line(&mut line).unwrap() > 0 {
            addr = line
                .split("listening on http://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned);
            line.clear();
        }
        // Keep draining its log so that the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Server {
            child,
            addr: addr.expect("hygie serve announced its address"),
        }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        http::exchange(&self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn get(&self, path: &str, session: &str) -> Response {
        let cookie = format!("hygie_session={session}");
        self.send("GET", path, &[("Cookie", &cookie)], "")
    }

    fn post_form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Response {
        self.send(
            "POST",
            path,
            &[
                ("Cookie", cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &http::form(fields),
        )
    }

    /// Log in with a password as the login form does; the answer to the POST.
    fn password_login(&self, username: &str, password: &str) -> Response {
        let form = self.send("GET", "/login", &[], "");
        let pre = form
            .cookie("hygie_pre")
            .expect("login form sets its cookie");
        let csrf = form.field("csrf").expect("login form carries its token");
        self.post_form(
            "/login",
            &format!("hygie_pre={pre}"),
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
    }

    /// A first login of a role that needs a second factor: password, then TOTP enrolment with
    /// the key read from the page, as a person types the code their app shows. The full
    /// session's cookie and CSRF token.
    fn login_and_enrol(&self, username: &str, password: &str) -> (String, String) {
        let r = self.password_login(username, password);
        assert_eq!(r.status, 303, "login of {username}: {}", r.body);
        assert_eq!(r.header("location"), Some("/login/enroll"));
        let pending = r.cookie("hygie_session").unwrap();
        let page = self.get("/login/enroll", &pending);
        assert_eq!(page.status, 200, "{}", page.body);
        let secret = page.field("totp-secret").expect("the key is on the page");
        let csrf = page.field("csrf").unwrap();
        let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
        let r = self.post_form(
            "/login/enroll",
            &format!("hygie_session={pending}"),
            &[("csrf", &csrf), ("code", &code)],
        );
        assert_eq!(r.status, 303, "enrolment of {username}: {}", r.body);
        let session = r.cookie("hygie_session").unwrap();
        let csrf = self
            .get("/catalog", &session)
            .field("csrf")
            .expect("a signed-in page carries the session's CSRF token");
        (session, csrf)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The web app's writes, over HTTP to a `hygie serve` process, as browsers and API clients make
/// them: an administrator signs in with TOTP and creates users; each new CISO fails a login,
/// signs in and enrols a second factor, creates an API token, switches language and logs out.
/// Returns the journal entries they make.
fn web_writes(server: &Server) -> usize {
    let (admin, admin_csrf) = server.login_and_enrol("admin", ADMIN_PASSWORD);
    let admin_cookie = format!("hygie_session={admin}");
    for i in 0..WEB_ROUNDS {
        let name = format!("ciso{i}");
        let password = format!("a long passphrase for ciso number {i}");
        let r = server.post_form(
            "/admin/users",
            &admin_cookie,
            &[
                ("csrf", &admin_csrf),
                ("username", &name),
                ("display_name", &format!("CISO {i}")),
                ("role", "ciso"),
                ("region", ""),
                ("facilities", FINESS),
                ("password", &password),
            ],
        );
        assert_eq!(r.status, 303, "user creation: {}", r.body);
        let r = server.password_login(&name, "not the password at all");
        assert_eq!(r.status, 401, "a wrong password is refused");
        let (session, csrf) = server.login_and_enrol(&name, &password);
        let cookie = format!("hygie_session={session}");
        let r = server.send(
            "POST",
            "/api/v1/tokens",
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
            &format!(r#"{{"name": "agent-{i}", "facility": "{FINESS}", "access": "write"}}"#),
        );
        assert_eq!(r.status, 201, "token creation: {}", r.body);
        let lang = if i % 2 == 0 { "fr" } else { "en" };
        let r = server.post_form("/lang", &cookie, &[("csrf", &csrf), ("lang", lang)]);
        assert_eq!(r.status, 303, "language switch: {}", r.body);
        let r = server.post_form("/logout", &cookie, &[("csrf", &csrf)]);
        assert_eq!(r.status, 303, "logout: {}", r.body);
    }
    // The administrator: user.totp_enrol, auth.login. Per round: user.create, user.totp_enrol,
    // auth.login, token.create, user.lang, auth.logout.
    2 + 6 * WEB_ROUNDS
}

fn writers_of_every_kind_on(db: TestDb) {
    let t = Hygie::on(db);
    let rules = t.file("rules.yml", WHOAMI_RULE);
    let logs = t.file(
        "events.jsonl",
        &(0..DETECTED)
            .map(|i| sysmon(&format!("de-{i}")))
            .collect::<String>(),
    );
    let people = t.file(
        "people.csv",
        "id,name,function,department,reports_to,email\np1,Alice Martin,DPO,Direction,,\np2,Bob Durand,RSSI,DSI,,\n",
    );
    let roles = t.file(
        "roles.csv",
        "role,person,department,start,end\ndpo,p1,,2025-01-01,\n",
    );
    let required = t.file("required.csv", "account,privileged\nalice,yes\n");
    let idp = t.file("idp.csv", "user,mfa\nalice,yes\n");

    // A governance register imported whole (`people import`, `roles import`): one entry each.
    let import = |register: &str, file: &Path| {
        t.run(
            &[
                register,
                "import",
                "--facility",
                FINESS,
                file.to_str().unwrap(),
            ],
            0,
        );
    };
    t.add(&HOSPITAL);
    import("people", &people);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(&t.database_url())).unwrap();
    // The first administrator, as `/setup` makes it; the server then starts with a user.
    rt.block_on(store.create_user(
        &NewUser {
            username: "admin".into(),
            display_name: "Administrator".into(),
            role: Role::Administrator,
            binding: Binding::Installation,
            password_hash: hygie_web::auth::hash_password(ADMIN_PASSWORD).unwrap(),
            lang: None,
        },
        &Actor("web:setup".into()),
    ))
    .unwrap();
    let server = Server::start(&t);
    let before = rt
        .block_on(store.journal_entries(None, None))
        .unwrap()
        .len();

    let web = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..DECLARATIONS {
                let status = ["in_progress", "implemented"][i % 2];
                t.run(&["assess", "set", FINESS, "GOV-01", "--status", status], 0);
            }
        });
        s.spawn(|| {
            for _ in 0..CHECK_RUNS {
                t.run(
                    &[
                        "audit",
                        "mfa",
                        "--facility",
                        FINESS,
                        "--required",
                        required.to_str().unwrap(),
                        "--idp",
                        idp.to_str().unwrap(),
                    ],
                    0,
                );
            }
        });
        s.spawn(|| {
            for _ in 0..PEOPLE_IMPORTS {
                import("people", &people);
                import("roles", &roles);
            }
        });
        s.spawn(|| {
            t.run(
                &[
                    "detect",
                    "--facility",
                    FINESS,
                    "--rules",
                    rules.to_str().unwrap(),
                    "--logs",
                    logs.to_str().unwrap(),
                    "--format",
                    "json",
                ],
                0,
            );
        });
        s.spawn(|| ingest(&t, &rules, &store, &rt));
        web_writes(&server)
    });
    drop(server);

    let f = Finess::parse(FINESS).unwrap();
    let alerts = rt.block_on(store.alerts(&f, None)).unwrap();
    assert_eq!(alerts.len(), INGESTED + DETECTED, "{}", t.backend());
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
    assert_eq!(new as usize, INGESTED + DETECTED, "{}", t.backend());
    // `detect` makes exactly DETECT_BATCHES entries; the ingest's batches depend on timing, and
    // each of its entries must record at least one new alert (counted above).
    assert!(recorded.len() > DETECT_BATCHES);
    let expected =
        before + DECLARATIONS + CHECK_RUNS + PEOPLE_IMPORTS + ROLE_IMPORTS + recorded.len() + web;
    let v = t.json(&["journal", "verify"], 0);
    assert_eq!(v["intact"], true, "{}: {v}", t.backend());
    assert_eq!(
        v["entries"].as_u64().unwrap() as usize,
        expected,
        "{}: journal entries",
        t.backend()
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
