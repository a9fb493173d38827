//! Hygie's incident record and its legal clocks.
//!
//! One incident can start several independent duties (CERT Santé "sans délai", CNIL 72 h,
//! data subjects, breach register, NIS 2 24 h / 72 h / one month, internal DPO and CISO). This
//! crate holds the facts ([`Facts`]), derives one [`Obligation`] per duty from them
//! ([`obligations::derive`]), keeps the history of why each duty exists when a fact changes,
//! validates the lifecycle ([`Incident`]), and renders the notification drafts ([`draft`]),
//! the incident file for an auditor ([`export`]), the reminder list of duties due or late
//! ([`due`]) and the facility's breach register ([`register`]). [`integrity`] says whether a
//! stored record is the one the journal vouches for. Storage (the record as JSON with its
//! digest, each change journalled in the same transaction) is `hygie-store`'s `incidents`.
//!
//! Rendering goes through `hygie-report`, the one rendering layer: HTML by the askama templates
//! in `templates/` (drafts, incident file, register) on its shared layout and escaper, CSV by its
//! formula-safe writer; Markdown is written in code, one table writer (`draft::md_table`).
//!
//! [`ops`] holds the changes people make (open, from alerts too; update; record a sending;
//! close), shared by the command line and the web.
//!
//! Module graph: `duty` (duties, sendings) ← `obligations` ← `incident` ← the views; no cycle.
//!
//! Architecture invariant: pure, no I/O, no clock reading: every operation takes `now` (the
//! crate's `clippy.toml` bans the clock calls). Hours are absolute, months are calendar months in
//! the incident's zone, and local times in a DST gap or fold are refused ([`clock`]). The legal
//! status of each regime is data ([`regimes`]: a duty of a regime not in force is `anticipated`,
//! never late); which kinds of facility owe each duty comes from the catalogue (`scope`).
//!
//! To add a duty: [`obligations`] (derivation and reasons), its draft, a test in
//! `tests/obligations.rs`.

pub mod clock;
pub mod complaint;
pub mod draft;
pub mod due;
pub mod duty;
pub mod evidence;
pub mod export;
pub mod facts;
pub mod incident;
pub mod integrity;
pub mod obligations;
pub mod ops;
pub mod regimes;
pub mod register;
mod scope;

pub use duty::{Duty, Phase, Sending};
pub use facts::{
    Action, BreachRisk, Category, Detection, DetectionSource, Facts, FactsInput, ImpactCriteria,
    IntermediateRequest, PersonalData, Targets,
};
pub use incident::{Closure, Incident, IncidentStatus, ObligationEvent};
pub use obligations::{DueKind, Obligation, ObligationStatus};
pub use register::Register;

/// Why an incident operation was refused. Every message names the field or the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("impossible times: {0}")]
    Chronology(String),
    #[error("refused: {0}")]
    Transition(String),
}

impl IncidentError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        IncidentError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = IncidentError> = std::result::Result<T, E>;
