//! Evidence collectors: each reads what a real product exports (restic, borg, an AV console,
//! `nft -j list ruleset`, `hostapd.conf`, an IdP export...), builds an evidence model, and
//! evaluates rules that verify catalogue measures.
//!
//! Every collector implements [`Collector`]: `parse` reads files (the only I/O), `evaluate` is pure
//! and returns one [`Finding`] per rule evaluated, passed or failed, naming the affected assets and
//! the measures it verifies. [`Report`] turns them into a `CheckRun` for the store.
//!
//! `parse` reads through [`Files`]: the disk for the CLI, [`InMemory`] for the fuzz targets, so
//! both drive the same parsers; its errors name file and line. A rule whose input is missing is
//! returned as not evaluated, with the reason, never as passed. The network collector models
//! firewalls (nft, iptables + ipset, CSV) and computes the exact zone reachability matrix; two
//! property tests guard it. `data/end-of-life.toml` holds the support dates of operating systems
//! (read by `patching` and by hygie-inventory's rules).
//!
//! To add a collector: a folder implementing [`Collector`], one line in [`COLLECTORS`], its CLI
//! arguments in `hygie-cli/src/cmd/audit_collect.rs`, its rules in the catalogue's
//! `check_rules`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod antivirus;
pub mod backups;
pub mod input;
pub mod inventory;
pub mod mfa;
pub mod network;
pub mod patching;
pub mod upload;
pub mod wifi;

use hygie_core::{CheckRun, RuleOutcome, Text};
pub use input::{Disk, Files, InMemory};
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

/// The result of one rule (the audit contract's finding): its objects are the assets (hosts,
/// accounts, SSIDs, zone paths) that fail the rule, each with its reason.
pub use hygie_core::Finding;
/// A rule's definition (the audit contract's): its source is the collector's name.
pub use hygie_core::RuleDef;

/// One collector: reads inputs into an evidence model, then evaluates its rules on it.
pub trait Collector {
    /// Its entry in [`COLLECTORS`]: the name, what it audits, its rules.
    const REGISTRATION: &'static Registration;
    /// What to read: paths and options.
    type Inputs;
    /// What was read, independent of the product it came from.
    type Evidence: Serialize;
    /// The source name recorded with the check run (`backups`, `network`...).
    fn name(&self) -> &'static str {
        Self::REGISTRATION.name
    }
    /// Read and validate every input from `files` (the disk, or memory for the fuzz targets);
    /// errors name the file and line.
    fn parse(&self, inputs: &Self::Inputs, files: &dyn Files) -> Result<Self::Evidence>;
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

/// Run a collector end to end on the files on disk.
pub fn run<C: Collector>(c: &C, inputs: &C::Inputs, now: jiff::Timestamp) -> Result<Report> {
    run_from(c, inputs, &Disk, now)
}

/// [`run`], reading the input files from `files`.
pub fn run_from<C: Collector>(
    c: &C,
    inputs: &C::Inputs,
    files: &dyn Files,
    now: jiff::Timestamp,
) -> Result<Report> {
    let evidence = c.parse(inputs, files)?;
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
        CheckRun::of(id, &self.collector, self.at, &self.findings)
    }

    /// The JSON document printed by `--format json`: failed rules as `findings`, passed ones listed.
    pub fn to_json(&self) -> serde_json::Value {
        let findings: Vec<_> = self
            .failed()
            .map(|f| {
                serde_json::json!({
                    "rule": f.rule, "title": f.title, "severity": f.severity,
                    "assets": f.objects, "measures": f.measures,
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
    pub about: Text,
    pub rules: &'static [&'static RuleDef],
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
