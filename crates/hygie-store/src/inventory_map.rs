//! What the asset pages and the IS map read besides the register (issue 21): the findings of
//! the latest `vuln` and `inventory` runs per asset ([`AssetFindings`], with the CERT-FR
//! advisories citing each vulnerable software's CVEs), the ranges the nmap
//! imports scanned (migration 2200, `inventory_scan_ranges`, written by `import_inventory`),
//! and the map itself (`hygie_inventory::map`), built from the latest `network` run's summary.
//! One reading for the CLI, the pages and the API: nothing here matches or evaluates again.

use crate::{Result, RunHeader, Store, StoreError};
use hygie_core::{CheckRun, Finess, RuleOutcome};
use hygie_inventory::map::{Findings, IsMap, NetworkRun};
use std::collections::BTreeSet;

/// The source of the network collector's runs (hygie-collect's `network::SOURCE`).
const NETWORK: &str = "network";
/// The source of `hygie inventory vulns` runs (hygie-vuln's `rules::SOURCE`).
const VULN: &str = "vuln";
/// The source of the register's rules (hygie-inventory's `rules::SOURCE`).
const INVENTORY: &str = "inventory";

/// The assets' findings of the latest runs.
#[derive(Debug, Clone, Default)]
pub struct AssetFindings {
    pub findings: Findings,
    /// The vuln run's per-asset summary (by asset id: `kev`, `top`...).
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// The CERT-FR advisories the run's `top` entries cite, by reference (`kind`, `title`, `url`).
    pub certfr: serde_json::Map<String, serde_json::Value>,
    pub vuln_run: Option<RunHeader>,
}

impl AssetFindings {
    /// The asset's worst vulnerable software as the latest vuln run keeps them (software,
    /// version, CPE, certainty, KEV, CVEs), each with the CERT-FR advisories citing its CVEs as
    /// objects (`reference`, `kind`, `title`, `url`): the one reading of the CLI's `inventory
    /// show`, the asset page and the API. A run recorded before CERT-FR was matched has none.
    pub fn vulnerabilities(&self, asset: u64) -> Vec<serde_json::Value> {
        let Some(top) = self
            .detail
            .get(&asset.to_string())
            .and_then(|d| d.get("top"))
            .and_then(|t| t.as_array())
        else {
            return Vec::new();
        };
        top.iter()
            .map(|v| {
                let mut v = v.clone();
                let refs: Vec<serde_json::Value> = v["certfr"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(|r| r.as_str())
                            .map(|r| {
                                let mut o = serde_json::json!({"reference": r});
                                if let (Some(o), Some(c)) = (
                                    o.as_object_mut(),
                                    self.certfr.get(r).and_then(|c| c.as_object()),
                                ) {
                                    o.extend(c.clone());
                                }
                                o
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("certfr".into(), refs.into());
                }
                v
            })
            .collect()
    }
}

fn failing(run: &CheckRun, rule: &str) -> BTreeSet<String> {
    run.results
        .iter()
        .filter(|r| r.rule == rule && r.outcome == RuleOutcome::Fail)
        .flat_map(|r| r.objects.iter().cloned())
        .collect()
}

impl Store {
    /// What the facility's latest `vuln` run (vulnerable, known exploited) and latest
    /// `inventory` run (end of life) say about its assets.
    pub async fn asset_findings(&self, facility: &Finess) -> Result<AssetFindings> {
        let runs = self.check_run_list(facility).await?;
        let mut out = AssetFindings::default();
        if let Some(h) = runs.iter().find(|h| h.source == VULN) {
            let run = self.check_run(facility, &h.id).await?;
            out.findings.vulnerable = failing(&run, "ASSET-SW-VULNERABLE");
            let summary = self.check_run_summary(facility, &h.id).await?;
            if let Some(m) = summary.get("assets").and_then(|a| a.as_object()) {
                out.detail = m.clone();
            }
            if let Some(m) = summary.get("certfr").and_then(|a| a.as_object()) {
                out.certfr = m.clone();
            }
            out.findings.kev = out
                .detail
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v["kev"].as_u64()?)))
                .collect();
            out.vuln_run = Some(h.clone());
        }
        if let Some(h) = runs.iter().find(|h| h.source == INVENTORY) {
            let run = self.check_run(facility, &h.id).await?;
            out.findings.eol = failing(&run, "ASSET-OS-END-OF-LIFE");
        }
        Ok(out)
    }

    /// The ranges the facility's nmap imports scanned, each once, oldest import first.
    pub async fn scan_ranges(&self, facility: &Finess) -> Result<Vec<String>> {
        let all: Vec<String> = self
            .rows_of(
                "SELECT r.cidr FROM inventory_scan_ranges r JOIN inventory_imports i ON i.id = r.import_id \
                 WHERE r.facility = $1 ORDER BY i.imported_us, r.import_id, r.seq",
                facility.as_str(),
                |r| Ok(sqlx::Row::try_get(r, "cidr")?),
            )
            .await?;
        let mut out: Vec<String> = Vec::with_capacity(all.len());
        for c in all {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The facility's IS map: zones and flows of its latest network run, ranges scanned, the
    /// register placed in the zones with its marks.
    pub async fn is_map(&self, facility: &Finess) -> Result<IsMap> {
        let assets = self.inventory(facility).await?;
        let findings = self.asset_findings(facility).await?;
        let scanned = self.scan_ranges(facility).await?;
        let runs = self.check_run_list(facility).await?;
        let network = match runs.iter().find(|h| h.source == NETWORK) {
            Some(h) => Some((h, self.check_run_summary(facility, &h.id).await?)),
            None => None,
        };
        hygie_inventory::map::build(
            &assets,
            &findings.findings,
            network.as_ref().map(|(h, s)| NetworkRun {
                id: &h.id,
                at: h.at,
                summary: s,
            }),
            &scanned,
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
