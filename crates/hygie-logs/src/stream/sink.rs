//! The in-order stage of the streaming ingest: what it keeps between deliveries (the
//! aggregation, the correlations' state, the updates not delivered yet and the checkpoint they
//! bring the stream to) and the delivery to the [`AlertSink`], tried again a few times.

use super::{AlertSink, Checkpoint, Evaluated, IngestConfig, Stats};
use crate::correlation::{PartitionState, SETTLE, Saved};
use hygie_detect::alert::Pushed;
use hygie_detect::{Aggregator, AggregatorState, Correlations};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What a checkpoint's `state` holds: the aggregation's open state and, with correlation rules
/// loaded, the correlations' ([`PartitionState::saved`]), in one JSON object so that the sink
/// keeps both in the transaction of the alerts. A state saved by a version that did not
/// correlate here has no `correlations` and reads as no hit yet.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(super) struct StreamState {
    #[serde(flatten)]
    pub(super) aggregation: AggregatorState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) correlations: Option<Saved>,
}

/// The correlations' state a stream goes on from: none without correlation rules; the one
/// saved in the checkpoint, or an empty one when the rules changed beyond what it can follow
/// (the hits before the checkpoint are not evaluated again: their windows are lost, never
/// counted twice).
pub(super) fn resume_correlations(
    correlations: &Correlations,
    saved: Option<Saved>,
    cfg: &IngestConfig,
    spool: &str,
) -> Option<PartitionState> {
    if correlations.is_empty() {
        return None;
    }
    let fresh = || PartitionState::new(correlations.clone(), &cfg.facility, cfg.lateness_secs);
    let mut state = fresh();
    if let Some(saved) = saved
        && let Err(e) = state.restore_saved(saved)
    {
        tracing::warn!("correlation state of spool {spool} not restored, starting empty: {e}");
        state = fresh();
    }
    Some(state)
}

/// Tries of one delivery before its updates are reported unsaved and kept for the next one.
const DELIVERY_TRIES: u32 = 4;

/// Deliver `kept` (older unsaved updates first) with `checkpoint`, trying again after short
/// pauses. Delivered updates leave `kept`; on failure they stay and the error is returned.
async fn deliver_kept(
    sink: &mut dyn AlertSink,
    kept: &mut Vec<Pushed>,
    checkpoint: &Checkpoint,
    stats: &Stats,
) -> Result<(), String> {
    let mut tries = 0;
    loop {
        match sink.deliver(kept, checkpoint).await {
            Ok(()) => {
                stats.alerts.fetch_add(kept.len() as u64, Ordering::Relaxed);
                stats.unsaved.store(0, Ordering::Relaxed);
                kept.clear();
                return Ok(());
            }
            Err(e) => {
                tries += 1;
                if tries >= DELIVERY_TRIES {
                    stats.unsaved.store(kept.len() as u64, Ordering::Relaxed);
                    sink.unsaved(kept.len(), &e);
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(100 << tries)).await;
            }
        }
    }
}

/// The sink task's state: the aggregation, the updates not delivered yet and the checkpoint
/// they bring the stream to.
pub(super) struct SinkRun {
    pub(super) agg: Aggregator,
    /// The correlations' state, when correlation rules are loaded.
    pub(super) correlations: Option<PartitionState>,
    /// Hits were added since the last fold.
    pub(super) fresh_hits: bool,
    /// When the last hit was added.
    pub(super) last_hit: Instant,
    pub(super) kept: Vec<Pushed>,
    /// Where the records taken so far bring the stream.
    pub(super) checkpoint: Checkpoint,
    /// Position of the last checkpoint delivered.
    pub(super) committed: Option<u64>,
    /// An alert was opened or closed, or the correlations' state changed, since the last
    /// checkpoint delivered.
    pub(super) state_changed: bool,
    pub(super) aggregating: bool,
}

impl SinkRun {
    /// Fold the alerts of the next record, in spool order.
    pub(super) fn take(&mut self, done: Evaluated) {
        self.checkpoint.position = done.end;
        for alert in done.alerts {
            let pushed = self.agg.push(alert);
            // Opening an alert is also when older ones close (eviction).
            if self.aggregating && matches!(pushed, Pushed::Opened(_)) {
                self.state_changed = true;
            }
            self.kept.push(pushed);
        }
        self.agg.drain_closed();
        if let Some(c) = &mut self.correlations {
            let mut added = false;
            for (name, hit) in done.hits {
                // Detection names loaded correlations only.
                added |= c.add(&name, hit);
            }
            if added {
                self.fresh_hits = true;
                self.last_hit = Instant::now();
                self.state_changed = true;
            }
        }
    }

    /// Fold the buffered hits that waited long enough for earlier ones (all of them when
    /// `settle`, or after [`SETTLE`] without a new hit); their alerts join the updates.
    pub(super) fn correlate(&mut self, settle: bool) {
        let Some(c) = &mut self.correlations else {
            return;
        };
        let alerts = if settle || (c.pending() > 0 && self.last_hit.elapsed() >= SETTLE) {
            if c.pending() == 0 {
                return;
            }
            c.fold_all()
        } else if self.fresh_hits {
            c.fold_ready()
        } else {
            return;
        };
        self.fresh_hits = false;
        self.state_changed = true;
        self.kept.extend(alerts.into_iter().map(Pushed::Opened));
    }

    pub(super) fn moved(&self) -> bool {
        self.committed != Some(self.checkpoint.position) || self.state_changed
    }

    pub(super) async fn deliver(
        &mut self,
        sink: &mut dyn AlertSink,
        stats: &Stats,
    ) -> Result<(), String> {
        self.checkpoint.state = if self.state_changed {
            let state = StreamState {
                aggregation: self.agg.state(),
                correlations: self.correlations.as_ref().map(PartitionState::saved),
            };
            Some(serde_json::to_string(&state).map_err(|e| e.to_string())?)
        } else {
            None
        };
        deliver_kept(sink, &mut self.kept, &self.checkpoint, stats).await?;
        self.committed = Some(self.checkpoint.position);
        self.state_changed = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::tests::correlations;
    use hygie_detect::Hit;

    fn hit(ts: i64) -> Hit {
        crate::correlation::tests::hit(ts, "bob")
    }

    #[test]
    fn the_checkpoint_state_keeps_the_aggregation_and_the_correlations_apart() {
        // A state an ingest saved before it correlated reads as no hit yet.
        let old: StreamState =
            serde_json::from_str(r#"{"newest":12,"open":["a1"]}"#).expect("old state");
        assert_eq!(old.aggregation.newest, Some(12));
        assert_eq!(old.aggregation.open, ["a1"]);
        assert!(old.correlations.is_none());
        let cfg = IngestConfig::default();
        assert!(resume_correlations(&Correlations::default(), None, &cfg, "s").is_none());
        // Two hits saved with the aggregation, restored: the third fires, as in one run.
        let c = correlations();
        let mut first = resume_correlations(&c, old.correlations, &cfg, "s").expect("state");
        assert!(first.add("many", hit(0)) && first.add("many", hit(1)));
        assert!(first.fold_all().is_empty());
        let text = serde_json::to_string(&StreamState {
            aggregation: old.aggregation.clone(),
            correlations: Some(first.saved()),
        })
        .expect("json");
        // An older version reads the aggregation's part of it.
        let agg: AggregatorState = serde_json::from_str(&text).expect("aggregation");
        assert_eq!(agg, old.aggregation);
        let back: StreamState = serde_json::from_str(&text).expect("state");
        assert_eq!(back.aggregation, old.aggregation);
        let mut again = resume_correlations(&c, back.correlations, &cfg, "s").expect("state");
        assert!(again.add("many", hit(2)));
        let fired = again.fold_all();
        assert_eq!(fired, c.run("", vec![hit(0), hit(1), hit(2)]));
        assert_eq!(fired.len(), 1);
        // A state the rules cannot follow any more: start empty rather than fail.
        let mut bad = serde_json::to_value(first.saved()).expect("json");
        bad["engines"]["many"] = serde_json::json!({"version": "x"});
        let bad: Saved = serde_json::from_value(bad).expect("saved");
        let fresh = resume_correlations(&c, Some(bad), &cfg, "s").expect("state");
        assert_eq!((fresh.groups(), fresh.pending()), (0, 0));
    }
}
