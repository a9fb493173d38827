//! The region's decisions about a package whose signature verified: is its key enrolled for
//! its facility, and does it follow the last package imported from there.

use crate::{PublicKey, Refusal};

/// One enrolment of a key, as the region keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub finess: String,
    pub revoked: bool,
}

/// Accept the key only if it is enrolled, not revoked, for the package's facility.
/// `enrolments` are every enrolment of this key, whatever the facility.
pub fn authorise(finess: &str, key: &PublicKey, enrolments: &[Enrolment]) -> Result<(), Refusal> {
    let mine: Vec<&Enrolment> = enrolments.iter().filter(|e| e.finess == finess).collect();
    if mine.iter().any(|e| !e.revoked) {
        return Ok(());
    }
    if !mine.is_empty() {
        return Err(Refusal::RevokedKey {
            finess: finess.to_owned(),
            fingerprint: key.fingerprint(),
        });
    }
    match enrolments.first() {
        Some(other) => Err(Refusal::OtherFacility {
            package: finess.to_owned(),
            enrolled: other.finess.clone(),
        }),
        None => Err(Refusal::UnknownKey {
            fingerprint: key.fingerprint(),
        }),
    }
}

/// The last package imported from a facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub sequence: u64,
    pub hash: String,
}

/// What to do with a package that passed every other check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It is the next one: store it.
    Import,
    /// It is the last one imported, received again: nothing to do (an idempotent success).
    AlreadyImported,
}

/// Decide from the package's place in the sequence. `seen` is the sequence of an imported
/// package with the same hash, if any.
pub fn admit(
    sequence: u64,
    previous_hash: Option<&str>,
    last: Option<&Imported>,
    seen: Option<u64>,
) -> Result<Admission, Refusal> {
    if let Some(s) = seen {
        return match last {
            Some(l) if l.sequence == s => Ok(Admission::AlreadyImported),
            Some(l) => Err(Refusal::Replay {
                sequence: s,
                last: l.sequence,
            }),
            // A hash seen with no last package cannot happen; refuse rather than guess.
            None => Err(Refusal::Replay {
                sequence: s,
                last: s,
            }),
        };
    }
    match last {
        None if sequence == 1 => Ok(Admission::Import),
        None => Err(Refusal::Gap {
            sequence,
            expected: 1,
        }),
        Some(l) if sequence <= l.sequence => Err(Refusal::Rollback {
            sequence,
            last: l.sequence,
        }),
        Some(l) if sequence > l.sequence + 1 => Err(Refusal::Gap {
            sequence,
            expected: l.sequence + 1,
        }),
        Some(l) if previous_hash != Some(l.hash.as_str()) => Err(Refusal::Fork { sequence }),
        Some(_) => Ok(Admission::Import),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;

    fn key() -> PublicKey {
        Identity::from_seed(&[1; 32]).public_key()
    }

    fn enrolled(finess: &str, revoked: bool) -> Enrolment {
        Enrolment {
            finess: finess.into(),
            revoked,
        }
    }

    #[test]
    fn a_key_counts_only_for_its_own_facility_and_while_not_revoked() {
        let k = key();
        assert_eq!(
            authorise("750712184", &k, &[enrolled("750712184", false)]),
            Ok(())
        );
        // Rotated: the old enrolment is revoked, the new one stands.
        assert_eq!(
            authorise(
                "750712184",
                &k,
                &[enrolled("750712184", true), enrolled("750712184", false)]
            ),
            Ok(())
        );
        assert_eq!(
            authorise("750712184", &k, &[enrolled("750712184", true)]).map_err(|e| e.code()),
            Err("revoked_key")
        );
        assert_eq!(
            authorise("750712184", &k, &[enrolled("690000005", false)]).map_err(|e| e.code()),
            Err("other_facility")
        );
        assert_eq!(
            authorise("750712184", &k, &[]).map_err(|e| e.code()),
            Err("unknown_key")
        );
    }

    #[test]
    fn the_sequence_must_follow_without_gap_rollback_replay_or_fork() {
        let last = Imported {
            sequence: 3,
            hash: "h3".into(),
        };
        let code = |r: Result<Admission, Refusal>| r.map_err(|e| e.code());
        assert_eq!(code(admit(1, None, None, None)), Ok(Admission::Import));
        assert_eq!(code(admit(2, Some("h1"), None, None)), Err("out_of_order"));
        assert_eq!(
            code(admit(4, Some("h3"), Some(&last), None)),
            Ok(Admission::Import)
        );
        assert_eq!(
            code(admit(3, Some("h2"), Some(&last), Some(3))),
            Ok(Admission::AlreadyImported)
        );
        assert_eq!(
            code(admit(2, Some("h1"), Some(&last), Some(2))),
            Err("replay")
        );
        assert_eq!(
            code(admit(2, Some("h1"), Some(&last), None)),
            Err("rollback")
        );
        assert_eq!(
            code(admit(3, Some("h2"), Some(&last), None)),
            Err("rollback")
        );
        assert_eq!(
            code(admit(5, Some("h4"), Some(&last), None)),
            Err("out_of_order")
        );
        assert_eq!(code(admit(4, Some("hX"), Some(&last), None)), Err("fork"));
    }
}
