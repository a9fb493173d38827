//! `hygie incident`: incidents with their legal clocks (CERT Santé, CNIL, data subjects, breach
//! register, NIS 2, internal), notification drafts, the incident's journal slice, reminders.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use hygie_core::{Finess, Lang};
use hygie_incident::clock::{self, rfc3339};
use hygie_incident::facts::ActionInput;
use hygie_incident::{
    Duty, FactsInput, Incident, IncidentError, IncidentStatus, Phase, Register, draft, due, export,
    integrity, ops,
};
use hygie_store::{Actor, JournalCheck, Store};
use jiff::Timestamp;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum IncidentCmd {
    /// Open an incident from flags or a JSON file; prints its id.
    Open(Box<OpenArgs>),
    /// Show an incident: facts, obligations with their clocks, sendings, timeline.
    Show {
        id: String,
        /// Compute statuses at this instant instead of now (RFC 3339).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// List incidents.
    List {
        #[arg(long)]
        facility: Option<String>,
        /// Include closed incidents.
        #[arg(long)]
        all: bool,
    },
    /// Change facts or status; obligations are recomputed and the reason of each change kept.
    Update(Box<UpdateArgs>),
    /// Record a notification as sent, keeping the text sent.
    Notify(NotifyArgs),
    /// Print the draft of a notification (--format md or html).
    Draft {
        id: String,
        /// The duty: cert_sante, cnil, data_subjects, breach_register, nis2_early_warning, nis2_notification, nis2_intermediate, nis2_final, nis2_progress, internal_dpo, internal_ciso.
        #[arg(long)]
        duty: String,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Close an incident; unmet obligations need --justification.
    Close {
        id: String,
        #[arg(long)]
        justification: Option<String>,
    },
    /// The incident's entries in the journal, verified (exit 5 when broken or tampered).
    Journal { id: String },
    /// Obligations due within a window or late, over all open incidents (exit 5 when any is late).
    Due {
        /// Window, e.g. 6h, 30m, 2d.
        #[arg(long, default_value = "24h")]
        within: String,
        /// The instant to compute at (RFC 3339); now by default.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        facility: Option<String>,
    },
    /// The facility's personal-data breach register (GDPR 33(5)).
    Register {
        #[arg(long)]
        facility: String,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// The evidence-preservation checklist of a malicious incident; --tick records an item done
    /// (who and when), journalled.
    Evidence(super::incident_evidence::EvidenceArgs),
    /// The incident file for an auditor (--format json, html or md).
    Export {
        id: String,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// Facts given as flags (all optional; `--from FILE` gives them as JSON, flags win).
#[derive(Args, Default)]
pub struct FactArgs {
    /// JSON file of facts (keys: facility, title, awareness, serious, personal_data_breach, nis2_significant, ...).
    #[arg(long)]
    from: Option<PathBuf>,
    /// FINESS of the facility.
    #[arg(long)]
    facility: Option<String>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// ransomware, phishing, intrusion, data_breach, unavailability, malware, denial_of_service, account_compromise, fraud, loss, other (repeatable).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// manual, alert, finding, external
    #[arg(long)]
    detection_source: Option<String>,
    /// Id of a detection alert (repeatable).
    #[arg(long = "alert")]
    alerts: Vec<String>,
    /// Id of an audit finding (repeatable).
    #[arg(long = "finding")]
    findings: Vec<String>,
    /// IANA time zone of the times given without offset (Europe/Paris by default).
    #[arg(long)]
    timezone: Option<String>,
    #[arg(long)]
    occurrence: Option<String>,
    #[arg(long)]
    detection: Option<String>,
    /// When the facility became aware (RFC 3339, or local time in --timezone).
    #[arg(long)]
    awareness: Option<String>,
    /// Significant or serious incident (D.1111-16-2): --serious or --serious false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    serious: Option<bool>,
    /// D.1111-16-2 criterion met (repeatable): patient_safety, health_data, normal_functioning, territorial, other_establishments.
    #[arg(long = "impact")]
    impact: Vec<String>,
    /// none (no personal data), unlikely, risk, high
    #[arg(long)]
    personal_data_breach: Option<String>,
    #[arg(long = "people-category")]
    people_categories: Vec<String>,
    #[arg(long)]
    people_count: Option<u64>,
    #[arg(long = "record-category")]
    record_categories: Vec<String>,
    #[arg(long)]
    record_count: Option<u64>,
    /// Ground of a GDPR 34(3) exemption from informing the data subjects.
    #[arg(long)]
    gdpr34_exemption: Option<String>,
    /// Override the facility's NIS 2 status: essential, important, out_of_scope, unknown.
    #[arg(long)]
    nis2_status: Option<String>,
    /// Significant incident under NIS 2 art. 23(3): --nis2-significant or --nis2-significant false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    nis2_significant: Option<bool>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    suspected_malicious: Option<bool>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    cross_border: Option<bool>,
    /// Affected system (repeatable).
    #[arg(long = "system")]
    systems: Vec<String>,
    /// Action taken, dated now (repeatable).
    #[arg(long = "action")]
    actions: Vec<String>,
    /// Measure proposed (repeatable).
    #[arg(long = "measure")]
    measures: Vec<String>,
    #[arg(long)]
    consequences: Option<String>,
    #[arg(long)]
    root_cause: Option<String>,
    /// Indicator of compromise (repeatable).
    #[arg(long = "ioc")]
    iocs: Vec<String>,
    #[arg(long)]
    dpo_contact: Option<String>,
    #[arg(long)]
    ciso_contact: Option<String>,
    /// Internal target for CERT Santé "sans délai" (default 24h).
    #[arg(long)]
    cert_sante_target: Option<String>,
    /// When the CSIRT requested an intermediate report (NIS 2 art. 23(4)(c)).
    #[arg(long)]
    intermediate_requested_at: Option<String>,
    #[arg(long)]
    intermediate_due: Option<String>,
    /// End of handling.
    #[arg(long)]
    resolved_at: Option<String>,
    /// The facility's cyber-insurance policy (insurer and number): makes the complaint within 72 h a legal condition of payment (Code des assurances L.12-10-1).
    #[arg(long)]
    cyber_insurance: Option<String>,
    /// When the complaint was filed (RFC 3339); with --complaint-service.
    #[arg(long)]
    complaint_filed_at: Option<String>,
    /// The police or gendarmerie service, or the prosecutor, that received the complaint.
    #[arg(long)]
    complaint_service: Option<String>,
    /// The complaint's reference number.
    #[arg(long)]
    complaint_reference: Option<String>,
}

#[derive(Args)]
pub struct OpenArgs {
    #[command(flatten)]
    facts: FactArgs,
}

#[derive(Args)]
pub struct UpdateArgs {
    id: String,
    /// contained or resolved (forward only).
    #[arg(long)]
    status: Option<String>,
    #[command(flatten)]
    facts: FactArgs,
}

#[derive(Args)]
pub struct NotifyArgs {
    id: String,
    #[arg(long)]
    duty: String,
    /// Reference number given by the recipient (portal, CNIL, ANSSI).
    #[arg(long)]
    reference: Option<String>,
    /// When it was sent (RFC 3339); now by default.
    #[arg(long)]
    sent_at: Option<String>,
    /// initial or complement (phased notification).
    #[arg(long, default_value = "initial")]
    phase: String,
    /// Reasons for a delay (required for the CNIL after 72 h).
    #[arg(long)]
    late_reason: Option<String>,
    /// The text actually sent, when it differs from the generated draft.
    #[arg(long)]
    text: Option<PathBuf>,
    /// How it was sent: portal, e-mail, letter...
    #[arg(long)]
    channel: Option<String>,
}

pub(super) fn inv(e: IncidentError) -> anyhow::Error {
    exit::invalid(e.to_string())
}

fn change_error(e: hygie_store::IncidentChangeError) -> anyhow::Error {
    match e {
        hygie_store::IncidentChangeError::Incident(e) => inv(e),
        hygie_store::IncidentChangeError::Store(e) => e.into(),
    }
}

/// Drafts are in French unless `--lang`/`HYGIE_LANG` ask otherwise.
fn draft_lang(ctx: &Ctx) -> Lang {
    let explicit = std::env::var_os("HYGIE_LANG").is_some()
        || std::env::args().any(|a| a == "--lang" || a.starts_with("--lang="));
    if explicit { ctx.lang } else { Lang::Fr }
}

fn read_input(a: &FactArgs) -> anyhow::Result<FactsInput> {
    let mut i = match &a.from {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| exit::invalid(format!("cannot read {}: {e}", p.display())))?;
            serde_json::from_str::<FactsInput>(&text).map_err(|e| {
                exit::invalid(format!(
                    "{}: line {}, column {}: {e}",
                    p.display(),
                    e.line(),
                    e.column()
                ))
            })?
        }
        None => FactsInput::default(),
    };
    macro_rules! set {
        ($f:ident) => {
            if a.$f.is_some() {
                i.$f = a.$f.clone();
            }
        };
    }
    set!(facility);
    set!(title);
    set!(description);
    set!(detection_source);
    set!(timezone);
    set!(occurrence);
    set!(detection);
    set!(awareness);
    set!(serious);
    set!(personal_data_breach);
    set!(people_count);
    set!(record_count);
    set!(gdpr34_exemption);
    set!(nis2_status);
    set!(nis2_significant);
    set!(suspected_malicious);
    set!(cross_border);
    set!(consequences);
    set!(root_cause);
    set!(dpo_contact);
    set!(ciso_contact);
    set!(cert_sante_target);
    set!(intermediate_requested_at);
    set!(intermediate_due);
    set!(resolved_at);
    set!(cyber_insurance);
    set!(complaint_filed_at);
    set!(complaint_service);
    set!(complaint_reference);
    if !a.categories.is_empty() {
        i.categories = Some(a.categories.clone());
    }
    if !a.impact.is_empty() {
        i.impact = Some(a.impact.clone());
    }
    if !a.people_categories.is_empty() {
        i.people_categories = Some(a.people_categories.clone());
    }
    if !a.record_categories.is_empty() {
        i.record_categories = Some(a.record_categories.clone());
    }
    i.alert_ids.extend(a.alerts.iter().cloned());
    i.finding_ids.extend(a.findings.iter().cloned());
    i.affected_systems.extend(a.systems.iter().cloned());
    i.actions
        .extend(a.actions.iter().cloned().map(ActionInput::Text));
    i.measures_proposed.extend(a.measures.iter().cloned());
    i.iocs.extend(a.iocs.iter().cloned());
    Ok(i)
}

fn parse_at(field: &str, s: Option<&str>) -> anyhow::Result<Timestamp> {
    match s {
        None => Ok(Timestamp::now()),
        Some(s) => {
            let tz = clock::zone(field, clock::DEFAULT_TZ).map_err(inv)?;
            Ok(clock::parse_instant(field, s, &tz)
                .map_err(inv)?
                .timestamp())
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: IncidentCmd) -> anyhow::Result<u8> {
    match cmd {
        IncidentCmd::Open(a) => open(ctx, *a).await,
        IncidentCmd::Show { id, as_of } => {
            let now = parse_at("as-of", as_of.as_deref())?;
            let store = ctx.store().await?;
            let inc = store.incident(&id).await?;
            match ctx.format {
                Format::Json => output::json(&export::to_json(&inc, ctx.lang, now).map_err(inv)?)?,
                Format::Table => print!(
                    "{}",
                    export::summary_text(&inc, ctx.lang, now).map_err(inv)?
                ),
                Format::Md | Format::Html => {
                    let text = export_text(ctx, &store, &inc, now).await?;
                    print!("{text}");
                }
                f => return Err(output::unsupported(f, "table, json, md or html")),
            }
            Ok(exit::OK)
        }
        IncidentCmd::List { facility, all } => {
            let facility = facility.as_deref().map(Finess::parse).transpose()?;
            let now = Timestamp::now();
            let store = ctx.store().await?;
            let incs = store.incidents(facility.as_ref(), all).await?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for inc in &incs {
                let (row, json) = export::list_line(inc, ctx.lang, now).map_err(inv)?;
                rows.push(row);
                js.push(json);
            }
            match ctx.format {
                Format::Json => output::json(&js)?,
                Format::Table => print!(
                    "{}",
                    hygie_report::table(&export::list_headers(ctx.lang), &rows)
                ),
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
        IncidentCmd::Update(a) => update(ctx, *a).await,
        IncidentCmd::Notify(a) => notify(ctx, a).await,
        IncidentCmd::Draft {
            id,
            duty,
            output: to,
        } => {
            let duty: Duty = duty.parse().map_err(inv)?;
            let lang = draft_lang(ctx);
            let store = ctx.store().await?;
            let inc = store.incident(&id).await?;
            let d = draft::draft(&inc, duty, lang, Timestamp::now()).map_err(inv)?;
            match ctx.format {
                Format::Md | Format::Table => output::emit(&d.to_markdown(), to.as_deref())?,
                Format::Html => output::emit(&d.to_html(), to.as_deref())?,
                Format::Json => {
                    output::emit(&(serde_json::to_string_pretty(&d)? + "\n"), to.as_deref())?
                }
                f => return Err(output::unsupported(f, "md, html or json")),
            }
            Ok(exit::OK)
        }
        IncidentCmd::Close { id, justification } => {
            let now = Timestamp::now();
            let store = ctx.store().await?;
            let inc = store
                .update_incident(&id, &Actor::cli(), "incident.close", |inc| {
                    ops::close(inc, justification.clone(), now).map_err(inv)
                })
                .await?;
            match ctx.format {
                Format::Json => output::json(
                    &serde_json::json!({"id": inc.id, "status": inc.status.as_str(), "closure": inc.closure}),
                )?,
                _ => println!("Incident {} closed.", inc.id),
            }
            Ok(exit::OK)
        }
        IncidentCmd::Journal { id } => journal(ctx, &id).await,
        IncidentCmd::Due {
            within,
            as_of,
            facility,
        } => due(ctx, &within, as_of.as_deref(), facility.as_deref()).await,
        IncidentCmd::Register {
            facility,
            output: to,
        } => register(ctx, &facility, to).await,
        IncidentCmd::Evidence(a) => super::incident_evidence::run(ctx, a).await,
        IncidentCmd::Export { id, output: to } => {
            let now = Timestamp::now();
            let store = ctx.store().await?;
            let inc = store.incident(&id).await?;
            let text = match ctx.format {
                Format::Json | Format::Table => {
                    let sendings = store.incident_sendings(&id).await?;
                    let journal = store
                        .journal_entries(Some(&hygie_store::incident_subject(&id)), None)
                        .await?;
                    let j = export::export_json(
                        &inc,
                        serde_json::to_value(&sendings)?,
                        &journal,
                        ctx.lang,
                        now,
                    )
                    .map_err(inv)?;
                    serde_json::to_string_pretty(&j)? + "\n"
                }
                Format::Md | Format::Html => export_text(ctx, &store, &inc, now).await?,
                Format::Pdf => {
                    let html = export_text(ctx, &store, &inc, now).await?;
                    let frame = hygie_report::PrintFrame {
                        header: format!(
                            "{} — {}",
                            inc.facts
                                .facility_name
                                .as_deref()
                                .unwrap_or(&inc.facts.facility),
                            inc.id
                        ),
                        date: clock::rfc3339(
                            &now.to_zoned(inc.facts.awareness.time_zone().clone()),
                        ),
                        lang: ctx.lang,
                    };
                    output::pdf(&html, &frame, to.as_deref()).await?;
                    return Ok(exit::OK);
                }
                f => return Err(output::unsupported(f, "json, md, html or pdf")),
            };
            output::emit(&text, to.as_deref())?;
            Ok(exit::OK)
        }
    }
}

async fn open(ctx: &Ctx, a: OpenArgs) -> anyhow::Result<u8> {
    let input = read_input(&a.facts)?;
    let now = Timestamp::now();
    // Validate everything before touching the store (the alerts' pre-filling fills only what
    // is empty, so facts valid here stay valid).
    let mut check = input.clone();
    if check.title.is_none() && !check.alert_ids.is_empty() {
        check.title = Some("-".into());
    }
    check.into_facts(None, now).map_err(inv)?;
    let facility = Finess::parse(input.facility.as_deref().unwrap_or_default())?;
    let store = ctx.store().await?;
    let inc = store
        .open_incident(&facility, input, now, &Actor::cli())
        .await
        .map_err(change_error)?;
    let obs = inc.obligations(now).map_err(inv)?;
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "id": inc.id,
            "obligations": export::obligations_json(&obs, ctx.lang, now),
        }))?,
        _ => {
            println!("{}", inc.id);
            let req: Vec<String> = obs
                .iter()
                .filter(|o| o.required)
                .map(|o| {
                    format!(
                        "{} (due {})",
                        o.duty,
                        o.due.as_ref().map(rfc3339).unwrap_or_else(|| "-".into())
                    )
                })
                .collect();
            eprintln!(
                "Incident {} opened; obligations: {}",
                inc.id,
                req.join(", ")
            );
        }
    }
    Ok(exit::OK)
}

async fn update(ctx: &Ctx, a: UpdateArgs) -> anyhow::Result<u8> {
    let input = read_input(&a.facts)?;
    let status: Option<IncidentStatus> = a
        .status
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(inv)?;
    let now = Timestamp::now();
    let store = ctx.store().await?;
    let inc = store
        .update_incident(&a.id, &Actor::cli(), "incident.update", |inc| {
            ops::update(inc, &input, status, now).map_err(inv)
        })
        .await?;
    let obs = inc.obligations(now).map_err(inv)?;
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "id": inc.id, "status": inc.status.as_str(),
            "obligations": export::obligations_json(&obs, ctx.lang, now),
        }))?,
        _ => print!(
            "{}",
            export::summary_text(&inc, ctx.lang, now).map_err(inv)?
        ),
    }
    Ok(exit::OK)
}

async fn notify(ctx: &Ctx, a: NotifyArgs) -> anyhow::Result<u8> {
    let duty: Duty = a.duty.parse().map_err(inv)?;
    let phase: Phase = a.phase.parse().map_err(inv)?;
    let lang = draft_lang(ctx);
    let text = match &a.text {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| exit::invalid(format!("cannot read {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let now = Timestamp::now();
    let store = ctx.store().await?;
    let sending = ops::SendingInput {
        duty,
        sent_at: a.sent_at.clone(),
        reference: a.reference.clone(),
        phase,
        lang,
        late_reason: a.late_reason.clone(),
        text,
        channel: a.channel.clone(),
    };
    let inc = store
        .update_incident(&a.id, &Actor::cli(), "incident.notify", |inc| {
            ops::record_sending(inc, &sending, now).map_err(inv)
        })
        .await?;
    let o = inc.obligation(duty, now).map_err(inv)?;
    let at = o.sent_at.as_ref().map(rfc3339).unwrap_or_default();
    let late = |lang| o.sent_late_by.map(|d| clock::human_in(d, lang));
    let text = hygie_core::Localized::new(
        format!(
            "{} recorded as sent for {} at {at}{}.",
            duty.label().en,
            inc.id,
            late(Lang::En)
                .map(|d| format!(" ({d} after the due time)"))
                .unwrap_or_default()
        ),
        format!(
            "{} : envoi enregistré pour {} le {at}{}.",
            duty.label().fr,
            inc.id,
            late(Lang::Fr)
                .map(|d| format!(" ({d} après l'échéance)"))
                .unwrap_or_default()
        ),
    );
    ctx.print_outcome(&o.to_json(ctx.lang, now), text)?;
    Ok(exit::OK)
}

async fn journal(ctx: &Ctx, id: &str) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    let subject = hygie_store::incident_subject(id);
    let (stored_digest, recomputed) = store.incident_digests(id).await?;
    let entries = store.journal_entries(Some(&subject), None).await?;
    let chain = store.verify_journal().await?;
    let broken = match &chain {
        JournalCheck::Broken(b) => Some(b.to_string()),
        JournalCheck::Intact { .. } => None,
    };
    let problems =
        integrity::record_problems(broken.as_deref(), &stored_digest, &recomputed, &entries);
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "id": id,
            "intact": problems.is_empty(),
            "problems": problems,
            "chain_entries": match chain { JournalCheck::Intact { entries } => Some(entries), JournalCheck::Broken(_) => None },
            "entries": entries,
        }))?,
        _ => {
            print!("{}", super::journal::entries_table(&entries, false));
            if problems.is_empty() {
                println!(
                    "Intact: {} entries for {id}; whole chain verified; record matches the journal.",
                    entries.len()
                );
            } else {
                for p in &problems {
                    eprintln!("BROKEN: {p}");
                }
            }
        }
    }
    Ok(if problems.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

async fn due(
    ctx: &Ctx,
    within: &str,
    as_of: Option<&str>,
    facility: Option<&str>,
) -> anyhow::Result<u8> {
    let window = clock::parse_duration("within", within).map_err(inv)?;
    let now = parse_at("as-of", as_of)?;
    let facility = facility.map(Finess::parse).transpose()?;
    let horizon = now
        .checked_add(window)
        .map_err(|e| exit::invalid(format!("--within {within}: {e}")))?;
    let store = ctx.store().await?;
    let incs = store.incidents(facility.as_ref(), false).await?;
    let list = due::due_within(&incs, now, horizon).map_err(inv)?;
    let late = list.late;
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "as_of": now.to_string(),
            "within": within,
            "late": late,
            "items": list.items.iter().map(|i| i.to_json(ctx.lang, now)).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            let rows: Vec<Vec<String>> = list.items.iter().map(|i| i.row(ctx.lang, now)).collect();
            if rows.is_empty() {
                println!("Nothing due within {within} and nothing late.");
            } else {
                print!("{}", hygie_report::table(&due::HEADERS, &rows));
            }
            if late > 0 {
                eprintln!("{late} obligation(s) LATE");
            }
        }
        f => return Err(output::unsupported(f, "table or json")),
    }
    Ok(if late > 0 { exit::FINDINGS } else { exit::OK })
}

async fn register(ctx: &Ctx, facility: &str, to: Option<PathBuf>) -> anyhow::Result<u8> {
    let facility = Finess::parse(facility)?;
    let now = Timestamp::now();
    let store = ctx.store().await?;
    let fac = store.facility(&facility).await?;
    let incs = store.incidents(Some(&facility), true).await?;
    let register = Register::new(&fac.id, &fac.name, &incs, ctx.lang, now).map_err(inv)?;
    let text = match ctx.format {
        Format::Json => serde_json::to_string_pretty(&register.to_json())? + "\n",
        Format::Table => register.to_table(),
        Format::Csv => register.to_csv(),
        Format::Md => register.to_markdown(),
        Format::Html => register.to_html(),
        Format::Pdf => {
            let frame = hygie_report::PrintFrame {
                header: format!("{} ({})", fac.name, fac.id),
                date: now
                    .to_zoned(clock::zone("timezone", clock::DEFAULT_TZ).map_err(inv)?)
                    .date()
                    .to_string(),
                lang: ctx.lang,
            };
            output::pdf(&register.to_html(), &frame, to.as_deref()).await?;
            return Ok(exit::OK);
        }
        f @ Format::Svg => return Err(output::unsupported(f, "table, json, csv, md, html or pdf")),
    };
    output::emit(&text, to.as_deref())?;
    Ok(exit::OK)
}

/// The incident file as Markdown or HTML (`--format`), with the incident's journal slice.
async fn export_text(
    ctx: &Ctx,
    store: &Store,
    inc: &Incident,
    now: Timestamp,
) -> anyhow::Result<String> {
    let journal = store
        .journal_entries(Some(&hygie_store::incident_subject(&inc.id)), None)
        .await
        .context("reading the incident's journal")?;
    let text = if matches!(ctx.format, Format::Html | Format::Pdf) {
        export::export_html(inc, &journal, ctx.lang, now)
    } else {
        export::export_markdown(inc, &journal, ctx.lang, now)
    };
    text.map_err(inv)
}
