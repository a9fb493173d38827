//! `hygie risk`: the EBIOS RM light risk register, rated with the PGSSI-S 4×4 matrix; residual
//! levels follow the treating measures' current status. Imports and reviews record a check run
//! of source `risk` for GOV-06 (register reviewed within 12 months).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::{Finess, MeasureId};
use hygie_governance::risk;
use hygie_governance::rules::Finding;
use hygie_store::{Actor, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum RiskCmd {
    /// Replace the register with a TOML file ([[business_value]], [[supporting_asset]],
    /// [[feared_event]], [[risk_source]], [[scenario]], optional `reviewed = YYYY-MM-DD`).
    Import {
        #[arg(long)]
        facility: String,
        file: PathBuf,
    },
    /// Record a review of the register.
    Review {
        #[arg(long)]
        facility: String,
        /// The review date (default: today).
        #[arg(long)]
        date: Option<String>,
        /// Who reviewed it.
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Every risk with its inherent and residual level and its treating measures.
    List {
        #[arg(long)]
        facility: String,
        /// Use measure statuses as of this date (default: today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Evaluate GOV-06 (register reviewed within 12 months); recorded as a check run when
    /// evaluated as of today or with --record (exit 5 when it fails).
    Check {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        record: bool,
    },
}

async fn check_and_record(
    store: &Store,
    id: &Finess,
    as_of: jiff::civil::Date,
    record: bool,
) -> anyhow::Result<Finding> {
    let reg = store.register(id).await?;
    let last = store
        .register_reviews(id)
        .await?
        .iter()
        .map(|r| r.date)
        .filter(|d| *d <= as_of)
        .max();
    let f = risk::review_finding(reg.as_ref(), last, as_of);
    if record {
        let at = jiff::Timestamp::now();
        super::audit::record(
            store,
            id,
            "risk",
            at,
            std::slice::from_ref(&f),
            &summary(&f, as_of),
        )
        .await?;
    }
    Ok(f)
}

fn summary(f: &Finding, as_of: jiff::civil::Date) -> serde_json::Value {
    serde_json::json!({ "as_of": as_of.to_string(), "rules": 1, "failed": usize::from(f.failed()) })
}

/// The finding on `register` and the run recording it, as they will stand once the review
/// `adding` (being recorded with them) is in the store: so that the change and its evaluation
/// are written in one transaction.
async fn review_run(
    store: &Store,
    id: &Finess,
    register: Option<&risk::Register>,
    adding: Option<jiff::civil::Date>,
    as_of: jiff::civil::Date,
) -> anyhow::Result<(Finding, hygie_core::CheckRun, serde_json::Value)> {
    let last = store
        .register_reviews(id)
        .await?
        .iter()
        .map(|r| r.date)
        .chain(adding)
        .filter(|d| *d <= as_of)
        .max();
    let f = risk::review_finding(register, last, as_of);
    let run = super::audit::run_of("risk", jiff::Timestamp::now(), std::slice::from_ref(&f));
    let summary = summary(&f, as_of);
    Ok((f, run, summary))
}

pub async fn run(ctx: &Ctx, cmd: RiskCmd) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    match cmd {
        RiskCmd::Import { facility, file } => {
            let id = Finess::parse(&facility)?;
            let text = super::people::read(&file)?;
            let reg = risk::parse_register(&file.display().to_string(), &text, |m| {
                catalog.measures.iter().any(|x| &x.id == m)
            })
            .map_err(|e| exit::invalid(e.to_string()))?;
            let store = ctx.store().await?;
            // The register and its evaluation in one transaction: a crash keeps both or neither.
            let today = super::as_of(None)?;
            let (f, run, summary) =
                review_run(&store, &id, Some(&reg), reg.reviewed, today).await?;
            store
                .import_register_with_run(
                    &id,
                    &reg,
                    &file.display().to_string(),
                    Some((&run, &summary)),
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": id.as_str(), "scenarios": reg.scenarios.len(), "review": f,
                }))?,
                _ => println!("Risk register imported: {} scenarios.", reg.scenarios.len()),
            }
            Ok(exit::OK)
        }
        RiskCmd::Review {
            facility,
            date,
            by,
            note,
        } => {
            let id = Finess::parse(&facility)?;
            let today = super::as_of(None)?;
            let d = match date {
                Some(d) => hygie_core::parse_date("date", &d)?,
                None => today,
            };
            if d > today {
                return Err(exit::invalid("a review cannot be dated in the future"));
            }
            if by.trim().is_empty() {
                return Err(exit::invalid("--by cannot be empty"));
            }
            let store = ctx.store().await?;
            let reg = store.register(&id).await?;
            let (f, run, summary) = review_run(&store, &id, reg.as_ref(), Some(d), today).await?;
            let rid = store
                .review_register_with_run(
                    &id,
                    d,
                    by.trim(),
                    note.as_deref(),
                    Some((&run, &summary)),
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(
                    &serde_json::json!({ "id": rid, "date": d.to_string(), "rule": f }),
                )?,
                _ => println!("Review {rid} recorded on {d}."),
            }
            Ok(exit::OK)
        }
        RiskCmd::Check {
            facility,
            as_of,
            record,
        } => {
            let id = Finess::parse(&facility)?;
            let today = super::as_of(None)?;
            let as_of = super::as_of(as_of.as_deref())?;
            let store = ctx.facility_store(&id).await?;
            let f = check_and_record(&store, &id, as_of, record || as_of == today).await?;
            match ctx.format {
                Format::Json => output::json(&f)?,
                _ => super::roles::print_findings(std::slice::from_ref(&f), ctx.lang),
            }
            Ok(if f.failed() { exit::FINDINGS } else { exit::OK })
        }
        RiskCmd::List { facility, as_of } => {
            let id = Finess::parse(&facility)?;
            let as_of = super::as_of(as_of.as_deref())?;
            let store = ctx.store().await?;
            let status = store.facility_status(&catalog, &id, as_of).await?;
            let by_measure: BTreeMap<MeasureId, hygie_core::EffectiveStatus> = status
                .measures
                .iter()
                .map(|m| (m.id.clone(), m.status))
                .collect();
            let reg = store.register(&id).await?.unwrap_or_default();
            let rated = risk::rate(&reg, &by_measure);
            let reviews = store.register_reviews(&id).await?;
            let untraced = risk::untraced_measures(&reg, status.measures.iter().map(|m| &m.id));
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": id.as_str(), "as_of": as_of.to_string(), "matrix": "risk-matrix-4x4-pgssi-s-1.0",
                    "last_review": reviews.last(), "risks": rated, "untraced_measures": untraced,
                }))?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = rated
                        .iter()
                        .map(|r| {
                            vec![
                                r.id.clone(),
                                r.title.clone(),
                                format!(
                                    "{} (V{} G{})",
                                    r.inherent.label.get(ctx.lang),
                                    r.inherent.likelihood,
                                    r.inherent.severity
                                ),
                                format!(
                                    "{} (V{} G{})",
                                    r.residual.label.get(ctx.lang),
                                    r.residual.likelihood,
                                    r.residual.severity
                                ),
                                r.measures
                                    .iter()
                                    .map(|m| format!("{}{}", m.id, if m.done { "✓" } else { "" }))
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        hygie_report::table(
                            &["Risk", "Title", "Inherent", "Residual", "Measures"],
                            &rows
                        )
                    );
                    println!(
                        "{} measures of the plan trace back to no risk / mesures rattachées à aucun risque.",
                        untraced.len()
                    );
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
    }
}
