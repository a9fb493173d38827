//! The vulnerability rule (source `vuln`), evaluated on a matched register:
//!
//! - `ASSET-SW-VULNERABLE` (VUL-01, VUL-03): no inventoried software is in a vulnerable range of
//!   the NVD feed imported. Each failing asset is named with its vulnerable software, the CVEs
//!   (known exploited first, ransomware said) and the certainty of the product match. Not
//!   evaluated without an NVD feed (KEV alone names products, not versions) or without any
//!   inventoried software. The run's summary keeps, per asset, its worst five software with their
//!   CVEs and the CERT-FR advisories citing them, and the cited advisories' titles (`certfr`):
//!   what the asset pages, the API and `hygie inventory show` read without matching again.

use crate::matching::Report;
use hygie_collect::{Evaluation, NotEvaluated};
use hygie_core::{Localized, RuleDef, Severity, Text};
use std::collections::BTreeMap;

pub const SOURCE: &str = "vuln";

pub static VULNERABLE: RuleDef = RuleDef::new(
    "ASSET-SW-VULNERABLE",
    SOURCE,
    Severity::High,
    Text::new(
        "No inventoried software has a known vulnerability",
        "Aucun logiciel inventorié n'a de vulnérabilité connue",
    ),
    &["VUL-01", "VUL-03"],
)
.with_rationale(Text::new(
    "Known exploited vulnerabilities (CISA KEV) are how ransomware enters hospitals; an unpatched version is a measured delay.",
    "Les vulnérabilités exploitées connues (CISA KEV) sont la porte d'entrée des rançongiciels dans les hôpitaux ; une version non corrigée est un retard mesuré.",
))
.with_remediation(Text::new(
    "Update the software listed, known exploited ones first; for a distribution package, check the distribution's security tracker (a backported fix keeps the upstream version).",
    "Mettre à jour les logiciels listés, les vulnérabilités exploitées d'abord ; pour un paquet de distribution, vérifier le suivi de sécurité de la distribution (un correctif rétroporté garde la version amont).",
));

pub static RULES: &[&RuleDef] = &[&VULNERABLE];

/// What the feeds and register hold, for "not evaluated".
pub struct Inputs {
    pub nvd_records: usize,
    pub software: usize,
}

/// Evaluate the rule on `report`.
pub fn evaluate(report: &Report, inputs: &Inputs) -> Evaluation {
    // Per asset (by id), its count and worst five software: what the web's asset pages show
    // without matching again.
    let mut assets = serde_json::Map::new();
    let mut cited: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for m in &report.matches {
        let e = assets.entry(m.asset.to_string()).or_insert_with(
            || serde_json::json!({"label": &*m.asset_label, "vulnerable": 0, "kev": 0, "top": []}),
        );
        e["vulnerable"] = (e["vulnerable"].as_u64().unwrap_or(0) + 1).into();
        if m.verdict.kev() {
            e["kev"] = (e["kev"].as_u64().unwrap_or(0) + 1).into();
        }
        if let Some(top) = e["top"].as_array_mut()
            && top.len() < 5
        {
            let v = &m.verdict;
            top.push(serde_json::json!({
                "software": v.software.name, "version": v.software.version, "cpe": v.cpe,
                "certainty": v.certainty, "kev": v.kev(), "packaged": v.packaged,
                "cves": v.cves.iter().take(5).map(|c| &*c.cve).collect::<Vec<_>>(),
                "more": v.cves.len().saturating_sub(5),
                "certfr": v.certfr.iter().take(5).map(|r| &**r).collect::<Vec<_>>(),
                "certfr_more": v.certfr.len().saturating_sub(5),
            }));
            cited.extend(v.certfr.iter().take(5).map(|r| &**r));
        }
    }
    // The advisories the pages name, with their titles: the run says what it matched against.
    let certfr: serde_json::Map<String, serde_json::Value> = cited
        .into_iter()
        .filter_map(|r| {
            let c = report.certfr.get(r)?;
            Some((
                r.to_owned(),
                serde_json::json!({"kind": c.kind, "title": c.title, "url": c.url}),
            ))
        })
        .collect();
    let summary = serde_json::json!({
        "assets": assets,
        "certfr": certfr,
        "software": report.software,
        "distinct": report.distinct,
        "vulnerable": report.matches.len(),
        "known_exploited": report.matches.iter().filter(|m| m.verdict.kev()).count(),
        "unmatched": report.unmatched.len(),
        "nvd_records": inputs.nvd_records,
    });
    let why = if inputs.nvd_records == 0 {
        Some("no NVD feed imported (hygie vuln import --feed nvd) / aucun flux NVD importé")
    } else if inputs.software == 0 {
        Some("no inventoried software (agent inventory) / aucun logiciel inventorié")
    } else {
        None
    };
    if let Some(reason) = why {
        return Evaluation {
            findings: Vec::new(),
            not_evaluated: vec![NotEvaluated {
                rule: VULNERABLE.id.to_owned(),
                reason: reason.to_owned(),
            }],
            summary,
        };
    }
    let mut f = VULNERABLE.pass();
    let mut by_asset: BTreeMap<u64, Vec<&crate::matching::VulnMatch>> = BTreeMap::new();
    for m in &report.matches {
        by_asset.entry(m.asset).or_default().push(m);
    }
    let mut order: Vec<_> = by_asset.into_iter().collect();
    order.sort_by_key(|(_, ms)| std::cmp::Reverse(ms.iter().any(|m| m.verdict.kev())));
    for (_, ms) in order {
        // One detail per asset, its worst three software: a register of millions of entries
        // keeps a bounded run; `hygie inventory vulns` lists every match.
        let label = ms[0].asset_label.to_string();
        let kev = ms.iter().filter(|m| m.verdict.kev()).count();
        let (mut en, mut fr) = (Vec::new(), Vec::new());
        for m in ms.iter().take(3) {
            let v = &m.verdict;
            let cves: Vec<String> = v
                .cves
                .iter()
                .take(3)
                .map(|c| match (c.kev, c.ransomware) {
                    (true, true) => format!("{} (KEV, ransomware)", c.cve),
                    (true, false) => format!("{} (KEV)", c.cve),
                    _ => c.cve.to_string(),
                })
                .collect();
            let (cen, cfr) = v.certainty.words();
            let version = v.software.version.as_deref().unwrap_or_default();
            let more = v.cves.len().saturating_sub(3);
            en.push(format!(
                "{} {version} [{}, {cen}] {}{}",
                v.software.name,
                v.cpe,
                cves.join(", "),
                if more > 0 {
                    format!(" +{more}")
                } else {
                    String::new()
                }
            ));
            fr.push(format!(
                "{} {version} [{}, {cfr}] {}{}",
                v.software.name,
                v.cpe,
                cves.join(", "),
                if more > 0 {
                    format!(" +{more}")
                } else {
                    String::new()
                }
            ));
        }
        f.fail(
            label.clone(),
            Localized {
                en: format!(
                    "{label}: {} vulnerable software ({kev} with a known exploited CVE): {}",
                    ms.len(),
                    en.join("; ")
                ),
                fr: format!(
                    "{label} : {} logiciels vulnérables ({kev} avec une CVE exploitée) : {}",
                    ms.len(),
                    fr.join(" ; ")
                ),
            },
        );
    }
    Evaluation {
        findings: vec![f],
        not_evaluated: Vec::new(),
        summary,
    }
}
