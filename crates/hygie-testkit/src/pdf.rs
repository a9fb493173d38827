//! The PDF tests' tools: Chromium prints (hygie-pdf), `pdftotext` (poppler-utils) reads back.

use std::path::Path;
use std::process::Command;

/// Chromium and pdftotext, or SKIP (a failure in CI).
pub fn tools() -> bool {
    let chromium = std::env::var("HYGIE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    if !crate::have(&chromium, &["--version"]) {
        crate::missing("chromium", "not on PATH and HYGIE_CHROMIUM unset");
        return false;
    }
    if !crate::have("pdftotext", &["-v"]) {
        crate::missing("pdftotext", "Debian package poppler-utils");
        return false;
    }
    true
}

/// The text of the PDF file `p` in the order it was written (`pdftotext -raw`): a table cell's
/// lines stay together.
pub fn text(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap_or_default();
    assert!(bytes.starts_with(b"%PDF-"), "{} is not a PDF", p.display());
    let out = Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(p)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext {}", p.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}
