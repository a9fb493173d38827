//! A facility's incidents with their legal clocks, and the drafts of their notifications.
//! Through `Store::scoped`: another facility's incident id is "not found" here. The incident
//! page shows each obligation's deadline and time left, a timeline of facts, actions, sendings
//! and linked alerts, and, for a caller who may write, the forms of the workflow: update facts,
//! record a sending of a duty (its clock stops), close with a justification; a blank incident
//! opens from the list. The changes are `hygie_incident::ops`, as for the API and the command
//! line; a refused form comes back with its message and what was typed. A read-only page
//! reloads every minute by a meta refresh (the CSP forbids scripts). Drafts come from
//! `hygie_incident::draft`, FR/EN.

use super::{FacilityPage, PageResult, see_other};
use crate::api::{LangQuery, duty, lang_of, next_due};
use crate::html::t;
use crate::incident_api::{OpenBody, SendingBody, status};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hygie_core::{Finess, Lang, Localized};
use hygie_incident::{Duty, FactsInput, Incident, Obligation, ops};
use hygie_report::Translate;
use hygie_store::{AlertRecord, IncidentChangeError};
use jiff::Timestamp;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/facilities/{finess}/incidents",
            get(incidents_page).post(open_blank),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}",
            get(incident_page),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/facts",
            post(update_facts),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/sendings",
            post(record_sending),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/close",
            post(close),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/drafts/{duty}",
            get(draft_page),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/file.pdf",
            get(incident_pdf),
        )
        .route("/facilities/{finess}/register.pdf", get(register_pdf))
}

/// The list: each incident with its next unmet deadline (time and duty), if any.
#[derive(askama::Template)]
#[template(path = "incidents.html")]
struct IncidentsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    now: Timestamp,
    rows: Vec<(&'a Incident, Option<(Timestamp, Duty)>)>,
    csrf: Option<&'a str>,
    /// A refused opening: its message and what was typed.
    error: Option<String>,
    title: &'a str,
    awareness: &'a str,
}

/// One incident's obligations: the required ones with their clocks, and those that do not apply.
#[derive(askama::Template)]
#[template(path = "incident.html")]
struct IncidentBody<'a> {
    lang: Lang,
    id: &'a Finess,
    now: Timestamp,
    inc: &'a Incident,
    required: Vec<&'a Obligation>,
    not_required: Vec<&'a Obligation>,
    timeline: Vec<TimelineItem>,
    alerts: &'a [AlertRecord],
    closure: Option<&'a hygie_incident::Closure>,
    csrf: Option<&'a str>,
    error: Option<String>,
    /// What the forms show: the facts now, or what a refused form held.
    form: &'a IncidentForm,
}

/// One line of an incident's timeline.
struct TimelineItem {
    at: Timestamp,
    /// A CSS class: opened, change, action, sending, alert, closed.
    kind: &'static str,
    what: Localized,
    detail: String,
}

/// Personal-data breach risks, as the form offers them.
const BREACH: [(&str, &str, &str); 4] = [
    ("none", "no personal data", "pas de données personnelles"),
    ("unlikely", "risk unlikely", "risque improbable"),
    ("risk", "risk", "risque"),
    ("high", "high risk", "risque élevé"),
];
const YES_NO: [(&str, &str, &str); 2] = [("false", "no", "non"), ("true", "yes", "oui")];
const STATUSES: [(&str, &str, &str); 3] = [
    ("", "unchanged", "inchangé"),
    ("contained", "contained", "maîtrisé"),
    ("resolved", "resolved", "résolu"),
];

/// Every field of the incident page's forms, as typed (all text: a refused form shows it back).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
struct IncidentForm {
    csrf: String,
    title: String,
    description: String,
    personal_data_breach: String,
    serious: String,
    action: String,
    status: String,
    duty: String,
    sent_at: String,
    channel: String,
    reference: String,
    phase: String,
    late_reason: String,
    text: String,
    justification: String,
}

impl IncidentForm {
    /// The facts as they stand, for the update form.
    fn of(inc: &Incident) -> IncidentForm {
        IncidentForm {
            title: inc.facts.title.clone(),
            description: inc.facts.description.clone().unwrap_or_default(),
            personal_data_breach: inc.facts.personal_data_breach.as_str().to_owned(),
            serious: inc.facts.serious.to_string(),
            duty: "cnil".into(),
            ..IncidentForm::default()
        }
    }

    /// The facts that differ from the incident's (an unchanged field is not sent as a change).
    fn facts(&self, inc: &Incident) -> Result<FactsInput, WebError> {
        // Browsers send a text area's line breaks as CRLF.
        let changed = |new: &str, old: &str| {
            let new = new.replace("\r\n", "\n");
            (new.trim() != old.trim()).then(|| new.trim().to_owned())
        };
        let serious = match self.serious.as_str() {
            "" => None,
            s => Some(s == "true").filter(|v| *v != inc.facts.serious),
        };
        let mut input = FactsInput {
            // A title is required: an empty one is "unchanged", not a removal.
            title: changed(&self.title, &inc.facts.title).filter(|t| !t.is_empty()),
            description: changed(
                &self.description,
                inc.facts.description.as_deref().unwrap_or(""),
            ),
            personal_data_breach: changed(
                &self.personal_data_breach,
                inc.facts.personal_data_breach.as_str(),
            )
            .filter(|s| !s.is_empty()),
            serious,
            ..FactsInput::default()
        };
        if !self.action.trim().is_empty() {
            input.actions.push(hygie_incident::facts::ActionInput::Text(
                self.action.trim().to_owned(),
            ));
        }
        Ok(input)
    }
}

/// A notification draft, in `draft_lang` (the page around it stays in the user's language).
#[derive(askama::Template)]
#[template(path = "draft.html")]
struct DraftBody<'a> {
    lang: Lang,
    id: &'a Finess,
    inc: &'a Incident,
    draft_lang: Lang,
    draft: &'a hygie_incident::draft::Draft,
    /// The other language's code and link text.
    other: (&'static str, &'static str),
}

hygie_report::translate_by_lang_field!(IncidentsBody, IncidentBody, DraftBody);

async fn incidents_page(at: FacilityPage) -> PageResult {
    incidents_list(&at, None, "", "").await
}

async fn incidents_list(
    at: &FacilityPage,
    error: Option<String>,
    title: &str,
    awareness: &str,
) -> PageResult {
    let f = at.facility().await?;
    let list = at.scoped().incidents(&at.id).await?;
    let now = jiff::Timestamp::now();
    let mut rows = Vec::with_capacity(list.len());
    for inc in &list {
        let obligations = inc.obligations(now)?;
        rows.push((inc, next_due(&obligations)));
    }
    let lang = at.lang();
    let http = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let b = IncidentsBody {
        lang,
        id: &at.id,
        now,
        rows,
        csrf: at.who.c.access.write.then(|| at.who.c.csrf()),
        error,
        title,
        awareness,
    };
    Ok((http, at.titled(&f, t(lang, "Incidents", "Incidents"), &b)).into_response())
}

#[derive(serde::Deserialize)]
struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    awareness: String,
}

/// A blank incident: a title and when the facility became aware (now by default).
async fn open_blank(at: FacilityPage, Form(f): Form<OpenForm>) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    let now = Timestamp::now();
    let mut body = OpenBody::default();
    body.facts.title = Some(f.title.trim().to_owned());
    body.facts.awareness = Some(f.awareness.trim().to_owned()).filter(|a| !a.is_empty());
    match at
        .scoped()
        .open_incident(&at.id, body.into_input(now), now)
        .await
        .map_err(WebError::from)
    {
        Ok(inc) => Ok(see_other(&format!(
            "/facilities/{}/incidents/{}",
            at.id, inc.id
        ))),
        Err(WebError::Invalid(m)) => incidents_list(&at, Some(m), &f.title, &f.awareness).await,
        Err(e) => Err(e.into()),
    }
}

async fn incident_page(at: FacilityPage, Path((_, iid)): Path<(String, String)>) -> PageResult {
    incident_view(&at, &iid, None).await
}

/// The incident's timeline: opened, each change of its facts (from the obligations' log),
/// actions, sendings, linked alerts, closure; oldest first.
fn timeline(inc: &Incident, alerts: &[AlertRecord]) -> Vec<TimelineItem> {
    let mut items = vec![TimelineItem {
        at: inc.opened_at,
        kind: "opened",
        what: Localized::new("Incident opened", "Incident ouvert"),
        detail: inc.facts.title.clone(),
    }];
    let mut causes: Vec<(Timestamp, &str)> = Vec::new();
    for e in &inc.obligation_log {
        if e.cause != "open" && !causes.contains(&(e.at, e.cause.as_str())) {
            causes.push((e.at, e.cause.as_str()));
        }
    }
    for (at, cause) in causes {
        if let Some(fields) = cause.strip_prefix("update: ") {
            items.push(TimelineItem {
                at,
                kind: "change",
                what: Localized::new("Facts updated", "Faits mis à jour"),
                detail: fields.to_owned(),
            });
        }
    }
    for a in &inc.facts.actions {
        items.push(TimelineItem {
            at: a.at.timestamp(),
            kind: "action",
            what: Localized::new("Action", "Action"),
            detail: a.text.clone(),
        });
    }
    for s in &inc.sendings {
        items.push(TimelineItem {
            at: s.at.timestamp(),
            kind: "sending",
            what: Localized::new(
                format!("Sent: {}", s.duty.label().en),
                format!("Envoyée : {}", s.duty.label().fr),
            ),
            detail: s.channel.clone().unwrap_or_default(),
        });
    }
    for a in alerts {
        if let Some(at) = a.status_at {
            items.push(TimelineItem {
                at,
                kind: "alert",
                what: Localized::new("Alert linked", "Alerte rattachée"),
                detail: format!("{} — {}", a.title, a.host.as_deref().unwrap_or("-")),
            });
        }
    }
    if let Some(c) = &inc.closure {
        items.push(TimelineItem {
            at: c.at,
            kind: "closed",
            what: Localized::new("Closed", "Clos"),
            detail: c.justification.clone().unwrap_or_default(),
        });
    }
    items.sort_by_key(|i| i.at);
    items
}

/// The incident page; `refused` is a refused form's message and content.
async fn incident_view(
    at: &FacilityPage,
    iid: &str,
    refused: Option<(String, IncidentForm)>,
) -> PageResult {
    let scoped = at.scoped();
    let inc = scoped.incident(&at.id, iid).await?;
    let mut alerts = Vec::new();
    for a in &inc.facts.detection.alert_ids {
        match scoped.alert(&at.id, a).await {
            Ok(r) => alerts.push(r),
            Err(hygie_store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let now = jiff::Timestamp::now();
    let obligations = inc.obligations(now)?;
    let (required, not_required) = obligations.iter().partition(|o| o.required);
    let http = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (error, form) = match refused {
        Some((e, f)) => (Some(e), f),
        None => (None, IncidentForm::of(&inc)),
    };
    let b = hygie_report::render(&IncidentBody {
        lang: at.lang(),
        id: &at.id,
        now,
        inc: &inc,
        required,
        not_required,
        timeline: timeline(&inc, &alerts),
        alerts: &alerts,
        closure: inc.closure.as_ref(),
        csrf: at.who.c.access.write.then(|| at.who.c.csrf()),
        error,
        form: &form,
    });
    Ok((
        http,
        at.who
            .page(&format!("{} — {}", inc.id, inc.facts.title), &b),
    )
        .into_response())
}

/// Run one change of the incident page's forms: back to the page when done, or the page with
/// the message and the form's content when refused.
async fn change(
    at: FacilityPage,
    iid: &str,
    f: IncidentForm,
    action: &str,
    run: impl FnOnce(&mut Incident) -> Result<serde_json::Value, IncidentChangeError> + Send,
) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    match at
        .scoped()
        .update_incident(&at.id, iid, action, run)
        .await
        .map_err(WebError::from)
    {
        Ok(_) => Ok(see_other(&format!("/facilities/{}/incidents/{iid}", at.id))),
        Err(WebError::Invalid(m)) => incident_view(&at, iid, Some((m, f))).await,
        Err(e) => Err(e.into()),
    }
}

async fn update_facts(
    at: FacilityPage,
    Path((_, iid)): Path<(String, String)>,
    Form(f): Form<IncidentForm>,
) -> PageResult {
    let inc = at.scoped().incident(&at.id, &iid).await?;
    let now = Timestamp::now();
    let (input, to) = match (f.facts(&inc), status(&Some(f.status.clone()))) {
        (Ok(i), Ok(s)) => (i, s),
        (Err(e), _) | (_, Err(e)) => {
            at.caller().check_csrf(Some(&f.csrf))?;
            return incident_view(&at, &iid, Some((e.public_message(), f))).await;
        }
    };
    change(at, &iid, f.clone(), "incident.update", move |inc| {
        Ok(ops::update(inc, &input, to, now)?)
    })
    .await
}

async fn record_sending(
    at: FacilityPage,
    Path((_, iid)): Path<(String, String)>,
    Form(f): Form<IncidentForm>,
) -> PageResult {
    let now = Timestamp::now();
    let body = SendingBody {
        duty: f.duty.clone(),
        text: Some(f.text.clone()),
        channel: Some(f.channel.clone()),
        sent_at: Some(f.sent_at.clone()),
        reference: Some(f.reference.clone()),
        phase: Some(f.phase.clone()),
        late_reason: Some(f.late_reason.clone()),
        lang: None,
    };
    let input = match body.input(at.lang()) {
        Ok(i) => i,
        Err(e) => {
            at.caller().check_csrf(Some(&f.csrf))?;
            return incident_view(&at, &iid, Some((e.public_message(), f))).await;
        }
    };
    change(at, &iid, f.clone(), "incident.notify", move |inc| {
        Ok(ops::record_sending(inc, &input, now)?)
    })
    .await
}

async fn close(
    at: FacilityPage,
    Path((_, iid)): Path<(String, String)>,
    Form(f): Form<IncidentForm>,
) -> PageResult {
    let now = Timestamp::now();
    let justification = Some(f.justification.clone());
    change(at, &iid, f.clone(), "incident.close", move |inc| {
        Ok(ops::close(inc, justification, now)?)
    })
    .await
}

async fn draft_page(
    at: FacilityPage,
    Path((_, iid, d)): Path<(String, String, String)>,
    Query(q): Query<LangQuery>,
) -> PageResult {
    let lang = at.lang();
    let inc = at.scoped().incident(&at.id, &iid).await?;
    let duty: Duty = duty(&d)?;
    let draft_lang = lang_of(&q, lang)?;
    let draft = hygie_incident::draft::draft(&inc, duty, draft_lang, jiff::Timestamp::now())?;
    let other = match draft_lang {
        Lang::En => ("fr", "Version française"),
        Lang::Fr => ("en", "English version"),
    };
    let b = hygie_report::render(&DraftBody {
        lang,
        id: &at.id,
        inc: &inc,
        draft_lang,
        draft: &draft,
        other,
    });
    Ok(at.who.page(&draft.title, &b))
}

/// The incident file as PDF (facts, timeline, obligations and what was sent, evidence), as
/// `hygie incident export --format pdf` prints it.
async fn incident_pdf(at: FacilityPage, Path((_, iid)): Path<(String, String)>) -> PageResult {
    let lang = at.lang();
    let scoped = at.scoped();
    let inc = scoped.incident(&at.id, &iid).await?;
    let journal = scoped.incident_journal(&at.id, &iid).await?;
    let now = Timestamp::now();
    let html = hygie_incident::export::export_html(&inc, &journal, lang, now)?;
    let frame = hygie_report::PrintFrame {
        header: format!(
            "{} — {}",
            inc.facts
                .facility_name
                .as_deref()
                .unwrap_or(&inc.facts.facility),
            inc.id
        ),
        date: hygie_incident::clock::rfc3339(
            &now.to_zoned(inc.facts.awareness.time_zone().clone()),
        ),
        lang,
    };
    Ok(crate::pdf::respond(&at.st, &html, &frame, &format!("{}.pdf", inc.id)).await?)
}

/// The facility's breach register as PDF, as `hygie incident register --format pdf` prints it.
async fn register_pdf(at: FacilityPage) -> PageResult {
    let lang = at.lang();
    let scoped = at.scoped();
    let fac = scoped.facility(&at.id).await?;
    let incidents = scoped.incidents(&at.id).await?;
    let now = Timestamp::now();
    let register =
        hygie_incident::register::Register::new(&fac.id, &fac.name, &incidents, lang, now)?;
    let zone = hygie_incident::clock::zone("timezone", hygie_incident::clock::DEFAULT_TZ)?;
    let frame = hygie_report::PrintFrame {
        header: format!("{} ({})", fac.name, fac.id),
        date: now.to_zoned(zone).date().to_string(),
        lang,
    };
    let name = format!("hygie-{}-register.pdf", fac.id);
    Ok(crate::pdf::respond(&at.st, &register.to_html(), &frame, &name).await?)
}
