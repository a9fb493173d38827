//! The browser harness of the end-to-end tests: a real headless Debian Chromium driven through
//! chromedriver's WebDriver HTTP API (a tiny client, no extra crate), and the server `hygie
//! serve` runs, on loopback. Included by the test files that drive a browser
//! (`#[path = "common/browser.rs"] mod browser;`). Screenshots go to target/e2e-screenshots.
#![allow(dead_code, clippy::unwrap_used, clippy::collapsible_if)]

use crate::common::App;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 exchange with chromedriver on loopback.
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
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

pub struct Browser {
    pub port: u16,
    pub session: String,
    shots: PathBuf,
}

impl Browser {
    pub async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{path}", self.session);
        eprintln!("e2e: {method} {path}");
        http(self.port, method, &p, body.as_ref()).await.unwrap()["value"].clone()
    }
    pub async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }
    pub async fn find(&self, css: &str) -> String {
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
    pub async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }
    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    pub async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})))
            .await;
    }
    /// An input's current value.
    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{e}/property/value"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    /// Poll until the element's text contains `needle` (navigations after a click are async).
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
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

    pub async fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None).await;
        let png = hygie_testkit::base64_decode(v.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server `hygie serve` runs on `app`, chromedriver and a headless Chromium: the browser,
/// the server's base URL, the driver process and the browser profile (kept while they live).
pub async fn start(app: &App) -> (Browser, String, tokio::process::Child, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(app, listener).await
}

/// As `start`, the server listening on `listener` (bound before the application is made, when
/// its configuration needs its own URL).
pub async fn start_on(
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

pub fn chromium_missing() -> bool {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        hygie_testkit::missing(
            "chromium and chromedriver",
            "apt-get install -y chromium chromium-driver",
        );
        return true;
    }
    false
}
