//! A facility's detection alerts: the list with its filters (level, rule, host, status, days
//! recorded), severity colours and keyset paging; one alert's detail with its triage; selected
//! alerts acknowledged together or opened as an incident (facts pre-filled from them). Reads
//! and writes go through `Store::scoped`; a refused form comes back with its message and what
//! was typed or ticked.

use super::{FacilityPage, PageResult, see_other};
use crate::html::t;
use crate::incident_api::{AlertFilters, OpenBody};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hygie_core::{Finess, Lang};
use hygie_report::Translate;
use hygie_store::{AlertRecord, AlertStatus};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/{finess}/alerts", get(alerts_page))
        .route("/facilities/{finess}/alerts/triage", post(triage_selected))
        .route(
            "/facilities/{finess}/alerts/open-incident",
            post(open_incident),
        )
        .route("/facilities/{finess}/alerts/{alert}", get(alert_page))
        .route("/facilities/{finess}/alerts/{alert}/triage", post(triage))
}

/// Levels offered by the filter (Sigma's).
const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

#[derive(askama::Template)]
#[template(path = "alerts.html")]
struct AlertsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    alerts: &'a [AlertRecord],
    filters: &'a AlertFilters,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    /// The session's CSRF token, for a caller who may write.
    csrf: Option<&'a str>,
    /// A refused form: its message, the alerts ticked and the title typed.
    error: Option<String>,
    selected: &'a [String],
    title: &'a str,
    /// Alerts recorded per day and level over the last days, all filters aside.
    chart: crate::html::AlertsChart,
}

impl AlertsBody<'_> {
    fn level_label(&self, level: &str) -> &'static str {
        level_label(self.lang, level)
    }
    fn ticked(&self, id: &str) -> bool {
        self.selected.iter().any(|s| s == id)
    }
    fn filter(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
}

// The levels' words and colours are the rendering layer's (the alerts chart uses them too).
pub(crate) use crate::html::{level_class, level_label};

#[derive(askama::Template)]
#[template(path = "alert.html")]
struct AlertBody<'a> {
    lang: Lang,
    id: &'a Finess,
    a: &'a AlertRecord,
    csrf: Option<&'a str>,
    error: Option<String>,
    /// The status and reason typed in a refused triage.
    status: &'a str,
    reason: &'a str,
}

impl AlertBody<'_> {
    fn level_label(&self, level: &str) -> &'static str {
        level_label(self.lang, level)
    }
    fn chosen(&self, s: &str) -> bool {
        self.status == s
    }
    fn attack(&self) -> Vec<&str> {
        self.a
            .tags
            .iter()
            .filter(|t| t.starts_with("attack."))
            .map(|t| t.trim_start_matches("attack."))
            .collect()
    }
    fn other_tags(&self) -> Vec<&str> {
        self.a
            .tags
            .iter()
            .filter(|t| !t.starts_with("attack."))
            .map(String::as_str)
            .collect()
    }
}

hygie_report::translate_by_lang_field!(AlertsBody, AlertBody);

/// The statuses a person may choose in a triage.
const TRIAGE: [AlertStatus; 3] = [
    AlertStatus::New,
    AlertStatus::Acknowledged,
    AlertStatus::FalsePositive,
];

struct Refused<'a> {
    error: String,
    selected: &'a [String],
    title: &'a str,
}

async fn list(at: &FacilityPage, f: &AlertFilters, refused: Option<Refused<'_>>) -> PageResult {
    let fac = at.facility().await?;
    let page = at.scoped().alert_page(&at.id, &f.query()?).await?;
    let lang = at.lang();
    let now = jiff::Timestamp::now();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let since = today
        .checked_sub(jiff::Span::new().days(crate::html::ALERT_CHART_DAYS - 1))
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
        .map_or(now, |z| z.timestamp());
    let per_day = at.scoped().alerts_per_day(&at.id, since, now).await?;
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (error, selected, title) = match refused {
        Some(r) => (Some(r.error), r.selected, r.title),
        None => (None, &[][..], ""),
    };
    let b = AlertsBody {
        lang,
        id: &at.id,
        alerts: &page.alerts,
        filters: f,
        next: page.next.as_deref().map(|n| f.next_query(n)),
        csrf: at.who.c.access.write.then(|| at.who.c.csrf()),
        error,
        selected,
        title,
        chart: crate::html::AlertsChart::of(lang, today, &per_day),
    };
    Ok((status, at.titled(&fac, t(lang, "Alerts", "Alertes"), &b)).into_response())
}

async fn alerts_page(at: FacilityPage, Query(f): Query<AlertFilters>) -> PageResult {
    list(&at, &f, None).await
}

/// The fields of a form with repeated names (`alert` for each ticked box).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn none_ticked(lang: Lang) -> String {
    t(
        lang,
        "Tick at least one alert.",
        "Cochez au moins une alerte.",
    )
    .to_owned()
}

async fn open_incident(at: FacilityPage, Form(form): Form<Vec<(String, String)>>) -> PageResult {
    let form = Fields(form);
    at.caller().check_csrf(form.one("csrf"))?;
    let lang = at.lang();
    let selected = form.all("alert");
    let title = form.one("title").unwrap_or("").trim().to_owned();
    let refuse = |error: String| Refused {
        error,
        selected: &selected,
        title: &title,
    };
    if selected.is_empty() {
        return list(
            &at,
            &AlertFilters::default(),
            Some(refuse(none_ticked(lang))),
        )
        .await;
    }
    let now = jiff::Timestamp::now();
    let mut body = OpenBody {
        alerts: selected.clone(),
        ..OpenBody::default()
    };
    if !title.is_empty() {
        body.facts.title = Some(title.clone());
    }
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
        Err(e @ (WebError::Invalid(_) | WebError::NotFound(_))) => {
            list(
                &at,
                &AlertFilters::default(),
                Some(refuse(e.public_message())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Acknowledge (or mark new again) every ticked alert; a false positive needs its reason, given
/// one alert at a time on its page.
async fn triage_selected(at: FacilityPage, Form(form): Form<Vec<(String, String)>>) -> PageResult {
    let form = Fields(form);
    at.caller().check_csrf(form.one("csrf"))?;
    let lang = at.lang();
    let selected = form.all("alert");
    let refuse = |error: String| Refused {
        error,
        selected: &selected,
        title: "",
    };
    if selected.is_empty() {
        return list(
            &at,
            &AlertFilters::default(),
            Some(refuse(none_ticked(lang))),
        )
        .await;
    }
    let status = AlertStatus::parse(form.one("status").unwrap_or("acknowledged"))?;
    for a in &selected {
        if let Err(e) = at.scoped().triage_alert(&at.id, a, status, None).await {
            let e = WebError::from(e);
            if matches!(e, WebError::Invalid(_) | WebError::NotFound(_)) {
                let msg = format!("{a}: {}", e.public_message());
                return list(&at, &AlertFilters::default(), Some(refuse(msg))).await;
            }
            return Err(e.into());
        }
    }
    Ok(see_other(&format!("/facilities/{}/alerts", at.id)))
}

async fn detail(
    at: &FacilityPage,
    alert: &str,
    refused: Option<(String, &str, &str)>,
) -> PageResult {
    let a = at.scoped().alert(&at.id, alert).await?;
    let lang = at.lang();
    let http = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (error, status, reason) = match refused {
        Some((e, s, r)) => (Some(e), s, r),
        None => (
            None,
            a.status.as_str(),
            a.status_reason.as_deref().unwrap_or(""),
        ),
    };
    let b = hygie_report::render(&AlertBody {
        lang,
        id: &at.id,
        a: &a,
        csrf: at.who.c.access.write.then(|| at.who.c.csrf()),
        error,
        status,
        reason,
    });
    let title = format!("{} — {}", t(lang, "Alert", "Alerte"), a.title);
    Ok((http, at.who.page(&title, &b)).into_response())
}

async fn alert_page(at: FacilityPage, Path((_, alert)): Path<(String, String)>) -> PageResult {
    detail(&at, &alert, None).await
}

#[derive(serde::Deserialize)]
struct TriageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

async fn triage(
    at: FacilityPage,
    Path((_, alert)): Path<(String, String)>,
    Form(f): Form<TriageForm>,
) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    let reason = f.reason.as_deref().unwrap_or("");
    let done = match AlertStatus::parse(&f.status) {
        Ok(s) => at
            .scoped()
            .triage_alert(&at.id, &alert, s, Some(reason))
            .await
            .map_err(WebError::from),
        Err(e) => Err(WebError::from(e)),
    };
    match done {
        Ok(_) => Ok(see_other(&format!("/facilities/{}/alerts/{alert}", at.id))),
        Err(WebError::Invalid(m)) => detail(&at, &alert, Some((m, &f.status, reason))).await,
        Err(e) => Err(e.into()),
    }
}
