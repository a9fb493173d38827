//! Writers queue instead of failing: a lock held by another client delays a write, never loses it.

use super::{facility, on_each_backend};
use hygie_core::{Alert, FacilityKind};
use hygie_store::{Actor, JournalCheck};

fn alert(n: usize) -> Alert {
    Alert {
        id: format!("held-lock-{n}"),
        rule_id: "sigma-1".into(),
        title: "Suspicious logon".into(),
        level: "high".into(),
        tags: vec![],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: None,
        host: Some(format!("srv-{n}")),
        record_id: n as u64,
        source: "syslog".into(),
        fields: vec![],
        count: 1,
    }
}

#[test]
fn an_alert_batch_waits_for_a_lock_held_by_another_client() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        // Another client takes the write lock (SQLite's database lock, PostgreSQL's head row)
        // and keeps it while the batch arrives.
        let mut held = store.pool().begin().await.expect("begin");
        sqlx::query("UPDATE journal_head SET seq = seq WHERE id = 1")
            .execute(&mut *held)
            .await
            .expect("lock");
        let batch: Vec<Alert> = (0..500).map(alert).collect();
        let writer = tokio::spawn({
            let (store, id, a) = (store.clone(), f.id.clone(), a.clone());
            async move { store.record_alerts(&id, &batch, &a).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(!writer.is_finished(), "the batch must wait for the lock");
        held.commit().await.expect("release");
        let new = writer.await.expect("task").expect("the batch is written");
        assert_eq!(new, 500);
        assert_eq!(store.alerts(&f.id, None).await.expect("alerts").len(), 500);
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 2 }
        );
    });
}
