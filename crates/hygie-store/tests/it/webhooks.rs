//! The webhooks' outbox (issue 24): events written in the transaction of what they tell of,
//! deliveries planned per endpoint within its queue limit, claimed by one sender at a time,
//! each attempt journalled.

use super::{facility, on_each_backend};
use hygie_core::{Alert, FacilityKind};
use hygie_incident::FactsInput;
use hygie_notify::webhook::{Endpoint, EventType};
use hygie_store::{Actor, Attempt, JournalCheck};
use jiff::{SignedDuration, Timestamp};

fn alert(id: &str, level: &str) -> Alert {
    Alert {
        id: id.into(),
        rule_id: "r1".into(),
        title: "Rule r1".into(),
        level: level.into(),
        tags: vec![],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: None,
        host: Some("pc-jdupont".into()),
        record_id: 7,
        source: "sec.evtx".into(),
        fields: vec![],
        count: 1,
    }
}

fn endpoint(name: &str, queue_limit: u32, events: Vec<EventType>) -> Endpoint {
    Endpoint {
        name: name.into(),
        url: "https://siem.example/hook".parse().expect("uri"),
        facility: None,
        secret_file: "/dev/null".into(),
        ca_cert: None,
        events,
        max_attempts: 3,
        backoff: SignedDuration::from_secs(60),
        queue_limit,
    }
}

#[test]
fn events_are_enqueued_once_and_delivered_by_one_claimer() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        // A critical alert and a high one: only the critical one is an event; recording it
        // again is not a second event.
        let alerts = [alert("c1", "critical"), alert("h1", "high")];
        store
            .record_alerts(&f.id, &alerts, &a)
            .await
            .expect("alerts");
        store
            .record_alerts(&f.id, &alerts, &a)
            .await
            .expect("again");
        let input = FactsInput {
            title: Some("Fuite chez M. Dupont".into()),
            awareness: Some((Timestamp::now() - SignedDuration::from_hours(1)).to_string()),
            personal_data_breach: Some("risk".into()),
            ..FactsInput::default()
        };
        let inc = store
            .open_incident(&f.id, input, Timestamp::now(), &a)
            .await
            .expect("open");

        let all = endpoint("all", 100, vec![]);
        let only_incidents = endpoint("inc", 100, vec![EventType::IncidentOpened]);
        let (queued, dropped) = store
            .plan_deliveries(&[all.clone(), only_incidents.clone()], &a)
            .await
            .expect("plan");
        assert_eq!((queued, dropped), (3, 0));
        // Planning again adds nothing.
        assert_eq!(
            store
                .plan_deliveries(&[all, only_incidents], &a)
                .await
                .expect("plan"),
            (0, 0)
        );

        // One claimer takes them; a second one at the same time finds nothing.
        let names = vec!["all".to_owned(), "inc".to_owned()];
        let lease = SignedDuration::from_secs(60);
        let now = Timestamp::now() + SignedDuration::from_secs(1);
        let first = store
            .claim_deliveries(&names, now, lease, 10, &Actor("p1".into()))
            .await
            .expect("claim");
        assert_eq!(first.len(), 3);
        let second = store
            .claim_deliveries(&names, now, lease, 10, &Actor("p2".into()))
            .await
            .expect("claim");
        assert!(second.is_empty());
        let crit = first
            .iter()
            .find(|d| d.kind == "alert.critical")
            .expect("the critical alert's event");
        assert!(!crit.body.contains("pc-jdupont"), "{}", crit.body);
        for d in &first {
            assert!(!d.body.contains("Dupont"), "{}", d.body);
        }
        assert!(
            first
                .iter()
                .any(|d| d.event == format!("incident/{}", inc.id) && d.endpoint == "inc")
        );

        // Outcomes: one delivered, one to retry, one failed; only the claimer may record.
        let p1 = Actor("p1".into());
        assert!(
            store
                .delivery_attempted(
                    &first[0],
                    &Attempt::Delivered { status: 200 },
                    &Actor("p2".into())
                )
                .await
                .is_err()
        );
        store
            .delivery_attempted(&first[0], &Attempt::Delivered { status: 200 }, &p1)
            .await
            .expect("delivered");
        let next = Timestamp::now() + SignedDuration::from_secs(3600);
        store
            .delivery_attempted(
                &first[1],
                &Attempt::Retry {
                    status: Some(500),
                    error: "HTTP 500".into(),
                    next,
                },
                &p1,
            )
            .await
            .expect("retry");
        store
            .delivery_attempted(
                &first[2],
                &Attempt::Failed {
                    status: None,
                    error: "connection refused".into(),
                },
                &p1,
            )
            .await
            .expect("failed");
        // The retry is not due yet; at its time it is claimed again.
        assert!(
            store
                .claim_deliveries(&names, now, lease, 10, &p1)
                .await
                .expect("claim")
                .is_empty()
        );
        let again = store
            .claim_deliveries(&names, next + SignedDuration::from_secs(1), lease, 10, &p1)
            .await
            .expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);

        let failed = store
            .webhook_deliveries(Some(&f.id), true, 10)
            .await
            .expect("list");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].last_error.as_deref(), Some("connection refused"));
        let journal = store.journal_entries(None, None).await.expect("journal");
        assert_eq!(
            journal
                .iter()
                .filter(|e| e.action == "webhook.attempt")
                .count(),
            3
        );
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}

#[test]
fn a_full_queue_fails_the_overflow_at_once() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        store.add_facility(&f, false, &a).await.expect("add");
        let alerts: Vec<Alert> = (0..5)
            .map(|i| alert(&format!("c{i}"), "critical"))
            .collect();
        store
            .record_alerts(&f.id, &alerts, &a)
            .await
            .expect("alerts");
        let (queued, dropped) = store
            .plan_deliveries(&[endpoint("small", 2, vec![])], &a)
            .await
            .expect("plan");
        assert_eq!((queued, dropped), (2, 3));
        let failed = store
            .webhook_deliveries(None, true, 10)
            .await
            .expect("list");
        assert_eq!(failed.len(), 3);
        assert!(failed.iter().all(|d| {
            d.last_error
                .as_deref()
                .is_some_and(|e| e.contains("queue full"))
        }));
    });
}
