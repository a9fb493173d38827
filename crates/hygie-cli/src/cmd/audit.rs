//! `hygie audit ...`: the automated audits of a facility's systems. Each audit records a check
//! run for the facility, which `hygie status` turns into verified or failing measures.
//! One module per audit source; [`finish`] is the ending they share.

use super::Ctx;
use crate::exit;
use crate::output;
use anyhow::Context as _;
use clap::Subcommand;
use hygie_core::{CheckRun, Finding, Finess};
use hygie_store::{Actor, Store};
use std::path::Path;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Active Directory over LDAPS/StartTLS, or an LDIF export (ANSSI control points, PingCastle-like rules).
    Ad(super::audit_ad::AuditAdArgs),
    /// Password quality from NT hashes (pwdump/secretsdump): empty, LM, user-name, default
    /// computer, shared, dictionary, breached and reused passwords. Never prints a hash or a
    /// password: findings name accounts only.
    Passwords(super::audit_passwords::PasswordsArgs),
    /// Audits from the facility's own exports: backups, antivirus, patching, network, wifi, mfa.
    #[command(flatten)]
    Collect(super::audit_collect::CollectCmd),
}

pub async fn run(ctx: &Ctx, cmd: AuditCmd) -> anyhow::Result<u8> {
    match cmd {
        AuditCmd::Ad(a) => super::audit_ad::run(ctx, a).await,
        AuditCmd::Passwords(a) => super::audit_passwords::passwords(ctx, a).await,
        AuditCmd::Collect(c) => super::audit_collect::run(ctx, c).await,
    }
}

/// What an audit hands to [`finish`]: its findings (one per evaluated rule, passed or failed) and
/// the summary the store keeps beside them.
pub struct Ending<'a> {
    pub facility: &'a Finess,
    /// The audit source recorded with the run: `ad`, `passwords`, `governance`, a collector...
    pub source: &'a str,
    pub at: jiff::Timestamp,
    pub findings: &'a [Finding],
    pub summary: serde_json::Value,
    /// Whether to record the run (a governance check as of another day records nothing).
    pub record: bool,
    /// Where to write the rendering (default: stdout).
    pub out: Option<&'a Path>,
}

/// The end of every audit, written once: record the run (a UUID v4 id) with its summary, render
/// it with the run id (`None` when not recorded), print, and return `exit::FINDINGS` when a rule
/// failed, `exit::OK` otherwise.
pub async fn finish(
    store: &Store,
    e: Ending<'_>,
    render: impl FnOnce(Option<&str>) -> anyhow::Result<String>,
) -> anyhow::Result<u8> {
    let run = if e.record {
        Some(record(store, e.facility, e.source, e.at, e.findings, &e.summary).await?)
    } else {
        None
    };
    output::emit(&render(run.as_deref())?, e.out)?;
    Ok(if e.findings.iter().any(Finding::failed) {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// `findings` as one complete run of `source`, under a new id.
pub fn run_of(source: &str, at: jiff::Timestamp, findings: &[Finding]) -> CheckRun {
    CheckRun::of(uuid::Uuid::new_v4().to_string(), source, at, findings)
}

/// Record `findings` as one complete run of `source`; returns the run id.
pub async fn record(
    store: &Store,
    facility: &Finess,
    source: &str,
    at: jiff::Timestamp,
    findings: &[Finding],
    summary: &serde_json::Value,
) -> anyhow::Result<String> {
    let run = run_of(source, at, findings);
    store
        .record_check_run(facility, &run, summary, &Actor::cli())
        .await
        .context("cannot record the check run")?;
    Ok(run.id)
}
