//! A facility's pages: the home list, the dashboard with its trend, the measure page with its
//! declarations and evidence, and the forms that declare and upload.

use super::{FacilityPage, PageResult, PageUser, see_other};
use crate::api::{self, AsOf, clean_file_name, measure_id, today};
use crate::html::{TrendChart, t};
use crate::{AppState, WebError};
use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::routing::{get, post};
use hygie_core::{DeclaredStatus, Finess, Lang};
use hygie_report::Translate;
use hygie_store::Binding;
use serde::Deserialize;

pub(super) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/facilities/{finess}", get(facility_page))
        .route("/facilities/{finess}/measures/{measure}", get(measure_page))
        .route(
            "/facilities/{finess}/measures/{measure}/declare",
            post(declare),
        )
        .route(
            "/facilities/{finess}/measures/{measure}/evidence",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/facilities/{finess}/evidence/{sha256}", get(download))
}

/// Facilities listed on the home page; beyond, the regional view is the way in.
const HOME_SHOWN: usize = 500;

#[derive(askama::Template)]
#[template(path = "facility_home.html")]
struct HomeBody<'a> {
    lang: Lang,
    regions: &'a [hygie_core::Region],
    facilities: &'a [hygie_core::Facility],
}

#[derive(askama::Template)]
#[template(path = "facility.html")]
struct FacilityBody<'a> {
    lang: Lang,
    id: &'a Finess,
    s: &'a hygie_core::FacilityStatus,
    trend: TrendChart<'a>,
    /// What to do next: the measures past their plan deadline or expired, together.
    needing: Vec<&'a hygie_core::plan::MeasureState>,
    /// The measures an automated check finds failing.
    failing: Vec<&'a hygie_core::plan::MeasureState>,
    /// The first level not reached and the measures blocking it.
    next: Option<(
        &'a hygie_core::LevelStatus,
        Vec<&'a hygie_core::plan::MeasureState>,
    )>,
    /// Levels complete above the next one to reach (they count once the lower ones do).
    complete_beyond: Vec<u8>,
    /// Incident obligations late or due in the next 48 hours.
    due: Vec<hygie_incident::due::DueItem<'a>>,
    now: jiff::Timestamp,
    /// The newest alerts still new (untriaged), at most `NEW_ALERTS_SHOWN`, and whether more.
    new_alerts: &'a [hygie_store::AlertRecord],
    more_alerts: bool,
    /// The latest run of each audit and target, with its change against the run before.
    audits: Vec<super::RunGroup<'a>>,
}

/// New alerts listed on the dashboard; beyond, a link to the filtered list.
const NEW_ALERTS_SHOWN: usize = 5;

/// A measure's page: its catalogue entry, status at the facility, checks, evidence, history and
/// (for writers) the declaration and upload forms.
#[derive(askama::Template)]
#[template(path = "measure.html")]
struct MeasureBody<'a> {
    lang: Lang,
    id: &'a Finess,
    facility_name: &'a str,
    measure: &'a hygie_core::Measure,
    /// None when the measure does not apply to the facility.
    state: Option<&'a hygie_core::plan::MeasureState>,
    sources: Vec<Source<'a>>,
    checks: Vec<(&'a hygie_core::CheckRun, &'a hygie_core::RuleResult)>,
    evidence: &'a [hygie_store::EvidenceItem],
    history: &'a [hygie_store::DeclarationRecord],
    /// The session's CSRF token, when the user may declare and upload.
    csrf: Option<&'a str>,
}

/// A source of a measure, with the framework's name and the entry's title when the catalogue
/// holds them (else the framework id as written in the measure).
struct Source<'a> {
    framework: &'a str,
    reference: &'a str,
    title: Option<&'a str>,
}

/// The statuses a user may declare: (value, English, French).
const DECLARABLE: [(&str, &str, &str); 4] = [
    ("implemented", "implemented", "mise en œuvre"),
    ("in_progress", "in progress", "en cours"),
    ("not_started", "not started", "non commencée"),
    ("not_applicable", "not applicable", "non applicable"),
];

hygie_report::translate_by_lang_field!(HomeBody, FacilityBody, MeasureBody);

impl MeasureBody<'_> {
    /// A declared status (`in_progress`...) in the reader's words.
    fn declared(&self, status: &str) -> &'static str {
        DECLARABLE
            .iter()
            .find(|d| d.0 == status)
            .map_or("?", |d| self.t(d.1, d.2))
    }
}

// --- dashboards ------------------------------------------------------------------------------

async fn home(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let facilities = scoped.facilities().await?;
    match &p.user.binding {
        Binding::Region { region } => return Ok(see_other(&format!("/regions/{}", region.code()))),
        Binding::Facilities { .. } if facilities.len() == 1 => {
            return Ok(see_other(&format!("/facilities/{}", facilities[0].id)));
        }
        _ => {}
    }
    let regions = scoped.regions().await?;
    let b = hygie_report::render(&HomeBody {
        lang,
        regions: &regions,
        facilities: &facilities,
    });
    Ok(p.page(t(lang, "Home", "Accueil"), &b))
}

/// First day of the month `back` months before `d`'s month (for trend points).
fn months_back(d: jiff::civil::Date, back: i32) -> jiff::civil::Date {
    d.first_of_month()
        .checked_sub(jiff::Span::new().months(back))
        .unwrap_or(d)
}

async fn facility_page(at: FacilityPage, Query(q): Query<AsOf>) -> PageResult {
    let lang = at.lang();
    let as_of = api::as_of(&q)?;
    let dates: Vec<jiff::civil::Date> = (1..=12).rev().map(|m| months_back(as_of, m)).collect();
    let scoped = at.scoped();
    let s = &scoped.facility_status(at.catalog(), &at.id, as_of).await?;
    let mut points = scoped.facility_trend(at.catalog(), &at.id, &dates).await?;
    points.push((as_of, s.score));
    // What needs doing today, whatever the status date: incidents' clocks, untriaged alerts and
    // the latest audits.
    let now = jiff::Timestamp::now();
    let incidents = scoped.incidents(&at.id).await?;
    let horizon = now + jiff::SignedDuration::from_hours(48);
    let due = hygie_incident::due::due_within(&incidents, now, horizon)
        .map_err(WebError::from)?
        .items;
    let alerts = scoped
        .alert_page(
            &at.id,
            &hygie_store::AlertQuery {
                status: Some(hygie_store::AlertStatus::New),
                limit: NEW_ALERTS_SHOWN as i64 + 1,
                ..Default::default()
            },
        )
        .await?
        .alerts;
    let runs = scoped.check_run_list(&at.id).await?;
    let mut audits = super::run_groups(lang, &runs);
    for g in &mut audits {
        g.runs.truncate(1);
    }
    let next = s.next_level();
    let b = hygie_report::render(&FacilityBody {
        lang,
        id: &s.facility.id,
        s,
        trend: TrendChart {
            lang,
            points: &points,
            label: hygie_core::Text::new(
                "Score over the last twelve months",
                "Score sur les douze derniers mois",
            ),
        },
        needing: s.needing_action(),
        failing: s.failing(),
        complete_beyond: s.complete_beyond_next(),
        next,
        due,
        now,
        new_alerts: &alerts[..alerts.len().min(NEW_ALERTS_SHOWN)],
        more_alerts: alerts.len() > NEW_ALERTS_SHOWN,
        audits,
    });
    Ok(at.who.page(&s.facility.name, &b))
}

async fn measure_page(at: FacilityPage, Path((_, m)): Path<(String, String)>) -> PageResult {
    let (lang, st, id) = (at.lang(), &at.st, &at.id);
    let mid = measure_id(st, &m)?;
    let scoped = at.scoped();
    let s = scoped.facility_status(st.catalog(), id, today()).await?;
    let Some(measure) = st.catalog().measure(&mid) else {
        return Err(WebError::NotFound(format!("measure {m}")).into());
    };
    let history = scoped.declaration_history(id, Some(&mid)).await?;
    let evidence = scoped.evidence(id, Some(&mid)).await?;
    let runs = scoped.check_runs(id).await?;
    let sources = measure
        .sources
        .iter()
        .map(|src| {
            let entry = st.catalog().framework(&src.framework).and_then(|fw| {
                fw.entries
                    .iter()
                    .find(|e| e.reference == src.reference)
                    .map(|e| (fw.name.get(lang), e.title.get(lang)))
            });
            Source {
                framework: entry.map_or(src.framework.as_str(), |(name, _)| name),
                reference: &src.reference,
                title: entry.map(|(_, title)| title),
            }
        })
        .collect();
    // Automatic check results touching this measure, newest run first.
    let checks = runs
        .iter()
        .rev()
        .flat_map(|run| {
            run.results
                .iter()
                .filter(|r| r.measures.contains(&mid))
                .map(move |r| (run, r))
        })
        .collect();
    let b = hygie_report::render(&MeasureBody {
        lang,
        id,
        facility_name: &s.facility.name,
        measure,
        state: s.measures.iter().find(|x| x.id == mid),
        sources,
        checks,
        evidence: &evidence,
        history: &history,
        csrf: at.who.c.access.write.then(|| at.who.c.csrf()),
    });
    Ok(at
        .who
        .page(&format!("{} — {}", mid, measure.title.get(lang)), &b))
}

#[derive(Deserialize)]
struct DeclareForm {
    #[serde(default)]
    csrf: String,
    status: String,
    justification: Option<String>,
    owner: Option<String>,
    note: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

async fn declare(
    at: FacilityPage,
    Path((_, m)): Path<(String, String)>,
    Form(f): Form<DeclareForm>,
) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    let mid = measure_id(&at.st, &m)?;
    let status = DeclaredStatus::parse(&f.status, non_empty(&f.justification))?;
    at.scoped()
        .declare(
            &at.id,
            &mid,
            &status,
            non_empty(&f.owner),
            non_empty(&f.note),
        )
        .await?;
    Ok(see_other(&format!("/facilities/{}/measures/{mid}", at.id)))
}

async fn upload(
    at: FacilityPage,
    Path((_, m)): Path<(String, String)>,
    mut mp: Multipart,
) -> PageResult {
    let mid = measure_id(&at.st, &m)?;
    let (mut csrf, mut file, mut implemented) = (None, None, false);
    while let Some(field) = mp.next_field().await.map_err(WebError::from)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(WebError::from)?),
            Some("implemented") => implemented = true,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(WebError::from)?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    at.caller().check_csrf(csrf.as_deref())?;
    let (name, bytes) = file.ok_or_else(|| WebError::Invalid("choose a file".into()))?;
    if bytes.is_empty() {
        return Err(WebError::Invalid("the evidence file is empty".into()).into());
    }
    let name = clean_file_name(&name)?;
    let (scoped, fid) = (at.scoped(), &at.id);
    // The file and the declaration it supports go in one transaction: a crash keeps both or
    // neither.
    let note = format!("evidence: {name}");
    let declare = implemented.then_some((&DeclaredStatus::Implemented, note.as_str()));
    scoped
        .add_evidence_file_declaring(fid, &mid, &name, &bytes, declare)
        .await?;
    Ok(see_other(&format!("/facilities/{fid}/measures/{mid}")))
}

async fn download(at: FacilityPage, Path((_, sha)): Path<(String, String)>) -> PageResult {
    let (name, content) = at.scoped().evidence_file(&at.id, &sha).await?;
    Ok(crate::download::attachment(&name, content))
}
