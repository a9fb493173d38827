//! `hygie serve` on a fresh data directory: prints the one-time bootstrap token, answers /healthz,
//! refuses the API without credentials, serves the OpenAPI document.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, out))
}

/// Kills the server when the test ends, whatever happens.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_prints_bootstrap_token_once_and_guards_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hygie"))
        .env("XDG_CONFIG_HOME", config.path())
        .env_remove("HYGIE_SECRET_KEY_FILE")
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Child(child);
    let mut token = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let l = line.trim();
        if l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()) {
            token = Some(l.to_owned());
            break;
        }
    }
    let token = token.expect("no bootstrap token printed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut health = None;
    while Instant::now() < deadline {
        health = http_get(port, "/healthz");
        if health.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(health.map(|h| h.0), Some(200));
    assert_eq!(http_get(port, "/api/v1/facilities").map(|h| h.0), Some(401));
    let (code, doc) = http_get(port, "/api/v1/openapi.json").unwrap();
    assert_eq!(code, 200);
    assert!(doc.contains("\"openapi\":\"3.1.0\""));
    let (code, page) = http_get(port, "/setup").unwrap();
    assert_eq!(code, 200);
    assert!(!page.contains(&token), "the token is never sent back");
    drop(guard);
    // The store keeps only the token's digest.
    let db = std::fs::read(dir.path().join("hygie.sqlite")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&db).contains(&token));
    // The key sealing TOTP seeds was created apart from the data directory (a copy of the data
    // does not carry it), readable by its owner only, in a folder of its own.
    assert!(!dir.path().join("secret.key").exists());
    let key = config.path().join("hygie/secret.key");
    let text = std::fs::read_to_string(&key).expect("secret.key created on first run");
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(key.parent().unwrap()), 0o700);
    }
}

/// An installation of an earlier version keeps its key in the data directory: it is still the
/// key used (no new one is made, the seeds stay readable), and the server says to move it.
#[test]
fn serve_reads_a_key_left_in_the_data_directory_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("secret.key");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&legacy).unwrap();
    writeln!(f, "{}", "ab".repeat(32)).unwrap();
    drop(f);
    let child = Command::new(env!("CARGO_BIN_EXE_hygie"))
        .env("XDG_CONFIG_HOME", config.path())
        .env_remove("HYGIE_SECRET_KEY_FILE")
        .env("HYGIE_LOG", "warn")
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Child(child);
    let stderr = guard.0.stderr.take().unwrap();
    let mut warned = false;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if line.contains("WARN") && line.contains(legacy.to_str().unwrap()) {
            warned = line.contains("mv ") && line.contains("hygie/secret.key");
            break;
        }
    }
    drop(guard);
    assert!(
        warned,
        "no warning naming the old key file and where to move it"
    );
    assert!(
        !config.path().join("hygie/secret.key").exists(),
        "a second key was made"
    );
}

/// A key file named explicitly must exist: the server refuses to start rather than create one.
#[test]
fn serve_refuses_a_missing_secret_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hygie"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--secret-key-file",
            dir.path().join("absent.key").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.key"));
}

/// Passkeys need the address users open: a wrong one stops the server at start (exit 2) with
/// the reason, before the store is opened; `--help` says how to enable them.
#[test]
fn serve_checks_the_public_url_of_passkeys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (url, why) in [
        ("http://hygie.example.org", "https:// only"),
        ("https://192.0.2.7", "not an IP address"),
        ("not a url", "not an address"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hygie"))
            .args([
                "--data-dir",
                data.to_str().unwrap(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--public-url", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("--public-url {url}")) && err.contains(why),
            "{err}"
        );
        assert!(
            err.contains("clés d'accès") || err.contains("adresse"),
            "{err}"
        );
        assert!(!data.exists(), "nothing opened for a refused start");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_hygie"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--public-url") && help.contains("passkeys"),
        "{help}"
    );
}
