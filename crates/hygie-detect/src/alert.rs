//! Alerts and their aggregation: repeats of the same rule on the same host
//! within a window become one alert with a count.

use crate::engine::RuleMatch;
use crate::event::LogEvent;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The alert type is the domain's (`hygie_core::Alert`), so the store keeps what detection makes.
pub use hygie_core::Alert;
pub use hygie_core::alert::{
    EVENTS_PER_MESSAGE_MAX, KeyedAlert, event_key, later_time, order_key, parse_time,
};

/// The alert for one rule match on one event.
pub fn alert_of(m: RuleMatch, event: &LogEvent) -> Alert {
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

/// What happened to an alert pushed into the aggregator.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// A new alert was opened (returned as is).
    Opened(Alert),
    /// The match was folded into an open alert (its updated state).
    Repeated(Alert),
}

/// The part of an [`Aggregator`] a resumed stream must know besides the open alerts
/// themselves: see [`Aggregator::state`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AggregatorState {
    /// Newest time bucket seen.
    pub newest: Option<i64>,
    /// Ids of the open alerts, sorted.
    pub open: Vec<String>,
}

/// Which fixed time bucket a match falls in: `floor(seconds / window)`, or
/// `None` when the event has no readable time (all such repeats of a rule on
/// a host share one alert).
type Bucket = Option<i64>;

struct Open {
    alert: Alert,
    /// Parsed time of the representative (earliest) match.
    first: Option<i64>,
    /// Parsed time of the latest match.
    last: Option<i64>,
}

/// Aggregates matches per (rule, host, fixed time bucket): every match whose
/// event time falls in `[k·window, (k+1)·window)` for the same rule and host
/// is one alert, with the earliest match as representative (time, record id,
/// source, fields), the latest time as `last_time` and the number of matches
/// as `count`. Because buckets are fixed, the alerts are the same whatever
/// order the matches arrive in and however many threads produced them.
///
/// By default every alert stays open until [`Self::finish`] (batch: memory
/// is the size of the result). [`Self::evicting`] bounds memory for
/// streaming by closing buckets older than the newest one seen minus
/// `lateness` buckets.
pub struct Aggregator {
    facility: String,
    window_secs: i64,
    lateness: Option<i64>,
    newest: Option<i64>,
    open: HashMap<(String, String, Bucket), Open>,
    closed: Vec<Alert>,
}

impl Aggregator {
    /// `window_secs == 0` disables aggregation.
    pub fn new(window_secs: u64) -> Self {
        Aggregator {
            facility: String::new(),
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX),
            lateness: None,
            newest: None,
            open: HashMap::new(),
            closed: Vec::new(),
        }
    }

    /// Alerts of this facility (its FINESS): the same logs analysed for two facilities give
    /// two sets of alerts with different ids. Without it (printing only) the facility is empty.
    pub fn for_facility(mut self, facility: &str) -> Self {
        self.facility = facility.to_owned();
        self
    }

    /// Close (and hand to [`Self::drain_closed`]) the buckets more than
    /// `lateness_buckets` older than the newest bucket seen. A match arriving
    /// later than that for a closed bucket reopens it with the same alert id
    /// and a count restarting at one (bounded memory is worth that on a live
    /// feed; batch never evicts).
    pub fn evicting(mut self, lateness_buckets: u32) -> Self {
        self.lateness = Some(i64::from(lateness_buckets));
        self
    }

    fn bucket(&self, t: Option<i64>) -> Bucket {
        t.map(|t| t.div_euclid(self.window_secs))
    }

    /// Fold one alert in.
    pub fn push(&mut self, mut alert: Alert) -> Pushed {
        if self.window_secs == 0 {
            alert.id = facility_scoped(&self.facility, &alert.id);
            self.closed.push(alert.clone());
            return Pushed::Opened(alert);
        }
        let t = alert.time.as_deref().and_then(parse_time);
        let bucket = self.bucket(t);
        let key = (
            alert.rule_id.clone(),
            alert.host.clone().unwrap_or_default(),
            bucket,
        );
        if let Some(o) = self.open.get_mut(&key) {
            o.alert.count += 1;
            if order_key(&alert, t) < order_key(&o.alert, o.first) {
                let a = &mut o.alert;
                a.time = alert.time.clone();
                a.record_id = alert.record_id;
                a.source = std::mem::take(&mut alert.source);
                a.fields = std::mem::take(&mut alert.fields);
                o.first = t;
            }
            // Latest time; among equal instants the greatest text, so ties
            // resolve the same way whatever the order.
            if later_time(
                t,
                alert.time.as_deref(),
                o.last,
                o.alert.last_time.as_deref(),
            ) {
                o.alert.last_time = alert.time.clone();
                o.last = t;
            }
            return Pushed::Repeated(o.alert.clone());
        }
        alert.id = alert_id(&self.facility, &key.0, &key.1, bucket);
        self.open.insert(
            key,
            Open {
                alert: alert.clone(),
                first: t,
                last: t,
            },
        );
        if let Some(b) = bucket
            && self.newest.is_none_or(|n| b > n)
        {
            self.newest = Some(b);
            self.evict();
        }
        Pushed::Opened(alert)
    }

    fn evict(&mut self) {
        let (Some(lateness), Some(newest)) = (self.lateness, self.newest) else {
            return;
        };
        let horizon = newest.saturating_sub(lateness);
        let old: Vec<_> = self
            .open
            .keys()
            .filter(|k| k.2.is_some_and(|b| b < horizon))
            .cloned()
            .collect();
        for k in old {
            if let Some(o) = self.open.remove(&k) {
                self.closed.push(o.alert);
            }
        }
    }

    /// What a resumed stream needs to carry on as if it had never stopped: the newest bucket
    /// seen (eviction's reference) and the ids of the alerts still open. The open alerts'
    /// states are whatever was last delivered for them, so a caller that saved this with its
    /// delivered updates rebuilds the aggregator with [`Self::resume`].
    pub fn state(&self) -> AggregatorState {
        let mut open: Vec<String> = self.open.values().map(|o| o.alert.id.clone()).collect();
        open.sort_unstable();
        AggregatorState {
            newest: self.newest,
            open,
        }
    }

    /// Reopen the alerts of a saved [`Self::state`] (`open`: those alerts as last delivered),
    /// so that matches after a restart count on from where the saved run stopped instead of
    /// restarting at one.
    pub fn resume(&mut self, newest: Option<i64>, open: Vec<Alert>) {
        if self.window_secs == 0 {
            return;
        }
        if newest > self.newest {
            self.newest = newest;
        }
        for alert in open {
            let first = alert.time.as_deref().and_then(parse_time);
            let last = alert.last_time.as_deref().and_then(parse_time);
            let key = (
                alert.rule_id.clone(),
                alert.host.clone().unwrap_or_default(),
                self.bucket(first),
            );
            self.open.insert(key, Open { alert, first, last });
        }
        // No eviction here: the saved run may hold a late bucket open past the horizon until
        // its next new bucket, and the resumed one must close it at the same point.
    }

    /// Alerts closed by eviction (streaming) or kept one by one (window 0).
    pub fn drain_closed(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.closed)
    }

    /// Close every open alert and return everything not yet drained, sorted
    /// by event time, rule, host, source and record id.
    pub fn finish(mut self) -> Vec<Alert> {
        let mut out = std::mem::take(&mut self.closed);
        out.extend(self.open.drain().map(|(_, o)| o.alert));
        sort_alerts(&mut out);
        out
    }
}

/// Sort alerts in their listing order (event time, rule, host, source,
/// record id); events without a readable time come last.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by_cached_key(|a| {
        let t = a.time.as_deref().and_then(parse_time);
        (
            t.is_none(),
            t,
            a.time.clone(),
            a.rule_id.clone(),
            a.host.clone(),
            a.source.clone(),
            a.record_id,
        )
    });
}

/// Id of an aggregated alert: facility, rule, host and bucket, so the same bucket gets the same
/// id in every run and the store can merge repeats, while the same logs analysed for two
/// facilities (host names such as DC01 repeat across hospitals) give distinct alerts.
///
/// 32 hex digits, where the ids made before the facility was part of them (Hygie up to issue
/// 20) have 24: stores keep those alerts under their old ids, so that incidents naming them
/// still resolve, and a new run of the same logs updates them rather than doubling them (the
/// store matches an unknown id to an old alert with the same representative event).
pub fn alert_id(facility: &str, rule: &str, host: &str, bucket: Option<i64>) -> String {
    facility_scoped(facility, &legacy_alert_id(rule, host, bucket))
}

/// An id made without the facility (a bucket's, a single match's) made the facility's.
fn facility_scoped(facility: &str, unscoped: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"alert/2\x1f");
    h.update(facility.as_bytes());
    h.update([0x1f]);
    h.update(unscoped.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The id an alert had before ids included the facility: rule, host and bucket only (what
/// older stores hold; also the part of [`alert_id`] that does not depend on the facility).
pub fn legacy_alert_id(rule: &str, host: &str, bucket: Option<i64>) -> String {
    let mut h = Sha256::new();
    for part in [rule, host] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    match bucket {
        Some(b) => {
            h.update([1]);
            h.update(b.to_le_bytes());
        }
        None => h.update([0]),
    }
    hex::encode(&h.finalize()[..12])
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
    fn repeats_in_one_bucket_are_counted() {
        let mut agg = Aggregator::new(60);
        assert!(matches!(
            agg.push(alert("r", "h", "2025-01-01T00:00:10Z")),
            Pushed::Opened(_)
        ));
        let Pushed::Repeated(a) = agg.push(alert("r", "h", "2025-01-01T00:00:30Z")) else {
            panic!("expected repeat")
        };
        assert_eq!(a.count, 2);
        assert_eq!(a.time.as_deref(), Some("2025-01-01T00:00:10Z"));
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
        // Next bucket (00:01:00 onwards): a new alert, even 50 s after the first.
        assert!(matches!(
            agg.push(alert("r", "h", "2025-01-01T00:01:00Z")),
            Pushed::Opened(_)
        ));
        let all = agg.finish();
        assert_eq!(all.len(), 4);
        assert_eq!(all.iter().map(|a| a.count).sum::<u64>(), 5);
        // Listed by time, then rule, then host.
        let order: Vec<_> = all
            .iter()
            .map(|a| (a.rule_id.as_str(), a.host.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(order, [("r", "h"), ("q", "h"), ("r", "h2"), ("r", "h")]);
    }

    fn matches_fixture() -> Vec<Alert> {
        let mut v = Vec::new();
        for i in 0..300u64 {
            let rule = ["r1", "r2", "r3"][(i % 3) as usize];
            let host = ["h1", "h2"][(i % 2) as usize];
            let secs = (i * 37) % 900;
            let mut a = alert(
                rule,
                host,
                &format!("2025-01-01T00:{:02}:{:02}Z", secs / 60, secs % 60),
            );
            a.record_id = i;
            v.push(a);
        }
        v
    }

    #[test]
    fn result_does_not_depend_on_arrival_order() {
        let base = matches_fixture();
        let run = |v: Vec<Alert>| {
            let mut agg = Aggregator::new(120);
            for a in v {
                agg.push(a);
            }
            agg.finish()
        };
        let expected = run(base.clone());
        assert!(expected.len() > 6 && expected.len() < base.len());
        let mut rev = base.clone();
        rev.reverse();
        assert_eq!(run(rev), expected);
        // A few deterministic shuffles (xorshift), no dependency needed.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..5 {
            let mut v = base.clone();
            for i in (1..v.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
            assert_eq!(run(v), expected);
        }
        // The earliest match represents its alert.
        for a in &expected {
            let first = base
                .iter()
                .filter(|m| {
                    m.rule_id == a.rule_id
                        && m.host == a.host
                        && parse_time(m.time.as_deref().unwrap_or("")).map(|t| t / 120)
                            == parse_time(a.time.as_deref().unwrap_or("")).map(|t| t / 120)
                })
                .min_by_key(|m| (m.time.clone(), m.record_id));
            assert_eq!(first.map(|m| m.record_id), Some(a.record_id));
        }
    }

    #[test]
    fn eviction_closes_old_buckets() {
        let mut agg = Aggregator::new(60).evicting(1);
        agg.push(alert("r", "h", "2025-01-01T00:00:10Z"));
        agg.push(alert("r", "h", "2025-01-01T00:01:10Z"));
        assert!(agg.drain_closed().is_empty());
        agg.push(alert("r", "h", "2025-01-01T00:02:10Z"));
        let closed = agg.drain_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].time.as_deref(), Some("2025-01-01T00:00:10Z"));
        assert_eq!(agg.finish().len(), 2);
    }

    #[test]
    fn a_resumed_aggregator_counts_on_as_one_that_never_stopped() {
        let all = matches_fixture();
        let whole = {
            let mut agg = Aggregator::new(120).evicting(2);
            let mut delivered = std::collections::BTreeMap::new();
            for a in all.clone() {
                let (Pushed::Opened(x) | Pushed::Repeated(x)) = agg.push(a);
                delivered.insert(x.id.clone(), x);
            }
            delivered
        };
        for cut in [0, 1, 97, 150, 299, 300] {
            // The first run delivers its updates (the "store" keeps the last state per id)
            // and saves the state; the second resumes from them.
            let mut store = std::collections::BTreeMap::new();
            let mut first = Aggregator::new(120).evicting(2);
            for a in all[..cut].iter().cloned() {
                let (Pushed::Opened(x) | Pushed::Repeated(x)) = first.push(a);
                store.insert(x.id.clone(), x);
            }
            let saved = first.state();
            let open = saved.open.iter().map(|id| store[id].clone()).collect();
            let mut second = Aggregator::new(120).evicting(2);
            second.resume(saved.newest, open);
            assert_eq!(second.state(), saved, "cut {cut}");
            for a in all[cut..].iter().cloned() {
                let (Pushed::Opened(x) | Pushed::Repeated(x)) = second.push(a);
                store.insert(x.id.clone(), x);
            }
            assert_eq!(store, whole, "cut {cut}");
        }
    }

    #[test]
    fn ids_depend_on_the_facility_and_nothing_else_of_the_run() {
        let ids = |facility: &str, window: u64| {
            let mut agg = Aggregator::new(window).for_facility(facility);
            for a in matches_fixture() {
                agg.push(a);
            }
            let mut ids: Vec<String> = agg.finish().into_iter().map(|a| a.id).collect();
            ids.sort();
            ids
        };
        for window in [0, 120] {
            let a = ids("750000001", window);
            let b = ids("690000002", window);
            assert_eq!(a.len(), b.len());
            assert_eq!(a, ids("750000001", window), "stable from run to run");
            assert!(a.iter().all(|id| !b.contains(id)), "window {window}");
            assert!(a.iter().all(|id| id.len() == 32), "{a:?}");
        }
        // The older scheme (24 digits, no facility) stays recognisable.
        assert_eq!(legacy_alert_id("r", "h", Some(1)).len(), 24);
        assert_ne!(
            alert_id("750000001", "r", "h", Some(1)),
            alert_id("750000001", "r", "h", Some(2))
        );
    }

    #[test]
    fn zero_window_keeps_every_match() {
        let mut agg = Aggregator::new(0);
        agg.push(alert("r", "h", "2025-01-01T00:00:00Z"));
        agg.push(alert("r", "h", "2025-01-01T00:00:00Z"));
        assert_eq!(agg.finish().len(), 2);
    }
}
