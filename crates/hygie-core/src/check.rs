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

    /// The severity in the reader's words (reports and pages never show the raw value).
    pub fn label(self) -> crate::Text {
        let (en, fr) = match self {
            Severity::Info => ("information", "information"),
            Severity::Low => ("low", "faible"),
            Severity::Medium => ("medium", "moyenne"),
            Severity::High => ("high", "élevée"),
            Severity::Critical => ("critical", "critique"),
        };
        crate::Text::new(en, fr)
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

/// One failed (rule, object) pair: the unit in which two runs of one audit are compared. A rule
/// that failed without naming objects is one pair with an empty object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub rule: String,
    pub object: String,
}

/// What changed between two runs of the same audit: failed pairs that are new, fixed (failed
/// before, not now) and still open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub new: Vec<Change>,
    pub fixed: Vec<Change>,
    pub still_open: Vec<Change>,
}

impl Changes {
    /// The failed pairs of (rule, objects) lists.
    pub fn pairs<'a>(
        failed: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> BTreeSet<Change> {
        let mut out = BTreeSet::new();
        for (rule, objects) in failed {
            if objects.is_empty() {
                out.insert(Change {
                    rule: rule.to_owned(),
                    object: String::new(),
                });
            }
            for o in objects {
                out.insert(Change {
                    rule: rule.to_owned(),
                    object: o.clone(),
                });
            }
        }
        out
    }

    /// The failed pairs of a run's results.
    pub fn failed_pairs(results: &[RuleResult]) -> BTreeSet<Change> {
        Changes::pairs(
            results
                .iter()
                .filter(|r| r.outcome == RuleOutcome::Fail)
                .map(|r| (r.rule.as_str(), r.objects.as_slice())),
        )
    }

    pub fn between(previous: &BTreeSet<Change>, current: &BTreeSet<Change>) -> Changes {
        Changes {
            new: current.difference(previous).cloned().collect(),
            fixed: previous.difference(current).cloned().collect(),
            still_open: current.intersection(previous).cloned().collect(),
        }
    }

    /// Compare two runs' results.
    pub fn of_runs(previous: &[RuleResult], current: &[RuleResult]) -> Changes {
        Changes::between(
            &Changes::failed_pairs(previous),
            &Changes::failed_pairs(current),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(rule: &str, objects: &[&str]) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            severity: Severity::High,
            outcome: RuleOutcome::Fail,
            measures: vec![],
            objects: objects.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn changes_are_by_rule_and_object_and_count_rules_without_objects() {
        let mut pass = fail("R-C", &[]);
        pass.outcome = RuleOutcome::Pass;
        let before = [
            fail("R-A", &["alice", "bob"]),
            fail("R-B", &[]),
            pass.clone(),
        ];
        let after = [fail("R-A", &["bob", "carol"]), pass];
        let c = Changes::of_runs(&before, &after);
        let names = |v: &[Change]| {
            v.iter()
                .map(|c| format!("{}:{}", c.rule, c.object))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&c.new), ["R-A:carol"]);
        assert_eq!(names(&c.fixed), ["R-A:alice", "R-B:"]);
        assert_eq!(names(&c.still_open), ["R-A:bob"]);
        assert_eq!(Severity::High.label().fr, "élevée");
    }
}
