//! The facility's side of the online transport (`hygie sync push`): what to send next, and what
//! the region's answer means for the package sent.
//!
//! A package is numbered when it is exported, and the region admits only the next number after
//! the last it imported. So a package that was exported but whose receipt the region never
//! confirmed (a network failure, a crash, a file carried by hand) is sent again **byte for byte**
//! before anything newer: if the region did import it, it answers "already imported" and the
//! facility marks it acknowledged; if not, it imports it now. Making a new package in its place
//! would either leave a gap or, if the lost one had arrived, fork the chain. A new package is made
//! only when the facts differ from the last one acknowledged (`Facts::digest`), so pushing with
//! nothing new sends nothing.

use crate::{Facts, Refusal, canonical_json};
use sha2::{Digest, Sha256};

impl Facts {
    /// SHA-256 (hex) of the facts' canonical JSON: equal facts, equal digest.
    pub fn digest(&self) -> Result<String, Refusal> {
        let value = serde_json::to_value(self).map_err(|e| Refusal::Malformed(e.to_string()))?;
        Ok(hex::encode(Sha256::digest(canonical_json(&value)?)))
    }
}

/// The last package a facility exported, as its store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastExport {
    pub sequence: u64,
    pub hash: String,
    /// Digest of its facts (`Facts::digest`); absent for packages exported before it was kept.
    pub facts_digest: Option<String>,
    /// Whether the region confirmed it (imported, or already imported).
    pub acknowledged: bool,
    /// Its sealed bytes (absent for packages exported before they were kept).
    pub bytes: Option<Vec<u8>>,
}

/// What a push does first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStep {
    /// Send again the package not yet acknowledged (its sequence and bytes).
    Resend { sequence: u64, bytes: Vec<u8> },
    /// Export a new package and send it.
    Export,
    /// The region has everything: the facts equal the last acknowledged package's.
    NothingNew,
}

/// The next step, given the last export and the digest of the facts as they are now.
pub fn next_push(last: Option<&LastExport>, facts_digest: &str) -> PushStep {
    match last {
        None => PushStep::Export,
        Some(l) if !l.acknowledged => match &l.bytes {
            Some(b) => PushStep::Resend {
                sequence: l.sequence,
                bytes: b.clone(),
            },
            // Its bytes are gone (an export of an older version): a new package follows it,
            // which the region takes if it had the lost one and refuses as a gap otherwise.
            None => PushStep::Export,
        },
        Some(l) if l.facts_digest.as_deref() == Some(facts_digest) => PushStep::NothingNew,
        Some(_) => PushStep::Export,
    }
}

/// What the region answered to one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAnswer {
    /// Stored now.
    Imported,
    /// The region had it: nothing changed there.
    AlreadyImported,
    /// Refused with this stable code and reason (English, French): not acknowledged.
    Refused {
        code: String,
        en: String,
        fr: String,
    },
}

impl PushAnswer {
    /// Whether the package is now at the region (and the facility may mark it acknowledged).
    pub fn acknowledged(&self) -> bool {
        matches!(self, PushAnswer::Imported | PushAnswer::AlreadyImported)
    }

    /// Read the region's JSON answer (`outcome`, and for a refusal `code` and `reason`).
    pub fn parse(body: &serde_json::Value) -> Option<PushAnswer> {
        match body.get("outcome")?.as_str()? {
            "imported" => Some(PushAnswer::Imported),
            "already_imported" => Some(PushAnswer::AlreadyImported),
            "refused" => {
                let text = |lang: &str| {
                    body.get("reason")
                        .and_then(|r| r.get(lang))
                        .and_then(|t| t.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                Some(PushAnswer::Refused {
                    code: body.get("code")?.as_str()?.to_owned(),
                    en: text("en"),
                    fr: text("fr"),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(acknowledged: bool, bytes: Option<Vec<u8>>) -> LastExport {
        LastExport {
            sequence: 3,
            hash: "h3".into(),
            facts_digest: Some("d3".into()),
            acknowledged,
            bytes,
        }
    }

    #[test]
    fn a_package_not_acknowledged_is_sent_again_byte_for_byte() {
        let l = last(false, Some(vec![1, 2, 3]));
        assert_eq!(
            next_push(Some(&l), "d3"),
            PushStep::Resend {
                sequence: 3,
                bytes: vec![1, 2, 3]
            }
        );
        // Even when the facts changed since: the lost package comes first.
        assert!(matches!(next_push(Some(&l), "d4"), PushStep::Resend { .. }));
    }

    #[test]
    fn new_facts_make_a_new_package_and_the_same_facts_none() {
        assert_eq!(next_push(None, "d1"), PushStep::Export);
        let l = last(true, None);
        assert_eq!(next_push(Some(&l), "d3"), PushStep::NothingNew);
        assert_eq!(next_push(Some(&l), "d4"), PushStep::Export);
        let unknown = LastExport {
            facts_digest: None,
            ..l
        };
        assert_eq!(next_push(Some(&unknown), "d3"), PushStep::Export);
        assert_eq!(next_push(Some(&last(false, None)), "d3"), PushStep::Export);
    }

    #[test]
    fn answers_are_read_and_only_arrivals_acknowledge() {
        let a = |v: serde_json::Value| PushAnswer::parse(&v);
        assert_eq!(
            a(serde_json::json!({"outcome": "imported"})),
            Some(PushAnswer::Imported)
        );
        assert!(
            a(serde_json::json!({"outcome": "already_imported"}))
                .unwrap()
                .acknowledged()
        );
        let r = a(
            serde_json::json!({"outcome": "refused", "code": "out_of_order",
            "reason": {"en": "out of order", "fr": "hors séquence"}}),
        )
        .unwrap();
        assert!(!r.acknowledged());
        assert_eq!(
            r,
            PushAnswer::Refused {
                code: "out_of_order".into(),
                en: "out of order".into(),
                fr: "hors séquence".into()
            }
        );
        assert_eq!(a(serde_json::json!({"error": "x"})), None);
        assert_eq!(a(serde_json::json!({"outcome": "maybe"})), None);
    }

    #[test]
    fn equal_facts_have_equal_digests() {
        let facts: Facts = serde_json::from_value(serde_json::json!({
            "facility": {"finess": "750000001", "legal_entity": null, "name": "A", "kind": "chu",
                "region": "DEMO", "nis2": "none", "plan_start": "2026-01-01"},
            "declarations": [], "evidence": [], "check_runs": [], "obligations": []
        }))
        .unwrap();
        let mut other = facts.clone();
        assert_eq!(facts.digest().unwrap(), other.digest().unwrap());
        other.facility.name = "B".into();
        assert_ne!(facts.digest().unwrap(), other.digest().unwrap());
    }
}
