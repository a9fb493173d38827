//! Federation online, the store's side: a package's bytes are kept until the region
//! acknowledges it (then dropped, with every earlier one's), its facts' digest tells the next
//! push whether anything changed; at the region a push token belongs to the enrolment in force
//! and is refused once the key is revoked. Journalled, on both backends.

use super::{added_hospital, on_each_backend};
use hygie_store::{Actor, JournalCheck, StoreError};
use hygie_sync::{Identity, Package};

#[test]
fn packages_wait_for_their_acknowledgement_and_tokens_follow_the_enrolment() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f = added_hospital(&store).await;
        let id = Identity::from_seed(&[7; 32]);
        assert_eq!(store.last_export(&f.id).await.unwrap(), None);

        let seal = |seq: u64, prev: Option<String>, snap: hygie_store::SyncSnapshot| {
            let p = Package {
                finess: f.id.to_string(),
                sequence: seq,
                previous_hash: prev,
                journal_head: snap.journal_head,
                created_at: "2026-12-01T10:00:00Z".into(),
                catalog_version: "test".into(),
                facts: snap.facts,
                rotation: None,
            };
            let digest = p.facts.digest().unwrap();
            (hygie_sync::seal(&p, &id).unwrap(), digest)
        };
        let now = jiff::Timestamp::now();
        let (s1, d1) = seal(1, None, store.sync_snapshot(&f.id, now).await.unwrap());
        store
            .record_export(&f.id, 1, &s1, &d1, &actor)
            .await
            .unwrap();
        let last = store.last_export(&f.id).await.unwrap().unwrap();
        assert_eq!((last.sequence, last.acknowledged), (1, false));
        assert_eq!(last.bytes.as_deref(), Some(s1.bytes.as_slice()));
        assert_eq!(last.facts_digest.as_deref(), Some(d1.as_str()));
        // The snapshot carries it, so a push sends exactly these bytes again.
        let snap = store.sync_snapshot(&f.id, now).await.unwrap();
        assert_eq!(snap.last_export.as_ref(), Some(&last));

        // Package 2 is numbered before 1 is acknowledged; acknowledging 2 acknowledges 1. Every
        // package's bytes stay, to be re-issued (`sync export --resend`).
        let (s2, d2) = seal(2, Some(s1.hash.clone()), snap);
        store
            .record_export(&f.id, 2, &s2, &d2, &actor)
            .await
            .unwrap();
        let unknown = store.acknowledge_export(&f.id, 2, &s1.hash, &actor).await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound(_))),
            "{unknown:?}"
        );
        store
            .acknowledge_export(&f.id, 2, &s2.hash, &actor)
            .await
            .unwrap();
        let last = store.last_export(&f.id).await.unwrap().unwrap();
        assert_eq!((last.sequence, last.acknowledged), (2, true));
        assert_eq!(
            store.exported_package(&f.id, 1).await.unwrap(),
            Some((s1.hash.clone(), s1.bytes.clone()))
        );
        assert_eq!(store.exported_package(&f.id, 3).await.unwrap(), None);
        // Again: nothing to do, nothing journalled.
        let count = || async { store.journal_entries(None, None).await.unwrap().len() };
        let before = count().await;
        store
            .acknowledge_export(&f.id, 2, &s2.hash, &actor)
            .await
            .unwrap();
        assert_eq!(count().await, before);

        // Region side: no enrolment, no token; the token opens the enrolment in force only.
        let t1 = "d1".repeat(32);
        let none = store.set_push_token(&f.id, &t1, &actor).await;
        assert!(matches!(none, Err(StoreError::NotFound(_))), "{none:?}");
        store
            .enrol_key(&f.id, &id.public_key(), &actor)
            .await
            .unwrap();
        store.set_push_token(&f.id, &t1, &actor).await.unwrap();
        let h = store.push_token_holder(&t1).await.unwrap().unwrap();
        assert_eq!((h.facility.as_str(), h.revoked), (f.id.as_str(), false));
        // A new token replaces the old one.
        let t2 = "e2".repeat(32);
        store.set_push_token(&f.id, &t2, &actor).await.unwrap();
        assert_eq!(store.push_token_holder(&t1).await.unwrap(), None);
        store.revoke_key(&f.id, &actor).await.unwrap();
        assert!(store.push_token_holder(&t2).await.unwrap().unwrap().revoked);
        assert!(matches!(
            store.verify_journal().await.unwrap(),
            JournalCheck::Intact { .. }
        ));
        // The journal never holds the token or its digest.
        let text: String = store
            .journal_entries(None, None)
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{} {}\n", e.action, e.details))
            .collect();
        assert!(text.contains("sync.acknowledged") && text.contains("sync.push_token"));
        assert!(!text.contains(&t1) && !text.contains(&t2));
    });
}
