//! Hygie detection: Sigma rules (parsed and compiled by RSigma), log-source
//! resolution from data tables, evaluation and alert aggregation. No I/O
//! except reading rule files in [`rules::load_paths`].

pub mod alert;
pub mod correlate;
pub mod engine;
pub mod event;
pub mod fields;
pub mod mapping;
pub mod rules;

pub use alert::{
    Aggregator, AggregatorState, Alert, KeyedAlert, alert_id, alert_of, legacy_alert_id,
};
pub use correlate::{Correlations, Correlator, Hit, LoadedCorrelation};
pub use engine::{Detector, RouteCache, RuleMatch};
pub use event::{EventKind, LogEvent, Origin};
pub use fields::{FieldValue, Fields};
pub use mapping::{EventSource, Mapping, MappingError, RuleSource};
pub use rules::{
    LoadedRule, Refusal, RuleLoad, check_compiles, load_paths, load_text, resolve_correlations,
};
