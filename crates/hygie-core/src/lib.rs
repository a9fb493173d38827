//! Hygie's domain, free of I/O.
//!
//! Everything here is parsed once at the edge (`Finess::parse`, `MeasureId::parse`, ...) and then
//! trusted. Adapters (store, CLI, web, collectors) convert their own rows and DTOs into these types.
//! [`rule`] is the audit contract every automated check (AD, passwords, collectors, governance)
//! defines its rules and findings with; [`check`] the run the store keeps.
//! Architecture invariant: this crate depends on no other workspace crate and performs no I/O.

pub mod alert;
pub mod catalog;
pub mod check;
pub mod declaration;
pub mod evidence;
pub mod facility;
pub mod journal;
pub mod oversight;
pub mod plan;
pub mod region;
pub mod rule;
pub mod text;

pub use alert::Alert;
pub use catalog::{
    Catalog, Framework, FrameworkEntry, Measure, MeasureId, Principle, SourceRef, Verification,
};
pub use check::{AutoStatus, Change, Changes, CheckRun, RuleOutcome, RuleResult, Severity};
pub use declaration::{Declaration, DeclaredStatus};
pub use evidence::EvidenceLink;
pub use facility::{Facility, FacilityInput, FacilityKind, FieldError, Finess, Nis2Status};
pub use plan::{EffectiveStatus, FacilityStatus, LevelStatus, MeasureState, RegionStatus};
pub use region::Region;
pub use rule::{Finding, Reference, RuleDef, RuleId, Text, is_rule_id};
pub use text::{Lang, Localized, check_file_name, is_disguising};

/// An input value that does not parse, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Parse a calendar date written `YYYY-MM-DD`, refusing impossible dates (2026-02-30).
pub fn parse_date(field: &'static str, s: &str) -> Result<jiff::civil::Date, InvalidValue> {
    s.trim().parse::<jiff::civil::Date>().map_err(|e| {
        InvalidValue::new(
            field,
            format!("'{s}' is not a valid date (YYYY-MM-DD): {e}"),
        )
    })
}
