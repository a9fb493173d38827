//! Sigma correlation rules, evaluated by RSigma's `CorrelationEngine`: `event_count`,
//! `value_count`, `temporal`, `temporal_ordered` (and RSigma's `value_sum`, `value_avg`,
//! `value_percentile`, `value_median`), with `group-by`, `timespan`, sliding / tumbling /
//! session windows, field aliases and chaining, all as RSigma implements them.
//!
//! Hygie keeps detection in its own [`crate::Detector`] (rules grouped by log source), so the
//! correlation engine is fed matches from outside (`process_with_detections`): a worker turns
//! each match of a rule some correlation refers to into a compact [`Hit`] (time, rule, and only
//! the fields the correlations read), and one [`Correlator`] per run folds the hits in time
//! order. Batch detection sorts the hits before folding them, so the alerts do not depend on
//! thread count or file order.
//!
//! What Hygie adds on top of RSigma, and why:
//! - rule references by `name` are resolved to the referenced rule's id at load (RSigma's
//!   external-detection path only knows ids), and a reference to no loaded rule is a refusal;
//! - a correlation fires at most once per `timespan` for a group (RSigma's `rsigma.suppress`,
//!   defaulted to the timespan when a rule sets none): an attack past the threshold is one
//!   alert, not one per further event;
//! - `generate: false` (Sigma's default) keeps the referenced rules' own matches out of the
//!   alerts: a single failed logon is no alert, twenty in a minute are one.
//!
//! **Memory bound**: at most [`MAX_GROUPS`] (correlation, group key) states; past it RSigma drops
//! the expired windows, then the stalest tenth (a dropped group restarts its count: it can only
//! under-count). Within a group at most [`MAX_GROUP_ENTRIES`] entries (the oldest are dropped).

use crate::alert::Alert;
use crate::engine::RuleMatch;
use crate::event::LogEvent;
use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, EvaluationResult, KvEvent, ResultBody, RuleHeader,
    TimestampFallback,
};
use rsigma_parser::{CorrelationCondition, CorrelationRule};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Most (correlation, group key) states held at once.
pub const MAX_GROUPS: usize = 200_000;
/// Most entries (timestamps, values) held in one group's window.
pub const MAX_GROUP_ENTRIES: usize = 10_000;

/// A correlation rule as loaded, its references resolved to the referenced rules' ids.
#[derive(Debug, Clone)]
pub struct LoadedCorrelation {
    pub file: PathBuf,
    pub rule: CorrelationRule,
}

impl LoadedCorrelation {
    /// Rule id, or its title when it has none.
    pub fn name(&self) -> &str {
        self.rule.id.as_deref().unwrap_or(&self.rule.title)
    }
}

/// What a correlation needs of one match: its time, the rule and the fields correlations read.
/// Serialisable: detection workers publish hits to the correlators (`hygie_logs::nats`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// Seconds since the epoch.
    pub ts: i64,
    /// The matched rule (its id, or its title when it has none).
    pub rule: String,
    /// The event's time as written.
    pub time: String,
    pub host: Option<String>,
    pub source: String,
    pub record_id: u64,
    /// The event's values of the fields the correlations group by or count.
    pub fields: Vec<(String, String)>,
}

impl Hit {
    /// Order in which hits are folded: time, then where the event came from (total, so
    /// equal times never depend on arrival order).
    pub fn order_key(&self) -> impl Ord + '_ {
        (
            self.ts,
            self.source.as_str(),
            self.record_id,
            self.rule.as_str(),
        )
    }
}

/// The partition, among `partitions`, of one group of one correlation: FNV-1a (64 bits) over the
/// correlation's name and the group-by values, each followed by a separator. Written out rather
/// than std's hasher, whose seed changes with every process: every worker of every version must
/// send a group to the same correlator.
pub fn partition(correlation: &str, group: &[&str], partitions: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in std::iter::once(correlation).chain(group.iter().copied()) {
        for b in part.bytes().chain([0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    u32::try_from(h % u64::from(partitions.max(1))).unwrap_or(0)
}

/// The loaded correlation rules and what workers need to know of them.
#[derive(Debug, Clone, Default)]
pub struct Correlations {
    rules: Vec<LoadedCorrelation>,
    /// Rules some correlation refers to.
    referenced: HashSet<String>,
    /// Rules referred to only by correlations with `generate: false`: no alert of their own.
    silent: HashSet<String>,
    /// Field names any correlation reads.
    fields: Vec<String>,
}

impl Correlations {
    pub fn new(rules: Vec<LoadedCorrelation>) -> Self {
        let mut referenced = HashSet::new();
        let mut generated = HashSet::new();
        let mut fields: Vec<String> = Vec::new();
        let mut need = |f: &str| {
            if !fields.iter().any(|x| x == f) {
                fields.push(f.to_owned());
            }
        };
        for c in &rules {
            for r in &c.rule.rules {
                referenced.insert(r.clone());
                if c.rule.generate {
                    generated.insert(r.clone());
                }
            }
            for g in &c.rule.group_by {
                need(g);
            }
            for a in &c.rule.aliases {
                for f in a.mapping.values() {
                    need(f);
                }
            }
            if let CorrelationCondition::Threshold {
                field: Some(fs), ..
            } = &c.rule.condition
            {
                for f in fs {
                    need(f);
                }
            }
        }
        let silent = referenced.difference(&generated).cloned().collect();
        Correlations {
            rules,
            referenced,
            silent,
            fields,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn rules(&self) -> &[LoadedCorrelation] {
        &self.rules
    }

    /// Whether a match of `rule` is an alert of its own (false for a rule only correlations
    /// with `generate: false` refer to).
    pub fn generates(&self, rule: &str) -> bool {
        !self.silent.contains(rule)
    }

    /// The hit a match brings to the correlations, if any refers to its rule and the event has
    /// a readable time (events without one are not correlated: their order is unknown).
    pub fn hit(&self, m: &RuleMatch, event: &LogEvent) -> Option<Hit> {
        if !self.referenced.contains(&m.rule_id) {
            return None;
        }
        let time = event.time()?;
        let ts = crate::alert::parse_time(&time)?;
        let fields = self
            .fields
            .iter()
            .filter_map(|f| event.get_str(f).map(|v| (f.clone(), v.into_owned())))
            .collect();
        Some(Hit {
            ts,
            rule: m.rule_id.clone(),
            time,
            host: event.host(),
            source: event.origin.source.to_string(),
            record_id: event.record_id(),
            fields,
        })
    }

    /// Where a hit goes: for each correlation referring to its rule, the correlation's name and
    /// the partition of the hit's group ([`partition`] of the group-by values, read through the
    /// correlation's aliases for that rule; a missing value counts as empty).
    pub fn routes(&self, hit: &Hit, partitions: u32) -> Vec<(String, u32)> {
        let value = |f: &str| {
            hit.fields
                .iter()
                .find(|(k, _)| k == f)
                .map_or("", |(_, v)| v.as_str())
        };
        self.rules
            .iter()
            .filter(|c| c.rule.rules.contains(&hit.rule))
            .map(|c| {
                let group: Vec<&str> = c
                    .rule
                    .group_by
                    .iter()
                    .map(|g| {
                        let field = c
                            .rule
                            .aliases
                            .iter()
                            .find(|a| &a.alias == g)
                            .and_then(|a| a.mapping.get(&hit.rule))
                            .map_or(g.as_str(), String::as_str);
                        value(field)
                    })
                    .collect();
                let name = c.name().to_owned();
                let p = partition(&name, &group, partitions);
                (name, p)
            })
            .collect()
    }

    /// The correlation named `name` alone (a correlator folds the hits routed to one
    /// correlation into that correlation only: the same hit may go elsewhere for another).
    pub fn only(&self, name: &str) -> Option<Correlations> {
        let c = self.rules.iter().find(|c| c.name() == name)?;
        Some(Correlations::new(vec![c.clone()]))
    }

    /// A correlator for one run of a facility's events.
    pub fn correlator(&self, facility: &str) -> Correlator {
        let config = CorrelationConfig {
            timestamp_fallback: TimestampFallback::Skip,
            max_state_entries: MAX_GROUPS,
            max_group_entries: Some(MAX_GROUP_ENTRIES),
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        for c in &self.rules {
            let mut rule = c.rule.clone();
            rule.custom_attributes
                .entry("rsigma.suppress".into())
                .or_insert_with(|| {
                    yaml_serde::Value::String(format!("{}s", rule.timespan.seconds.max(1)))
                });
            // Loading compiled every correlation already and refused those that failed
            // (`rules::resolve_correlations`); the attribute added here is a valid timespan.
            let _ = engine.add_correlation(&rule);
        }
        Correlator {
            engine,
            facility: facility.to_owned(),
        }
    }

    /// Fold `hits` in time order and return the alerts (batch).
    pub fn run(&self, facility: &str, mut hits: Vec<Hit>) -> Vec<Alert> {
        if hits.is_empty() {
            return Vec::new();
        }
        hits.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut c = self.correlator(facility);
        hits.iter().flat_map(|h| c.push(h)).collect()
    }
}

/// The correlation state of one stream of events (one facility's run).
pub struct Correlator {
    engine: CorrelationEngine,
    facility: String,
}

impl Correlator {
    /// Fold one hit in; the alerts of the correlations it makes fire.
    pub fn push(&mut self, hit: &Hit) -> Vec<Alert> {
        let detection = EvaluationResult {
            header: RuleHeader {
                rule_title: hit.rule.clone(),
                rule_id: Some(hit.rule.clone()),
                level: None,
                tags: Vec::new(),
                custom_attributes: Arc::default(),
                enrichments: None,
            },
            body: ResultBody::Detection(rsigma_eval::DetectionBody {
                matched_selections: Vec::new(),
                matched_fields: Vec::new(),
                event: None,
            }),
        };
        let event = KvEvent::new(hit.fields.clone());
        self.engine
            .process_with_detections(&event, vec![detection], hit.ts)
            .into_iter()
            .filter_map(|r| self.alert(r, hit))
            .collect()
    }

    /// (correlation, group key) states held now.
    pub fn state_count(&self) -> usize {
        self.engine.state_count()
    }

    /// The state (windows, last alert per group) as JSON, for a correlator's checkpoint.
    pub fn export_state(&self) -> serde_json::Value {
        serde_json::to_value(self.engine.export_state()).unwrap_or(serde_json::Value::Null)
    }

    /// Restore a state [`Self::export_state`] gave; false (nothing restored) when it is not one
    /// this version reads.
    pub fn import_state(&mut self, state: serde_json::Value) -> bool {
        match serde_json::from_value(state) {
            Ok(snapshot) => self.engine.import_state(snapshot),
            Err(_) => false,
        }
    }

    fn alert(&self, r: EvaluationResult, hit: &Hit) -> Option<Alert> {
        let ResultBody::Correlation(body) = r.body else {
            return None;
        };
        let rule_id = r.header.rule_id.unwrap_or(r.header.rule_title.clone());
        let mut h = Sha256::new();
        h.update(b"correlation/1\x1f");
        for part in [self.facility.as_str(), rule_id.as_str()] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        for (k, v) in &body.group_key {
            h.update(k.as_bytes());
            h.update([0x1e]);
            h.update(v.as_bytes());
            h.update([0x1f]);
        }
        h.update(hit.ts.to_le_bytes());
        let mut fields = body.group_key;
        fields.push(("timespan".into(), format!("{}s", body.timespan_secs)));
        Some(Alert {
            id: hex::encode(&h.finalize()[..16]),
            rule_id,
            title: r.header.rule_title,
            level: r
                .header
                .level
                .map(|l| l.as_str().to_string())
                .unwrap_or_else(|| "medium".into()),
            tags: r
                .header
                .tags
                .into_iter()
                .filter(|t| t.starts_with("attack."))
                .collect(),
            time: Some(hit.time.clone()),
            last_time: Some(hit.time.clone()),
            host: hit.host.clone(),
            record_id: hit.record_id,
            source: hit.source.clone(),
            fields,
            // The count (or number of values) that crossed the threshold.
            count: body.aggregated_value.max(0.0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mapping;
    use crate::rules::load_text;
    use std::path::Path;

    /// Two base rules (`a` by name, `b` by id) and one correlation of `kind`.
    fn correlations(correlation: &str) -> Correlations {
        let text = format!(
            "title: A\nid: rule-a\nname: a\nlogsource: {{product: windows, service: security}}\ndetection:\n  sel: {{EventID: 1}}\n  condition: sel\n---\ntitle: B\nid: rule-b\nlogsource: {{product: windows, service: security}}\ndetection:\n  sel: {{EventID: 2}}\n  condition: sel\n---\n{correlation}"
        );
        let m = Mapping::builtin().expect("mapping");
        let load = load_text(Path::new("c.yml"), &text, &m);
        assert!(load.refused.is_empty(), "{:?}", load.refused);
        assert_eq!(load.correlations.len(), 1);
        Correlations::new(load.correlations)
    }

    fn hit(ts: i64, rule: &str, fields: &[(&str, &str)]) -> Hit {
        Hit {
            ts,
            rule: rule.into(),
            time: format!("t{ts}"),
            host: Some("dc01".into()),
            source: "s".into(),
            record_id: u64::try_from(ts).unwrap_or(0),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    #[test]
    fn event_count_per_group_within_the_timespan() {
        let c = correlations(
            "title: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 60s\n  condition: {gte: 3}\nlevel: high\n",
        );
        assert!(!c.generates("rule-a"), "generate: false by default");
        assert!(c.generates("rule-b"));
        let u = |ts, user| hit(ts, "rule-a", &[("User", user)]);
        // Two per user within the minute: nothing; the third of bob: one alert.
        let alerts = c.run(
            "f",
            vec![u(0, "ann"), u(1, "bob"), u(2, "ann"), u(3, "bob")],
        );
        assert!(alerts.is_empty());
        let alerts = c.run(
            "f",
            vec![u(0, "bob"), u(10, "bob"), u(20, "bob"), u(30, "bob")],
        );
        assert_eq!(alerts.len(), 1, "suppressed for the timespan after firing");
        assert_eq!(alerts[0].rule_id, "many");
        assert_eq!(alerts[0].count, 3);
        assert_eq!(alerts[0].time.as_deref(), Some("t20"));
        assert!(alerts[0].fields.contains(&("User".into(), "bob".into())));
        // Spread over more than the timespan: nothing.
        assert!(
            c.run("f", vec![u(0, "bob"), u(50, "bob"), u(100, "bob")])
                .is_empty()
        );
        // Arrival order does not matter in batch (hits are sorted).
        let alerts2 = c.run(
            "f",
            vec![u(30, "bob"), u(20, "bob"), u(0, "bob"), u(10, "bob")],
        );
        assert_eq!(alerts2, alerts);
        // Other facility, other id.
        assert_ne!(
            c.run("g", vec![u(0, "bob"), u(1, "bob"), u(2, "bob")])[0].id,
            alerts[0].id
        );
    }

    #[test]
    fn value_count_counts_distinct_values() {
        let c = correlations(
            "title: Spray\nid: spray\ncorrelation:\n  type: value_count\n  rules: [rule-a]\n  group-by: [Ip]\n  timespan: 5m\n  condition: {field: User, gt: 2}\n",
        );
        let h = |ts, ip, user| hit(ts, "rule-a", &[("Ip", ip), ("User", user)]);
        // The same user three times: one value.
        assert!(
            c.run("f", vec![h(0, "x", "u1"), h(1, "x", "u1"), h(2, "x", "u1")])
                .is_empty()
        );
        let alerts = c.run(
            "f",
            vec![
                h(0, "x", "u1"),
                h(1, "y", "u2"),
                h(2, "x", "u2"),
                h(3, "x", "u3"),
            ],
        );
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].count, 3);
        assert!(alerts[0].fields.contains(&("Ip".into(), "x".into())));
    }

    #[test]
    fn temporal_needs_every_rule_and_ordered_temporal_their_order() {
        let temporal = correlations(
            "title: Both\nid: both\ncorrelation:\n  type: temporal\n  rules: [a, rule-b]\n  group-by: [Host]\n  timespan: 1m\n",
        );
        let ordered = correlations(
            "title: Then\nid: then\ncorrelation:\n  type: temporal_ordered\n  rules: [a, rule-b]\n  group-by: [Host]\n  timespan: 1m\n",
        );
        let h = |ts, rule, host| hit(ts, rule, &[("Host", host)]);
        let b_then_a = vec![h(0, "rule-b", "h1"), h(5, "rule-a", "h1")];
        let a_then_b = vec![h(0, "rule-a", "h1"), h(5, "rule-b", "h1")];
        assert_eq!(temporal.run("f", b_then_a.clone()).len(), 1);
        assert_eq!(temporal.run("f", a_then_b.clone()).len(), 1);
        assert!(ordered.run("f", b_then_a).is_empty());
        assert_eq!(ordered.run("f", a_then_b).len(), 1);
        // Different hosts, or too far apart: nothing.
        assert!(
            temporal
                .run("f", vec![h(0, "rule-a", "h1"), h(5, "rule-b", "h2")])
                .is_empty()
        );
        assert!(
            temporal
                .run("f", vec![h(0, "rule-a", "h1"), h(120, "rule-b", "h1")])
                .is_empty()
        );
    }

    #[test]
    fn unknown_references_are_refused_with_the_file() {
        let m = Mapping::builtin().expect("mapping");
        let text = "title: Lost\nid: lost\ncorrelation:\n  type: event_count\n  rules: [nowhere]\n  timespan: 1m\n  condition: {gte: 2}\n";
        let load = load_text(Path::new("lost.yml"), text, &m);
        assert!(load.correlations.is_empty());
        assert_eq!(load.refused.len(), 1, "{:?}", load.refused);
        assert_eq!(load.refused[0].file, Path::new("lost.yml"));
        assert!(
            load.refused[0].reason.contains("nowhere"),
            "{:?}",
            load.refused
        );
    }

    #[test]
    fn state_is_bounded_past_the_group_limit() {
        let c = correlations(
            "title: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1h\n  condition: {gte: 2}\n",
        );
        let mut k = c.correlator("f");
        let users: Vec<String> = (0..MAX_GROUPS + 10).map(|i| format!("u{i}")).collect();
        for (i, u) in users.iter().enumerate() {
            let ts = i64::try_from(i).unwrap_or(0) / 1000;
            assert!(k.push(&hit(ts, "rule-a", &[("User", u)])).is_empty());
            assert!(k.state_count() <= MAX_GROUPS);
        }
        // The stalest tenth was dropped, the newest keys are still counted.
        assert!(k.state_count() < MAX_GROUPS);
        let last = users.last().map(String::as_str).unwrap_or("");
        assert_eq!(k.push(&hit(300, "rule-a", &[("User", last)])).len(), 1);
    }

    #[test]
    fn partitions_are_stable_and_spread_keys() {
        // The same key, the same partition, in every process (no random seed).
        let p = partition("brute", &["alice", "10.0.0.1"], 8);
        assert_eq!(p, partition("brute", &["alice", "10.0.0.1"], 8));
        // Values are separated: ("ab", "c") is not ("a", "bc").
        let all: Vec<u32> = (0..64)
            .map(|i| partition("c", &[&format!("ab{i}"), "c"], 1 << 30))
            .collect();
        let moved: Vec<u32> = (0..64)
            .map(|i| partition("c", &[&format!("a{i}"), "bc"], 1 << 30))
            .collect();
        assert_ne!(all, moved);
        // Spread: 20,000 accounts over 8 partitions, each within 10 % of an eighth.
        let mut counts = [0u32; 8];
        for i in 0..20_000 {
            counts[partition("brute", &[&format!("user{i}"), "10.0.0.1"], 8) as usize] += 1;
        }
        for c in counts {
            assert!((2250..=2750).contains(&c), "{counts:?}");
        }
        // One partition, or none asked: everything in 0.
        assert_eq!(partition("brute", &["alice"], 1), 0);
        assert_eq!(partition("brute", &["alice"], 0), 0);
        // The correlation is part of the key.
        let differ = (0..32)
            .filter(|i| {
                let u = format!("u{i}");
                partition("a", &[&u], 1024) != partition("b", &[&u], 1024)
            })
            .count();
        assert!(differ > 28, "{differ}");
    }

    #[test]
    fn routes_follow_the_group_by_values_and_the_state_round_trips() {
        let c = correlations(
            "title: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 60s\n  condition: {gte: 3}\n",
        );
        let u = |ts, user| hit(ts, "rule-a", &[("User", user), ("Other", "x")]);
        let r = c.routes(&u(0, "bob"), 16);
        assert_eq!(
            r,
            vec![("many".to_owned(), partition("many", &["bob"], 16))]
        );
        assert_eq!(c.routes(&u(5, "bob"), 16), r, "same group, same partition");
        assert!(c.routes(&hit(0, "rule-b", &[]), 16).is_empty());
        assert!(c.only("many").is_some() && c.only("none").is_none());
        // Two hits, the state saved and restored in another correlator, the third fires.
        let mut k = c.correlator("f");
        assert!(k.push(&u(0, "bob")).is_empty());
        assert!(k.push(&u(1, "bob")).is_empty());
        let state = k.export_state();
        let mut k2 = c.correlator("f");
        assert!(k2.import_state(state));
        let fired = k2.push(&u(2, "bob"));
        assert_eq!(
            fired,
            c.run("f", vec![u(0, "bob"), u(1, "bob"), u(2, "bob")])
        );
        assert_eq!(fired.len(), 1);
        assert!(
            !c.correlator("f")
                .import_state(serde_json::json!({"version": "x"}))
        );
        // A hit travels as JSON.
        let h = u(3, "ann");
        let back: Hit =
            serde_json::from_str(&serde_json::to_string(&h).expect("json")).expect("hit");
        assert_eq!(back, h);
    }
}
