//! The weekly digests and the ARS request reminders of `hygie notify run` (and of `hygie serve
//! --notify-every`): what is due and the text are `hygie_notify::digest` and
//! `hygie_notify::requests` (pure; the digests' text is hygie-report's templates); each goes
//! through the same claim → send → sent path as the renewals (`notify::send_scoped`, the
//! store's `notify_scoped_reminders`, kinds `digest` and `request`).
//!
//! A facility's digest goes to its CISO(s) from the governance register, in their language; a
//! region's to the officers listed for it in `--region-officers` (Hygie's users have no
//! address). The journal keeps each message's role, subject and digest, never its body.

use super::notify::{
    Fate, Outgoing, Pass, RunReport, Scoped, fate_before, register_of, send_scoped,
};
use crate::exit;
use hygie_core::{Finess, Lang, Region};
use hygie_governance::org::Role;
use hygie_notify::Recipient;
use hygie_notify::digest::{self, CampaignStates, FacilityInput, Officer, OpenRequest, Schedule};
use hygie_notify::renewal::{RenewalWindows, due_renewals};
use hygie_notify::requests::due_request_reminders;
use hygie_store::{Actor, Store};
use hygie_sync::AnswerState;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The digests' and the request reminders' settings, shared by `notify run` and `serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct DigestArgs {
    /// When the weekly digests go out, Paris time: a weekday and a time ("monday 07:00",
    /// "lundi 7h"), or "off". A digest not sent at that time (server stopped) goes out at the
    /// next pass of the same week, once.
    #[arg(long, env = "HYGIE_NOTIFY_DIGEST_AT", default_value = "monday 07:00")]
    pub digest_at: String,
    /// Days before an ARS evidence request's due day when the facility's CISO is reminded,
    /// e.g. 7d,1d (and once more when it is overdue).
    #[arg(long, env = "HYGIE_NOTIFY_REQUEST_WINDOWS", default_value = "7d,1d")]
    pub request_windows: String,
    /// TOML file of the regional officers who receive their region's weekly digest:
    /// `[[officer]]` entries with region (code), name, email and lang (fr or en).
    #[arg(long, env = "HYGIE_NOTIFY_OFFICERS", value_name = "FILE")]
    pub region_officers: Option<PathBuf>,
}

/// What a pass sends and when.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The incidents' windows before a deadline.
    pub windows: hygie_notify::Windows,
    /// The days before a recurring measure expires.
    pub renewals: RenewalWindows,
    /// The days before an ARS request is due.
    pub requests: RenewalWindows,
    /// When the weekly digests go out; `None`: no digest.
    pub digest: Option<Schedule>,
    pub officers: Vec<Officer>,
}

impl Settings {
    /// Every setting checked (each error names its flag); the officers' file read.
    pub fn load(
        (windows_flag, windows): (&str, &str),
        (renewals_flag, renewals): (&str, &str),
        d: &DigestArgs,
    ) -> anyhow::Result<Settings> {
        let digest = if d.digest_at.trim().eq_ignore_ascii_case("off") {
            None
        } else {
            Some(Schedule::parse("--digest-at", &d.digest_at).map_err(invalid)?)
        };
        let officers = match &d.region_officers {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    exit::invalid(format!("--region-officers {}: {e}", p.display()))
                })?;
                digest::parse_officers(&p.display().to_string(), &text).map_err(invalid)?
            }
            None => Vec::new(),
        };
        Ok(Settings {
            windows: hygie_notify::Windows::parse(windows_flag, windows).map_err(invalid)?,
            renewals: RenewalWindows::parse(renewals_flag, renewals).map_err(invalid)?,
            requests: RenewalWindows::parse("--request-windows", &d.request_windows)
                .map_err(invalid)?,
            digest,
            officers,
        })
    }
}

fn invalid(e: impl std::fmt::Display) -> anyhow::Error {
    exit::invalid(e.to_string())
}

fn paris_date(now: Timestamp) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    now.to_zoned(tz).date()
}

/// The facilities a pass covers: `facility`, or every one.
async fn facility_ids(store: &Store, facility: Option<&Finess>) -> anyhow::Result<Vec<Finess>> {
    Ok(match facility {
        Some(f) => vec![f.clone()],
        None => store
            .facilities(None)
            .await?
            .into_iter()
            .map(|f| f.id)
            .collect(),
    })
}

/// What a dry run prints of a digest or request reminder: its recipients with their subjects.
fn recipients_json(to: &[Recipient], subject: impl Fn(Lang) -> String) -> serde_json::Value {
    to.iter()
        .map(|r| {
            serde_json::json!({
                "role": r.role.as_str(), "person": r.person, "email": r.email,
                "lang": r.lang.code(), "subject": subject(r.lang),
            })
        })
        .collect()
}

/// A facility's digest of the week of `slot`, from the store.
async fn build_facility(
    store: &Store,
    id: &Finess,
    slot: &jiff::Zoned,
    now: Timestamp,
) -> anyhow::Result<hygie_report::digest::FacilityDigest> {
    let catalog = super::catalog()?;
    let status = store.facility_status(&catalog, id, paris_date(now)).await?;
    let declarations = store.declarations(id).await?;
    let thirty =
        RenewalWindows::parse("digest", "30d").map_err(|e| exit::invalid(e.to_string()))?;
    let expiring = due_renewals(&status, &catalog, &declarations, now, &thirty);
    let incidents = store.incidents(Some(id), false).await?;
    let alerts = store
        .alert_counts(id, digest::week_start(slot), slot.timestamp())
        .await?;
    let runs = store.check_run_list(id).await?;
    // The facility report's executive summary lists the last audits the same way.
    let audits = hygie_web::pdf::status_summary(&[], &runs, Lang::En, now)
        .map_err(|e| exit::invalid(e.to_string()))?
        .audits;
    let requests = store
        .received_requests(id, now)
        .await?
        .into_iter()
        .filter(|r| matches!(r.state, AnswerState::Open | AnswerState::Overdue))
        .map(|r| OpenRequest {
            region: r.region,
            campaign: r.request.campaign,
            measures: r.request.measures.iter().map(ToString::to_string).collect(),
            due: r.request.due,
            state: r.state.label(),
        })
        .collect();
    digest::facility_digest(
        FacilityInput {
            status: &status,
            expiring: &expiring,
            incidents: &incidents,
            alerts,
            audits,
            requests,
        },
        slot,
        now,
    )
    .map_err(|e| exit::invalid(e.to_string()))
}

/// The facilities' weekly digests due at `now` (this week's, once its slot has passed), to
/// each facility's CISO.
pub(super) async fn facility_pass(
    p: &Pass<'_>,
    schedule: &Schedule,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let Pass {
        store,
        smtp,
        now,
        facility,
        default_lang,
        states,
    } = *p;
    let Some(slot) = schedule.slot_at(now) else {
        return Ok(());
    };
    let week = digest::week_label(&slot);
    let date = paris_date(now);
    let actor = Actor("notify".to_owned());
    for id in facility_ids(store, facility).await? {
        let key = digest::facility_key(id.as_str(), &week);
        if states.contains_key(&key) {
            // Sent (or claimed) this week: nothing more to read.
            let json = serde_json::json!({
                "key": key, "kind": "digest", "facility": id.as_str(), "week": week,
                "due": slot.timestamp().to_string(), "roles": ["ciso"], "recipients": [],
            });
            let fate = fate_before(states, &key, 1).unwrap_or(Fate::Already);
            report.items.push((json, fate));
            continue;
        }
        let reg = register_of(store, id.as_str(), default_lang).await?;
        let to = hygie_notify::holders_of(Role::Ciso, &reg.roles, &reg.people, date, |p| {
            reg.langs.get(p).copied().unwrap_or(default_lang)
        });
        let reachable: Vec<&Recipient> = to.iter().filter(|p| p.email.is_some()).collect();
        let before = fate_before(states, &key, reachable.len());
        // Built only when it may go out: a pass after the week's sending reads nothing more.
        let built = match before {
            None => Some(build_facility(store, &id, &slot, now).await?),
            Some(_) => None,
        };
        let mut json = serde_json::json!({
            "key": key, "kind": "digest", "facility": id.as_str(), "week": week,
            "due": slot.timestamp().to_string(), "roles": ["ciso"],
            "recipients": recipients_json(&to, |lang| match &built {
                Some(d) => digest::facility_message(d, lang).subject,
                None => String::new(),
            }),
        });
        if let (Some(d), serde_json::Value::Object(m)) = (&built, &mut json) {
            m.insert(
                "summary".into(),
                serde_json::json!({
                    "level_reached": d.level_reached, "score": d.score, "late": d.late.len(),
                    "expiring": d.expiring.len(), "incidents": d.incidents.len(),
                    "alerts": d.alerts.iter().map(|(_, n)| n).sum::<i64>(),
                    "audits": d.audits.len(), "requests": d.requests.len(),
                }),
            );
        }
        let fate = match (before, smtp, &built) {
            (Some(f), ..) => f,
            (None, None, _) | (None, _, None) => Fate::Due,
            (None, Some(smtp), Some(d)) => {
                let scoped = Scoped {
                    key: &key,
                    scope: id.as_str(),
                    kind: "digest",
                    subject: &week,
                    slot: "weekly",
                };
                let messages = || {
                    reachable
                        .iter()
                        .filter_map(|p| Outgoing::to(p, digest::facility_message(d, p.lang)))
                        .collect()
                };
                send_scoped(store, smtp, scoped, messages, &actor, &mut report.errors).await?
            }
        };
        report.items.push((json, fate));
    }
    Ok(())
}

/// The ARS requests' reminders due at `now` at each facility that received requests, to its
/// CISO.
pub(super) async fn request_pass(
    p: &Pass<'_>,
    windows: &RenewalWindows,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let Pass {
        store,
        smtp,
        now,
        facility,
        default_lang,
        states,
    } = *p;
    let date = paris_date(now);
    let actor = Actor("notify".to_owned());
    for id in facility_ids(store, facility).await? {
        let received: Vec<_> = store
            .received_requests(&id, now)
            .await?
            .into_iter()
            .map(|r| (r.region, r.request, r.state))
            .collect();
        let due = due_request_reminders(id.as_str(), &received, date, windows);
        if due.is_empty() {
            continue;
        }
        let reg = register_of(store, id.as_str(), default_lang).await?;
        let to = hygie_notify::holders_of(Role::Ciso, &reg.roles, &reg.people, date, |p| {
            reg.langs.get(p).copied().unwrap_or(default_lang)
        });
        let reachable: Vec<&Recipient> = to.iter().filter(|p| p.email.is_some()).collect();
        for r in &due {
            let key = r.key();
            let json = r.to_json(&to, &reg.name);
            let fate = match (fate_before(states, &key, reachable.len()), smtp) {
                (Some(f), _) => f,
                (None, None) => Fate::Due,
                (None, Some(smtp)) => {
                    let campaign = r.request.campaign.to_string();
                    let scoped = Scoped {
                        key: &key,
                        scope: id.as_str(),
                        kind: "request",
                        subject: &campaign,
                        slot: &r.slot.label(),
                    };
                    let messages = || {
                        reachable
                            .iter()
                            .filter_map(|p| Outgoing::to(p, r.message(&reg.name, p.lang)))
                            .collect()
                    };
                    send_scoped(store, smtp, scoped, messages, &actor, &mut report.errors).await?
                }
            };
            report.items.push((json, fate));
        }
    }
    Ok(())
}

/// The regions' weekly digests due at `now`, for each region with officers in the file.
pub(super) async fn region_pass(
    p: &Pass<'_>,
    settings: &Settings,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let Pass {
        store,
        smtp,
        now,
        facility: _,
        default_lang,
        states,
    } = *p;
    let (Some(schedule), false) = (settings.digest, settings.officers.is_empty()) else {
        return Ok(());
    };
    let Some(slot) = schedule.slot_at(now) else {
        return Ok(());
    };
    let week = digest::week_label(&slot);
    let actor = Actor("notify".to_owned());
    let mut regions: BTreeMap<String, Vec<&Officer>> = BTreeMap::new();
    for o in &settings.officers {
        let code = Region::parse(&o.region)?.code().to_owned();
        regions.entry(code).or_default().push(o);
    }
    for (code, officers) in regions {
        let region = Region::parse(&code)?;
        let key = digest::region_key(&code, &week);
        let before = fate_before(states, &key, officers.len());
        let built = match before {
            None => Some(build_region(store, region, &slot, now).await?),
            Some(_) => None,
        };
        let json = serde_json::json!({
            "key": key, "kind": "digest", "region": code, "week": week,
            "due": slot.timestamp().to_string(), "roles": ["region_officer"],
            "recipients": officers.iter().map(|o| {
                let lang = o.lang(default_lang);
                serde_json::json!({
                    "role": "region_officer", "person": o.email, "email": o.email,
                    "lang": lang.code(),
                    "subject": built.as_ref().map(|d| digest::region_message(d, lang).subject),
                })
            }).collect::<Vec<_>>(),
        });
        let fate = match (before, smtp, &built) {
            (Some(f), ..) => f,
            (None, None, _) | (None, _, None) => Fate::Due,
            (None, Some(smtp), Some(d)) => {
                let scoped = Scoped {
                    key: &key,
                    scope: &code,
                    kind: "digest",
                    subject: &week,
                    slot: "weekly",
                };
                let messages = || {
                    officers
                        .iter()
                        .map(|o| {
                            let lang = o.lang(default_lang);
                            Outgoing {
                                role: "region_officer".into(),
                                name: o.name.clone(),
                                email: o.email.trim().to_owned(),
                                lang,
                                message: digest::region_message(d, lang),
                            }
                        })
                        .collect()
                };
                send_scoped(store, smtp, scoped, messages, &actor, &mut report.errors).await?
            }
        };
        report.items.push((json, fate));
    }
    Ok(())
}

/// A region's digest of the week of `slot`, from the store: the oversight (as `hygie region
/// reports`), the obligations its facilities reported, its campaigns' states.
async fn build_region(
    store: &Store,
    region: Region,
    slot: &jiff::Zoned,
    now: Timestamp,
) -> anyhow::Result<hygie_report::digest::RegionDigest> {
    let catalog = super::catalog()?;
    let as_of = paris_date(now);
    let (statuses, last) = store.region_reports(&catalog, region, as_of).await?;
    let o = hygie_core::oversight::Oversight::of(
        region,
        as_of,
        &statuses,
        &last,
        now,
        hygie_core::oversight::DEFAULT_LATE_AFTER_DAYS,
        hygie_core::oversight::LateSort::Days,
    );
    let obligations = store.region_obligations(region).await?;
    let mut campaigns = Vec::new();
    for c in store.request_campaigns(region).await? {
        let states = store.request_campaign_states(&c, now).await?;
        campaigns.push(CampaignStates {
            id: c.id,
            due: c.due,
            measures: c.measures.iter().map(ToString::to_string).collect(),
            states: states.iter().map(|s| s.state).collect(),
        });
    }
    Ok(digest::region_digest(
        &o,
        &obligations,
        &campaigns,
        slot,
        now,
    ))
}
