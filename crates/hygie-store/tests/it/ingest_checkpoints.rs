//! The streaming ingest's checkpoint: committed with its alerts or not at all, owned by one
//! facility, and a replayed alert updates its row instead of adding one.

use super::{facility, on_each_backend};
use hygie_core::{Alert, FacilityKind};
use hygie_store::{Actor, IngestCheckpoint, JournalCheck, StoreError};

fn alert(id: &str, count: u64) -> Alert {
    Alert {
        id: id.into(),
        rule_id: "t-whoami".into(),
        title: "Whoami".into(),
        level: "high".into(),
        tags: vec![],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: Some("2026-01-05T10:01:00Z".into()),
        host: Some("pc1".into()),
        record_id: 7,
        source: "tcp://127.0.0.1:5000".into(),
        fields: vec![],
        count,
    }
}

fn checkpoint(position: u64, state: Option<&str>) -> IngestCheckpoint {
    IngestCheckpoint {
        spool: "spool-1".into(),
        position,
        state: state.map(str::to_owned),
    }
}

#[test]
fn a_checkpoint_moves_with_its_alerts_and_keeps_its_state() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let other = facility("75000002", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&other, false, &a).await.expect("add");
        assert_eq!(
            store.ingest_checkpoint("spool-1").await.expect("read"),
            None
        );
        // The first checkpoint must carry the aggregation state.
        assert!(matches!(
            store
                .record_alerts_at(&f.id, &[], &checkpoint(10, None), &a)
                .await,
            Err(StoreError::Invalid(_))
        ));
        let new = store
            .record_alerts_at(
                &f.id,
                &[alert("a1", 1)],
                &checkpoint(100, Some("{\"open\":[\"a1\"]}")),
                &a,
            )
            .await
            .expect("first");
        assert_eq!(new, 1);
        // The same alert again (a replayed event's bucket): its row is updated, never doubled;
        // no state given: the saved one stays.
        let new = store
            .record_alerts_at(&f.id, &[alert("a1", 3)], &checkpoint(250, None), &a)
            .await
            .expect("second");
        assert_eq!(new, 0);
        let (owner, cp) = store
            .ingest_checkpoint("spool-1")
            .await
            .expect("read")
            .expect("saved");
        assert_eq!(owner, f.id.as_str());
        assert_eq!(cp, checkpoint(250, Some("{\"open\":[\"a1\"]}")));
        let alerts = store.alerts(&f.id, None).await.expect("alerts");
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].count, 3);
        let open = store
            .alerts_by_id(&f.id, &["a1".into(), "missing".into()])
            .await
            .expect("by id");
        assert_eq!(open.len(), 1);
        assert!(
            store
                .alerts_by_id(&other.id, &["a1".into()])
                .await
                .expect("by id")
                .is_empty()
        );
        // Another facility cannot take this spool's checkpoint, and nothing of its batch stays.
        let refused = store
            .record_alerts_at(
                &other.id,
                &[alert("b1", 1)],
                &checkpoint(300, Some("{}")),
                &a,
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        assert!(
            store
                .alerts(&other.id, None)
                .await
                .expect("alerts")
                .is_empty()
        );
        assert_eq!(
            store
                .ingest_checkpoint("spool-1")
                .await
                .expect("read")
                .map(|(_, c)| c.position),
            Some(250)
        );
        // Two facilities, one alerts.record entry (the first batch); checkpoints are not
        // journalled.
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 3 }
        );
    });
}

/// A worker reads back a whole batch's alerts, more than one statement's worth of ids: every
/// existing one comes back once, the missing ones and another facility's are left out.
#[test]
fn alerts_are_read_back_by_id_beyond_one_statement() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let other = facility("75000002", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&other, false, &a).await.expect("add");
        let mine: Vec<Alert> = (0..151).map(|i| alert(&format!("a{i}"), 1)).collect();
        store.record_alerts(&f.id, &mine, &a).await.expect("mine");
        store
            .record_alerts(&other.id, &[alert("b0", 1)], &a)
            .await
            .expect("other's");
        let mut ids: Vec<String> = mine.iter().map(|x| x.id.clone()).collect();
        ids.push("missing".into());
        ids.push("b0".into());
        let mut back: Vec<String> = store
            .alerts_by_id(&f.id, &ids)
            .await
            .expect("by id")
            .into_iter()
            .map(|x| x.id.clone())
            .collect();
        back.sort();
        let mut want: Vec<String> = mine.into_iter().map(|x| x.id).collect();
        want.sort();
        assert_eq!(back, want);
        assert!(
            store
                .alerts_by_id(&f.id, &[])
                .await
                .expect("none")
                .is_empty()
        );
    });
}
