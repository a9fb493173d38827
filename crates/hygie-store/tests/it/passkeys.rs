//! Passkeys (issue 23): several named per user, registration and removal journalled (never the
//! credential), the administrator's recovery (all removed, sessions ended), the user handle
//! kept once, and the ceremonies several servers share: taken once, for their purpose and user
//! only, before their end. On both backends.

use super::{facility, on_each_backend};
use hygie_core::FacilityKind;
use hygie_store::{
    Access, Actor, Binding, Ceremony, JournalCheck, NewUser, Role, SessionStage, Store, StoreError,
    User,
};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
/// A credential record as the web layer keeps it: public material only.
const RECORD: &str = r#"{"cred":{"cred_id":"AQID","counter":0,"public_key":"pk"}}"#;

async fn new_user(store: &Store, name: &str, role: Role) -> User {
    let binding = if role == Role::Administrator {
        Binding::Installation
    } else {
        let f = facility("75000001", "IDF", FacilityKind::Hospital);
        if store.facility(&f.id).await.is_err() {
            store
                .add_facility(&f, false, &Actor("test".into()))
                .await
                .expect("add");
        }
        Binding::Facilities {
            facilities: vec![f.id],
        }
    };
    store
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: format!("User {name}"),
                role,
                binding,
                password_hash: HASH.into(),
                lang: None,
            },
            &Actor("test".into()),
        )
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

fn in_minutes(m: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() + jiff::SignedDuration::from_mins(m)
}

#[test]
fn passkeys_are_named_listed_removed_and_journalled() {
    on_each_backend(|store| async move {
        let boss = new_user(&store, "boss", Role::Administrator).await;
        let alice = new_user(&store, "alice", Role::Ciso).await;
        let bob = new_user(&store, "bob", Role::Dpo).await;
        let own = Access::for_user(&alice);
        let me = store.scoped(&own);
        me.add_my_passkey("cred-1", "  office laptop ", RECORD)
            .await
            .expect("add");
        me.add_my_passkey("cred-2", "phone", RECORD)
            .await
            .expect("add");
        let names: Vec<String> = me
            .my_passkeys()
            .await
            .expect("list")
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["office laptop", "phone"]);
        assert_eq!(store.passkey_count(alice.id).await.expect("count"), 2);
        // One credential belongs to one account.
        let again = store
            .scoped(&Access::for_user(&bob))
            .add_my_passkey("cred-1", "stolen", RECORD)
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        for bad in ["", "   ", &"x".repeat(101)] {
            assert!(matches!(
                me.add_my_passkey("cred-3", bad, RECORD).await,
                Err(StoreError::Invalid(_))
            ));
        }
        // A user removes only their own.
        assert!(
            !store
                .scoped(&Access::for_user(&bob))
                .remove_my_passkey("cred-2")
                .await
                .expect("remove")
        );
        assert!(me.remove_my_passkey("cred-2").await.expect("remove"));
        assert!(!me.remove_my_passkey("cred-2").await.expect("again"));

        // A sign-in moves the record and the time of use.
        store
            .passkey_used("cred-1", r#"{"counter":7}"#)
            .await
            .expect("used");
        let kept = store.passkeys_of(alice.id).await.expect("read");
        assert_eq!(kept[0].credential, r#"{"counter":7}"#);
        assert!(kept[0].info.last_used.is_some());

        // Only administrators see counts and recover; the counts are of their users.
        assert!(me.passkey_counts().await.is_err());
        assert!(me.remove_user_passkeys(bob.id).await.is_err());
        let admin = Access::for_user(&boss);
        let scoped = store.scoped(&admin);
        assert_eq!(
            scoped
                .passkey_counts()
                .await
                .expect("counts")
                .get(&alice.id),
            Some(&1)
        );
        let exp = in_minutes(60);
        store
            .create_session("s-alice", alice.id, SessionStage::Full, exp, "")
            .await
            .expect("session");
        assert_eq!(
            scoped
                .remove_user_passkeys(alice.id)
                .await
                .expect("recover"),
            1
        );
        assert_eq!(store.passkey_count(alice.id).await.expect("count"), 0);
        assert!(store.session("s-alice").await.expect("read").is_none());

        let journal = store.journal_entries(None, None).await.expect("journal");
        let of = |action: &str| {
            journal
                .iter()
                .filter(|e| e.action == action && e.subject == "alice")
                .map(|e| (e.actor.clone(), e.details.clone()))
                .collect::<Vec<_>>()
        };
        let registered = of("passkey.registered");
        assert_eq!(registered.len(), 2, "{registered:?}");
        assert_eq!(registered[0].0, "web:alice");
        assert!(registered[0].1.contains("\"name\":\"office laptop\""));
        let removed = of("passkey.removed");
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(removed[0].1.contains("\"name\":\"phone\""));
        assert_eq!(removed[1].0, "web:boss");
        assert!(
            removed[1].1.contains("\"names\":[\"office laptop\"]"),
            "{removed:?}"
        );
        assert!(removed[1].1.contains("\"sessions_ended\":1"), "{removed:?}");
        for e in &journal {
            assert!(!e.details.contains("public_key") && !e.details.contains("cred-1"));
        }
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));

        // A deleted user takes their passkeys and handle along.
        store
            .scoped(&Access::for_user(&bob))
            .add_my_passkey("cred-9", "key", RECORD)
            .await
            .expect("add");
        store
            .passkey_handle(bob.id, "handle-bob")
            .await
            .expect("handle");
        store
            .delete_user(bob.id, &Actor("web:boss".into()))
            .await
            .expect("delete");
        assert_eq!(
            store
                .user_by_passkey_handle("handle-bob")
                .await
                .expect("read"),
            None
        );
        assert_eq!(
            store.passkey_counts().await.expect("counts").get(&bob.id),
            None
        );
    });
}

#[test]
fn the_user_handle_is_made_once() {
    on_each_backend(|store| async move {
        let alice = new_user(&store, "alice", Role::Ciso).await;
        let first = store.passkey_handle(alice.id, "h-1").await.expect("handle");
        let second = store.passkey_handle(alice.id, "h-2").await.expect("handle");
        assert_eq!((first.as_str(), second.as_str()), ("h-1", "h-1"));
        assert_eq!(
            store.user_by_passkey_handle("h-1").await.expect("read"),
            Some(alice.id)
        );
        assert_eq!(
            store.user_by_passkey_handle("h-2").await.expect("read"),
            None
        );
    });
}

#[test]
fn a_ceremony_is_taken_once_for_its_purpose_and_user_before_its_end() {
    on_each_backend(|store| async move {
        let alice = new_user(&store, "alice", Role::Ciso).await;
        let put = |id: &'static str, purpose, user, end| {
            let store = store.clone();
            async move {
                store
                    .put_ceremony(id, purpose, user, "{\"state\":1}", end)
                    .await
                    .expect("put")
            }
        };
        put("c1", Ceremony::Register, alice.id, in_minutes(5)).await;
        // A second server (another handle on the same database) finishes it, once.
        let other = store.clone();
        assert_eq!(
            other
                .take_ceremony("c1", Ceremony::Register, alice.id)
                .await
                .expect("take")
                .as_deref(),
            Some("{\"state\":1}")
        );
        assert_eq!(
            store
                .take_ceremony("c1", Ceremony::Register, alice.id)
                .await
                .expect("take"),
            None
        );
        // Another purpose or another user spends it without getting it.
        put("c2", Ceremony::SecondFactor, alice.id, in_minutes(5)).await;
        assert_eq!(
            store
                .take_ceremony("c2", Ceremony::Passwordless, 0)
                .await
                .expect("take"),
            None
        );
        assert_eq!(
            store
                .take_ceremony("c2", Ceremony::SecondFactor, alice.id)
                .await
                .expect("take"),
            None
        );
        put("c3", Ceremony::SecondFactor, alice.id, in_minutes(5)).await;
        assert_eq!(
            store
                .take_ceremony("c3", Ceremony::SecondFactor, alice.id + 1)
                .await
                .expect("take"),
            None
        );
        // An ended one is refused, and purged when the next is stored.
        put("c4", Ceremony::Passwordless, 0, in_minutes(-1)).await;
        put("c5", Ceremony::Passwordless, 0, in_minutes(5)).await;
        assert_eq!(
            store
                .take_ceremony("c4", Ceremony::Passwordless, 0)
                .await
                .expect("take"),
            None
        );
        assert!(
            store
                .take_ceremony("c5", Ceremony::Passwordless, 0)
                .await
                .expect("take")
                .is_some()
        );
        // A single sign-on waiting for its callback is no passkey's ceremony, and the reverse.
        put("c6", Ceremony::SingleSignOn, 0, in_minutes(5)).await;
        assert_eq!(
            store
                .take_ceremony("c6", Ceremony::Passwordless, 0)
                .await
                .expect("take"),
            None
        );
        put("c7", Ceremony::SingleSignOn, 0, in_minutes(5)).await;
        assert!(
            store
                .take_ceremony("c7", Ceremony::SingleSignOn, 0)
                .await
                .expect("take")
                .is_some()
        );
    });
}
