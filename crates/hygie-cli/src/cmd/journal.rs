use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::journal::JournalEntry;
use hygie_store::JournalCheck;

#[derive(Subcommand)]
pub enum JournalCmd {
    /// Verify the hash chain; exit 5 naming the first broken entry.
    Verify,
    /// List entries (newest last).
    List {
        /// Only entries about this subject (a FINESS number, or FINESS/MEASURE).
        #[arg(long)]
        subject: Option<String>,
        /// At most this many of the latest entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(ctx: &Ctx, cmd: JournalCmd) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    match cmd {
        JournalCmd::Verify => match store.verify_journal().await? {
            JournalCheck::Intact { entries } => {
                match ctx.format {
                    Format::Json => {
                        output::json(&serde_json::json!({"intact": true, "entries": entries}))?
                    }
                    _ => {
                        println!("Journal intact: {entries} entries, every hash and link verified.")
                    }
                }
                Ok(exit::OK)
            }
            JournalCheck::Broken(b) => {
                let seq = match &b {
                    hygie_core::journal::ChainBreak::Edited { seq }
                    | hygie_core::journal::ChainBreak::Unlinked { seq, .. } => *seq,
                    hygie_core::journal::ChainBreak::Missing { expected, .. } => *expected,
                    hygie_core::journal::ChainBreak::Truncated { last, .. } => *last + 1,
                };
                match ctx.format {
                    Format::Json => output::json(
                        &serde_json::json!({"intact": false, "entry": seq, "problem": b.to_string()}),
                    )?,
                    _ => eprintln!("Journal BROKEN: {b}"),
                }
                Ok(exit::FINDINGS)
            }
        },
        JournalCmd::List { subject, limit } => {
            if limit < 1 {
                return Err(exit::invalid("--limit must be at least 1"));
            }
            let entries = store
                .journal_entries(subject.as_deref(), Some(limit))
                .await?;
            match ctx.format {
                Format::Json => output::json(&entries)?,
                _ => print!("{}", entries_table(&entries, true)),
            }
            Ok(exit::OK)
        }
    }
}

/// The journal entries as a table, in the order given; `with_subject` adds the subject column, which a
/// listing about one subject (an incident's own journal) leaves out as it would repeat one value.
pub fn entries_table(entries: &[JournalEntry], with_subject: bool) -> String {
    let mut header = vec!["Seq", "At (UTC)", "Actor", "Action"];
    if with_subject {
        header.push("Subject");
    }
    header.push("Hash");
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut row = vec![
                e.seq.to_string(),
                e.at.chars().take(19).collect(),
                e.actor.clone(),
                e.action.clone(),
            ];
            if with_subject {
                row.push(e.subject.clone());
            }
            row.push(e.hash.chars().take(12).collect());
            row
        })
        .collect();
    hygie_report::table(&header, &rows)
}
