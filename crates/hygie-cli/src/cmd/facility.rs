use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::{Facility, FacilityInput, Finess, Region};
use hygie_store::Actor;

#[derive(Subcommand)]
pub enum FacilityCmd {
    /// Register a facility (its FINESS number is its id).
    Add {
        /// FINESS number of the site (9 characters; Corsica 2A/2B).
        #[arg(long)]
        finess: String,
        /// FINESS number of the legal entity (entité juridique), if different.
        #[arg(long)]
        legal_entity: Option<String>,
        #[arg(long)]
        name: String,
        /// hospital, clinic, biology_lab, radiotherapy, imaging, medico_social
        #[arg(long)]
        kind: String,
        /// ARS region: code (IDF, BRE, ...), INSEE code or name.
        #[arg(long)]
        region: String,
        /// essential, important, out_of_scope, unknown
        #[arg(long, default_value = "unknown")]
        nis2: String,
        /// Start of the facility's plan (YYYY-MM-DD): level deadlines count from it.
        #[arg(long)]
        plan_start: String,
    },
    /// List facilities.
    List {
        #[arg(long)]
        region: Option<String>,
    },
    /// Show one facility.
    Show { finess: String },
}

fn facility_json(f: &Facility) -> serde_json::Value {
    serde_json::json!({
        "id": f.id, "finess": f.id, "legal_entity": f.legal_entity, "name": f.name, "kind": f.kind, "region": f.region.code(),
        "departement": f.id.departement(), "nis2": f.nis2, "plan_start": f.plan_start.to_string(),
        "due_dates": (1..=3u8).map(|l| f.level_due(l).to_string()).collect::<Vec<_>>(),
    })
}

pub async fn run(ctx: &Ctx, cmd: FacilityCmd) -> anyhow::Result<u8> {
    match cmd {
        FacilityCmd::Add {
            finess,
            legal_entity,
            name,
            kind,
            region,
            nis2,
            plan_start,
        } => {
            let input = FacilityInput {
                finess,
                legal_entity: legal_entity.unwrap_or_default(),
                name,
                kind,
                region,
                nis2,
                plan_start,
            };
            // The web's form and API parse the same way (`FacilityInput::parse`).
            let f = input.parse().map_err(|errors| {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        format!(
                            "--{}: {}",
                            e.field.replace('_', "-"),
                            e.message.get(ctx.lang)
                        )
                    })
                    .collect();
                exit::invalid(lines.join("\n"))
            })?;
            let store = ctx.store().await?;
            store.add_facility(&f, false, &Actor::cli()).await?;
            match ctx.format {
                Format::Json => output::json(&facility_json(&f))?,
                _ => println!(
                    "Facility {} ({}) registered; level deadlines {}, {}, {}.",
                    f.id,
                    f.name,
                    f.level_due(1),
                    f.level_due(2),
                    f.level_due(3)
                ),
            }
            Ok(exit::OK)
        }
        FacilityCmd::List { region } => {
            let region = region.as_deref().map(Region::parse).transpose()?;
            let store = ctx.store().await?;
            let fs = store.facilities(region).await?;
            match ctx.format {
                Format::Json => output::json(&fs.iter().map(facility_json).collect::<Vec<_>>())?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = fs
                        .iter()
                        .map(|f| {
                            vec![
                                f.id.to_string(),
                                f.name.clone(),
                                f.kind.as_str().into(),
                                f.region.code().into(),
                                f.nis2.as_str().into(),
                                f.plan_start.to_string(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        hygie_report::table(
                            &["FINESS", "Name", "Kind", "Region", "NIS 2", "Plan start"],
                            &rows
                        )
                    );
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        FacilityCmd::Show { finess } => {
            let id = Finess::parse(&finess)?;
            let store = ctx.store().await?;
            let f = store.facility(&id).await?;
            match ctx.format {
                Format::Json => output::json(&facility_json(&f))?,
                _ => {
                    println!("{} — {}", f.id, f.name);
                    println!(
                        "Kind: {}  Region: {} ({})  NIS 2: {}",
                        f.kind.label().get(ctx.lang),
                        f.region.name(),
                        f.region.code(),
                        f.nis2.as_str()
                    );
                    println!(
                        "Plan start: {}  Deadlines: L1 {}  L2 {}  L3 {}",
                        f.plan_start,
                        f.level_due(1),
                        f.level_due(2),
                        f.level_due(3)
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}
