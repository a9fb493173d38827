//! Running the rules over a snapshot: findings, ANSSI-style level, per-category risk scores,
//! the `CheckRun` for the store, comparison with a previous run, and text/HTML renderings.

use crate::config::AuditConfig;
use crate::index::Index;
use crate::model::{AccountKind, AdSnapshot};
use crate::rules::{Category, Ctx, Eval, RULES, Rule};
use hygie_core::{CheckRun, Finding as RuleFinding, RuleOutcome, RuleResult, Severity, Text};
use hygie_report::Translate as _;
use hygie_report::{FindingView, FindingsTable};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub level: u8,
    pub category: Category,
    pub title: Text,
    pub objects: Vec<String>,
    pub detail: String,
    pub measures: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anssi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pingcastle: Option<String>,
    pub points: u32,
    /// Empty in both languages when the rule gives none.
    pub rationale: Text,
    pub remediation: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotApplicable {
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Stats {
    pub users: usize,
    pub enabled_users: usize,
    pub computers: usize,
    pub groups: usize,
    pub privileged_accounts: usize,
    pub domain_controllers: usize,
}

/// Per-category risk scores (0 best to 100 worst) and the global score (their maximum).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    pub password_policy: u32,
    pub accounts: u32,
    pub kerberos_delegation: u32,
    pub privileged: u32,
    pub infrastructure: u32,
    pub global: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    pub domain: String,
    pub as_of: Timestamp,
    /// ANSSI-style level: the lowest level among failed rules, 5 when none fails.
    pub level: u8,
    pub scores: Scores,
    pub findings: Vec<Finding>,
    pub passed: Vec<String>,
    pub not_applicable: Vec<NotApplicable>,
    pub stats: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// Evaluate every enabled rule.
pub fn audit(snap: &AdSnapshot, cfg: &AuditConfig, as_of: Timestamp) -> AuditReport {
    let idx = Index::new(snap);
    let ctx = Ctx {
        snap,
        idx: &idx,
        cfg,
        as_of,
    };
    let mut findings = Vec::new();
    let mut passed = Vec::new();
    let mut not_applicable = Vec::new();
    for r in RULES.iter().filter(|r| {
        !cfg.disabled_rules
            .iter()
            .any(|d| d.eq_ignore_ascii_case(r.def.id))
    }) {
        match (r.eval)(&ctx) {
            Eval::Pass => passed.push(r.def.id.to_string()),
            Eval::NotApplicable { reason } => not_applicable.push(NotApplicable {
                rule: r.def.id.to_string(),
                reason: reason.to_string(),
            }),
            Eval::Fail { objects, detail } => findings.push(finding(r, objects, detail)),
        }
    }
    let level = findings.iter().map(|f| f.level).min().unwrap_or(5);
    let scores = scores(&findings);
    let stats = Stats {
        users: snap
            .accounts
            .iter()
            .filter(|a| a.kind == AccountKind::User)
            .count(),
        enabled_users: snap
            .accounts
            .iter()
            .filter(|a| a.kind == AccountKind::User && a.enabled())
            .count(),
        computers: snap
            .accounts
            .iter()
            .filter(|a| a.kind == AccountKind::Computer)
            .count(),
        groups: snap.groups.len(),
        privileged_accounts: idx.privileged_people().count(),
        domain_controllers: snap.accounts.iter().filter(|a| a.is_dc()).count(),
    };
    findings.sort_by(|a, b| a.level.cmp(&b.level).then_with(|| a.rule.cmp(&b.rule)));
    AuditReport {
        domain: snap.domain.dns_name(),
        as_of,
        level,
        scores,
        findings,
        passed,
        not_applicable,
        stats,
        comparison: None,
    }
}

const NO_TEXT: Text = Text::new("", "");

fn finding(r: &Rule, objects: Vec<String>, detail: String) -> Finding {
    Finding {
        rule: r.def.id.to_string(),
        severity: r.severity(),
        level: r.level,
        category: r.category,
        title: r.def.title,
        objects,
        detail,
        measures: r.def.measures.iter().map(|m| m.to_string()).collect(),
        anssi: r.def.reference("ANSSI").map(String::from),
        pingcastle: r.def.reference("PingCastle").map(String::from),
        points: r.points(),
        rationale: r.def.rationale.unwrap_or(NO_TEXT),
        remediation: r.def.remediation.unwrap_or(NO_TEXT),
    }
}

/// PingCastle-style: points of failed rules summed per category, each capped at 100.
pub fn scores(findings: &[Finding]) -> Scores {
    let sum = |c: Category| {
        findings
            .iter()
            .filter(|f| f.category == c)
            .map(|f| f.points)
            .sum::<u32>()
            .min(100)
    };
    let s = [
        sum(Category::PasswordPolicy),
        sum(Category::Accounts),
        sum(Category::KerberosDelegation),
        sum(Category::Privileged),
        sum(Category::Infrastructure),
    ];
    Scores {
        password_policy: s[0],
        accounts: s[1],
        kerberos_delegation: s[2],
        privileged: s[3],
        infrastructure: s[4],
        global: s.iter().copied().max().unwrap_or(0),
    }
}

impl AuditReport {
    /// One finding per evaluated rule (pass and fail), in rule order; not-applicable rules
    /// verify nothing.
    pub fn rule_findings(&self) -> Vec<RuleFinding> {
        let mut out = Vec::new();
        for r in RULES {
            if let Some(f) = self.findings.iter().find(|f| f.rule == r.def.id) {
                out.push(RuleFinding {
                    severity: f.severity,
                    outcome: RuleOutcome::Fail,
                    objects: f.objects.clone(),
                    ..r.def.pass()
                });
            } else if self.passed.iter().any(|p| p == r.def.id) {
                out.push(r.def.pass());
            }
        }
        out
    }

    /// The run to record (source `ad`): one result per evaluated rule.
    pub fn to_check_run(&self, id: String, at: Timestamp) -> CheckRun {
        CheckRun::of(id, "ad", at, &self.rule_findings())
    }

    pub fn compare_with(
        &mut self,
        previous_id: &str,
        previous_at: Timestamp,
        previous: &[RuleResult],
    ) {
        self.comparison = Some(compare(previous_id, previous_at, previous, &self.findings));
    }
}

/// What changed since a previous run, by (rule, object) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub previous_run: String,
    pub previous_at: Timestamp,
    pub new: Vec<Change>,
    pub fixed: Vec<Change>,
    pub still_open: Vec<Change>,
}

pub use hygie_core::Change;

/// The comparison of the CLI's report: `hygie_core::Changes`, by (rule, object) pair, the one
/// comparison every audit view uses.
pub fn compare(
    previous_id: &str,
    previous_at: Timestamp,
    previous: &[RuleResult],
    current: &[Finding],
) -> Comparison {
    let cur = hygie_core::Changes::pairs(
        current
            .iter()
            .map(|f| (f.rule.as_str(), f.objects.as_slice())),
    );
    let c = hygie_core::Changes::between(&hygie_core::Changes::failed_pairs(previous), &cur);
    Comparison {
        previous_run: previous_id.to_string(),
        previous_at,
        new: c.new,
        fixed: c.fixed,
        still_open: c.still_open,
    }
}

/// A plain-text table for terminals.
pub fn render_table(r: &AuditReport, lang: hygie_core::Lang) -> String {
    let fr = lang == hygie_core::Lang::Fr;
    let mut out = String::new();
    out.push_str(&format!(
        "{} {} — {} {}/5 — {} {}\n",
        if fr { "Domaine" } else { "Domain" },
        r.domain,
        if fr { "niveau ANSSI" } else { "ANSSI level" },
        r.level,
        if fr { "score de risque" } else { "risk score" },
        r.scores.global
    ));
    for c in Category::ALL {
        let (en, frt) = c.title();
        out.push_str(&format!(
            "  {:<28} {:>3}/100\n",
            if fr { frt } else { en },
            category_score(&r.scores, c)
        ));
    }
    out.push_str(&format!(
        "{:<8} {:<9} {:>3}  {:<60} {}\n",
        "RULE",
        "SEVERITY",
        "LVL",
        if fr { "TITRE" } else { "TITLE" },
        "OBJECTS"
    ));
    for f in &r.findings {
        let objs = if f.objects.len() > 5 {
            format!("{} (+{})", f.objects[..5].join(", "), f.objects.len() - 5)
        } else {
            f.objects.join(", ")
        };
        out.push_str(&format!(
            "{:<8} {:<9} {:>3}  {:<60} {}\n",
            f.rule,
            f.severity.as_str(),
            f.level,
            f.title.get(lang),
            objs
        ));
    }
    out.push_str(&format!(
        "{} {} {}, {} {}, {} {}\n",
        r.findings.len(),
        if fr { "échecs," } else { "failed," },
        r.passed.len(),
        if fr { "réussis" } else { "passed" },
        "",
        r.not_applicable.len(),
        if fr {
            "non applicables"
        } else {
            "not applicable"
        }
    ));
    if let Some(c) = &r.comparison {
        out.push_str(&format!(
            "{} {}: {} {}, {} {}, {} {}\n",
            if fr { "Depuis" } else { "Since" },
            c.previous_run,
            c.new.len(),
            if fr { "nouveaux" } else { "new" },
            c.fixed.len(),
            if fr { "corrigés" } else { "fixed" },
            c.still_open.len(),
            if fr { "toujours ouverts" } else { "still open" }
        ));
    }
    out
}

pub fn category_score(s: &Scores, c: Category) -> u32 {
    match c {
        Category::PasswordPolicy => s.password_policy,
        Category::Accounts => s.accounts,
        Category::KerberosDelegation => s.kerberos_delegation,
        Category::Privileged => s.privileged,
        Category::Infrastructure => s.infrastructure,
    }
}

/// What the store keeps of an AD run beside its results ([`AuditReport::summary`]), read back
/// by the pages that show the run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunSummary {
    pub domain: String,
    pub level: u8,
    pub scores: Scores,
}

impl RunSummary {
    /// The summary of a stored AD run; `None` when it is not one (another audit's summary).
    pub fn of(v: &serde_json::Value) -> Option<RunSummary> {
        RunSummary::deserialize(v).ok()
    }
}

impl AuditReport {
    /// The summary recorded with the run (never a secret): domain, level, scores, counts and
    /// how the directory was read (`ldap` or `ldif`).
    pub fn summary(&self, mode: &str) -> serde_json::Value {
        serde_json::json!({
            "domain": self.domain,
            "as_of": self.as_of,
            "level": self.level,
            "scores": self.scores,
            "stats": self.stats,
            "mode": mode,
        })
    }

    /// The failed rules as the shared findings view (`hygie_report::FindingsTable`).
    pub fn finding_views(&self) -> Vec<FindingView<'_>> {
        self.findings
            .iter()
            .map(|f| {
                let mut v = FindingView::new(
                    &f.rule,
                    f.severity,
                    &f.objects,
                    f.measures.iter().map(String::as_str).collect(),
                    rule_def(&f.rule),
                );
                v.level = Some(f.level);
                v.detail = Some(&f.detail);
                v
            })
            .collect()
    }
}

/// The definition of an AD rule by id.
pub fn rule_def(id: &str) -> Option<&'static hygie_core::RuleDef> {
    RULES.iter().find(|r| r.def.id == id).map(|r| &r.def)
}

/// The ANSSI level of an AD rule (1 most urgent to 4).
pub fn rule_level(id: &str) -> Option<u8> {
    RULES.iter().find(|r| r.def.id == id).map(|r| r.level)
}

/// The ANSSI level and the per-category risk scores (template `ad_scores.html`): one view for
/// the CLI's report and the web's run page.
#[derive(askama::Template)]
#[template(path = "ad_scores.html")]
pub struct ScoresView<'a> {
    pub lang: hygie_core::Lang,
    pub level: u8,
    pub scores: &'a Scores,
}

hygie_report::translate_by_lang_field!(ScoresView);

impl ScoresView<'_> {
    /// Each category's title in the reader's language and its score.
    fn categories(&self) -> Vec<(&'static str, u32)> {
        Category::ALL
            .iter()
            .map(|&c| {
                let (en, fr) = c.title();
                (
                    hygie_report::t(self.lang, en, fr),
                    category_score(self.scores, c),
                )
            })
            .collect()
    }
}

#[derive(askama::Template)]
#[template(path = "ad_report.html")]
struct ReportPage<'a> {
    lang: hygie_core::Lang,
    r: &'a AuditReport,
    scores: ScoresView<'a>,
    findings: FindingsTable<'a>,
}

hygie_report::translate_by_lang_field!(ReportPage);

/// A self-contained HTML report (inline CSS, no script, every value escaped by the template).
pub fn render_html(r: &AuditReport, lang: hygie_core::Lang) -> String {
    let rows = r.finding_views();
    hygie_report::render(&ReportPage {
        lang,
        r,
        scores: ScoresView {
            lang,
            level: r.level,
            scores: &r.scores,
        },
        findings: FindingsTable {
            lang,
            rows: &rows,
            measure_href: None,
        },
    })
}

/// An audit ready to record, the same for the CLI (`hygie audit ad`) and the web's upload: the
/// report compared with the previous run, the contract's findings and the summary kept with them.
pub struct AuditRun {
    pub report: AuditReport,
    pub findings: Vec<RuleFinding>,
    pub summary: serde_json::Value,
}

/// Audit a snapshot and compare it with the previous AD run when there is one; `mode` says how
/// the directory was read (`ldap` or `ldif`).
pub fn audit_run(
    snap: &AdSnapshot,
    cfg: &AuditConfig,
    as_of: Timestamp,
    previous: Option<&CheckRun>,
    mode: &str,
) -> AuditRun {
    let mut report = audit(snap, cfg, as_of);
    if let Some(prev) = previous {
        report.compare_with(&prev.id, prev.at, &prev.results);
    }
    AuditRun {
        findings: report.rule_findings(),
        summary: report.summary(mode),
        report,
    }
}

/// Per-rule object lists, for tests and callers that need a map.
pub fn objects_by_rule(r: &AuditReport) -> BTreeMap<String, Vec<String>> {
    r.findings
        .iter()
        .map(|f| (f.rule.clone(), f.objects.clone()))
        .collect()
}
