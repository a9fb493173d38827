//! Reading GoPhish exports (Results CSV, Raw Events CSV, API JSON) into a [`RawCampaign`];
//! `details` is reduced to the browser's user agent and address while parsing.

use crate::{ImportError, columns, csv_records, field};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The highest stage a target reached (cumulative: clicked implies opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scheduled, sending, retrying or in error: the e-mail was not delivered.
    NotSent,
    Sent,
    Opened,
    Clicked,
    Submitted,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::NotSent => "not_sent",
            Stage::Sent => "sent",
            Stage::Opened => "opened",
            Stage::Clicked => "clicked",
            Stage::Submitted => "submitted",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "not_sent" => Stage::NotSent,
            "sent" => Stage::Sent,
            "opened" => Stage::Opened,
            "clicked" => Stage::Clicked,
            "submitted" => Stage::Submitted,
            _ => return None,
        })
    }

    /// A GoPhish result `status`.
    fn from_gophish(s: &str) -> Option<Stage> {
        Some(match s.trim() {
            "Scheduled" | "Sending" | "Retrying" | "Error" | "Queued" | "" => Stage::NotSent,
            "Email Sent" => Stage::Sent,
            "Email Opened" => Stage::Opened,
            "Clicked Link" => Stage::Clicked,
            "Submitted Data" => Stage::Submitted,
            _ => return None,
        })
    }
}

/// A timeline event, reduced to what metrics need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Sent,
    SendError,
    Opened,
    Clicked,
    Submitted,
    Reported,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sent => "sent",
            EventKind::SendError => "send_error",
            EventKind::Opened => "opened",
            EventKind::Clicked => "clicked",
            EventKind::Submitted => "submitted",
            EventKind::Reported => "reported",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "sent" => EventKind::Sent,
            "send_error" => EventKind::SendError,
            "opened" => EventKind::Opened,
            "clicked" => EventKind::Clicked,
            "submitted" => EventKind::Submitted,
            "reported" => EventKind::Reported,
            _ => return None,
        })
    }

    /// A GoPhish event `message`; `Ok(None)` for events without a target (Campaign Created).
    fn from_gophish(s: &str) -> Result<Option<EventKind>, String> {
        Ok(Some(match s.trim() {
            "Campaign Created" => return Ok(None),
            "Email Sent" => EventKind::Sent,
            "Error Sending Email" => EventKind::SendError,
            "Email Opened" => EventKind::Opened,
            "Clicked Link" => EventKind::Clicked,
            "Submitted Data" => EventKind::Submitted,
            "Email Reported" => EventKind::Reported,
            other => return Err(format!("unknown event message '{other}'")),
        }))
    }

    pub(super) fn stage(self) -> Stage {
        match self {
            EventKind::Sent | EventKind::Reported => Stage::Sent,
            EventKind::SendError => Stage::NotSent,
            EventKind::Opened => Stage::Opened,
            EventKind::Clicked => Stage::Clicked,
            EventKind::Submitted => Stage::Submitted,
        }
    }
}

/// A target as read from an export. Holds the address only in memory, until pseudonymised.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTarget {
    pub email: String,
    pub position: Option<String>,
    pub stage: Stage,
    pub reported: bool,
    pub send_at: Option<Timestamp>,
}

/// An event as read from an export: `details` reduced to the browser's user agent and address.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub email: String,
    pub at: Timestamp,
    pub kind: EventKind,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A campaign as read from one or more exports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawCampaign {
    /// GoPhish's campaign id, when the export carries it.
    pub source_id: Option<String>,
    pub name: Option<String>,
    pub targets: Vec<RawTarget>,
    pub events: Vec<RawEvent>,
}

/// Undo PapaParse's formula escaping (`escapeFormulae`), which prefixes `'` to a value starting
/// with `=`, `+`, `-`, `@`, tab or carriage return.
fn unescape(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

/// A Go `time.Time` as marshalled (RFC 3339 with nanoseconds); the zero time means "never".
fn parse_time(s: &str) -> Result<Option<Timestamp>, String> {
    let s = unescape(s.trim());
    if s.is_empty() {
        return Ok(None);
    }
    let t: Timestamp = s
        .parse()
        .map_err(|e| format!("'{s}' is not an RFC 3339 time: {e}"))?;
    // Go's zero time (0001-01-01) marks a date never set.
    if t.as_second() <= 0 {
        return Ok(None);
    }
    Ok(Some(t))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(format!("'{other}' is not true or false")),
    }
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    browser: Option<Browser>,
}

#[derive(Deserialize)]
struct Browser {
    #[serde(default)]
    address: Option<String>,
    #[serde(default, rename = "user-agent")]
    user_agent: Option<String>,
}

/// Read only the browser fields of an event's `details`; everything else (the `payload` of form
/// fields, which can hold credentials) is skipped by the deserializer and never materialised.
fn browser_of(details: &str) -> (Option<String>, Option<String>) {
    let d = details.trim();
    if d.is_empty() {
        return (None, None);
    }
    match serde_json::from_str::<Details>(d) {
        Ok(Details { browser: Some(b) }) => (
            b.user_agent.filter(|s| !s.is_empty()),
            b.address.filter(|s| !s.is_empty()),
        ),
        _ => (None, None),
    }
}

pub(super) fn norm_email(s: &str) -> String {
    unescape(s.trim()).to_lowercase()
}

/// Parse a GoPhish Results CSV.
pub fn parse_results_csv(file: &str, text: &str) -> Result<RawCampaign, ImportError> {
    let (header, rows) = csv_records(file, text)?;
    let [status, send_date, reported, email, position] = columns(
        &header,
        ["status", "send_date", "reported", "email", "position"],
    );
    let [id] = columns(&header, ["id"]);
    if [status, send_date, reported, email, id]
        .iter()
        .any(Option::is_none)
    {
        return Err(ImportError::line(
            file,
            1,
            "not a GoPhish Results CSV: expected the header id,status,ip,latitude,longitude,send_date,reported,modified_date,email,first_name,last_name,position",
        ));
    }
    let mut c = RawCampaign::default();
    let mut seen = BTreeSet::new();
    for (line, r) in rows {
        let at = |m: String| ImportError::line(file, line, m);
        let e = field(&r, email)
            .map(norm_email)
            .ok_or_else(|| at("empty email".into()))?;
        if !seen.insert(e.clone()) {
            return Err(at("the same target appears twice".into()));
        }
        let st = field(&r, status).unwrap_or("");
        c.targets.push(RawTarget {
            stage: Stage::from_gophish(unescape(st))
                .ok_or_else(|| at(format!("unknown result status '{st}'")))?,
            reported: parse_bool(field(&r, reported).unwrap_or("")).map_err(at)?,
            send_at: parse_time(field(&r, send_date).unwrap_or("")).map_err(at)?,
            position: field(&r, position).map(|p| unescape(p).to_owned()),
            email: e,
        });
    }
    Ok(c)
}

/// Parse a GoPhish Raw Events CSV; the `details` column is reduced to the browser fields.
pub fn parse_events_csv(file: &str, text: &str) -> Result<RawCampaign, ImportError> {
    let (header, rows) = csv_records(file, text)?;
    let [campaign_id, email, time, message, details] = columns(
        &header,
        ["campaign_id", "email", "time", "message", "details"],
    );
    if [campaign_id, email, time, message]
        .iter()
        .any(Option::is_none)
    {
        return Err(ImportError::line(
            file,
            1,
            "not a GoPhish Raw Events CSV: expected the header campaign_id,email,time,message,details",
        ));
    }
    let mut c = RawCampaign::default();
    for (line, r) in rows {
        let at = |m: String| ImportError::line(file, line, m);
        let cid = field(&r, campaign_id).map(str::to_owned);
        match (&c.source_id, &cid) {
            (Some(a), Some(b)) if a != b => {
                return Err(at(format!(
                    "campaign_id {b} differs from {a}: one campaign per file"
                )));
            }
            (None, Some(_)) => c.source_id = cid,
            _ => {}
        }
        let Some(kind) = EventKind::from_gophish(field(&r, message).unwrap_or("")).map_err(at)?
        else {
            continue;
        };
        let e = field(&r, email)
            .map(norm_email)
            .ok_or_else(|| at("empty email".into()))?;
        let t = parse_time(field(&r, time).unwrap_or(""))
            .map_err(at)?
            .ok_or_else(|| at("empty time".into()))?;
        let (user_agent, ip) = browser_of(field(&r, details).unwrap_or(""));
        c.events.push(RawEvent {
            email: e,
            at: t,
            kind,
            user_agent,
            ip,
        });
    }
    Ok(c)
}

#[derive(Deserialize)]
struct ApiCampaign {
    id: serde_json::Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    results: Vec<ApiResult>,
    #[serde(default)]
    timeline: Vec<ApiEvent>,
}

#[derive(Deserialize)]
struct ApiResult {
    email: String,
    status: String,
    #[serde(default)]
    reported: bool,
    #[serde(default)]
    send_date: Option<String>,
    #[serde(default)]
    position: Option<String>,
}

#[derive(Deserialize)]
struct ApiEvent {
    #[serde(default)]
    email: String,
    time: String,
    message: String,
    /// Deserialised as text and reduced at once to the browser fields.
    #[serde(default)]
    details: Option<String>,
}

/// Parse the JSON of GoPhish's `GET /api/campaigns/{id}/results`.
pub fn parse_api_json(file: &str, text: &str) -> Result<RawCampaign, ImportError> {
    let api: ApiCampaign = serde_json::from_str(text).map_err(|e| ImportError::json(file, &e))?;
    let mut c = RawCampaign {
        source_id: Some(match &api.id {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        }),
        name: api.name.filter(|n| !n.trim().is_empty()),
        ..RawCampaign::default()
    };
    let mut seen = BTreeSet::new();
    for (i, r) in api.results.into_iter().enumerate() {
        let at = |m: String| ImportError::file(file, format!("results[{i}]: {m}"));
        let e = norm_email(&r.email);
        if e.is_empty() {
            return Err(at("empty email".into()));
        }
        if !seen.insert(e.clone()) {
            return Err(at("the same target appears twice".into()));
        }
        c.targets.push(RawTarget {
            stage: Stage::from_gophish(&r.status)
                .ok_or_else(|| at(format!("unknown result status '{}'", r.status)))?,
            reported: r.reported,
            send_at: parse_time(r.send_date.as_deref().unwrap_or("")).map_err(at)?,
            position: r.position.filter(|p| !p.trim().is_empty()),
            email: e,
        });
    }
    for (i, ev) in api.timeline.into_iter().enumerate() {
        let at = |m: String| ImportError::file(file, format!("timeline[{i}]: {m}"));
        let Some(kind) = EventKind::from_gophish(&ev.message).map_err(at)? else {
            continue;
        };
        let e = norm_email(&ev.email);
        if e.is_empty() {
            return Err(at("empty email".into()));
        }
        let (user_agent, ip) = browser_of(ev.details.as_deref().unwrap_or(""));
        c.events.push(RawEvent {
            email: e,
            at: parse_time(&ev.time)
                .map_err(at)?
                .ok_or_else(|| at("empty time".into()))?,
            kind,
            user_agent,
            ip,
        });
    }
    Ok(c)
}

/// Merge a Results export and an Events export of the same campaign.
pub fn merge(mut a: RawCampaign, b: RawCampaign) -> RawCampaign {
    if a.source_id.is_none() {
        a.source_id = b.source_id;
    }
    if a.name.is_none() {
        a.name = b.name;
    }
    for t in b.targets {
        if !a.targets.iter().any(|x| x.email == t.email) {
            a.targets.push(t);
        }
    }
    a.events.extend(b.events);
    a
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::phishing::ts;

    #[test]
    fn results_csv_with_formula_escaping_and_zero_times() {
        let csv = "id,status,ip,latitude,longitude,send_date,reported,modified_date,email,first_name,last_name,position\n\
            Ab12Cd3,Clicked Link,192.0.2.7,0,0,2026-03-02T09:00:00.123456789+01:00,false,2026-03-02T09:05:00Z,A@X.fr,Ann,A,'-Care\n\
            Zz99Yy8,Scheduled,,0,0,0001-01-01T00:00:00Z,false,0001-01-01T00:00:00Z,b@x.fr,Bob,B,\n";
        let c = parse_results_csv("r.csv", csv).unwrap();
        assert_eq!(c.targets[0].email, "a@x.fr");
        assert_eq!(c.targets[0].position.as_deref(), Some("-Care"));
        assert_eq!(c.targets[0].stage, Stage::Clicked);
        assert_eq!(
            c.targets[0].send_at,
            Some(ts("2026-03-02T08:00:00.123456789Z"))
        );
        assert_eq!(c.targets[1].send_at, None);
        assert_eq!(c.targets[1].stage, Stage::NotSent);
    }

    #[test]
    fn details_payload_never_survives_parsing() {
        let details = r#"{"payload":{"rid":["Ab12Cd3"],"username":["alice"],"password":["S3cr3t!"]},"browser":{"address":"192.0.2.7","user-agent":"Mozilla/5.0"}}"#;
        let csv = format!(
            "campaign_id,email,time,message,details\n3,a@x.fr,2026-03-02T09:10:00Z,Submitted Data,\"{}\"\n",
            details.replace('"', "\"\"")
        );
        let c = parse_events_csv("e.csv", &csv).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("S3cr3t!") && !dbg.contains("alice"), "{dbg}");
        assert_eq!(c.events[0].user_agent.as_deref(), Some("Mozilla/5.0"));
        assert_eq!(c.events[0].ip.as_deref(), Some("192.0.2.7"));
    }
}
