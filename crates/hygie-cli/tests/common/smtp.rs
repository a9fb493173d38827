//! A real SMTP server for the reminder tests: Python's aiosmtpd on a free loopback port,
//! writing what it receives to a maildir; headers and bodies read back as the reader sees them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// aiosmtpd on a free loopback port, writing each message to `maildir/new`; killed on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    pub fn start(dir: &Path) -> Option<SmtpServer> {
        SmtpServer::start_with(dir, &[])
    }

    /// aiosmtpd offering and requiring STARTTLS with this certificate and key.
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> Option<SmtpServer> {
        let cert = cert.display().to_string();
        let key = key.display().to_string();
        SmtpServer::start_with(dir, &["--tlscert", &cert, "--tlskey", &key])
    }

    pub fn start_with(dir: &Path, extra: &[&str]) -> Option<SmtpServer> {
        if !hygie_testkit::have("python3", &["-c", "import aiosmtpd"]) {
            hygie_testkit::missing("aiosmtpd", "pip install aiosmtpd (scripts/test.sh does)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let maildir = dir.join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// Every message received, as text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        v.sort();
        v
    }

    pub fn args(&self) -> Vec<String> {
        vec![
            "--smtp-host".into(),
            "127.0.0.1".into(),
            "--smtp-port".into(),
            self.port.to_string(),
            "--smtp-tls".into(),
            "none".into(),
            "--smtp-from".into(),
            "Hygie <hygie@ch-test.example>".into(),
        ]
    }
}

/// Header `name` of a raw message, unfolded and decoded when it is RFC 2047 UTF-8 (what
/// lettre writes for a non-ASCII subject).
pub fn header(msg: &str, name: &str) -> String {
    let head = msg
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let line = unfolded
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .unwrap_or_default();
    let value = line[name.len() + 1..].trim();
    decode_words(value)
}

fn decode_words(v: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, w) in v.split(' ').enumerate() {
        let encoded = w
            .strip_prefix("=?utf-8?b?")
            .or_else(|| w.strip_prefix("=?UTF-8?B?"))
            .and_then(|w| w.strip_suffix("?="));
        // RFC 2047: the space between two encoded words is not part of the text.
        if i > 0 && !(last_encoded && encoded.is_some()) {
            out.push(' ');
        }
        match encoded {
            Some(b) => out.push_str(&String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .unwrap_or_default(),
            )),
            None => out.push_str(w),
        }
        last_encoded = encoded.is_some();
    }
    out
}

/// The body of a raw message, decoded from its transfer encoding (lettre writes 7bit,
/// quoted-printable or base64).
pub fn body(msg: &str) -> String {
    use base64::Engine as _;
    let msg = msg.replace("\r\n", "\n");
    let Some((_, raw)) = msg.split_once("\n\n") else {
        return String::new();
    };
    match header(&msg, "Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => String::from_utf8_lossy(
            &base64::engine::general_purpose::STANDARD
                .decode(raw.split_whitespace().collect::<String>())
                .unwrap_or_default(),
        )
        .into_owned(),
        "quoted-printable" => {
            let joined = raw.replace("=\n", "");
            let b = joined.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match (b[i], hex) {
                    (b'=', Some(v)) => {
                        out.push(v);
                        i += 3;
                    }
                    (c, _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        }
        _ => raw.to_owned(),
    }
}
