//! The tamper-evident journal: every change to the store is appended as an entry whose hash
//! covers its content and the previous entry's hash, so that editing, removing or reordering any
//! entry breaks the chain at that entry.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the journal, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub seq: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    /// What happened, e.g. `facility.add`, `assessment.set`.
    pub action: String,
    /// What it happened to, e.g. a FINESS number or `750712184/IAM-04`.
    pub subject: String,
    /// JSON details of the change (never a secret).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl JournalEntry {
    /// The hash its stored fields give now: differs from `hash` if any of them was edited.
    pub fn recomputed_hash(&self) -> String {
        entry_hash(
            self.seq,
            &self.prev_hash,
            &NewEntry {
                at: &self.at,
                actor: &self.actor,
                action: &self.action,
                subject: &self.subject,
                details: &self.details,
            },
        )
    }
}

/// The content of an entry before it is chained.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub details: &'a str,
}

/// The hash of an entry: SHA-256 over its fields, each length-prefixed so that no two different
/// entries serialise to the same bytes.
pub fn entry_hash(seq: i64, prev_hash: &str, e: &NewEntry<'_>) -> String {
    let mut h = Sha256::new();
    h.update(b"hygie-journal-v1");
    h.update(seq.to_be_bytes());
    for field in [prev_hash, e.at, e.actor, e.action, e.subject, e.details] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Chain a new entry after `(prev_seq, prev_hash)`.
pub fn chain(prev_seq: i64, prev_hash: &str, e: &NewEntry<'_>) -> JournalEntry {
    let seq = prev_seq + 1;
    JournalEntry {
        seq,
        at: e.at.to_owned(),
        actor: e.actor.to_owned(),
        action: e.action.to_owned(),
        subject: e.subject.to_owned(),
        details: e.details.to_owned(),
        prev_hash: prev_hash.to_owned(),
        hash: entry_hash(seq, prev_hash, e),
    }
}

/// What is wrong with a journal, naming the first entry where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq} was edited: its content no longer matches its hash")]
    Edited { seq: i64 },
    #[error("entry {expected} is missing (the next entry found is {found}): entries were removed")]
    Missing { expected: i64, found: i64 },
    #[error("entry {seq} does not follow entry {prev}: entries were reordered or replaced")]
    Unlinked { seq: i64, prev: i64 },
    #[error(
        "the journal ends at entry {last} but its head records entry {head}: the latest entries were removed or the head was altered"
    )]
    Truncated { last: i64, head: i64 },
}

/// Verify a whole journal, in `seq` order, against its recorded head `(seq, hash)`.
pub fn verify(entries: &[JournalEntry], head: Option<(i64, &str)>) -> Result<usize, ChainBreak> {
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS.to_owned();
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(ChainBreak::Missing {
                expected: prev_seq + 1,
                found: e.seq,
            });
        }
        if e.recomputed_hash() != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak::Unlinked {
                seq: e.seq,
                prev: prev_seq,
            });
        }
        prev_seq = e.seq;
        prev_hash = e.hash.clone();
    }
    let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
    if head_seq != prev_seq || head_hash != prev_hash {
        return Err(ChainBreak::Truncated {
            last: prev_seq,
            head: head_seq,
        });
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(n: usize) -> Vec<JournalEntry> {
        let mut out: Vec<JournalEntry> = Vec::new();
        for i in 0..n {
            let (seq, hash) = out
                .last()
                .map(|e| (e.seq, e.hash.clone()))
                .unwrap_or((0, GENESIS.into()));
            let details = format!("{{\"i\":{i}}}");
            out.push(chain(
                seq,
                &hash,
                &NewEntry {
                    at: "2026-11-22T10:00:00Z",
                    actor: "cli",
                    action: "x",
                    subject: "s",
                    details: &details,
                },
            ));
        }
        out
    }

    fn head(j: &[JournalEntry]) -> Option<(i64, &str)> {
        j.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn intact_chain_verifies() {
        let j = journal(5);
        assert_eq!(verify(&j, head(&j)), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn each_kind_of_tampering_names_the_entry() {
        let j = journal(5);
        let h = (j[4].seq, j[4].hash.clone());
        let hd = Some((h.0, h.1.as_str()));

        let mut edited = j.clone();
        edited[2].details = "{\"i\":99}".into();
        assert_eq!(verify(&edited, hd), Err(ChainBreak::Edited { seq: 3 }));

        let mut removed = j.clone();
        removed.remove(1);
        assert_eq!(
            verify(&removed, hd),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );

        let mut reordered = j.clone();
        reordered.swap(1, 2);
        reordered[1].seq = 2;
        reordered[2].seq = 3;
        assert!(matches!(
            verify(&reordered, hd),
            Err(ChainBreak::Edited { seq: 2 })
        ));

        let truncated = &j[..4];
        assert_eq!(
            verify(truncated, hd),
            Err(ChainBreak::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn rehashed_edit_is_still_caught_by_the_next_link() {
        let mut j = journal(4);
        j[1].details = "{\"i\":42}".into();
        let e = &j[1];
        j[1].hash = e.recomputed_hash();
        let last = j[3].clone();
        assert_eq!(
            verify(&j, Some((last.seq, &last.hash))),
            Err(ChainBreak::Unlinked { seq: 3, prev: 2 })
        );
    }
}
