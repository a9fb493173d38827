//! A facility's incidents with their legal clocks, and the drafts of their notifications.
//! Read-only, through `Store::scoped`: another facility's incident id is "not found" here.
//! The incident page shows each obligation's deadline and time left, and reloads every minute by
//! a meta refresh, since the CSP forbids scripts. Drafts come from `hygie_incident::draft`, FR/EN.

use super::{FacilityPage, PageResult};
use crate::AppState;
use crate::api::{LangQuery, duty, lang_of, next_due};
use crate::html::t;
use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use hygie_core::{Finess, Lang};
use hygie_incident::{Duty, Incident, Obligation};
use hygie_report::Translate;
use jiff::Timestamp;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/{finess}/incidents", get(incidents_page))
        .route(
            "/facilities/{finess}/incidents/{incident}",
            get(incident_page),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/drafts/{duty}",
            get(draft_page),
        )
}

/// The list: each incident with its next unmet deadline (time and duty), if any.
#[derive(askama::Template)]
#[template(path = "incidents.html")]
struct IncidentsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    now: Timestamp,
    rows: Vec<(&'a Incident, Option<(Timestamp, Duty)>)>,
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
    let f = at.facility().await?;
    let list = at.scoped().incidents(&at.id).await?;
    let now = jiff::Timestamp::now();
    let mut rows = Vec::with_capacity(list.len());
    for inc in &list {
        let obligations = inc.obligations(now)?;
        rows.push((inc, next_due(&obligations)));
    }
    let lang = at.lang();
    let b = IncidentsBody {
        lang,
        id: &at.id,
        now,
        rows,
    };
    Ok(at.titled(&f, t(lang, "Incidents", "Incidents"), &b))
}

async fn incident_page(at: FacilityPage, Path((_, iid)): Path<(String, String)>) -> PageResult {
    let inc = at.scoped().incident(&at.id, &iid).await?;
    let now = jiff::Timestamp::now();
    let obligations = inc.obligations(now)?;
    let (required, not_required) = obligations.iter().partition(|o| o.required);
    let b = hygie_report::render(&IncidentBody {
        lang: at.lang(),
        id: &at.id,
        now,
        inc: &inc,
        required,
        not_required,
    });
    Ok(at
        .who
        .page(&format!("{} — {}", inc.id, inc.facts.title), &b))
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
