//! The one place that turns a Hygie HTML report into a PDF: headless Chromium prints it.
//!
//! Why Chromium and not a PDF crate: the reports already exist as self-contained HTML (askama
//! templates of `hygie-report`, no script, no external resource), so printing them keeps one
//! source for the screen and the paper; Chromium 131+ lays out CSS paged media with `@page`
//! margin boxes (running header, "page n / m" footer), which a Rust HTML-to-PDF crate does not,
//! and typst would mean a second set of templates and a heavy dependency tree. The cost: a
//! browser start per PDF (about 0.4 s of CPU, 1.3 s of wall time here; BENCHMARKS.md) and a
//! Debian package (`chromium`) where PDFs are wanted; nothing is added to the Rust build.
//!
//! The contract of [`Chromium::print`]: the HTML is written to a private temporary directory
//! with a fresh browser profile beside it (`--user-data-dir`: Chromium refuses to run without a
//! writable one, and a shared profile would let two prints block each other), the browser runs
//! with its background networking off (the reports have no script and load nothing; turning
//! JavaScript off with `--blink-settings` stops headless printing), `--no-sandbox` only as
//! root (Chromium refuses to start its sandbox as root), and is killed when it outlives the
//! timeout. The directory is removed whatever happens. The PDF's bytes are returned: the caller
//! writes them where the user asked.
//!
//! The browser is `HYGIE_CHROMIUM`, else `chromium` on `PATH`; a missing one is an error in
//! English and French naming what to install. The page frame (header: facility and date;
//! footer: "confidential", "page n / m") is `hygie-report`'s `print.css` (`print_document`), so
//! the PDF comes from the same templates as the HTML.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the browser binary.
pub const ENV: &str = "HYGIE_CHROMIUM";

/// The names tried on `PATH` when [`ENV`] is not set (Debian, other distributions, Chrome).
const NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// How long a print may take by default: a first start on a cold disk takes a few seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why no PDF was made. Every message is in English and French and names what is missing.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(
        "PDF output needs Chromium: no `{}` on PATH and HYGIE_CHROMIUM is not set (install Debian's `chromium` package, or set HYGIE_CHROMIUM to the browser's path) / la sortie PDF nécessite Chromium : aucun `{}` dans le PATH et HYGIE_CHROMIUM n'est pas défini (installez le paquet Debian `chromium` ou indiquez le chemin du navigateur dans HYGIE_CHROMIUM)",
        NAMES.join("`, `"),
        NAMES.join("`, `")
    )]
    NotInstalled,
    #[error(
        "HYGIE_CHROMIUM names {0}, which is not an executable file / HYGIE_CHROMIUM désigne {0}, qui n'est pas un fichier exécutable"
    )]
    NotExecutable(PathBuf),
    #[error(
        "cannot prepare the PDF's temporary files / impossible de préparer les fichiers temporaires du PDF : {0}"
    )]
    Temp(std::io::Error),
    #[error("cannot start {0} / impossible de lancer {0} : {1}")]
    Start(PathBuf, std::io::Error),
    #[error(
        "Chromium did not finish the PDF within {0} s and was stopped / Chromium n'a pas terminé le PDF en {0} s et a été arrêté"
    )]
    Timeout(u64),
    #[error(
        "Chromium failed to print the PDF ({status}) / Chromium n'a pas pu imprimer le PDF ({status}) : {stderr}"
    )]
    Failed { status: String, stderr: String },
}

/// A Chromium binary, found once.
#[derive(Debug, Clone)]
pub struct Chromium {
    binary: PathBuf,
    timeout: Duration,
}

impl Chromium {
    /// The browser named by `HYGIE_CHROMIUM`, else the first of `chromium`,
    /// `chromium-browser`, `google-chrome` on `PATH`.
    pub fn find() -> Result<Chromium, PdfError> {
        match std::env::var_os(ENV).filter(|v| !v.is_empty()) {
            Some(p) => Chromium::at(Path::new(&p)),
            None => Ok(Chromium {
                binary: NAMES
                    .iter()
                    .find_map(|n| on_path(n))
                    .ok_or(PdfError::NotInstalled)?,
                timeout: DEFAULT_TIMEOUT,
            }),
        }
    }

    /// The browser at `p` (a path, or a bare name looked up on `PATH`), if executable.
    pub fn at(p: &Path) -> Result<Chromium, PdfError> {
        let p = p.to_path_buf();
        let p = if p.components().count() == 1 {
            on_path(&p.to_string_lossy()).ok_or(PdfError::NotExecutable(p))?
        } else {
            p
        };
        if !is_executable(&p) {
            return Err(PdfError::NotExecutable(p));
        }
        Ok(Chromium {
            binary: p,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Chromium {
        self.timeout = timeout;
        self
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Print `html` (a whole, self-contained document) to PDF; its `@page` rules set the paper,
    /// margins, header and footer (Chromium's own header and footer are turned off).
    pub fn print(&self, html: &str) -> Result<Vec<u8>, PdfError> {
        let dir = tempfile::Builder::new()
            .prefix("hygie-pdf-")
            .tempdir()
            .map_err(PdfError::Temp)?;
        let input = dir.path().join("report.html");
        let output = dir.path().join("report.pdf");
        let profile = dir.path().join("profile");
        std::fs::write(&input, html).map_err(PdfError::Temp)?;
        std::fs::create_dir(&profile).map_err(PdfError::Temp)?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--headless")
            .arg("--disable-gpu")
            .arg("--no-first-run")
            .arg("--no-default-browser-check")
            .arg("--disable-extensions")
            .arg("--disable-background-networking")
            .arg("--disable-sync")
            .arg("--disable-component-update")
            .arg("--no-pdf-header-footer")
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", output.display()));
        if rustix::process::geteuid().is_root() {
            cmd.arg("--no-sandbox");
        }
        cmd.arg(file_url(&input))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Chromium writes caches under $HOME (~/.pki, fontconfig): kept in the temporary
            // directory too, so a service account's home stays untouched.
            .env("HOME", dir.path());
        let mut child = cmd
            .spawn()
            .map_err(|e| PdfError::Start(self.binary.clone(), e))?;
        // stderr is read on a thread: a browser that writes more than a pipe holds would
        // otherwise block before exiting.
        let stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut e) = stderr {
                let _ = std::io::Read::read_to_string(&mut e, &mut s);
            }
            s
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(PdfError::Timeout(self.timeout.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(PdfError::Start(self.binary.clone(), e)),
            }
        };
        let stderr = reader.join().unwrap_or_default();
        let pdf = std::fs::read(&output).unwrap_or_default();
        if !status.success() || !pdf.starts_with(b"%PDF-") {
            return Err(PdfError::Failed {
                status: status.to_string(),
                stderr: last_error_lines(&stderr),
            });
        }
        Ok(pdf)
    }
}

/// The lines of Chromium's stderr worth showing: it logs harmless D-Bus complaints on a server.
fn last_error_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("dbus") && !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

/// `file://` URL of an absolute path, with the characters a URL cannot hold percent-encoded.
fn file_url(p: &Path) -> String {
    let mut url = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_encode_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/é#.html")),
            "file:///tmp/a%20b/%C3%A9%23.html"
        );
    }

    #[test]
    fn chromium_noise_is_left_out_of_errors() {
        let e = "[1:2:ERROR:dbus/bus.cc] Failed to connect\n\nreal problem\n";
        assert_eq!(last_error_lines(e), "real problem");
    }
}
