//! The one CSV writer behind every export (alerts, region status, breach register, phishing
//! results...). CSV files are opened in spreadsheets, where a cell starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is read as a formula: a host name taken from a log such as
//! `=cmd|' /C calc'!A0` would run on the reader's machine. Every text cell is therefore
//! neutralised by a leading single quote (OWASP's recommendation), whatever its origin.
//!
//! Numbers Hygie computes itself (counts, scores) are not text: they are written through
//! [`Cell::int`] / [`Cell::decimal`] and stay numbers, a negative one included, because they
//! cannot carry a formula. A number that arrives as text (read from a file) is text and is
//! neutralised like any other: the choice is made by the type, never by looking at the value.

use std::borrow::Cow;
use std::io::Write;

/// One cell of a CSV row: text from anywhere (neutralised), or a number Hygie computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'a>(Cow<'a, str>);

impl<'a> Cell<'a> {
    /// A text cell; a formula-leading value gets a `'` prefix.
    pub fn text(s: impl Into<Cow<'a, str>>) -> Cell<'a> {
        let s = s.into();
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            Cell(Cow::Owned(format!("'{s}")))
        } else {
            Cell(s)
        }
    }

    /// An integer, written as is (a negative one stays a number).
    pub fn int(n: impl Integer) -> Cell<'static> {
        Cell(Cow::Owned(n.to_string()))
    }

    /// A decimal with a fixed number of places, written as is.
    pub fn decimal(x: f64, places: usize) -> Cell<'static> {
        Cell(Cow::Owned(format!("{x:.places$}")))
    }

    /// The cell as it will be written (before CSV quoting).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Cell<'a> {
        Cell::text(s)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(s: &'a String) -> Cell<'a> {
        Cell::text(s.as_str())
    }
}

impl From<String> for Cell<'static> {
    fn from(s: String) -> Cell<'static> {
        Cell::text(s)
    }
}

/// The integer types: only they make an [`Cell::int`], so no text reaches a number cell.
pub trait Integer: std::fmt::Display + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! integers {
    ($($t:ty)*) => { $(impl sealed::Sealed for $t {} impl Integer for $t {})* };
}
integers!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

/// A CSV writer (RFC 4180 quoting by the `csv` crate, `\n` line ends) whose cells are
/// neutralised. Rows may have any length; the header is a row of text cells.
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            inner: csv::WriterBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out),
        }
    }

    /// Write one row.
    pub fn row<'a, I, C>(&mut self, cells: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = C>,
        C: Into<Cell<'a>>,
    {
        let cells: Vec<Cell<'a>> = cells.into_iter().map(Into::into).collect();
        self.inner
            .write_record(cells.iter().map(|c| c.as_str()))
            .map_err(std::io::Error::other)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    /// Flush and give back the underlying writer.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// A whole table as CSV text: a header row, then the rows (all text cells).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = CsvWriter::new(Vec::new());
    let written = w
        .row(headers.iter().copied())
        .and_then(|()| rows.iter().try_for_each(|r| w.row(r)));
    to_text(written, w)
}

/// The text of a writer over memory. Writing to a `Vec` cannot fail, and the cells are `str`,
/// so the bytes are UTF-8; an impossible failure yields what was written so far.
pub(crate) fn to_text(written: std::io::Result<()>, w: CsvWriter<Vec<u8>>) -> String {
    debug_assert!(written.is_ok());
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_leading_text_is_neutralised() {
        for (raw, want) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("host-1", "host-1"),
            ("", ""),
        ] {
            assert_eq!(Cell::text(raw).as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn computed_numbers_stay_numbers_even_negative() {
        let mut w = CsvWriter::new(Vec::new());
        let r = w.row([Cell::text("-5"), Cell::int(-5), Cell::decimal(-2.5, 1)]);
        assert_eq!(to_text(r, w), "'-5,-5,-2.5\n");
    }

    #[test]
    fn quoting_follows_rfc4180() {
        let t = table(
            &["a", "b"],
            &[vec!["x, \"y\"".into(), "line\nbreak".into()]],
        );
        assert_eq!(t, "a,b\n\"x, \"\"y\"\"\",\"line\nbreak\"\n");
    }
}
