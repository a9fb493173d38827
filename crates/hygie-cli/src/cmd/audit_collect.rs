//! `hygie audit backups|antivirus|patching|network|wifi|mfa`: the evidence collectors of
//! `hygie-collect`. Every run reads and checks all its inputs first, then is recorded as a check
//! run (source = the collector name) so that `hygie status` shows its measures verified or failing.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::{Args, Subcommand};
use hygie_collect::{Collector, Report, antivirus, backups, mfa, network, patching, wifi};
use hygie_core::{Finess, Lang, RuleOutcome};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum CollectCmd {
    /// Backups: restic/borg JSON, generic CSV; RPO, 3-2-1-1-0, restore tests, failing jobs.
    Backups(BackupArgs),
    /// Antivirus/EDR coverage, signature age and real-time protection.
    Antivirus(AvArgs),
    /// Operating systems out of support or close to it; missing updates.
    Patching(PatchArgs),
    /// Network segmentation: zone reachability from firewall rules; observed flows.
    Network(NetArgs),
    /// Wi-Fi: hostapd.conf and controller exports.
    Wifi(WifiArgs),
    /// Multi-factor authentication of privileged, remote and patient-record accounts.
    Mfa(MfaArgs),
}

#[derive(Args)]
pub struct Common {
    /// FINESS number of the facility.
    #[arg(long)]
    pub facility: String,
    /// Evaluate as of this instant (RFC 3339) instead of now: for reproducible reports.
    #[arg(long, hide = true)]
    pub now: Option<String>,
}

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    common: Common,
    /// Asset inventory (CSV with asset, critical, rpo_hours; or AD JSON/LDIF).
    #[arg(long)]
    inventory: PathBuf,
    /// `restic snapshots --json` output, optionally ASSET=FILE to name the asset.
    #[arg(long)]
    restic: Vec<String>,
    /// `borg list --json` output, optionally ASSET=FILE.
    #[arg(long)]
    borg: Vec<String>,
    /// Generic CSV: asset, job, last_success, type, immutable, offline, offsite, last_restore_test, status, auth.
    #[arg(long)]
    csv: Vec<PathBuf>,
    /// Default RPO of critical assets, in hours.
    #[arg(long, default_value_t = 24)]
    rpo_hours: u32,
    /// Report failing jobs whose last success is older than this many hours.
    #[arg(long, default_value_t = 48)]
    failing_hours: u32,
}

#[derive(Args)]
pub struct AvArgs {
    #[command(flatten)]
    common: Common,
    /// Host inventory: CSV, or AD computers as JSON/LDIF.
    #[arg(long)]
    inventory: PathBuf,
    /// AV/EDR export CSV: host, product, engine_version, signature_version, signature_date, realtime.
    #[arg(long = "av-csv")]
    av_csv: Vec<PathBuf>,
    /// HOST=FILE: `sigtool --info` output (or the .cvd itself) of a ClamAV host.
    #[arg(long)]
    clamav: Vec<String>,
    #[arg(long, default_value_t = 24)]
    max_signature_age_hours: u32,
}

#[derive(Args)]
pub struct PatchArgs {
    #[command(flatten)]
    common: Common,
    /// Inventory with os, os_version (and oldest_missing_update): CSV, or AD JSON/LDIF.
    #[arg(long)]
    inventory: PathBuf,
    /// Use this end-of-life table instead of the bundled one.
    #[arg(long)]
    eol_table: Option<PathBuf>,
    /// Warn this many months before end of support.
    #[arg(long, default_value_t = 6)]
    warn_months: u32,
    /// Fail when an update has been missing for longer than this many days.
    #[arg(long)]
    max_update_age_days: Option<u32>,
}

#[derive(Args)]
pub struct NetArgs {
    #[command(flatten)]
    common: Common,
    /// Zone model (YAML).
    #[arg(long)]
    zones: PathBuf,
    #[command(flatten)]
    firewall: FirewallExports,
    /// Generic CSV rule table (src, dst, proto, dport, action).
    #[arg(long = "rules-csv")]
    rules_csv: Vec<PathBuf>,
    /// Verdict when no CSV rule matches: drop or accept.
    #[arg(long, default_value = "drop")]
    csv_default: String,
    /// Observed flows: CSV (src, dst, dport, proto) or Zeek conn.log.
    #[arg(long)]
    flows: Vec<PathBuf>,
}

#[derive(Args)]
pub struct WifiArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    hostapd: Vec<PathBuf>,
    /// Controller export CSV: ssid, security, cipher, wps, pmf, usage, zone.
    #[arg(long = "controller-csv")]
    controller_csv: Vec<PathBuf>,
    /// Zone model (YAML), to check guest SSIDs land in a guest zone; with a firewall export,
    /// that the guest zone is also isolated.
    #[arg(long)]
    zones: Option<PathBuf>,
    #[command(flatten)]
    firewall: FirewallExports,
}

/// Firewall exports: the rules between zones for `network`, the guest zone's isolation for
/// `wifi`.
#[derive(Args)]
pub struct FirewallExports {
    /// `nft -j list ruleset` output.
    #[arg(long)]
    nft: Vec<PathBuf>,
    /// `iptables-save` output.
    #[arg(long)]
    iptables: Vec<PathBuf>,
    /// `ipset save` output: the sets the iptables rules name with `-m set --match-set`.
    #[arg(long)]
    ipset: Vec<PathBuf>,
}

impl FirewallExports {
    fn is_empty(&self) -> bool {
        self.nft.is_empty() && self.iptables.is_empty()
    }

    fn into_inputs(self, zones: PathBuf) -> network::NetInputs {
        let mut i = network::NetInputs::new(zones);
        i.nft = self.nft;
        i.iptables = self.iptables;
        i.ipsets = self.ipset;
        i
    }
}

#[derive(Args)]
pub struct MfaArgs {
    #[command(flatten)]
    common: Common,
    /// Accounts that must have MFA: account, privileged, remote, patient_record.
    #[arg(long)]
    required: Option<PathBuf>,
    /// Group memberships: CSV (group, member) or an AD LDIF export (memberOf / member).
    #[arg(long)]
    groups: Option<PathBuf>,
    /// Privileged groups (default: the built-in AD administration groups).
    #[arg(long = "privileged-group")]
    privileged_groups: Vec<String>,
    #[arg(long = "remote-group")]
    remote_groups: Vec<String>,
    #[arg(long = "patient-record-group")]
    patient_record_groups: Vec<String>,
    /// IdP export CSV: user/upn, mfa (yes/no) or methods.
    #[arg(long)]
    idp: Vec<PathBuf>,
    /// Group whose members have MFA (in --groups).
    #[arg(long = "mfa-group")]
    mfa_groups: Vec<String>,
    /// Target coverage in percent.
    #[arg(long, default_value_t = 100.0)]
    min_coverage: f64,
}

/// `ASSET=FILE` or `FILE`.
fn asset_file(s: &str) -> (Option<String>, PathBuf) {
    match s.split_once('=') {
        Some((a, f)) if !a.is_empty() && !a.contains('/') => (Some(a.to_owned()), PathBuf::from(f)),
        _ => (None, PathBuf::from(s)),
    }
}

fn collect<C: Collector>(
    c: &C,
    inputs: &C::Inputs,
    now: jiff::Timestamp,
) -> anyhow::Result<Report> {
    hygie_collect::run(c, inputs, now).map_err(|e| exit::invalid(e.to_string()))
}

pub async fn run(ctx: &Ctx, cmd: CollectCmd) -> anyhow::Result<u8> {
    let (common, report) = match cmd {
        CollectCmd::Backups(a) => {
            let now = now(&a.common)?;
            let mut i = backups::BackupInputs::new(a.inventory);
            i.restic = a.restic.iter().map(|s| asset_file(s)).collect();
            i.borg = a.borg.iter().map(|s| asset_file(s)).collect();
            i.csv = a.csv;
            i.rpo_hours = a.rpo_hours;
            i.failing_hours = a.failing_hours;
            (a.common, collect(&backups::Backups, &i, now)?)
        }
        CollectCmd::Antivirus(a) => {
            let now = now(&a.common)?;
            let mut clamav = Vec::new();
            for s in &a.clamav {
                match s.split_once('=') {
                    Some((h, f)) if !h.is_empty() => clamav.push((h.to_owned(), PathBuf::from(f))),
                    _ => return Err(exit::invalid(format!("--clamav '{s}': expected HOST=FILE"))),
                }
            }
            let i = antivirus::AvInputs {
                inventory: a.inventory,
                av_csv: a.av_csv,
                clamav,
                max_signature_age_hours: a.max_signature_age_hours,
            };
            (a.common, collect(&antivirus::Antivirus, &i, now)?)
        }
        CollectCmd::Patching(a) => {
            let now = now(&a.common)?;
            let i = patching::PatchInputs {
                inventory: a.inventory,
                eol_table: a.eol_table,
                warn_months: a.warn_months,
                max_update_age_days: a.max_update_age_days,
            };
            (a.common, collect(&patching::Patching, &i, now)?)
        }
        CollectCmd::Network(a) => {
            let now = now(&a.common)?;
            let mut i = a.firewall.into_inputs(a.zones);
            i.csv_rules = a.rules_csv;
            i.flows = a.flows;
            i.csv_default = match a.csv_default.to_ascii_lowercase().as_str() {
                "drop" | "deny" => network::firewall::Verdict::Drop,
                "accept" | "allow" => network::firewall::Verdict::Accept,
                o => {
                    return Err(exit::invalid(format!(
                        "--csv-default '{o}': use drop or accept"
                    )));
                }
            };
            (a.common, collect(&network::Network, &i, now)?)
        }
        CollectCmd::Wifi(a) => {
            let now = now(&a.common)?;
            let firewalls =
                (!a.firewall.is_empty()).then(|| a.firewall.into_inputs(PathBuf::new()));
            let i = wifi::WifiInputs {
                hostapd: a.hostapd,
                controller_csv: a.controller_csv,
                zones: a.zones,
                firewalls,
            };
            (a.common, collect(&wifi::Wifi, &i, now)?)
        }
        CollectCmd::Mfa(a) => {
            let now = now(&a.common)?;
            let privileged_groups = if a.privileged_groups.is_empty() {
                mfa::DEFAULT_PRIVILEGED_GROUPS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            } else {
                a.privileged_groups
            };
            let i = mfa::MfaInputs {
                required_csv: a.required,
                groups_csv: a.groups,
                privileged_groups,
                remote_groups: a.remote_groups,
                patient_record_groups: a.patient_record_groups,
                idp_csv: a.idp,
                mfa_groups: a.mfa_groups,
                min_coverage: a.min_coverage,
            };
            (a.common, collect(&mfa::Mfa, &i, now)?)
        }
    };
    let fid = Finess::parse(&common.facility)?;
    let store = ctx.store().await?;
    store.facility(&fid).await?;
    if !matches!(ctx.format, Format::Json | Format::Table) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    let ending = super::audit::Ending {
        facility: &fid,
        source: &report.collector,
        at: report.at,
        findings: &report.findings,
        summary: report.summary.clone(),
        record: true,
        out: None,
    };
    super::audit::finish(&store, ending, |run| {
        let run = run.unwrap_or_default();
        Ok(match ctx.format {
            Format::Json => {
                let mut doc = report.to_json();
                doc["facility"] = serde_json::json!(fid.as_str());
                doc["run"] = serde_json::json!(run);
                output::json_text(&doc)?
            }
            _ => table(&report, &fid, run, ctx.lang),
        })
    })
    .await
}

fn now(c: &Common) -> anyhow::Result<jiff::Timestamp> {
    match &c.now {
        None => Ok(jiff::Timestamp::now()),
        Some(s) => s
            .parse()
            .map_err(|e| exit::invalid(format!("--now '{s}': {e}"))),
    }
}

fn table(r: &Report, fid: &Finess, run_id: &str, lang: Lang) -> String {
    let fr = matches!(lang, Lang::Fr);
    let mut s = format!(
        "Audit {} — {} {} — {}\n\n",
        r.collector,
        if fr { "établissement" } else { "facility" },
        fid,
        r.at.strftime("%Y-%m-%d %H:%M UTC")
    );
    for f in &r.findings {
        let measures: Vec<&str> = f.measures.iter().map(|m| m.as_str()).collect();
        s.push_str(&format!(
            "{:<4}  {:<8}  {:<26}  {:<14}  {}\n",
            match f.outcome {
                RuleOutcome::Fail => "FAIL",
                RuleOutcome::Pass => "ok",
            },
            f.severity.as_str(),
            f.rule,
            measures.join(","),
            f.title.get(lang)
        ));
        for a in &f.objects {
            s.push_str(&format!("        - {a}\n"));
        }
    }
    for n in &r.not_evaluated {
        s.push_str(&format!(
            "--    {:<8}  {:<26}  {} {}\n",
            "",
            n.rule,
            if fr {
                "non évaluée :"
            } else {
                "not evaluated:"
            },
            n.reason
        ));
    }
    let failed = r.failed().count();
    s.push_str(&format!(
        "\n{} {}, {} {}. {} {run_id}.\n",
        r.findings.len(),
        if fr {
            "règles évaluées"
        } else {
            "rules evaluated"
        },
        failed,
        if fr { "en échec" } else { "failed" },
        if fr {
            "Enregistré sous"
        } else {
            "Recorded as run"
        },
    ));
    s
}
