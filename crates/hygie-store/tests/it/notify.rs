//! The reminders' sending state (issue 24) for reminders about a facility (renewals, digests):
//! claimed once, then sent or released, each step journalled, listed with the incidents' ones.

use super::on_each_backend;
use hygie_store::{Actor, JournalCheck, SentMessage};

#[test]
fn a_scoped_reminder_is_claimed_once_then_sent_or_released() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let key = "renewal/750712184/GOV-05/2026-12-13/7d";
        let claim = || store.claim_scoped_reminder(key, "750712184", "renewal", "GOV-05", "7d", &a);
        assert!(claim().await.expect("claim"));
        // A second claimer (another process) gets nothing to send.
        assert!(!claim().await.expect("claim again"));
        // Released after a failed sending: the next run claims it again.
        store
            .release_reminder(key, "connection refused", &a)
            .await
            .expect("release");
        assert!(store.reminder_states().await.expect("states").is_empty());
        assert!(claim().await.expect("claim after release"));
        let msg = SentMessage {
            role: "ciso".into(),
            lang: "en".into(),
            subject: "[Hygie] Reminder".into(),
            digest: "00".into(),
        };
        store.reminder_sent(key, &[msg], &a).await.expect("sent");
        let states = store.reminder_states().await.expect("states");
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].key, key);
        assert_eq!(states[0].state, "sent");
        assert_eq!(states[0].incident, "750712184");
        assert_eq!(states[0].duty, "renewal:GOV-05");
        assert_eq!(states[0].messages, 1);
        assert!(!claim().await.expect("claim after sending"));
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}
