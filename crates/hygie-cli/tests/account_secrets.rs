//! Issue 25: the whole account lifecycle over HTTP against a `hygie serve` process logging at
//! trace level, then a search of its log and of the database files (with the WAL) for every
//! password, TOTP seed and code, API token, session cookie and CSRF token the run used: none
//! may be there. The search is checked to work: the log holds the run's security events and
//! the database its usernames and digests.
#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_testkit::http::{self, Response};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `hygie serve` logging at trace level into a file; stopped (SIGINT) when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
}

impl Server {
    fn start(t: &Hygie, log: &std::path::Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        let child = t
            .cmd()
            .env("HYGIE_LOG", "trace")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut addr = None;
        while addr.is_none() && Instant::now() < deadline {
            let f = std::fs::File::open(log).unwrap();
            addr = BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .find_map(|l| {
                    l.split("listening on http://")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .map(str::to_owned)
                });
            std::thread::sleep(Duration::from_millis(100));
        }
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

    fn form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Response {
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

    /// A JSON API call with a session (its CSRF token in the header).
    fn api(&self, method: &str, path: &str, session: &(String, String), body: &str) -> Response {
        let cookie = format!("hygie_session={}", session.0);
        self.send(
            method,
            path,
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &session.1),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }

    fn password_login(&self, username: &str, password: &str) -> Response {
        let form = self.send("GET", "/login", &[], "");
        let pre = form.cookie("hygie_pre").unwrap();
        let csrf = form.field("csrf").unwrap();
        self.form(
            "/login",
            &format!("hygie_pre={pre}"),
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
    }

    /// Post a code on a pending session's page; the answer.
    fn code(&self, page: &str, pending: &str, code: &str) -> Response {
        let csrf = self.get(page, pending).field("csrf").unwrap();
        self.form(
            page,
            &format!("hygie_session={pending}"),
            &[("csrf", &csrf), ("code", code)],
        )
    }

    /// The full session a redirection opened, with the CSRF token of its pages.
    fn opened(&self, r: &Response) -> (String, String) {
        assert_eq!(r.status, 303, "{}", r.body);
        let session = r.cookie("hygie_session").unwrap();
        let csrf = self.get("/catalog", &session).field("csrf").unwrap();
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

/// What the run used and must not be found: passwords, seeds, codes, tokens, cookies, and
/// (in the log) CSRF tokens.
#[derive(Default)]
struct Secrets {
    text: Vec<String>,
    /// TOTP codes: six digits, searched apart (see `holds_code`).
    codes: Vec<String>,
    /// A session's CSRF token is kept by the store with the session (the pages carry it), by
    /// design: without the session's cookie it opens nothing. It must not reach the log.
    csrf: Vec<String>,
}

impl Secrets {
    fn add(&mut self, s: &str) -> String {
        self.text.push(s.to_owned());
        s.to_owned()
    }
    fn csrf(&mut self, s: &str) -> String {
        self.csrf.push(s.to_owned());
        s.to_owned()
    }
    /// The code of a seed now, kept as a secret.
    fn code(&mut self, seed: &str, offset: i64) -> String {
        let c = hygie_web::auth::totp_code(seed, jiff::Timestamp::now().as_second() + offset);
        self.codes.push(c.clone());
        c
    }
}

/// Whether `hay` holds `code` as a number of its own: not inside a longer run of digits (the
/// microseconds of stored instants) nor as the fraction of a logged or journalled time.
fn holds_code(hay: &str, code: &str) -> bool {
    hay.match_indices(code).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The key of the enrolment page, and the session after the first code.
fn enrol(server: &Server, secrets: &mut Secrets, r: &Response) -> (String, String) {
    assert_eq!(r.header("location"), Some("/login/enroll"), "{}", r.body);
    let pending = secrets.add(&r.cookie("hygie_session").unwrap());
    let seed = secrets.add(
        &server
            .get("/login/enroll", &pending)
            .field("totp-secret")
            .unwrap(),
    );
    let code = secrets.code(&seed, 0);
    let (session, csrf) = server.opened(&server.code("/login/enroll", &pending, &code));
    secrets.add(&session);
    secrets.csrf(&csrf);
    (seed, session)
}

#[test]
fn no_secret_of_the_account_lifecycle_reaches_the_log_or_the_store() {
    let t = Hygie::sqlite();
    t.add(&HOSPITAL);
    let mut secrets = Secrets::default();
    let admin_pw = secrets.add("the administrator's passphrase 42");
    let file = t.file("admin.pw", &admin_pw);
    t.run(
        &[
            "users",
            "add",
            "--username",
            "admin",
            "--name",
            "Admin",
            "--role",
            "administrator",
            "--password-file",
            file.to_str().unwrap(),
        ],
        0,
    );
    std::fs::remove_file(&file).unwrap();
    let log = t.path().join("serve.log");
    let server = Server::start(&t, &log);

    // The administrator signs in and enrols a second factor.
    let r = server.password_login("admin", &admin_pw);
    let (_, admin) = enrol(&server, &mut secrets, &r);
    let admin_csrf = server.get("/catalog", &admin).field("csrf").unwrap();
    let admin_s = (admin.clone(), admin_csrf.clone());
    let admin_cookie = format!("hygie_session={admin}");

    // A CISO account; a wrong password, a password typed as a username, then a first login.
    let ciso_pw = secrets.add("the ciso's first passphrase");
    let r = server.form(
        "/admin/users",
        &admin_cookie,
        &[
            ("csrf", &admin_csrf),
            ("username", "ciso"),
            ("display_name", "CISO"),
            ("role", "ciso"),
            ("region", ""),
            ("facilities", FINESS),
            ("password", &ciso_pw),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let wrong = secrets.add("a wrong passphrase here");
    assert_eq!(server.password_login("ciso", &wrong).status, 401);
    assert_eq!(server.password_login(&ciso_pw, &ciso_pw).status, 401);
    let r = server.password_login("ciso", &ciso_pw);
    let (ciso_seed, ciso) = enrol(&server, &mut secrets, &r);
    let ciso_csrf = server.get("/catalog", &ciso).field("csrf").unwrap();
    let ciso_s = (ciso.clone(), ciso_csrf.clone());

    // The CISO makes an API token and uses it; a forged one is refused.
    let r = server.api(
        "POST",
        "/api/v1/tokens",
        &ciso_s,
        &format!(
            r#"{{"name":"agent","facility":"{FINESS}","access":"read","expires_in_days":30}}"#
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let token = secrets.add(v["token"].as_str().unwrap());
    let bearer = format!("Bearer {token}");
    let facilities = |auth: &str| {
        server
            .send("GET", "/api/v1/facilities", &[("Authorization", auth)], "")
            .status
    };
    assert_eq!(facilities(&bearer), 200);
    let forged = secrets.add(&format!("hyg_{}", hygie_web::auth::random_hex(32).unwrap()));
    assert_eq!(facilities(&format!("Bearer {forged}")), 401);
    // A form without its CSRF token; the CISO's own sessions.
    let r = server.form(
        "/account/sessions/end-others",
        &format!("hygie_session={ciso}"),
        &[("csrf", "forged")],
    );
    assert_eq!(r.status, 403);
    let r = server.form(
        "/account/sessions/end-others",
        &format!("hygie_session={ciso}"),
        &[("csrf", &ciso_csrf)],
    );
    assert_eq!(r.status, 303);

    // The administrator's actions on the CISO.
    let ciso_id = {
        let r = server.api("GET", "/api/v1/users", &admin_s, "");
        let list: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "ciso")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let act = |action: &str| {
        let r = server.api(
            "POST",
            &format!("/api/v1/users/{ciso_id}/{action}"),
            &admin_s,
            "",
        );
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        r
    };
    let r = act("reset-password");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let temporary = secrets.add(v["temporary_password"].as_str().unwrap());
    // The temporary password, the code, then the CISO's own password.
    let r = server.password_login("ciso", &temporary);
    assert_eq!(r.header("location"), Some("/login/totp"));
    let pending = secrets.add(&r.cookie("hygie_session").unwrap());
    let code = secrets.code(&ciso_seed, 30);
    let r = server.code("/login/totp", &pending, &code);
    assert_eq!(r.header("location"), Some("/login/password"), "{}", r.body);
    let pending = secrets.add(&r.cookie("hygie_session").unwrap());
    let own = secrets.add("the ciso's chosen passphrase");
    let csrf = server
        .get("/login/password", &pending)
        .field("csrf")
        .unwrap();
    let r = server.form(
        "/login/password",
        &format!("hygie_session={pending}"),
        &[("csrf", &csrf), ("password", &own), ("repeat", &own)],
    );
    let (s, c) = server.opened(&r);
    secrets.add(&s);
    secrets.csrf(&c);
    // A lost phone: a new enrolment.
    act("reset-totp");
    let r = server.password_login("ciso", &own);
    enrol(&server, &mut secrets, &r);
    // Five wrong passwords lock; unlock; disable (the token goes), enable, end sessions, delete.
    for _ in 0..5 {
        let r = server.password_login("ciso", &wrong);
        assert_eq!(r.status, 401, "a wrong password is refused: {}", r.body);
    }
    act("unlock");
    act("disable");
    assert_eq!(facilities(&bearer), 401, "the token went with its creator");
    act("enable");
    act("end-sessions");
    let r = server.api("DELETE", &format!("/api/v1/users/{ciso_id}"), &admin_s, "");
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server.form("/logout", &admin_cookie, &[("csrf", &admin_csrf)]);
    assert_eq!(r.status, 303);
    drop(server);

    let log = std::fs::read_to_string(&log).unwrap();
    let mut store = Vec::new();
    for name in ["hygie.sqlite", "hygie.sqlite-wal", "hygie.sqlite-shm"] {
        store.extend(std::fs::read(t.data().join(name)).unwrap_or_default());
    }
    let store = String::from_utf8_lossy(&store).into_owned();
    // The search works: the log holds the events, the store the names and digests.
    for event in [
        "event=\"login_failed\" user=\"ciso\"",
        "event=\"account_locked\"",
        "event=\"csrf_rejected\"",
        "event=\"token_refused\"",
        "TRACE",
    ] {
        assert!(log.contains(event), "the log has no {event}");
    }
    assert!(store.contains("ciso") && store.contains(&hygie_web::auth::digest(&token)));
    assert!(secrets.text.len() >= 15 && secrets.codes.len() >= 4 && secrets.csrf.len() >= 3);
    eprintln!(
        "searched {} secrets, {} codes and {} CSRF tokens in a log of {} lines and a store of {} bytes",
        secrets.text.len(),
        secrets.codes.len(),
        secrets.csrf.len(),
        log.lines().count(),
        store.len()
    );
    for s in &secrets.text {
        for (what, hay) in [("log", &log), ("store", &store)] {
            assert!(!hay.contains(s.as_str()), "the {what} holds {s}");
            assert!(
                !hay.contains(&s.to_lowercase()) || s.to_lowercase() == *s,
                "the {what} holds {s} in lower case"
            );
        }
    }
    for c in &secrets.csrf {
        assert!(
            !log.contains(c.as_str()),
            "the log holds the CSRF token {c}"
        );
    }
    for c in &secrets.codes {
        assert!(!holds_code(&log, c), "the log holds the code {c}");
        assert!(!holds_code(&store, c), "the store holds the code {c}");
    }
}
