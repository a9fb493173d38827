//! Governance, awareness and risk, free of I/O.
//!
//! - [`org`]: people, reporting lines, role assignments, ambassadors' coverage;
//! - [`training`]: training sessions and their coverage per department and year;
//! - [`phishing`]: GoPhish exports parsed into pseudonymised targets and events (the `details`
//!   field, which can hold submitted credentials, is never kept), metrics with and without a
//!   link-scanner filter, aggregated by department;
//! - [`risk`]: a light EBIOS RM register with the PGSSI-S 4×4 matrix and residual levels computed
//!   from the treating measures' current status;
//! - [`rules`]: every governance rule (`GOV-*`), a `hygie_core::RuleDef` each; [`check`]
//!   evaluates them into the audit contract's findings, naming the catalogue measures verified.
//!
//! Inputs are parsed here from text (CSV, JSON, TOML given as strings); files are read by callers.
//!
//! Invariants: pure (callers pass text); phishing targets are kept as keyed pseudonyms and the
//! `details` payload (possibly credentials) is never materialised; results are shown by
//! department with small groups merged. To add a governance rule: its `RuleDef` in [`rules`]
//! (and `RULES`), its evaluation in [`check`] or [`training`], its measures' `check_rules`.

pub mod check;
pub mod org;
pub mod phishing;
pub mod risk;
pub mod rules;
pub mod training;

/// An input that cannot be imported; nothing of it should be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A problem on a given line of a file (1-based, the header is line 1).
    #[error("{file}: line {line}: {message}")]
    Line {
        file: String,
        line: u64,
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

impl ImportError {
    pub fn line(file: &str, line: u64, message: impl Into<String>) -> Self {
        ImportError::Line {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        ImportError::File {
            file: file.to_owned(),
            message: message.into(),
        }
    }
    /// A serde_json error located at its line.
    pub fn json(file: &str, e: &serde_json::Error) -> Self {
        ImportError::line(file, e.line() as u64, e.to_string())
    }
}

/// Read a CSV text with a header, giving each record with its 1-based line number.
/// A leading byte-order mark is ignored. Rows must have as many fields as the header.
pub(crate) fn csv_records(
    file: &str,
    text: &str,
) -> Result<(csv::StringRecord, Vec<(u64, csv::StringRecord)>), ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| ImportError::line(file, 1, format!("unreadable header: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                rows.push((line, r));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields where the header has {expected_len}"),
                    _ => e.to_string(),
                };
                return Err(ImportError::line(file, line, msg));
            }
        }
    }
    Ok((header, rows))
}

/// The index of each named column of a CSV header (case-insensitive, trimmed), if present.
pub(crate) fn columns<const N: usize>(
    header: &csv::StringRecord,
    wanted: [&str; N],
) -> [Option<usize>; N] {
    wanted.map(|w| header.iter().position(|h| h.trim().eq_ignore_ascii_case(w)))
}

/// A field of a record by optional column index, trimmed; empty is `None`.
pub(crate) fn field(r: &csv::StringRecord, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| r.get(i))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
