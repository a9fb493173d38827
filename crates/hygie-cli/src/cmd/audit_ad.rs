//! `hygie audit ad`: audit an Active Directory domain live (LDAPS or StartTLS) or from an LDIF
//! export, store the run for the facility, compare it with the previous one and print it.
//! Every input is checked before the store is opened; a run is stored only once complete.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use hygie_ad::collect::{CollectError, LdapOptions, Password};
use hygie_ad::{AuditConfig, LdifFileError};
use hygie_core::Finess;
use std::path::PathBuf;

pub const PASSWORD_ENV: &str = "HYGIE_AD_PASSWORD";

#[derive(clap::Args)]
pub struct AuditAdArgs {
    /// FINESS number of the audited facility.
    #[arg(long)]
    pub facility: String,
    /// Domain controller: ldaps://HOST[:PORT], or ldap://HOST[:PORT] with --starttls.
    #[arg(long, required_unless_present = "ldif")]
    pub url: Option<String>,
    /// DN or UPN to bind with (a read-only account is enough except for some security descriptors).
    #[arg(long, required_unless_present = "ldif")]
    pub bind_dn: Option<String>,
    /// File holding the password (else the HYGIE_AD_PASSWORD variable, else a prompt).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the DC's certificate (default: the system's CAs).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Name the DC certificate must carry when it differs from the URL host.
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// Search base (default: the rootDSE's defaultNamingContext).
    #[arg(long)]
    pub base_dn: Option<String>,
    /// Do NOT verify the DC's certificate (test labs only: a warning is printed).
    #[arg(long)]
    pub insecure: bool,
    /// Use StartTLS on an ldap:// URL (port 389).
    #[arg(long)]
    pub starttls: bool,
    /// Audit an LDIF export (scripts/ad-ldif-export.sh) instead of a live DC.
    #[arg(long, conflicts_with_all = ["url", "bind_dn", "password_file", "ca_cert", "insecure", "starttls", "tls_server_name", "base_dn"])]
    pub ldif: Option<PathBuf>,
    /// Evaluate ageing rules as of this date (YYYY-MM-DD, or an RFC 3339 instant); default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// TOML file of thresholds, exempt accounts and disabled rules.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the report (table, JSON, HTML or PDF) to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_as_of(s: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = s.trim().parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let d = hygie_core::parse_date("as-of", s)?;
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| exit::invalid(format!("as-of: {e}")))?
        .timestamp())
}

fn read_password(a: &AuditAdArgs) -> anyhow::Result<Password> {
    // Every intermediate copy is a `Zeroizing` buffer, so the password leaves no trace in freed
    // memory; `Password` zeroes its own on drop.
    if let Some(p) = &a.password_file {
        let s = zeroize::Zeroizing::new(
            std::fs::read_to_string(p)
                .map_err(|e| exit::invalid(format!("password file {}: {e}", p.display())))?,
        );
        let s = s.trim_end_matches(['\n', '\r']);
        if s.is_empty() {
            return Err(exit::invalid(format!(
                "password file {} is empty",
                p.display()
            )));
        }
        return Ok(Password::from(s));
    }
    if let Ok(s) = std::env::var(PASSWORD_ENV)
        && !s.is_empty()
    {
        return Ok(Password::from(s));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let s = rpassword::prompt_password("AD password / mot de passe AD: ")
            .context("cannot read the password")?;
        return Ok(Password::from(s));
    }
    Err(exit::invalid(format!(
        "no password: give --password-file FILE, set {PASSWORD_ENV}, or run interactively"
    )))
}

enum Source {
    Live(Box<LdapOptions>),
    Ldif(PathBuf),
}

fn collect_code(e: &CollectError) -> u8 {
    match e {
        CollectError::Url { .. }
        | CollectError::Cleartext(_)
        | CollectError::CaFile { .. }
        | CollectError::Bind { .. } => exit::INVALID,
        _ => exit::RUNTIME,
    }
}

pub async fn run(ctx: &Ctx, a: AuditAdArgs) -> anyhow::Result<u8> {
    // 1. All input, before any store access.
    if matches!(ctx.format, Format::Md | Format::Csv) {
        return Err(output::unsupported(ctx.format, "table, json, html or pdf"));
    }
    let facility = Finess::parse(&a.facility)?;
    let as_of = match &a.as_of {
        Some(s) => parse_as_of(s)?,
        None => jiff::Timestamp::now(),
    };
    let config = match &a.config {
        Some(p) => AuditConfig::load(p).map_err(|e| exit::invalid(e.to_string()))?,
        None => AuditConfig::default(),
    };
    let source = match &a.ldif {
        Some(p) => Source::Ldif(p.clone()),
        None => {
            let (Some(url), Some(bind)) = (&a.url, &a.bind_dn) else {
                return Err(exit::invalid("give --url and --bind-dn, or --ldif FILE"));
            };
            let mut o = LdapOptions::new(url, bind, read_password(&a)?);
            o.ca_cert = a.ca_cert.clone();
            o.insecure = a.insecure;
            o.starttls = a.starttls;
            o.base_dn = a.base_dn.clone();
            o.tls_server_name = a.tls_server_name.clone();
            if let Some(ca) = &o.ca_cert
                && !ca.is_file()
            {
                return Err(exit::invalid(format!(
                    "CA certificate file {} not found",
                    ca.display()
                )));
            }
            Source::Live(Box::new(o))
        }
    };
    // 2. The facility must exist before we spend time on the directory.
    let store = ctx.store().await?;
    store.facility(&facility).await?;
    // 3. Collect everything; any error stops here, nothing is stored.
    let snapshot = match source {
        Source::Live(o) => {
            if o.insecure {
                eprintln!(
                    "warning: --insecure: the domain controller's certificate is NOT verified; the password may be sent to an impostor. / \
                     avertissement : le certificat du contrôleur n'est PAS vérifié ; le mot de passe peut être envoyé à un imposteur."
                );
            }
            match hygie_ad::collect::collect(&o).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(collect_code(&e));
                }
            }
        }
        Source::Ldif(p) => match hygie_ad::snapshot_from_ldif_file(&p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(match e {
                    LdifFileError::Io { .. } => exit::RUNTIME,
                    _ => exit::INVALID,
                });
            }
        },
    };
    // 4. Rules, comparison with the previous run, storage (the web's upload runs the same).
    let previous = store.check_runs(&facility, Some("ad")).await?;
    let mode = if a.ldif.is_some() { "ldif" } else { "ldap" };
    let hygie_ad::report::AuditRun {
        report,
        findings,
        summary,
    } = hygie_ad::report::audit_run(&snapshot, &config, as_of, previous.last(), mode);
    drop(snapshot);
    if ctx.format == Format::Pdf {
        // The HTML report printed by Chromium (hygie-pdf), framed as the other PDFs are.
        let at = jiff::Timestamp::now();
        super::audit::record(&store, &facility, "ad", at, &findings, &summary).await?;
        let name = store.facility(&facility).await?.name;
        let frame = hygie_report::PrintFrame {
            header: format!("{name} ({facility})"),
            date: at.strftime("%Y-%m-%d").to_string(),
            lang: ctx.lang,
        };
        let html = hygie_ad::report::render_html(&report, ctx.lang);
        output::pdf(&html, &frame, a.out.as_deref()).await?;
        return Ok(if findings.iter().any(hygie_core::Finding::failed) {
            exit::FINDINGS
        } else {
            exit::OK
        });
    }
    let ending = super::audit::Ending {
        facility: &facility,
        source: "ad",
        at: jiff::Timestamp::now(),
        findings: &findings,
        summary,
        record: true,
        out: a.out.as_deref(),
    };
    super::audit::finish(&store, ending, |run| {
        Ok(match ctx.format {
            Format::Json => {
                let mut v = serde_json::to_value(&report)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("run".into(), serde_json::json!(run));
                    o.insert(
                        "facility".into(),
                        serde_json::Value::String(facility.as_str().to_string()),
                    );
                }
                output::json_text(&v)?
            }
            Format::Html => hygie_ad::report::render_html(&report, ctx.lang),
            _ => hygie_ad::report::render_table(&report, ctx.lang),
        })
    })
    .await
}
