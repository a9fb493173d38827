//! `hygie phishing`: GoPhish campaign imports and anonymous reports.
//!
//! Targets are stored as keyed hashes with a department; the `details` of events (which can hold
//! submitted credentials) are dropped by the parser. Reports aggregate by department; a per-person
//! export needs `--named` and is journalled.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::Finess;
use hygie_governance::phishing::{self, RawCampaign, ScannerFilter};
use hygie_store::Actor;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct FilterArgs {
    /// Opens and clicks less than this many seconds after delivery are a scanner's.
    #[arg(long)]
    scanner_seconds: Option<i64>,
    /// A scanner user-agent substring (repeatable; added to the built-in list).
    #[arg(long = "scanner-ua")]
    scanner_ua: Vec<String>,
    /// A scanner IP or CIDR block (repeatable).
    #[arg(long = "scanner-ip")]
    scanner_ip: Vec<String>,
    /// A TOML file: min_seconds_after_send, user_agents, addresses (replaces the built-in list).
    #[arg(long)]
    scanner_config: Option<PathBuf>,
}

impl FilterArgs {
    fn filter(&self) -> anyhow::Result<ScannerFilter> {
        let mut f = match &self.scanner_config {
            Some(p) => {
                let text = super::people::read(p)?;
                toml::from_str::<ScannerFilter>(&text)
                    .map_err(|e| exit::invalid(format!("{}: {e}", p.display())))?
            }
            None => ScannerFilter::default(),
        };
        if let Some(s) = self.scanner_seconds {
            f.min_seconds_after_send = s;
        }
        f.user_agents.extend(self.scanner_ua.iter().cloned());
        f.addresses.extend(self.scanner_ip.iter().cloned());
        f.validate().map_err(exit::invalid)?;
        Ok(f)
    }
}

#[derive(Subcommand)]
pub enum PhishingCmd {
    /// Import a GoPhish campaign: a Results CSV and/or a Raw Events CSV, or the API JSON of
    /// /api/campaigns/{id}/results. All or nothing; `details` are never stored.
    Import {
        #[arg(long)]
        facility: String,
        /// `<campaign> - Results.csv`.
        #[arg(long)]
        results: Option<PathBuf>,
        /// `<campaign> - Events.csv`.
        #[arg(long)]
        events: Option<PathBuf>,
        /// The JSON of GET /api/campaigns/{id}/results.
        #[arg(long, conflicts_with_all = ["results", "events"])]
        json: Option<PathBuf>,
        /// Campaign name (default: from the JSON or the file name).
        #[arg(long)]
        name: Option<String>,
        /// Replace a campaign already imported with the same GoPhish id.
        #[arg(long)]
        replace: bool,
    },
    /// List imported campaigns.
    List {
        #[arg(long)]
        facility: String,
    },
    /// Per-campaign rates with and without the scanner filter, by department, and over time.
    Report {
        #[arg(long)]
        facility: String,
        /// Departments with fewer targets than this are merged, so nobody is singled out.
        #[arg(long, default_value_t = 5)]
        min_group: usize,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Per-person results of one campaign: only with --named (journalled).
    Export {
        #[arg(long)]
        facility: String,
        /// The campaign id (see `phishing list`).
        #[arg(long)]
        campaign: String,
        /// Confirm that a named, per-person export is wanted (administrators only).
        #[arg(long)]
        named: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

fn campaign_name(path: &std::path::Path) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy().to_string();
    let stem = stem
        .strip_suffix(" - Results")
        .or_else(|| stem.strip_suffix(" - Events"))
        .unwrap_or(&stem);
    Some(stem.to_owned())
}

/// A reader of one GoPhish export format.
type Parse = fn(&str, &str) -> Result<RawCampaign, hygie_governance::ImportError>;

pub async fn run(ctx: &Ctx, cmd: PhishingCmd) -> anyhow::Result<u8> {
    match cmd {
        PhishingCmd::Import {
            facility,
            results,
            events,
            json,
            name,
            replace,
        } => {
            let id = Finess::parse(&facility)?;
            let mut raw = RawCampaign::default();
            let mut formats = Vec::new();
            let mut default_name = None;
            let inv = |e: hygie_governance::ImportError| exit::invalid(e.to_string());
            if let Some(p) = &json {
                raw = phishing::parse_api_json(&p.display().to_string(), &super::people::read(p)?)
                    .map_err(inv)?;
                formats.push("api-json");
                default_name = campaign_name(p);
            }
            // The two CSV exports of one campaign complete each other (and the API's JSON).
            let csv_exports: [(_, Parse, _); 2] = [
                (&results, phishing::parse_results_csv, "results-csv"),
                (&events, phishing::parse_events_csv, "events-csv"),
            ];
            for (path, parse, format) in csv_exports {
                let Some(p) = path else { continue };
                let part =
                    parse(&p.display().to_string(), &super::people::read(p)?).map_err(inv)?;
                raw = phishing::merge(raw, part);
                formats.push(format);
                default_name = default_name.or_else(|| campaign_name(p));
            }
            if formats.is_empty() {
                return Err(exit::invalid("give --results and/or --events, or --json"));
            }
            let cname = name
                .or(raw.name.clone())
                .or(default_name)
                .unwrap_or_else(|| "campaign".into());
            let source_id = raw.source_id.clone();
            let store = ctx.facility_store(&id).await?;
            let people = store.people(&id).await?;
            let by_email: BTreeMap<String, Option<String>> = people
                .iter()
                .filter_map(|p| {
                    p.email
                        .as_ref()
                        .map(|e| (e.trim().to_lowercase(), p.department.clone()))
                })
                .collect();
            let key = store.phishing_key(&id).await?;
            let (targets, evs) = phishing::pseudonymise(raw, &key, |email, position| {
                by_email
                    .get(email)
                    .cloned()
                    .flatten()
                    .or_else(|| position.map(str::to_owned))
            });
            let cid = store
                .import_campaign(
                    &id,
                    source_id.as_deref(),
                    &cname,
                    &formats.join("+"),
                    &targets,
                    &evs,
                    replace,
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "id": cid, "source_id": source_id, "name": cname, "targets": targets.len(), "events": evs.len(),
                }))?,
                _ => println!(
                    "Campaign '{cname}' imported as {cid}: {} targets, {} events (details dropped).",
                    targets.len(),
                    evs.len()
                ),
            }
            Ok(exit::OK)
        }
        PhishingCmd::List { facility } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let list = store.campaigns(&id).await?;
            ctx.print_list(
                &list,
                &["Id", "GoPhish id", "Name", "Launched", "Imported from"],
                |c| {
                    vec![
                        c.id.clone(),
                        c.source_id.clone().unwrap_or_default(),
                        c.name.clone(),
                        c.launched.map(|t| t.to_string()).unwrap_or_default(),
                        c.formats.clone(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        PhishingCmd::Report {
            facility,
            min_group,
            filter,
        } => {
            let id = Finess::parse(&facility)?;
            let filter = filter.filter()?;
            let min_group = min_group.max(1);
            let store = ctx.facility_store(&id).await?;
            let mut campaigns = Vec::new();
            let mut outcomes = Vec::new();
            for c in store.campaigns(&id).await? {
                let (t, e) = store.campaign_data(&c.id).await?;
                let m = phishing::campaign_metrics(&t, &e, &filter, min_group);
                outcomes.push(phishing::outcomes(&t, &e, &filter));
                campaigns.push((c, m));
            }
            let repeat = phishing::repeat_clickers(&outcomes, min_group);
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": id.as_str(),
                    "min_group": min_group,
                    "scanner_filter": filter,
                    "campaigns": campaigns.iter().map(|(c, m)| serde_json::json!({
                        "id": c.id, "source_id": c.source_id, "name": c.name, "launched": c.launched,
                        "unfiltered": m.unfiltered, "filtered": m.filtered, "scanner_events": m.scanner_events,
                        "events_available": m.events_available, "time_to_first_report_s": m.time_to_first_report_s,
                        "by_department": m.by_department,
                    })).collect::<Vec<_>>(),
                    "repeat_clickers": repeat,
                }))?,
                Format::Table => {
                    let pct = |x: f64| format!("{:.1}%", x * 100.0);
                    let mut rows = Vec::new();
                    for (c, m) in &campaigns {
                        rows.push(vec![
                            c.name.clone(),
                            "ALL".into(),
                            m.unfiltered.sent.to_string(),
                            pct(m.unfiltered.click_rate),
                            pct(m.filtered.click_rate),
                            pct(m.filtered.submit_rate),
                            pct(m.filtered.report_rate),
                            m.time_to_first_report_s
                                .map(|s| format!("{s}s"))
                                .unwrap_or_default(),
                        ]);
                        for d in &m.by_department {
                            rows.push(vec![
                                String::new(),
                                d.department.clone(),
                                d.unfiltered.sent.to_string(),
                                pct(d.unfiltered.click_rate),
                                pct(d.filtered.click_rate),
                                pct(d.filtered.submit_rate),
                                pct(d.filtered.report_rate),
                                String::new(),
                            ]);
                        }
                    }
                    print!(
                        "{}",
                        hygie_report::table(
                            &[
                                "Campaign",
                                "Department",
                                "Sent",
                                "Clicked (raw)",
                                "Clicked (filtered)",
                                "Submitted",
                                "Reported",
                                "First report"
                            ],
                            &rows
                        )
                    );
                    println!(
                        "Repeat clickers / cliqueurs récidivistes: {} (filtered), {} (raw)",
                        repeat.filtered, repeat.unfiltered
                    );
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        PhishingCmd::Export {
            facility,
            campaign,
            named,
            filter,
        } => {
            if !named {
                return Err(exit::invalid(
                    "a per-person export needs --named (administrators only; it is journalled). Use `phishing report` for aggregates.",
                ));
            }
            let id = Finess::parse(&facility)?;
            let filter = filter.filter()?;
            let store = ctx.facility_store(&id).await?;
            if !store.campaigns(&id).await?.iter().any(|c| c.id == campaign) {
                return Err(
                    hygie_store::StoreError::NotFound(format!("campaign {campaign}")).into(),
                );
            }
            let key = store.phishing_key(&id).await?;
            let people = store.people(&id).await?;
            let by_key: BTreeMap<String, &hygie_governance::org::Person> = people
                .iter()
                .filter_map(|p| p.email.as_ref().map(|e| (phishing::pseudonym(&key, e), p)))
                .collect();
            let (t, e) = store.campaign_data(&campaign).await?;
            let outs = phishing::outcomes(&t, &e, &filter);
            let rows: Vec<serde_json::Value> = outs
                .iter()
                .map(|o| {
                    let p = by_key.get(&o.key);
                    serde_json::json!({
                        "person": p.map(|p| p.id.clone()), "name": p.map(|p| p.name.clone()), "email": p.and_then(|p| p.email.clone()),
                        "pseudonym": if p.is_none() { Some(o.key[..16].to_owned()) } else { None },
                        "department": o.department, "stage": o.stage, "filtered_stage": o.filtered_stage, "reported": o.reported,
                    })
                })
                .collect();
            store
                .journal(
                    &Actor::cli(),
                    "phishing.named-export",
                    id.as_str(),
                    &serde_json::json!({ "campaign": campaign, "rows": rows.len() }).to_string(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(&rows)?,
                Format::Csv | Format::Table => {
                    let mut w = hygie_report::csv::CsvWriter::new(output::stdout());
                    w.row([
                        "person",
                        "name",
                        "email",
                        "department",
                        "stage",
                        "filtered_stage",
                        "reported",
                    ])?;
                    for r in &rows {
                        let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                        let person = if r["person"].is_null() {
                            s("pseudonym")
                        } else {
                            s("person")
                        };
                        w.row([
                            person,
                            s("name"),
                            s("email"),
                            s("department"),
                            s("stage"),
                            s("filtered_stage"),
                            r["reported"].to_string(),
                        ])?;
                    }
                    w.flush()?;
                }
                f => return Err(output::unsupported(f, "csv or json")),
            }
            Ok(exit::OK)
        }
    }
}
