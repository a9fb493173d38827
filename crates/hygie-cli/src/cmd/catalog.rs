use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::{Measure, Principle};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// List measures, optionally filtered.
    List {
        /// Only this group (GOV, IAM, ...).
        #[arg(long)]
        group: Option<String>,
        /// Only this plan level (1, 2, 3).
        #[arg(long)]
        level: Option<u8>,
        /// Only measures serving this PGSSI-S principle.
        #[arg(long)]
        principle: Option<String>,
        /// Only measures citing this framework (PAS16, PGSSIS, HYG, NIS2, ...).
        #[arg(long)]
        framework: Option<String>,
    },
    /// Show one measure in full.
    Show { id: String },
    /// Check a catalogue folder (default: the bundled catalogue) and report every problem.
    Lint {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub async fn run(ctx: &Ctx, cmd: CatalogCmd) -> anyhow::Result<u8> {
    match cmd {
        CatalogCmd::List {
            group,
            level,
            principle,
            framework,
        } => {
            let c = super::catalog()?;
            if let Some(l) = level
                && !(1..=3).contains(&l)
            {
                return Err(exit::invalid(format!(
                    "--level {l}: plan levels are 1, 2 and 3"
                )));
            }
            let principle: Option<Principle> = principle.as_deref().map(str::parse).transpose()?;
            if let Some(f) = &framework
                && c.framework(f).is_none()
            {
                let known: Vec<&str> = c.frameworks.iter().map(|f| f.id.as_str()).collect();
                return Err(exit::invalid(format!(
                    "--framework {f}: unknown (one of {})",
                    known.join(", ")
                )));
            }
            let ms: Vec<&Measure> = c
                .measures
                .iter()
                .filter(|m| {
                    group
                        .as_deref()
                        .is_none_or(|g| m.group.eq_ignore_ascii_case(g))
                })
                .filter(|m| level.is_none_or(|l| m.level == Some(l)))
                .filter(|m| principle.is_none_or(|p| m.principles.contains(&p)))
                .filter(|m| {
                    framework
                        .as_deref()
                        .is_none_or(|f| m.sources.iter().any(|s| s.framework == f))
                })
                .collect();
            match ctx.format {
                Format::Json => output::json(&ms)?,
                Format::Table => print!("{}", hygie_report::catalog_text(&c, &ms, ctx.lang)),
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        CatalogCmd::Show { id } => {
            let c = super::catalog()?;
            let m = c.resolve(&id)?;
            match ctx.format {
                Format::Json => output::json(m)?,
                Format::Table => {
                    let l = ctx.lang;
                    println!("{} — {}", m.id, m.title.get(l));
                    println!("\n{}\n", m.description.get(l));
                    if let Some(level) = m.level {
                        println!(
                            "Level/palier {level}: {} months after plan start",
                            level * 6
                        );
                    }
                    println!("Verification: {}", m.verification.as_str());
                    println!(
                        "Principles: {}",
                        m.principles
                            .iter()
                            .map(|p| p.label().get(l).to_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    println!(
                        "Applies to: {}",
                        m.applies_to
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    println!("Sources:");
                    for s in &m.sources {
                        let title = c
                            .framework(&s.framework)
                            .and_then(|f| f.entries.iter().find(|e| e.reference == s.reference))
                            .map(|e| e.title.get(l).to_owned())
                            .unwrap_or_default();
                        println!("  {} {} — {}", s.framework, s.reference, title);
                    }
                    println!("Evidence:");
                    for e in &m.evidence {
                        println!("  - {}", e.get(l));
                    }
                    if !m.check_rules.is_empty() {
                        println!("Check rules: {}", m.check_rules.join(", "));
                    }
                    if let Some(p) = &m.auto_pending {
                        println!("Automatic verification pending: {}", p.get(l));
                    }
                    if let Some(u) = &m.unconfirmed {
                        println!("Not yet confirmed from the primary text: {u}");
                    }
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        CatalogCmd::Lint { dir } => {
            // Linted against every registered rule, both ways (`hygie_checks`).
            let loaded = match &dir {
                Some(d) => hygie_checks::catalog_dir(d),
                None => hygie_checks::bundled_catalog(),
            };
            match loaded {
                Ok(c) => {
                    let s = hygie_catalog::summary(&c);
                    match ctx.format {
                        Format::Json => output::json(&serde_json::json!({
                            "ok": true, "version": s.version, "measures": s.measures, "frameworks": s.frameworks,
                            "entries": s.entries, "entries_out_of_scope": s.entries_out_of_scope, "unconfirmed_measures": s.unconfirmed_measures,
                        }))?,
                        _ => println!(
                            "Catalogue {} is consistent: {} measures, {} frameworks, {} entries ({} out of scope), {} measures with unconfirmed facts.",
                            s.version,
                            s.measures,
                            s.frameworks,
                            s.entries,
                            s.entries_out_of_scope,
                            s.unconfirmed_measures
                        ),
                    }
                    Ok(exit::OK)
                }
                Err(errors) => {
                    match ctx.format {
                        Format::Json => output::json(&serde_json::json!({
                            "ok": false,
                            "errors": errors.0.iter().map(|e| serde_json::json!({"file": e.file, "line": e.line, "message": e.message})).collect::<Vec<_>>(),
                        }))?,
                        _ => eprintln!("{errors}"),
                    }
                    Ok(exit::FINDINGS)
                }
            }
        }
    }
}
