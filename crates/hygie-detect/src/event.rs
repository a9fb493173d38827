//! The event model shared by every input: a flat JSON object whose keys are
//! the field names SigmaHQ rules use, plus where it came from.

use serde_json::{Map, Value};
use std::sync::Arc;

/// What kind of log an event came from; decides how its log source is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A Windows event (EVTX, evtx_dump JSON, Winlogbeat): has `Channel`, `EventID`.
    Windows,
    /// A syslog message (RFC 3164 / RFC 5424).
    Syslog,
    /// Any other JSON object; routed only through an explicit `logsource` object.
    Json,
}

/// Where an event was read: file (or listener) and record id / line number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// File path or listener address.
    pub source: Arc<str>,
    /// EVTX record id, or 1-based line / document number.
    pub record: u64,
}

/// One log event, flattened.
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub kind: EventKind,
    /// Always a JSON object with flat keys (`EventID`, `Image`, ...).
    pub fields: Value,
    pub origin: Origin,
}

impl LogEvent {
    pub fn new(kind: EventKind, fields: Map<String, Value>, origin: Origin) -> Self {
        LogEvent {
            kind,
            fields: Value::Object(fields),
            origin,
        }
    }

    /// A field as a string, numbers rendered in decimal.
    pub fn get_str(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        match self.fields.get(key)? {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
            Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(std::borrow::Cow::Owned(b.to_string())),
            _ => None,
        }
    }

    /// Numeric EventID of a Windows event.
    pub fn event_id(&self) -> Option<i64> {
        match self.fields.get("EventID")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Event time as written by the source (ISO 8601 for Windows and RFC 5424).
    pub fn time(&self) -> Option<String> {
        let key = match self.kind {
            EventKind::Windows => "TimeCreated",
            EventKind::Syslog => "timestamp",
            EventKind::Json => {
                for k in ["TimeCreated", "@timestamp", "timestamp", "time"] {
                    if let Some(v) = self.get_str(k) {
                        return Some(v.into_owned());
                    }
                }
                return None;
            }
        };
        self.get_str(key).map(|v| v.into_owned())
    }

    /// Host that produced the event.
    pub fn host(&self) -> Option<String> {
        let keys: &[&str] = match self.kind {
            EventKind::Windows => &["Computer"],
            EventKind::Syslog => &["hostname"],
            EventKind::Json => &["Computer", "host", "hostname"],
        };
        keys.iter()
            .find_map(|k| self.get_str(k))
            .map(|v| v.into_owned())
    }

    /// EVTX record id when present, else the origin's record number.
    pub fn record_id(&self) -> u64 {
        match self.fields.get("EventRecordID") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(self.origin.record),
            Some(Value::String(s)) => s.parse().unwrap_or(self.origin.record),
            _ => self.origin.record,
        }
    }
}
