//! The JSON API of alerts and incidents (issue 18): the filtered, paged alert list, one alert
//! with its incident, triage, and the incident's workflow (open blank or from alerts, update
//! facts, record a sending of a duty, close). Routes are declared in `api`'s table; every read
//! and write goes through `Store::scoped`, every write through one of `hygie_incident::ops`,
//! the functions the command line runs too. The pages (`pages/alerts.rs`, `pages/incidents.rs`)
//! share the parsing of filters and inputs kept here.

use crate::api::{Changing, LangQuery, incident_line, lang_of};
use crate::scope::AtFacility;
use crate::{Caller, WebError};
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hygie_core::Lang;
use hygie_incident::{Duty, FactsInput, IncidentStatus, Phase, ops};
use hygie_store::{AlertCursor, AlertQuery, AlertStatus, IncidentChangeError};
use jiff::Timestamp;
use serde::Deserialize;

/// Alerts on one page unless `limit` says otherwise.
pub(crate) const ALERTS_PER_PAGE: i64 = 100;

/// The filters of an alerts list, as the query string gives them (API and page alike).
/// `from` and `to` are days (`YYYY-MM-DD`, Paris time) on which the alerts were recorded,
/// both included.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub(crate) struct AlertFilters {
    pub level: Option<String>,
    pub rule: Option<String>,
    pub host: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Midnight in Paris starting `day`, in microseconds since the epoch.
fn day_start_us(field: &'static str, day: &str, next: bool) -> Result<i64, WebError> {
    let d = hygie_core::parse_date(field, day)?;
    let d = if next {
        d.tomorrow()
            .map_err(|e| WebError::Invalid(format!("{field}: {e}")))?
    } else {
        d
    };
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let z = d
        .to_zoned(tz)
        .map_err(|e| WebError::Invalid(format!("{field}: {e}")))?;
    Ok(z.timestamp().as_microsecond())
}

impl AlertFilters {
    pub(crate) fn query(&self) -> Result<AlertQuery, WebError> {
        let status = given(&self.status)
            .map(|s| AlertStatus::parse(&s))
            .transpose()?;
        let limit = self.limit.unwrap_or(ALERTS_PER_PAGE);
        if !(1..=hygie_store::ALERT_PAGE_MAX).contains(&limit) {
            return Err(WebError::Invalid(format!(
                "limit: from 1 to {}",
                hygie_store::ALERT_PAGE_MAX
            )));
        }
        Ok(AlertQuery {
            level: given(&self.level),
            rule: given(&self.rule),
            host: given(&self.host),
            status,
            from_us: given(&self.from)
                .map(|d| day_start_us("from", &d, false))
                .transpose()?,
            to_us: given(&self.to)
                .map(|d| day_start_us("to", &d, true))
                .transpose()?,
            after: given(&self.after)
                .map(|c| AlertCursor::parse(&c))
                .transpose()?,
            limit,
        })
    }

    /// The query string of the page after this one (the filters kept, `after` = `next`).
    pub(crate) fn next_query(&self, next: &str) -> String {
        let mut f = self.clone();
        f.after = Some(next.to_owned());
        query_string(&f)
    }
}

/// `a=b&c=d` of the filters that are set (values percent-encoded).
fn query_string(f: &AlertFilters) -> String {
    let limit = f.limit.map(|l| l.to_string());
    let pairs = [
        ("level", &f.level),
        ("rule", &f.rule),
        ("host", &f.host),
        ("status", &f.status),
        ("from", &f.from),
        ("to", &f.to),
        ("after", &f.after),
        ("limit", &limit),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", encode(&v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A page of a facility's alerts, newest first; the next page's address is in the `Link`
/// header (`rel="next"`) when there is more.
pub(crate) async fn alerts(
    at: AtFacility<Caller>,
    Query(f): Query<AlertFilters>,
) -> Result<Response, WebError> {
    let page = at.scoped().alert_page(&at.id, &f.query()?).await?;
    let mut res = Json(&page.alerts).into_response();
    if let Some(next) = &page.next {
        let link = format!(
            "</api/v1/facilities/{}/alerts?{}>; rel=\"next\"",
            at.id,
            f.next_query(next)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// One alert with its triage and the incident it is linked to (its summary line), if any.
pub(crate) async fn alert(
    at: AtFacility<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let scoped = at.scoped();
    let a = scoped.alert(&at.id, &id).await?;
    let incident = match &a.incident {
        Some(i) => match scoped.incident(&at.id, i).await {
            Ok(inc) => Some(incident_line(&inc, Timestamp::now())?),
            Err(hygie_store::StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(Json(serde_json::json!({ "alert": a, "incident": incident })).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TriageBody {
    pub status: String,
    pub reason: Option<String>,
}

pub(crate) async fn triage(
    at: AtFacility<Changing>,
    Path((_, id)): Path<(String, String)>,
    Json(b): Json<TriageBody>,
) -> Result<Response, WebError> {
    let status = AlertStatus::parse(&b.status)?;
    let a = at
        .scoped()
        .triage_alert(&at.id, &id, status, b.reason.as_deref())
        .await?;
    Ok(Json(a).into_response())
}

/// The facts of a new incident: every field of `FactsInput`, and `alerts`, the ids of the
/// facility's alerts it opens on (their facts pre-fill what is left empty). Awareness is now
/// unless given.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OpenBody {
    #[serde(default)]
    pub alerts: Vec<String>,
    #[serde(flatten)]
    pub facts: FactsInput,
}

impl OpenBody {
    pub(crate) fn into_input(self, now: Timestamp) -> FactsInput {
        let mut input = self.facts;
        for a in self.alerts {
            let a = a.trim().to_owned();
            if !a.is_empty() && !input.alert_ids.contains(&a) {
                input.alert_ids.push(a);
            }
        }
        if given(&input.awareness).is_none() {
            input.awareness = Some(now.to_string());
        }
        input
    }
}

/// The incident as the API shows it after a change: its summary line, obligations now, its
/// sendings and linked alerts.
fn incident_json(
    inc: &hygie_incident::Incident,
    lang: Lang,
    now: Timestamp,
) -> Result<serde_json::Value, WebError> {
    let obligations: Vec<serde_json::Value> = inc
        .obligations(now)?
        .iter()
        .map(|o| o.to_json(lang, now))
        .collect();
    Ok(serde_json::json!({
        "incident": incident_line(inc, now)?,
        "facts": inc.facts,
        "obligations": obligations,
        "sendings": sendings_json(inc),
        "alerts": inc.facts.detection.alert_ids,
        "closure": inc.closure,
    }))
}

/// What was sent, when, how (never the whole text: it is in the incident file).
pub(crate) fn sendings_json(inc: &hygie_incident::Incident) -> Vec<serde_json::Value> {
    inc.sendings
        .iter()
        .map(|s| {
            serde_json::json!({
                "duty": s.duty.as_str(),
                "sent_at": hygie_incident::clock::rfc3339(&s.at),
                "phase": match s.phase { Phase::Initial => "initial", Phase::Complement => "complement" },
                "channel": s.channel,
                "reference": s.reference,
                "late_reason": s.late_reason,
                "snapshot_sha256": s.snapshot_sha256,
            })
        })
        .collect()
}

pub(crate) async fn open(
    at: AtFacility<Changing>,
    Query(q): Query<LangQuery>,
    Json(b): Json<OpenBody>,
) -> Result<Response, WebError> {
    // The language is checked before anything is written.
    let lang = lang_of(&q, at.lang())?;
    let now = Timestamp::now();
    let inc = at
        .scoped()
        .open_incident(&at.id, b.into_input(now), now)
        .await?;
    Ok((StatusCode::CREATED, Json(incident_json(&inc, lang, now)?)).into_response())
}

/// New facts (any field of `FactsInput`; lists add) and, optionally, a status (`contained`,
/// `resolved`: forward only).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FactsBody {
    pub status: Option<String>,
    #[serde(flatten)]
    pub facts: FactsInput,
}

pub(crate) fn status(s: &Option<String>) -> Result<Option<IncidentStatus>, WebError> {
    Ok(given(s).map(|s| s.parse()).transpose()?)
}

pub(crate) async fn update(
    at: AtFacility<Changing>,
    Path((_, iid)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    Json(b): Json<FactsBody>,
) -> Result<Response, WebError> {
    let lang = lang_of(&q, at.lang())?;
    let now = Timestamp::now();
    let status = status(&b.status)?;
    if b.facts.facility.is_some() {
        return Err(WebError::Invalid(
            "facility: an incident stays with its facility".into(),
        ));
    }
    let inc = at
        .scoped()
        .update_incident(&at.id, &iid, "incident.update", |inc| {
            ops::update(inc, &b.facts, status, now).map_err(IncidentChangeError::from)
        })
        .await?;
    Ok(Json(incident_json(&inc, lang, now)?).into_response())
}

/// A sending of a duty: the exact `text` sent (the draft of the moment when absent), the
/// `channel`, when (`sent_at`, now when absent), the recipient's `reference`, the `phase`
/// (initial by default) and the reasons of a delay.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SendingBody {
    pub duty: String,
    pub text: Option<String>,
    pub channel: Option<String>,
    pub sent_at: Option<String>,
    pub reference: Option<String>,
    pub phase: Option<String>,
    pub late_reason: Option<String>,
    /// The language of the draft kept when no text is given.
    pub lang: Option<String>,
}

impl SendingBody {
    pub(crate) fn input(&self, default_lang: Lang) -> Result<ops::SendingInput, WebError> {
        let duty: Duty = self.duty.trim().parse()?;
        let phase: Phase = match given(&self.phase) {
            Some(p) => p.parse()?,
            None => Phase::Initial,
        };
        let lang = match self.lang.as_deref() {
            Some("fr") => Lang::Fr,
            Some("en") => Lang::En,
            None | Some("") => default_lang,
            Some(other) => {
                return Err(WebError::Invalid(format!(
                    "lang: '{other}' is not a language (fr, en)"
                )));
            }
        };
        Ok(ops::SendingInput {
            duty,
            sent_at: given(&self.sent_at),
            reference: given(&self.reference),
            phase,
            lang,
            late_reason: given(&self.late_reason),
            text: given(&self.text),
            channel: given(&self.channel),
        })
    }
}

pub(crate) async fn sending(
    at: AtFacility<Changing>,
    Path((_, iid)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    Json(b): Json<SendingBody>,
) -> Result<Response, WebError> {
    let now = Timestamp::now();
    let lang = lang_of(&q, at.lang())?;
    let input = b.input(lang)?;
    let inc = at
        .scoped()
        .update_incident(&at.id, &iid, "incident.notify", |inc| {
            ops::record_sending(inc, &input, now).map_err(IncidentChangeError::from)
        })
        .await?;
    let o = inc.obligation(input.duty, now)?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "obligation": o.to_json(lang, now),
            "sendings": sendings_json(&inc),
        })),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CloseBody {
    pub justification: Option<String>,
}

pub(crate) async fn close(
    at: AtFacility<Changing>,
    Path((_, iid)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    Json(b): Json<CloseBody>,
) -> Result<Response, WebError> {
    let lang = lang_of(&q, at.lang())?;
    let now = Timestamp::now();
    let inc = at
        .scoped()
        .update_incident(&at.id, &iid, "incident.close", |inc| {
            ops::close(inc, given(&b.justification), now).map_err(IncidentChangeError::from)
        })
        .await?;
    Ok(Json(incident_json(&inc, lang, now)?).into_response())
}
