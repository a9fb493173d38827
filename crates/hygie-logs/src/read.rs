//! Reading log files: EVTX, JSON (evtx_dump, Winlogbeat/ECS, OpenWEC, flat; one object
//! per line or concatenated documents) and syslog text. A corrupt file or
//! record is reported with its location and skipped; reading goes on.

use crate::syslog::{SyslogError, parse_line};
use crate::windows::{flatten_evtx_json, flatten_winlogbeat};
use hygie_detect::{EventKind, FieldValue, Fields, LogEvent, Origin};
use serde_json::Value;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A problem with one file or one record, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    pub file: String,
    /// "record 12", "line 4", "chunk 3"... or "file".
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.file, self.location, self.message)
    }
}

/// Input format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Evtx,
    Json,
    Syslog,
}

/// Format from the file name; None for files that are not logs we read.
pub fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "evtx" => Some(Format::Evtx),
        "json" | "jsonl" | "ndjson" => Some(Format::Json),
        "log" | "syslog" | "raw" | "txt" => Some(Format::Syslog),
        _ => None,
    }
}

/// Log files under `paths` (recursively, sorted), with their format.
/// Unreadable paths are reported.
pub fn list_log_files(paths: &[PathBuf]) -> (Vec<(PathBuf, Format)>, Vec<InputError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_file() {
            match format_of(p) {
                Some(f) => out.push((p.clone(), f)),
                // Named explicitly: JSON lines when it starts with an object (OpenWEC's files
                // output writes `{ip}/{principal}/messages`), else syslog text.
                None => out.push((p.clone(), sniff(p))),
            }
        } else {
            walk(p, &mut out, &mut errors);
        }
    }
    (out, errors)
}

/// The format of a file without a log extension, from its first bytes: JSON when the first
/// non-blank byte opens an object, else syslog (also when it cannot be read: the reader says
/// why).
fn sniff(path: &Path) -> Format {
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    match head[..n].iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Format::Json,
        _ => Format::Syslog,
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Format)>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(InputError {
                file: dir.display().to_string(),
                location: "directory".into(),
                message: e.to_string(),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, out, errors);
        } else if let Some(f) = format_of(&p) {
            out.push((p, f));
        }
    }
}

/// The shapes a JSON event comes in.
#[derive(PartialEq)]
enum Shape {
    /// evtx_dump / `evtx` rendering: `{"Event": {"System": ..}}`.
    EvtxDump,
    /// Winlogbeat / ECS: `{"winlog": {..}}`.
    Winlogbeat,
    /// OpenWEC's `Json` format: `{"System": {"EventID": ..}, "EventData": .., "OpenWEC": ..}`.
    OpenWec,
    /// Already flat (forwarded events, syslog-to-JSON, anything else).
    Flat,
}

/// The shape of an object, from its top-level objects and arrays (`nested`).
fn shape<'a>(nested: impl Fn(&str) -> Option<&'a Value>) -> Shape {
    if nested("Event").is_some_and(|e| e.get("System").is_some()) {
        Shape::EvtxDump
    } else if nested("winlog").is_some_and(Value::is_object) {
        Shape::Winlogbeat
    } else if crate::openwec::is_openwec(nested("System")) {
        Shape::OpenWec
    } else {
        Shape::Flat
    }
}

/// Turn one JSON document into an event, whatever its shape.
pub fn json_to_event(doc: Value, source: &Arc<str>, record: u64) -> Option<LogEvent> {
    let origin = Origin {
        source: source.clone(),
        record,
    };
    let Value::Object(map) = doc else {
        return None;
    };
    let windows = |f: Fields| LogEvent::from_fields(EventKind::Windows, f, origin.clone());
    match shape(|k| map.get(k)) {
        Shape::EvtxDump => flatten_evtx_json(Value::Object(map)).map(windows),
        Shape::Winlogbeat => flatten_winlogbeat(Value::Object(map)).map(windows),
        Shape::OpenWec => crate::openwec::flatten_openwec(Value::Object(map)).map(windows),
        Shape::Flat => Some(flat_event(Fields::from_map(map), origin)),
    }
}

/// One JSON text (a line of NDJSON, a streamed message) into an event, whatever its shape;
/// `Ok(None)` when it is JSON but not an object. Flat objects, the usual shape of forwarded
/// events, are read straight into fields; the nested shapes go on to [`json_to_event`].
pub fn json_text_to_event(
    text: &str,
    source: &Arc<str>,
    record: u64,
) -> serde_json::Result<Option<LogEvent>> {
    let Some(fields) = Fields::from_json_str(text)? else {
        return Ok(None);
    };
    let nested = |k: &str| match fields.get(k) {
        Some(FieldValue::Json(v)) => Some(&**v),
        _ => None,
    };
    if shape(nested) != Shape::Flat {
        return Ok(json_to_event(
            Value::Object(fields.into_map()),
            source,
            record,
        ));
    }
    let origin = Origin {
        source: source.clone(),
        record,
    };
    Ok(Some(flat_event(fields, origin)))
}

/// A flat object: Windows when it names an EventID and a channel or provider.
fn flat_event(mut fields: Fields, origin: Origin) -> LogEvent {
    let kind = if fields.contains_key("EventID")
        && (fields.contains_key("Channel") || fields.contains_key("Provider_Name"))
    {
        EventKind::Windows
    } else {
        EventKind::Json
    };
    if kind == EventKind::Windows
        && let Some(v) = fields.get_mut("EventID")
        && let FieldValue::Str(s) = v
        && let Ok(id) = s.trim().parse::<i64>()
    {
        *v = FieldValue::Int(id);
    }
    LogEvent::from_fields(kind, fields, origin)
}

/// Read one file, calling `sink` for each event; returns the errors met
/// (the file is never abandoned at the first bad record).
pub fn read_file(path: &Path, format: Format, sink: &mut dyn FnMut(LogEvent)) -> Vec<InputError> {
    match format {
        Format::Evtx => read_evtx(path, sink),
        Format::Json => read_json(path, sink),
        Format::Syslog => read_syslog(path, sink),
    }
}

/// [`read_file`] of a file's bytes already in memory, `name` standing for its path in errors
/// and event origins. The same readers run: only where the bytes come from differs (the fuzz
/// targets use it; the CLI reads files).
pub fn read_bytes(
    name: &Path,
    format: Format,
    bytes: &[u8],
    sink: &mut dyn FnMut(LogEvent),
) -> Vec<InputError> {
    match format {
        Format::Evtx => match EvtxFile::from_bytes(name, bytes.to_vec()) {
            Ok((file, chunks)) => read_evtx_chunks(&file, chunks, sink),
            Err(e) => vec![e],
        },
        Format::Json => read_json_from(bytes, name, source_of(name), sink),
        Format::Syslog => read_syslog_from(bytes, name, source_of(name), sink),
    }
}

/// The name events read from `path` carry as their source.
fn source_of(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}

fn err(path: &Path, location: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        file: path.display().to_string(),
        location: location.into(),
        message: message.into(),
    }
}

/// Corrupt records reported per file before the rest of it is skipped.
const MAX_RECORD_ERRORS: usize = 10_000;

/// An EVTX file being read chunk by chunk. Chunks (64 KiB, a few hundred
/// records) are independent, so the batch runner spreads one big file over
/// every core; memory stays bounded by the chunks in flight.
pub struct EvtxFile {
    path: PathBuf,
    source: Arc<str>,
    settings: Arc<evtx::ParserSettings>,
}

/// The chunks of an EVTX file (or of its bytes in memory, `R`), read but not parsed, in record
/// order.
pub struct EvtxChunks<R: Read + Seek = std::fs::File> {
    chunks: evtx::IntoIterChunks<R>,
    next: u64,
}

/// The chunks of an EVTX file held in memory ([`EvtxFile::from_bytes`]).
pub type MemoryChunks = EvtxChunks<Cursor<Vec<u8>>>;

/// One chunk of an EVTX file, read but not parsed yet.
pub struct EvtxChunk {
    number: u64,
    data: Result<evtx::EvtxChunkData, String>,
}

impl EvtxFile {
    /// Open `path`; the error names the file when it is not EVTX.
    pub fn open(path: &Path) -> Result<(EvtxFile, EvtxChunks), InputError> {
        EvtxFile::with_parser(path, evtx::EvtxParser::from_path(path))
    }

    /// [`EvtxFile::open`] of a file's bytes in memory, `name` standing for its path.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<(EvtxFile, MemoryChunks), InputError> {
        EvtxFile::with_parser(name, evtx::EvtxParser::from_buffer(bytes))
    }

    fn with_parser<R: Read + Seek>(
        path: &Path,
        parser: evtx::err::Result<evtx::EvtxParser<R>>,
    ) -> Result<(EvtxFile, EvtxChunks<R>), InputError> {
        // Compact rendering: the JSON is only read back by the flattener.
        let settings = evtx::ParserSettings::default().indent(false);
        let parser = parser
            .map_err(|e| err(path, "file", format!("not a readable EVTX file: {e}")))?
            .with_configuration(settings.clone());
        Ok((
            EvtxFile {
                path: path.to_path_buf(),
                source: source_of(path),
                settings: Arc::new(settings),
            },
            EvtxChunks {
                chunks: parser.into_chunks(),
                next: 0,
            },
        ))
    }

    /// Parse one chunk, calling `sink` for each record flattened to Sigma
    /// field names; returns the errors met (capped).
    pub fn read_chunk(&self, chunk: EvtxChunk, sink: &mut dyn FnMut(LogEvent)) -> Vec<InputError> {
        let path = self.path.as_path();
        let number = chunk.number;
        let at = |what: &str| format!("chunk {number}, {what}");
        let mut data = match chunk.data {
            Ok(d) => d,
            Err(e) => return vec![err(path, at("header"), e)],
        };
        let mut parsed = match data.parse(self.settings.clone()) {
            Ok(c) => c,
            Err(e) => return vec![err(path, at("header"), e.to_string())],
        };
        let mut errors = Vec::new();
        for (n, rec) in parsed.iter().enumerate() {
            let rendered = match rec.and_then(|r| r.into_json_bytes()) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(err(path, at(&format!("record #{}", n + 1)), e.to_string()));
                    if errors.len() >= MAX_RECORD_ERRORS {
                        errors.push(err(
                            path,
                            at("rest"),
                            "too many corrupt records; rest of chunk skipped",
                        ));
                        break;
                    }
                    continue;
                }
            };
            let id = rendered.event_record_id;
            match crate::windows::flatten_evtx_json_bytes(&rendered.data) {
                Ok(Some(f)) => sink(LogEvent::from_fields(
                    EventKind::Windows,
                    f,
                    Origin {
                        source: self.source.clone(),
                        record: id,
                    },
                )),
                Ok(None) => errors.push(err(
                    path,
                    format!("record {id}"),
                    "record has no Event/System element",
                )),
                Err(e) => errors.push(err(path, format!("record {id}"), e.to_string())),
            }
        }
        errors
    }
}

impl<R: Read + Seek> Iterator for EvtxChunks<R> {
    type Item = EvtxChunk;
    fn next(&mut self) -> Option<EvtxChunk> {
        let data = self.chunks.next()?;
        let number = data
            .as_ref()
            .ok()
            .and_then(|d| d.number)
            .unwrap_or(self.next);
        self.next = number + 1;
        Some(EvtxChunk {
            number,
            data: data.map_err(|e| e.to_string()),
        })
    }
}

/// EVTX records, flattened natively, one chunk after the other.
pub fn read_evtx(path: &Path, sink: &mut dyn FnMut(LogEvent)) -> Vec<InputError> {
    match EvtxFile::open(path) {
        Ok((file, chunks)) => read_evtx_chunks(&file, chunks, sink),
        Err(e) => vec![e],
    }
}

/// Every chunk of an opened EVTX file, one after the other.
fn read_evtx_chunks<R: Read + Seek>(
    file: &EvtxFile,
    chunks: EvtxChunks<R>,
    sink: &mut dyn FnMut(LogEvent),
) -> Vec<InputError> {
    let path = file.path.as_path();
    let mut errors = Vec::new();
    for chunk in chunks {
        errors.extend(file.read_chunk(chunk, sink));
        if errors.len() >= MAX_RECORD_ERRORS {
            errors.push(err(
                path,
                "file",
                "too many corrupt records; rest of file skipped",
            ));
            break;
        }
    }
    errors
}

/// A text log opened for reading line by line, with the name its events carry as their source.
fn open_text(path: &Path) -> Result<(BufReader<std::fs::File>, Arc<str>), InputError> {
    let file = std::fs::File::open(path).map_err(|e| err(path, "file", e.to_string()))?;
    Ok((BufReader::with_capacity(1 << 16, file), source_of(path)))
}

/// JSON: one object per line, or concatenated (pretty-printed) documents.
pub fn read_json(path: &Path, sink: &mut dyn FnMut(LogEvent)) -> Vec<InputError> {
    match open_text(path) {
        Ok((reader, source)) => read_json_from(reader, path, source, sink),
        Err(e) => vec![e],
    }
}

/// [`read_json`] from any reader; `path` names it in errors.
fn read_json_from(
    mut reader: impl BufRead,
    path: &Path,
    source: Arc<str>,
    sink: &mut dyn FnMut(LogEvent),
) -> Vec<InputError> {
    let mut errors = Vec::new();
    let mut first = String::new();
    if let Err(e) = reader.read_line(&mut first) {
        return vec![err(path, "line 1", e.to_string())];
    }
    let first_trim = first.trim();
    let line_mode = first_trim.is_empty() || serde_json::from_str::<Value>(first_trim).is_ok();
    if line_mode {
        let mut handle = |line: &str, n: u64, errors: &mut Vec<InputError>| {
            let t = line.trim();
            if t.is_empty() {
                return;
            }
            match json_text_to_event(t, &source, n) {
                Ok(Some(e)) => sink(e),
                Ok(None) => errors.push(err(path, format!("line {n}"), "not a JSON object")),
                Err(e) => errors.push(err(path, format!("line {n}"), e.to_string())),
            }
        };
        handle(&first, 1, &mut errors);
        let mut n = 1u64;
        let mut buf = String::new();
        loop {
            buf.clear();
            n += 1;
            match reader.read_line(&mut buf) {
                Ok(0) => break,
                Ok(_) => handle(&buf, n, &mut errors),
                Err(e) => {
                    errors.push(err(path, format!("line {n}"), e.to_string()));
                    break;
                }
            }
        }
        return errors;
    }
    // Concatenated multi-line documents: read whole, resynchronise after errors
    // at the next line that opens an object.
    let mut text = first;
    if let Err(e) = reader.read_to_string(&mut text) {
        return vec![err(path, "file", e.to_string())];
    }
    let mut offset = 0usize;
    let mut doc = 0u64;
    while offset < text.len() {
        let rest = &text[offset..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let mut failed = None;
        for item in stream.by_ref() {
            doc += 1;
            match item {
                Ok(v) => match json_to_event(v, &source, doc) {
                    Some(e) => sink(e),
                    None => errors.push(err(path, format!("document {doc}"), "not a JSON object")),
                },
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let consumed = stream.byte_offset();
        match failed {
            None => break,
            Some(e) => {
                let line = text[..offset + consumed].matches('\n').count() + 1;
                errors.push(err(path, format!("line {line}"), e.to_string()));
                let from = offset + consumed.max(1);
                match text.get(from..).and_then(|t| t.find("\n{")) {
                    Some(p) => offset = from + p + 1,
                    None => break,
                }
            }
        }
    }
    errors
}

/// Syslog text, one message per line.
pub fn read_syslog(path: &Path, sink: &mut dyn FnMut(LogEvent)) -> Vec<InputError> {
    match open_text(path) {
        Ok((reader, source)) => read_syslog_from(reader, path, source, sink),
        Err(e) => vec![e],
    }
}

/// [`read_syslog`] from any reader; `path` names it in errors.
fn read_syslog_from(
    mut reader: impl BufRead,
    path: &Path,
    source: Arc<str>,
    sink: &mut dyn FnMut(LogEvent),
) -> Vec<InputError> {
    let mut errors = Vec::new();
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        n += 1;
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                errors.push(err(path, format!("line {n}"), e.to_string()));
                break;
            }
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(l) => l,
            Err(_) => {
                errors.push(err(path, format!("line {n}"), "not valid UTF-8"));
                continue;
            }
        };
        match parse_line(line, &source, n) {
            Ok(e) => sink(e),
            Err(SyslogError::Empty) => {}
            Err(e) => errors.push(err(path, format!("line {n}"), e.to_string())),
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path, f: Format) -> (Vec<LogEvent>, Vec<InputError>) {
        let mut v = Vec::new();
        let e = read_file(path, f, &mut |ev| v.push(ev));
        (v, e)
    }

    #[test]
    fn ndjson_with_a_bad_line_keeps_going() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "{\"EventID\": \"4625\", \"Channel\": \"Security\", \"Computer\": \"pc\"}\n{broken\n\n[1]\n{\"msg\": \"x\"}\n").expect("write");
        let (ev, errs) = collect(&p, Format::Json);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].kind, EventKind::Windows);
        assert_eq!(ev[0].event_id(), Some(4625));
        assert_eq!(ev[1].kind, EventKind::Json);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].location, "line 2");
        assert_eq!(errs[1].location, "line 4");
    }

    /// A line is read straight into fields when flat, through the shape's flattener when it is
    /// an evtx_dump or Winlogbeat document: either way the event is the one the whole-document
    /// path gives.
    #[test]
    fn json_lines_of_every_shape_read_as_whole_documents_do() {
        let source: Arc<str> = Arc::from("t");
        for line in [
            r#"{"EventID": "4688", "Channel": "Security", "NewProcessName": "C:\\w.exe", "Data": ["a", 1]}"#,
            r#"{"Event": {"System": {"EventID": 4625, "Channel": "Security", "Computer": "pc"}, "EventData": {"TargetUserName": "bob"}}}"#,
            r#"{"@timestamp": "2025-01-01T00:00:00Z", "winlog": {"channel": "Security", "event_id": "4624", "event_data": {"LogonType": "3"}}}"#,
            r#"{"msg": "x", "logsource": {"product": "linux"}, "a": {"b": 2}}"#,
        ] {
            let doc: Value = serde_json::from_str(line).expect("json");
            let whole = json_to_event(doc, &source, 7).expect("event");
            let by_line = json_text_to_event(line, &source, 7)
                .expect("valid")
                .expect("object");
            assert_eq!(by_line.kind, whole.kind, "{line}");
            assert_eq!(by_line.fields, whole.fields, "{line}");
            assert_eq!(by_line.event_id(), whole.event_id(), "{line}");
        }
        let flat = json_text_to_event(r#"{"EventID": "4688", "Channel": "Security"}"#, &source, 1)
            .expect("valid")
            .expect("object");
        assert_eq!(flat.kind, EventKind::Windows);
        assert_eq!(flat.fields.get("EventID"), Some(&FieldValue::Int(4688)));
        let beat = json_text_to_event(
            r#"{"winlog": {"channel": "Security", "event_id": 4624, "event_data": {"LogonType": "3"}}}"#,
            &source,
            1,
        )
        .expect("valid")
        .expect("object");
        assert_eq!(beat.event_id(), Some(4624));
        assert_eq!(beat.get_str("LogonType").as_deref(), Some("3"));
        assert!(
            json_text_to_event("[1]", &source, 1)
                .expect("valid")
                .is_none()
        );
        assert!(json_text_to_event("{\"a\": ", &source, 1).is_err());
    }

    #[test]
    fn concatenated_pretty_json_with_corruption_resyncs() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("b.json");
        std::fs::write(&p, "{\n  \"EventID\": 1,\n  \"Channel\": \"C\"\n}\n{\n  \"EventID\": oops\n}\n{\n  \"EventID\": 3,\n  \"Channel\": \"C\"\n}\n").expect("write");
        let (ev, errs) = collect(&p, Format::Json);
        assert_eq!(
            ev.iter().filter_map(|e| e.event_id()).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].location.starts_with("line "));
    }

    #[test]
    fn corrupt_evtx_is_reported_not_fatal() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("c.evtx");
        std::fs::write(&p, b"ElfFile\0 this is not really an evtx file").expect("write");
        let (ev, errs) = collect(&p, Format::Evtx);
        assert!(ev.is_empty());
        assert_eq!(errs.len(), 1);
        assert!(errs[0].file.ends_with("c.evtx"));
        let p2 = d.path().join("missing.evtx");
        let (_, errs) = collect(&p2, Format::Evtx);
        assert_eq!(errs[0].location, "file");
    }

    #[test]
    fn syslog_file_reports_bad_lines_by_number() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("s.log");
        let mut bytes = b"<13>Oct 11 22:14:15 h app: one\n\n".to_vec();
        bytes.extend_from_slice(b"\xff\xfe bad utf8\n<13>Oct 11 22:14:16 h app: two\n");
        std::fs::write(&p, bytes).expect("write");
        let (ev, errs) = collect(&p, Format::Syslog);
        assert_eq!(ev.len(), 2);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].location, "line 3");
        assert_eq!(ev[1].origin.record, 4);
    }

    /// The fuzz targets read bytes: they must get what a file of those bytes gives.
    #[test]
    fn bytes_read_as_the_file_of_those_bytes() {
        let d = tempfile::tempdir().expect("tmp");
        for (name, format, bytes) in [
            (
                "a.jsonl",
                Format::Json,
                &b"{\"EventID\": \"4625\", \"Channel\": \"Security\"}\n{bad\n[1]\n"[..],
            ),
            (
                "b.json",
                Format::Json,
                b"{\n \"a\": 1\n}\n{\n \"b\": oops\n}\n{\n \"c\": 3\n}\n",
            ),
            (
                "c.log",
                Format::Syslog,
                b"<13>Oct 11 22:14:15 h sshd: x\n\xff\n<34>1 2025-01-01T00:00:00Z h app - - - y\n",
            ),
            ("d.evtx", Format::Evtx, b"ElfFile\0 truncated"),
        ] {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            let (from_file, file_errors) = collect(&p, format);
            let mut from_bytes = Vec::new();
            let byte_errors = read_bytes(&p, format, bytes, &mut |e| from_bytes.push(e));
            assert_eq!(byte_errors, file_errors, "{name}");
            assert_eq!(from_bytes.len(), from_file.len(), "{name}");
            for (a, b) in from_bytes.iter().zip(&from_file) {
                assert_eq!(
                    (a.kind, &a.fields, &a.origin.source),
                    (b.kind, &b.fields, &b.origin.source)
                );
            }
        }
    }

    #[test]
    fn listing_picks_log_extensions() {
        let d = tempfile::tempdir().expect("tmp");
        for f in ["a.evtx", "b.json", "c.log", "d.pcap", "e.jsonl"] {
            std::fs::write(d.path().join(f), b"").expect("write");
        }
        let (files, errs) = list_log_files(&[d.path().to_path_buf(), d.path().join("nope")]);
        assert_eq!(files.len(), 4);
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn a_file_named_explicitly_without_extension_is_sniffed() {
        let d = tempfile::tempdir().expect("tmp");
        let json = d.path().join("messages");
        std::fs::write(&json, b"\n  {\"System\": {\"EventID\": 1}}\n").expect("write");
        let text = d.path().join("other");
        std::fs::write(&text, b"<13>Dec  7 08:00:00 h app: hello\n").expect("write");
        let (files, _) = list_log_files(&[json.clone(), text.clone()]);
        assert_eq!(files, vec![(json, Format::Json), (text, Format::Syslog)]);
    }
}
