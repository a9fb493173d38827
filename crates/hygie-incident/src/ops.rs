//! The changes people make to an incident, one function each, shared by the command line and
//! the web (form and JSON API): open (blank or from detection alerts, facts pre-filled), update
//! facts or status, record a sending of a duty, close. Each returns what the journal keeps of
//! the change; the store runs it inside its write transaction (`Store::update_incident`), so
//! the two front ends cannot drift apart.

use crate::clock::{self, rfc3339};
use crate::{Duty, FactsInput, Incident, IncidentError, IncidentStatus, Phase, Result, draft};
use hygie_core::{Alert, FacilityKind, Lang, Nis2Status};
use jiff::Timestamp;

/// What the facility's record brings to a new incident: its name (when the facts give none),
/// its NIS 2 status (unless overridden) and its kind (the duties follow the catalogue's
/// `applies_to` for it).
#[derive(Debug, Clone)]
pub struct FacilityDefaults {
    pub name: String,
    pub nis2: Nis2Status,
    pub kind: FacilityKind,
}

/// A new incident with id `id` from `input`, validated against `now`.
pub fn open(
    id: &str,
    mut input: FactsInput,
    facility: &FacilityDefaults,
    now: Timestamp,
) -> Result<Incident> {
    if input.facility_name.is_none() {
        input.facility_name = Some(facility.name.clone());
    }
    let mut facts = input.into_facts(Some(facility.nis2), now)?;
    facts.facility_kind = Some(facility.kind);
    Incident::open(id, facts, now)
}

/// Fill what `input` leaves empty from the alerts it opens on: their ids, the detection source
/// `alert`, a title naming them, a description listing each (rule, level, host, first time,
/// count) and the hosts as affected systems. Facts the person gave are kept as given.
pub fn prefill_from_alerts(input: &mut FactsInput, alerts: &[Alert]) {
    if alerts.is_empty() {
        return;
    }
    for a in alerts {
        if !input.alert_ids.contains(&a.id) {
            input.alert_ids.push(a.id.clone());
        }
        if let Some(h) = a.host.as_deref().filter(|h| !h.is_empty())
            && !input.affected_systems.iter().any(|s| s == h)
        {
            input.affected_systems.push(h.to_owned());
        }
    }
    if input.detection_source.is_none() {
        input.detection_source = Some("alert".into());
    }
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|t| t.trim().is_empty());
    if blank(&input.title) {
        let mut titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
        titles.dedup();
        input.title = Some(match titles.as_slice() {
            [one] => (*one).to_owned(),
            many => format!("{} ({} alerts)", many.join(" / "), alerts.len()),
        });
    }
    if blank(&input.description) {
        let lines: Vec<String> = alerts
            .iter()
            .map(|a| {
                format!(
                    "{} [{}] {} on {} at {} (x{})",
                    a.rule_id,
                    a.level,
                    a.title,
                    a.host.as_deref().unwrap_or("-"),
                    a.time.as_deref().unwrap_or("-"),
                    a.count
                )
            })
            .collect();
        input.description = Some(lines.join("\n"));
    }
}

/// Change facts and, optionally, the status (forward only). Refused when nothing changes.
pub fn update(
    inc: &mut Incident,
    input: &FactsInput,
    status: Option<IncidentStatus>,
    now: Timestamp,
) -> Result<serde_json::Value> {
    let before = inc.facts.clone();
    let changed = inc.update(input, now)?;
    let prev_status = inc.status;
    if let Some(s) = status {
        inc.set_status(s, now)?;
    }
    if changed.is_empty() && prev_status == inc.status {
        return Err(IncidentError::invalid(
            "facts",
            "nothing to change: give a fact or a status",
        ));
    }
    let diff = crate::incident::facts_diff(&before, &inc.facts, &changed);
    Ok(serde_json::json!({
        "changed": diff,
        "status": {"from": prev_status.as_str(), "to": inc.status.as_str()},
    }))
}

/// A notification as someone reports having sent it.
#[derive(Debug, Clone)]
pub struct SendingInput {
    pub duty: Duty,
    /// When it was sent (RFC 3339, or local time in the incident's zone); now when absent.
    pub sent_at: Option<String>,
    pub reference: Option<String>,
    pub phase: Phase,
    /// The language of the draft kept when no text is given.
    pub lang: Lang,
    pub late_reason: Option<String>,
    /// The exact text sent; the draft of the moment when absent.
    pub text: Option<String>,
    /// How it was sent (portal, e-mail, letter...).
    pub channel: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Record `s` as sent: the duty's obligation becomes `sent` and its clock stops.
pub fn record_sending(
    inc: &mut Incident,
    s: &SendingInput,
    now: Timestamp,
) -> Result<serde_json::Value> {
    let tz = inc.facts.tz()?;
    let at = match non_empty(&s.sent_at) {
        Some(t) => clock::parse_instant("sent_at", &t, &tz)?,
        None => now.to_zoned(tz),
    };
    let snapshot = match non_empty(&s.text) {
        Some(t) => t,
        None => draft::draft(inc, s.duty, s.lang, at.timestamp())?.to_markdown(),
    };
    let channel = non_empty(&s.channel);
    if channel.as_deref().is_some_and(|c| c.chars().count() > 200) {
        return Err(IncidentError::invalid("channel", "at most 200 characters"));
    }
    inc.record_sending(
        s.duty,
        at.clone(),
        non_empty(&s.reference),
        s.phase,
        s.lang,
        non_empty(&s.late_reason),
        snapshot,
        now,
    )?;
    let last = inc.sendings.last_mut();
    if let Some(last) = last {
        last.channel = channel.clone();
    }
    let last = inc.sendings.last();
    Ok(serde_json::json!({
        "duty": s.duty.as_str(),
        "sent_at": rfc3339(&at),
        "reference": non_empty(&s.reference),
        "phase": match s.phase { Phase::Initial => "initial", Phase::Complement => "complement" },
        "channel": channel,
        "late_reason": last.and_then(|l| l.late_reason.clone()),
        "snapshot_sha256": last.map(|l| l.snapshot_sha256.clone()),
    }))
}

/// Close; unmet obligations need a justification.
pub fn close(
    inc: &mut Incident,
    justification: Option<String>,
    now: Timestamp,
) -> Result<serde_json::Value> {
    let unmet = inc.close(justification, now)?;
    Ok(serde_json::json!({
        "justification": inc.closure.as_ref().and_then(|c| c.justification.clone()),
        "unmet": unmet.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
    }))
}
