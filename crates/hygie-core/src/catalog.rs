//! The measure catalogue, as the rest of Hygie sees it once loaded and linted
//! (loading and lint live in `hygie-catalog`).

use crate::{FacilityKind, InvalidValue, Localized};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A unified measure id: a group prefix of 2-4 capitals, a dash, two or three digits (`IAM-04`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MeasureId(String);

impl MeasureId {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        let ok = match t.split_once('-') {
            Some((g, n)) => {
                (2..=4).contains(&g.len())
                    && g.bytes().all(|b| b.is_ascii_uppercase())
                    && (2..=3).contains(&n.len())
                    && n.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        };
        if ok {
            Ok(MeasureId(t.to_owned()))
        } else {
            Err(InvalidValue::new(
                "measure",
                format!("'{s}' is not a measure id (like IAM-04)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn group(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }
}

impl fmt::Display for MeasureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The four PGSSI-S security principles (D-I-C-P).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principle {
    Availability,
    Integrity,
    Confidentiality,
    Traceability,
}

impl Principle {
    pub const ALL: [Principle; 4] = [
        Principle::Availability,
        Principle::Integrity,
        Principle::Confidentiality,
        Principle::Traceability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Principle::Availability => "availability",
            Principle::Integrity => "integrity",
            Principle::Confidentiality => "confidentiality",
            Principle::Traceability => "traceability",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            Principle::Availability => Localized::new("Availability", "Disponibilité"),
            Principle::Integrity => Localized::new("Integrity", "Intégrité"),
            Principle::Confidentiality => Localized::new("Confidentiality", "Confidentialité"),
            Principle::Traceability => Localized::new("Traceability", "Traçabilité"),
        }
    }
}

impl std::str::FromStr for Principle {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Principle::ALL.into_iter().find(|p| p.as_str() == s.trim()).ok_or_else(|| {
            InvalidValue::new(
                "principle",
                format!("'{s}' is not a PGSSI-S principle (availability, integrity, confidentiality, traceability)"),
            )
        })
    }
}

/// How a measure is proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Automated checks read the evidence from the facility's systems.
    Auto,
    /// Data collected automatically, signed off by a person.
    Assisted,
    /// A person declares it, with a document as evidence.
    Declarative,
    /// A dated workflow (incident clocks) proves it.
    Workflow,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Auto => "auto",
            Verification::Assisted => "assisted",
            Verification::Declarative => "declarative",
            Verification::Workflow => "workflow",
        }
    }
}

impl std::str::FromStr for Verification {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(Verification::Auto),
            "assisted" => Ok(Verification::Assisted),
            "declarative" => Ok(Verification::Declarative),
            "workflow" => Ok(Verification::Workflow),
            _ => Err(InvalidValue::new(
                "verification",
                format!("'{s}' is not a verification mode (auto, assisted, declarative, workflow)"),
            )),
        }
    }
}

/// A citation of a framework entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    pub framework: String,
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkEntry {
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: Localized,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    pub id: String,
    pub name: Localized,
    pub citation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
    pub entries: Vec<FrameworkEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: String,
    pub title: Localized,
}

/// A unified measure of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measure {
    pub id: MeasureId,
    pub group: String,
    pub title: Localized,
    pub description: Localized,
    pub sources: Vec<SourceRef>,
    /// The 2016 plan level (1, 2, 3), from the PAS16 entries it cites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// 6 × level: months from the facility's plan start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_months: Option<u8>,
    pub applies_to: Vec<FacilityKind>,
    pub nis2_only: bool,
    pub principles: Vec<Principle>,
    pub verification: Verification,
    pub evidence: Vec<Localized>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_months: Option<u8>,
    /// Why the recurrence period is Hygie's recommendation rather than a text's requirement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_recommended: Option<Localized>,
    pub check_rules: Vec<String>,
    /// For a measure verified automatically that no registered rule verifies yet: why not yet
    /// (for example "needs the inventory collector").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_pending: Option<Localized>,
    /// Why some fact of this measure is not confirmed from the primary text, when that is so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
}

impl Measure {
    /// Whether a facility of this kind and NIS 2 status owes this measure.
    pub fn applies(&self, kind: FacilityKind, nis2: crate::Nis2Status) -> bool {
        self.applies_to.contains(&kind) && (!self.nis2_only || nis2.in_scope())
    }
}

/// The whole catalogue, checked: every reference resolves (see `hygie-catalog`'s lint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub version: String,
    pub groups: Vec<Group>,
    pub frameworks: Vec<Framework>,
    pub measures: Vec<Measure>,
    #[serde(skip)]
    index: BTreeMap<MeasureId, usize>,
}

impl Catalog {
    pub fn new(
        version: String,
        groups: Vec<Group>,
        frameworks: Vec<Framework>,
        measures: Vec<Measure>,
    ) -> Self {
        let index = measures
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Catalog {
            version,
            groups,
            frameworks,
            measures,
            index,
        }
    }

    pub fn measure(&self, id: &MeasureId) -> Option<&Measure> {
        self.index.get(id).map(|&i| &self.measures[i])
    }

    /// Parse a measure id and check that the catalogue has it.
    pub fn resolve(&self, s: &str) -> Result<&Measure, InvalidValue> {
        let id = MeasureId::parse(s)?;
        self.measure(&id).ok_or_else(|| {
            InvalidValue::new(
                "measure",
                format!("'{s}' is not in catalogue {}", self.version),
            )
        })
    }

    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }
}
