//! Whether an incident's stored record is the one the journal vouches for.

use hygie_core::journal::JournalEntry;

/// What is wrong with an incident's record, in words (empty: intact). `chain_broken`: why the
/// journal's hash chain is broken, if it is; `stored_digest`: the digest stored with the record;
/// `recomputed`: the digest of the record as read; `entries`: the incident's journal entries,
/// the last of which carries the digest of the last journalled version.
pub fn record_problems(
    chain_broken: Option<&str>,
    stored_digest: &str,
    recomputed: &str,
    entries: &[JournalEntry],
) -> Vec<String> {
    let journalled_digest = entries.last().and_then(|e| {
        serde_json::from_str::<serde_json::Value>(&e.details)
            .ok()?
            .get("digest")?
            .as_str()
            .map(str::to_owned)
    });
    let mut problems = Vec::new();
    if let Some(b) = chain_broken {
        problems.push(format!("journal chain broken: {b}"));
    }
    if stored_digest != recomputed {
        problems.push(
            "the stored record does not match its own digest: it was edited outside Hygie".into(),
        );
    }
    if journalled_digest.as_deref() != Some(recomputed) {
        problems.push(
            "the stored record differs from the last journalled version: it was edited outside Hygie".into(),
        );
    }
    problems
}
