//! The AD rules: each reads the snapshot and says pass or fail with the objects at fault.
//!
//! One file per [`Category`], each rule's definition (a `hygie_core::RuleDef` with the ANSSI and
//! PingCastle references, texts and measures) beside the function that evaluates it. Levels follow
//! the ANSSI control points (1 = most critical); the severity derives from the level, and every
//! level 1 and 2 rule also verifies `IAM-10` (ANSSI level at least 3), as its data says.
//! To add a rule: write it in its category's file with the `r!` macro and append it to [`RULES`].

use crate::config::AuditConfig;
use crate::index::Index;
use crate::model::{Account, AccountKind, AdSnapshot, uac};
use crate::sd::{self, SecurityDescriptor};
use crate::sid::{Sid, well_known};
use crate::time::days_between;
use hygie_core::{Reference, RuleDef, Severity, Text};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    PasswordPolicy,
    Accounts,
    KerberosDelegation,
    Privileged,
    Infrastructure,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::PasswordPolicy,
        Category::Accounts,
        Category::KerberosDelegation,
        Category::Privileged,
        Category::Infrastructure,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PasswordPolicy => "password_policy",
            Category::Accounts => "accounts",
            Category::KerberosDelegation => "kerberos_delegation",
            Category::Privileged => "privileged",
            Category::Infrastructure => "infrastructure",
        }
    }
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            Category::PasswordPolicy => ("Password policy", "Politique de mots de passe"),
            Category::Accounts => ("Accounts", "Comptes"),
            Category::KerberosDelegation => ("Kerberos and delegation", "Kerberos et délégation"),
            Category::Privileged => ("Privileged accounts", "Comptes à privilèges"),
            Category::Infrastructure => ("Infrastructure", "Infrastructure"),
        }
    }
}

/// What one rule found.
#[derive(Debug, Clone, PartialEq)]
pub enum Eval {
    Pass,
    /// Objects at fault (names, never secrets) and a language-neutral detail (values, thresholds).
    Fail {
        objects: Vec<String>,
        detail: String,
    },
    /// The rule cannot be judged on this directory (e.g. a Windows-only mechanism on Samba).
    NotApplicable {
        reason: &'static str,
    },
}

pub struct Ctx<'a> {
    pub snap: &'a AdSnapshot,
    pub idx: &'a Index<'a>,
    pub cfg: &'a AuditConfig,
    pub as_of: Timestamp,
}

impl<'a> Ctx<'a> {
    fn t(&self) -> &crate::config::Thresholds {
        &self.cfg.thresholds
    }
    /// Whether `t` lies more than `days` days before the audit date; an unknown date is not.
    fn older_than(&self, t: Option<Timestamp>, days: u32) -> bool {
        t.is_some_and(|t| days_between(t, self.as_of) > f64::from(days))
    }
    /// Audited accounts: not trust accounts, not exempt.
    fn accounts(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.snap
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind != AccountKind::Trust && !self.cfg.is_exempt(&a.name))
    }
    fn enabled(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.accounts().filter(|(_, a)| a.enabled())
    }
    fn enabled_users(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.enabled().filter(|(_, a)| {
            matches!(
                a.kind,
                AccountKind::User | AccountKind::ManagedServiceAccount
            )
        })
    }
    fn enabled_computers(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.enabled()
            .filter(|(_, a)| a.kind == AccountKind::Computer)
    }
    fn privileged(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.idx
            .privileged_people()
            .filter(|(_, a)| a.kind != AccountKind::Trust && !self.cfg.is_exempt(&a.name))
    }
    fn privileged_enabled(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.privileged().filter(|(_, a)| a.enabled())
    }
    fn is_krbtgt(&self, a: &Account) -> bool {
        a.rid() == Some(502) || a.name.eq_ignore_ascii_case("krbtgt")
    }
    /// Samba's `dns-<host>` service account, provisioned with a random password and an SPN.
    fn is_samba_dns(&self, a: &Account) -> bool {
        self.snap.is_samba && a.name.to_ascii_lowercase().starts_with("dns-")
    }
    fn dc_hostnames(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for a in self.snap.accounts.iter().filter(|a| a.is_dc()) {
            let short = a.name.trim_end_matches('$').to_ascii_lowercase();
            s.insert(format!("{short}.{}", self.snap.domain.dns_name()));
            s.insert(short);
        }
        s
    }
    /// Principals trusted on tier-0 objects: SYSTEM, Enterprise DCs, SELF, CREATOR OWNER,
    /// Administrators and the builtin operator groups (themselves audited as privileged), and the
    /// domain's admin, DC and key-admin groups.
    fn tier0(&self, sid: &Sid) -> bool {
        let text = sid.to_string();
        const TRUSTED: &[&str] = &[
            well_known::LOCAL_SYSTEM,
            well_known::ENTERPRISE_DCS,
            well_known::SELF,
            well_known::CREATOR_OWNER,
            "S-1-5-32-544",
            "S-1-5-32-548",
            "S-1-5-32-549",
            "S-1-5-32-550",
            "S-1-5-32-551",
        ];
        if TRUSTED.contains(&text.as_str()) {
            return true;
        }
        match (sid.parent(), self.idx.domain_sid()) {
            (Some(p), Some(d)) if &p == d => matches!(
                sid.rid(),
                Some(500 | 498 | 512 | 516 | 518 | 519 | 521 | 526 | 527)
            ),
            _ => false,
        }
    }
}

fn fail(objects: impl IntoIterator<Item = String>, detail: impl Into<String>) -> Eval {
    let mut v: Vec<String> = objects.into_iter().collect();
    v.sort();
    v.dedup();
    Eval::Fail {
        objects: v,
        detail: detail.into(),
    }
}

/// A rule on the domain as a whole: failed on the domain, with `detail`, when `failing`.
fn domain_fails(c: &Ctx<'_>, failing: bool, detail: impl Into<String>) -> Eval {
    if failing {
        fail([c.snap.domain.dns_name()], detail)
    } else {
        Eval::Pass
    }
}

fn names<'a>(it: impl Iterator<Item = (usize, &'a Account)>) -> Vec<String> {
    it.map(|(_, a)| a.name.clone()).collect()
}

fn list_rule<'a>(it: impl Iterator<Item = (usize, &'a Account)>, detail: &str) -> Eval {
    fail_on(names(it), detail)
}

/// A rule on a list of objects: passes when there is none, else fails on them with `detail`.
fn fail_on(objects: impl IntoIterator<Item = String>, detail: impl Into<String>) -> Eval {
    let mut objects = objects.into_iter().peekable();
    if objects.peek().is_none() {
        Eval::Pass
    } else {
        fail(objects, detail)
    }
}

/// One AD rule: its definition, its category and ANSSI level, and its evaluation.
pub struct Rule {
    pub def: RuleDef,
    pub category: Category,
    /// ANSSI-style level of the control: 1 (critical) to 5.
    pub level: u8,
    pub eval: fn(&Ctx<'_>) -> Eval,
}

/// The severity of an ANSSI level.
pub const fn severity_of_level(level: u8) -> Severity {
    match level {
        1 => Severity::Critical,
        2 => Severity::High,
        3 => Severity::Medium,
        4 => Severity::Low,
        _ => Severity::Info,
    }
}

impl Rule {
    pub fn severity(&self) -> Severity {
        self.def.severity
    }
    /// Risk points a failure adds to its category (capped at 100 per category).
    pub fn points(&self) -> u32 {
        match self.level {
            1 => 30,
            2 => 20,
            3 => 10,
            4 => 5,
            _ => 1,
        }
    }
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.def.id.eq_ignore_ascii_case(id))
}

/// A rule of the `ad` source: id, category, level, references, measures, thresholds read, title,
/// rationale and remediation (each English then French), and the evaluating function.
macro_rules! r {
    ($id:literal, $cat:ident, $lvl:literal, refs [$($rf:expr),*], measures [$($m:literal),*],
     thresholds [$($t:literal),*], $ten:literal, $tfr:literal, $ren:literal, $rfr:literal,
     $fen:literal, $ffr:literal, $f:expr) => {
        Rule {
            def: RuleDef::new($id, "ad", severity_of_level($lvl), Text::new($ten, $tfr), &[$($m),*])
                .with_rationale(Text::new($ren, $rfr))
                .with_remediation(Text::new($fen, $ffr))
                .with_references(&[$($rf),*])
                .with_thresholds(&[$($t),*]),
            category: Category::$cat,
            level: $lvl,
            eval: $f,
        }
    };
}

mod accounts;
mod infrastructure;
mod kerberos_delegation;
mod password_policy;
mod privileged;

use accounts::*;
use infrastructure::*;
use kerberos_delegation::*;
use password_policy::*;
use privileged::*;

/// Every AD rule, in report order (category, then id).
pub static RULES: &[&Rule] = &[
    &PWD_01, &PWD_02, &PWD_03, &PWD_04, &PWD_05, &PWD_06, &PWD_07, &PWD_08, &PWD_09, &PWD_10,
    &ACC_01, &ACC_02, &ACC_03, &ACC_04, &ACC_05, &ACC_06, &ACC_07, &ACC_08, &ACC_09, &ACC_10,
    &ACC_11, &ACC_12, &ACC_13, &KRB_01, &KRB_02, &KRB_03, &KRB_04, &KRB_05, &KRB_06, &DLG_01,
    &DLG_02, &DLG_03, &DLG_04, &DLG_05, &DLG_06, &PRV_01, &PRV_02, &PRV_03, &PRV_04, &PRV_05,
    &PRV_06, &PRV_07, &PRV_08, &PRV_09, &PRV_10, &PRV_11, &PRV_12, &PRV_13, &PRV_14, &PRV_15,
    &PRV_16, &INF_01, &INF_02, &INF_03, &INF_04, &INF_05, &INF_06, &INF_07, &INF_08, &INF_09,
    &INF_10, &INF_11, &INF_12, &INF_13, &INF_14, &INF_15, &INF_16, &INF_17, &INF_18,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_one_and_two_verify_iam_10_and_severity_follows_the_level() {
        for r in RULES {
            assert_eq!(r.def.severity, severity_of_level(r.level), "{}", r.def.id);
            assert_eq!(r.def.source, "ad");
            if r.level <= 2 {
                assert!(r.def.measures.contains(&"IAM-10"), "{}", r.def.id);
            }
        }
    }
}
