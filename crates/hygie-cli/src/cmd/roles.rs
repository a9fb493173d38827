//! `hygie roles`: role assignments and the governance check (DPO/CISO independence, vacancies,
//! ambassadors, training and phishing recency), recorded as a check run of source `governance`.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::{Finess, Lang, RuleOutcome};
use hygie_governance::check::{self, GovernanceInput};
use hygie_governance::org::{self, Assignment, Policy, Role};
use hygie_governance::rules::Finding;
use hygie_store::{Actor, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum RolesCmd {
    /// Assign a role: dpo, ciso, deputy-ciso, incident-referent, crisis-cell,
    /// homologation-authority, ambassador (with --department), it-head.
    Assign {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        role: String,
        /// The person's id in the people register.
        #[arg(long)]
        person: String,
        /// For an ambassador: the department covered (default: the person's own).
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: Option<String>,
    },
    /// Add assignments from a CSV: role,person,department,start,end (all or nothing).
    Import {
        #[arg(long)]
        facility: String,
        file: PathBuf,
    },
    /// End an assignment on a date.
    End {
        #[arg(long)]
        facility: String,
        /// The assignment id (see `roles list`).
        id: String,
        #[arg(long)]
        end: String,
    },
    /// List assignments.
    List {
        #[arg(long)]
        facility: String,
    },
    /// Evaluate the governance rules at a date and record them as a check run (exit 5 on findings).
    Check {
        #[arg(long)]
        facility: String,
        /// Evaluate as of this date (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Warn about mandatory roles ending within this many days.
        #[arg(long, default_value_t = 60)]
        expiry_days: i32,
        /// Do not record a check run (by default one is recorded when evaluating as of today).
        #[arg(long, conflicts_with = "record")]
        dry_run: bool,
        /// Record the run even though --as-of is not today.
        #[arg(long)]
        record: bool,
    },
}

/// Evaluate every governance rule of a facility from the store.
pub async fn evaluate(
    store: &Store,
    id: &Finess,
    as_of: jiff::civil::Date,
    policy: &Policy,
) -> anyhow::Result<Vec<Finding>> {
    let people = store.people(id).await?;
    let roles: Vec<Assignment> = store
        .roles(id)
        .await?
        .into_iter()
        .map(|r| r.assignment)
        .collect();
    let sessions = store.sessions(id).await?;
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let campaigns: Vec<jiff::civil::Date> = store
        .campaigns(id)
        .await?
        .iter()
        .filter_map(|c| c.launched)
        .map(|t| t.to_zoned(tz.clone()).date())
        .collect();
    Ok(check::check(&GovernanceInput {
        people: &people,
        roles: &roles,
        sessions: &sessions,
        phishing_campaigns: &campaigns,
        as_of,
        policy,
    }))
}

/// Print findings as a table.
pub fn print_findings(findings: &[Finding], lang: Lang) {
    print!("{}", findings_text(findings, lang));
}

/// Findings as a table, then the details of the failed ones.
pub fn findings_text(findings: &[Finding], lang: Lang) -> String {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                match f.outcome {
                    RuleOutcome::Pass => "PASS".into(),
                    RuleOutcome::Fail => "FAIL".into(),
                },
                f.rule.clone(),
                f.measures
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                f.title.get(lang).to_owned(),
            ]
        })
        .collect();
    let mut text = hygie_report::table(&["", "Rule", "Measures", "Title"], &rows);
    for f in findings.iter().filter(|f| f.failed()) {
        for d in &f.details {
            text.push_str(&format!("  - {}: {}\n", f.rule, d.get(lang)));
        }
    }
    text
}

pub async fn run(ctx: &Ctx, cmd: RolesCmd) -> anyhow::Result<u8> {
    match cmd {
        RolesCmd::Assign {
            facility,
            role,
            person,
            department,
            start,
            end,
        } => {
            let id = Finess::parse(&facility)?;
            let a = Assignment {
                role: role.parse::<Role>()?,
                person,
                department,
                start: hygie_core::parse_date("start", &start)?,
                end: end
                    .as_deref()
                    .map(|e| hygie_core::parse_date("end", e))
                    .transpose()?,
            };
            if a.end.is_some_and(|e| e < a.start) {
                return Err(exit::invalid("--end is before --start"));
            }
            let store = ctx.store().await?;
            let ids = store.add_roles(&id, &[a], &Actor::cli()).await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({ "ids": ids }))?,
                _ => println!("Assigned: {}", ids.join(", ")),
            }
            Ok(exit::OK)
        }
        RolesCmd::Import { facility, file } => {
            let id = Finess::parse(&facility)?;
            let text = super::people::read(&file)?;
            let roles = org::parse_roles_csv(&file.display().to_string(), &text)
                .map_err(|e| exit::invalid(e.to_string()))?;
            let store = ctx.store().await?;
            let ids = store.add_roles(&id, &roles, &Actor::cli()).await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({ "ids": ids }))?,
                _ => println!("{} assignments imported.", ids.len()),
            }
            Ok(exit::OK)
        }
        RolesCmd::End {
            facility,
            id: rid,
            end,
        } => {
            let id = Finess::parse(&facility)?;
            let end = hygie_core::parse_date("end", &end)?;
            let store = ctx.store().await?;
            store.end_role(&id, &rid, end, &Actor::cli()).await?;
            if ctx.format == Format::Json {
                output::json(&serde_json::json!({ "id": rid, "end": end.to_string() }))?;
            } else {
                println!("Assignment {rid} ends on {end}.");
            }
            Ok(exit::OK)
        }
        RolesCmd::List { facility } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let roles = store.roles(&id).await?;
            ctx.print_list(
                &roles,
                &["Id", "Role", "Person", "Department", "Start", "End"],
                |r| {
                    let a = &r.assignment;
                    vec![
                        r.id.clone(),
                        a.role.label().get(ctx.lang).to_owned(),
                        a.person.clone(),
                        a.department.clone().unwrap_or_default(),
                        a.start.to_string(),
                        a.end.map(|d| d.to_string()).unwrap_or_default(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        RolesCmd::Check {
            facility,
            as_of,
            expiry_days,
            dry_run,
            record: force,
        } => {
            let id = Finess::parse(&facility)?;
            let today = super::as_of(None)?;
            let as_of = super::as_of(as_of.as_deref())?;
            let recording = !dry_run && (force || as_of == today);
            if expiry_days < 0 {
                return Err(exit::invalid("--expiry-days cannot be negative"));
            }
            let policy = Policy {
                expiry_warning_days: expiry_days,
                ..Policy::default()
            };
            let store = ctx.facility_store(&id).await?;
            let findings = evaluate(&store, &id, as_of, &policy).await?;
            let people = store.people(&id).await?;
            let roles: Vec<Assignment> = store
                .roles(&id)
                .await?
                .into_iter()
                .map(|r| r.assignment)
                .collect();
            let coverage = org::ambassador_coverage(&org::Org::new(&people, &roles, as_of));
            let failed = findings.iter().filter(|f| f.failed()).count();
            if !matches!(ctx.format, Format::Json | Format::Table) {
                return Err(output::unsupported(ctx.format, "table or json"));
            }
            let ending = super::audit::Ending {
                facility: &id,
                source: "governance",
                at: jiff::Timestamp::now(),
                findings: &findings,
                summary: serde_json::json!({ "as_of": as_of.to_string(), "rules": findings.len(), "failed": failed }),
                record: recording && !findings.is_empty(),
                out: None,
            };
            super::audit::finish(&store, ending, |run| {
                Ok(match ctx.format {
                    Format::Json => output::json_text(&serde_json::json!({
                        "facility": id.as_str(), "as_of": as_of.to_string(), "run": run,
                        "rules": findings.len(), "failed": failed,
                        "ambassador_coverage": coverage, "findings": findings,
                    }))?,
                    _ => format!(
                        "{}Ambassador coverage / couverture des ambassadeurs: {}/{} ({:.0}%)\n",
                        findings_text(&findings, ctx.lang),
                        coverage.covered,
                        coverage.departments,
                        coverage.ratio * 100.0
                    ),
                })
            })
            .await
        }
    }
}
