//! `hygie inventory`: the facility's asset register, merged from agent inventories
//! (FusionInventory / GLPI Agent, OCS), nmap scans, the AD's computers and the documented CSV
//! (hygie-inventory). Every import evaluates the inventory rules on the new register and records
//! the run (source `inventory`) in the import's transaction.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_collect::Files as _;
use hygie_core::{Finess, Lang};
use hygie_inventory::rules::{self, Policy};
use hygie_inventory::{Asset, Observation, Register, SourceKind};
use hygie_store::{Actor, ImportRecord, StoreError};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum InventoryCmd {
    /// Merge inventory files into the facility's asset register, then evaluate the inventory
    /// rules (ASSET-*) and record the run. All files are read and checked before anything is
    /// written: one bad file and nothing is stored.
    Import {
        #[arg(long)]
        facility: String,
        /// fusioninventory (or glpi), ocs, nmap, ad (an LDIF export of the directory), csv.
        #[arg(long)]
        source: String,
        /// Days after which an asset not scanned or not inventoried fails ASSET-STALE.
        #[arg(long, default_value_t = Policy::default().max_age_days)]
        max_age_days: u32,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The facility's assets (JSON: with their software).
    List {
        #[arg(long)]
        facility: String,
        /// Only this category (workstation, server, network, printer, medical, unknown).
        #[arg(long)]
        category: Option<String>,
    },
    /// The register's software matched against the vulnerability feeds (`hygie vuln import`):
    /// known exploited first, each with its certainty; unmatched software listed. Records the
    /// rule ASSET-SW-VULNERABLE (source vuln). CSV: one row per asset, software and CVE.
    Vulns {
        #[arg(long)]
        facility: String,
    },
    /// The map of the information system: the zones of the latest network collector run and the
    /// ranges nmap imports scanned, the assets in each zone (medical devices, domain
    /// controllers, known exploited and end of life marked), the flows the firewalls allow
    /// between zones. --format json (documented in the README), svg (the drawing) or text.
    Map {
        #[arg(long)]
        facility: String,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// One asset, by id, host name, MAC or IP address: its description, software and sightings.
    Show {
        #[arg(long)]
        facility: String,
        asset: String,
    },
}

fn tr(lang: Lang, en: &str, fr: &str) -> String {
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// Read and parse every file before the store is opened: the observations, and the ranges
/// nmap scans were asked to cover (for the IS map).
fn read_all(
    kind: SourceKind,
    files: &[PathBuf],
) -> anyhow::Result<(Vec<Observation>, Vec<String>)> {
    let mut out = Vec::new();
    let mut scanned: Vec<String> = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let bytes = hygie_collect::Disk
            .read_bytes(f)
            .map_err(|e| exit::invalid(e.to_string()))?;
        if kind == SourceKind::Nmap {
            let scan = hygie_inventory::nmap::read_scan(&name, &bytes)
                .map_err(|e| exit::invalid(e.to_string()))?;
            out.extend(scan.hosts);
            for t in scan.targets {
                if !scanned.contains(&t) {
                    scanned.push(t);
                }
            }
        } else {
            out.extend(
                hygie_inventory::read(kind, &name, &bytes)
                    .map_err(|e| exit::invalid(e.to_string()))?,
            );
        }
    }
    Ok((out, scanned))
}

pub async fn run(ctx: &Ctx, cmd: InventoryCmd) -> anyhow::Result<u8> {
    match cmd {
        InventoryCmd::Import {
            facility,
            source,
            max_age_days,
            files,
        } => {
            let id = Finess::parse(&facility)?;
            let kind = SourceKind::parse(&source).ok_or_else(|| {
                exit::invalid(format!(
                    "--source '{source}': expected one of fusioninventory, ocs, nmap, ad, csv / attendu : fusioninventory, ocs, nmap, ad, csv"
                ))
            })?;
            let (observations, scanned) = read_all(kind, &files)?;
            let eol = hygie_collect::patching::EolTable::bundled()?;
            let store = ctx.facility_store(&id).await?;
            let mut register = Register::new(store.inventory(&id).await?);
            let before = register.assets().len();
            let now = jiff::Timestamp::now();
            let sightings: Vec<_> = observations
                .into_iter()
                .map(|o| register.absorb(kind, o, now))
                .collect();
            let assets = register.into_assets();
            let policy = Policy { max_age_days };
            let eval = rules::evaluate(&assets, &eol, policy, now);
            let run = super::audit::run_of(rules::SOURCE, now, &eval.findings);
            let mut summary = eval.summary.clone();
            if let Some(o) = summary.as_object_mut() {
                o.insert(
                    "not_evaluated".into(),
                    serde_json::json!(eval.not_evaluated),
                );
            }
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            let import_id = store
                .import_inventory(
                    &id,
                    &assets,
                    &ImportRecord {
                        source: kind,
                        files: &names,
                        sightings: &sightings,
                        new_assets: assets.len() - before,
                        scanned: &scanned,
                    },
                    Some((&run, &summary)),
                    &Actor::cli(),
                )
                .await?;
            let conflicts = Register::conflicts(&sightings);
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": id.as_str(), "import": import_id, "run": run.id,
                    "source": kind, "files": names, "observations": sightings.len(),
                    "assets": assets.len(), "new_assets": assets.len() - before,
                    "conflicts": conflicts, "findings": eval.findings,
                    "not_evaluated": eval.not_evaluated,
                }))?,
                Format::Table => {
                    println!(
                        "{}",
                        match ctx.lang {
                            Lang::Fr => format!(
                                "Import {import_id} : {} observations ({kind}), {} équipements dont {} nouveaux, {} conflits.",
                                sightings.len(),
                                assets.len(),
                                assets.len() - before,
                                conflicts.len()
                            ),
                            Lang::En => format!(
                                "Import {import_id}: {} observations ({kind}), {} assets of which {} new, {} conflicts.",
                                sightings.len(),
                                assets.len(),
                                assets.len() - before,
                                conflicts.len()
                            ),
                        }
                    );
                    for c in &conflicts {
                        println!("  #{} {}: {}", c.asset, c.origin, c.message);
                    }
                    print!("{}", super::roles::findings_text(&eval.findings, ctx.lang));
                    for n in &eval.not_evaluated {
                        println!(
                            "{} {}: {}",
                            tr(ctx.lang, "Not evaluated", "Non évaluée"),
                            n.rule,
                            n.reason
                        );
                    }
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        InventoryCmd::List { facility, category } => {
            let id = Finess::parse(&facility)?;
            let category = category
                .map(|c| {
                    hygie_inventory::Category::parse(&c).ok_or_else(|| {
                        exit::invalid(format!(
                            "--category '{c}': expected workstation, server, network, printer, medical or unknown"
                        ))
                    })
                })
                .transpose()?;
            let store = ctx.facility_store(&id).await?;
            let mut assets = store.inventory(&id).await?;
            assets.retain(|a| category.is_none_or(|c| a.category == c));
            let headers = match ctx.lang {
                Lang::Fr => [
                    "Id",
                    "Nom",
                    "Catégorie",
                    "Système",
                    "Adresses IP",
                    "Logiciels",
                    "Sources",
                    "Vu le",
                ],
                Lang::En => [
                    "Id",
                    "Name",
                    "Category",
                    "Operating system",
                    "IP addresses",
                    "Software",
                    "Sources",
                    "Last seen",
                ],
            };
            ctx.print_list(&assets, &headers, |a| {
                vec![
                    a.id.to_string(),
                    a.hostname.clone().unwrap_or_default(),
                    a.category.as_str().to_owned(),
                    os_text(a),
                    a.ips.iter().cloned().collect::<Vec<_>>().join(" "),
                    a.all_software().len().to_string(),
                    a.sources
                        .keys()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    a.last_seen.strftime("%Y-%m-%d %H:%M").to_string(),
                ]
            })?;
            Ok(exit::OK)
        }
        InventoryCmd::Vulns { facility } => super::vuln::inventory_vulns(ctx, &facility).await,
        InventoryCmd::Map { facility, output } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let m = store.is_map(&id).await?;
            let text = match ctx.format {
                Format::Json => output::json_text(&m)?,
                Format::Svg => {
                    hygie_report::diagram::svg(&hygie_inventory::map::diagram(&m, ctx.lang)) + "\n"
                }
                Format::Table => hygie_inventory::map::text(&m, ctx.lang),
                f => return Err(output::unsupported(f, "json, svg or text")),
            };
            output::emit(&text, output.as_deref())?;
            Ok(exit::OK)
        }
        InventoryCmd::Show { facility, asset } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let register = Register::new(store.inventory(&id).await?);
            let a = register
                .find(&asset)
                .ok_or_else(|| StoreError::NotFound(format!("asset '{asset}'")))?;
            let sightings = store.inventory_sightings(&id, a.id).await?;
            // As the latest `inventory vulns` run matched it, with the CERT-FR advisories.
            let vulns = store.asset_findings(&id).await?.vulnerabilities(a.id);
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "asset": a, "sightings": sightings, "vulnerabilities": vulns,
                }))?,
                Format::Table => {
                    show_text(a, &sightings, ctx.lang);
                    vulns_text(&vulns, ctx.lang);
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
    }
}

fn os_text(a: &Asset) -> String {
    a.os.as_ref()
        .map(|o| match &o.version {
            Some(v) => format!("{} ({v})", o.name),
            None => o.name.clone(),
        })
        .unwrap_or_default()
}

fn show_text(a: &Asset, sightings: &[hygie_store::SightingRecord], lang: Lang) {
    let fr = lang == Lang::Fr;
    let join =
        |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(" ");
    let lines: Vec<Vec<String>> = [
        (
            tr(lang, "Name", "Nom"),
            a.hostname.clone().unwrap_or_default(),
        ),
        (
            tr(lang, "Category", "Catégorie"),
            if a.domain_controller {
                format!(
                    "{} ({})",
                    a.category.as_str(),
                    tr(lang, "domain controller", "contrôleur de domaine")
                )
            } else {
                a.category.as_str().to_owned()
            },
        ),
        (tr(lang, "Operating system", "Système"), os_text(a)),
        (
            tr(lang, "Serial number", "Numéro de série"),
            a.serial.clone().unwrap_or_default(),
        ),
        (
            tr(lang, "Manufacturer", "Fabricant"),
            a.manufacturer.clone().unwrap_or_default(),
        ),
        (
            tr(lang, "Model", "Modèle"),
            a.model.clone().unwrap_or_default(),
        ),
        (
            tr(lang, "Owner", "Responsable"),
            a.owner.clone().unwrap_or_default(),
        ),
        (tr(lang, "Zone", "Zone"), a.zone.clone().unwrap_or_default()),
        ("MAC".to_owned(), join(&a.macs)),
        ("IP".to_owned(), join(&a.ips)),
        (
            tr(lang, "Open ports", "Ports ouverts"),
            a.ports
                .iter()
                .map(|p| format!("{}/{}", p.port, p.protocol))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            tr(lang, "First seen", "Vu la première fois"),
            a.first_seen.to_string(),
        ),
        (
            tr(lang, "Last seen", "Vu la dernière fois"),
            a.last_seen.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| vec![k, v])
    .collect();
    println!("{} #{}", tr(lang, "Asset", "Équipement"), a.id);
    print!("{}", hygie_report::table(&["", ""], &lines));
    let rows: Vec<Vec<String>> = sightings
        .iter()
        .map(|s| {
            let x = &s.sighting;
            vec![
                x.seen.to_string(),
                x.source.as_str().to_owned(),
                x.origin.clone(),
                x.matched_by.as_str().to_owned(),
                x.conflicts.join("; "),
            ]
        })
        .collect();
    println!();
    print!(
        "{}",
        hygie_report::table(
            if fr {
                &["Vu le", "Source", "Origine", "Rapproché par", "Conflits"]
            } else {
                &["Seen", "Source", "Origin", "Matched by", "Conflicts"]
            },
            &rows
        )
    );
    let sw: Vec<Vec<String>> = a
        .all_software()
        .into_iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.version.clone().unwrap_or_default(),
                s.vendor.clone().unwrap_or_default(),
            ]
        })
        .collect();
    println!();
    print!(
        "{}",
        hygie_report::table(
            if fr {
                &["Logiciel", "Version", "Éditeur"]
            } else {
                &["Software", "Version", "Vendor"]
            },
            &sw
        )
    );
}

/// The asset's vulnerable software (the latest vuln run's worst five) with the CERT-FR
/// advisories citing their CVEs.
fn vulns_text(vulns: &[serde_json::Value], lang: Lang) {
    println!();
    if vulns.is_empty() {
        println!(
            "{}",
            tr(
                lang,
                "No vulnerable software matched (hygie inventory vulns).",
                "Aucun logiciel vulnérable rapproché (hygie inventory vulns)."
            )
        );
        return;
    }
    let str_of = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let rows: Vec<Vec<String>> = vulns
        .iter()
        .map(|v| {
            let list = |k: &str, more: &str| {
                let mut l: Vec<String> = v[k]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(|x| x.as_str().or_else(|| x["reference"].as_str()))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(n) = v[more].as_u64().filter(|n| *n > 0) {
                    l.push(format!("+{n}"));
                }
                l.join(" ")
            };
            vec![
                str_of(v, "software"),
                str_of(v, "version"),
                if v["kev"].as_bool().unwrap_or(false) {
                    "KEV".into()
                } else {
                    String::new()
                },
                list("cves", "more"),
                list("certfr", "certfr_more"),
            ]
        })
        .collect();
    print!(
        "{}",
        hygie_report::table(
            if lang == Lang::Fr {
                &[
                    "Logiciel vulnérable",
                    "Version",
                    "Exploitée",
                    "CVE",
                    "Avis CERT-FR",
                ]
            } else {
                &[
                    "Vulnerable software",
                    "Version",
                    "Exploited",
                    "CVE",
                    "CERT-FR advisories",
                ]
            },
            &rows
        )
    );
    // The titles once: what a CISO reads first.
    let mut seen = std::collections::BTreeSet::new();
    for c in vulns
        .iter()
        .filter_map(|v| v["certfr"].as_array())
        .flatten()
    {
        if let Some(r) = c["reference"].as_str()
            && seen.insert(r.to_owned())
        {
            println!("{r}: {} {}", str_of(c, "title"), str_of(c, "url"));
        }
    }
}
