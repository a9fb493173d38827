//! Requests and campaigns, and key rotation, the store's side on both backends: a campaign
//! asks the facilities its target includes (none is an error), each request's state follows the
//! facts stored (declared and evidenced after the request); a facility keeps a requests file
//! once, only from the region its key is trusted for; a rotation moves the enrolment in force
//! and its push token, and one naming another old key changes nothing. Journalled.

use super::{added_hospital, facility, on_each_backend};
use hygie_core::{DeclaredStatus, FacilityKind, MeasureId, Region};
use hygie_store::{Actor, JournalCheck, StoreError};
use hygie_sync::{AnswerState, CampaignInput, Identity, Rotation};

#[test]
fn a_campaign_asks_its_target_and_reads_the_answer_from_the_facts() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let clinic = facility("75000002", "IDF", FacilityKind::Clinic);
        store.add_facility(&clinic, false, &actor).await.unwrap();
        let input = |target: &str| {
            CampaignInput::parse(
                "IDF",
                target,
                &["BCK-06".into()],
                "2099-03-31",
                "Test de restauration",
                "",
            )
            .unwrap()
        };
        let c = store
            .create_request_campaign(&input("kind:hospital"), &actor)
            .await
            .unwrap();
        assert_eq!(c.facilities, vec![f.id.to_string()]);
        let none = store
            .create_request_campaign(&input("kind:imaging"), &actor)
            .await;
        assert!(matches!(none, Err(StoreError::NotFound(_))), "{none:?}");
        let all = store
            .create_request_campaign(&input("region"), &actor)
            .await
            .unwrap();
        assert_eq!(all.facilities.len(), 2);
        let listed = store
            .request_campaigns(Region::parse("IDF").unwrap())
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![all.id, c.id]
        );

        let now = jiff::Timestamp::now();
        let state = |c: hygie_store::RequestCampaign| {
            let store = store.clone();
            async move {
                store
                    .request_campaign_states(&c, jiff::Timestamp::now())
                    .await
                    .unwrap()[0]
                    .state
            }
        };
        assert_eq!(state(c.clone()).await, AnswerState::Open);
        let m = MeasureId::parse("BCK-06").unwrap();
        store
            .declare(
                &f.id,
                &m,
                &DeclaredStatus::Implemented,
                Some("RSSI"),
                None,
                &actor,
            )
            .await
            .unwrap();
        assert_eq!(
            state(c.clone()).await,
            AnswerState::Open,
            "declared, no evidence yet"
        );
        store
            .add_evidence_file(&f.id, &m, "restore.txt", b"42 files restored", &actor)
            .await
            .unwrap();
        assert_eq!(state(c.clone()).await, AnswerState::Answered);

        // The facility's side: the region's key trusted, its file kept once.
        let region_key = Identity::from_seed(&[5; 32]);
        let bundle = store.requests_for(&f.id, now).await.unwrap();
        assert_eq!(bundle.requests.len(), 2);
        let bytes = hygie_sync::seal_requests(&bundle, &region_key).unwrap();
        let opened = hygie_sync::open_requests(&bytes, &[region_key.public_key()], &f.id).unwrap();
        let untrusted = store.receive_requests(&f.id, &opened, &actor).await;
        assert!(
            matches!(untrusted, Err(StoreError::Refused(_))),
            "{untrusted:?}"
        );
        store
            .trust_region_key(
                Region::parse("IDF").unwrap(),
                &region_key.public_key(),
                &actor,
            )
            .await
            .unwrap();
        let got = store
            .receive_requests(&f.id, &opened, &actor)
            .await
            .unwrap();
        assert_eq!((got.requests, got.new), (2, 2));
        let again = store
            .receive_requests(&f.id, &opened, &actor)
            .await
            .unwrap();
        assert_eq!(again.new, 0);
        let received = store.received_requests(&f.id, now).await.unwrap();
        assert_eq!(received.len(), 2);
        assert!(received.iter().all(|r| r.state == AnswerState::Answered));
        assert!(matches!(
            store.verify_journal().await.unwrap(),
            JournalCheck::Intact { .. }
        ));
    });
}

#[test]
fn a_rotation_moves_the_enrolment_in_force_only() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let old = Identity::from_seed(&[1; 32]);
        let new = Identity::from_seed(&[2; 32]);
        let stranger = Identity::from_seed(&[3; 32]);
        store
            .enrol_key(&f.id, &old.public_key(), &actor)
            .await
            .unwrap();
        store
            .set_push_token(&f.id, "digest-1", &actor)
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let forged = Rotation::sign(&stranger, &new.public_key(), now).unwrap();
        let refused = store.rotate_key(&f.id, &forged).await;
        assert!(
            matches!(refused, Err(StoreError::Refused(_))),
            "{refused:?}"
        );
        let rotation = Rotation::sign(&old, &new.public_key(), now).unwrap();
        assert!(store.rotate_key(&f.id, &rotation).await.unwrap());
        assert!(
            !store.rotate_key(&f.id, &rotation).await.unwrap(),
            "the same again"
        );
        let keys = store.enrolled_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].revoked_at.is_some());
        assert_eq!(keys[1].public_key, new.public_key().hex());
        assert!(keys[1].revoked_at.is_none());
        let holder = store.push_token_holder("digest-1").await.unwrap().unwrap();
        assert!(!holder.revoked, "the push token follows the enrolment");
        assert!(matches!(
            store.verify_journal().await.unwrap(),
            JournalCheck::Intact { .. }
        ));
    });
}

#[test]
fn a_refused_package_leaves_its_rotation_unapplied() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let old = Identity::from_seed(&[1; 32]);
        let new = Identity::from_seed(&[2; 32]);
        store
            .enrol_key(&f.id, &old.public_key(), &actor)
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let rotation = Rotation::sign(&old, &new.public_key(), now).unwrap();
        let snap = store.sync_snapshot(&f.id, now).await.unwrap();
        let package = |sequence: u64| hygie_sync::Package {
            finess: f.id.to_string(),
            sequence,
            // After the first, a package names one before it: here one the region never saw.
            previous_hash: (sequence > 1).then(|| "ab".repeat(32)),
            journal_head: snap.journal_head.clone(),
            created_at: "2026-12-01T10:00:00Z".into(),
            catalog_version: "test".into(),
            facts: snap.facts.clone(),
            rotation: Some(rotation.clone()),
        };
        let import = |sequence: u64| {
            let sealed = hygie_sync::seal(&package(sequence), &new).unwrap();
            let store = store.clone();
            async move {
                let opened = hygie_sync::open(&sealed.bytes).unwrap();
                let checked = opened.package.check("sync:test").unwrap();
                store
                    .import_package(&opened, &checked, sealed.bytes.len() as u64)
                    .await
            }
        };
        // Package 2 with nothing before it: refused as a gap, and its rotation with it.
        let gap = import(2).await;
        assert!(matches!(gap, Err(StoreError::Refused(_))), "{gap:?}");
        let keys = store.enrolled_keys().await.unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys[0].public_key, old.public_key().hex());
        assert!(keys[0].revoked_at.is_none());
        // Package 1 is imported, and the enrolment moves to the key that signed it.
        assert_eq!(import(1).await.unwrap().outcome, "imported");
        let keys = store.enrolled_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].revoked_at.is_some());
        assert_eq!(keys[1].public_key, new.public_key().hex());
    });
}
