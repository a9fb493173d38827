//! Alerts as a workflow (issue 18): triage with who and when, journalled; filtered keyset
//! pages; incidents opened from alerts link them in the same transaction, both ways; a sending
//! keeps its channel and stops its duty's clock.

use super::{facility, on_each_backend};
use hygie_core::{Alert, FacilityKind};
use hygie_incident::{Duty, FactsInput, ObligationStatus, Phase, ops};
use hygie_store::{
    Actor, AlertCursor, AlertQuery, AlertStatus, IncidentChangeError, JournalCheck, StoreError,
};

fn alert(id: &str, level: &str, host: &str, rule: &str) -> Alert {
    Alert {
        id: id.into(),
        rule_id: rule.into(),
        title: format!("Rule {rule}"),
        level: level.into(),
        tags: vec!["attack.t1033".into()],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: None,
        host: Some(host.into()),
        record_id: 7,
        source: "sec.evtx".into(),
        fields: vec![("Image".into(), "whoami.exe".into())],
        count: 1,
    }
}

fn q(limit: i64) -> AlertQuery {
    AlertQuery {
        limit,
        ..AlertQuery::default()
    }
}

fn breach_input() -> FactsInput {
    FactsInput {
        // An hour ago: the CNIL's 72 hours are still running.
        awareness: Some((jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string()),
        personal_data_breach: Some("risk".into()),
        ..FactsInput::default()
    }
}

#[test]
fn alerts_page_filter_and_triage_with_who_and_when() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let other = facility("75000002", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&other, false, &a).await.expect("add");
        let mut all = Vec::new();
        for i in 0..7 {
            let level = if i % 2 == 0 { "high" } else { "low" };
            all.push(alert(
                &format!("a{i}"),
                level,
                &format!("pc{}", i % 3),
                "r1",
            ));
        }
        // Two batches: two recording times, ordered newest first then by id.
        store
            .record_alerts(&f.id, &all[..3], &a)
            .await
            .expect("one");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        store
            .record_alerts(&f.id, &all[3..], &a)
            .await
            .expect("two");
        store
            .record_alerts(&other.id, &[alert("b0", "high", "pc0", "r1")], &a)
            .await
            .expect("other");
        // Pages of 2 walk every alert once, in order, and end.
        let mut seen = Vec::new();
        let mut query = q(2);
        loop {
            let page = store.alert_page(&f.id, &query).await.expect("page");
            assert!(page.alerts.len() <= 2);
            seen.extend(page.alerts.iter().map(|a| a.id.clone()));
            match page.next {
                Some(n) => query.after = Some(AlertCursor::parse(&n).expect("cursor")),
                None => break,
            }
        }
        assert_eq!(seen, ["a6", "a5", "a4", "a3", "a2", "a1", "a0"]);
        // Filters combine; another facility's alert never shows.
        let high = AlertQuery {
            level: Some("high".into()),
            host: Some("pc0".into()),
            ..q(50)
        };
        let ids: Vec<String> = store
            .alert_page(&f.id, &high)
            .await
            .expect("filtered")
            .alerts
            .into_iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(ids, ["a6", "a0"]);
        assert!(AlertCursor::parse("nonsense").is_err());

        // Triage: who and when; a false positive needs a reason.
        let acked = store
            .triage_alert(&f.id, "a1", AlertStatus::Acknowledged, None, &a)
            .await
            .expect("ack");
        assert_eq!(acked.status, AlertStatus::Acknowledged);
        assert_eq!(acked.status_by.as_deref(), Some("test"));
        assert!(acked.status_at.is_some());
        assert!(matches!(
            store
                .triage_alert(&f.id, "a2", AlertStatus::FalsePositive, Some("  "), &a)
                .await,
            Err(StoreError::Invalid(_))
        ));
        let fp = store
            .triage_alert(
                &f.id,
                "a2",
                AlertStatus::FalsePositive,
                Some("admin script"),
                &a,
            )
            .await
            .expect("fp");
        assert_eq!(fp.status_reason.as_deref(), Some("admin script"));
        assert!(matches!(
            store
                .triage_alert(&other.id, "a1", AlertStatus::Acknowledged, None, &a)
                .await,
            Err(StoreError::NotFound(_))
        ));
        let by_status = AlertQuery {
            status: Some(AlertStatus::New),
            ..q(50)
        };
        let page = store.alert_page(&f.id, &by_status).await.expect("new");
        assert_eq!(page.alerts.len(), 5);
        let journal = store
            .journal_entries(Some(f.id.as_str()), None)
            .await
            .expect("journal");
        let triage: Vec<_> = journal
            .iter()
            .filter(|e| e.action == "alert.triage")
            .collect();
        assert_eq!(triage.len(), 2);
        assert!(triage[1].details.contains("admin script"));
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}

#[test]
fn an_incident_opened_from_alerts_links_them_both_ways() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let other = facility("75000002", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&other, false, &a).await.expect("add");
        let alerts = [
            alert("a1", "high", "pc1", "r1"),
            alert("a2", "high", "srv2", "r2"),
            alert("a3", "low", "pc1", "r1"),
        ];
        store.record_alerts(&f.id, &alerts, &a).await.expect("rec");
        store
            .record_alerts(&other.id, &[alert("b1", "high", "pc0", "r1")], &a)
            .await
            .expect("other");
        let now = jiff::Timestamp::now();

        // An unknown alert, or another facility's, refuses the opening and writes nothing.
        for bad in ["nope", "b1"] {
            let input = FactsInput {
                alert_ids: vec!["a1".into(), bad.into()],
                ..breach_input()
            };
            let r = store.open_incident(&f.id, input, now, &a).await;
            assert!(
                matches!(r, Err(IncidentChangeError::Store(StoreError::NotFound(_)))),
                "{r:?}"
            );
        }
        assert!(store.incidents(None, true).await.expect("list").is_empty());
        assert_eq!(store.alert(&f.id, "a1").await.expect("a1").incident, None);

        let input = FactsInput {
            alert_ids: vec!["a1".into(), "a2".into()],
            ..breach_input()
        };
        let inc = store
            .open_incident(&f.id, input, now, &a)
            .await
            .expect("open");
        // Facts pre-filled from the alerts.
        assert_eq!(inc.facts.title, "Rule r1 / Rule r2 (2 alerts)");
        assert!(
            inc.facts
                .description
                .as_deref()
                .is_some_and(|d| d.contains("r2 [high]"))
        );
        assert_eq!(inc.facts.affected_systems, ["pc1", "srv2"]);
        assert_eq!(inc.facts.detection.alert_ids, ["a1", "a2"]);
        for id in ["a1", "a2"] {
            let r = store.alert(&f.id, id).await.expect("alert");
            assert_eq!(r.incident.as_deref(), Some(inc.id.as_str()));
            assert_eq!(r.status, AlertStatus::Incident);
        }
        // A linked alert is triaged by its incident.
        assert!(matches!(
            store
                .triage_alert(&f.id, "a1", AlertStatus::FalsePositive, Some("x"), &a)
                .await,
            Err(StoreError::Invalid(_))
        ));
        // Linking from the alert side adds it to the incident's facts.
        store
            .link_alert(&f.id, "a3", &inc.id, &a)
            .await
            .expect("link");
        let reread = store.incident(&inc.id).await.expect("incident");
        assert_eq!(reread.facts.detection.alert_ids, ["a1", "a2", "a3"]);
        assert_eq!(
            store
                .alert(&f.id, "a3")
                .await
                .expect("a3")
                .incident
                .as_deref(),
            Some(inc.id.as_str())
        );
        // Another facility's alert cannot be linked to this incident.
        assert!(
            store
                .link_alert(&other.id, "b1", &inc.id, &a)
                .await
                .is_err()
        );

        // The CNIL sending stops its clock and keeps its channel.
        let sending = ops::SendingInput {
            duty: Duty::Cnil,
            sent_at: None,
            reference: Some("CNIL-1".into()),
            phase: Phase::Initial,
            lang: hygie_core::Lang::Fr,
            late_reason: None,
            text: Some("Notification envoyée".into()),
            channel: Some("portal".into()),
        };
        let inc = store
            .update_incident(&inc.id, &a, "incident.notify", |i| {
                ops::record_sending(i, &sending, now).map_err(IncidentChangeError::from)
            })
            .await
            .expect("sent");
        let o = inc.obligation(Duty::Cnil, now).expect("cnil");
        assert_eq!(o.status, ObligationStatus::Sent);
        let kept = store.incident_sendings(&inc.id).await.expect("sendings");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].channel.as_deref(), Some("portal"));
        assert_eq!(kept[0].snapshot, "Notification envoyée");

        let closed = store
            .update_incident(&inc.id, &a, "incident.close", |i| {
                ops::close(i, Some("handled".into()), now).map_err(IncidentChangeError::from)
            })
            .await
            .expect("close");
        assert_eq!(closed.status.as_str(), "closed");
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}

/// Incident ids are numbered per facility with its FINESS (issue 25): a facility's users cannot
/// tell from their ids how many incidents the others opened.
#[test]
fn incident_ids_are_numbered_per_facility() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        let other = facility("75000002", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        store.add_facility(&other, false, &a).await.expect("add");
        let now = jiff::Timestamp::now();
        let mut ids = Vec::new();
        for fac in [&f, &other, &other, &f, &f] {
            let input = FactsInput {
                title: Some("Rançongiciel".into()),
                ..breach_input()
            };
            let inc = store
                .open_incident(&fac.id, input, now, &a)
                .await
                .expect("open");
            ids.push(inc.id);
        }
        let (fi, oi) = (f.id.as_str(), other.id.as_str());
        assert_eq!(
            ids,
            [
                format!("INC-{fi}-00001"),
                format!("INC-{oi}-00001"),
                format!("INC-{oi}-00002"),
                format!("INC-{fi}-00002"),
                format!("INC-{fi}-00003"),
            ]
        );
        assert_eq!(ids[0], hygie_store::incident_id(&f.id, 1));
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 7 }
        );
    });
}
