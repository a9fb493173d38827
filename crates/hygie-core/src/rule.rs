//! The audit contract: what every automated check (AD, passwords, collectors, governance) defines
//! and produces.
//!
//! A rule is a static [`RuleDef`]: its id (one scheme for all audits, [`RuleId`]), the audit that
//! runs it, a severity, bilingual title / rationale / remediation, references (ANSSI, PingCastle,
//! PGSSI-S), the catalogue measures it verifies and the configuration thresholds it reads. An
//! evaluation produces one [`Finding`] per rule, passed or failed, naming objects (accounts, hosts,
//! roles), never a secret; [`CheckRun::of`] turns the findings into the run the store keeps.
//! Each audit keeps its own extras (AD scores, collector summaries) beside these shapes.

use crate::{
    CheckRun, InvalidValue, Lang, Localized, MeasureId, RuleOutcome, RuleResult, Severity,
};
use serde::Serialize;
use std::fmt;

/// A rule id: an upper-case prefix, a dash, then upper-case words or digits separated by dashes
/// (`PWD-01`, `HSH-03`, `AV-COVERAGE`, `GOV-DPO-CISO-DISTINCT`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        if is_rule_id(t) {
            Ok(RuleId(t.to_owned()))
        } else {
            Err(InvalidValue::new(
                "rule",
                format!(
                    "'{s}' is not a rule id (upper-case PREFIX-NAME, like PWD-01 or AV-COVERAGE)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` follows the rule id scheme: at least two dash-separated parts, each of upper-case
/// ASCII letters and digits, the first starting with a letter.
pub fn is_rule_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) && part_ok(p));
    let mut rest = 0;
    for p in parts {
        if !part_ok(p) {
            return false;
        }
        rest += 1;
    }
    first_ok && rest > 0
}

fn part_ok(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A static text in English and French, for rule definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    pub en: &'static str,
    pub fr: &'static str,
}

impl Text {
    pub const fn new(en: &'static str, fr: &'static str) -> Self {
        Text { en, fr }
    }

    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Fr => self.fr,
        }
    }

    pub fn localized(&self) -> Localized {
        Localized::new(self.en, self.fr)
    }
}

/// A reference of a rule in an outside framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// `ANSSI`, `PingCastle`, `PGSSI-S`.
    pub framework: &'static str,
    pub id: &'static str,
}

impl Reference {
    pub const fn anssi(id: &'static str) -> Self {
        Reference {
            framework: "ANSSI",
            id,
        }
    }
    pub const fn pingcastle(id: &'static str) -> Self {
        Reference {
            framework: "PingCastle",
            id,
        }
    }
    pub const fn pgssi_s(id: &'static str) -> Self {
        Reference {
            framework: "PGSSI-S",
            id,
        }
    }
}

/// The definition of one rule. Built as a `static` by the audit that evaluates it; the registry
/// of every rule lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleDef {
    pub id: &'static str,
    /// The audit that evaluates it: `ad`, `passwords`, `governance` or a collector's name.
    pub source: &'static str,
    pub severity: Severity,
    pub title: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Text>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub references: &'static [Reference],
    /// Catalogue measures verified, each listing this rule in its `check_rules`.
    pub measures: &'static [&'static str],
    /// Names of the configuration thresholds the rule reads (in its audit's configuration).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub thresholds: &'static [&'static str],
}

impl RuleDef {
    /// A rule with its id, source, severity, title and measures; the rest is added with the
    /// `with_*` builders.
    pub const fn new(
        id: &'static str,
        source: &'static str,
        severity: Severity,
        title: Text,
        measures: &'static [&'static str],
    ) -> Self {
        RuleDef {
            id,
            source,
            severity,
            title,
            rationale: None,
            remediation: None,
            references: &[],
            measures,
            thresholds: &[],
        }
    }

    pub const fn with_rationale(mut self, t: Text) -> Self {
        self.rationale = Some(t);
        self
    }

    pub const fn with_remediation(mut self, t: Text) -> Self {
        self.remediation = Some(t);
        self
    }

    pub const fn with_references(mut self, r: &'static [Reference]) -> Self {
        self.references = r;
        self
    }

    pub const fn with_thresholds(mut self, t: &'static [&'static str]) -> Self {
        self.thresholds = t;
        self
    }

    /// The reference of this rule in one framework, if any.
    pub fn reference(&self, framework: &str) -> Option<&'static str> {
        self.references
            .iter()
            .find(|r| r.framework == framework)
            .map(|r| r.id)
    }

    /// The measures as ids. The registry's tests prove every one parses.
    pub fn measure_ids(&self) -> Vec<MeasureId> {
        self.measures
            .iter()
            .filter_map(|m| MeasureId::parse(m).ok())
            .collect()
    }

    /// A passed finding of this rule, to which failures are added with [`Finding::fail`].
    pub fn pass(&self) -> Finding {
        Finding {
            rule: self.id.to_owned(),
            title: self.title.localized(),
            severity: self.severity,
            outcome: RuleOutcome::Pass,
            measures: self.measure_ids(),
            objects: Vec::new(),
            details: Vec::new(),
        }
    }

    /// The finding of this rule for `objects` at fault: failed when there is any. Objects are
    /// sorted and deduplicated.
    pub fn finding(&self, mut objects: Vec<String>) -> Finding {
        objects.sort();
        objects.dedup();
        Finding {
            outcome: if objects.is_empty() {
                RuleOutcome::Pass
            } else {
                RuleOutcome::Fail
            },
            objects,
            ..self.pass()
        }
    }
}

/// The result of one rule in one evaluation: passed or failed, with the objects at fault (names
/// of accounts, hosts, departments, roles; never a secret) and, when known, why in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: Localized,
    pub severity: Severity,
    pub outcome: RuleOutcome,
    pub measures: Vec<MeasureId>,
    pub objects: Vec<String>,
    /// Why it failed (empty when it passed or when the objects say it all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Localized>,
}

impl Finding {
    /// Record a problem with one object: the rule fails.
    pub fn fail(&mut self, object: impl Into<String>, detail: Localized) {
        self.outcome = RuleOutcome::Fail;
        let o = object.into();
        if !self.objects.contains(&o) {
            self.objects.push(o);
        }
        self.details.push(detail);
    }

    /// The same finding under a title that states the thresholds in force.
    pub fn titled(mut self, title: Localized) -> Self {
        self.title = title;
        self
    }

    pub fn failed(&self) -> bool {
        self.outcome == RuleOutcome::Fail
    }

    /// How many objects are at fault.
    pub fn count(&self) -> usize {
        self.objects.len()
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

impl CheckRun {
    /// The run to record for one evaluation: one result per finding, in order.
    pub fn of(id: String, source: &str, at: jiff::Timestamp, findings: &[Finding]) -> CheckRun {
        CheckRun {
            id,
            source: source.to_owned(),
            at,
            results: findings.iter().map(Finding::to_rule_result).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    static R: RuleDef = RuleDef::new(
        "AV-COVERAGE",
        "antivirus",
        Severity::High,
        Text::new("Hosts without antivirus", "Postes sans antivirus"),
        &["END-01", "bad"],
    )
    .with_references(&[Reference::pgssi_s("7.4.1")]);

    #[test]
    fn rule_ids_follow_one_scheme() {
        for ok in [
            "PWD-01",
            "HSH-03",
            "AV-COVERAGE",
            "GOV-DPO-CISO-DISTINCT",
            "BCK-RPO",
        ] {
            assert!(is_rule_id(ok), "{ok}");
            assert_eq!(RuleId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "pwd-01",
            "PWD",
            "PWD-",
            "-01",
            "gov.role.dpo.held",
            "PWD--01",
            "1AB-02",
            "AB-c",
        ] {
            assert!(!is_rule_id(bad), "{bad}");
            assert!(
                RuleId::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("rule id")
            );
        }
    }

    #[test]
    fn findings_fail_on_objects_and_keep_only_valid_measures() {
        let f = R.finding(vec!["pc2".into(), "pc1".into(), "pc2".into()]);
        assert!(f.failed());
        assert_eq!(f.objects, ["pc1", "pc2"]);
        assert_eq!(f.count(), 2);
        assert_eq!(f.measures.len(), 1);
        assert!(!R.finding(Vec::new()).failed());
        assert_eq!(R.reference("PGSSI-S"), Some("7.4.1"));

        let mut g = R.pass();
        g.fail("pc1", Localized::new("off", "éteint"));
        g.fail("pc1", Localized::new("old", "ancien"));
        assert_eq!((g.objects.len(), g.details.len()), (1, 2));
        let run = CheckRun::of("id".into(), "antivirus", jiff::Timestamp::UNIX_EPOCH, &[g]);
        assert_eq!(run.results[0].outcome, RuleOutcome::Fail);
        assert_eq!(run.results[0].rule, "AV-COVERAGE");
    }
}
