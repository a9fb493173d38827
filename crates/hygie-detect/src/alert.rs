//! Alerts and their aggregation: repeats of the same rule on the same host
//! within a window become one alert with a count.

use crate::engine::RuleMatch;
use crate::event::LogEvent;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One alert (possibly standing for several matches).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Stable id: hash of rule, host, first event time and first record.
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub level: String,
    /// ATT&CK tags of the rule (`attack.*`).
    pub tags: Vec<String>,
    /// Time of the first matching event, as written by the source.
    pub time: Option<String>,
    /// Time of the last matching event aggregated into this alert.
    pub last_time: Option<String>,
    pub host: Option<String>,
    /// Record id of the first matching event.
    pub record_id: u64,
    /// File or listener the first event came from.
    pub source: String,
    /// Fields that made the rule match on the first event.
    pub fields: Vec<(String, String)>,
    /// Number of matches aggregated.
    pub count: u64,
}

impl Alert {
    /// The alert for one rule match on one event.
    pub fn from_match(m: RuleMatch, event: &LogEvent) -> Self {
        let time = event.time();
        let host = event.host();
        let record_id = event.record_id();
        let source = event.origin.source.to_string();
        let mut h = Sha256::new();
        for part in [
            m.rule_id.as_str(),
            host.as_deref().unwrap_or(""),
            time.as_deref().unwrap_or(""),
            source.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        h.update(record_id.to_le_bytes());
        let id = hex::encode(&h.finalize()[..12]);
        Alert {
            id,
            rule_id: m.rule_id,
            title: m.title,
            level: m.level,
            tags: m
                .tags
                .into_iter()
                .filter(|t| t.starts_with("attack."))
                .collect(),
            last_time: time.clone(),
            time,
            host,
            record_id,
            source,
            fields: m.fields,
            count: 1,
        }
    }
}

/// Seconds since the epoch of a source timestamp (ISO 8601 / RFC 3339, with or
/// without zone; `2025-11-27 07:40:10.132` is read as UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    if let Ok(dt) = s.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    None
}

/// What happened to an alert pushed into the aggregator.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// A new alert was opened (returned as is).
    Opened(Alert),
    /// The match was folded into an open alert (its updated state).
    Repeated(Alert),
}

struct Open {
    alert: Alert,
    first: Option<i64>,
}

/// Aggregates matches per (rule, host) within `window_secs` of the first
/// match. Memory is bounded by the number of distinct (rule, host) pairs
/// currently open.
pub struct Aggregator {
    window_secs: i64,
    open: HashMap<(String, String), Open>,
    closed: Vec<Alert>,
}

impl Aggregator {
    /// `window_secs == 0` disables aggregation.
    pub fn new(window_secs: u64) -> Self {
        Aggregator {
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX),
            open: HashMap::new(),
            closed: Vec::new(),
        }
    }

    /// Fold one alert in. Alerts whose window ended are queued for [`Self::drain_closed`].
    pub fn push(&mut self, alert: Alert) -> Pushed {
        if self.window_secs == 0 {
            self.closed.push(alert.clone());
            return Pushed::Opened(alert);
        }
        let t = alert.time.as_deref().and_then(parse_time);
        let key = (
            alert.rule_id.clone(),
            alert.host.clone().unwrap_or_default(),
        );
        if let Some(o) = self.open.get_mut(&key) {
            let within = match (o.first, t) {
                (Some(a), Some(b)) => (b - a).abs() <= self.window_secs,
                // Without times, repeats are aggregated.
                _ => true,
            };
            if within {
                o.alert.count += 1;
                if let (Some(new), Some(old)) =
                    (alert.time.as_deref(), o.alert.last_time.as_deref())
                {
                    if parse_time(new) > parse_time(old) {
                        o.alert.last_time = alert.time.clone();
                    }
                } else if o.alert.last_time.is_none() {
                    o.alert.last_time = alert.time.clone();
                }
                return Pushed::Repeated(o.alert.clone());
            }
            if let Some(old) = self.open.remove(&key) {
                self.closed.push(old.alert);
            }
        }
        self.open.insert(
            key,
            Open {
                alert: alert.clone(),
                first: t,
            },
        );
        Pushed::Opened(alert)
    }

    /// Alerts whose window has ended.
    pub fn drain_closed(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.closed)
    }

    /// Close every open alert and return everything not yet drained.
    pub fn finish(mut self) -> Vec<Alert> {
        let mut open: Vec<Alert> = self.open.drain().map(|(_, o)| o.alert).collect();
        open.sort_by(|a, b| (&a.time, &a.rule_id).cmp(&(&b.time, &b.rule_id)));
        let mut out = std::mem::take(&mut self.closed);
        out.extend(open);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, host: &str, time: &str) -> Alert {
        Alert {
            id: format!("{rule}{host}{time}"),
            rule_id: rule.into(),
            title: "t".into(),
            level: "high".into(),
            tags: vec![],
            time: Some(time.into()),
            last_time: Some(time.into()),
            host: Some(host.into()),
            record_id: 1,
            source: "s".into(),
            fields: vec![],
            count: 1,
        }
    }

    #[test]
    fn parses_source_times() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_time("1970-01-01T00:01:00.123456Z"), Some(60));
        assert_eq!(parse_time("1970-01-01 00:02:00.132"), Some(120));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_time("Feb 17 13:40:03"), None);
    }

    #[test]
    fn repeats_within_window_are_counted() {
        let mut agg = Aggregator::new(60);
        assert!(matches!(
            agg.push(alert("r", "h", "2025-01-01T00:00:00Z")),
            Pushed::Opened(_)
        ));
        let Pushed::Repeated(a) = agg.push(alert("r", "h", "2025-01-01T00:00:30Z")) else {
            panic!("expected repeat")
        };
        assert_eq!(a.count, 2);
        assert_eq!(a.last_time.as_deref(), Some("2025-01-01T00:00:30Z"));
        // Other host, other rule: separate alerts.
        assert!(matches!(
            agg.push(alert("r", "h2", "2025-01-01T00:00:30Z")),
            Pushed::Opened(_)
        ));
        assert!(matches!(
            agg.push(alert("q", "h", "2025-01-01T00:00:30Z")),
            Pushed::Opened(_)
        ));
        // Outside the window: the first alert closes, a new one opens.
        assert!(matches!(
            agg.push(alert("r", "h", "2025-01-01T00:05:00Z")),
            Pushed::Opened(_)
        ));
        let closed = agg.drain_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].count, 2);
        let rest = agg.finish();
        assert_eq!(rest.len(), 3);
        assert_eq!(rest.iter().map(|a| a.count).sum::<u64>(), 3);
    }

    #[test]
    fn zero_window_keeps_every_match() {
        let mut agg = Aggregator::new(0);
        agg.push(alert("r", "h", "2025-01-01T00:00:00Z"));
        agg.push(alert("r", "h", "2025-01-01T00:00:00Z"));
        assert_eq!(agg.finish().len(), 2);
    }
}
