//! `hygie rules check`, `hygie detect`, `hygie alerts list|link`: Sigma
//! detection over log files (issue 5).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::{Args, Subcommand};
use hygie_core::{Finess, Lang};
use hygie_detect::{Alert, Detector, Mapping, check_compiles, load_paths};
use hygie_logs::batch::{Progress, run};
use hygie_report::csv::{Cell, CsvWriter};
use hygie_store::{Actor, AlertRecord, Store};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Subcommand)]
pub enum RulesCmd {
    /// Load Sigma rule folders; print every rule not loaded with its file and reason.
    Check {
        /// Rule folders or files (several: SigmaHQ plus the facility's own).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub struct DetectArgs {
    /// Sigma rule folder or file (repeat for several).
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Log file or folder: .evtx, .json/.jsonl/.ndjson, .log/.syslog/.raw/.txt (repeat for several).
    #[arg(long = "logs", required = true)]
    logs: Vec<PathBuf>,
    /// Store the alerts for this facility (FINESS).
    #[arg(long)]
    facility: Option<String>,
    /// Aggregate the matches of a rule on a host falling in the same fixed time bucket of this
    /// many seconds (0: one alert per match).
    #[arg(long, default_value_t = 300)]
    window: u64,
    /// Worker threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    forward: super::forward::ForwardArgs,
}

#[derive(Subcommand)]
pub enum AlertsCmd {
    /// Alerts stored for a facility, newest first.
    List {
        #[arg(long)]
        facility: String,
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// Link an alert to an incident.
    Link {
        #[arg(long)]
        facility: String,
        /// Alert id (from `hygie alerts list`).
        alert: String,
        /// Incident id.
        #[arg(long)]
        incident: String,
    },
}

/// Load rules with a one-line summary on stderr; refusals are listed by `rules check`.
pub fn load_detector(dirs: &[PathBuf]) -> anyhow::Result<(Detector, Vec<hygie_detect::Refusal>)> {
    let mapping = Mapping::builtin()?;
    let load = load_paths(dirs, &mapping);
    if load.rules.is_empty() {
        let first = load
            .refused
            .first()
            .map(|r| format!(" (first: {}: {})", r.file.display(), r.reason))
            .unwrap_or_default();
        return Err(exit::invalid(format!(
            "no Sigma rule could be loaded{first}"
        )));
    }
    Ok((
        Detector::new(mapping, load.rules).with_correlations(load.correlations),
        load.refused,
    ))
}

/// Load rules for a long-running evaluator (`ingest`'s listener, a `detect-worker`), then
/// compile every rule group before the first event, so that none waits for an index build and
/// every refusal is known at start. Returns the detector, the load's refusals and the compile
/// refusals.
pub async fn load_prepared_detector(
    dirs: &[PathBuf],
) -> anyhow::Result<(
    Detector,
    Vec<hygie_detect::Refusal>,
    Vec<hygie_detect::Refusal>,
)> {
    let (detector, refused) = load_detector(dirs)?;
    let detector = tokio::task::spawn_blocking(move || {
        detector.prepare_all();
        detector
    })
    .await?;
    let not_compiled = detector.compile_refusals();
    Ok((detector, refused, not_compiled))
}

pub async fn rules(ctx: &Ctx, cmd: RulesCmd) -> anyhow::Result<u8> {
    let RulesCmd::Check { dirs } = cmd;
    let mapping = Mapping::builtin()?;
    let mut load = load_paths(&dirs, &mapping);
    check_compiles(&mut load);
    let loaded = load.rules.len();
    let correlations = load.correlations.len();
    let unroutable: Vec<_> = load.rules.iter().filter(|r| !r.routable).collect();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "loaded": loaded,
            "correlations": correlations,
            "refused": load.refused.len(),
            "refusals": load.refused,
            "windows_unmapped": unroutable.iter().map(|r| serde_json::json!({
                "file": r.file, "rule": r.rule.id, "logsource": format!("{:?}", r.source)
            })).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            for r in &load.refused {
                println!(
                    "REFUSED {}{}: {}",
                    r.file.display(),
                    r.rule
                        .as_deref()
                        .map(|x| format!(" [{x}]"))
                        .unwrap_or_default(),
                    r.reason
                );
            }
            println!(
                "Rules loaded: {loaded}, correlation rules: {correlations}, refused: {} / Règles chargées : {loaded}, règles de corrélation : {correlations}, refusées : {}",
                load.refused.len(),
                load.refused.len()
            );
            if !unroutable.is_empty() {
                println!(
                    "{} Windows rules have a log source the mapping tables do not cover (they never fire) / {} règles Windows ont une source non couverte par les tables",
                    unroutable.len(),
                    unroutable.len()
                );
            }
        }
        f => return Err(output::unsupported(f, "table, json")),
    }
    Ok(if loaded == 0 { exit::INVALID } else { exit::OK })
}

fn alert_json(a: &AlertRecord) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = a
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::json!({
        "id": a.id, "rule_id": a.rule_id, "title": a.title, "level": a.level,
        "time": a.time, "last_time": a.last_time, "host": a.host, "record_id": a.record_id,
        "tags": a.tags, "count": a.count, "source": a.source, "fields": fields,
        "incident": a.incident, "status": a.status,
        "status_reason": a.status_reason, "status_by": a.status_by, "status_at": a.status_at,
    })
}

const CSV_HEADER: [&str; 11] = [
    "time",
    "level",
    "host",
    "rule_id",
    "title",
    "count",
    "tags",
    "source",
    "record_id",
    "id",
    "status",
];

/// One alert as a CSV row. Host, title and source come from logs and rules: they are text
/// cells, neutralised by the writer; the counters are numbers Hygie computed.
fn csv_row(a: &AlertRecord) -> [Cell<'_>; 11] {
    [
        Cell::text(a.time.as_deref().unwrap_or("")),
        Cell::text(a.level.as_str()),
        Cell::text(a.host.as_deref().unwrap_or("")),
        Cell::text(a.rule_id.as_str()),
        Cell::text(a.title.as_str()),
        Cell::int(a.count),
        Cell::text(a.tags.join(" ")),
        Cell::text(a.source.as_str()),
        Cell::int(a.record_id),
        Cell::text(a.id.as_str()),
        Cell::text(a.status.as_str()),
    ]
}

/// One alert as a table line: its id first (what `alerts link`, `incident open --alert` and
/// the web take), its triage status, then what happened.
fn table_line(a: &AlertRecord, lang: Lang) -> String {
    format!(
        "{:<24} {:<14} {:<28} {:<13} {:<24} {:>5}  {}  [{}]\n",
        a.id,
        a.status.label().get(lang),
        a.time.as_deref().unwrap_or("-"),
        hygie_report::level_label(lang, &a.level),
        a.host.as_deref().unwrap_or("-"),
        a.count,
        a.title,
        a.rule_id
    )
}

/// Streams alerts to stdout in the chosen format.
struct Printer {
    format: Format,
    lang: Lang,
    first: bool,
    csv: Option<CsvWriter<output::Stdout>>,
}

impl Printer {
    fn new(format: Format, lang: Lang) -> anyhow::Result<Printer> {
        let mut out = output::stdout();
        let mut csv = None;
        match format {
            Format::Json => out.write_all(b"[")?,
            Format::Csv => {
                let mut w = CsvWriter::new(output::stdout());
                w.row(CSV_HEADER)?;
                csv = Some(w);
            }
            Format::Table => out.write_all(
                match lang {
                    Lang::En => format!(
                        "{:<24} {:<14} {:<28} {:<13} {:<24} {:>5}  TITLE  [RULE]\n",
                        "ID", "STATUS", "TIME", "LEVEL", "HOST", "COUNT"
                    ),
                    Lang::Fr => format!(
                        "{:<24} {:<14} {:<28} {:<13} {:<24} {:>5}  TITRE  [RÈGLE]\n",
                        "ID", "ÉTAT", "HEURE", "NIVEAU", "HÔTE", "NOMBRE"
                    ),
                }
                .as_bytes(),
            )?,
            f => return Err(output::unsupported(f, "table, json, csv")),
        }
        Ok(Printer {
            format,
            lang,
            first: true,
            csv,
        })
    }

    fn print(&mut self, a: &AlertRecord) -> anyhow::Result<()> {
        let mut out = output::stdout();
        match self.format {
            Format::Json => {
                if !self.first {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n  ")?;
                serde_json::to_writer(&mut out, &alert_json(a))?;
            }
            _ => match &mut self.csv {
                Some(w) => w.row(csv_row(a))?,
                None => out.write_all(table_line(a, self.lang).as_bytes())?,
            },
        }
        self.first = false;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(w) = &mut self.csv {
            w.flush()?;
        }
        if self.format == Format::Json {
            let mut out = output::stdout();
            out.write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        }
        Ok(())
    }
}

/// Alerts written to the store in one transaction.
const FLUSH_EVERY: usize = 500;

pub async fn detect(ctx: &Ctx, a: DetectArgs) -> anyhow::Result<u8> {
    let facility = a.facility.as_deref().map(Finess::parse).transpose()?;
    let mut printer = Printer::new(ctx.format, ctx.lang)?;
    let forwarder = a.forward.start(facility.as_ref())?;
    let (detector, refused) = load_detector(&a.rules)?;
    if !refused.is_empty() {
        eprintln!(
            "{} rules not loaded (see `hygie rules check`) / {} règles non chargées",
            refused.len(),
            refused.len()
        );
    }
    let store: Option<Store> = match &facility {
        Some(_) => Some(ctx.store().await?),
        None => None,
    };
    let (files, list_errors) = hygie_logs::list_log_files(&a.logs);
    for e in &list_errors {
        eprintln!("warning: {e}");
    }
    if files.is_empty() {
        return Err(exit::invalid(
            "no log file found under --logs (.evtx, .json, .jsonl, .log ...)",
        ));
    }
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let total = files.len();
    let handle = tokio::runtime::Handle::current();
    let actor = Actor::cli();
    let mut pending: Vec<Alert> = Vec::new();
    let mut store_err: Option<anyhow::Error> = None;
    let mut print_err: Option<anyhow::Error> = None;
    let mut stored = 0usize;
    let summary = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            if std::io::stderr().is_terminal() {
                scope.spawn(|| {
                    // `std::eprint!`: the carriage return and the line clearing are meant (only
                    // numbers are printed), where `eprint!` would show them as escapes.
                    while !done.load(Ordering::Relaxed) {
                        std::eprint!(
                            "\r{}/{} files, {} events, {} matches",
                            progress.files_done.load(Ordering::Relaxed),
                            total,
                            progress.events.load(Ordering::Relaxed),
                            progress.matches.load(Ordering::Relaxed)
                        );
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    std::eprint!("\r\x1b[2K");
                });
            }
            // A batch the store refused (after its own retries) is kept, reported at once and
            // written with the next one; what is still unsaved at the end fails the command.
            let flush_at = std::cell::Cell::new(FLUSH_EVERY);
            let mut flush = |pending: &mut Vec<Alert>, store_err: &mut Option<anyhow::Error>| {
                let (Some(store), Some(f)) = (&store, &facility) else {
                    pending.clear();
                    return;
                };
                if pending.is_empty() {
                    return;
                }
                match handle.block_on(store.record_alerts(f, pending, &actor)) {
                    Ok(n) => {
                        stored += n;
                        if let Some(fw) = &forwarder {
                            fw.send(pending);
                        }
                        pending.clear();
                        *store_err = None;
                    }
                    Err(e) => {
                        eprintln!(
                            "error: {} alerts not saved yet, kept for a retry / {} alertes non enregistrées, gardées pour un nouvel essai: {e}",
                            pending.len(),
                            pending.len()
                        );
                        *store_err = Some(e.into());
                    }
                }
                flush_at.set(pending.len() + FLUSH_EVERY);
            };
            let s = run(
                &detector,
                facility.as_ref().map(Finess::as_str).unwrap_or(""),
                &files,
                a.threads,
                a.window,
                &progress,
                &mut |alert| {
                    let rec = AlertRecord::from(alert);
                    if print_err.is_none()
                        && let Err(e) = printer.print(&rec)
                    {
                        print_err = Some(e);
                    }
                    pending.push(rec.alert);
                    if pending.len() >= flush_at.get() {
                        flush(&mut pending, &mut store_err);
                    }
                },
            );
            flush(&mut pending, &mut store_err);
            done.store(true, Ordering::Relaxed);
            s
        })
    });
    if let Some(e) = print_err {
        return Err(e);
    }
    printer.finish()?;
    for e in &summary.errors {
        eprintln!("warning: skipped: {e}");
    }
    // Rules are compiled when the logs first reach their log source, so only
    // those the logs reached are known to fail here; `rules check` compiles all.
    for r in detector.compile_refusals() {
        eprintln!(
            "warning: rule not evaluated / règle non évaluée: {}{}: {}",
            r.file.display(),
            r.rule.map(|x| format!(" [{x}]")).unwrap_or_default(),
            r.reason
        );
    }
    eprintln!(
        "{} files, {} events, {} matches, {} alerts, {} input errors / {} fichiers, {} événements, {} alertes",
        summary.files,
        summary.events,
        summary.matches,
        summary.alerts,
        summary.errors.len() + list_errors.len(),
        summary.files,
        summary.events,
        summary.alerts
    );
    if let Some(fw) = &forwarder {
        fw.finish().await;
    }
    if let Some(e) = store_err {
        return Err(e.context(format!(
            "{} alerts not saved / {} alertes non enregistrées",
            pending.len(),
            pending.len()
        )));
    }
    if let Some(f) = &facility {
        eprintln!("{stored} new alerts stored for {f} / {stored} nouvelles alertes enregistrées");
    }
    // Nothing readable is not a clean run: a scheduled job must not take it for "no alert".
    let input_errors = summary.errors.len() + list_errors.len();
    if summary.events == 0 && input_errors > 0 {
        return Err(exit::invalid(format!(
            "no event could be read under --logs ({input_errors} input errors above) / aucun événement lisible sous --logs ({input_errors} erreurs de lecture ci-dessus)"
        )));
    }
    Ok(exit::OK)
}

pub async fn alerts(ctx: &Ctx, cmd: AlertsCmd) -> anyhow::Result<u8> {
    match cmd {
        AlertsCmd::List { facility, limit } => {
            let f = Finess::parse(&facility)?;
            if limit < 1 {
                return Err(exit::invalid("--limit must be at least 1"));
            }
            let mut printer = Printer::new(ctx.format, ctx.lang)?;
            let store = ctx.store().await?;
            store.facility(&f).await?;
            for a in store.alerts(&f, Some(limit)).await? {
                printer.print(&a)?;
            }
            printer.finish()?;
            Ok(exit::OK)
        }
        AlertsCmd::Link {
            facility,
            alert,
            incident,
        } => {
            let f = Finess::parse(&facility)?;
            if incident.trim().is_empty() {
                return Err(exit::invalid("--incident must not be empty"));
            }
            let store = ctx.store().await?;
            store
                .link_alert(&f, &alert, incident.trim(), &Actor::cli())
                .await?;
            match ctx.format {
                Format::Json => {
                    output::json(&serde_json::json!({"alert": alert, "incident": incident.trim()}))?
                }
                _ => println!(
                    "Alert {alert} linked to incident {} / Alerte liée à l'incident",
                    incident.trim()
                ),
            }
            Ok(exit::OK)
        }
    }
}
