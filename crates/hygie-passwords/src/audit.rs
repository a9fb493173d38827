//! The password-quality checks and the audit that runs them over a dump.
//!
//! Findings name accounts only. No hash, no candidate password and no matched word leaves this
//! module: the matching happens on `NtHash` values, which cannot be printed.

use crate::breach::BreachIndex;
use crate::dictionary::Dictionary;
use crate::directory::Directory;
use crate::hash::{EMPTY_NT, NtHash, NtHasher};
use crate::pwdump::{Account, Dump};
use hygie_core::{CheckRun, Localized, MeasureId, RuleOutcome, RuleResult, Severity};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// A check of this audit: id, base severity, titles, and the catalogue measures it verifies.
#[derive(Debug, Clone, Copy)]
pub struct CheckDef {
    pub id: &'static str,
    pub severity: Severity,
    pub title_en: &'static str,
    pub title_fr: &'static str,
    pub measures: &'static [&'static str],
}

impl CheckDef {
    pub fn title(&self) -> Localized {
        Localized::new(self.title_en, self.title_fr)
    }

    pub fn measure_ids(&self) -> Vec<MeasureId> {
        self.measures
            .iter()
            .filter_map(|m| MeasureId::parse(m).ok())
            .collect()
    }
}

pub const EMPTY: CheckDef = CheckDef {
    id: "HSH-01",
    severity: Severity::Critical,
    title_en: "Account with an empty password",
    title_fr: "Compte avec un mot de passe vide",
    measures: &["IAM-06", "IAM-04"],
};
pub const DICTIONARY: CheckDef = CheckDef {
    id: "HSH-02",
    severity: Severity::High,
    title_en: "Password from the weak-password dictionary (seasons, years, hospital words, keyboard walks, first names)",
    title_fr: "Mot de passe du dictionnaire de mots de passe faibles (saisons, années, vocabulaire hospitalier, suites de clavier, prénoms)",
    measures: &["IAM-06", "IAM-04"],
};
pub const USERNAME: CheckDef = CheckDef {
    id: "HSH-03",
    severity: Severity::High,
    title_en: "Password derived from the account name",
    title_fr: "Mot de passe dérivé du nom du compte",
    measures: &["IAM-06", "IAM-04"],
};
pub const SHARED: CheckDef = CheckDef {
    id: "HSH-04",
    severity: Severity::High,
    title_en: "Accounts sharing the same password (critical when a privileged account shares it with an ordinary one)",
    title_fr: "Comptes partageant le même mot de passe (critique quand un compte à privilèges le partage avec un compte ordinaire)",
    measures: &["IAM-06", "IAM-01"],
};
pub const LM_HASH: CheckDef = CheckDef {
    id: "HSH-05",
    severity: Severity::Medium,
    title_en: "LM hash stored for the account",
    title_fr: "Empreinte LM conservée pour le compte",
    measures: &["IAM-07"],
};
pub const DEFAULT_COMPUTER: CheckDef = CheckDef {
    id: "HSH-06",
    severity: Severity::Medium,
    title_en: "Computer account with its default password (its own name)",
    title_fr: "Compte d'ordinateur avec son mot de passe par défaut (son propre nom)",
    measures: &["IAM-06", "IAM-08"],
};
pub const BREACHED: CheckDef = CheckDef {
    id: "HSH-07",
    severity: Severity::High,
    title_en: "Password present in a breach corpus",
    title_fr: "Mot de passe présent dans un corpus de fuites",
    measures: &["IAM-06", "IAM-04"],
};
pub const HISTORY_REUSE: CheckDef = CheckDef {
    id: "HSH-08",
    severity: Severity::Medium,
    title_en: "Current password reused from the account's own password history",
    title_fr: "Mot de passe actuel réutilisé depuis l'historique du compte",
    measures: &["IAM-04", "IAM-06"],
};

/// Every check, in report order.
pub const CHECKS: &[CheckDef] = &[
    EMPTY,
    DICTIONARY,
    USERNAME,
    SHARED,
    LM_HASH,
    DEFAULT_COMPUTER,
    BREACHED,
    HISTORY_REUSE,
];

/// RIDs treated as privileged when no directory status is given (built-in Administrator).
const PRIVILEGED_RIDS: &[u32] = &[500];

/// Options of one audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Audit disabled accounts too (by default they are counted and skipped).
    pub include_disabled: bool,
    /// Current year: user-name variants try it and the previous one as suffixes.
    pub year: i32,
    /// Worker threads for hashing candidates.
    pub threads: usize,
    /// Breached only when the corpus saw the hash at least this many times.
    pub min_breach_count: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            include_disabled: false,
            year: 2026,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            min_breach_count: 1,
        }
    }
}

/// One finding: a check, a severity and the accounts concerned (names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub title: Localized,
    pub accounts: Vec<String>,
}

/// Whether a check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    Pass,
    Fail,
    NotEvaluated,
}

/// The outcome of one check in this audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub check: &'static str,
    pub severity: Severity,
    pub title: Localized,
    pub measures: Vec<&'static str>,
    pub outcome: Evaluation,
    /// Accounts failing the check.
    pub accounts: usize,
    /// Why the check did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Counts describing the audited population.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub accounts: usize,
    pub audited: usize,
    pub disabled_skipped: usize,
    pub without_nt_hash: usize,
    pub privileged_audited: usize,
    pub with_history: usize,
    pub dictionary_candidates: u64,
    pub breach_index_entries: Option<u64>,
}

/// The result of an audit: no secret in it, ready to print or serialise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub source: &'static str,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckOutcome>,
}

impl AuditReport {
    /// The run to record for the facility: one rule result per evaluated check.
    pub fn to_check_run(&self, id: String, at: jiff::Timestamp) -> CheckRun {
        let results = self
            .checks
            .iter()
            .filter(|c| c.outcome != Evaluation::NotEvaluated)
            .map(|c| {
                let mut objects = BTreeSet::new();
                let mut severity = c.severity;
                for f in self.findings.iter().filter(|f| f.check == c.check) {
                    objects.extend(f.accounts.iter().cloned());
                    severity = severity.max(f.severity);
                }
                let def = CHECKS.iter().find(|d| d.id == c.check);
                RuleResult {
                    rule: c.check.to_string(),
                    severity,
                    outcome: if c.outcome == Evaluation::Fail {
                        RuleOutcome::Fail
                    } else {
                        RuleOutcome::Pass
                    },
                    measures: def.map(CheckDef::measure_ids).unwrap_or_default(),
                    objects: objects.into_iter().collect(),
                }
            })
            .collect();
        CheckRun {
            id,
            source: "passwords".to_string(),
            at,
            results,
        }
    }

    /// Accounts of the findings of one check (all severities), sorted.
    pub fn accounts_of(&self, check: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.check == check)
            .flat_map(|f| f.accounts.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What the audit knows about one audited account.
struct Subject<'a> {
    account: &'a Account,
    nt: NtHash,
    privileged: bool,
    name: String,
}

/// Inputs of an audit besides the dump.
#[derive(Default)]
pub struct Sources<'a> {
    pub directory: Option<&'a Directory>,
    pub dictionary: Option<&'a Dictionary>,
    pub breach: Option<&'a BreachIndex>,
}

/// Run every check on `dump`.
pub fn audit(dump: &Dump, sources: &Sources<'_>, opts: &AuditOptions) -> AuditReport {
    let mut summary = Summary {
        accounts: dump.accounts.len(),
        audited: 0,
        disabled_skipped: 0,
        without_nt_hash: 0,
        privileged_audited: 0,
        with_history: 0,
        dictionary_candidates: sources.dictionary.map_or(0, Dictionary::candidate_count),
        breach_index_entries: sources.breach.map(BreachIndex::len),
    };
    let mut subjects = Vec::with_capacity(dump.accounts.len());
    let mut lm_accounts = Vec::new();
    for a in &dump.accounts {
        let status = sources.directory.and_then(|d| d.get(&a.name));
        let enabled = status.map(|s| s.enabled).or(a.enabled).unwrap_or(true);
        if !enabled && !opts.include_disabled {
            summary.disabled_skipped += 1;
            continue;
        }
        let privileged = status.map_or(PRIVILEGED_RIDS.contains(&a.rid), |s| s.privileged);
        if a.lm_stored {
            lm_accounts.push((a.display_name(), privileged));
        }
        let Some(nt) = a.nt else {
            summary.without_nt_hash += 1;
            continue;
        };
        summary.audited += 1;
        summary.privileged_audited += usize::from(privileged);
        summary.with_history += usize::from(!a.history.is_empty());
        subjects.push(Subject {
            account: a,
            nt,
            privileged,
            name: a.display_name(),
        });
    }

    // Hash -> subjects holding it: the set every hash-based check looks candidates up in.
    let mut by_hash: HashMap<NtHash, Vec<u32>> = HashMap::with_capacity(subjects.len());
    for (i, s) in subjects.iter().enumerate() {
        by_hash.entry(s.nt).or_default().push(i as u32);
    }

    let mut findings = Vec::new();
    let mut outcomes = Vec::new();
    let threads = opts.threads.max(1);

    // HSH-01 empty password.
    let empty: Vec<usize> = by_hash
        .get(&EMPTY_NT)
        .map(|v| v.iter().map(|&i| i as usize).collect())
        .unwrap_or_default();
    record_accounts(&EMPTY, &subjects, empty, &mut findings, &mut outcomes);

    // HSH-02 dictionary.
    match sources.dictionary {
        Some(d) => {
            let found = d.find(&by_hash, threads);
            let hit: Vec<usize> = found
                .iter()
                .flat_map(|h| by_hash.get(h).into_iter().flatten())
                .map(|&i| i as usize)
                .collect();
            record_accounts(&DICTIONARY, &subjects, hit, &mut findings, &mut outcomes);
        }
        None => outcomes.push(not_evaluated(&DICTIONARY, "no dictionary")),
    }

    // HSH-03 user name as password.
    let hit = username_matches(&subjects, opts.year, threads);
    record_accounts(&USERNAME, &subjects, hit, &mut findings, &mut outcomes);

    // HSH-04 shared passwords: one finding per group.
    let mut groups: Vec<&Vec<u32>> = by_hash
        .iter()
        .filter(|(h, v)| v.len() > 1 && **h != EMPTY_NT)
        .map(|(_, v)| v)
        .collect();
    groups.sort_by_key(|v| v.iter().map(|&i| subjects[i as usize].name.clone()).min());
    let mut shared_accounts = 0;
    for g in &groups {
        let privileged = g
            .iter()
            .filter(|&&i| subjects[i as usize].privileged)
            .count();
        let severity = if privileged > 0 && privileged < g.len() {
            Severity::Critical
        } else {
            SHARED.severity
        };
        let mut accounts: Vec<String> = g
            .iter()
            .map(|&i| subjects[i as usize].name.clone())
            .collect();
        accounts.sort();
        shared_accounts += accounts.len();
        findings.push(Finding {
            check: SHARED.id,
            severity,
            title: SHARED.title(),
            accounts,
        });
    }
    outcomes.push(outcome(&SHARED, shared_accounts));

    // HSH-05 LM hash stored (accounts without an NT hash count too).
    {
        let mut ordinary: Vec<String> = lm_accounts
            .iter()
            .filter(|(_, p)| !p)
            .map(|(n, _)| n.clone())
            .collect();
        let mut privileged: Vec<String> = lm_accounts
            .iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| n.clone())
            .collect();
        ordinary.sort();
        privileged.sort();
        let n = ordinary.len() + privileged.len();
        push_split(&LM_HASH, ordinary, privileged, &mut findings);
        outcomes.push(outcome(&LM_HASH, n));
    }

    // HSH-06 default computer password.
    let hasher = NtHasher;
    let mut utf16 = Vec::new();
    let hit: Vec<usize> = subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| s.account.is_machine())
        .filter(|(_, s)| {
            let base = s.account.name.trim_end_matches('$').to_lowercase();
            let short: String = base.chars().take(14).collect();
            hasher.hash_into(&base, &mut utf16) == s.nt
                || hasher.hash_into(&short, &mut utf16) == s.nt
        })
        .map(|(i, _)| i)
        .collect();
    record_accounts(
        &DEFAULT_COMPUTER,
        &subjects,
        hit,
        &mut findings,
        &mut outcomes,
    );

    // HSH-07 breach corpus.
    match sources.breach {
        Some(index) => {
            let hashes: Vec<NtHash> = by_hash.keys().copied().collect();
            let counts = index.lookup_batch(&hashes);
            let hit: Vec<usize> = hashes
                .iter()
                .zip(counts)
                .filter(|(_, c)| {
                    c.is_some_and(|c| opts.min_breach_count <= 1 || c >= opts.min_breach_count)
                })
                .flat_map(|(h, _)| by_hash.get(h).into_iter().flatten())
                .map(|&i| i as usize)
                .collect();
            record_accounts(&BREACHED, &subjects, hit, &mut findings, &mut outcomes);
        }
        None => outcomes.push(not_evaluated(
            &BREACHED,
            "no breach index given (--breached)",
        )),
    }

    // HSH-08 reuse of a previous password.
    if summary.with_history > 0 {
        let hit: Vec<usize> = subjects
            .iter()
            .enumerate()
            .filter(|(_, s)| s.account.history.contains(&s.nt))
            .map(|(i, _)| i)
            .collect();
        record_accounts(&HISTORY_REUSE, &subjects, hit, &mut findings, &mut outcomes);
    } else {
        outcomes.push(not_evaluated(
            &HISTORY_REUSE,
            "the dump has no password history (secretsdump -history)",
        ));
    }

    let order = |id: &str| CHECKS.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    outcomes.sort_by_key(|o| order(o.check));
    findings.sort_by(|a, b| {
        order(a.check)
            .cmp(&order(b.check))
            .then(b.severity.cmp(&a.severity))
    });
    AuditReport {
        source: "passwords",
        summary,
        findings,
        checks: outcomes,
    }
}

fn outcome(def: &CheckDef, failing: usize) -> CheckOutcome {
    CheckOutcome {
        check: def.id,
        severity: def.severity,
        title: def.title(),
        measures: def.measures.to_vec(),
        outcome: if failing > 0 {
            Evaluation::Fail
        } else {
            Evaluation::Pass
        },
        accounts: failing,
        reason: None,
    }
}

fn not_evaluated(def: &CheckDef, reason: &'static str) -> CheckOutcome {
    CheckOutcome {
        outcome: Evaluation::NotEvaluated,
        reason: Some(reason),
        ..outcome(def, 0)
    }
}

/// Record a per-account check: ordinary accounts at the check's severity, privileged accounts in
/// a separate critical finding.
fn record_accounts(
    def: &CheckDef,
    subjects: &[Subject<'_>],
    mut hit: Vec<usize>,
    findings: &mut Vec<Finding>,
    outcomes: &mut Vec<CheckOutcome>,
) {
    hit.sort_unstable();
    hit.dedup();
    let mut ordinary: Vec<String> = hit
        .iter()
        .filter(|&&i| !subjects[i].privileged)
        .map(|&i| subjects[i].name.clone())
        .collect();
    let mut privileged: Vec<String> = hit
        .iter()
        .filter(|&&i| subjects[i].privileged)
        .map(|&i| subjects[i].name.clone())
        .collect();
    ordinary.sort();
    privileged.sort();
    outcomes.push(outcome(def, hit.len()));
    push_split(def, ordinary, privileged, findings);
}

fn push_split(
    def: &CheckDef,
    ordinary: Vec<String>,
    privileged: Vec<String>,
    findings: &mut Vec<Finding>,
) {
    if !privileged.is_empty() {
        findings.push(Finding {
            check: def.id,
            severity: Severity::Critical.max(def.severity),
            title: def.title(),
            accounts: privileged,
        });
    }
    if !ordinary.is_empty() {
        findings.push(Finding {
            check: def.id,
            severity: def.severity,
            title: def.title(),
            accounts: ordinary,
        });
    }
}

/// Variants of a user name tried as its password: the name as written, lower case, Capitalised,
/// UPPER case and reversed; and the lower-case and Capitalised forms followed by `1`, `123`, `!`,
/// the year or the previous year.
fn username_variants(name: &str, year: i32, mut f: impl FnMut(&str)) {
    let lower = name.to_lowercase();
    let mut cap = String::with_capacity(lower.len());
    let mut chars = lower.chars();
    if let Some(c) = chars.next() {
        cap.extend(c.to_uppercase());
        cap.push_str(chars.as_str());
    }
    let reversed: String = lower.chars().rev().collect();
    let upper = name.to_uppercase();
    let mut bare: Vec<&str> = Vec::with_capacity(5);
    for b in [name, &lower, &cap, &upper, &reversed] {
        if !b.is_empty() && !bare.contains(&b) {
            bare.push(b);
        }
    }
    for b in &bare {
        f(b);
    }
    let years = [year.to_string(), (year - 1).to_string()];
    let suffixes: [&str; 5] = ["1", "123", "!", &years[0], &years[1]];
    let mut buf = String::with_capacity(name.len() + 8);
    let mut forms = vec![&lower];
    if cap != lower {
        forms.push(&cap);
    }
    for b in forms {
        for s in suffixes {
            buf.clear();
            buf.push_str(b);
            buf.push_str(s);
            f(&buf);
        }
    }
}

/// Subjects (user accounts) whose password is a variant of their name.
fn username_matches(subjects: &[Subject<'_>], year: i32, threads: usize) -> Vec<usize> {
    let users: Vec<usize> = (0..subjects.len())
        .filter(|&i| !subjects[i].account.is_machine())
        .collect();
    let chunk = users.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let hasher = NtHasher;
                    let mut utf16 = Vec::with_capacity(64);
                    let mut hit = Vec::new();
                    for &i in part {
                        let subj = &subjects[i];
                        let mut found = false;
                        username_variants(&subj.account.name, year, |cand| {
                            found = found || hasher.hash_into(cand, &mut utf16) == subj.nt;
                        });
                        if found {
                            hit.push(i);
                        }
                    }
                    hit
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(v) => all.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_maps_to_valid_measures_and_has_both_titles() {
        let mut ids = BTreeSet::new();
        for c in CHECKS {
            assert!(ids.insert(c.id), "duplicate {}", c.id);
            assert_eq!(
                c.measure_ids().len(),
                c.measures.len(),
                "{} has an invalid measure id",
                c.id
            );
            assert!(!c.title_en.is_empty() && !c.title_fr.is_empty());
            assert_ne!(c.title_en, c.title_fr);
        }
    }

    #[test]
    fn username_variants_cover_case_reverse_digits_and_year() {
        let mut seen = Vec::new();
        username_variants("JDupont", 2026, |c| seen.push(c.to_string()));
        for want in [
            "JDupont",
            "jdupont",
            "Jdupont",
            "JDUPONT",
            "tnopudj",
            "jdupont1",
            "Jdupont123",
            "jdupont!",
            "Jdupont2026",
            "jdupont2025",
        ] {
            assert!(
                seen.iter().any(|s| s == want),
                "{want} missing from {seen:?}"
            );
        }
        assert_eq!(seen.len(), 5 + 2 * 5);
        let mut digits_only = Vec::new();
        username_variants("1234", 2026, |c| digits_only.push(c.to_string()));
        assert_eq!(
            digits_only,
            [
                "1234", "4321", "12341", "1234123", "1234!", "12342026", "12342025"
            ]
        );
    }
}
