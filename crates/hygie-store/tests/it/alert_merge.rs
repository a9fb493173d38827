//! The detection workers' merge (issue 20, `Store::merge_alerts`): partial alerts keyed by the
//! stream sequences of their events. A partial merged again (a message delivered again) adds
//! nothing; partials of two workers add up, whatever their order, with the earliest
//! representative and the latest last time; forgetting the keys below the acknowledgement
//! floor keeps those above.

use super::{facility, on_each_backend};
use hygie_core::alert::KeyedAlert;
use hygie_core::{Alert, FacilityKind};
use hygie_store::{Actor, JournalCheck, Merged};

/// A partial of the alert `id`: first match at `first` (record `first`), last at `last`.
fn partial(id: &str, first: u32, last: u32, events: &[u64]) -> KeyedAlert {
    let at = |m: u32| Some(format!("2026-01-05T10:{m:02}:00Z"));
    KeyedAlert {
        alert: Alert {
            id: id.into(),
            rule_id: "t-logon".into(),
            title: "Failed logon".into(),
            level: "low".into(),
            tags: vec![],
            time: at(first),
            last_time: at(last),
            host: Some("DC01".into()),
            record_id: u64::from(first),
            source: "tcp://10.0.0.1:5000".into(),
            fields: vec![("EventID".into(), "4625".into())],
            count: events.len() as u64,
        },
        events: events.to_vec(),
    }
}

#[test]
fn merges_count_each_event_once_and_add_up_across_workers() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        let id = hygie_detect::alert_id(f.id.as_str(), "t-logon", "DC01", Some(1));
        // Worker A's batch: events 10, 11, 12 (first at 10:03, last at 10:05).
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 3, 5, &[10, 11, 12])], &a)
            .await
            .expect("merge");
        assert_eq!(
            m,
            Merged {
                new: 1,
                updated: 0,
                events: 3
            }
        );
        // The same batch delivered again (A died before acknowledging): nothing added.
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 3, 5, &[10, 11, 12])], &a)
            .await
            .expect("again");
        assert_eq!(m.events, 0);
        // Worker B: an earlier and a later event, and 12 again in a batch of its own.
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 1, 9, &[7, 12, 30])], &a)
            .await
            .expect("worker B");
        assert_eq!((m.updated, m.events), (1, 2));
        let got = store.alert(&f.id, &id).await.expect("alert");
        assert_eq!(got.count, 5, "events 7, 10, 11, 12, 30");
        assert_eq!(got.time.as_deref(), Some("2026-01-05T10:01:00Z"));
        assert_eq!(got.record_id, 1, "the earliest match represents the alert");
        assert_eq!(got.last_time.as_deref(), Some("2026-01-05T10:09:00Z"));
        // The same events under another stream are other events.
        let m = store
            .merge_alerts(&f.id, "T", &[partial(&id, 4, 4, &[10])], &a)
            .await
            .expect("other stream");
        assert_eq!(m.events, 1);
        // Forget the keys of S below 12: 12 and 30 are still known.
        assert_eq!(store.forget_alert_events("S", 12).await.expect("forget"), 3);
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 3, 3, &[12, 30])], &a)
            .await
            .expect("after forgetting");
        assert_eq!(m.events, 0);
        assert_eq!(store.alert(&f.id, &id).await.expect("alert").count, 6);
        // A stale copy of events below the floor (10, 11: counted, acknowledged, their keys
        // forgotten) adds nothing; a new event beside them (40) is counted.
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 3, 3, &[10, 11, 40])], &a)
            .await
            .expect("stale copy");
        assert_eq!(m.events, 1);
        assert_eq!(store.alert(&f.id, &id).await.expect("alert").count, 7);
        // The floor never goes down; the other stream has none.
        store
            .forget_alert_events("S", 5)
            .await
            .expect("lower floor");
        let m = store
            .merge_alerts(&f.id, "S", &[partial(&id, 3, 3, &[11])], &a)
            .await
            .expect("still below");
        assert_eq!(m.events, 0);
        let m = store
            .merge_alerts(&f.id, "T", &[partial(&id, 4, 4, &[11])], &a)
            .await
            .expect("other stream");
        assert_eq!(m.events, 1);
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}
