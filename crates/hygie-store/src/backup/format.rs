//! The archive format (described in the `backup` module): pure code over `Write` and `BufRead`,
//! so that every property of the format is tested without a database or a file.

use super::{BackupError, Problem};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read, Write};

/// The version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "hygie-backup";
/// The longest line read: a row holds at most one evidence file (64 MiB from the command line,
/// 25 MB from the web), about 86 MiB in base64. A longer line is refused before it fills memory.
const MAX_LINE: u64 = 256 << 20;

/// The portable type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int,
    Real,
    Text,
    Bytes,
}

impl ColumnType {
    /// The portable type of a column declared `decl` (SQLite's declared type or PostgreSQL's
    /// `data_type`), or None for a type the format does not carry.
    pub fn of_declared(decl: &str) -> Option<ColumnType> {
        let d = decl.to_ascii_uppercase();
        if d.contains("INT") {
            Some(ColumnType::Int)
        } else if d.contains("TEXT") || d.contains("CHAR") || d.contains("CLOB") {
            Some(ColumnType::Text)
        } else if d.contains("BLOB") || d.contains("BYTEA") {
            Some(ColumnType::Bytes)
        } else if d.contains("DOUBLE") || d.contains("REAL") || d.contains("FLOA") {
            Some(ColumnType::Real)
        } else {
            None
        }
    }
}

/// A column of a table section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn fits(&self, ty: ColumnType) -> bool {
        matches!(
            (self, ty),
            (Value::Null, _)
                | (Value::Int(_), ColumnType::Int)
                | (Value::Real(_), ColumnType::Real)
                | (Value::Text(_), ColumnType::Text)
                | (Value::Bytes(_), ColumnType::Bytes)
        )
    }
}

/// What the manifest says of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSummary {
    pub name: String,
    pub rows: u64,
    /// SHA-256 of the table's lines (its header line and its rows, newlines included).
    pub sha256: String,
}

/// The last journal entry the snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHead {
    pub seq: i64,
    pub hash: String,
}

/// The manifest, the line before the checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub hygie_version: String,
    /// The last migration applied to the store the snapshot was taken from.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    pub journal_head: JournalHead,
    pub tables: Vec<TableSummary>,
}

impl Manifest {
    /// Rows of every table.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Rows of table `name` (0 when absent).
    pub fn rows_of(&self, name: &str) -> u64 {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.rows)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
}

/// The line that starts a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableHeader {
    pub table: String,
    pub columns: Vec<Column>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    manifest: Manifest,
}

fn trailer(hash: &[u8]) -> Vec<u8> {
    format!("{{\"sha256\":\"{}\"}}\n", hex::encode(hash)).into_bytes()
}

/// A table being written or read: its hash so far and its rows.
struct Open {
    header: TableHeader,
    hash: Sha256,
    rows: u64,
}

impl Open {
    fn summary(self) -> TableSummary {
        TableSummary {
            name: self.header.table,
            rows: self.rows,
            sha256: hex::encode(self.hash.finalize()),
        }
    }
}

/// Writes an archive as its tables are read: `begin_table`, `row`s, ..., `finish`.
pub struct ArchiveWriter<W: Write> {
    out: W,
    whole: Sha256,
    open: Option<Open>,
    tables: Vec<TableSummary>,
    line: Vec<u8>,
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

impl<W: Write> ArchiveWriter<W> {
    /// Start an archive: its header line.
    pub fn new(out: W) -> std::io::Result<Self> {
        let mut w = ArchiveWriter {
            out,
            whole: Sha256::new(),
            open: None,
            tables: Vec::new(),
            line: Vec::new(),
        };
        serde_json::to_writer(
            &mut w.line,
            &Header {
                format: FORMAT_NAME.into(),
                version: FORMAT_VERSION,
            },
        )?;
        w.line.push(b'\n');
        w.emit()?;
        Ok(w)
    }

    /// Write `self.line`, hashed into the whole and into the open table.
    fn emit(&mut self) -> std::io::Result<()> {
        self.whole.update(&self.line);
        if let Some(t) = &mut self.open {
            t.hash.update(&self.line);
        }
        self.out.write_all(&self.line)
    }

    fn close_table(&mut self) {
        if let Some(t) = self.open.take() {
            self.tables.push(t.summary());
        }
    }

    /// Start table `name`; its rows follow.
    pub fn begin_table(&mut self, name: &str, columns: &[Column]) -> std::io::Result<()> {
        self.close_table();
        let header = TableHeader {
            table: name.to_owned(),
            columns: columns.to_vec(),
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &header)?;
        self.line.push(b'\n');
        self.open = Some(Open {
            header,
            hash: Sha256::new(),
            rows: 0,
        });
        self.emit()
    }

    /// One row of the open table, its values in column order.
    pub fn row(&mut self, values: &[Value]) -> std::io::Result<()> {
        let Some(open) = &self.open else {
            return Err(invalid("a row outside a table".into()));
        };
        let columns = &open.header.columns;
        if values.len() != columns.len() {
            return Err(invalid(format!(
                "table {}: {} values for {} columns",
                open.header.table,
                values.len(),
                columns.len()
            )));
        }
        self.line.clear();
        self.line.push(b'[');
        for (i, (v, c)) in values.iter().zip(columns).enumerate() {
            if !v.fits(c.ty) {
                return Err(invalid(format!(
                    "table {}, column {}: a value that is not {:?}",
                    open.header.table, c.name, c.ty
                )));
            }
            if i > 0 {
                self.line.push(b',');
            }
            match v {
                Value::Null => self.line.extend_from_slice(b"null"),
                Value::Int(n) => write!(self.line, "{n}")?,
                Value::Real(x) if x.is_finite() => write!(self.line, "\"{x:?}\"")?,
                Value::Real(x) => {
                    return Err(invalid(format!(
                        "table {}, column {}: {x} cannot be saved",
                        open.header.table, c.name
                    )));
                }
                Value::Text(s) => serde_json::to_writer(&mut self.line, s)?,
                Value::Bytes(b) => {
                    self.line.push(b'"');
                    self.line.extend_from_slice(BASE64.encode(b).as_bytes());
                    self.line.push(b'"');
                }
            }
        }
        self.line.extend_from_slice(b"]\n");
        self.emit()?;
        if let Some(t) = &mut self.open {
            t.rows += 1;
        }
        Ok(())
    }

    /// Write the manifest (`manifest` with the tables written filled in) and the checksum line;
    /// returns the output and the manifest written.
    pub fn finish(mut self, mut manifest: Manifest) -> std::io::Result<(W, Manifest)> {
        self.close_table();
        manifest.format_version = FORMAT_VERSION;
        manifest.tables = std::mem::take(&mut self.tables);
        let line = ManifestLine { manifest };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line)?;
        self.line.push(b'\n');
        self.emit()?;
        let whole = std::mem::take(&mut self.whole).finalize();
        self.out.write_all(&trailer(&whole))?;
        self.out.flush()?;
        Ok((self.out, line.manifest))
    }
}

/// What an archive holds, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A table starts; its rows follow.
    Table(TableHeader),
    /// A row of the current table, its values in column order, of the declared types.
    Row(Vec<Value>),
    /// The end: every table, the manifest and the checksum of the whole were checked.
    End(Manifest),
}

/// Reads an archive item by item, checking as it goes; only [`Item::End`] says the whole was
/// sound, so a reader that acts on rows before it must be able to undo them.
pub struct ArchiveReader<R: BufRead> {
    inp: R,
    label: String,
    line_no: u64,
    whole: Sha256,
    open: Option<Open>,
    seen: Vec<TableSummary>,
    ended: bool,
    buf: Vec<u8>,
    /// The format version of the header.
    version: u32,
}

/// A name as the schema writes them: lower-case ASCII letters, digits and underscores.
pub(crate) fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl<R: BufRead> ArchiveReader<R> {
    /// Read the header line of `inp`; `label` names the file in errors.
    pub fn new(inp: R, label: &str) -> Result<Self, BackupError> {
        let mut r = ArchiveReader {
            inp,
            label: label.to_owned(),
            line_no: 0,
            whole: Sha256::new(),
            open: None,
            seen: Vec::new(),
            ended: false,
            buf: Vec::new(),
            version: 0,
        };
        if !r.read_line()? {
            return Err(r.truncated());
        }
        let header: Header = serde_json::from_slice(&r.buf).map_err(|_| {
            BackupError::new(
                Problem::Malformed,
                format!("{}: not a Hygie backup (its first line is not a backup header)", r.label),
                format!(
                    "{} : ce n'est pas une sauvegarde Hygie (sa première ligne n'est pas un en-tête de sauvegarde)",
                    r.label
                ),
            )
        })?;
        if header.format != FORMAT_NAME {
            return Err(BackupError::new(
                Problem::Malformed,
                format!(
                    "{}: not a Hygie backup (format '{}')",
                    r.label, header.format
                ),
                format!(
                    "{} : ce n'est pas une sauvegarde Hygie (format « {} »)",
                    r.label, header.format
                ),
            ));
        }
        if header.version > FORMAT_VERSION {
            return Err(newer_format(&r.label, header.version));
        }
        r.version = header.version;
        r.whole.update(&r.buf);
        Ok(r)
    }

    /// The next line into `buf` (its newline kept); false at the end of the input.
    fn read_line(&mut self) -> Result<bool, BackupError> {
        self.buf.clear();
        let n = (&mut self.inp)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| read_error(&self.label, e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        if self.buf.last() != Some(&b'\n') {
            if n as u64 > MAX_LINE {
                return Err(self.malformed("is longer than 256 MiB", "dépasse 256 Mio"));
            }
            return Err(self.truncated());
        }
        Ok(true)
    }

    fn truncated(&self) -> BackupError {
        BackupError::new(
            Problem::Truncated,
            format!(
                "{}: truncated: the archive ends at line {} before its manifest and checksum",
                self.label, self.line_no
            ),
            format!(
                "{} : tronquée : l'archive s'arrête à la ligne {} avant son manifeste et sa somme de contrôle",
                self.label, self.line_no
            ),
        )
    }

    fn malformed(&self, en: &str, fr: &str) -> BackupError {
        let (te, tf) = match &self.open {
            Some(t) => (
                format!(" (table {})", t.header.table),
                format!(" (table {})", t.header.table),
            ),
            None => (String::new(), String::new()),
        };
        BackupError::new(
            Problem::Malformed,
            format!("{}: line {}{te}: {en}", self.label, self.line_no),
            format!("{} : ligne {}{tf} : {fr}", self.label, self.line_no),
        )
    }

    /// The next item. After [`Item::End`], an error.
    pub fn next_item(&mut self) -> Result<Item, BackupError> {
        if self.ended {
            return Err(self.malformed("read past the end", "lecture après la fin"));
        }
        if !self.read_line()? {
            return Err(self.truncated());
        }
        match self.buf.first() {
            Some(b'[') => self.row(),
            Some(b'{') => {
                let v: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&self.buf).map_err(|e| {
                        self.malformed(&format!("not JSON: {e}"), &format!("pas du JSON : {e}"))
                    })?;
                if v.contains_key("table") {
                    self.table()
                } else if v.contains_key("manifest") {
                    self.manifest()
                } else {
                    Err(self.malformed(
                        "neither a table, a row nor the manifest",
                        "ni une table, ni une ligne, ni le manifeste",
                    ))
                }
            }
            _ => Err(self.malformed("not a line of the format", "pas une ligne du format")),
        }
    }

    fn table(&mut self) -> Result<Item, BackupError> {
        let header: TableHeader = serde_json::from_slice(&self.buf).map_err(|e| {
            self.malformed(
                &format!("bad table header: {e}"),
                &format!("en-tête de table invalide : {e}"),
            )
        })?;
        if let Some(t) = self.open.take() {
            self.seen.push(t.summary());
        }
        let mut names: Vec<&str> = header.columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let repeated = names.windows(2).any(|w| w[0] == w[1]);
        if !plain_name(&header.table)
            || header.columns.is_empty()
            || repeated
            || !header.columns.iter().all(|c| plain_name(&c.name))
            || self.seen.iter().any(|s| s.name == header.table)
        {
            return Err(self.malformed(
                &format!("bad table header for '{}'", header.table),
                &format!("en-tête de table invalide pour « {} »", header.table),
            ));
        }
        self.whole.update(&self.buf);
        let mut hash = Sha256::new();
        hash.update(&self.buf);
        self.open = Some(Open {
            header: header.clone(),
            hash,
            rows: 0,
        });
        Ok(Item::Table(header))
    }

    fn row(&mut self) -> Result<Item, BackupError> {
        let Some(open) = &self.open else {
            return Err(self.malformed("a row before any table", "une ligne avant toute table"));
        };
        let raw: Vec<serde_json::Value> = serde_json::from_slice(&self.buf).map_err(|e| {
            self.malformed(&format!("not a row: {e}"), &format!("pas une ligne : {e}"))
        })?;
        let columns = &open.header.columns;
        if raw.len() != columns.len() {
            return Err(self.malformed(
                &format!("{} values for {} columns", raw.len(), columns.len()),
                &format!("{} valeurs pour {} colonnes", raw.len(), columns.len()),
            ));
        }
        let mut values = Vec::with_capacity(raw.len());
        for (v, c) in raw.into_iter().zip(columns) {
            let value = match (v, c.ty) {
                (serde_json::Value::Null, _) => Some(Value::Null),
                (serde_json::Value::Number(n), ColumnType::Int) => n.as_i64().map(Value::Int),
                (serde_json::Value::String(s), ColumnType::Real) => s
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Value::Real),
                (serde_json::Value::String(s), ColumnType::Text) => Some(Value::Text(s)),
                (serde_json::Value::String(s), ColumnType::Bytes) => {
                    BASE64.decode(s.as_bytes()).ok().map(Value::Bytes)
                }
                _ => None,
            };
            match value {
                Some(v) => values.push(v),
                None => {
                    return Err(self.malformed(
                        &format!("column {}: not a value of type {:?}", c.name, c.ty),
                        &format!("colonne {} : pas une valeur de type {:?}", c.name, c.ty),
                    ));
                }
            }
        }
        self.whole.update(&self.buf);
        if let Some(t) = &mut self.open {
            t.hash.update(&self.buf);
            t.rows += 1;
        }
        Ok(Item::Row(values))
    }

    fn manifest(&mut self) -> Result<Item, BackupError> {
        let line: ManifestLine = serde_json::from_slice(&self.buf).map_err(|e| {
            self.malformed(
                &format!("bad manifest: {e}"),
                &format!("manifeste invalide : {e}"),
            )
        })?;
        if let Some(t) = self.open.take() {
            self.seen.push(t.summary());
        }
        self.whole.update(&self.buf);
        let manifest = line.manifest;
        let label = self.label.clone();
        let seen_names: Vec<&str> = self.seen.iter().map(|t| t.name.as_str()).collect();
        let listed: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
        if seen_names != listed {
            return Err(BackupError::new(
                Problem::Checksum,
                format!(
                    "{label}: the manifest lists the tables {} but the archive holds {}",
                    listed.join(", "),
                    seen_names.join(", ")
                ),
                format!(
                    "{label} : le manifeste liste les tables {} mais l'archive contient {}",
                    listed.join(", "),
                    seen_names.join(", ")
                ),
            ));
        }
        for (seen, listed) in self.seen.iter().zip(&manifest.tables) {
            if seen.sha256 != listed.sha256 || seen.rows != listed.rows {
                return Err(BackupError::new(
                    Problem::Checksum,
                    format!(
                        "{label}: bad checksum of table {}: its {} rows hash to {}, the manifest records {} rows hashing to {}",
                        seen.name, seen.rows, seen.sha256, listed.rows, listed.sha256
                    ),
                    format!(
                        "{label} : somme de contrôle de la table {} fausse : ses {} lignes donnent {}, le manifeste indique {} lignes donnant {}",
                        seen.name, seen.rows, seen.sha256, listed.rows, listed.sha256
                    ),
                ));
            }
        }
        let whole = std::mem::take(&mut self.whole).finalize();
        if !self.read_line()? {
            return Err(self.truncated());
        }
        if self.buf != trailer(&whole) {
            return Err(BackupError::new(
                Problem::Checksum,
                format!(
                    "{label}: bad checksum: the archive's content hashes to {}, its last line does not record it",
                    hex::encode(whole)
                ),
                format!(
                    "{label} : somme de contrôle fausse : le contenu de l'archive donne {}, sa dernière ligne ne l'indique pas",
                    hex::encode(whole)
                ),
            ));
        }
        let mut rest = [0u8; 1];
        let more = self
            .inp
            .read(&mut rest)
            .map_err(|e| read_error(&label, e))?;
        if more > 0 {
            return Err(BackupError::new(
                Problem::Malformed,
                format!("{label}: data after the end of the archive"),
                format!("{label} : des données suivent la fin de l'archive"),
            ));
        }
        // Checked after the checksum: a sound archive whose manifest and header disagree.
        if manifest.format_version != self.version {
            return Err(BackupError::new(
                Problem::Malformed,
                format!(
                    "{label}: the manifest says format {}, the header {}",
                    manifest.format_version, self.version
                ),
                format!(
                    "{label} : le manifeste indique le format {}, l'en-tête {}",
                    manifest.format_version, self.version
                ),
            ));
        }
        self.ended = true;
        Ok(Item::End(manifest))
    }

    /// Read to the end, checking everything, and return the manifest.
    pub fn check_to_end(mut self) -> Result<Manifest, BackupError> {
        loop {
            if let Item::End(m) = self.next_item()? {
                return Ok(m);
            }
        }
    }
}

fn newer_format(label: &str, version: u32) -> BackupError {
    BackupError::new(
        Problem::Newer,
        format!(
            "{label}: written in backup format {version} by a newer Hygie; this one reads format {FORMAT_VERSION} at most: restore it with that newer version"
        ),
        format!(
            "{label} : écrite au format de sauvegarde {version} par une version plus récente de Hygie ; celle-ci lit au plus le format {FORMAT_VERSION} : restaurez-la avec cette version plus récente"
        ),
    )
}

/// A read error: the decryption layer's own errors (wrong key, damaged chunk, truncation) pass
/// through `io::Error` and come out as they were made.
pub(crate) fn read_error(label: &str, e: std::io::Error) -> BackupError {
    if e.get_ref().is_some_and(|inner| inner.is::<BackupError>()) {
        if let Some(inner) = e.into_inner()
            && let Ok(b) = inner.downcast::<BackupError>()
        {
            return *b;
        }
        return BackupError::new(Problem::Io, label.to_owned(), label.to_owned());
    }
    BackupError::io(label, &e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample_manifest() -> Manifest {
        Manifest {
            format_version: 0,
            hygie_version: "0.1.0".into(),
            schema_version: 900,
            backend: "sqlite".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            journal_head: JournalHead {
                seq: 2,
                hash: "ab".repeat(32),
            },
            tables: Vec::new(),
        }
    }

    fn cols(spec: &[(&str, ColumnType)]) -> Vec<Column> {
        spec.iter()
            .map(|(n, t)| Column {
                name: (*n).into(),
                ty: *t,
            })
            .collect()
    }

    /// A small archive with every type, NULLs, escapes and an empty table.
    /// Tables with their rows, as written or read.
    type Tables = Vec<(TableHeader, Vec<Vec<Value>>)>;

    fn sample() -> (Vec<u8>, Tables) {
        let tables = vec![
            (
                TableHeader {
                    table: "things".into(),
                    columns: cols(&[
                        ("id", ColumnType::Int),
                        ("name", ColumnType::Text),
                        ("score", ColumnType::Real),
                        ("content", ColumnType::Bytes),
                    ]),
                },
                vec![
                    vec![
                        Value::Int(i64::MIN),
                        Value::Text("DÉMO \"quoted\"\n\u{202e} \\".into()),
                        Value::Real(0.1 + 0.2),
                        Value::Bytes(vec![0, 255, 10, 13]),
                    ],
                    vec![Value::Int(i64::MAX), Value::Null, Value::Null, Value::Null],
                    vec![
                        Value::Int(0),
                        Value::Text(String::new()),
                        Value::Real(-1e300),
                        Value::Bytes(Vec::new()),
                    ],
                ],
            ),
            (
                TableHeader {
                    table: "empty".into(),
                    columns: cols(&[("k", ColumnType::Text)]),
                },
                vec![],
            ),
        ];
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        for (h, rows) in &tables {
            w.begin_table(&h.table, &h.columns).unwrap();
            for r in rows {
                w.row(r).unwrap();
            }
        }
        let (bytes, _) = w.finish(sample_manifest()).unwrap();
        (bytes, tables)
    }

    fn read_all(bytes: &[u8]) -> Result<(Tables, Manifest), BackupError> {
        let mut r = ArchiveReader::new(bytes, "test.hyb")?;
        let mut out: Tables = Vec::new();
        loop {
            match r.next_item()? {
                Item::Table(h) => out.push((h, Vec::new())),
                Item::Row(v) => out.last_mut().unwrap().1.push(v),
                Item::End(m) => return Ok((out, m)),
            }
        }
    }

    #[test]
    fn every_value_reads_back_exactly() {
        let (bytes, tables) = sample();
        let (read, manifest) = read_all(&bytes).unwrap();
        assert_eq!(read, tables);
        assert_eq!(manifest.format_version, FORMAT_VERSION);
        assert_eq!(manifest.rows(), 3);
        assert_eq!(manifest.rows_of("things"), 3);
        assert_eq!(manifest.tables[1].rows, 0);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("{\"format\":\"hygie-backup\",\"version\":1}\n"));
        assert!(text.contains("\"0.30000000000000004\""), "{text}");
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let (bytes, _) = sample();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(
                    read_all(&b).is_err(),
                    "byte {i} ^ {bit:#x} went unnoticed: {}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_detected_as_such() {
        let (bytes, _) = sample();
        for len in 0..bytes.len() {
            let e = read_all(&bytes[..len]).unwrap_err();
            assert_eq!(e.problem, Problem::Truncated, "cut at {len}: {e}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"\n");
        assert_eq!(read_all(&longer).unwrap_err().problem, Problem::Malformed);
    }

    #[test]
    fn a_changed_row_is_a_bad_checksum_naming_its_table() {
        let (bytes, _) = sample();
        let text = String::from_utf8(bytes).unwrap();
        let changed = text.replacen("9223372036854775807", "9223372036854775806", 1);
        let e = read_all(changed.as_bytes()).unwrap_err();
        assert_eq!(e.problem, Problem::Checksum);
        assert!(e.to_string().contains("table things"), "{e}");
        assert!(e.to_string().contains("test.hyb"), "{e}");
        assert!(e.to_string().contains("somme de contrôle"), "{e}");
    }

    #[test]
    fn a_newer_format_is_refused_by_name() {
        let e = read_all(b"{\"format\":\"hygie-backup\",\"version\":2}\n").unwrap_err();
        assert_eq!(e.problem, Problem::Newer);
        assert!(e.to_string().contains("format 2"), "{e}");
        let e = read_all(b"PK\x03\x04 not a backup\n").unwrap_err();
        assert_eq!(e.problem, Problem::Malformed);
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        w.begin_table("t", &cols(&[("a", ColumnType::Int)]))
            .unwrap();
        assert!(w.row(&[Value::Text("1".into())]).is_err());
        assert!(w.row(&[]).is_err());
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        w.begin_table("t", &cols(&[("a", ColumnType::Real)]))
            .unwrap();
        assert!(w.row(&[Value::Real(f64::NAN)]).is_err());
    }

    #[test]
    fn declared_types_map_on_both_backends() {
        for (decl, ty) in [
            ("BIGINT", ColumnType::Int),
            ("bigint", ColumnType::Int),
            ("TEXT", ColumnType::Text),
            ("text", ColumnType::Text),
            ("BLOB", ColumnType::Bytes),
            ("bytea", ColumnType::Bytes),
            ("DOUBLE PRECISION", ColumnType::Real),
            ("double precision", ColumnType::Real),
        ] {
            assert_eq!(ColumnType::of_declared(decl), Some(ty), "{decl}");
        }
        assert_eq!(ColumnType::of_declared("jsonb"), None);
    }

    #[test]
    fn names_are_plain() {
        assert!(plain_name("evidence_blobs"));
        assert!(!plain_name("x; DROP TABLE users"));
        assert!(!plain_name("\"quoted\""));
        assert!(!plain_name("1x"));
        assert!(!plain_name(""));
    }
}
