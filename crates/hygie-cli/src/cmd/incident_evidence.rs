//! `hygie incident evidence`: the evidence-preservation checklist of a malicious incident
//! (keep machines powered, isolate rather than shut down, preserve logs and memory, record who
//! did what); `--tick ITEM --by WHO [--at TIME]` records an item done, journalled with the
//! incident (`incident.evidence`); `--file PATH --by WHO --from WHERE` keeps an evidence file by
//! its SHA-256 with its chain of custody (`incident.evidence_file`).

use super::Ctx;
use super::incident::inv;
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_incident::clock::{self, rfc3339};
use hygie_incident::evidence;
use hygie_store::Actor;
use jiff::Timestamp;

#[derive(Args)]
pub struct EvidenceArgs {
    id: String,
    /// The item done: keep_powered, isolate_network, preserve_logs, capture_memory, record_actions.
    #[arg(long)]
    tick: Option<String>,
    /// Who did it (required with --tick).
    #[arg(long)]
    by: Option<String>,
    /// When it was done (RFC 3339, or local time in the incident's zone); now by default.
    #[arg(long)]
    at: Option<String>,
    #[arg(long)]
    note: Option<String>,
    /// An evidence file to keep (log export, memory or disk image, screenshot), with --by and --from.
    #[arg(long, conflicts_with = "tick")]
    file: Option<std::path::PathBuf>,
    /// Where the file comes from (machine, path, tool), for the chain of custody.
    #[arg(long)]
    from: Option<String>,
}

pub async fn run(ctx: &Ctx, a: EvidenceArgs) -> anyhow::Result<u8> {
    let now = Timestamp::now();
    // Read the file and check the custody before opening the store.
    let file = match &a.file {
        Some(p) => {
            let content = std::fs::read(p)
                .map_err(|e| exit::invalid(format!("cannot read {}: {e}", p.display())))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            let by = a.by.clone().filter(|b| !b.trim().is_empty());
            let from = a.from.clone().filter(|f| !f.trim().is_empty());
            let (Some(by), Some(from)) = (by, from) else {
                return Err(exit::invalid(
                    "--file needs --by (who adds it) and --from (where it comes from)",
                ));
            };
            Some((name, content, by, from))
        }
        None => None,
    };
    let store = ctx.store().await?;
    let inc = match (&a.tick, file) {
        (_, Some((name, content, by, from))) => {
            store
                .add_incident_evidence_file(
                    &a.id,
                    &name,
                    &content,
                    &by,
                    &from,
                    a.note.clone(),
                    &Actor::cli(),
                )
                .await?
        }
        (None, None) => store.incident(&a.id).await?,
        (Some(item), None) => {
            let by =
                a.by.as_deref()
                    .ok_or_else(|| exit::invalid("--by is required with --tick (who did it)"))?;
            store
                .update_incident(&a.id, &Actor::cli(), "incident.evidence", |inc| {
                    let tz = inc.facts.tz().map_err(inv)?;
                    let at = match &a.at {
                        Some(s) => clock::parse_instant("at", s, &tz).map_err(inv)?,
                        None => now.to_zoned(tz),
                    };
                    inc.tick_evidence(item, by, at.clone(), a.note.clone(), now)
                        .map_err(inv)?;
                    Ok::<_, anyhow::Error>(serde_json::json!({
                        "item": item, "by": by, "at": rfc3339(&at), "note": a.note,
                    }))
                })
                .await?
        }
    };
    let lines = inc.evidence_checklist();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "id": inc.id,
            "malicious": inc.facts.is_malicious(),
            "items": lines.iter().map(|l| l.to_json(ctx.lang)).collect::<Vec<_>>(),
            "files": inc.evidence_files.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            if lines.is_empty() {
                println!(
                    "Incident {} is not a malicious act: no evidence-preservation checklist.",
                    inc.id
                );
            } else {
                let rows: Vec<Vec<String>> = lines.iter().map(|l| l.row(ctx.lang)).collect();
                print!("{}", hygie_report::table(&evidence::HEADERS, &rows));
            }
            if !inc.evidence_files.is_empty() {
                let rows: Vec<Vec<String>> = inc
                    .evidence_files
                    .iter()
                    .map(|f| {
                        vec![
                            f.file_name.clone(),
                            f.sha256.clone(),
                            f.added_by.clone(),
                            f.added_at.to_string(),
                            f.from.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "\n{}",
                    hygie_report::table(&["File", "SHA-256", "Added by", "At", "From"], &rows)
                );
            }
        }
        f => return Err(output::unsupported(f, "table or json")),
    }
    Ok(exit::OK)
}
