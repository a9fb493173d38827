//! The detection workers' algebra (issue 20), without NATS or a store: the events cut into
//! batches in any order, some batches evaluated twice (a redelivery after a crash), each batch
//! evaluated by `nats::worker::evaluate` and merged as the store merges (`Alert::merge`, adding
//! only the event keys not seen), give exactly the alerts of one batch aggregation of all the
//! events: same ids, counts, representatives and last times.
#![cfg(feature = "nats")]

use hygie_detect::{Aggregator, Alert, Detector, KeyedAlert, Mapping, alert_of, load_text};
use hygie_logs::json_to_event;
use hygie_logs::nats::worker::{Keyed, evaluate};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

const FACILITY: &str = "350000014";
const HOSTS: [&str; 3] = ["DC01", "pc-1", "pc-2"];
const RULE: &str = "title: Failed logon
id: 8d4f3b2a-4625-4b7e-9c1d-000000004625
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
level: low
";

fn detector() -> Detector {
    let mapping = Mapping::builtin().expect("mapping");
    let load = load_text(Path::new("failed-logon.yml"), RULE, &mapping);
    assert!(load.refused.is_empty(), "{:?}", load.refused);
    Detector::new(mapping, load.rules)
}

/// Event `i` with stream sequence `i + 1`: three hosts, times jumbled within a few minutes so
/// that a late event can become its alert's representative.
fn events(n: usize) -> Vec<Keyed> {
    let source: Arc<str> = Arc::from("tcp://10.0.0.9:5000");
    (0..n)
        .map(|i| {
            let off = (i * 37) % 1_800;
            let t = format!("2025-01-01T00:{:02}:{:02}Z", off / 60, off % 60);
            let doc = json!({
                "EventID": if i.is_multiple_of(5) { 4624 } else { 4625 },
                "Channel": "Security",
                "Computer": HOSTS[i % HOSTS.len()],
                "EventRecordID": i + 1,
                "TimeCreated": t,
            });
            let ev = json_to_event(doc, &source, i as u64 + 1).expect("an event");
            (i as u64 + 1, ev)
        })
        .collect()
}

/// A seeded xorshift.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The store's merge, in memory: alerts by id with the keys they count.
#[derive(Default)]
struct Store(BTreeMap<String, (Alert, HashSet<u64>)>);

impl Store {
    fn merge(&mut self, batch: Vec<KeyedAlert>) {
        for k in batch {
            let (alert, seen) = self.0.entry(k.alert.id.clone()).or_insert_with(|| {
                (
                    Alert {
                        count: 0,
                        ..k.alert.clone()
                    },
                    HashSet::new(),
                )
            });
            let added = k.events.iter().filter(|s| seen.insert(**s)).count() as u64;
            if added > 0 {
                alert.merge(&k.alert, added);
            }
        }
    }
}

#[test]
fn batches_in_any_order_and_redelivered_merge_into_the_batch_result() {
    let det = detector();
    let all = events(3_000);
    // The reference: one aggregator over every event, as `hygie detect` does.
    let mut agg = Aggregator::new(300).for_facility(FACILITY);
    for (_, ev) in &all {
        for m in det.evaluate(ev, &mut Default::default()) {
            agg.push(alert_of(m, ev));
        }
    }
    let expected: BTreeMap<String, Alert> = agg
        .finish()
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    assert!(expected.len() > 10);

    for seed in [1u64, 7, 0x5EED] {
        let mut rng = Rng(seed);
        // Cut into batches of 1..200 events, shuffle them, and deliver a third twice.
        let mut batches = Vec::new();
        let mut at = 0;
        while at < all.len() {
            let len = 1 + rng.below(200) as usize;
            batches.push(&all[at..(at + len).min(all.len())]);
            at += len;
        }
        for i in (1..batches.len()).rev() {
            batches.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let again: Vec<_> = batches
            .iter()
            .filter(|_| rng.below(3) == 0)
            .copied()
            .collect();
        batches.extend(again);
        let mut store = Store::default();
        for b in batches {
            store.merge(evaluate(&det, FACILITY, 300, b));
        }
        let got: BTreeMap<String, Alert> =
            store.0.into_iter().map(|(id, (a, _))| (id, a)).collect();
        assert_eq!(got, expected, "seed {seed}");
    }
}
