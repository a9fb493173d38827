//! Output formats shared by every command, and the one way to standard output.
//!
//! Every write to stdout goes through [`Stdout`]: `json`, `emit`, the streaming writers, and
//! `print!`/`println!`, which `main.rs` redefines for the whole crate to call [`print`]. A reader
//! that stops early (`hygie catalog list | head`) closes the pipe; std's macros then panic
//! ("failed printing to stdout: Broken pipe"). Here `BrokenPipe` is a normal end: stdout is
//! marked closed, later output is dropped, and the command finishes with its usual exit code.
//! Any other write error is kept and reported once by `main` (exit 1).
//!
//! Why not restore the default SIGPIPE action at start-up instead: it needs `unsafe` (forbidden
//! in the workspace) or a crate for one call; the process would die by the signal, so the
//! documented exit code (5 for a late obligation...) is lost and a write transaction is cut
//! without its destructors; and the long-running commands (`serve`, `ingest`) hold sockets, where
//! a default SIGPIPE is a hazard rather than a convenience.

use std::io::{ErrorKind, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a reader closed stdout: later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe, for `main` to report.
static FAILED: OnceLock<String> = OnceLock::new();

/// Standard output that treats a closed pipe as the end of the output (see the module doc).
/// Locks stdout for each write, so it can be held across `print!` calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

pub fn stdout() -> Stdout {
    Stdout
}

impl Stdout {
    fn guard<T>(r: std::io::Result<T>, closed: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(closed)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        Self::guard(std::io::stdout().lock().write(buf), buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Self::guard(std::io::stdout().lock().flush(), ())
    }
}

/// What `print!` and `println!` call (redefined in `main.rs`): never panics; a write error
/// other than a closed pipe is kept for [`write_error`].
pub fn print(args: std::fmt::Arguments<'_>) {
    // Text for people: what came from others' files (account names, hosts) cannot drive the
    // terminal (`hygie_report::terminal_safe`). A constant string needs no copy.
    let text = match args.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(args.to_string()),
    };
    if let Err(e) = Stdout.write_all(hygie_report::terminal_safe(&text).as_bytes()) {
        let _ = FAILED.set(e.to_string());
    }
}

/// What `eprint!` and `eprintln!` call (redefined in `main.rs`): error and warning lines,
/// terminal-safe as `print`. A failed write to stderr has nowhere to be reported: ignored.
pub fn eprint(args: std::fmt::Arguments<'_>) {
    let text = match args.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(args.to_string()),
    };
    let _ = std::io::stderr().write_all(hygie_report::terminal_safe(&text).as_bytes());
}

/// The first write error `print` met, if any (a closed pipe is not one).
pub fn write_error() -> Option<&'static str> {
    FAILED.get().map(String::as_str)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for the terminal (`text` is the same).
    #[value(alias = "text")]
    Table,
    Json,
    Md,
    Html,
    Csv,
    /// The HTML report printed by headless Chromium (`hygie-pdf`): needs `-o FILE` or a pipe.
    Pdf,
    /// A drawing as a standalone SVG document (`hygie inventory map`).
    Svg,
}

/// Print JSON to stdout, pretty, with a final newline. Buffered: stdout alone is flushed at
/// every line end, and a password audit's report of 100,000 names then took one `write` call a
/// line (124,000 calls, 0.04 s).
pub fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, Stdout);
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// JSON as `json` prints it (pretty, final newline), as a string.
pub fn json_text<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(v)?))
}

/// Write text to a file when given (as it is), else to stdout (terminal-safe, as `print`).
pub fn emit(text: &str, to: Option<&std::path::Path>) -> anyhow::Result<()> {
    match to {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display())),
        None => {
            Stdout.write_all(hygie_report::terminal_safe(text).as_bytes())?;
            Stdout.flush()?;
            Ok(())
        }
    }
}

/// Refuse a format a command does not offer, naming the ones it does.
pub fn unsupported(f: Format, offered: &str) -> anyhow::Error {
    crate::exit::invalid(
        format!("--format {f:?} is not available here (use {offered})").to_lowercase(),
    )
}

/// Print a report's HTML to PDF with the shared print frame (header, "confidential", page n / m)
/// and write it to `to`, else to stdout when it is not a terminal. Chromium runs on a blocking
/// thread with its own timeout; its temporary files are gone when this returns.
pub async fn pdf(
    html: &str,
    frame: &hygie_report::PrintFrame,
    to: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if to.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(crate::exit::invalid(
            "a PDF is binary: give -o FILE.pdf or redirect the output / un PDF est binaire : indiquez -o FICHIER.pdf ou redirigez la sortie",
        ));
    }
    let chromium = hygie_pdf::Chromium::find()?;
    let doc = hygie_report::print_document(html, frame);
    let bytes = tokio::task::spawn_blocking(move || chromium.print(&doc)).await??;
    match to {
        Some(p) => std::fs::write(p, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display())),
        None => {
            Stdout.write_all(&bytes)?;
            Stdout.flush()?;
            Ok(())
        }
    }
}
