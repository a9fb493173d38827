//! Hygie detection: Sigma rules (parsed and compiled by RSigma), log-source
//! resolution from data tables, evaluation and alert aggregation. No I/O
//! except reading rule files in [`rules::load_paths`].
//!
//! The parts: rule loading ([`rules`]: every failure is a `Refusal` with file and reason and
//! loading goes on; a `windash` value's expansion is bounded at load, since five variants per
//! dash grow without end), log-source resolution from the data tables `mappings/windows.yml`
//! and `syslog.yml` ([`mapping`]), the event representation ([`Fields`], implementing RSigma's
//! `Event`), the [`Detector`] (one RSigma engine per log-source group, compiled when an event
//! first reaches it), the [`Aggregator`] (one alert per rule, host and fixed time bucket, with a
//! stable id that includes the facility; ids of 24 hex digits are the older, facility-less ones
//! a store keeps) and [`correlate`] (Sigma correlation rules through RSigma's
//! `CorrelationEngine`, fed from outside, with bounded state).
//!
//! Invariants: resolution fails closed (an event meets only the rules its log source allows);
//! aggregation and correlation do not depend on arrival order or thread count. To add a log
//! source or a field map: the YAML tables (validated at load) and a test.

pub mod alert;
pub mod correlate;
pub mod engine;
pub mod event;
pub mod fields;
pub mod mapping;
pub mod rules;

pub use alert::{
    Aggregator, AggregatorState, Alert, EVENTS_PER_MESSAGE_MAX, KeyedAlert, alert_id, alert_of,
    event_key, legacy_alert_id,
};
pub use correlate::{Correlations, Correlator, Hit, LoadedCorrelation, partition};
pub use engine::{Detector, RouteCache, RuleMatch};
pub use event::{EventKind, LogEvent, Origin};
pub use fields::{FieldValue, Fields};
pub use mapping::{EventSource, Mapping, MappingError, RuleSource};
pub use rules::{
    LoadedRule, Refusal, RuleLoad, check_compiles, load_paths, load_text, resolve_correlations,
};
