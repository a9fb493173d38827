//! `hygie regime`: the legal status of each regime whose duties the incident clocks count
//! (NIS 2 in France, the complaint condition of cyber-insurance), from the bundled data with
//! the administrator's in-force dates; `set` records a date when a law passes (journalled).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_incident::regimes::{Regime, Regimes};
use hygie_store::Actor;

#[derive(Subcommand)]
pub enum RegimeCmd {
    /// Each regime: status, in-force date, last checked, sources and the story so far.
    List,
    /// Record the date a regime applies from (Europe/Paris days), or withdraw it with --clear.
    Set {
        /// The regime's id (`hygie regime list`), e.g. nis2_fr.
        id: String,
        /// First day it applies (YYYY-MM-DD).
        #[arg(long, required_unless_present = "clear")]
        in_force_from: Option<String>,
        /// Back to the bundled data.
        #[arg(long, conflicts_with = "in_force_from")]
        clear: bool,
    },
}

fn json(r: &Regime, ctx: &Ctx) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "name": r.name.get(ctx.lang),
        "status": r.status.as_str(),
        "in_force_from": r.in_force_from.map(|d| d.to_string()),
        "set_by": r.set_by,
        "last_checked": r.last_checked.to_string(),
        "duties": r.duties,
        "sources": r.sources,
        "note": r.note.get(ctx.lang),
        "unconfirmed": r.unconfirmed,
    })
}

fn print(ctx: &Ctx, regimes: &Regimes) -> anyhow::Result<()> {
    match ctx.format {
        Format::Json => output::json(
            &regimes
                .all()
                .iter()
                .map(|r| json(r, ctx))
                .collect::<Vec<_>>(),
        )?,
        Format::Table => {
            let rows: Vec<Vec<String>> = regimes
                .all()
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.status.as_str().to_owned(),
                        r.in_force_from.map(|d| d.to_string()).unwrap_or_default(),
                        r.last_checked.to_string(),
                        if r.unconfirmed.is_some() {
                            "unconfirmed"
                        } else {
                            ""
                        }
                        .to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                hygie_report::table(
                    &["Regime", "Status", "In force from", "Last checked", "Flag"],
                    &rows
                )
            );
            for r in regimes.all() {
                println!("\n{}: {}", r.id, r.note.get(ctx.lang));
                if let Some(u) = &r.unconfirmed {
                    println!("  unconfirmed: {u}");
                }
            }
        }
        f => return Err(output::unsupported(f, "table or json")),
    }
    Ok(())
}

pub async fn run(ctx: &Ctx, cmd: RegimeCmd) -> anyhow::Result<u8> {
    match cmd {
        RegimeCmd::List => {
            let store = ctx.store().await?;
            print(ctx, &store.regimes().await?)?;
        }
        RegimeCmd::Set {
            id,
            in_force_from,
            clear,
        } => {
            let date = match (in_force_from, clear) {
                (_, true) => None,
                (Some(d), false) => Some(d.parse::<jiff::civil::Date>().map_err(|e| {
                    exit::invalid(format!(
                        "--in-force-from '{d}' is not a date (YYYY-MM-DD): {e}"
                    ))
                })?),
                (None, false) => return Err(exit::invalid("give --in-force-from DATE or --clear")),
            };
            Regimes::default()
                .with_in_force(&id, date, "check")
                .map_err(|e| exit::invalid(e.to_string()))?;
            let store = ctx.store().await?;
            let regimes = store.set_regime_in_force(&id, date, &Actor::cli()).await?;
            print(ctx, &regimes)?;
        }
    }
    Ok(exit::OK)
}
