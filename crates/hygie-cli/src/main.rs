//! `hygie`: the command line. Glue only: parse arguments, open the store, call the libraries,
//! print, and map errors to the documented exit codes (see `exit.rs`).
//!
//! Command groups live in `cmd/<group>.rs`, registered here; the output formats in `output.rs`;
//! the exit codes in `exit.rs` (0, 1 runtime, 2 invalid input, 3 not found, 4 exists,
//! 5 findings). Invariants: domain logic lives in the libraries; a command parses all its input
//! before opening the store, so bad input changes nothing; every stdout write goes through
//! `output.rs` (`print!` / `println!` are redefined below), where a reader that closes the pipe
//! early ends the output quietly with the usual exit code. A command about one facility opens
//! the store with `ctx.facility_store(&id)`; lists print with `ctx.print_list`; every audit ends
//! through `cmd/audit.rs::finish` (run id, record, print, exit 5 on a failed rule). `users` and
//! `tokens` are the break-glass administration of web accounts and API tokens, straight on the
//! store (passwords from a file or a prompt, never an argument).
//!
//! To add a command group: a module in `src/cmd/`, a line here, tests in `tests/` (driving the
//! binary), a line in the README's tour.

// `print!` and `println!` for the whole crate (defined before the modules, so they shadow std's):
// std's panic when a reader closes stdout early (`hygie catalog list | head`); these write
// through `output::print`, which ends the output quietly (see `output`).
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!($($arg)*))
    };
}

macro_rules! println {
    () => {
        $crate::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

// `eprint!` and `eprintln!` likewise, through `output::eprint`: error and warning lines quote
// what came from others' files (an account name in an LDIF export), which must not drive the
// terminal either. A progress line that means its control characters calls `std::eprint!`.
// (`eprint!` is unused today; defined so that no future use bypasses the escaping.)
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::output::eprint(format_args!($($arg)*))
    };
}

macro_rules! eprintln {
    () => {
        $crate::output::eprint(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::eprint(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod cmd;
mod exit;
mod output;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// Detection allocates a map per event and RSigma builds its automata from many
// small allocations; mimalloc cuts their cost against glibc's
// malloc (about 15% of a batch run's CPU, BENCHMARKS.md, issue 5).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hygie",
    version,
    about = "Hygie: the health-sector security plan, verified. / Le plan de sécurité des établissements de santé, vérifié."
)]
#[command(after_help = exit::HELP)]
pub struct Cli {
    /// Folder holding the embedded SQLite store (and nothing else needed).
    #[arg(long, global = true, env = "HYGIE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Overrides --data-dir.
    #[arg(
        long,
        global = true,
        env = "HYGIE_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Output format (not every command has every format).
    #[arg(long, short = 'f', global = true, value_enum, default_value_t = output::Format::Table)]
    format: output::Format,
    /// Language of the text output.
    #[arg(long, global = true, env = "HYGIE_LANG", default_value = "en")]
    lang: hygie_core::Lang,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the store (if needed) and load the bundled catalogue.
    Init,
    /// The measure catalogue.
    #[command(subcommand)]
    Catalog(cmd::catalog::CatalogCmd),
    /// Facilities: FINESS, kind, region, NIS 2 status, plan start.
    #[command(subcommand)]
    Facility(cmd::facility::FacilityCmd),
    /// Declared status and evidence of a facility's measures.
    #[command(subcommand)]
    Assess(cmd::assess::AssessCmd),
    /// Where a facility stands: plan levels, overdue measures, scores.
    Status(cmd::status::StatusArgs),
    /// Regional views.
    #[command(subcommand)]
    Region(cmd::status::RegionCmd),
    /// This instance's federation signing key (Ed25519): public key and fingerprint.
    #[command(subcommand)]
    Identity(cmd::identity::IdentityCmd),
    /// Requests of the regional agency (facility side): trust its key, import, list.
    #[command(subcommand)]
    Requests(cmd::requests::RequestsCmd),
    /// Federation packages: export a facility's report for its regional agency, import one.
    #[command(subcommand)]
    Sync(cmd::sync::SyncCmd),
    /// The tamper-evident journal of every change.
    #[command(subcommand)]
    Journal(cmd::journal::JournalCmd),
    /// Incidents and their legal notification clocks (CERT Santé, CNIL, NIS 2).
    #[command(subcommand)]
    Incident(cmd::incident::IncidentCmd),
    /// E-mail reminders of the incidents' legal deadlines (SMTP), each sent once.
    #[command(subcommand)]
    Notify(cmd::notify::NotifyCmd),
    /// The legal status of each regime (NIS 2 in France...); an administrator records the in-force date.
    #[command(subcommand)]
    Regime(cmd::regime::RegimeCmd),
    /// Staff register: names, functions, departments, reporting lines.
    #[command(subcommand)]
    People(cmd::people::PeopleCmd),
    /// Governance roles (DPO, CISO, ambassadors...) and their independence check.
    #[command(subcommand)]
    Roles(cmd::roles::RolesCmd),
    /// Training sessions and coverage.
    #[command(subcommand)]
    Training(cmd::training::TrainingCmd),
    /// Phishing-simulation campaigns (GoPhish imports) and anonymous reports.
    #[command(subcommand)]
    Phishing(cmd::phishing::PhishingCmd),
    /// Risk register (EBIOS RM light) with inherent and residual levels.
    #[command(subcommand)]
    Risk(cmd::risk::RiskCmd),
    /// Asset register: imports of agent inventories (FusionInventory, OCS), nmap scans, AD
    /// computers and CSV, merged per facility; the inventory rules.
    #[command(subcommand)]
    Inventory(cmd::inventory::InventoryCmd),
    /// Vulnerability feeds from downloaded files (CISA KEV, NVD CVE API 2.0), matched offline
    /// against the asset register by `hygie inventory vulns`.
    #[command(subcommand)]
    Vuln(cmd::vuln::VulnCmd),
    /// Seed a clearly labelled demo region with facilities at different stages.
    Demo(cmd::demo::DemoArgs),
    /// Sigma rules: check that rule folders load.
    #[command(subcommand)]
    Rules(cmd::detect::RulesCmd),
    /// Run Sigma rules over log files (EVTX, JSON, syslog).
    Detect(cmd::detect::DetectArgs),
    /// Detection alerts of a facility.
    #[command(subcommand)]
    Alerts(cmd::detect::AlertsCmd),
    /// Streaming detection from syslog / JSON listeners.
    Ingest(cmd::ingest::IngestArgs),
    /// One of N detection workers on a NATS JetStream stream (events from `ingest --publish`).
    DetectWorker(cmd::detect_worker::WorkerArgs),
    /// Automated audits whose results verify catalogue measures.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// Every automated rule of every audit, with the measures it verifies.
    #[command(subcommand)]
    Checks(cmd::checks::ChecksCmd),
    /// Breach corpus (Have I Been Pwned NTLM list) for the password audit.
    #[command(subcommand)]
    Breached(cmd::audit_passwords::BreachedCmd),
    /// The web application and JSON API (dashboards, declarations, evidence, journal).
    Serve(Box<cmd::serve::ServeArgs>),
    /// Write a consistent snapshot of the whole store (evidence files included) to an archive,
    /// while the web application and other commands go on; `verify` checks an archive.
    Backup(cmd::backup::BackupArgs),
    /// Restore an archive into an empty store (data directory or database), then verify it.
    Restore(cmd::backup::RestoreArgs),
    /// Web accounts without the web (break glass): list, add, disable, enable, delete, reset a
    /// password or the second factor, unlock.
    #[command(subcommand)]
    Users(cmd::users::UsersCmd),
    /// API tokens without the web: create (printed once), list, revoke.
    #[command(subcommand)]
    Tokens(cmd::tokens::TokensCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HYGIE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or journald gets plain lines that a search
        // such as `grep 'event="login_failed"'` finds.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // A detection worker is one thread on purpose: its NATS connection, its pull stream and
    // its loop hand every message from task to task, and on several threads each hand-over is a
    // wake-up of another thread (a futex call, a context switch) that cost more CPU per event
    // than the detection (BENCHMARKS.md, issue 20); its detection runs on the blocking pool.
    // Workers scale out as processes.
    let mut builder = if matches!(cli.command, Command::DetectWorker(_)) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::code_of(&e)
        }
    };
    // Output that could not be written is a failure, unless the command already failed.
    if let Some(e) = output::write_error() {
        eprintln!("error: cannot write the output / écriture de la sortie impossible: {e}");
        if code == exit::OK {
            return ExitCode::from(exit::RUNTIME);
        }
    }
    ExitCode::from(code)
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = cmd::Ctx::new(&cli)?;
    match cli.command {
        Command::Init => cmd::init(&ctx).await,
        Command::Catalog(c) => cmd::catalog::run(&ctx, c).await,
        Command::Facility(c) => cmd::facility::run(&ctx, c).await,
        Command::Assess(c) => cmd::assess::run(&ctx, c).await,
        Command::Status(a) => cmd::status::status(&ctx, a).await,
        Command::Region(c) => cmd::status::region(&ctx, c).await,
        Command::Requests(c) => cmd::requests::facility(&ctx, c).await,
        Command::Identity(c) => cmd::identity::run(&ctx, c).await,
        Command::Sync(c) => cmd::sync::run(&ctx, c).await,
        Command::Journal(c) => cmd::journal::run(&ctx, c).await,
        Command::People(c) => cmd::people::run(&ctx, c).await,
        Command::Roles(c) => cmd::roles::run(&ctx, c).await,
        Command::Training(c) => cmd::training::run(&ctx, c).await,
        Command::Phishing(c) => cmd::phishing::run(&ctx, c).await,
        Command::Risk(c) => cmd::risk::run(&ctx, c).await,
        Command::Inventory(c) => cmd::inventory::run(&ctx, c).await,
        Command::Vuln(c) => cmd::vuln::run(&ctx, c).await,
        Command::Demo(a) => cmd::demo::run(&ctx, a).await,
        Command::Incident(c) => cmd::incident::run(&ctx, c).await,
        Command::Notify(c) => cmd::notify::run(&ctx, c).await,
        Command::Regime(c) => cmd::regime::run(&ctx, c).await,
        Command::Rules(c) => cmd::detect::rules(&ctx, c).await,
        Command::Detect(a) => cmd::detect::detect(&ctx, a).await,
        Command::Alerts(c) => cmd::detect::alerts(&ctx, c).await,
        Command::Ingest(a) => cmd::ingest::run(&ctx, a).await,
        Command::DetectWorker(a) => cmd::detect_worker::run(&ctx, a).await,
        Command::Audit(c) => cmd::audit::run(&ctx, c).await,
        Command::Checks(c) => cmd::checks::run(&ctx, c).await,
        Command::Breached(c) => cmd::audit_passwords::breached(&ctx, c).await,
        Command::Serve(a) => cmd::serve::run(&ctx, *a).await,
        Command::Backup(a) => cmd::backup::backup(&ctx, a).await,
        Command::Restore(a) => cmd::backup::restore(&ctx, a).await,
        Command::Users(c) => cmd::users::run(&ctx, c).await,
        Command::Tokens(c) => cmd::tokens::run(&ctx, c).await,
    }
}
