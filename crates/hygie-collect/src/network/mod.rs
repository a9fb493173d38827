//! Network segmentation: a zone model, real firewall configurations (`nft -j list ruleset`,
//! `iptables-save`, a CSV rule table) and observed flows, against the flow policy.
//!
//! Every forbidden zone path a firewall allows is reported with the rule(s) that allow it.

pub mod addr;
pub mod csvrules;
pub mod firewall;
pub mod flows;
pub mod ipset;
pub mod iptables;
pub mod model;
pub mod nft;
pub mod reach;

use crate::input::Table;
use crate::{CollectError, Collector, Evaluation, Files, NotEvaluated, Registration, Result};
use firewall::{Firewall, Verdict};
use hygie_core::{RuleDef, Severity, Text};
use model::ZoneModel;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The source of its rules and check runs, and the collector's name.
pub(crate) const SOURCE: &str = "network";

pub static FLOWS: RuleDef = RuleDef::new(
    "NET-OBSERVED-FLOWS",
    SOURCE,
    Severity::High,
    Text::new(
        "Observed flows break the zone policy",
        "Des flux observés enfreignent la politique de cloisonnement",
    ),
    &["NET-01"],
);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Network segmentation: zone reachability from firewall rules, observed flows",
        fr: "Cloisonnement réseau : atteignabilité entre zones d'après les règles de pare-feu, flux observés",
    },
    rules: &[
        &model::GUEST,
        &model::INTERNET,
        &model::ADMIN,
        &model::ADMIN_INTERNET,
        &model::BIOMED,
        &model::CUSTOM,
        &FLOWS,
    ],
};

#[derive(Debug, Clone)]
pub struct NetInputs {
    pub zones: PathBuf,
    pub nft: Vec<PathBuf>,
    pub iptables: Vec<PathBuf>,
    /// `ipset save` output of the sets the iptables rules name.
    pub ipsets: Vec<PathBuf>,
    pub csv_rules: Vec<PathBuf>,
    /// Verdict when no CSV rule matches.
    pub csv_default: Verdict,
    pub flows: Vec<PathBuf>,
}

impl NetInputs {
    pub fn new(zones: PathBuf) -> Self {
        NetInputs {
            zones,
            nft: vec![],
            iptables: vec![],
            ipsets: vec![],
            csv_rules: vec![],
            csv_default: Verdict::Drop,
            flows: vec![],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NetEvidence {
    pub zones: ZoneModel,
    pub firewalls: Vec<Firewall>,
    pub flows: Vec<flows::Flow>,
}

pub struct Network;

/// Every firewall configuration of the inputs (nftables, iptables with their ipsets, CSV tables).
pub fn read_firewalls(
    files: &dyn Files,
    i: &NetInputs,
    zones: &ZoneModel,
) -> Result<Vec<Firewall>> {
    let mut firewalls = Vec::new();
    for p in &i.nft {
        firewalls.push(nft::parse(p, &crate::input::read(files, p)?)?);
    }
    let mut sets = ipset::IpSets::default();
    for p in &i.ipsets {
        sets.read(p, &crate::input::read(files, p)?)?;
    }
    for p in &i.iptables {
        firewalls.push(iptables::parse(p, &crate::input::read(files, p)?, &sets)?);
    }
    for p in &i.csv_rules {
        firewalls.push(csvrules::parse(
            &Table::read(files, p)?,
            zones,
            i.csv_default,
        )?);
    }
    Ok(firewalls)
}

/// A forbidden path a firewall allows.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub firewall: String,
    pub from: String,
    pub to: String,
    pub services: Vec<String>,
    pub by: Vec<String>,
}

/// Every forbidden path of every firewall, grouped by (policy rule, firewall, zone pair, allowing rules).
pub fn violations(zones: &ZoneModel, fw: &Firewall, cells: &[reach::Cell]) -> Vec<Violation> {
    type Key = (&'static str, usize, usize, Vec<String>);
    let mut grouped: BTreeMap<Key, BTreeMap<u8, addr::Set>> = BTreeMap::new();
    for c in cells {
        for r in zones.forbidden(c.from, c.to) {
            let e = grouped
                .entry((r.id, c.from, c.to, c.by.clone()))
                .or_default();
            let s = e.entry(c.proto).or_default();
            *s = s.union(&c.ports);
        }
    }
    grouped
        .into_iter()
        .map(|((rule, a, b, by), protos)| Violation {
            rule,
            firewall: fw.source.clone(),
            from: zones.zones[a].name.clone(),
            to: zones.zones[b].name.clone(),
            services: reach::services(&protos, &reach::protocols(fw)),
            by,
        })
        .collect()
}

impl Collector for Network {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = NetInputs;
    type Evidence = NetEvidence;

    fn parse(&self, i: &NetInputs, files: &dyn Files) -> Result<NetEvidence> {
        let zones = ZoneModel::read(files, &i.zones)?;
        let firewalls = read_firewalls(files, i, &zones)?;
        let mut fl = Vec::new();
        for p in &i.flows {
            fl.extend(flows::read(files, p)?);
        }
        if firewalls.is_empty() && fl.is_empty() {
            return Err(CollectError::Usage(
                "give at least one firewall configuration (--nft, --iptables, --rules-csv) or observed flows (--flows)".into(),
            ));
        }
        Ok(NetEvidence {
            zones,
            firewalls,
            flows: fl,
        })
    }

    fn evaluate(&self, e: &NetEvidence, _now: jiff::Timestamp) -> Evaluation {
        let mut findings = Vec::new();
        let mut not_evaluated = Vec::new();
        let mut matrices = Vec::new();
        let mut all = Vec::new();
        for fw in &e.firewalls {
            let cells = reach::cells(&e.zones, fw);
            matrices.push(serde_json::json!({
                "firewall": fw.source,
                "reachability": reach::matrix(&e.zones, fw, &cells),
                "warnings": fw.warnings,
            }));
            all.extend(violations(&e.zones, fw, &cells));
        }
        if e.firewalls.is_empty() {
            for r in model::POLICY_RULES {
                not_evaluated.push(NotEvaluated {
                    rule: r.id.into(),
                    reason: "no firewall configuration given".into(),
                });
            }
        } else {
            for r in model::POLICY_RULES {
                let assets = all
                    .iter()
                    .filter(|v| v.rule == r.id)
                    .map(|v| {
                        format!(
                            "{} → {}: {} allowed by {}",
                            v.from,
                            v.to,
                            v.services.join(" "),
                            v.by.join(" + ")
                        )
                    })
                    .collect();
                findings.push(r.finding(assets));
            }
        }
        if e.flows.is_empty() {
            not_evaluated.push(NotEvaluated {
                rule: FLOWS.id.into(),
                reason: "no observed flows given".into(),
            });
        } else {
            let mut bad = Vec::new();
            for f in &e.flows {
                let (Some(a), Some(b)) = (e.zones.zone_of(f.src), e.zones.zone_of(f.dst)) else {
                    continue;
                };
                let broken = e.zones.forbidden(a, b);
                if !broken.is_empty() {
                    bad.push(format!(
                        "{} → {} ({} → {}) {}{} [{}] at {}",
                        addr::u128_to_ip(f.src),
                        addr::u128_to_ip(f.dst),
                        e.zones.zones[a].name,
                        e.zones.zones[b].name,
                        firewall::proto_name(f.proto),
                        f.dport.map(|p| format!("/{p}")).unwrap_or_default(),
                        broken.iter().map(|r| r.id).collect::<Vec<_>>().join(", "),
                        f.origin
                    ));
                }
            }
            findings.push(FLOWS.finding(bad));
        }
        Evaluation {
            findings,
            not_evaluated,
            summary: serde_json::json!({
                "zones": e.zones.zones.iter().map(|z| serde_json::json!({"name": z.name, "kind": z.kind, "cidrs": z.cidrs})).collect::<Vec<_>>(),
                "firewalls": matrices,
                "violations": all,
                "observed_flows": e.flows.len(),
            }),
        }
    }
}
