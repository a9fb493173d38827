//! `hygie people`: the staff register (names, functions, departments, reporting lines).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::Finess;
use hygie_store::Actor;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PeopleCmd {
    /// Replace the facility's people with a CSV (id,name,function,department,reports_to,email) or
    /// an AD snapshot JSON ({"users": [{sAMAccountName, distinguishedName, displayName, title,
    /// department, manager, mail, enabled}]}). The file is the full list; nothing is imported if
    /// any line is wrong.
    Import {
        #[arg(long)]
        facility: String,
        file: PathBuf,
        /// Read the file as an AD snapshot (default: by extension, .json = AD snapshot).
        #[arg(long)]
        ad: bool,
    },
    /// List the people of a facility.
    List {
        #[arg(long)]
        facility: String,
    },
}

/// Read an input file, naming it in the error.
pub fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| exit::invalid(format!("cannot read {}: {e}", path.display())))
}

pub async fn run(ctx: &Ctx, cmd: PeopleCmd) -> anyhow::Result<u8> {
    match cmd {
        PeopleCmd::Import { facility, file, ad } => {
            let id = Finess::parse(&facility)?;
            let text = read(&file)?;
            let name = file.display().to_string();
            let ad = ad
                || file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let people = if ad {
                hygie_governance::org::parse_ad_snapshot(&name, &text)
            } else {
                hygie_governance::org::parse_people_csv(&name, &text)
            }
            .map_err(|e| exit::invalid(e.to_string()))?;
            let store = ctx.store().await?;
            let n = store
                .replace_people(
                    &id,
                    &people,
                    if ad { "ad-snapshot" } else { "csv" },
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => {
                    output::json(&serde_json::json!({ "facility": id.as_str(), "people": n }))?
                }
                _ => println!("{n} people imported for {id}. / {n} personnes importées."),
            }
            Ok(exit::OK)
        }
        PeopleCmd::List { facility } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let people = store.people(&id).await?;
            ctx.print_list(
                &people,
                &["Id", "Name", "Function", "Department", "Reports to"],
                |p| {
                    vec![
                        p.id.clone(),
                        p.name.clone(),
                        p.function.clone().unwrap_or_default(),
                        p.department.clone().unwrap_or_default(),
                        p.reports_to.clone().unwrap_or_default(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
    }
}
