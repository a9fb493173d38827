//! Evidence collectors: each reads what a real product exports (restic, borg, an AV console,
//! `nft -j list ruleset`, `hostapd.conf`, an IdP export...), builds an evidence model, and
//! evaluates rules that verify catalogue measures.
//!
//! Every collector implements [`Collector`]: `parse` reads files (the only I/O), `evaluate` is pure
//! and returns one [`Finding`] per rule evaluated, passed or failed, naming the affected assets and
//! the measures it verifies. [`Report`] turns them into a `CheckRun` for the store.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod antivirus;
pub mod backups;
pub mod input;
pub mod inventory;
pub mod mfa;
pub mod network;
pub mod patching;
pub mod wifi;

use hygie_core::{CheckRun, Localized, MeasureId, RuleOutcome, RuleResult, Severity};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A malformed or unreadable input: always names the file, and the line or field when known.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
}

impl CollectError {
    pub fn at(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        CollectError::Invalid {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

pub type Result<T, E = CollectError> = std::result::Result<T, E>;

/// The result of one rule: passed or failed, with the assets that make it fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: Localized,
    pub severity: Severity,
    pub outcome: RuleOutcome,
    pub measures: Vec<MeasureId>,
    /// Assets (hosts, accounts, SSIDs, zone paths) that fail the rule, each with its reason.
    pub assets: Vec<String>,
}

/// Description of a rule, from which findings are made.
pub struct Rule {
    pub id: &'static str,
    pub en: &'static str,
    pub fr: &'static str,
    pub severity: Severity,
    pub measures: &'static [&'static str],
}

impl Rule {
    /// A finding for this rule: failed when `assets` is not empty. Assets are sorted and deduplicated.
    pub fn finding(&self, mut assets: Vec<String>) -> Finding {
        assets.sort();
        assets.dedup();
        Finding {
            rule: self.id.to_owned(),
            title: Localized::new(self.en, self.fr),
            severity: self.severity,
            outcome: if assets.is_empty() {
                RuleOutcome::Pass
            } else {
                RuleOutcome::Fail
            },
            measures: self
                .measures
                .iter()
                .filter_map(|m| MeasureId::parse(m).ok())
                .collect(),
            assets,
        }
    }
}

/// One collector: reads inputs into an evidence model, then evaluates its rules on it.
pub trait Collector {
    /// What to read: paths and options.
    type Inputs;
    /// What was read, independent of the product it came from.
    type Evidence: Serialize;
    /// The source name recorded with the check run (`backups`, `network`...).
    fn name(&self) -> &'static str;
    /// Read and validate every input; errors name the file and line.
    fn parse(&self, inputs: &Self::Inputs) -> Result<Self::Evidence>;
    /// Evaluate every rule at `now`: pure, one finding per rule evaluated.
    fn evaluate(&self, evidence: &Self::Evidence, now: jiff::Timestamp) -> Evaluation;
}

/// What `evaluate` returns: the findings and a summary (coverage ratios, counts, matrices).
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Rules that could not be evaluated from the inputs given, with the reason.
    pub not_evaluated: Vec<NotEvaluated>,
    pub summary: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotEvaluated {
    pub rule: String,
    pub reason: String,
}

/// Run a collector end to end.
pub fn run<C: Collector>(c: &C, inputs: &C::Inputs, now: jiff::Timestamp) -> Result<Report> {
    let evidence = c.parse(inputs)?;
    let e = c.evaluate(&evidence, now);
    Ok(Report {
        collector: c.name().to_owned(),
        at: now,
        findings: e.findings,
        not_evaluated: e.not_evaluated,
        summary: e.summary,
    })
}

/// The outcome of a collector run, ready to print and to record.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub collector: String,
    pub at: jiff::Timestamp,
    pub findings: Vec<Finding>,
    pub not_evaluated: Vec<NotEvaluated>,
    pub summary: serde_json::Value,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.outcome == RuleOutcome::Fail)
    }

    /// The check run to record: one result per rule evaluated, source = the collector name.
    pub fn check_run(&self, id: String) -> CheckRun {
        CheckRun {
            id,
            source: self.collector.clone(),
            at: self.at,
            results: self
                .findings
                .iter()
                .map(|f| RuleResult {
                    rule: f.rule.clone(),
                    severity: f.severity,
                    outcome: f.outcome,
                    measures: f.measures.clone(),
                    objects: f.assets.clone(),
                })
                .collect(),
        }
    }

    /// The JSON document printed by `--format json`: failed rules as `findings`, passed ones listed.
    pub fn to_json(&self) -> serde_json::Value {
        let findings: Vec<_> = self
            .failed()
            .map(|f| {
                serde_json::json!({
                    "rule": f.rule, "title": f.title, "severity": f.severity,
                    "assets": f.assets, "measures": f.measures,
                })
            })
            .collect();
        let passed: Vec<_> = self
            .findings
            .iter()
            .filter(|f| f.outcome == RuleOutcome::Pass)
            .map(|f| serde_json::json!({"rule": f.rule, "measures": f.measures}))
            .collect();
        serde_json::json!({
            "collector": self.collector,
            "at": self.at,
            "findings": findings,
            "passed": passed,
            "not_evaluated": self.not_evaluated,
            "summary": self.summary,
        })
    }
}

/// A registered collector: one line per collector in [`COLLECTORS`].
pub struct Registration {
    pub name: &'static str,
    pub about: Localized2,
    pub rules: &'static [&'static Rule],
}

/// A pair of static texts (English, French).
pub struct Localized2 {
    pub en: &'static str,
    pub fr: &'static str,
}

/// Every collector, one registration line each.
pub const COLLECTORS: &[&Registration] = &[
    &backups::REGISTRATION,
    &antivirus::REGISTRATION,
    &patching::REGISTRATION,
    &network::REGISTRATION,
    &wifi::REGISTRATION,
    &mfa::REGISTRATION,
];

pub fn registration(name: &str) -> Option<&'static Registration> {
    COLLECTORS.iter().copied().find(|r| r.name == name)
}
