//! `hygie vuln import|feeds`: the instance's vulnerability feeds (CISA KEV, NVD CVE API 2.0,
//! CERT-FR advisories) from downloaded files, and `hygie inventory vulns`: a facility's register matched against them
//! (hygie-vuln), with the rule ASSET-SW-VULNERABLE recorded as a check run of source `vuln`.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::{Finess, Lang};
use hygie_report::csv::{Cell, CsvWriter};
use hygie_store::{Actor, FeedRecords};
use hygie_vuln::{Advisory, Aliases, CveRecord, FeedKind, IndexBuilder, KevEntry, Report};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum VulnCmd {
    /// Import feed files downloaded from CISA (KEV JSON), NVD (CVE API 2.0 JSON) or CERT-FR (each
    /// advisory's JSON: its page followed by json/; a file, a JSON array of them, or a folder of
    /// .json files). Every file is read whole before anything is stored: one bad file and nothing
    /// is. A KEV import replaces the catalogue; NVD files add or update their CVEs; CERT-FR
    /// advisories are added or replaced.
    Import {
        /// kev, nvd or certfr.
        #[arg(long)]
        feed: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The feed imports, oldest first, with each feed's version and date.
    Feeds,
}

fn tr(lang: Lang, en: &str, fr: &str) -> String {
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}

pub async fn run(ctx: &Ctx, cmd: VulnCmd) -> anyhow::Result<u8> {
    match cmd {
        VulnCmd::Import { feed, files } => {
            let kind = FeedKind::parse(&feed).ok_or_else(|| {
                exit::invalid(format!(
                    "--feed '{feed}': expected kev, nvd or certfr / attendu : kev, nvd ou certfr"
                ))
            })?;
            let mut kev: Vec<KevEntry> = Vec::new();
            let mut nvd: Vec<CveRecord> = Vec::new();
            let mut certfr: Vec<Advisory> = Vec::new();
            let mut version = String::new();
            let mut released: Option<String> = None;
            let mut names = Vec::new();
            let files = if kind == FeedKind::CertFr {
                expand_folders(&files)?
            } else {
                files
            };
            for f in &files {
                let name = f.display().to_string();
                let file = std::fs::File::open(f).map_err(|e| {
                    exit::invalid(format!("{name}: cannot read / lecture impossible: {e}"))
                })?;
                let info = match kind {
                    FeedKind::Kev => hygie_vuln::read_kev(&name, file, |k| kev.push(k)),
                    FeedKind::Nvd => hygie_vuln::read_nvd(&name, file, |c| nvd.push(c)),
                    FeedKind::CertFr => {
                        let before = certfr.len();
                        hygie_vuln::read_certfr(&name, file, |a| certfr.push(a)).map(|_| {
                            hygie_vuln::FeedInfo {
                                kind,
                                version: "json".into(),
                                released: certfr[before..]
                                    .iter()
                                    .filter_map(|a| a.last_revision.clone())
                                    .max(),
                                records: certfr.len() - before,
                            }
                        })
                    }
                }
                .map_err(|e| exit::invalid(e.to_string()))?;
                version = info.version;
                released = released.max(info.released);
                names.push(name);
            }
            if kind == FeedKind::Kev && files.len() > 1 {
                return Err(exit::invalid(
                    "--feed kev: one catalogue file (it is published whole) / un seul fichier de catalogue",
                ));
            }
            let records = match kind {
                FeedKind::Kev => FeedRecords::Kev(&kev),
                FeedKind::Nvd => FeedRecords::Nvd(&nvd),
                FeedKind::CertFr => FeedRecords::CertFr(&certfr),
            };
            let count = kev.len() + nvd.len() + certfr.len();
            let store = ctx.store().await?;
            let id = store
                .import_vuln_feed(
                    kind,
                    &version,
                    released.as_deref(),
                    &names,
                    records,
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "import": id, "feed": kind, "version": version, "released": released,
                    "files": names, "records": count,
                }))?,
                Format::Table => println!(
                    "{}",
                    match ctx.lang {
                        Lang::Fr => format!(
                            "Import {id} : flux {} version {version} du {}, {count} enregistrements.",
                            kind.as_str(),
                            released.as_deref().unwrap_or("?")
                        ),
                        Lang::En => format!(
                            "Import {id}: {} feed version {version} of {}, {count} records.",
                            kind.as_str(),
                            released.as_deref().unwrap_or("?")
                        ),
                    }
                ),
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        VulnCmd::Feeds => {
            let store = ctx.store().await?;
            let feeds = store.vuln_feeds().await?;
            let headers = match ctx.lang {
                Lang::Fr => [
                    "Import",
                    "Flux",
                    "Version",
                    "Date du flux",
                    "Enregistrements",
                    "Importé le",
                ],
                Lang::En => [
                    "Import",
                    "Feed",
                    "Version",
                    "Feed date",
                    "Records",
                    "Imported",
                ],
            };
            ctx.print_list(&feeds, &headers, |f| {
                vec![
                    f.id.clone(),
                    f.kind.as_str().to_owned(),
                    f.version.clone(),
                    f.released.clone().unwrap_or_default(),
                    f.records.to_string(),
                    f.imported.strftime("%Y-%m-%d %H:%M").to_string(),
                ]
            })?;
            Ok(exit::OK)
        }
    }
}

/// The files named, a folder standing for its `.json` files (sorted; not its sub-folders).
fn expand_folders(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let name = p.display();
        let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| exit::invalid(format!("{name}: cannot read / lecture impossible: {e}")))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| exit::invalid(format!("{name}: cannot read / lecture impossible: {e}")))?;
        inside.retain(|f| {
            f.is_file()
                && f.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        });
        if inside.is_empty() {
            return Err(exit::invalid(format!(
                "{name}: no .json file in the folder / aucun fichier .json dans le dossier"
            )));
        }
        inside.sort();
        out.extend(inside);
    }
    Ok(out)
}

/// `hygie inventory vulns`: match the facility's register, record the rule's run, print.
pub async fn inventory_vulns(ctx: &Ctx, facility: &str) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let store = ctx.facility_store(&id).await?;
    // The index first, made as the records are read (the feed is never held whole), then the
    // register: a first matching of 2 million software against 250,000 CVEs stays under 1 GB.
    let kev = store.vuln_kev().await?;
    let mut builder = IndexBuilder::new(kev, Aliases::bundled().map_err(anyhow::Error::msg)?);
    let nvd_records = store.each_vuln_nvd(|c| builder.add(c)).await?;
    let certfr = store.vuln_certfr().await?;
    let index = builder.finish().with_advisories(&certfr);
    drop(certfr);
    let feeds = store.vuln_feeds().await?;
    let assets = store.inventory(&id).await?;
    let report = index.match_assets(&assets);
    drop(assets);
    drop(index);
    let eval = hygie_vuln::rules::evaluate(
        &report,
        &hygie_vuln::rules::Inputs {
            nvd_records,
            software: report.software,
        },
    );
    let now = jiff::Timestamp::now();
    let mut summary = eval.summary.clone();
    if let Some(o) = summary.as_object_mut() {
        o.insert(
            "not_evaluated".into(),
            serde_json::json!(eval.not_evaluated),
        );
    }
    let run = super::audit::record(
        &store,
        &id,
        hygie_vuln::rules::SOURCE,
        now,
        &eval.findings,
        &summary,
    )
    .await?;
    // The per-asset digest is the web's; the matches below say it all.
    let mut shown = eval.summary.clone();
    if let Some(o) = shown.as_object_mut() {
        o.remove("assets");
    }
    match ctx.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                facility: &'a str,
                run: &'a str,
                summary: &'a serde_json::Value,
                feeds: Vec<&'a hygie_store::VulnFeed>,
                not_evaluated: &'a [hygie_collect::NotEvaluated],
                matches: MatchesJson<'a>,
                unmatched: &'a [hygie_vuln::matching::UnmatchedSoftware],
                certfr: &'a std::collections::BTreeMap<String, hygie_vuln::Cited>,
            }
            output::json(&Out {
                facility: id.as_str(),
                run: &run,
                summary: &shown,
                feeds: latest_feeds(&feeds),
                not_evaluated: &eval.not_evaluated,
                matches: MatchesJson(&report),
                unmatched: &report.unmatched,
                certfr: &report.certfr,
            })?
        }
        Format::Csv => csv(&report, ctx.lang)?,
        Format::Table => table(&report, &eval, ctx.lang),
        f => return Err(output::unsupported(f, "table, json or csv")),
    }
    Ok(exit::OK)
}

/// The latest import of each feed: what the matching used.
fn latest_feeds(feeds: &[hygie_store::VulnFeed]) -> Vec<&hygie_store::VulnFeed> {
    [FeedKind::Kev, FeedKind::Nvd, FeedKind::CertFr]
        .into_iter()
        .filter_map(|k| feeds.iter().rev().find(|f| f.kind == k))
        .collect()
}

/// The matches as JSON, serialised as they are written: a register of 2 million software
/// can have millions of matches, and a `serde_json::Value` of each (with its CVEs) took tens
/// of gigabytes (BENCHMARKS.md, issue 21).
struct MatchesJson<'a>(&'a Report);

impl serde::Serialize for MatchesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.matches.iter().map(MatchJson))
    }
}

struct MatchJson<'a>(&'a hygie_vuln::VulnMatch);

impl serde::Serialize for MatchJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (m, v) = (self.0, &self.0.verdict);
        let mut o = s.serialize_map(Some(12))?;
        o.serialize_entry("asset", &m.asset)?;
        o.serialize_entry("asset_label", &*m.asset_label)?;
        o.serialize_entry("software", &v.software.name)?;
        o.serialize_entry("version", &v.software.version)?;
        o.serialize_entry("vendor", &v.software.vendor)?;
        o.serialize_entry("cpe", &v.cpe)?;
        o.serialize_entry("certainty", &v.certainty)?;
        o.serialize_entry("packaged", &v.packaged)?;
        o.serialize_entry("kev", &v.kev())?;
        o.serialize_entry("cves", &v.cves)?;
        o.serialize_entry("certfr", &v.certfr.iter().map(|r| &**r).collect::<Vec<_>>())?;
        o.end()
    }
}

fn csv(report: &Report, lang: Lang) -> anyhow::Result<()> {
    let mut w = CsvWriter::new(output::stdout());
    w.row(match lang {
        Lang::Fr => [
            "equipement",
            "nom",
            "logiciel",
            "version",
            "editeur",
            "cpe",
            "certitude",
            "paquet_distribution",
            "cve",
            "score",
            "exploitee_kev",
            "rancongiciel",
            "echeance_kev",
            "conditionnelle",
            "avis_certfr",
        ],
        Lang::En => [
            "asset",
            "asset_label",
            "software",
            "version",
            "vendor",
            "cpe",
            "certainty",
            "packaged",
            "cve",
            "score",
            "kev",
            "ransomware",
            "kev_due",
            "conditional",
            "certfr",
        ],
    })?;
    let yes = |b: bool| Cell::text(if b { "yes" } else { "no" });
    for m in &report.matches {
        let v = &m.verdict;
        for c in &v.cves {
            let certfr = c.certfr.iter().map(|r| &**r).collect::<Vec<_>>().join(" ");
            w.row([
                Cell::int(m.asset),
                Cell::text(&*m.asset_label),
                Cell::text(v.software.name.as_str()),
                Cell::text(v.software.version.as_deref().unwrap_or_default()),
                Cell::text(v.software.vendor.as_deref().unwrap_or_default()),
                Cell::text(v.cpe.as_str()),
                Cell::text(v.certainty.as_str()),
                yes(v.packaged),
                Cell::text(&*c.cve),
                c.score
                    .map_or(Cell::text(""), |s| Cell::decimal(f64::from(s), 1)),
                yes(c.kev),
                yes(c.ransomware),
                Cell::text(c.kev_due.as_deref().unwrap_or_default()),
                yes(c.conditional),
                Cell::text(certfr.as_str()),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

fn table(report: &Report, eval: &hygie_collect::Evaluation, lang: Lang) {
    let kev = report.matches.iter().filter(|m| m.verdict.kev()).count();
    println!(
        "{}",
        match lang {
            Lang::Fr => format!(
                "{} logiciels examinés ({} distincts) : {} vulnérables dont {kev} avec une CVE exploitée (KEV), {} non rapprochés.",
                report.software,
                report.distinct,
                report.matches.len(),
                report.unmatched.len()
            ),
            Lang::En => format!(
                "{} software examined ({} distinct): {} vulnerable, {kev} with a known exploited CVE (KEV), {} unmatched.",
                report.software,
                report.distinct,
                report.matches.len(),
                report.unmatched.len()
            ),
        }
    );
    let rows: Vec<Vec<String>> = report
        .matches
        .iter()
        .map(|m| {
            let v = &m.verdict;
            let (en, fr) = v.certainty.words();
            vec![
                m.asset_label.to_string(),
                v.software.name.clone(),
                v.software.version.clone().unwrap_or_default(),
                v.cpe.clone(),
                if lang == Lang::Fr { fr } else { en }.to_owned(),
                if v.kev() { "KEV".into() } else { String::new() },
                v.cves
                    .iter()
                    .take(3)
                    .map(|c| &*c.cve)
                    .collect::<Vec<_>>()
                    .join(" ")
                    + &if v.cves.len() > 3 {
                        format!(" +{}", v.cves.len() - 3)
                    } else {
                        String::new()
                    },
            ]
        })
        .collect();
    if !rows.is_empty() {
        let h = match lang {
            Lang::Fr => [
                "Équipement",
                "Logiciel",
                "Version",
                "CPE",
                "Certitude",
                "Exploitée",
                "CVE",
            ],
            Lang::En => [
                "Asset",
                "Software",
                "Version",
                "CPE",
                "Certainty",
                "Exploited",
                "CVE",
            ],
        };
        print!("{}", hygie_report::table(&h, &rows));
    }
    const SHOWN: usize = 50;
    let un: Vec<Vec<String>> = report
        .unmatched
        .iter()
        .take(SHOWN)
        .map(|u| {
            vec![
                u.name.clone(),
                u.version.clone().unwrap_or_default(),
                match lang {
                    Lang::Fr => u.why.words().1,
                    Lang::En => u.why.words().0,
                }
                .to_owned(),
                u.assets.to_string(),
            ]
        })
        .collect();
    if !un.is_empty() {
        println!();
        println!(
            "{}",
            tr(
                lang,
                "Unmatched (never guessed):",
                "Non rapprochés (jamais devinés) :"
            )
        );
        let h = match lang {
            Lang::Fr => ["Logiciel", "Version", "Raison", "Équipements"],
            Lang::En => ["Software", "Version", "Reason", "Assets"],
        };
        print!("{}", hygie_report::table(&h, &un));
        if report.unmatched.len() > SHOWN {
            println!(
                "{}",
                match lang {
                    Lang::Fr => format!(
                        "... et {} autres (--format json ou csv : tous)",
                        report.unmatched.len() - SHOWN
                    ),
                    Lang::En => format!(
                        "... and {} more (--format json or csv: all)",
                        report.unmatched.len() - SHOWN
                    ),
                }
            );
        }
    }
    for n in &eval.not_evaluated {
        println!(
            "{} {}: {}",
            tr(lang, "Not evaluated", "Non évaluée"),
            n.rule,
            n.reason
        );
    }
}
