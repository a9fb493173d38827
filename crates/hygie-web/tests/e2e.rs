//! Browser end-to-end test in a real headless Debian Chromium driven through chromedriver's
//! WebDriver HTTP API (a tiny client below, no extra crate): log in with password and TOTP
//! enrolment, upload an evidence file and see the level progress change, switch language, open an
//! incident and see its obligations and a notification draft; triage alerts, open an incident
//! from two of them, record the CNIL sending and see its clock stop, close the incident; upload
//! an AD LDIF export, see its findings and the measure turn failing; an
//! administrator enrols TOTP from the key the page shows (kept after a wrong code, beside its QR
//! code), registers a facility (a refused FINESS comes back on the form with what was typed),
//! and adds an evidence link.
//! Screenshots go to target/e2e-screenshots. Without chromium: fails when CI=true, else SKIP.
#![allow(clippy::unwrap_used, clippy::collapsible_if, clippy::nonminimal_bool)]

mod common;

use common::*;
use hygie_store::{Binding, Role};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 exchange with chromedriver on loopback.
async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // Read the header, then exactly Content-Length bytes (the driver may keep the connection).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok::<(), String>(());
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                if let Some(len) = head.lines().find_map(|l| {
                    l.strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                }) {
                    if raw.len() >= end + 4 + len {
                        return Ok(());
                    }
                } else if head.contains("transfer-encoding: chunked") && raw.ends_with(b"0\r\n\r\n")
                {
                    return Ok(());
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .map_err(|_| format!("{method} {path}: no answer in 120 s"))??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if head.starts_with("HTTP/1.1 2") {
        Ok(v)
    } else {
        Err(format!("{method} {path}: {head} {v}"))
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

struct Browser {
    port: u16,
    session: String,
    shots: PathBuf,
}

impl Browser {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{path}", self.session);
        eprintln!("e2e: {method} {path}");
        http(self.port, method, &p, body.as_ref()).await.unwrap()["value"].clone()
    }
    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }
    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }
    async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }
    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})))
            .await;
    }
    /// An input's current value.
    async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{e}/property/value"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    /// Poll until the element's text contains `needle` (navigations after a click are async).
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..150 {
            let p = format!("/session/{}/element", self.session);
            if let Ok(v) = http(
                self.port,
                "POST",
                &p,
                Some(&json!({ "using": "css selector", "value": css })),
            )
            .await
            {
                if let Some(e) = v["value"][ELEMENT].as_str() {
                    let p = format!("/session/{}/element/{e}/text", self.session);
                    if let Ok(t) = http(self.port, "GET", &p, None).await {
                        last = t["value"].as_str().unwrap_or("").to_owned();
                        if last.contains(needle) {
                            return last;
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{css} never contained '{needle}' (last: '{last}')");
    }

    async fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None).await;
        let png = hygie_testkit::base64_decode(v.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// "3/12" → (3, 12)
fn progress(s: &str) -> (usize, usize) {
    let frac = s
        .split_whitespace()
        .find(|w| w.contains('/'))
        .unwrap_or_else(|| panic!("no progress in '{s}'"));
    let (a, b) = frac.split_once('/').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// The server `hygie serve` runs on `app`, chromedriver and a headless Chromium: the browser,
/// the server's base URL, the driver process and the browser profile (kept while they live).
async fn start(app: &App) -> (Browser, String, tokio::process::Child, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(app, listener).await
}

/// As `start`, the server listening on `listener` (bound before the application is made, when
/// its configuration needs its own URL).
async fn start_on(
    app: &App,
    listener: tokio::net::TcpListener,
) -> (Browser, String, tokio::process::Child, tempfile::TempDir) {
    let addr = listener.local_addr().unwrap();
    // The server `hygie serve` runs, with its limits.
    let state = app.state.clone();
    tokio::spawn(async move {
        let limits = hygie_web::server::Limits::default();
        hygie_web::server::serve(listener, state, None, limits, std::future::pending())
            .await
            .unwrap();
    });
    let base = format!("http://{addr}");

    let port = free_port();
    let driver = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(v) = http(port, "GET", "/status", None).await {
            if v["value"]["ready"] == true {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "chromedriver did not start");
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB",
                 format!("--user-data-dir={}", profile.path().display())],
        "prefs": { "intl.accept_languages": "en-GB,en" }
    } } } });
    eprintln!("e2e: chromedriver ready, starting chromium");
    let v = tokio::time::timeout(
        Duration::from_secs(120),
        http(port, "POST", "/session", Some(&caps)),
    )
    .await
    .expect("chromium did not start within 120 s")
    .unwrap();
    eprintln!("e2e: chromium started");
    let session = v["value"]["sessionId"].as_str().unwrap().to_owned();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let b = Browser {
        port,
        session,
        shots,
    };

    (b, base, driver, profile)
}

fn chromium_missing() -> bool {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        hygie_testkit::missing(
            "chromium and chromedriver",
            "apt-get install -y chromium chromium-driver",
        );
        return true;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_totp_upload_evidence_and_switch_language() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "rssi",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let (b, base, mut driver, profile) = start(&app).await;
    let port = b.port;

    // Password, then TOTP enrolment (mandatory for a CISO).
    b.go(&format!("{base}/login")).await;
    b.screenshot("01-login").await;
    b.type_in("#username", "rssi").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    b.screenshot("02-totp-enrolment").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    // A CISO of one facility lands on its dashboard.
    b.wait_text("h2", "Plan levels").await;
    let before = progress(&b.text("#level-1 .progress").await);
    b.screenshot("03-dashboard").await;

    // Upload an evidence file to a level-1 measure not done yet, declaring it implemented.
    let m = undone_level_one(&app.status_today(&s.own).await);
    let file = profile.path().join("charte-informatique.pdf");
    std::fs::write(&file, b"%PDF-1.4 charte").unwrap();
    b.go(&format!("{base}/facilities/{}/measures/{m}", s.own))
        .await;
    b.type_in("#file", &file.display().to_string()).await;
    b.click("#mark-implemented").await;
    b.click("#upload").await;
    b.wait_text("#evidence", "charte-informatique.pdf").await;
    b.screenshot("04-measure-with-evidence").await;
    b.go(&format!("{base}/facilities/{}", s.own)).await;
    let after = progress(&b.text("#level-1 .progress").await);
    assert_eq!(
        after,
        (before.0 + 1, before.1),
        "level 1 progress did not move"
    );
    b.screenshot("05-dashboard-progress").await;

    // Switch to French: the same page comes back in French, and stays so.
    b.click("#switch-lang").await;
    b.wait_text("h2", "Paliers du plan").await;
    b.screenshot("06-dashboard-fr").await;
    b.go(&format!("{base}/catalog")).await;
    b.wait_text("h1", "Catalogue des mesures").await;

    // Open the facility's incident: its obligations with their clocks, then a notification draft.
    b.go(&format!(
        "{base}/facilities/{}/incidents/{}",
        s.own, s.incidents[0]
    ))
    .await;
    b.wait_text("#obligation-cnil", "CNIL").await;
    assert!(
        !b.text("#obligation-cnil .clock").await.is_empty(),
        "time left shown"
    );
    b.screenshot("07-incident-obligations").await;
    b.go(&format!(
        "{base}/facilities/{}/incidents/{}/drafts/cnil",
        s.own, s.incidents[0]
    ))
    .await;
    b.wait_text("#draft", "Destinataire").await;
    b.screenshot("08-notification-draft").await;

    let _ = http(port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_triage_alerts_open_an_incident_send_to_the_cnil_and_close() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "soc",
        Role::ItStaff,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let alerts: Vec<hygie_core::Alert> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| hygie_core::Alert {
            id: (*id).into(),
            rule_id: "proc_creation_win_whoami".into(),
            title: "Whoami execution".into(),
            level: "medium".into(),
            tags: vec!["attack.discovery".into(), "attack.t1033".into()],
            time: Some("2026-01-05T10:00:00Z".into()),
            last_time: None,
            host: Some(format!("pc-{id}")),
            record_id: 7,
            source: "Security.evtx".into(),
            fields: vec![("Image".into(), "C:\\Windows\\System32\\whoami.exe".into())],
            count: 1,
        })
        .collect();
    app.store
        .record_alerts(&s.own, &alerts, &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    let (b, base, mut driver, _profile) = start(&app).await;
    let f = &s.own;

    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "soc").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    b.wait_text("body", "soc").await;

    // Triage: w3 is a false positive, with its reason.
    b.go(&format!("{base}/facilities/{f}/alerts/w3")).await;
    b.wait_text("#alert-fields", "whoami.exe").await;
    b.click("#triage-status option[value=false_positive]").await;
    b.type_in("#triage-reason", "inventory script").await;
    b.screenshot("10-alert-triage").await;
    b.click("#triage").await;
    b.wait_text("#alert-status", "false positive").await;

    // Select w1 and w2 in the list and open an incident from them.
    b.go(&format!("{base}/facilities/{f}/alerts")).await;
    b.wait_text("#alerts", "Whoami execution").await;
    b.click("#select-w1").await;
    b.click("#select-w2").await;
    b.screenshot("11-alerts-selected").await;
    b.click("#open-incident").await;
    b.wait_text("#linked-alerts", "pc-w2").await;
    b.screenshot("12-incident-from-alerts").await;

    // Personal data at risk: the CNIL's 72 hours start; record the sending, the clock stops.
    b.click("#breach option[value=risk]").await;
    b.click("#update-facts").await;
    b.wait_text("#obligation-cnil", "CNIL").await;
    assert!(
        !b.text("#obligation-cnil .clock").await.is_empty(),
        "the CNIL clock runs"
    );
    b.click("#sending-duty option[value=cnil]").await;
    b.type_in("#sending-channel", "CNIL online service").await;
    b.type_in("#sending-text", "Notification of a personal data breach")
        .await;
    b.click("#record-sending").await;
    b.wait_text("#obligation-cnil", "sent").await;
    assert_eq!(
        b.text("#obligation-cnil .clock").await,
        "",
        "the CNIL clock stopped"
    );
    let timeline = b.wait_text("#timeline", "CNIL online service").await;
    assert!(
        timeline.contains("personal_data_breach") && !timeline.contains("description"),
        "only the changed fact is named: {timeline}"
    );
    b.screenshot("13-cnil-sent").await;

    // Close with a justification for the duties left.
    b.type_in("#close-justification", "CERT Santé informed by phone")
        .await;
    b.click("#close").await;
    b.wait_text("#closure", "CERT Santé informed by phone")
        .await;
    b.screenshot("14-incident-closed").await;

    // The alert names its incident.
    b.go(&format!("{base}/facilities/{f}/alerts/w1")).await;
    b.wait_text("#alert-incident", "INC-").await;

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_enrol_totp_add_a_facility_and_an_evidence_link() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    seed(&app).await;
    user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (b, base, mut driver, _profile) = start(&app).await;

    // Enrolment: the key is on the page as text and as a QR code; a wrong code keeps it there.
    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "admin").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    b.find("#totp-qr").await;
    b.screenshot("20-totp-qr").await;
    let now = jiff::Timestamp::now().as_second();
    let code = hygie_web::auth::totp_code(&secret, now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_in("#code", wrong).await;
    b.click("#verify").await;
    b.wait_text("#login-error", "Wrong").await;
    assert_eq!(b.text("#totp-secret").await, secret, "the key stays");
    b.find("#totp-qr").await;
    b.screenshot("21-totp-wrong-code-keeps-the-key").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    b.wait_text("body", "Register a facility").await;

    // Register a facility: a wrong check digit is refused beside the field, the input kept.
    b.click("#facility-new").await;
    b.wait_text("#facility-form", "FINESS").await;
    b.type_in("#finess", "750712185").await;
    b.type_in("#name", "CH Exemple e2e").await;
    b.click("#kind option[value=clinic]").await;
    b.click("#region option[value=IDF]").await;
    b.click("#nis2 option[value=important]").await;
    b.type_in("#plan_start", "2026-01-15").await;
    b.click("#facility-save").await;
    b.wait_text("#error-finess", "check digit").await;
    assert_eq!(b.value("#name").await, "CH Exemple e2e", "input kept");
    assert_eq!(b.value("#plan_start").await, "2026-01-15", "input kept");
    b.screenshot("22-facility-refused").await;
    b.clear("#finess").await;
    b.type_in("#finess", "750712184").await;
    b.click("#facility-save").await;
    b.wait_text("h2", "Plan levels").await;
    b.wait_text("body", "CH Exemple e2e").await;
    b.screenshot("23-facility-added").await;
    let f = hygie_core::Finess::parse("750712184").unwrap();
    let stored = app.store.facility(&f).await.unwrap();
    assert_eq!(
        (stored.kind, stored.nis2),
        (
            hygie_core::FacilityKind::Clinic,
            hygie_core::Nis2Status::Important
        )
    );

    // An evidence link on one of its measures.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-04"))
        .await;
    b.type_in("#link-url", "https://ged.chu-exemple.fr/doc/42")
        .await;
    b.type_in("#link-title", "Charte informatique signée").await;
    b.click("#add-link").await;
    b.wait_text("#evidence", "Charte informatique signée").await;
    b.screenshot("24-evidence-link").await;
    let items = app.store.evidence(&f, None).await.unwrap();
    assert!(
        items.iter().any(|e| e.added_by == "web:admin"
            && e.kind
                == hygie_store::EvidenceKind::Link {
                    url: "https://ged.chu-exemple.fr/doc/42".into(),
                    title: Some("Charte informatique signée".into()),
                }),
        "{items:?}"
    );

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

/// Issue 18: a CISO uploads an AD LDIF export in the browser, sees the findings in words with
/// the ANSSI level, and the measure the failed rule verifies turns failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_audit_an_ldif_export_and_see_the_measure_change() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "rssi",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let (b, base, mut driver, profile) = start(&app).await;
    let f = &s.own;

    // Password, then TOTP enrolment (mandatory for a CISO).
    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "rssi").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;

    // IAM-07 is not failing before the audit.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-07"))
        .await;
    let before = b.wait_text("#measure-status", "").await;
    assert!(!before.contains("failing"), "{before}");

    // Upload the export from the audits page.
    let file = profile.path().join("chu-test.ldif");
    std::fs::write(&file, include_str!("data/chu-test.ldif")).unwrap();
    b.go(&format!("{base}/facilities/{f}/audits")).await;
    b.wait_text("#audit-upload", "NT-hash dumps are never sent")
        .await;
    b.type_in("#export-file", &file.display().to_string()).await;
    b.screenshot("30-audit-upload").await;
    b.click("#run-audit").await;
    let findings = b
        .wait_text(
            "table.findings",
            "Accounts allowed reversible password storage",
        )
        .await;
    assert!(
        findings.contains("alice") && findings.contains("IAM-07"),
        "{findings}"
    );
    assert!(b.text("#ad-scores").await.contains("ANSSI level"));
    assert_eq!(b.text("#audit-target").await, "chu.test");
    b.screenshot("31-audit-run-findings").await;

    // The measure the rule verifies is failing now.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-07"))
        .await;
    b.wait_text("#measure-status", "failing").await;
    b.screenshot("32-measure-failing").await;
    // And the dashboard counts it among the failing checks, with the latest audit.
    b.go(&format!("{base}/facilities/{f}")).await;
    b.wait_text("#latest-audits", "chu.test").await;
    assert!(b.text("#failing").await.contains("IAM-07"));
    b.screenshot("33-dashboard-what-to-do").await;

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

/// A log kept in memory.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The identity provider of the single sign-on test: LemonLDAP::NG from Debian's packages
/// (scripts/test.sh installs it), its portal (with its OpenID Connect issuer) run by Starman (a
/// Plack server from Debian) on a free port, its configuration a file per version in a temporary folder
/// (the portal reloads a new version within a second), its users the Demo backend's: dwho
/// (groups timelords, users), rtyler and msmith (earthlings, users), each password = login.
struct Lemon {
    dir: PathBuf,
    port: u16,
    conf: Value,
    version: u64,
    _child: tokio::process::Child,
}

const LLNG_PSGI: &str = "/usr/share/lemonldap-ng/portal/htdocs/index.psgi";
const LLNG_DEFAULT_CONF: &str = "/var/lib/lemonldap-ng/conf/lmConf-1.json";

impl Lemon {
    /// Whether it is installed (else the CI failure, or a skip).
    fn installed() -> bool {
        if !Path::new(LLNG_PSGI).exists()
            || !Path::new(LLNG_DEFAULT_CONF).exists()
            || !Path::new("/usr/bin/starman").exists()
        {
            hygie_testkit::missing(
                "LemonLDAP::NG",
                "apt-get install lemonldap-ng starman libgd-securityimage-perl libimage-magick-perl libstring-random-perl (scripts/test.sh)",
            );
            return false;
        }
        true
    }

    /// A new RSA signing key (PEM private, PEM public).
    fn new_key(dir: &Path, name: &str) -> (String, String) {
        let key = dir.join(format!("{name}.pem"));
        let ok = std::process::Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048")
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let public = std::process::Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&key)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            std::fs::read_to_string(&key).unwrap(),
            String::from_utf8(public.stdout).unwrap(),
        )
    }

    /// Start the portal with the package's default configuration changed by `setup`.
    async fn start(dir: &Path, port: u16, setup: impl FnOnce(&mut Value)) -> Lemon {
        for d in ["conf", "sessions/lock", "psessions", "cache"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(
            dir.join("lemonldap-ng.ini"),
            format!(
                "[all]\nlogLevel = warn\ncheckTime = 1\n[configuration]\ntype = File\ndirName = {conf}\n\
                 [portal]\nstaticPrefix = /static\ntemplateDir = /usr/share/lemonldap-ng/portal/templates\nlanguages = en, fr\n",
                conf = dir.join("conf").display()
            ),
        )
        .unwrap();
        let mut conf: Value =
            serde_json::from_slice(&std::fs::read(LLNG_DEFAULT_CONF).unwrap()).unwrap();
        conf["portal"] = json!(format!("http://127.0.0.1:{port}/"));
        conf["domain"] = json!("127.0.0.1");
        conf["securedCookie"] = json!(0);
        conf["globalStorageOptions"]["Directory"] =
            json!(dir.join("sessions").display().to_string());
        conf["globalStorageOptions"]["LockDirectory"] =
            json!(dir.join("sessions/lock").display().to_string());
        conf["persistentStorageOptions"] = json!({ "Directory": dir.join("psessions").display().to_string(),
            "LockDirectory": dir.join("sessions/lock").display().to_string() });
        // Self-registration and notifications are not under test (and need more modules).
        conf["registerDB"] = json!("Null");
        conf["notification"] = json!(0);
        conf["issuerDBOpenIDConnectActivation"] = json!(1);
        let (private, public) = Lemon::new_key(dir, "key-1");
        conf["oidcServicePrivateKeySig"] = json!(private);
        conf["oidcServicePublicKeySig"] = json!(public);
        conf["oidcServiceKeyIdSig"] = json!("llng-key-1");
        setup(&mut conf);
        let mut lemon = Lemon {
            dir: dir.to_owned(),
            port,
            conf,
            version: 0,
            _child: tokio::process::Command::new("true").spawn().unwrap(),
        };
        lemon.reconfigure(|_| {}).await;
        // Starman: a preforking server (Plack's own serves one connection at a time, which a
        // browser's idle connection blocks).
        lemon._child = tokio::process::Command::new("/usr/bin/starman")
            .args([
                "--workers",
                "4",
                "--listen",
                &format!("127.0.0.1:{port}"),
                LLNG_PSGI,
            ])
            .env("LLNG_DEFAULTCONFFILE", dir.join("lemonldap-ng.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("portal.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..300 {
            if lemon.issuer().await.is_some() {
                return lemon;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "LemonLDAP::NG did not start: {}",
            std::fs::read_to_string(dir.join("portal.log")).unwrap_or_default()
        );
    }

    /// The issuer its discovery document names (None while it is not serving).
    async fn issuer(&self) -> Option<String> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .ok()?;
        // HTTP/1.0: the answer is not chunked, and ends with the connection.
        let req = "GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        s.write_all(req.as_bytes()).await.ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        let v: Value = serde_json::from_str(body).ok()?;
        v["issuer"].as_str().map(str::to_owned)
    }

    /// Write a new version of the configuration and wait until the portal serves it.
    async fn reconfigure(&mut self, change: impl FnOnce(&mut Value)) {
        change(&mut self.conf);
        self.version += 1;
        self.conf["cfgNum"] = json!(self.version);
        let file = self.dir.join(format!("conf/lmConf-{}.json", self.version));
        std::fs::write(&file, serde_json::to_vec_pretty(&self.conf).unwrap()).unwrap();
        // The portal checks for a new version every second (checkTime = 1).
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
}

/// Single sign-on end to end through Chromium and LemonLDAP::NG's OpenID Connect provider, two
/// Hygie providers side by side on it (two clients): dwho, whose group maps to CISO, logs in at
/// the portal and lands in Hygie as the CISO of the mapped facility after the TOTP a CISO needs;
/// logout ends the Hygie session and the portal's; rtyler, whose groups map to nothing there,
/// gets the refusal page; a token whose signature (a new key under the known key id) or issuer
/// is wrong is refused; a new signing key under a new key id is fetched and accepted; on the
/// second provider, whose `acr` counts as strong, msmith becomes a DPO without TOTP. The journal
/// has the logins with method `oidc:…`, the mapping decisions and the refusal, never a token or
/// a client secret. A role that must use single sign-on cannot use its local password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_single_sign_on_through_lemonldap_ng() {
    if chromium_missing() || !Lemon::installed() {
        return;
    }
    // The server's log, kept to check what it says (and what it never says).
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only test of this binary that sets the log subscriber");
    const SECRET: &str = "client-secret-of-the-test-0123456789";
    const SECRET_MFA: &str = "other-client-secret-of-the-test-987";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let idp_port = free_port();
    let issuer = format!("http://127.0.0.1:{idp_port}/");
    let rp = |client: &str, secret: &str, provider: &str| {
        json!({
            "oidcRPMetaDataOptionsClientID": client,
            "oidcRPMetaDataOptionsClientSecret": secret,
            "oidcRPMetaDataOptionsRedirectUris": format!("{base}/login/sso/{provider}/callback"),
            "oidcRPMetaDataOptionsPostLogoutRedirectUris": format!("{base}/login"),
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsRequirePKCE": 1,
            "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
        })
    };
    let claims =
        json!({ "name": "cn", "preferred_username": "uid", "groups": "groups;string;always" });
    let mut lemon = Lemon::start(tmp.path(), idp_port, |c| {
        c["oidcRPMetaDataOptions"] = json!({
            "hygie": rp("hygie", SECRET, "lemon"),
            "hygie-mfa": rp("hygie-mfa", SECRET_MFA, "lemon-mfa"),
        });
        c["oidcRPMetaDataExportedVars"] = json!({ "hygie": claims, "hygie-mfa": claims });
    })
    .await;

    // The facility `seed` makes as the users' own.
    let own = hygie_core::Finess::with_check_digit("35000101").unwrap();
    std::fs::write(tmp.path().join("secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(tmp.path().join("secret-mfa"), SECRET_MFA).unwrap();
    let provider = |name: &str,
                    client: &str,
                    secret: &str,
                    extra: &str,
                    value: &str,
                    role: &str| {
        format!(
            "[[provider]]\nname = \"{name}\"\nlabel = \"CHU ({name})\"\nissuer = \"{issuer}\"\nclient_id = \"{client}\"\n\
             client_secret_file = \"{secret}\"\nredirect_url = \"{base}/login/sso/{name}/callback\"\n\
             scopes = [\"openid\", \"profile\"]\nclaim = \"groups\"\npost_logout_redirect_url = \"{base}/login\"\n{extra}\n\
             [[provider.map]]\nvalue = \"{value}\"\nrole = \"{role}\"\nfacilities = [\"{own}\"]\n",
            secret = tmp.path().join(secret).display(),
            own = own.as_str(),
        )
    };
    let sso_toml = format!(
        "require_sso_roles = [\"administrator\"]\n{}{}",
        provider("lemon", "hygie", "secret", "", "timelords", "ciso"),
        provider(
            "lemon-mfa",
            "hygie-mfa",
            "secret-mfa",
            "strong_acr = [\"loa-1\"]",
            "earthlings",
            "dpo"
        ),
    );
    let sso_file = tmp.path().join("sso.toml");
    std::fs::write(&sso_file, sso_toml).unwrap();
    let sso = hygie_web::oidc::Sso::load(&sso_file).unwrap();
    let app = sqlite_app_with(hygie_web::Config {
        oidc: Some(std::sync::Arc::new(sso)),
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    assert_eq!(s.own, own);
    // An administrator must use single sign-on: the right local password is refused.
    user(&app, "chief", Role::Administrator, Binding::Installation).await;
    let res = login(&app, "chief", PASSWORD, None).await;
    assert_eq!(res.status(), 403);
    assert!(body_string(res).await.contains("single sign-on only"));

    let (b, base2, mut driver, _profile) = start_on(&app, listener).await;
    assert_eq!(base, base2);
    let port = b.port;
    let portal_login = |who: &'static str| {
        let b = &b;
        async move {
            b.wait_text("#lform", "").await;
            b.type_in("#userfield", who).await;
            b.type_in("#passwordfield", who).await;
            b.click("#lform button[type=submit]").await;
        }
    };
    let portal_logout = || {
        let b = &b;
        async move {
            b.wait_text("#form", "").await;
            b.click("#form button.positive").await;
            b.wait_text("h1", "Log in").await;
        }
    };

    // dwho: the button, the portal's login, back in Hygie as the facility's CISO (TOTP first).
    b.go(&format!("{base}/login")).await;
    assert_eq!(b.text("#sso-lemon").await, "CHU (lemon)");
    assert_eq!(b.text("#sso-lemon-mfa").await, "CHU (lemon-mfa)");
    b.screenshot("sso-01-login-with-providers").await;
    b.click("#sso-lemon").await;
    portal_login("dwho").await;
    let secret = b.wait_text("#totp-secret", "").await;
    let now = jiff::Timestamp::now().as_second();
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("sso-02-signed-in").await;
    let dwho = app.store.user_named("dwho").await.unwrap();
    assert_eq!(dwho.role, Role::Ciso);
    assert_eq!(
        dwho.binding,
        Binding::Facilities {
            facilities: vec![own.clone()]
        }
    );
    assert_eq!(dwho.sign_in, hygie_store::SignIn::Oidc("lemon".into()));
    assert_eq!(dwho.display_name, "Doctor Who");

    // Logout: Hygie's session ends, then the portal's (it asks to confirm), then back to Hygie.
    b.click("#logout").await;
    b.screenshot("sso-03-portal-logout").await;
    portal_logout().await;
    b.go(&format!("{base}/account/sessions")).await;
    b.wait_text("h1", "Log in").await;

    // rtyler: the portal knows him, the mapping of this provider does not.
    b.click("#sso-lemon").await;
    portal_login("rtyler").await;
    let refusal = b.wait_text("#sso-refused", "gives no access").await;
    assert!(refusal.contains("ask the CISO"), "{refusal}");
    b.screenshot("sso-04-refused").await;
    assert!(
        app.store.user_named("rtyler").await.is_err(),
        "no account made"
    );

    // Tokens that must fail their checks (rtyler's portal session signs him in at once):
    // another key under the key id Hygie knows, then another issuer.
    let key_1 = (
        lemon.conf["oidcServicePrivateKeySig"].clone(),
        lemon.conf["oidcServicePublicKeySig"].clone(),
    );
    let (forged, forged_public) = Lemon::new_key(tmp.path(), "forged");
    lemon
        .reconfigure(|c| {
            c["oidcServicePrivateKeySig"] = json!(forged);
            c["oidcServicePublicKeySig"] = json!(forged_public);
        })
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    b.wait_text("#sso-refused", "failed its checks").await;
    lemon
        .reconfigure(|c| {
            c["oidcServicePrivateKeySig"] = key_1.0.clone();
            c["oidcServicePublicKeySig"] = key_1.1.clone();
            c["oidcServiceMetaDataIssuer"] = json!("http://127.0.0.1:1/");
        })
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    b.wait_text("#sso-refused", "failed its checks").await;

    // The portal rotates its key (a new key id): Hygie fetches the key set again and accepts.
    let (rotated, rotated_public) = Lemon::new_key(tmp.path(), "key-2");
    lemon
        .reconfigure(|c| {
            c.as_object_mut()
                .unwrap()
                .remove("oidcServiceMetaDataIssuer");
            c["oidcServicePrivateKeySig"] = json!(rotated);
            c["oidcServicePublicKeySig"] = json!(rotated_public);
            c["oidcServiceKeyIdSig"] = json!("llng-key-2");
        })
        .await;
    b.go(&format!("http://127.0.0.1:{idp_port}/?logout=1"))
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    portal_login("dwho").await;
    // dwho's second factor again: the next step's code (the first one's step is spent).
    b.wait_text("#code", "").await;
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now + 30))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;
    b.click("#logout").await;
    portal_logout().await;

    // The second provider: its `acr` counts as a strong method, so a DPO needs no TOTP.
    b.click("#sso-lemon-mfa").await;
    portal_login("msmith").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("sso-05-strong-method").await;
    let msmith = app.store.user_named("msmith").await.unwrap();
    assert_eq!(msmith.role, Role::Dpo);
    assert!(!msmith.totp_enrolled);
    assert_eq!(
        msmith.sign_in,
        hygie_store::SignIn::Oidc("lemon-mfa".into())
    );

    let journal = app.store.journal_entries(None, None).await.unwrap();
    let of = |action: &str, who: &str| {
        journal
            .iter()
            .filter(|e| e.action == action && e.subject == who)
            .map(|e| e.details.clone())
            .collect::<Vec<_>>()
    };
    let logins = of("auth.login", "dwho");
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(
        logins
            .iter()
            .all(|l| l.contains("\"method\":\"oidc:lemon\"")),
        "{logins:?}"
    );
    assert!(of("auth.login", "msmith")[0].contains("\"method\":\"oidc:lemon-mfa\""));
    let mapping = of("auth.oidc_mapping", "dwho");
    assert!(
        mapping[0].contains("\"value\":\"timelords\"")
            && mapping[0].contains("\"claim\":\"groups\"")
            && mapping[0].contains("\"created\":true"),
        "{mapping:?}"
    );
    let refused = of("auth.login_refused", "rtyler");
    assert!(
        refused.len() == 1
            && refused[0].contains("oidc:lemon")
            && refused[0].contains("no_mapped_claim"),
        "{refused:?}"
    );
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("ID token refused"), "{log}");
    assert!(log.contains("fetching the provider's keys again"), "{log}");
    for text in [SECRET, SECRET_MFA, "eyJ", "code="] {
        assert!(!log.contains(text), "'{text}' in the log: {log}");
    }
    for e in &journal {
        assert!(
            !e.details.contains(SECRET)
                && !e.details.contains(SECRET_MFA)
                && !e.details.contains("eyJ"),
            "a secret or a token in the journal: {}",
            e.details
        );
    }

    let _ = http(port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}
