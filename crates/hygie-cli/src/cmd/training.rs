//! `hygie training`: training sessions, attendance and coverage per department and year.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::Finess;
use hygie_governance::training::{self, Session, SessionKind};
use hygie_store::Actor;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum TrainingCmd {
    /// Record a session: kind ambassador-training, awareness, it-training or crisis-exercise.
    Add {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        date: String,
        /// The trainer's person id (the CISO for ambassador training), or an outside name.
        #[arg(long)]
        trainer: String,
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        title: String,
        /// An attendee's person id (repeat for each).
        #[arg(long = "attendee")]
        attendees: Vec<String>,
        /// A CSV with a `person` column listing the attendees.
        #[arg(long)]
        attendees_file: Option<PathBuf>,
    },
    /// List sessions.
    List {
        #[arg(long)]
        facility: String,
    },
    /// Coverage per department and per calendar year.
    Coverage {
        #[arg(long)]
        facility: String,
        /// Only this kind of session (default: awareness).
        #[arg(long, default_value = "awareness")]
        kind: String,
        /// Only this year.
        #[arg(long)]
        year: Option<i16>,
    },
}

pub async fn run(ctx: &Ctx, cmd: TrainingCmd) -> anyhow::Result<u8> {
    match cmd {
        TrainingCmd::Add {
            facility,
            date,
            trainer,
            kind,
            title,
            mut attendees,
            attendees_file,
        } => {
            let id = Finess::parse(&facility)?;
            let date = hygie_core::parse_date("date", &date)?;
            let kind: SessionKind = kind.parse()?;
            if trainer.trim().is_empty() {
                return Err(exit::invalid("--trainer cannot be empty"));
            }
            if let Some(f) = attendees_file {
                let text = super::people::read(&f)?;
                let more = training::parse_attendees_csv(&f.display().to_string(), &text)
                    .map_err(|e| exit::invalid(e.to_string()))?;
                attendees.extend(more);
            }
            attendees.sort();
            attendees.dedup();
            let s = Session {
                id: String::new(),
                date,
                trainer: trainer.trim().to_owned(),
                kind,
                title,
                attendees,
            };
            let store = ctx.store().await?;
            let sid = store.add_session(&id, &s, &Actor::cli()).await?;
            match ctx.format {
                Format::Json => {
                    output::json(&serde_json::json!({ "id": sid, "attendees": s.attendees.len() }))?
                }
                _ => println!(
                    "Session {sid} recorded with {} attendees.",
                    s.attendees.len()
                ),
            }
            Ok(exit::OK)
        }
        TrainingCmd::List { facility } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let sessions = store.sessions(&id).await?;
            ctx.print_list(
                &sessions,
                &["Date", "Kind", "Trainer", "Title", "Attendees"],
                |s| {
                    vec![
                        s.date.to_string(),
                        s.kind.label().get(ctx.lang).to_owned(),
                        s.trainer.clone(),
                        s.title.clone(),
                        s.attendees.len().to_string(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        TrainingCmd::Coverage {
            facility,
            kind,
            year,
        } => {
            let id = Finess::parse(&facility)?;
            let kind: SessionKind = kind.parse()?;
            let store = ctx.facility_store(&id).await?;
            let people = store.people(&id).await?;
            let sessions = store.sessions(&id).await?;
            let mut years = training::coverage_by_year(&people, &sessions, &[kind]);
            if let Some(y) = year {
                years.retain(|c| c.year == y);
            }
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": id.as_str(), "kind": kind, "years": years,
                }))?,
                Format::Table => {
                    let mut rows = Vec::new();
                    for y in &years {
                        for d in &y.departments {
                            rows.push(vec![
                                y.year.to_string(),
                                d.department.clone(),
                                d.trained.to_string(),
                                d.headcount.to_string(),
                                format!("{:.0}%", d.ratio * 100.0),
                            ]);
                        }
                        rows.push(vec![
                            y.year.to_string(),
                            "TOTAL".into(),
                            y.trained.to_string(),
                            y.headcount.to_string(),
                            format!("{:.0}%", y.ratio * 100.0),
                        ]);
                    }
                    print!(
                        "{}",
                        hygie_report::table(
                            &["Year", "Department", "Trained", "Headcount", "Coverage"],
                            &rows
                        )
                    );
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
    }
}
