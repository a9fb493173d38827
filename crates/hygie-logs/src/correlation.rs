//! Sigma correlation rules in a stream: the hits of the rules correlations refer to are
//! buffered, then folded into the correlations in event time order ([`PartitionState`]), and the
//! whole state is saved with each commit. One implementation for both streaming pipelines:
//!
//! - the spooled `hygie ingest` ([`crate::stream`]): its whole stream is one partition; the
//!   in-order stage that delivers alerts folds the hits of each record in spool order and saves
//!   the state in the spool checkpoint, in the transaction of the alerts it brings;
//! - the NATS correlators ([`crate::nats::correlate`]): one partition of the hits each, the
//!   state saved with the alerts and the last hit sequence read.
//!
//! **Order.** Hits come in arrival order, not in event time (two hosts, two connections, two
//! workers); batch detection folds them sorted. The buffer restores the order for hits up to
//! the lateness apart: [`PartitionState::fold_ready`] folds the buffered hits older than the
//! newest time seen minus the lateness; a hit later than that is folded when it comes, as
//! RSigma takes it. When no hit came for [`SETTLE`], the caller folds the whole buffer
//! ([`PartitionState::fold_all`]): a quiet stream still alerts.
//!
//! **Bounds.** One RSigma engine per correlation, each with batch's bounds
//! ([`hygie_detect::correlate::MAX_GROUPS`] groups, [`hygie_detect::correlate::MAX_GROUP_ENTRIES`]
//! entries in a group; expired windows are dropped); at most [`MAX_PENDING`] buffered hits (past
//! it the oldest are folded at once). Figures: BENCHMARKS.md, "Correlation state: memory and
//! saving".
//!
//! **Restart.** The saved state holds every hit the caller gave (folded or buffered), and the
//! engines' suppression of the alerts already fired (`rsigma.suppress`, the timespan): saved
//! with the position of the last hit given, in the transaction of the alerts, a restart neither
//! forgets a window nor alerts twice.

use hygie_detect::{Alert, Correlations, Correlator, Hit};
use std::collections::BTreeMap;
use std::time::Duration;

/// Most hits buffered (waiting for the hits that may come before them in time).
pub const MAX_PENDING: usize = 100_000;
/// Without a new hit for this long, the buffered hits are folded.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Version of the saved state.
const STATE_VERSION: u32 = 1;

/// The correlation state of one partition: an engine per correlation and the hits waiting to be
/// folded in time order. Pure (no I/O): the pipelines feed it and save it.
pub struct PartitionState {
    correlations: Correlations,
    facility: String,
    /// Seconds a hit waits for earlier ones.
    lateness: i64,
    engines: BTreeMap<String, Correlator>,
    pending: Vec<(String, Hit)>,
    newest: i64,
}

/// A [`PartitionState`] as saved: serialisable, so that a caller can save it inside a state of
/// its own (the spooled ingest's checkpoint) without encoding it twice.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    version: u32,
    engines: BTreeMap<String, serde_json::Value>,
    pending: Vec<(String, Hit)>,
    newest: i64,
}

impl PartitionState {
    pub fn new(correlations: Correlations, facility: &str, lateness_secs: u64) -> Self {
        PartitionState {
            correlations,
            facility: facility.to_owned(),
            lateness: i64::try_from(lateness_secs).unwrap_or(i64::MAX),
            engines: BTreeMap::new(),
            pending: Vec::new(),
            newest: i64::MIN,
        }
    }

    /// Restore a state [`Self::save`] gave. The engines of correlations no longer loaded, and
    /// their buffered hits, are dropped.
    pub fn restore(&mut self, saved: &str) -> Result<(), String> {
        let saved: Saved = serde_json::from_str(saved).map_err(|e| e.to_string())?;
        self.restore_saved(saved)
    }

    /// [`Self::restore`] from the state [`Self::saved`] gave.
    pub fn restore_saved(&mut self, saved: Saved) -> Result<(), String> {
        if saved.version != STATE_VERSION {
            return Err(format!("state version {} unknown", saved.version));
        }
        for (name, snapshot) in saved.engines {
            if let Some(engine) = self.engine(&name)
                && !engine.import_state(snapshot)
            {
                return Err(format!("the state of correlation {name} cannot be read"));
            }
        }
        self.pending = saved
            .pending
            .into_iter()
            .filter(|(c, _)| self.correlations.rules().iter().any(|r| r.name() == c))
            .collect();
        self.newest = saved.newest;
        Ok(())
    }

    /// The state as JSON.
    pub fn save(&self) -> String {
        serde_json::to_string(&self.saved()).unwrap_or_default()
    }

    /// The state, to be serialised.
    pub fn saved(&self) -> Saved {
        Saved {
            version: STATE_VERSION,
            engines: self
                .engines
                .iter()
                .map(|(n, e)| (n.clone(), e.export_state()))
                .collect(),
            pending: self.pending.clone(),
            newest: self.newest,
        }
    }

    /// (correlation, group key) states the engines hold.
    pub fn groups(&self) -> usize {
        self.engines.values().map(Correlator::state_count).sum()
    }

    /// Buffer a hit for `correlation`; false when no loaded correlation has that name.
    pub fn add(&mut self, correlation: &str, hit: Hit) -> bool {
        if self.engine(correlation).is_none() {
            return false;
        }
        self.newest = self.newest.max(hit.ts);
        self.pending.push((correlation.to_owned(), hit));
        true
    }

    /// Hits buffered.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Fold, in time order, the hits at least the lateness older than the newest seen (and the
    /// oldest past [`MAX_PENDING`]); the alerts they fire.
    pub fn fold_ready(&mut self) -> Vec<Alert> {
        self.sort();
        let horizon = self.newest.saturating_sub(self.lateness);
        let mut ready = self.pending.partition_point(|(_, h)| h.ts <= horizon);
        ready = ready.max(self.pending.len().saturating_sub(MAX_PENDING));
        self.fold(ready)
    }

    /// Fold every buffered hit in time order.
    pub fn fold_all(&mut self) -> Vec<Alert> {
        self.sort();
        self.fold(self.pending.len())
    }

    fn sort(&mut self) {
        self.pending
            .sort_by(|(ca, a), (cb, b)| a.order_key().cmp(&b.order_key()).then_with(|| ca.cmp(cb)));
    }

    fn fold(&mut self, n: usize) -> Vec<Alert> {
        let hits: Vec<(String, Hit)> = self.pending.drain(..n).collect();
        let mut alerts = Vec::new();
        for (c, hit) in &hits {
            if let Some(engine) = self.engine(c) {
                alerts.extend(engine.push(hit));
            }
        }
        alerts
    }

    fn engine(&mut self, name: &str) -> Option<&mut Correlator> {
        if !self.engines.contains_key(name) {
            let one = self.correlations.only(name)?;
            self.engines
                .insert(name.to_owned(), one.correlator(&self.facility));
        }
        self.engines.get_mut(name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hygie_detect::Mapping;
    use hygie_detect::rules::load_text;
    use std::path::Path;

    pub(crate) fn correlations() -> Correlations {
        let text = "title: A\nid: rule-a\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 1}\n  condition: sel\n---\ntitle: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [rule-a]\n  group-by: [User]\n  timespan: 60s\n  condition: {gte: 3}\n";
        let m = Mapping::builtin().expect("mapping");
        let load = load_text(Path::new("c.yml"), text, &m);
        assert!(load.refused.is_empty(), "{:?}", load.refused);
        Correlations::new(load.correlations)
    }

    /// A hit of `rule-a` at `ts` for `user` (also the ingest sink's tests' fixture).
    pub(crate) fn hit(ts: i64, user: &str) -> Hit {
        Hit {
            ts,
            rule: "rule-a".into(),
            time: format!("t{ts}"),
            host: None,
            source: "s".into(),
            record_id: u64::try_from(ts).unwrap_or(0),
            fields: vec![("User".into(), user.into())],
        }
    }

    #[test]
    fn hits_out_of_order_within_the_lateness_fold_as_in_batch() {
        let c = correlations();
        let hits: Vec<Hit> = (0..6).map(|i| hit(i * 5, "bob")).collect();
        let batch = c.run("f", hits.clone());
        assert_eq!(batch.len(), 1);
        let mut s = PartitionState::new(c.clone(), "f", 60);
        // Arrival order: reversed pairs.
        let mut alerts = Vec::new();
        for i in [1, 0, 3, 2, 5, 4] {
            assert!(s.add("many", hits[i].clone()));
            alerts.extend(s.fold_ready());
        }
        assert!(alerts.is_empty(), "nothing older than the lateness yet");
        assert!(!s.add("other", hit(0, "x")), "an unknown correlation");
        // Saved and restored in a new state (a restart), then folded.
        let mut again = PartitionState::new(c.clone(), "f", 60);
        again.restore(&s.save()).expect("restore");
        assert_eq!(again.pending(), 6);
        assert_eq!(again.fold_all(), batch);
        // A newer hit pushes the horizon: older hits fold on their own.
        let mut s = PartitionState::new(c, "f", 60);
        for h in &hits {
            s.add("many", h.clone());
        }
        assert_eq!(s.fold_ready(), Vec::new());
        s.add("many", hit(1_000, "ann"));
        assert_eq!(s.fold_ready(), batch);
        assert_eq!(s.pending(), 1);
    }

    #[test]
    fn a_restored_state_keeps_the_suppression_of_an_alert_already_stored() {
        let c = correlations();
        let mut s = PartitionState::new(c.clone(), "f", 0);
        for i in 0..4 {
            s.add("many", hit(i, "bob"));
        }
        assert_eq!(s.fold_all().len(), 1);
        let mut again = PartitionState::new(c.clone(), "f", 0);
        again.restore(&s.save()).expect("restore");
        for i in 4..8 {
            again.add("many", hit(i, "bob"));
        }
        assert!(again.fold_all().is_empty(), "suppressed for the timespan");
        // Without the state the same hits would alert again.
        let mut fresh = PartitionState::new(c, "f", 0);
        for i in 4..8 {
            fresh.add("many", hit(i, "bob"));
        }
        assert_eq!(fresh.fold_all().len(), 1);
        assert!(
            fresh
                .restore("{\"version\": 9, \"engines\": {}, \"pending\": [], \"newest\": 0}")
                .is_err()
        );
        assert!(fresh.restore("not json").is_err());
    }
}
