//! The complaint duty: for a malicious act (ransomware, intrusion, account compromise,
//! extortion, or flagged as suspected malicious), a criminal complaint. With a declared
//! cyber-insurance policy it is a legal condition of the insurer's payment, 72 h from awareness
//! (Code des assurances L.12-10-1); without one it is a recommendation with Hygie's own target,
//! never legal-late. A complaint recorded in the facts (date, service, reference) stops the
//! clock like a sending. Where to file (recipients) is data: `data/complaint.toml`.

use crate::clock;
use crate::facts::Facts;
use crate::obligations::{DueKind, Obligation, ObligationStatus, Req};
use crate::{IncidentError, Result};
use hygie_core::Localized;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A service where a complaint is filed, with the source of its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub id: String,
    pub name: Localized,
    /// For which attacks it is the right place.
    pub when: Localized,
    pub source: String,
    pub last_checked: jiff::civil::Date,
    #[serde(default)]
    pub unconfirmed: Option<String>,
}

/// One item of the evidence-preservation checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    pub id: String,
    pub text: Localized,
    pub source: String,
}

/// The complaint data as bundled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintData {
    /// The recommendation's target when no insurance makes the complaint a legal condition.
    pub recommended_target_hours: i64,
    pub recipient: Vec<Recipient>,
    pub evidence: Vec<EvidenceItem>,
}

pub const BUNDLED: &str = include_str!("../data/complaint.toml");

/// Parse the complaint data.
pub fn parse(text: &str) -> Result<ComplaintData> {
    let d: ComplaintData = toml::from_str(text)
        .map_err(|e| IncidentError::invalid("complaint.toml", e.to_string()))?;
    if !(1..=24 * 365).contains(&d.recommended_target_hours) {
        return Err(IncidentError::invalid(
            "complaint.toml",
            "recommended_target_hours must be between 1 and one year",
        ));
    }
    Ok(d)
}

static DATA: LazyLock<ComplaintData> = LazyLock::new(|| {
    // Checked by a unit test; a failure would leave no recipient listed and a 72 h target.
    parse(BUNDLED).unwrap_or(ComplaintData {
        recommended_target_hours: 72,
        recipient: Vec::new(),
        evidence: Vec::new(),
    })
});

/// Where a complaint may be filed.
pub fn recipients() -> &'static [Recipient] {
    &DATA.recipient
}

/// The evidence-preservation checklist of a malicious incident.
pub fn evidence_items() -> &'static [EvidenceItem] {
    &DATA.evidence
}

/// Whether the complaint duty applies, and how.
pub(crate) fn requirement(facts: &Facts) -> Result<Req> {
    let aw = &facts.awareness;
    if !facts.is_malicious() {
        return Ok(Req::not_required(
            Localized::new(
                "not a malicious act (no ransomware, intrusion, account compromise or extortion, not flagged as suspected malicious)",
                "pas un acte malveillant (ni rançongiciel, ni intrusion, ni compromission de compte, ni extorsion, ni acte malveillant suspecté)",
            ),
            DueKind::Legal,
        ));
    }
    let cats: Vec<&str> = facts
        .malicious_categories()
        .into_iter()
        .map(|c| c.as_str())
        .collect();
    let (why_en, why_fr) = if cats.is_empty() {
        (
            "suspected malicious act".to_owned(),
            "acte malveillant suspecté".to_owned(),
        )
    } else {
        (
            format!("malicious act ({})", cats.join(", ")),
            format!("acte malveillant ({})", cats.join(", ")),
        )
    };
    Ok(match &facts.cyber_insurance {
        Some(policy) => Req::required(
            Localized::new(
                format!(
                    "{why_en}; cyber-insurance policy declared ({policy}): a complaint within 72 h of awareness is the condition of the insurer's payment (Code des assurances L.12-10-1)"
                ),
                format!(
                    "{why_fr} ; assurance cyber déclarée ({policy}) : une plainte dans les 72 h suivant la prise de connaissance conditionne l'indemnisation (Code des assurances L.12-10-1)"
                ),
            ),
            aw,
            clock::add_hours(aw, 72)?,
            DueKind::Legal,
        ),
        None => {
            let h = DATA.recommended_target_hours;
            Req::required(
                Localized::new(
                    format!(
                        "{why_en}; no cyber-insurance policy declared: a complaint is recommended (ANSSI hygiene measure 40), Hygie's target {h} h, not a legal deadline (L.12-10-1 binds insured losses only)"
                    ),
                    format!(
                        "{why_fr} ; aucune assurance cyber déclarée : une plainte est recommandée (mesure 40 du guide d'hygiène de l'ANSSI), objectif Hygie {h} h, pas un délai légal (L.12-10-1 ne vise que les pertes assurées)"
                    ),
                ),
                aw,
                clock::add_hours(aw, h)?,
                DueKind::Recommendation,
            )
        }
    })
}

/// A complaint recorded in the facts counts as the duty done, like a sending.
pub(crate) fn apply_filed(o: &mut Obligation, facts: &Facts) {
    let Some(c) = &facts.complaint else {
        return;
    };
    if !o.required || o.sent_at.is_some() {
        return;
    }
    o.status = ObligationStatus::Sent;
    o.sent_at = Some(c.at.clone());
    o.reference = c.reference.clone();
    o.sent_late_by = match &o.due {
        Some(d) if c.at.timestamp() > d.timestamp() && o.due_kind == DueKind::Legal => {
            Some(c.at.timestamp().duration_since(d.timestamp()))
        }
        _ => None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_parses_with_sources() {
        let d = parse(BUNDLED).expect("complaint.toml parses");
        assert_eq!(d.recommended_target_hours, 72);
        assert!(d.recipient.iter().any(|r| r.id == "paris_j3"));
        for r in &d.recipient {
            assert!(!r.source.is_empty() && !r.name.fr.is_empty(), "{}", r.id);
        }
        let ids: Vec<&str> = d.evidence.iter().map(|e| e.id.as_str()).collect();
        assert!(ids.contains(&"keep_powered") && ids.contains(&"isolate_network"));
    }
}
