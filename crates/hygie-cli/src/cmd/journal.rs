use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
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
                _ => {
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.seq.to_string(),
                                e.at.chars().take(19).collect(),
                                e.actor.clone(),
                                e.action.clone(),
                                e.subject.clone(),
                                e.hash[..12].to_owned(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        hygie_report::table(
                            &["Seq", "At (UTC)", "Actor", "Action", "Subject", "Hash"],
                            &rows
                        )
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}
