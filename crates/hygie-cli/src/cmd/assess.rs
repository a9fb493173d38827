use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_core::{DeclaredStatus, Finess};
use hygie_store::{Actor, EvidenceKind};
use std::path::PathBuf;

/// Largest evidence file accepted: 64 MiB (a signed PDF, a scan, an export).
const MAX_EVIDENCE: u64 = 64 * 1024 * 1024;

#[derive(Subcommand)]
pub enum AssessCmd {
    /// Declare the status of a measure at a facility.
    Set {
        facility: String,
        measure: String,
        /// not_started, in_progress, implemented, not_applicable
        #[arg(long)]
        status: String,
        /// Mandatory with not_applicable: why the measure does not apply.
        #[arg(long)]
        justification: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Show declarations, evidence and history (one measure, or all declared ones).
    Show {
        facility: String,
        measure: Option<String>,
    },
    /// Attach evidence to a measure: a file (stored by SHA-256) or a link.
    Evidence {
        facility: String,
        measure: String,
        #[arg(long, conflicts_with = "link", required_unless_present = "link")]
        file: Option<PathBuf>,
        #[arg(long)]
        link: Option<String>,
        /// What the link shows (with --link).
        #[arg(long, requires = "link")]
        title: Option<String>,
    },
    /// Write a stored evidence file (by SHA-256) to a path.
    Fetch {
        sha256: String,
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
}

pub async fn run(ctx: &Ctx, cmd: AssessCmd) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    match cmd {
        AssessCmd::Set {
            facility,
            measure,
            status,
            justification,
            owner,
            note,
        } => {
            let fid = Finess::parse(&facility)?;
            let m = catalog.resolve(&measure)?;
            let status = DeclaredStatus::parse(&status, justification.as_deref())?;
            if justification.is_some() && status.justification().is_none() {
                return Err(exit::invalid("--justification is only for not_applicable"));
            }
            let store = ctx.store().await?;
            let f = store.facility(&fid).await?;
            if !m.applies(f.kind, f.nis2) {
                return Err(exit::invalid(format!(
                    "measure {} does not apply to {} ({}, NIS 2 {})",
                    m.id,
                    f.id,
                    f.kind.as_str(),
                    f.nis2.as_str()
                )));
            }
            let seq = store
                .declare(
                    &fid,
                    &m.id,
                    &status,
                    owner.as_deref(),
                    note.as_deref(),
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(
                    &serde_json::json!({"facility": fid, "measure": m.id, "status": status.as_str(), "journal_seq": seq}),
                )?,
                _ => println!(
                    "{} {}: {} (journal entry {seq})",
                    fid,
                    m.id,
                    status.as_str()
                ),
            }
            Ok(exit::OK)
        }
        AssessCmd::Show { facility, measure } => {
            let fid = Finess::parse(&facility)?;
            let mid = measure
                .as_deref()
                .map(|m| catalog.resolve(m).map(|m| m.id.clone()))
                .transpose()?;
            let store = ctx.store().await?;
            store.facility(&fid).await?;
            let history = store.declaration_history(&fid, mid.as_ref()).await?;
            let evidence = store.evidence(&fid, mid.as_ref()).await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "facility": fid,
                    "history": history.iter().map(|h| serde_json::json!({
                        "seq": h.seq, "measure": h.measure, "status": h.declaration.status.as_str(),
                        "justification": h.declaration.status.justification(), "owner": h.declaration.owner,
                        "note": h.declaration.note, "at": h.declaration.at.to_string(), "by": h.declaration.by,
                    })).collect::<Vec<_>>(),
                    "evidence": evidence,
                }))?,
                _ => {
                    let rows: Vec<Vec<String>> = history
                        .iter()
                        .map(|h| {
                            vec![
                                h.declaration.at.strftime("%Y-%m-%d %H:%M").to_string(),
                                h.measure.to_string(),
                                h.declaration.status.as_str().into(),
                                h.declaration.by.clone(),
                                h.declaration
                                    .status
                                    .justification()
                                    .or(h.declaration.note.as_deref())
                                    .unwrap_or_default()
                                    .to_owned(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        hygie_report::table(
                            &["When (UTC)", "Measure", "Status", "By", "Note"],
                            &rows
                        )
                    );
                    if !evidence.is_empty() {
                        let rows: Vec<Vec<String>> = evidence
                            .iter()
                            .map(|e| {
                                let what = match &e.kind {
                                    EvidenceKind::File {
                                        sha256,
                                        file_name,
                                        size,
                                    } => format!("{file_name} ({size} B, sha256 {sha256})"),
                                    EvidenceKind::Link { url, title } => match title {
                                        Some(t) => format!("{t} <{url}>"),
                                        None => url.clone(),
                                    },
                                };
                                vec![
                                    e.added_at.strftime("%Y-%m-%d %H:%M").to_string(),
                                    e.measure.to_string(),
                                    what,
                                    e.added_by.clone(),
                                ]
                            })
                            .collect();
                        println!();
                        print!(
                            "{}",
                            hygie_report::table(
                                &["Added (UTC)", "Measure", "Evidence", "By"],
                                &rows
                            )
                        );
                    }
                }
            }
            Ok(exit::OK)
        }
        AssessCmd::Evidence {
            facility,
            measure,
            file,
            link,
            title,
        } => {
            let fid = Finess::parse(&facility)?;
            let m = catalog.resolve(&measure)?;
            let store;
            let item = match (file, link) {
                (Some(path), _) => {
                    let meta = std::fs::metadata(&path)
                        .map_err(|e| exit::invalid(format!("{}: {e}", path.display())))?;
                    if meta.len() > MAX_EVIDENCE {
                        return Err(exit::invalid(format!(
                            "{}: {} bytes is over the 64 MiB evidence limit",
                            path.display(),
                            meta.len()
                        )));
                    }
                    let content = std::fs::read(&path)
                        .map_err(|e| exit::invalid(format!("{}: {e}", path.display())))?;
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "evidence".into());
                    store = ctx.store().await?;
                    store
                        .add_evidence_file(&fid, &m.id, &name, &content, &Actor::cli())
                        .await?
                }
                (None, Some(url)) => {
                    // The web's form and API check links the same way.
                    let link =
                        hygie_core::EvidenceLink::parse(&url, title.as_deref().unwrap_or(""))
                            .map_err(|errors| {
                                let lines: Vec<String> = errors
                                    .iter()
                                    .map(|e| {
                                        let flag = if e.field == "url" { "link" } else { e.field };
                                        format!("--{flag}: {}", e.message.get(ctx.lang))
                                    })
                                    .collect();
                                exit::invalid(lines.join("\n"))
                            })?;
                    store = ctx.store().await?;
                    store
                        .add_evidence_link(&fid, &m.id, &link, &Actor::cli())
                        .await?
                }
                (None, None) => return Err(exit::invalid("give --file or --link")),
            };
            match ctx.format {
                Format::Json => output::json(&item)?,
                _ => println!(
                    "Evidence added to {fid} {} (journal entry {}).",
                    m.id, item.seq
                ),
            }
            Ok(exit::OK)
        }
        AssessCmd::Fetch { sha256, output } => {
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(exit::invalid(format!(
                    "'{sha256}' is not a SHA-256 (64 hex digits)"
                )));
            }
            let store = ctx.store().await?;
            let content = store.evidence_content(&sha256.to_ascii_lowercase()).await?;
            std::fs::write(&output, content)
                .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(exit::OK)
        }
    }
}
