//! Hygie's domain, free of I/O.
//!
//! Everything here is parsed once at the edge (`Finess::parse`, `MeasureId::parse`, ...) and then
//! trusted. Adapters (store, CLI, web, collectors) convert their own rows and DTOs into these types.
//! [`rule`] is the audit contract every automated check (AD, passwords, collectors, governance)
//! defines its rules and findings with; [`check`] the run the store keeps.
//! Architecture invariant: this crate depends on no other workspace crate and performs no I/O.
//!
//! Modules: [`facility`] (`Finess` with its check digit, `FacilityKind`, `Nis2Status`),
//! [`region`] (the 18 ARS regions and `DEMO`), [`catalog`] (`Measure`, `MeasureId`,
//! `Principle`), [`declaration`], [`check`] (`CheckRun`, `RuleResult`, `Severity`), [`plan`]
//! (where a facility stands at any date), [`text`] (`Lang`, `Localized`), [`alert`] (made by
//! `hygie-detect`, kept by `hygie-store`) and [`journal`] (hashing and verifying the chain).
//!
//! Every audit defines its rules as static `RuleDef`s and makes its findings with
//! `RuleDef::pass`, `RuleDef::finding(objects)` and `Finding::fail`, so that every audit's results
//! read, store and compare alike. Two runs of one audit compare by failed (rule, object) pair
//! ([`Changes`]: new, fixed, still open): one comparison for the CLI's report and the web's run
//! page.
//!
//! What people type (a form, a command line, an API body) has one parse here, shared by the
//! CLI, the web form and the API, refusing each field with its reason in English and French
//! (`FacilityInput::parse`, `EvidenceLink::parse` → `FieldError`), so the front ends cannot
//! accept different things.
//!
//! To add a domain type or a status rule: here, with its unit tests; then the adapters that
//! convert to it (store rows, CLI flags, web forms).

pub mod alert;
pub mod catalog;
pub mod check;
pub mod declaration;
pub mod evidence;
pub mod facility;
pub mod journal;
pub mod notifications;
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
