//! The findings of an audit run as an HTML table: one view for the CLI's reports and the web's
//! run page, so a finding reads the same wherever it is shown (title, severity in words,
//! rationale, remediation, references, objects capped with their count, measures verified).

use crate::Translate as _;
use hygie_core::{Lang, Reference, RuleDef, Severity, Text};

/// Objects listed per finding; beyond, the count of the rest.
pub const OBJECTS_SHOWN: usize = 50;

/// One failed rule as a reader sees it. Built from the rule's definition when the registry
/// knows it (titles, rationale, remediation, references); else the rule id stands alone.
#[derive(Debug, Clone)]
pub struct FindingView<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    /// The ANSSI level of an AD rule (1 most urgent to 4).
    pub level: Option<u8>,
    pub title: Option<Text>,
    pub rationale: Option<Text>,
    pub remediation: Option<Text>,
    pub references: &'static [Reference],
    pub objects: &'a [String],
    pub measures: Vec<&'a str>,
    /// The audit's own technical detail, when it gives one.
    pub detail: Option<&'a str>,
}

impl<'a> FindingView<'a> {
    pub fn new(
        rule: &'a str,
        severity: Severity,
        objects: &'a [String],
        measures: Vec<&'a str>,
        def: Option<&'static RuleDef>,
    ) -> Self {
        FindingView {
            rule,
            severity,
            level: None,
            title: def.map(|d| d.title),
            rationale: def.and_then(|d| d.rationale),
            remediation: def.and_then(|d| d.remediation),
            references: def.map_or(&[], |d| d.references),
            objects,
            measures,
            detail: None,
        }
    }
}

/// The findings table (template `findings.html`), written into a page with `|safe`.
/// `measure_href`, when given, is the prefix of a measure's link (`/facilities/F/measures/`).
#[derive(askama::Template)]
#[template(path = "findings.html")]
pub struct FindingsTable<'a> {
    pub lang: Lang,
    pub rows: &'a [FindingView<'a>],
    pub measure_href: Option<&'a str>,
}

impl crate::Translate for FindingsTable<'_> {
    fn lang(&self) -> Lang {
        self.lang
    }
}

impl FindingsTable<'_> {
    fn shown<'b>(&self, objects: &'b [String]) -> &'b [String] {
        &objects[..objects.len().min(OBJECTS_SHOWN)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_reads_in_words_with_capped_objects() {
        static DEF: RuleDef = RuleDef::new(
            "T-ONE",
            "test",
            Severity::High,
            Text::new("Stale <accounts>", "Comptes <dormants>"),
            &["IAM-04"],
        )
        .with_references(&[Reference::anssi("vuln_x")]);
        let objects: Vec<String> = (0..60).map(|i| format!("user{i}")).collect();
        let rows = [FindingView::new(
            "T-ONE",
            Severity::High,
            &objects,
            vec!["IAM-04"],
            Some(&DEF),
        )];
        let html = crate::render(&FindingsTable {
            lang: Lang::Fr,
            rows: &rows,
            measure_href: Some("/facilities/F/measures/"),
        });
        assert!(html.contains("Comptes &lt;dormants&gt;"), "{html}");
        assert!(html.contains("élevée") && !html.contains(">high<"));
        assert!(html.contains("vuln_x"));
        assert!(html.contains("user49") && !html.contains("user50,"));
        assert!(html.contains("(+10)"));
        assert!(html.contains("href=\"/facilities/F/measures/IAM-04\""));
    }
}

/// A recorded audit run as a self-contained report (what the web's run page shows), for its PDF:
/// the audit's label, the directory's domain and scores for an AD run (`scores`: HTML an
/// audit crate's template rendered), the failed rules, the passed ones.
#[derive(askama::Template)]
#[template(path = "run_report.html")]
pub struct RunReport<'a> {
    pub lang: Lang,
    pub label: &'a str,
    pub domain: Option<&'a str>,
    pub target: Option<&'a str>,
    pub when: String,
    pub total: usize,
    pub scores: Option<String>,
    pub findings: FindingsTable<'a>,
    pub passed: Vec<&'a str>,
}

impl crate::Translate for RunReport<'_> {
    fn lang(&self) -> Lang {
        self.lang
    }
}
