//! Reading inputs: files, CSV tables with tolerant headers, booleans and dates. Every error names
//! the file and the line.

use crate::{CollectError, Result};
use std::path::{Path, PathBuf};

/// Largest input file accepted (an export of a large facility stays well below).
pub const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// Where a collector's input files are read from: the disk for the CLI ([`Disk`]), memory for
/// the fuzz targets and tests ([`InMemory`]). Every reader takes one, so that the parsers a fuzz
/// target drives are the ones the CLI runs, from the same paths and inputs.
pub trait Files {
    /// The bytes of the file at `path`; more than [`MAX_INPUT`] of them is an error.
    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>>;
}

fn too_large(path: &Path) -> CollectError {
    CollectError::at(path, None, format!("file larger than {MAX_INPUT} bytes"))
}

/// The files on disk.
pub struct Disk;

impl Files for Disk {
    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let io = |source| CollectError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Checked before reading: a wrong path to a huge file must not fill the memory first.
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_INPUT {
            return Err(too_large(path));
        }
        std::fs::read(path).map_err(io)
    }
}

/// Files held in memory, by path; a path not there reads as a missing file.
#[derive(Debug, Default, Clone)]
pub struct InMemory(pub std::collections::BTreeMap<PathBuf, Vec<u8>>);

impl Files for InMemory {
    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let bytes = self.0.get(path).ok_or_else(|| CollectError::Io {
            path: path.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        if bytes.len() as u64 > MAX_INPUT {
            return Err(too_large(path));
        }
        Ok(bytes.clone())
    }
}

/// The text of the file at `path`: UTF-8, else an error naming the line at fault.
pub fn read(files: &dyn Files, path: &Path) -> Result<String> {
    let bytes = files.read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        CollectError::at(path, Some(line), "not valid UTF-8")
    })
}

/// Normalise a header: lower case, spaces and dashes as underscores, no BOM.
fn norm(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '-', '.'], "_")
}

/// A CSV table (comma or semicolon separated, detected from the header line).
pub struct Table {
    pub path: PathBuf,
    headers: Vec<String>,
    pub rows: Vec<Row>,
}

pub struct Row {
    pub line: u64,
    fields: Vec<String>,
}

impl Table {
    pub fn read(files: &dyn Files, path: &Path) -> Result<Table> {
        let text = read(files, path)?;
        Table::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Table> {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let delim = if first.matches(';').count() > first.matches(',').count() {
            b';'
        } else if first.contains('\t') && !first.contains(',') {
            b'\t'
        } else {
            b','
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| CollectError::at(path, Some(1), format!("bad CSV header: {e}")))?
            .iter()
            .map(norm)
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(CollectError::at(path, Some(1), "empty CSV: no header line"));
        }
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line());
                CollectError::at(path, line, format!("bad CSV record: {e}"))
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if rec.len() > headers.len() {
                return Err(CollectError::at(
                    path,
                    Some(line),
                    format!("{} fields but the header has {}", rec.len(), headers.len()),
                ));
            }
            rows.push(Row {
                line,
                fields: rec.iter().map(|f| f.trim().to_owned()).collect(),
            });
        }
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    fn col(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.headers.iter().position(|h| h == n))
    }

    /// Whether the table has one of these columns.
    pub fn has(&self, names: &[&str]) -> bool {
        self.col(names).is_some()
    }

    /// Fail unless the table has one of these columns.
    pub fn require(&self, names: &[&str]) -> Result<()> {
        if self.has(names) {
            Ok(())
        } else {
            Err(CollectError::at(
                &self.path,
                Some(1),
                format!(
                    "missing column '{}' (found: {})",
                    names.join("' or '"),
                    self.headers.join(", ")
                ),
            ))
        }
    }

    /// The value of one of these columns in a row, `None` when empty or absent.
    pub fn get<'a>(&self, row: &'a Row, names: &[&str]) -> Option<&'a str> {
        let i = self.col(names)?;
        row.fields
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn req<'a>(&self, row: &'a Row, names: &[&str]) -> Result<&'a str> {
        self.get(row, names).ok_or_else(|| {
            CollectError::at(
                &self.path,
                Some(row.line),
                format!("column '{}' is empty", names[0]),
            )
        })
    }

    pub fn bool(&self, row: &Row, names: &[&str]) -> Result<Option<bool>> {
        match self.get(row, names) {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| {
                CollectError::at(
                    &self.path,
                    Some(row.line),
                    format!("column '{}': '{v}' is not yes/no", names[0]),
                )
            }),
        }
    }

    pub fn ts(&self, row: &Row, names: &[&str]) -> Result<Option<jiff::Timestamp>> {
        match self.get(row, names) {
            None => Ok(None),
            Some(v) if is_never(v) => Ok(None),
            Some(v) => parse_ts(v).map(Some).ok_or_else(|| {
                CollectError::at(
                    &self.path,
                    Some(row.line),
                    format!(
                        "column '{}': '{v}' is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or RFC 3339)",
                        names[0]
                    ),
                )
            }),
        }
    }

    pub fn error(&self, row: &Row, message: impl Into<String>) -> CollectError {
        CollectError::at(&self.path, Some(row.line), message)
    }
}

fn is_never(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "never" | "jamais" | "none" | "-" | "n/a"
    )
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "on" | "oui" | "o" | "enabled" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "off" | "non" | "disabled" | "" => Some(false),
        _ => None,
    }
}

/// A timestamp: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (UTC) or `YYYY-MM-DD` (midnight UTC).
pub fn parse_ts(v: &str) -> Option<jiff::Timestamp> {
    let v = v.trim();
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if let Ok(z) = v.parse::<jiff::Zoned>() {
        return Some(z.timestamp());
    }
    if let Ok(dt) = v.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    None
}

/// Hours between two instants (positive when `then` is before `now`).
pub fn hours_since(now: jiff::Timestamp, then: jiff::Timestamp) -> i64 {
    (now.as_second() - then.as_second()) / 3600
}

/// Host names compare case-insensitively, on their first label (PC-001 = pc-001.chu.test).
pub fn host_key(h: &str) -> String {
    let h = h.trim().trim_end_matches('$');
    let h = h.split('.').next().unwrap_or(h);
    h.to_ascii_lowercase()
}

/// Split a list value: `a, b; c` or `a|b`.
pub fn list(v: &str) -> Vec<String> {
    v.split([',', ';', '|', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_documented_form() {
        for (s, ok) in [
            ("2026-11-20", true),
            ("2026-11-20 08:30", true),
            ("2026-11-20 08:30:15", true),
            ("2026-11-20T08:30:15Z", true),
            ("2026-11-20T08:30:15.123456789+01:00", true),
            ("20/11/2026", false),
            ("yesterday", false),
        ] {
            assert_eq!(parse_ts(s).is_some(), ok, "{s}");
        }
        assert_eq!(
            parse_ts("2026-11-20T09:00:00+01:00"),
            parse_ts("2026-11-20 08:00")
        );
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let p = Path::new("x.csv");
        let t = Table::parse(p, "asset;critical\nsrv1;yes\nsrv2;maybe\n").unwrap();
        assert_eq!(t.bool(&t.rows[0], &["critical"]).unwrap(), Some(true));
        let e = t.bool(&t.rows[1], &["critical"]).unwrap_err().to_string();
        assert!(e.starts_with("x.csv:3:"), "{e}");
        let e = Table::parse(p, "a,b\n1,2,3\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("x.csv:2:"), "{e}");
        let e = t.require(&["os"]).unwrap_err().to_string();
        assert!(e.contains("missing column 'os'"), "{e}");
    }

    #[test]
    fn host_keys() {
        assert_eq!(host_key("PC-001.chu.test"), "pc-001");
        assert_eq!(host_key("PC-001$"), "pc-001");
    }
}
