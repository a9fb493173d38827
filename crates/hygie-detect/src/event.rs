//! The event model shared by every input: flat fields named as SigmaHQ rules
//! name them, plus where the event came from.

use crate::fields::{FieldValue, Fields};
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
    /// Flat names (`EventID`, `Image`, ...).
    pub fields: Fields,
    pub origin: Origin,
}

impl LogEvent {
    pub fn new(kind: EventKind, fields: Map<String, Value>, origin: Origin) -> Self {
        LogEvent {
            kind,
            fields: Fields::from_map(fields),
            origin,
        }
    }

    pub fn from_fields(kind: EventKind, fields: Fields, origin: Origin) -> Self {
        LogEvent {
            kind,
            fields,
            origin,
        }
    }

    /// A field as a string, numbers rendered in decimal.
    pub fn get_str(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.fields.get(key)?.as_text()
    }

    /// Numeric EventID of a Windows event.
    pub fn event_id(&self) -> Option<i64> {
        match self.fields.get("EventID")? {
            FieldValue::Int(n) => Some(*n),
            FieldValue::Str(s) => s.trim().parse().ok(),
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
            Some(FieldValue::Int(n)) => u64::try_from(*n).unwrap_or(self.origin.record),
            Some(FieldValue::Json(v)) => v.as_u64().unwrap_or(self.origin.record),
            Some(FieldValue::Str(s)) => s.parse().unwrap_or(self.origin.record),
            _ => self.origin.record,
        }
    }
}
