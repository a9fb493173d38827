//! Results of automated checks, and how they turn into a measure's automatic status.
//!
//! Every audit (AD, passwords, backups, ...) records one `CheckRun` per execution with the result
//! of every rule it evaluated, passed or failed, and the catalogue measures each rule verifies.
//! Only complete runs count: a run that died half-way proves nothing.

use crate::{InvalidValue, MeasureId};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(InvalidValue::new(
                "severity",
                format!("'{s}' is not a severity (info, low, medium, high, critical)"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    Pass,
    Fail,
}

/// The result of one rule in one run. `objects` names the affected accounts, hosts or assets:
/// never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub severity: Severity,
    pub outcome: RuleOutcome,
    pub measures: Vec<MeasureId>,
    pub objects: Vec<String>,
}

/// One execution of one audit source for one facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    pub id: String,
    /// The audit that ran: `ad`, `passwords`, `backups`, ...
    pub source: String,
    pub at: jiff::Timestamp,
    pub results: Vec<RuleResult>,
}

/// What automated checks say about one measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "auto", rename_all = "snake_case")]
pub enum AutoStatus {
    /// No complete run evaluated a rule that verifies this measure.
    Unchecked,
    /// Every rule that verifies it passed in the latest run of each source.
    Verified {
        sources: Vec<String>,
        rules: Vec<String>,
        at: jiff::Timestamp,
    },
    /// At least one rule failed: this beats any declaration.
    Failing {
        sources: Vec<String>,
        rules: Vec<String>,
        at: jiff::Timestamp,
    },
}

impl AutoStatus {
    /// Combine the latest complete run of each source (the caller picks them) for one measure.
    pub fn of(measure: &MeasureId, latest_runs: &[&CheckRun]) -> AutoStatus {
        let mut failed = BTreeSet::new();
        let mut passed = BTreeSet::new();
        let mut fail_sources = BTreeSet::new();
        let mut pass_sources = BTreeSet::new();
        let mut fail_at: Option<jiff::Timestamp> = None;
        let mut pass_at: Option<jiff::Timestamp> = None;
        for run in latest_runs {
            for r in run.results.iter().filter(|r| r.measures.contains(measure)) {
                match r.outcome {
                    RuleOutcome::Fail => {
                        failed.insert(r.rule.clone());
                        fail_sources.insert(run.source.clone());
                        fail_at = fail_at.max(Some(run.at));
                    }
                    RuleOutcome::Pass => {
                        passed.insert(r.rule.clone());
                        pass_sources.insert(run.source.clone());
                        pass_at = pass_at.max(Some(run.at));
                    }
                }
            }
        }
        if let Some(at) = fail_at {
            AutoStatus::Failing {
                sources: fail_sources.into_iter().collect(),
                rules: failed.into_iter().collect(),
                at,
            }
        } else if let Some(at) = pass_at {
            AutoStatus::Verified {
                sources: pass_sources.into_iter().collect(),
                rules: passed.into_iter().collect(),
                at,
            }
        } else {
            AutoStatus::Unchecked
        }
    }
}
