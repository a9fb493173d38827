//! A campaign's life and the region's incident obligations, the store's side on both backends:
//! a reminder chases only the facilities that have not answered and is kept per facility; a
//! campaign is closed or withdrawn once (a second end, or a reminder after it, is refused and
//! changes nothing); all of it travels down in the requests file and updates the requests a
//! facility already received (withdrawn: no longer due). The obligations a package brings are
//! read back per facility of the region, judged at the region's instant. Journalled.

use super::{added_hospital, facility, m, on_each_backend};
use hygie_core::notifications::{NotificationFilter, NotificationState, RegionNotifications};
use hygie_core::{DeclaredStatus, FacilityKind, Region};
use hygie_store::{Actor, JournalCheck, StoreError};
use hygie_sync::{AnswerState, CampaignEnd, CampaignInput, Identity, ObligationRecord};

/// The facility's side: its requests file made, signed, opened and kept.
async fn receive(
    store: &hygie_store::Store,
    id: &hygie_core::Finess,
    key: &Identity,
    actor: &Actor,
) -> hygie_store::RequestsReceived {
    let bundle = store
        .requests_for(id, jiff::Timestamp::now())
        .await
        .expect("requests file");
    let bytes = hygie_sync::seal_requests(&bundle, key).expect("sealed");
    let opened = hygie_sync::open_requests(&bytes, &[key.public_key()], id).expect("opened");
    store
        .receive_requests(id, &opened, actor)
        .await
        .expect("received")
}

#[test]
fn a_campaign_is_chased_closed_or_withdrawn_and_the_facility_learns_it() {
    on_each_backend(|store| async move {
        let actor = Actor("ars-officer".into());
        let f = added_hospital(&store).await;
        let clinic = facility("75000002", "IDF", FacilityKind::Clinic);
        store.add_facility(&clinic, false, &actor).await.unwrap();
        let input = CampaignInput::parse(
            "IDF",
            "region",
            &["BCK-06".into()],
            "2099-03-31",
            "Test de restauration",
            "",
        )
        .unwrap();
        let c = store.create_request_campaign(&input, &actor).await.unwrap();
        let other = store.create_request_campaign(&input, &actor).await.unwrap();
        assert_eq!(c.status(), "open");
        // The hospital answers; the clinic does not.
        store
            .declare(
                &f.id,
                &m("BCK-06"),
                &DeclaredStatus::Implemented,
                Some("RSSI"),
                None,
                &actor,
            )
            .await
            .unwrap();
        store
            .add_evidence_file(&f.id, &m("BCK-06"), "restore.txt", b"restored", &actor)
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let r = store
            .remind_request_campaign(c.id, now, &actor)
            .await
            .unwrap();
        assert_eq!(r.facilities, vec![clinic.id.to_string()]);
        assert_eq!(r.by, "ars-officer");
        store
            .remind_request_campaign(c.id, now, &actor)
            .await
            .unwrap();
        let shown = store.request_campaign(c.id).await.unwrap();
        assert_eq!(shown.reminders.len(), 2);
        let states = store.request_campaign_states(&shown, now).await.unwrap();
        let clinic_row = states
            .iter()
            .find(|s| s.facility == clinic.id.as_str())
            .unwrap();
        assert_eq!(clinic_row.reminders, 2);
        assert!(clinic_row.reminded_at.is_some());
        let hospital_row = states.iter().find(|s| s.facility == f.id.as_str()).unwrap();
        assert_eq!(
            (hospital_row.reminders, hospital_row.state),
            (0, AnswerState::Answered)
        );

        // The clinic's file carries the reminder; the facility keeps it.
        let region_key = Identity::from_seed(&[5; 32]);
        store
            .trust_region_key(
                Region::parse("IDF").unwrap(),
                &region_key.public_key(),
                &actor,
            )
            .await
            .unwrap();
        let got = receive(&store, &clinic.id, &region_key, &actor).await;
        assert_eq!((got.new, got.updated), (2, 0));
        let received = store.received_requests(&clinic.id, now).await.unwrap();
        let mine = received
            .iter()
            .find(|r| r.request.campaign == c.id)
            .unwrap();
        assert_eq!(mine.request.reminded_at, clinic_row.reminded_at);

        // Withdrawn, then the file again: the known request is updated, no longer due.
        let w = store
            .end_request_campaign(c.id, CampaignEnd::Withdraw, &actor)
            .await
            .unwrap();
        assert_eq!(w.status(), "withdrawn");
        assert_eq!(w.withdrawn_by.as_deref(), Some("ars-officer"));
        assert!(w.status_label().fr.starts_with("retirée le"));
        let before = store.request_campaign(c.id).await.unwrap();
        for refused in [
            store
                .end_request_campaign(c.id, CampaignEnd::Close, &actor)
                .await
                .map(|_| ()),
            store
                .remind_request_campaign(c.id, now, &actor)
                .await
                .map(|_| ()),
        ] {
            assert!(
                matches!(refused, Err(StoreError::Conflict(_))),
                "{refused:?}"
            );
        }
        assert_eq!(store.request_campaign(c.id).await.unwrap(), before);
        let got = receive(&store, &clinic.id, &region_key, &actor).await;
        assert_eq!((got.new, got.updated), (0, 1));
        let again = receive(&store, &clinic.id, &region_key, &actor).await;
        assert_eq!((again.new, again.updated), (0, 0), "nothing changed since");
        let received = store.received_requests(&clinic.id, now).await.unwrap();
        let mine = received
            .iter()
            .find(|r| r.request.campaign == c.id)
            .unwrap();
        assert_eq!(mine.state, AnswerState::Withdrawn);
        assert!(mine.request.withdrawn_at.is_some());

        // The other campaign closed: the clinic's unanswered request is closed without an
        // answer, the hospital's answer stands; nobody is left to remind on an answered one.
        store
            .end_request_campaign(other.id, CampaignEnd::Close, &actor)
            .await
            .unwrap();
        let closed = store.request_campaign(other.id).await.unwrap();
        let states = store.request_campaign_states(&closed, now).await.unwrap();
        let by = |id: &str| states.iter().find(|s| s.facility == id).unwrap().state;
        assert_eq!(by(clinic.id.as_str()), AnswerState::Unanswered);
        assert_eq!(by(f.id.as_str()), AnswerState::Answered);
        assert!(matches!(
            store.verify_journal().await.unwrap(),
            JournalCheck::Intact { .. }
        ));
    });
}

#[test]
fn a_reminder_with_nobody_to_chase_is_refused() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let input = CampaignInput::parse(
            "IDF",
            &format!("facility:{}", f.id),
            &["BCK-06".into()],
            "2099-03-31",
            "x",
            "",
        )
        .unwrap();
        let c = store.create_request_campaign(&input, &actor).await.unwrap();
        store
            .declare(
                &f.id,
                &m("BCK-06"),
                &DeclaredStatus::Implemented,
                None,
                None,
                &actor,
            )
            .await
            .unwrap();
        store
            .add_evidence_file(&f.id, &m("BCK-06"), "r.txt", b"ok", &actor)
            .await
            .unwrap();
        let r = store
            .remind_request_campaign(c.id, jiff::Timestamp::now(), &actor)
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        assert!(
            store
                .request_campaign(c.id)
                .await
                .unwrap()
                .reminders
                .is_empty()
        );
        let missing = store
            .end_request_campaign(c.id + 1000, CampaignEnd::Close, &actor)
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound(_))),
            "{missing:?}"
        );
    });
}

#[test]
fn the_obligations_a_package_brings_are_read_per_facility_of_the_region() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let key = Identity::from_seed(&[1; 32]);
        store
            .enrol_key(&f.id, &key.public_key(), &actor)
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let snap = store.sync_snapshot(&f.id, now).await.unwrap();
        let mut facts = snap.facts.clone();
        let at = |hours: i64| (now + jiff::SignedDuration::from_hours(hours)).to_string();
        let o = |incident: &str, duty: &str, status: &str, due, sent: Option<String>, late| {
            ObligationRecord {
                incident: incident.into(),
                duty: duty.into(),
                status: status.into(),
                due: Some(due),
                sent,
                late,
            }
        };
        facts.obligations = vec![
            // Due in 48 h when exported, past due now: the region finds it late.
            o("INC-1", "cert_sante", "due", at(-2), None, false),
            o("INC-1", "cnil", "sent", at(-40), Some(at(-10)), true),
            o("INC-2", "cnil", "due", at(100), None, false),
        ];
        let package = hygie_sync::Package {
            finess: f.id.to_string(),
            sequence: 1,
            previous_hash: None,
            journal_head: snap.journal_head.clone(),
            created_at: now.to_string(),
            catalog_version: "test".into(),
            facts,
            rotation: None,
        };
        let sealed = hygie_sync::seal(&package, &key).unwrap();
        let opened = hygie_sync::open(&sealed.bytes).unwrap();
        let checked = opened.package.check("sync:test").unwrap();
        store
            .import_package(&opened, &checked, sealed.bytes.len() as u64)
            .await
            .unwrap();
        let idf = Region::parse("IDF").unwrap();
        let rows = store.region_obligations(idf).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].facility_name, f.name);
        assert_eq!(rows[0].departement, "75");
        assert_eq!(rows[0].duty_label.en, "Report to CERT Santé (ANS)");
        let n = RegionNotifications::of(idf, &rows, now, &NotificationFilter::default());
        assert_eq!((n.late, n.late_unsent, n.open_serious), (2, 1, 1));
        assert_eq!(n.lines[0].state, NotificationState::Late);
        assert_eq!(n.lines[0].duty, "cert_sante");
        assert_eq!(n.lines[1].state, NotificationState::SentLate);
        assert_eq!(n.lines[1].days_late, Some(2));
        assert!(
            store
                .region_obligations(Region::parse("BRE").unwrap())
                .await
                .unwrap()
                .is_empty()
        );
    });
}
