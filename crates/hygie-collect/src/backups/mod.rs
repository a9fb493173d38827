//! Backups: `restic snapshots --json`, `borg list --json` and a generic CSV (Veeam and the like),
//! against the critical assets of the inventory.
//!
//! Generic CSV columns: `asset`, `job`, `last_success`, `type`, `immutable`, `offline`,
//! `offsite`, `last_restore_test`, `status` (success/failed/warning: the last run),
//! `auth` (what the backup repository authenticates against: `production_ad` or `independent`).
//! restic snapshots tagged `immutable`, `offline` or `offsite` count as such copies.

mod borg;
mod restic;

use crate::input::{Table, host_key, hours_since};
use crate::inventory::{self, Asset};
use crate::{Collector, Evaluation, Files, NotEvaluated, Registration, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use borg::parse as parse_borg;
pub use restic::parse as parse_restic;

/// The source of its rules and check runs, and the collector's name.
const SOURCE: &str = "backups";

pub static RPO: RuleDef = RuleDef::new(
    "BCK-RPO",
    SOURCE,
    Severity::High,
    Text::new(
        "Critical asset without a successful backup within its RPO",
        "Actif critique sans sauvegarde réussie dans son RPO",
    ),
    &["BCK-02"],
);
pub static IMMUTABLE: RuleDef = RuleDef::new(
    "BCK-IMMUTABLE",
    SOURCE,
    Severity::High,
    Text::new(
        "Critical asset without an immutable or offline copy (3-2-1-1-0)",
        "Actif critique sans copie immuable ou hors ligne (3-2-1-1-0)",
    ),
    &["BCK-03"],
);
pub static OFFSITE: RuleDef = RuleDef::new(
    "BCK-OFFSITE",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Critical asset without an off-site copy (3-2-1)",
        "Actif critique sans copie hors site (3-2-1)",
    ),
    &["BCK-03"],
);
pub static RESTORE_TEST: RuleDef = RuleDef::new(
    "BCK-RESTORE-TEST",
    SOURCE,
    Severity::High,
    Text::new(
        "Critical asset without a restore test in the last 12 months (PGSSI-S 7.4.5.2)",
        "Actif critique sans test de restauration depuis 12 mois (PGSSI-S 7.4.5.2)",
    ),
    &["BCK-06"],
);
pub static FAILING_JOBS: RuleDef = RuleDef::new(
    "BCK-FAILING-JOBS",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Backup jobs failing and left unresolved",
        "Travaux de sauvegarde en échec non traités",
    ),
    &["BCK-05"],
);
pub static AD_AUTH: RuleDef = RuleDef::new(
    "BCK-AD-AUTH",
    SOURCE,
    Severity::High,
    Text::new(
        "Backup repository authenticates against the production Active Directory",
        "Le dépôt de sauvegarde s'authentifie sur l'Active Directory de production",
    ),
    &["BCK-04"],
);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Backups: RPO, 3-2-1-1-0 copies, restore tests, failing jobs, repository authentication",
        fr: "Sauvegardes : RPO, copies 3-2-1-1-0, tests de restauration, échecs, authentification du dépôt",
    },
    rules: &[
        &RPO,
        &IMMUTABLE,
        &OFFSITE,
        &RESTORE_TEST,
        &FAILING_JOBS,
        &AD_AUTH,
    ],
};

#[derive(Debug, Clone, Default)]
pub struct BackupInputs {
    pub inventory: PathBuf,
    /// restic JSON files, each with an optional asset name overriding the snapshot host name.
    pub restic: Vec<(Option<String>, PathBuf)>,
    /// borg JSON files, each with an optional asset name (else taken from the archive name).
    pub borg: Vec<(Option<String>, PathBuf)>,
    pub csv: Vec<PathBuf>,
    /// Default RPO in hours for critical assets without their own (24).
    pub rpo_hours: u32,
    /// A failing job is reported once its last success is older than this (48 h).
    pub failing_hours: u32,
    /// Restore tests older than this many days do not count (365).
    pub restore_test_days: u32,
}

impl BackupInputs {
    pub fn new(inventory: PathBuf) -> Self {
        BackupInputs {
            inventory,
            rpo_hours: 24,
            failing_hours: 48,
            restore_test_days: 365,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Success,
    Warning,
    Failed,
}

/// One backup job or snapshot of one asset.
#[derive(Debug, Clone, Serialize)]
pub struct BackupRecord {
    pub asset: String,
    pub job: String,
    /// Where it was read: `file:line` or `file#snapshot`.
    pub origin: String,
    pub kind: String,
    pub last_success: Option<jiff::Timestamp>,
    pub status: Option<JobStatus>,
    pub immutable: Option<bool>,
    pub offline: Option<bool>,
    pub offsite: Option<bool>,
    pub last_restore_test: Option<jiff::Timestamp>,
    pub production_ad_auth: Option<bool>,
}

impl BackupRecord {
    pub fn snapshot(
        asset: &str,
        job: &str,
        origin: String,
        kind: &str,
        at: jiff::Timestamp,
    ) -> Self {
        BackupRecord {
            asset: asset.to_owned(),
            job: job.to_owned(),
            origin,
            kind: kind.to_owned(),
            last_success: Some(at),
            status: Some(JobStatus::Success),
            immutable: None,
            offline: None,
            offsite: None,
            last_restore_test: None,
            production_ad_auth: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupEvidence {
    pub assets: Vec<Asset>,
    pub records: Vec<BackupRecord>,
    pub rpo_hours: u32,
    pub failing_hours: u32,
    pub restore_test_days: u32,
}

/// Read the generic CSV.
pub fn parse_csv(t: &Table) -> Result<Vec<BackupRecord>> {
    t.require(&["asset", "host", "hostname"])?;
    let mut out = Vec::new();
    for row in &t.rows {
        let status = match t.get(row, &["status", "last_result", "result"]) {
            None => None,
            Some(s) => Some(match s.to_ascii_lowercase().as_str() {
                "success" | "ok" | "succeeded" | "réussi" | "reussi" => JobStatus::Success,
                "warning" | "avertissement" => JobStatus::Warning,
                "failed" | "failure" | "error" | "échec" | "echec" => JobStatus::Failed,
                _ => {
                    return Err(t.error(
                        row,
                        format!("column 'status': '{s}' is not success, warning or failed"),
                    ));
                }
            }),
        };
        let production_ad_auth = match t.get(row, &["auth", "repository_auth", "authentication"]) {
            None => t.bool(row, &["production_ad"])?,
            Some(a) => Some(match a.to_ascii_lowercase().replace('-', "_").as_str() {
                "production_ad" | "ad" | "domain" | "active_directory" | "prod_ad" => true,
                "independent" | "local" | "separate" | "dedicated" | "isolated_ad" | "none" => {
                    false
                }
                _ => {
                    return Err(t.error(
                        row,
                        format!("column 'auth': '{a}' is not production_ad or independent"),
                    ));
                }
            }),
        };
        out.push(BackupRecord {
            asset: t.req(row, &["asset", "host", "hostname"])?.to_owned(),
            job: t.get(row, &["job", "job_name"]).unwrap_or("-").to_owned(),
            origin: format!("{}:{}", t.path.display(), row.line),
            kind: t.get(row, &["type", "kind"]).unwrap_or("").to_owned(),
            last_success: t.ts(row, &["last_success", "last_successful_backup"])?,
            status,
            immutable: t.bool(row, &["immutable"])?,
            offline: t.bool(row, &["offline"])?,
            offsite: t.bool(row, &["offsite", "off_site"])?,
            last_restore_test: t.ts(row, &["last_restore_test", "restore_test"])?,
            production_ad_auth,
        });
    }
    Ok(out)
}

pub struct Backups;

impl Collector for Backups {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = BackupInputs;
    type Evidence = BackupEvidence;

    fn parse(&self, i: &BackupInputs, files: &dyn Files) -> Result<BackupEvidence> {
        let assets = inventory::read(files, &i.inventory)?;
        let mut records = Vec::new();
        for (asset, p) in &i.restic {
            records.extend(restic::parse(
                p,
                &crate::input::read(files, p)?,
                asset.as_deref(),
            )?);
        }
        for (asset, p) in &i.borg {
            records.extend(borg::parse(
                p,
                &crate::input::read(files, p)?,
                asset.as_deref(),
            )?);
        }
        for p in &i.csv {
            records.extend(parse_csv(&Table::read(files, p)?)?);
        }
        Ok(BackupEvidence {
            assets,
            records,
            rpo_hours: i.rpo_hours,
            failing_hours: i.failing_hours,
            restore_test_days: i.restore_test_days,
        })
    }

    fn evaluate(&self, e: &BackupEvidence, now: jiff::Timestamp) -> Evaluation {
        let mut by_asset: BTreeMap<String, Vec<&BackupRecord>> = BTreeMap::new();
        for r in &e.records {
            by_asset.entry(host_key(&r.asset)).or_default().push(r);
        }
        let critical: Vec<&Asset> = e.assets.iter().filter(|a| a.critical).collect();
        let none: Vec<&BackupRecord> = Vec::new();
        let recs = |a: &Asset| by_asset.get(&a.key()).unwrap_or(&none).clone();
        let mut findings = Vec::new();
        let mut not_evaluated = Vec::new();
        let skip = |r: &RuleDef, why: &str| NotEvaluated {
            rule: r.id.to_owned(),
            reason: why.to_owned(),
        };

        // RPO.
        let mut late = Vec::new();
        for a in &critical {
            let rpo = a.rpo_hours.unwrap_or(e.rpo_hours);
            let last = recs(a).iter().filter_map(|r| r.last_success).max();
            match last {
                None => late.push(format!("{}: no successful backup", a.name)),
                Some(t) if hours_since(now, t) > i64::from(rpo) => late.push(format!(
                    "{}: last success {} ({} h ago, RPO {} h)",
                    a.name,
                    t.strftime("%Y-%m-%d %H:%M UTC"),
                    hours_since(now, t),
                    rpo
                )),
                Some(_) => {}
            }
        }
        findings.push(RPO.finding(late));

        // Copies: evaluated when some input says which copies are immutable/offline/off-site.
        let declares =
            |f: fn(&BackupRecord) -> Option<bool>| e.records.iter().any(|r| f(r).is_some());
        if declares(|r| r.immutable.or(r.offline)) {
            let missing = critical
                .iter()
                .filter(|a| {
                    !recs(a)
                        .iter()
                        .any(|r| r.immutable == Some(true) || r.offline == Some(true))
                })
                .map(|a| format!("{}: no immutable or offline copy", a.name))
                .collect();
            findings.push(IMMUTABLE.finding(missing));
        } else {
            not_evaluated.push(skip(&IMMUTABLE, "no input declares immutable or offline copies (CSV columns immutable/offline, restic tags)"));
        }
        if declares(|r| r.offsite) {
            let missing = critical
                .iter()
                .filter(|a| !recs(a).iter().any(|r| r.offsite == Some(true)))
                .map(|a| format!("{}: no off-site copy", a.name))
                .collect();
            findings.push(OFFSITE.finding(missing));
        } else {
            not_evaluated.push(skip(
                &OFFSITE,
                "no input declares off-site copies (CSV column offsite, restic tag offsite)",
            ));
        }

        // Restore tests.
        if e.records.iter().any(|r| r.last_restore_test.is_some()) {
            let limit = i64::from(e.restore_test_days) * 24;
            let mut missing = Vec::new();
            for a in &critical {
                match recs(a).iter().filter_map(|r| r.last_restore_test).max() {
                    None => missing.push(format!("{}: never tested", a.name)),
                    Some(t) if hours_since(now, t) > limit => missing.push(format!(
                        "{}: last restore test {}",
                        a.name,
                        t.strftime("%Y-%m-%d")
                    )),
                    Some(_) => {}
                }
            }
            findings.push(RESTORE_TEST.finding(missing));
        } else {
            not_evaluated.push(skip(
                &RESTORE_TEST,
                "no input gives restore test dates (CSV column last_restore_test)",
            ));
        }

        // Failing jobs ageing.
        if e.records
            .iter()
            .any(|r| r.status.is_some() && r.kind != "restic" && r.kind != "borg")
        {
            let limit = i64::from(e.failing_hours);
            let failing = e
                .records
                .iter()
                .filter(|r| r.status == Some(JobStatus::Failed))
                .filter_map(|r| match r.last_success {
                    None => Some(format!("{}/{}: failing, never succeeded", r.asset, r.job)),
                    Some(t) if hours_since(now, t) > limit => Some(format!(
                        "{}/{}: failing, last success {} h ago",
                        r.asset,
                        r.job,
                        hours_since(now, t)
                    )),
                    Some(_) => None,
                })
                .collect();
            findings.push(FAILING_JOBS.finding(failing));
        } else {
            not_evaluated.push(skip(
                &FAILING_JOBS,
                "no input gives job status (CSV column status)",
            ));
        }

        // Repository authentication.
        if declares(|r| r.production_ad_auth) {
            let bad = e
                .records
                .iter()
                .filter(|r| r.production_ad_auth == Some(true))
                .map(|r| {
                    format!(
                        "{}/{}: repository authenticates against the production AD",
                        r.asset, r.job
                    )
                })
                .collect();
            findings.push(AD_AUTH.finding(bad));
        } else {
            not_evaluated.push(skip(
                &AD_AUTH,
                "no input declares the repository authentication (CSV column auth)",
            ));
        }

        let protected = critical
            .iter()
            .filter(|a| !recs(a).iter().all(|r| r.last_success.is_none()))
            .count();
        Evaluation {
            findings,
            not_evaluated,
            summary: serde_json::json!({
                "assets": e.assets.len(),
                "critical_assets": critical.len(),
                "critical_with_backup": protected,
                "records": e.records.len(),
                "rpo_hours_default": e.rpo_hours,
                "unknown_assets": by_asset.keys().filter(|k| !e.assets.iter().any(|a| &a.key() == *k)).collect::<Vec<_>>(),
            }),
        }
    }
}
