//! The inventory rules (source `inventory`), evaluated on the merged register at a date:
//!
//! - `ASSET-HW-INVENTORY` (INV-01): an agent or the facility's list inventories every computer of
//!   the directory and every medical device seen; a register with no inventory at all fails;
//! - `ASSET-SW-VERSIONS` (INV-02): every device an agent inventories lists its software, each
//!   with a version (evaluated once an agent inventory is imported);
//! - `ASSET-UNKNOWN-DEVICE` (INV-05): no device answers a network scan that neither an agent nor
//!   the facility's list knows (evaluated once a scan is imported);
//! - `ASSET-STALE` (VUL-03): every asset was scanned, and every asset an inventory knows was
//!   inventoried, within `max_age_days` (default 30);
//! - `ASSET-OS-END-OF-LIFE` (VUL-02): no operating system past its end of support, by the
//!   end-of-life table the patching collector reads (`hygie-collect/data/end-of-life.toml`).
//!
//! A rule without its input is not evaluated (and says why), never passed.

use crate::model::SourceKind;
use crate::register::Asset;
use hygie_collect::patching::EolTable;
use hygie_collect::{Evaluation, NotEvaluated};
use hygie_core::{Localized, RuleDef, Severity, Text};
use jiff::Timestamp;

pub const SOURCE: &str = "inventory";

pub static HARDWARE: RuleDef = RuleDef::new(
    "ASSET-HW-INVENTORY",
    SOURCE,
    Severity::High,
    Text::new(
        "The hardware inventory covers the directory's computers and the medical devices seen",
        "L'inventaire matériel couvre les ordinateurs de l'annuaire et les dispositifs médicaux vus",
    ),
    &["INV-01"],
)
.with_rationale(Text::new(
    "A device the inventory does not know is neither patched, nor monitored, nor restored after an incident.",
    "Un équipement absent de l'inventaire n'est ni mis à jour, ni surveillé, ni restauré après un incident.",
))
.with_remediation(Text::new(
    "Deploy the inventory agent (FusionInventory / GLPI Agent or OCS) on the computers listed, or add the devices to the facility's CSV list with the biomedical department.",
    "Déployer l'agent d'inventaire (FusionInventory / GLPI Agent ou OCS) sur les ordinateurs listés, ou ajouter les équipements à la liste CSV de l'établissement avec le service biomédical.",
));

pub static SOFTWARE: RuleDef = RuleDef::new(
    "ASSET-SW-VERSIONS",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Inventoried devices list their installed software with versions",
        "Les équipements inventoriés listent leurs logiciels installés avec leur version",
    ),
    &["INV-02"],
)
.with_remediation(Text::new(
    "Enable the software inventory of the agent on the devices listed.",
    "Activer l'inventaire logiciel de l'agent sur les équipements listés.",
));

pub static UNKNOWN: RuleDef = RuleDef::new(
    "ASSET-UNKNOWN-DEVICE",
    SOURCE,
    Severity::High,
    Text::new(
        "Every device found on the network is known to the inventory",
        "Chaque équipement trouvé sur le réseau est connu de l'inventaire",
    ),
    &["INV-05"],
)
.with_rationale(Text::new(
    "An unknown device answering on the internal network may be a rogue machine or a forgotten one.",
    "Un équipement inconnu qui répond sur le réseau interne peut être un intrus ou un oublié.",
))
.with_remediation(Text::new(
    "Identify each device listed; inventory it or disconnect it (802.1X / NAC keeps unknown devices out).",
    "Identifier chaque équipement listé ; l'inventorier ou le déconnecter (le 802.1X / NAC écarte les équipements inconnus).",
));

pub static STALE: RuleDef = RuleDef::new(
    "ASSET-STALE",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Every asset was scanned and inventoried recently",
        "Chaque équipement a été scanné et inventorié récemment",
    ),
    &["VUL-03"],
)
.with_thresholds(&["max_age_days"])
.with_remediation(Text::new(
    "Scan the internal network and run the inventory agents at least every max_age_days days, then import the results.",
    "Scanner le réseau interne et exécuter les agents d'inventaire au moins tous les max_age_days jours, puis importer les résultats.",
));

pub static OS_END_OF_LIFE: RuleDef = RuleDef::new(
    "ASSET-OS-END-OF-LIFE",
    SOURCE,
    Severity::High,
    Text::new(
        "No inventoried operating system is past its end of support",
        "Aucun système d'exploitation inventorié n'a dépassé sa fin de support",
    ),
    &["VUL-02"],
)
.with_remediation(Text::new(
    "Upgrade or isolate the devices listed; for medical devices, ask the maker for a supported version.",
    "Mettre à jour ou isoler les équipements listés ; pour les dispositifs médicaux, demander au fabricant une version supportée.",
));

/// Every inventory rule, for the registry.
pub static RULES: &[&RuleDef] = &[&HARDWARE, &SOFTWARE, &UNKNOWN, &STALE, &OS_END_OF_LIFE];

/// The thresholds the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    /// Days after which an asset not scanned, or not inventoried, fails `ASSET-STALE`.
    pub max_age_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { max_age_days: 30 }
    }
}

fn not_evaluated(rule: &RuleDef, reason: &str) -> NotEvaluated {
    NotEvaluated {
        rule: rule.id.to_owned(),
        reason: reason.to_owned(),
    }
}

fn detail(en: String, fr: String) -> Localized {
    Localized { en, fr }
}

/// Evaluate every rule on `assets` at `now`.
pub fn evaluate(assets: &[Asset], eol: &EolTable, policy: Policy, now: Timestamp) -> Evaluation {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    if assets.is_empty() {
        for r in RULES {
            skipped.push(not_evaluated(r, "the register is empty"));
        }
        return Evaluation {
            findings,
            not_evaluated: skipped,
            summary: summary(assets, policy),
        };
    }

    let mut f = HARDWARE.pass();
    if !assets.iter().any(Asset::inventoried) {
        f.fail(
            "register",
            detail(
                "no hardware inventory: only scans or the directory".into(),
                "aucun inventaire matériel : seulement des scans ou l'annuaire".into(),
            ),
        );
    }
    for a in assets.iter().filter(|a| !a.inventoried()) {
        if a.sources.contains_key(&SourceKind::Ad) {
            f.fail(
                a.label(),
                detail(
                    format!(
                        "{}: a computer of the directory that no inventory lists",
                        a.label()
                    ),
                    format!(
                        "{} : ordinateur de l'annuaire absent de l'inventaire",
                        a.label()
                    ),
                ),
            );
        } else if a.category == crate::Category::Medical {
            f.fail(
                a.label(),
                detail(
                    format!(
                        "{}: a medical device seen on the network that no inventory lists",
                        a.label()
                    ),
                    format!(
                        "{} : dispositif médical vu sur le réseau, absent de l'inventaire",
                        a.label()
                    ),
                ),
            );
        }
    }
    findings.push(f);

    let agents: Vec<&Asset> = assets
        .iter()
        .filter(|a| a.sources.keys().any(|k| k.is_agent()))
        .collect();
    if agents.is_empty() {
        skipped.push(not_evaluated(
            &SOFTWARE,
            "no agent inventory (FusionInventory, OCS) imported",
        ));
    } else {
        let mut f = SOFTWARE.pass();
        for a in agents {
            let sw = a.all_software();
            let unversioned: Vec<&str> = sw
                .iter()
                .filter(|s| s.version.is_none())
                .map(|s| s.name.as_str())
                .collect();
            if sw.is_empty() {
                f.fail(
                    a.label(),
                    detail(
                        format!("{}: the agent lists no software", a.label()),
                        format!("{} : l'agent ne liste aucun logiciel", a.label()),
                    ),
                );
            } else if !unversioned.is_empty() {
                let sample = unversioned
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                f.fail(
                    a.label(),
                    detail(
                        format!(
                            "{}: {} software without a version ({sample})",
                            a.label(),
                            unversioned.len()
                        ),
                        format!(
                            "{} : {} logiciels sans version ({sample})",
                            a.label(),
                            unversioned.len()
                        ),
                    ),
                );
            }
        }
        findings.push(f);
    }

    if assets
        .iter()
        .any(|a| a.sources.contains_key(&SourceKind::Nmap))
    {
        let mut f = UNKNOWN.pass();
        for a in assets
            .iter()
            .filter(|a| a.sources.contains_key(&SourceKind::Nmap) && !a.inventoried())
        {
            let ports = a
                .ports
                .iter()
                .map(|p| format!("{}/{}", p.port, p.protocol))
                .collect::<Vec<_>>()
                .join(" ");
            f.fail(
                a.label(),
                detail(
                    format!("{}: answers on the network (open: {ports}) but no inventory lists it", a.label()),
                    format!("{} : répond sur le réseau (ouverts : {ports}) mais aucun inventaire ne le liste", a.label()),
                ),
            );
        }
        findings.push(f);
    } else {
        skipped.push(not_evaluated(&UNKNOWN, "no network scan (nmap) imported"));
    }

    let limit = now - jiff::SignedDuration::from_hours(24 * i64::from(policy.max_age_days));
    let days = policy.max_age_days;
    let mut f = STALE.pass();
    for a in assets {
        let day = |t: Timestamp| t.strftime("%Y-%m-%d").to_string();
        match a.last_by(|k| k == SourceKind::Nmap) {
            None => f.fail(
                a.label(),
                detail(
                    format!("{}: never scanned", a.label()),
                    format!("{} : jamais scanné", a.label()),
                ),
            ),
            Some(t) if t < limit => f.fail(
                a.label(),
                detail(
                    format!(
                        "{}: last scanned on {} (more than {days} days ago)",
                        a.label(),
                        day(t)
                    ),
                    format!(
                        "{} : dernier scan le {} (plus de {days} jours)",
                        a.label(),
                        day(t)
                    ),
                ),
            ),
            Some(_) => {}
        }
        if let Some(t) = a.last_by(SourceKind::is_inventory)
            && t < limit
        {
            f.fail(
                a.label(),
                detail(
                    format!(
                        "{}: last inventoried on {} (more than {days} days ago)",
                        a.label(),
                        day(t)
                    ),
                    format!(
                        "{} : dernier inventaire le {} (plus de {days} jours)",
                        a.label(),
                        day(t)
                    ),
                ),
            );
        }
    }
    findings.push(f.titled(detail(
        format!("Every asset was scanned and inventoried within {days} days"),
        format!("Chaque équipement a été scanné et inventorié depuis moins de {days} jours"),
    )));

    let with_os: Vec<&Asset> = assets.iter().filter(|a| a.os.is_some()).collect();
    if with_os.is_empty() {
        skipped.push(not_evaluated(
            &OS_END_OF_LIFE,
            "no asset with a known operating system",
        ));
    } else {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let mut f = OS_END_OF_LIFE.pass();
        for a in with_os {
            let Some(os) = &a.os else { continue };
            if let Some((e, end)) = eol.lookup(&os.name, os.version.as_deref())
                && *end < today
            {
                f.fail(
                    a.label(),
                    detail(
                        format!("{}: {} ended on {end} ({})", a.label(), e.name, e.source),
                        format!(
                            "{} : {} sans support depuis le {end} ({})",
                            a.label(),
                            e.name,
                            e.source
                        ),
                    ),
                );
            }
        }
        findings.push(f);
    }

    Evaluation {
        findings,
        not_evaluated: skipped,
        summary: summary(assets, policy),
    }
}

/// Counts kept with the run: assets by category and by source, software, the thresholds.
pub fn summary(assets: &[Asset], policy: Policy) -> serde_json::Value {
    let mut by_category = std::collections::BTreeMap::<&str, usize>::new();
    let mut by_source = std::collections::BTreeMap::<&str, usize>::new();
    for a in assets {
        *by_category.entry(a.category.as_str()).or_default() += 1;
        for k in a.sources.keys() {
            *by_source.entry(k.as_str()).or_default() += 1;
        }
    }
    let software: usize = assets.iter().map(|a| a.all_software().len()).sum();
    serde_json::json!({
        "assets": assets.len(), "by_category": by_category, "by_source": by_source,
        "software": software, "max_age_days": policy.max_age_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Observation, OperatingSystem, Port, Software};
    use crate::register::Register;
    use hygie_core::Finding;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn outcome<'a>(e: &'a Evaluation, rule: &RuleDef) -> Option<&'a Finding> {
        e.findings.iter().find(|f| f.rule == rule.id)
    }

    #[test]
    fn every_rule_on_a_small_register() {
        let now = ts("2026-12-01T10:00:00Z");
        let eol = EolTable::bundled().unwrap();
        let mut r = Register::new(Vec::new());
        // An agent-inventoried Debian 10 server with one unversioned package, inventoried long ago.
        r.absorb(
            SourceKind::Ocs,
            Observation {
                origin: "o".into(),
                hostname: Some("SRV-OLD".into()),
                macs: vec!["02:00:00:00:00:01".into()],
                os: Some(OperatingSystem {
                    name: "Debian GNU/Linux 10".into(),
                    version: Some("10".into()),
                }),
                software: Some(vec![
                    Software {
                        name: "bash".into(),
                        version: Some("5.0".into()),
                        vendor: None,
                    },
                    Software {
                        name: "mystery".into(),
                        version: None,
                        vendor: None,
                    },
                ]),
                seen: Some(ts("2026-09-01T00:00:00Z")),
                ..Default::default()
            },
            now,
        );
        // A directory computer without inventory; an unknown device on the scan; SRV-OLD scanned.
        r.absorb(
            SourceKind::Ad,
            Observation {
                hostname: Some("PC-02".into()),
                ..Default::default()
            },
            now,
        );
        r.absorb(
            SourceKind::Nmap,
            Observation {
                macs: vec!["02:00:00:00:00:99".into()],
                ports: vec![Port {
                    protocol: "tcp".into(),
                    port: 23,
                    service: None,
                }],
                ..Default::default()
            },
            now,
        );
        r.absorb(
            SourceKind::Nmap,
            Observation {
                macs: vec!["02:00:00:00:00:01".into()],
                ..Default::default()
            },
            now,
        );
        let e = evaluate(r.assets(), &eol, Policy::default(), now);
        assert!(e.not_evaluated.is_empty(), "{:?}", e.not_evaluated);
        assert_eq!(outcome(&e, &HARDWARE).unwrap().objects, ["PC-02"]);
        assert_eq!(outcome(&e, &SOFTWARE).unwrap().objects, ["SRV-OLD"]);
        assert_eq!(
            outcome(&e, &UNKNOWN).unwrap().objects,
            ["02:00:00:00:00:99"]
        );
        let stale = outcome(&e, &STALE).unwrap();
        assert_eq!(stale.objects, ["SRV-OLD", "PC-02"]);
        assert!(
            stale
                .details
                .iter()
                .any(|d| d.en.contains("last inventoried on 2026-09-01"))
        );
        assert_eq!(outcome(&e, &OS_END_OF_LIFE).unwrap().objects, ["SRV-OLD"]);
        // Within 120 days, only the never-scanned directory computer is stale.
        let e = evaluate(r.assets(), &eol, Policy { max_age_days: 120 }, now);
        assert_eq!(outcome(&e, &STALE).unwrap().objects, ["PC-02"]);
    }

    #[test]
    fn rules_without_input_are_not_evaluated() {
        let now = ts("2026-12-01T10:00:00Z");
        let eol = EolTable::bundled().unwrap();
        let e = evaluate(&[], &eol, Policy::default(), now);
        assert!(e.findings.is_empty());
        assert_eq!(e.not_evaluated.len(), RULES.len());
        let mut r = Register::new(Vec::new());
        r.absorb(
            SourceKind::Ad,
            Observation {
                hostname: Some("PC-01".into()),
                ..Default::default()
            },
            now,
        );
        let e = evaluate(r.assets(), &eol, Policy::default(), now);
        let skipped: Vec<&str> = e.not_evaluated.iter().map(|n| n.rule.as_str()).collect();
        assert_eq!(skipped, [SOFTWARE.id, UNKNOWN.id, OS_END_OF_LIFE.id]);
        let hw = outcome(&e, &HARDWARE).unwrap();
        assert!(
            hw.objects.contains(&"register".to_owned()) && hw.objects.contains(&"PC-01".to_owned())
        );
    }
}
