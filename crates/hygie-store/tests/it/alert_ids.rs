//! Alert ids include the facility since issue 20 (32 hex digits); a store written before keeps
//! its alerts under their 24-digit ids, so what names them (an incident's alert list, a link)
//! still resolves, and a new run of the same logs updates them instead of doubling them.

use super::{facility, on_each_backend};
use hygie_core::{Alert, FacilityKind};
use hygie_store::Actor;

/// The alert of rule `t-bf` on DC01 in the bucket of 10:00, under `id`.
fn alert(id: &str, count: u64) -> Alert {
    Alert {
        id: id.into(),
        rule_id: "t-bf".into(),
        title: "Brute force".into(),
        level: "high".into(),
        tags: vec![],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: Some("2026-01-05T10:01:00Z".into()),
        host: Some("DC01".into()),
        record_id: 7,
        source: "logs/dc01.evtx".into(),
        fields: vec![],
        count,
    }
}

#[test]
fn old_alert_ids_still_resolve_and_a_new_run_updates_them() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let g = facility("69000002", "ARA", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&g, false, &a).await.expect("add");
        // The older store: ids as Hygie made them before (rule, host, bucket).
        let old = hygie_detect::legacy_alert_id("t-bf", "DC01", Some(5_892_000));
        assert_eq!(old.len(), 24);
        store
            .record_alerts(&f.id, &[alert(&old, 3)], &a)
            .await
            .expect("old alert");
        // An incident opened from it (linked both ways since issue 18).
        let inc = store
            .open_incident(
                &f.id,
                hygie_incident::FactsInput {
                    alert_ids: vec![old.clone()],
                    awareness: Some(jiff::Timestamp::now().to_string()),
                    ..hygie_incident::FactsInput::default()
                },
                jiff::Timestamp::now(),
                &a,
            )
            .await
            .expect("incident");
        // The same logs analysed again by the new code: the facility's id.
        let new = hygie_detect::alert_id(f.id.as_str(), "t-bf", "DC01", Some(5_892_000));
        assert_eq!(new.len(), 32);
        let added = store
            .record_alerts(&f.id, &[alert(&new, 4)], &a)
            .await
            .expect("new run");
        assert_eq!(added, 0, "the older alert is updated, not doubled");
        let listed = store.alerts(&f.id, None).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, old);
        assert_eq!(listed[0].count, 4);
        assert_eq!(listed[0].incident.as_deref(), Some(inc.id.as_str()));
        // What an incident's alert list names resolves.
        let resolved = store
            .alerts_by_id(&f.id, std::slice::from_ref(&old))
            .await
            .expect("by id");
        assert_eq!(resolved.len(), 1);
        // Another facility analysing the same logs gets its own alert.
        let theirs = hygie_detect::alert_id(g.id.as_str(), "t-bf", "DC01", Some(5_892_000));
        assert_ne!(theirs, new);
        let added = store
            .record_alerts(&g.id, &[alert(&theirs, 4)], &a)
            .await
            .expect("other facility");
        assert_eq!(added, 1);
        assert_eq!(store.alerts(&g.id, None).await.expect("list").len(), 1);
        assert_eq!(store.alerts(&f.id, None).await.expect("list").len(), 1);
    });
}
