//! Findings: the result of one governance rule, with bilingual text, turned into the foundation's
//! `RuleResult` for the check run.

use hygie_core::{Localized, MeasureId, RuleOutcome, RuleResult, Severity};
use serde::Serialize;

/// One evaluated rule: passed or failed, with the objects concerned (people's names, departments,
/// roles; never a secret) and a short explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: Localized,
    pub severity: Severity,
    pub outcome: RuleOutcome,
    pub measures: Vec<MeasureId>,
    pub objects: Vec<String>,
    /// Why it failed (empty when it passed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Localized>,
}

impl Finding {
    pub fn new(rule: &str, title: Localized, severity: Severity, measures: &[&str]) -> Finding {
        Finding {
            rule: rule.to_owned(),
            title,
            severity,
            outcome: RuleOutcome::Pass,
            measures: measures
                .iter()
                .filter_map(|m| MeasureId::parse(m).ok())
                .collect(),
            objects: Vec::new(),
            details: Vec::new(),
        }
    }

    /// Record a problem: the rule fails.
    pub fn fail(&mut self, object: impl Into<String>, detail: Localized) {
        self.outcome = RuleOutcome::Fail;
        let o = object.into();
        if !self.objects.contains(&o) {
            self.objects.push(o);
        }
        self.details.push(detail);
    }

    pub fn failed(&self) -> bool {
        self.outcome == RuleOutcome::Fail
    }

    pub fn to_rule_result(&self) -> RuleResult {
        RuleResult {
            rule: self.rule.clone(),
            severity: self.severity,
            outcome: self.outcome,
            measures: self.measures.clone(),
            objects: self.objects.clone(),
        }
    }
}
