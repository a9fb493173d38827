//! `hygie notify`: e-mail reminders of the incidents' legal clocks. What is due is
//! `hygie-notify`'s (pure); who holds a role is the governance register's; the sending state is
//! the store's (`notify_reminders`, claimed with its journal entry before sending); the SMTP
//! client is `notify_smtp`. `hygie serve --notify-every` runs the same [`run_once`].

use super::Ctx;
use super::notify_digest::Settings;
use super::notify_smtp::{Smtp, SmtpArgs};
use crate::exit;
use crate::output::{self, Format};
use clap::{Args, Subcommand};
use hygie_core::{Finess, Lang};
use hygie_notify::{Recipient, Reminder};
use hygie_store::{Actor, SentMessage, Store};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

#[derive(Subcommand)]
pub enum NotifyCmd {
    /// Send the reminders due now (or print them with --dry-run): obligations entering a window
    /// before their deadline (24 h, 4 h, 1 h by default) and late ones, to the roles each duty
    /// concerns; recurring measures 30 and 7 days before they expire and once expired, to their
    /// owner (the CISO by default); the ARS's evidence requests 7 and 1 days before their due
    /// day and once overdue, to the CISO; the weekly digest of each facility (to its CISO) and
    /// of each region (to its officers), once a week; each reminder once.
    Run(Box<RunArgs>),
    /// The reminders claimed and sent so far.
    List,
    /// The webhook deliveries, most recent first: state, attempts, last status code.
    Webhooks {
        /// Only the failed ones.
        #[arg(long)]
        failed: bool,
        /// Only this facility's.
        #[arg(long)]
        facility: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// Print what would be sent; send nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The instant to compute at (RFC 3339); now by default. Only with --dry-run: a real
    /// sending is about now.
    #[arg(long, requires = "dry_run")]
    pub as_of: Option<String>,
    /// The windows before a deadline, e.g. 24h,4h,1h.
    #[arg(long, env = "HYGIE_NOTIFY_WINDOWS", default_value = "24h,4h,1h")]
    pub windows: String,
    /// The days before a recurring measure expires when its owner is reminded, e.g. 30d,7d
    /// (and once more when it has expired).
    #[arg(long, env = "HYGIE_NOTIFY_RENEWAL_WINDOWS", default_value = "30d,7d")]
    pub renewal_windows: String,
    /// Only this facility's incidents and measures.
    #[arg(long)]
    pub facility: Option<String>,
    #[command(flatten)]
    pub digests: super::notify_digest::DigestArgs,
    #[command(flatten)]
    pub smtp: SmtpArgs,
    #[command(flatten)]
    pub webhooks: super::notify_webhook::WebhookArgs,
}

/// What became of one reminder in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Dry run: would be sent.
    Due,
    /// Sent now.
    Sent,
    /// Sent (or claimed) earlier, by this or another process.
    Already,
    /// Claimed earlier by a process that did not confirm the sending.
    Unconfirmed,
    /// No holder of its roles has an e-mail address.
    NoRecipient,
    /// The server refused or could not be reached; released for the next run.
    Failed,
}

impl Fate {
    fn as_str(self) -> &'static str {
        match self {
            Fate::Due => "due",
            Fate::Sent => "sent",
            Fate::Already => "already_sent",
            Fate::Unconfirmed => "unconfirmed",
            Fate::NoRecipient => "no_recipient",
            Fate::Failed => "failed",
        }
    }
}

/// The outcome of one run, a line per reminder.
#[derive(Debug, Default)]
pub struct RunReport {
    pub items: Vec<(serde_json::Value, Fate)>,
    pub errors: Vec<String>,
}

impl RunReport {
    pub fn count(&self, f: Fate) -> usize {
        self.items.iter().filter(|(_, x)| *x == f).count()
    }
}

pub async fn run(ctx: &Ctx, cmd: NotifyCmd) -> anyhow::Result<u8> {
    match cmd {
        NotifyCmd::Run(a) => run_cmd(ctx, *a).await,
        NotifyCmd::List => {
            let store = ctx.store().await?;
            let states = store.reminder_states().await?;
            ctx.print_list(
                &states,
                &["Reminder", "State", "Messages", "Claimed by", "Sent"],
                |s| {
                    vec![
                        s.key.clone(),
                        s.state.clone(),
                        s.messages.to_string(),
                        s.claimed_by.clone(),
                        s.sent_at.map(|t| t.to_string()).unwrap_or_default(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        NotifyCmd::Webhooks {
            failed,
            facility,
            limit,
        } => {
            let facility = facility.as_deref().map(Finess::parse).transpose()?;
            let store = ctx.store().await?;
            let rows = store
                .webhook_deliveries(facility.as_ref(), failed, limit.clamp(1, 10_000))
                .await?;
            ctx.print_list(
                &rows,
                &[
                    "Event", "Endpoint", "Facility", "State", "Attempts", "Status", "Error",
                    "Updated",
                ],
                |d| {
                    vec![
                        d.event.clone(),
                        d.endpoint.clone(),
                        d.facility.clone(),
                        d.state.clone(),
                        d.attempts.to_string(),
                        d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                        d.last_error.clone().unwrap_or_default(),
                        d.updated_at.to_string(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
    }
}

async fn run_cmd(ctx: &Ctx, a: RunArgs) -> anyhow::Result<u8> {
    let settings = Settings::load(
        ("windows", &a.windows),
        ("renewal-windows", &a.renewal_windows),
        &a.digests,
    )?;
    let now = match &a.as_of {
        Some(s) => {
            let tz = hygie_incident::clock::zone("as-of", hygie_incident::clock::DEFAULT_TZ)
                .map_err(|e| exit::invalid(e.to_string()))?;
            hygie_incident::clock::parse_instant("as-of", s, &tz)
                .map_err(|e| exit::invalid(e.to_string()))?
                .timestamp()
        }
        None => Timestamp::now(),
    };
    let facility = a.facility.as_deref().map(Finess::parse).transpose()?;
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    // The SMTP and webhook settings are read before the store is opened: bad settings change
    // nothing. With webhooks and no SMTP server, only the webhooks are sent.
    let hooks = a.webhooks.load()?;
    let mail =
        a.dry_run || hooks.is_none() || a.smtp.smtp_host.is_some() || a.smtp.smtp_config.is_some();
    let smtp = if a.dry_run || !mail {
        None
    } else {
        Some(a.smtp.connect()?)
    };
    let store = ctx.store().await?;
    let mut report = if mail {
        run_once(
            &store,
            smtp.as_ref(),
            now,
            &settings,
            facility.as_ref(),
            ctx.lang,
        )
        .await?
    } else {
        RunReport::default()
    };
    let hooks_report = match (&hooks, a.dry_run) {
        (Some(h), false) => {
            // Its own name: the leases of the deliveries it claims are checked against it.
            let actor = Actor(format!("notify/{}", std::process::id()));
            let r = super::notify_webhook::pass(
                &store,
                h,
                now,
                (&settings.windows, &settings.renewals),
                facility.as_ref(),
                &actor,
            )
            .await?;
            for e in &r.retries {
                eprintln!("webhook to retry: {e}");
            }
            report.errors.extend(r.errors.iter().cloned());
            Some(r)
        }
        _ => None,
    };
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "as_of": now.to_string(),
            "dry_run": a.dry_run,
            "reminders": report.items.iter().map(|(j, f)| {
                let mut j = j.clone();
                if let serde_json::Value::Object(m) = &mut j {
                    m.insert("outcome".into(), f.as_str().into());
                }
                j
            }).collect::<Vec<_>>(),
            "webhooks": hooks_report.as_ref().map(|w| serde_json::json!({
                "events": w.events, "queued": w.queued, "dropped": w.dropped,
                "delivered": w.delivered, "retried": w.retried, "failed": w.failed,
            })),
            "errors": report.errors,
        }))?,
        _ => {
            let rows: Vec<Vec<String>> = report
                .items
                .iter()
                .map(|(j, f)| {
                    let s = |k: &str| j.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                    let to = j
                        .get("recipients")
                        .and_then(|r| r.as_array())
                        .map(|r| {
                            r.iter()
                                .filter_map(|x| x.get("role").and_then(|v| v.as_str()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    vec![s("key"), s("due"), to, f.as_str().to_owned()]
                })
                .collect();
            if let Some(w) = &hooks_report {
                println!(
                    "Webhooks: {} new event(s), {} delivery(ies) queued, {} delivered, {} to retry, {} failed, {} dropped (queue full).",
                    w.events, w.queued, w.delivered, w.retried, w.failed, w.dropped
                );
            }
            if rows.is_empty() {
                println!("No reminder due at {now}.");
            } else {
                print!(
                    "{}",
                    hygie_report::table(&["Reminder", "Due", "To (roles)", "Outcome"], &rows)
                );
            }
        }
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    Ok(if report.errors.is_empty() {
        exit::OK
    } else {
        exit::RUNTIME
    })
}

/// The facility's roles and people, and the languages of its people.
pub(super) struct Register {
    pub name: String,
    pub roles: Vec<hygie_governance::org::Assignment>,
    pub people: Vec<hygie_governance::org::Person>,
    pub langs: HashMap<String, Lang>,
}

/// A person's language: that of the web account with the person's id as its login, else
/// `default` (the people register has no language of its own).
pub(super) async fn register_of(
    store: &Store,
    id: &str,
    default: Lang,
) -> anyhow::Result<Register> {
    let finess = Finess::parse(id)?;
    let fac = store.facility(&finess).await?;
    let roles: Vec<_> = store
        .roles(&finess)
        .await?
        .into_iter()
        .map(|r| r.assignment)
        .collect();
    let people = store.people(&finess).await?;
    let mut langs = HashMap::new();
    for a in &roles {
        if langs.contains_key(&a.person) {
            continue;
        }
        let lang = match store.user_named(&a.person).await {
            Ok(u) => u
                .lang
                .as_deref()
                .and_then(|l| l.parse().ok())
                .unwrap_or(default),
            Err(hygie_store::StoreError::NotFound(_)) => default,
            Err(e) => return Err(e.into()),
        };
        langs.insert(a.person.clone(), lang);
    }
    Ok(Register {
        name: fac.name,
        roles,
        people,
        langs,
    })
}

/// One pass: compute the reminders due at `now` (the incidents' clocks, the recurring
/// measures' renewals, the ARS requests, the weekly digests: `settings`) and, with `smtp`,
/// send each not yet sent (claimed first, recorded after); without it, only say what would be
/// sent.
pub async fn run_once(
    store: &Store,
    smtp: Option<&Smtp>,
    now: Timestamp,
    settings: &Settings,
    facility: Option<&Finess>,
    default_lang: Lang,
) -> anyhow::Result<RunReport> {
    let windows = &settings.windows;
    let incidents = store.incidents(facility, false).await?;
    let due = hygie_notify::due_reminders(&incidents, now, windows)
        .map_err(|e| exit::invalid(e.to_string()))?;
    let states: BTreeMap<String, String> = store
        .reminder_states()
        .await?
        .into_iter()
        .map(|s| (s.key, s.state))
        .collect();
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let date = now.to_zoned(tz).date();
    let actor = Actor("notify".to_owned());
    let mut registers: HashMap<String, Register> = HashMap::new();
    let mut report = RunReport::default();
    for r in &due {
        let fac = &r.incident.facts.facility;
        if !registers.contains_key(fac) {
            registers.insert(fac.clone(), register_of(store, fac, default_lang).await?);
        }
        let Some(reg) = registers.get(fac) else {
            continue;
        };
        let to = hygie_notify::recipients(r.obligation.duty, &reg.roles, &reg.people, date, |p| {
            reg.langs.get(p).copied().unwrap_or(default_lang)
        });
        let json = r.to_json(&to, &reg.name, now);
        let key = r.key();
        let reachable: Vec<&Recipient> = to.iter().filter(|p| p.email.is_some()).collect();
        let fate = match fate_before(&states, &key, reachable.len()) {
            Some(f) => f,
            None => match smtp {
                None => Fate::Due,
                Some(smtp) => {
                    send(
                        store,
                        smtp,
                        r,
                        &reachable,
                        &reg.name,
                        now,
                        &actor,
                        &mut report.errors,
                    )
                    .await?
                }
            },
        };
        report.items.push((json, fate));
    }
    let pass = Pass {
        store,
        smtp,
        now,
        facility,
        default_lang,
        states: &states,
    };
    super::notify_renewal::pass(&pass, &settings.renewals, &mut report).await?;
    super::notify_digest::request_pass(&pass, &settings.requests, &mut report).await?;
    if let Some(schedule) = &settings.digest {
        super::notify_digest::facility_pass(&pass, schedule, &mut report).await?;
        if facility.is_none() {
            super::notify_digest::region_pass(&pass, settings, &mut report).await?;
        }
    }
    Ok(report)
}

/// What every pass of a run reads: the store, the mail server (none: only say what is due),
/// the run's time, the facility it is limited to, the language of recipients who chose none,
/// and the sending states already recorded.
pub(super) struct Pass<'a> {
    pub store: &'a Store,
    pub smtp: Option<&'a Smtp>,
    pub now: Timestamp,
    pub facility: Option<&'a Finess>,
    pub default_lang: Lang,
    pub states: &'a BTreeMap<String, String>,
}

/// Claim, send to each reachable recipient, then record (or release after a total failure).
#[allow(clippy::too_many_arguments)]
async fn send(
    store: &Store,
    smtp: &Smtp,
    r: &Reminder<'_>,
    to: &[&Recipient],
    facility_name: &str,
    now: Timestamp,
    actor: &Actor,
    errors: &mut Vec<String>,
) -> anyhow::Result<Fate> {
    let key = r.key();
    let claimed = store
        .claim_reminder(
            &key,
            &r.incident.id,
            r.obligation.duty.as_str(),
            &r.slot.label(),
            actor,
        )
        .await?;
    if !claimed {
        return Ok(Fate::Already);
    }
    let messages: Vec<Outgoing> = to
        .iter()
        .filter_map(|p| Outgoing::to(p, r.message(facility_name, p.lang, now)))
        .collect();
    deliver(store, smtp, &key, &messages, actor, errors).await
}

/// What a reminder's stored state says of it before sending: `None` when it is still to send.
pub(super) fn fate_before(
    states: &BTreeMap<String, String>,
    key: &str,
    reachable: usize,
) -> Option<Fate> {
    match states.get(key).map(String::as_str) {
        Some("sent") => Some(Fate::Already),
        Some(_) => Some(Fate::Unconfirmed),
        None if reachable == 0 => Some(Fate::NoRecipient),
        None => None,
    }
}

/// One message to send: to whom (the role the journal names, the name, the address, the
/// language) and what.
pub(super) struct Outgoing {
    pub role: String,
    pub name: String,
    pub email: String,
    pub lang: Lang,
    pub message: hygie_notify::Message,
}

impl Outgoing {
    /// The message for a recipient of the register; none without an address.
    pub fn to(p: &Recipient, message: hygie_notify::Message) -> Option<Outgoing> {
        Some(Outgoing {
            role: p.role.as_str().to_owned(),
            name: p.name.clone(),
            email: p.email.clone()?,
            lang: p.lang,
            message,
        })
    }
}

/// A reminder about a facility or a region (`notify_scoped_reminders`): its key, scope, kind,
/// subject and slot.
pub(super) struct Scoped<'a> {
    pub key: &'a str,
    pub scope: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub slot: &'a str,
}

/// Claim a scoped reminder, then send its messages (made only once claimed) and record it:
/// the renewals', the digests' and the requests' one path.
pub(super) async fn send_scoped(
    store: &Store,
    smtp: &Smtp,
    r: Scoped<'_>,
    messages: impl FnOnce() -> Vec<Outgoing>,
    actor: &Actor,
    errors: &mut Vec<String>,
) -> anyhow::Result<Fate> {
    if !store
        .claim_scoped_reminder(r.key, r.scope, r.kind, r.subject, r.slot, actor)
        .await?
    {
        return Ok(Fate::Already);
    }
    deliver(store, smtp, r.key, &messages(), actor, errors).await
}

/// Send a claimed reminder's messages, then record it sent (with each message's role,
/// language, subject and digest) or release it when none went out.
pub(super) async fn deliver(
    store: &Store,
    smtp: &Smtp,
    key: &str,
    messages: &[Outgoing],
    actor: &Actor,
    errors: &mut Vec<String>,
) -> anyhow::Result<Fate> {
    let mut sent = Vec::new();
    let mut failed = Vec::new();
    for m in messages {
        match smtp.send(&m.name, &m.email, &m.message).await {
            Ok(()) => sent.push(SentMessage {
                role: m.role.clone(),
                lang: m.lang.code().to_owned(),
                subject: m.message.subject.clone(),
                digest: m.message.digest(),
            }),
            Err(e) => failed.push(format!("{key} to the {}: {e}", m.role)),
        }
    }
    let fate = if sent.is_empty() {
        store
            .release_reminder(key, &failed.join("; "), actor)
            .await?;
        Fate::Failed
    } else {
        store.reminder_sent(key, &sent, actor).await?;
        Fate::Sent
    };
    errors.extend(failed);
    Ok(fate)
}
