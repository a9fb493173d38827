//! Strong authentication: who must have MFA (privileged accounts, remote access users, users of
//! the patient record) against who has it.
//!
//! Who must: a CSV (`account`, `privileged`, `remote`, `patient_record` as yes/no) and/or group
//! memberships, as a CSV (`group`, `member`) or an AD LDIF export (users' `memberOf`, groups'
//! `member`), with the groups that make an account privileged, remote or a patient-record user.
//! Who has it: an IdP export CSV (`user`/`upn`/`email`, and `mfa` yes/no or `methods`), and/or the
//! members of an MFA group in the same memberships.
//! Accounts compare case-insensitively without their domain (`CHU\jdoe` = `jdoe@chu.test`).

use crate::input::{Table, parse_bool};
use crate::{CollectError, Collector, Evaluation, Files, Registration, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The source of its rules and check runs, and the collector's name.
const SOURCE: &str = "mfa";

pub static PRIVILEGED: RuleDef = RuleDef::new(
    "MFA-PRIVILEGED",
    SOURCE,
    Severity::Critical,
    Text::new(
        "Privileged accounts without multi-factor authentication",
        "Comptes à privilèges sans authentification multifacteur",
    ),
    &["IAM-09"],
);
pub static REMOTE: RuleDef = RuleDef::new(
    "MFA-REMOTE",
    SOURCE,
    Severity::High,
    Text::new(
        "Remote access users without multi-factor authentication",
        "Utilisateurs d'accès distant sans authentification multifacteur",
    ),
    &["IAM-09"],
);
pub static PATIENT_RECORD: RuleDef = RuleDef::new(
    "MFA-PATIENT-RECORD",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Patient-record users without multi-factor authentication",
        "Utilisateurs du dossier patient sans authentification multifacteur",
    ),
    &["IAM-09"],
);
pub static COVERAGE: RuleDef = RuleDef::new(
    "MFA-COVERAGE",
    SOURCE,
    Severity::Medium,
    Text::new(
        "MFA coverage of the accounts that require it below target",
        "Couverture MFA des comptes qui l'exigent sous la cible",
    ),
    &["IAM-09"],
)
.with_thresholds(&["min_coverage"]);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Strong authentication: privileged, remote and patient-record accounts with MFA, coverage",
        fr: "Authentification forte : MFA des comptes à privilèges, d'accès distant et du dossier patient, couverture",
    },
    rules: &[&PRIVILEGED, &REMOTE, &PATIENT_RECORD, &COVERAGE],
};

/// Built-in privileged AD groups (English and French names).
pub const DEFAULT_PRIVILEGED_GROUPS: &[&str] = &[
    "Domain Admins",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Account Operators",
    "Backup Operators",
    "Server Operators",
    "Admins du domaine",
    "Administrateurs de l'entreprise",
    "Administrateurs du schéma",
    "Administrateurs",
    "Opérateurs de compte",
    "Opérateurs de sauvegarde",
    "Opérateurs de serveur",
];

#[derive(Debug, Clone, Default)]
pub struct MfaInputs {
    pub required_csv: Option<PathBuf>,
    pub groups_csv: Option<PathBuf>,
    pub privileged_groups: Vec<String>,
    pub remote_groups: Vec<String>,
    pub patient_record_groups: Vec<String>,
    pub idp_csv: Vec<PathBuf>,
    pub mfa_groups: Vec<String>,
    /// Target coverage in percent (100).
    pub min_coverage: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Need {
    pub privileged: bool,
    pub remote: bool,
    pub patient_record: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MfaEvidence {
    /// account key → (display name, why MFA is required)
    pub required: BTreeMap<String, (String, Need)>,
    pub with_mfa: BTreeSet<String>,
    pub min_coverage: f64,
}

/// (group, member account) pairs from a membership CSV (`group`, `member`) or an AD LDIF export:
/// users' `memberOf` and groups' `member`, DNs resolved to `sAMAccountName` (direct membership).
fn memberships(files: &dyn Files, p: &std::path::Path) -> Result<Vec<(String, String)>> {
    let text = crate::input::read(files, p)?;
    let ldif = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.to_ascii_lowercase().starts_with("dn:"));
    let mut out = Vec::new();
    if !ldif {
        let t = Table::parse(p, &text)?;
        t.require(&["group", "groupe"])?;
        t.require(&["member", "membre", "account", "user"])?;
        for row in &t.rows {
            out.push((
                t.req(row, &["group", "groupe"])?.to_owned(),
                t.req(row, &["member", "membre", "account", "user"])?
                    .to_owned(),
            ));
        }
        return Ok(out);
    }
    let records = crate::inventory::ldif_records(p, &text)?;
    let first =
        |r: &BTreeMap<String, Vec<String>>, k: &str| r.get(k).and_then(|v| v.first()).cloned();
    // The group's name in a DN: its first RDN value (`CN=Domain Admins,CN=Users,...`).
    let rdn = |dn: &str| {
        dn.split_once(',')
            .map_or(dn, |(a, _)| a)
            .split_once('=')
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    for (_, r) in &records {
        if let (Some(dn), Some(sam)) = (first(r, "dn"), first(r, "samaccountname")) {
            accounts.insert(dn.to_lowercase(), sam);
        }
    }
    for (line, r) in &records {
        let classes = r.get("objectclass").cloned().unwrap_or_default();
        let is = |c: &str| classes.iter().any(|x| x.eq_ignore_ascii_case(c));
        if is("group") {
            let name = first(r, "samaccountname")
                .or_else(|| first(r, "cn"))
                .or_else(|| first(r, "dn").as_deref().and_then(rdn))
                .ok_or_else(|| CollectError::at(p, Some(*line), "group without a name"))?;
            for m in r.get("member").into_iter().flatten() {
                // Members outside the export (or nested groups) are named by their DN's RDN.
                let who = accounts
                    .get(&m.to_lowercase())
                    .cloned()
                    .or_else(|| rdn(m))
                    .unwrap_or_else(|| m.clone());
                out.push((name.clone(), who));
            }
        } else if let Some(sam) = first(r, "samaccountname") {
            for g in r.get("memberof").into_iter().flatten() {
                if let Some(name) = rdn(g) {
                    out.push((name, sam.clone()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub fn account_key(a: &str) -> String {
    let a = a.trim();
    let a = a.rsplit_once('\\').map_or(a, |(_, u)| u);
    let a = a.split_once('@').map_or(a, |(u, _)| u);
    a.to_lowercase()
}

pub struct Mfa;

impl Collector for Mfa {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = MfaInputs;
    type Evidence = MfaEvidence;

    fn parse(&self, i: &MfaInputs, files: &dyn Files) -> Result<MfaEvidence> {
        let mut required: BTreeMap<String, (String, Need)> = BTreeMap::new();
        let mut with_mfa = BTreeSet::new();
        const ACCOUNT: &[&str] = &[
            "account",
            "user",
            "username",
            "samaccountname",
            "upn",
            "userprincipalname",
            "email",
            "login",
        ];
        if let Some(p) = &i.required_csv {
            let t = Table::read(files, p)?;
            t.require(ACCOUNT)?;
            for row in &t.rows {
                let name = t.req(row, ACCOUNT)?;
                let e = required
                    .entry(account_key(name))
                    .or_insert_with(|| (name.to_owned(), Need::default()));
                e.1.privileged |= t.bool(row, &["privileged", "admin"])?.unwrap_or(false);
                e.1.remote |= t
                    .bool(row, &["remote", "remote_access", "vpn"])?
                    .unwrap_or(false);
                e.1.patient_record |= t
                    .bool(row, &["patient_record", "dpi", "ehr"])?
                    .unwrap_or(false);
            }
        }
        if let Some(p) = &i.groups_csv {
            let has = |list: &[String], g: &str| list.iter().any(|x| x.eq_ignore_ascii_case(g));
            for (g, m) in memberships(files, p)? {
                let (pr, r, d) = (
                    has(&i.privileged_groups, &g),
                    has(&i.remote_groups, &g),
                    has(&i.patient_record_groups, &g),
                );
                if pr || r || d {
                    let e = required
                        .entry(account_key(&m))
                        .or_insert_with(|| (m.clone(), Need::default()));
                    e.1.privileged |= pr;
                    e.1.remote |= r;
                    e.1.patient_record |= d;
                }
                if has(&i.mfa_groups, &g) {
                    with_mfa.insert(account_key(&m));
                }
            }
        } else if !i.mfa_groups.is_empty() {
            return Err(CollectError::Usage("--mfa-group needs --groups".into()));
        }
        for p in &i.idp_csv {
            let t = Table::read(files, p)?;
            t.require(ACCOUNT)?;
            if !t.has(&[
                "mfa",
                "mfa_enabled",
                "mfa_registered",
                "strong_auth",
                "methods",
                "mfa_methods",
            ]) {
                return Err(CollectError::at(
                    p,
                    Some(1),
                    "missing column 'mfa' (yes/no) or 'methods'",
                ));
            }
            for row in &t.rows {
                let name = t.req(row, ACCOUNT)?;
                let flag = match t.get(
                    row,
                    &["mfa", "mfa_enabled", "mfa_registered", "strong_auth"],
                ) {
                    Some(v) => parse_bool(v).ok_or_else(|| {
                        t.error(row, format!("column 'mfa': '{v}' is not yes/no"))
                    })?,
                    None => t.get(row, &["methods", "mfa_methods"]).is_some_and(|m| {
                        crate::input::list(m).iter().any(|x| {
                            !matches!(
                                x.to_lowercase().as_str(),
                                "password" | "none" | "mot_de_passe"
                            )
                        })
                    }),
                };
                if flag {
                    with_mfa.insert(account_key(name));
                }
            }
        }
        if required.is_empty() && i.required_csv.is_none() && i.groups_csv.is_none() {
            return Err(CollectError::Usage(
                "say who must have MFA: --required or --groups".into(),
            ));
        }
        if i.idp_csv.is_empty() && i.mfa_groups.is_empty() {
            return Err(CollectError::Usage(
                "say who has MFA: --idp or --mfa-group".into(),
            ));
        }
        Ok(MfaEvidence {
            required,
            with_mfa,
            min_coverage: i.min_coverage,
        })
    }

    fn evaluate(&self, e: &MfaEvidence, _now: jiff::Timestamp) -> Evaluation {
        let missing = |f: fn(&Need) -> bool| -> Vec<String> {
            e.required
                .iter()
                .filter(|(k, (_, n))| f(n) && !e.with_mfa.contains(*k))
                .map(|(_, (name, _))| name.clone())
                .collect()
        };
        let total = e.required.len();
        let covered = e
            .required
            .keys()
            .filter(|k| e.with_mfa.contains(*k))
            .count();
        let ratio = if total == 0 {
            100.0
        } else {
            covered as f64 * 100.0 / total as f64
        };
        let ratio = (ratio * 10.0).round() / 10.0;
        let coverage = if ratio + 1e-9 < e.min_coverage {
            vec![format!(
                "coverage {ratio}% ({covered}/{total}) below the {}% target",
                e.min_coverage
            )]
        } else {
            vec![]
        };
        Evaluation {
            findings: vec![
                PRIVILEGED.finding(missing(|n| n.privileged)),
                REMOTE.finding(missing(|n| n.remote)),
                PATIENT_RECORD.finding(missing(|n| n.patient_record)),
                COVERAGE.finding(coverage),
            ],
            not_evaluated: vec![],
            summary: serde_json::json!({
                "required": total,
                "covered": covered,
                "coverage": ratio,
                "target": e.min_coverage,
                "privileged": e.required.values().filter(|(_, n)| n.privileged).count(),
                "remote": e.required.values().filter(|(_, n)| n.remote).count(),
                "patient_record": e.required.values().filter(|(_, n)| n.patient_record).count(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_keys() {
        assert_eq!(super::account_key("CHU\\JDoe"), "jdoe");
        assert_eq!(super::account_key("jdoe@chu.test"), "jdoe");
    }
}
