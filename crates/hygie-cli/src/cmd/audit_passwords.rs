//! `hygie audit passwords` and `hygie breached import`: the password-quality audit from NT hashes.
//!
//! Secrets: the dump's hashes stay inside `hygie_passwords` (unprintable type); what this module
//! prints, logs and stores is the report: check ids, severities, counts and account names.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_core::Finess;
use hygie_passwords::{
    AuditOptions, AuditReport, BreachIndex, Dictionary, Directory, Evaluation, Sources, audit,
};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PasswordsArgs {
    /// FINESS number of the facility the audited directory belongs to.
    #[arg(long)]
    pub facility: String,
    /// pwdump / secretsdump file: `[domain\]user:rid:lmhash:nthash:::` per line.
    #[arg(long)]
    pub hashes: PathBuf,
    /// Breach-corpus index built by `hygie breached import`.
    #[arg(long)]
    pub breached: Option<PathBuf>,
    /// Extra candidate passwords, one per line, tried as written.
    #[arg(long)]
    pub wordlist: Option<PathBuf>,
    /// Account status from the directory: JSON snapshot or CSV `account,enabled,privileged`.
    #[arg(long)]
    pub ad_snapshot: Option<PathBuf>,
    /// Audit disabled accounts too (by default they are counted and skipped).
    #[arg(long)]
    pub include_disabled: bool,
    /// Do not use the built-in weak-password dictionary.
    #[arg(long)]
    pub no_dictionary: bool,
    /// A hash counts as breached when the corpus saw it at least this many times.
    #[arg(long, default_value_t = 1)]
    pub min_breach_count: u64,
    /// Account names listed per finding in the table output (JSON lists them all).
    #[arg(long, default_value_t = 50)]
    pub max_names: usize,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The Have I Been Pwned NTLM list ordered by hash (`HASH:COUNT` per line).
    pub file: PathBuf,
    /// The index file to write (replaced atomically when the import succeeds).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

#[derive(clap::Subcommand)]
pub enum BreachedCmd {
    /// Build the breach-corpus index from the HIBP NTLM ordered list.
    Import(ImportArgs),
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| exit::invalid(format!("cannot read the {what} {}: {e}", path.display())))
}

pub async fn passwords(ctx: &Ctx, a: PasswordsArgs) -> anyhow::Result<u8> {
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    // Parse every input before opening the store: bad input leaves no trace.
    let facility = Finess::parse(&a.facility)?;
    let dump =
        hygie_passwords::parse_dump_file(&a.hashes).map_err(|e| exit::invalid(e.to_string()))?;
    let directory = match &a.ad_snapshot {
        Some(p) => Some(
            Directory::parse(&read_text(p, "AD snapshot")?, &p.display().to_string())
                .map_err(|e| exit::invalid(e.to_string()))?,
        ),
        None => None,
    };
    let index = match &a.breached {
        Some(p) => Some(BreachIndex::open(p).map_err(|e| match e {
            hygie_passwords::BreachError::Io { .. } => anyhow::Error::new(e),
            other => exit::invalid(other.to_string()),
        })?),
        None => None,
    };
    let wordlist = match &a.wordlist {
        Some(p) => Some(read_text(p, "wordlist")?),
        None => None,
    };
    let now = jiff::Timestamp::now();
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let year = i32::from(now.to_zoned(tz).year());

    let store = ctx.store().await?;
    let fac = store.facility(&facility).await?;
    let mut dictionary = if a.no_dictionary {
        Dictionary::empty(year)
    } else {
        let mut d = Dictionary::builtin(year);
        // The facility's own name words ("rouen", "pitie"...) are classic weak choices.
        d.add_words(
            fac.name
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 4),
        );
        d
    };
    if let Some(w) = &wordlist {
        dictionary.add_verbatim(w.lines().map(|l| l.trim_end_matches('\r')));
    }
    let use_dictionary = !a.no_dictionary || wordlist.is_some();
    let opts = AuditOptions {
        include_disabled: a.include_disabled,
        year,
        min_breach_count: a.min_breach_count,
        ..AuditOptions::default()
    };
    let report = audit(
        &dump,
        &Sources {
            directory: directory.as_ref(),
            dictionary: use_dictionary.then_some(&dictionary),
            breach: index.as_ref(),
        },
        &opts,
    );
    // A million accounts are a million allocations: freeing them one by one would only delay
    // the exit, which gives the memory back at once (20 ms of a 0.4 s audit).
    std::mem::forget(dump);
    let summary = serde_json::json!({
        "summary": report.summary,
        "failing_checks": report.checks.iter().filter(|c| c.outcome == Evaluation::Fail).map(|c| c.check).collect::<Vec<_>>(),
    });
    let findings = report.rule_findings();
    let ending = super::audit::Ending {
        facility: &facility,
        source: report.source,
        at: now,
        findings: &findings,
        summary,
        record: true,
        out: None,
    };
    super::audit::finish(&store, ending, |run| {
        tracing::info!(
            facility = facility.as_str(),
            run = run.unwrap_or_default(),
            accounts = report.summary.accounts,
            findings = report.findings.len(),
            "password audit recorded"
        );
        Ok(match ctx.format {
            Format::Json => output::json_text(&serde_json::json!({
                "facility": facility.as_str(),
                "run": run,
                "at": now.to_string(),
                "source": report.source,
                "summary": report.summary,
                "findings": report.findings,
                "checks": report.checks,
            }))?,
            _ => render_table(ctx, &fac.name, &facility, &report, a.max_names),
        })
    })
    .await
}

fn render_table(
    ctx: &Ctx,
    facility_name: &str,
    id: &Finess,
    r: &AuditReport,
    max_names: usize,
) -> String {
    use std::fmt::Write as _;
    let fr = ctx.lang == hygie_core::Lang::Fr;
    let mut s = String::new();
    let s_ = &r.summary;
    let _ = writeln!(
        s,
        "{} — {} ({})",
        if fr {
            "Audit de la qualité des mots de passe"
        } else {
            "Password-quality audit"
        },
        facility_name,
        id.as_str()
    );
    let _ = writeln!(
        s,
        "{}: {} · {}: {} · {}: {} · {}: {}\n",
        if fr { "comptes" } else { "accounts" },
        s_.accounts,
        if fr { "audités" } else { "audited" },
        s_.audited,
        if fr {
            "désactivés ignorés"
        } else {
            "disabled skipped"
        },
        s_.disabled_skipped,
        if fr { "à privilèges" } else { "privileged" },
        s_.privileged_audited,
    );
    let rows: Vec<Vec<String>> = r
        .checks
        .iter()
        .map(|c| {
            vec![
                c.check.to_string(),
                c.severity.as_str().to_string(),
                match c.outcome {
                    Evaluation::Pass => "pass".into(),
                    Evaluation::Fail => "FAIL".into(),
                    Evaluation::NotEvaluated => "not evaluated".into(),
                },
                c.accounts.to_string(),
                c.title.get(ctx.lang).to_string(),
            ]
        })
        .collect();
    s.push_str(&hygie_report::table(
        &["Check", "Severity", "Outcome", "Accounts", "Title"],
        &rows,
    ));
    for f in &r.findings {
        let _ = writeln!(
            s,
            "\n[{}] {} — {} ({} {})",
            f.severity.as_str(),
            f.check,
            f.title.get(ctx.lang),
            f.accounts.len(),
            if fr { "comptes" } else { "accounts" }
        );
        for n in f.accounts.iter().take(max_names) {
            let _ = writeln!(s, "  {n}");
        }
        if f.accounts.len() > max_names {
            let _ = writeln!(
                s,
                "  … {} {}",
                f.accounts.len() - max_names,
                if fr {
                    "de plus (--format json pour tous)"
                } else {
                    "more (--format json lists them all)"
                }
            );
        }
    }
    s
}

pub async fn breached(ctx: &Ctx, cmd: BreachedCmd) -> anyhow::Result<u8> {
    let BreachedCmd::Import(a) = cmd;
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    let mut file = std::fs::File::open(&a.file)
        .map_err(|e| exit::invalid(format!("cannot read {}: {e}", a.file.display())))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        Some(b)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let name = a.file.display().to_string();
    let mut progress = |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    // A regular file is read through memory maps (no copy of tens of GB); a pipe by `read`.
    let result = if file.metadata().is_ok_and(|m| m.is_file()) {
        hygie_passwords::import_file(&a.file, &a.output, &mut progress)
    } else {
        hygie_passwords::import(&mut file, &name, &a.output, &mut progress)
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let stats = result.map_err(|e| match e {
        hygie_passwords::BreachError::Io { .. } => anyhow::Error::new(e),
        other => exit::invalid(other.to_string()),
    })?;
    let secs = start.elapsed().as_secs_f64();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "index": a.output.display().to_string(),
            "entries": stats.entries,
            "bytes_read": stats.bytes_read,
            "index_bytes": stats.index_bytes,
            "seconds": secs,
        }))?,
        _ => println!(
            "Indexed {} hashes from {} ({} MB read) into {} ({} MB) in {:.1}s.",
            stats.entries,
            a.file.display(),
            stats.bytes_read / 1_000_000,
            a.output.display(),
            stats.index_bytes / 1_000_000,
            secs
        ),
    }
    Ok(exit::OK)
}
