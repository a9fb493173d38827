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
        .route("/facilities/{finess}/report.pdf", get(facility_pdf))
        .route("/facilities/{finess}/measures/{measure}", get(measure_page))
        .route(
            "/facilities/{finess}/measures/{measure}/declare",
            post(declare),
        )
        .route(
            "/facilities/{finess}/measures/{measure}/evidence",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/facilities/{finess}/measures/{measure}/links",
            post(add_link),
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
    /// The caller may register facilities (a link to the form).
    can_add: bool,
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
    /// The caller may change the facility's record (a link to the form).
    can_edit: bool,
    /// The agency's requests not answered yet, with their days left (soonest due first).
    requests: Vec<(hygie_store::ReceivedRequest, i64)>,
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
    /// The largest evidence file, as "25 Mi" (the text adds B or o).
    max_upload: String,
    /// What the last evidence form left to say (a refusal, a file already attached), and the
    /// link form as typed with its refused fields.
    said: Said,
}

/// What a refused evidence form leaves on the measure page.
#[derive(Default)]
struct Said {
    /// A message above the evidence (a file too large, already attached).
    notice: Option<String>,
    url: String,
    title: String,
    /// The link's refused fields: (field, reason in the reader's language).
    errors: Vec<(&'static str, String)>,
}

impl MeasureBody<'_> {
    /// Why the link form's `field` was refused.
    fn link_error(&self, field: &str) -> Option<&str> {
        self.said
            .errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
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
        can_add: scoped.manages_facilities(),
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
    let trend = scoped.facility_trend(at.catalog(), &at.id, &dates).await?;
    let mut points: Vec<(jiff::civil::Date, f64)> =
        trend.iter().map(|p| (p.date, p.score)).collect();
    points.push((as_of, s.score));
    let mut levels: Vec<u8> = trend.iter().map(|p| p.level_reached).collect();
    levels.push(s.level_reached);
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
    let requests = scoped
        .received_requests(&at.id, now)
        .await?
        .into_iter()
        .filter(|r| {
            matches!(
                r.state,
                hygie_sync::AnswerState::Open | hygie_sync::AnswerState::Overdue
            )
        })
        .map(|r| {
            let left = hygie_sync::days_left(r.request.due, today());
            (r, left)
        })
        .collect();
    let b = hygie_report::render(&FacilityBody {
        lang,
        id: &s.facility.id,
        s,
        trend: TrendChart {
            lang,
            points: &points,
            levels: &levels,
            label: hygie_core::Text::new(
                "Score and level reached over the last twelve months",
                "Score et palier atteint sur les douze derniers mois",
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
        can_edit: scoped.manages_facilities(),
        requests,
    });
    Ok(at.who.page(&s.facility.name, &b))
}

/// The facility report as PDF (executive summary, then the status): what the page shows, from
/// the report's template, as `hygie status --format pdf` prints it.
async fn facility_pdf(at: FacilityPage, Query(q): Query<AsOf>) -> PageResult {
    let lang = at.lang();
    let as_of = api::as_of(&q)?;
    let scoped = at.scoped();
    let s = scoped.facility_status(at.catalog(), &at.id, as_of).await?;
    let incidents = scoped.incidents(&at.id).await?;
    let runs = scoped.check_run_list(&at.id).await?;
    let mut summary = crate::pdf::status_summary(&incidents, &runs, lang, jiff::Timestamp::now())
        .map_err(WebError::from)?;
    summary.map_svg = crate::pdf::map_svg(&scoped.is_map(&at.id).await?, lang);
    let frame = hygie_report::PrintFrame {
        header: format!("{} ({})", s.facility.name, s.facility.id),
        date: s.as_of.to_string(),
        lang,
    };
    let name = format!("hygie-{}-{}.pdf", s.facility.id, s.as_of);
    let html = hygie_report::status_report_html(&s, &summary, lang);
    Ok(crate::pdf::respond(&at.st, &html, &frame, &name).await?)
}

async fn measure_page(at: FacilityPage, Path((_, m)): Path<(String, String)>) -> PageResult {
    let mid = measure_id(&at.st, &m)?;
    measure_view(&at, &mid, Said::default(), axum::http::StatusCode::OK).await
}

/// The measure page, with what a refused evidence form left to say (`status` then says why).
async fn measure_view(
    at: &FacilityPage,
    mid: &hygie_core::MeasureId,
    said: Said,
    status: axum::http::StatusCode,
) -> PageResult {
    let (lang, st, id) = (at.lang(), &at.st, &at.id);
    let mid = mid.clone();
    let m = mid.to_string();
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
        max_upload: crate::framework_errors::size(st.config().max_upload_bytes),
        said,
    });
    let mut res = at
        .who
        .page(&format!("{} — {}", mid, measure.title.get(lang)), &b);
    *res.status_mut() = status;
    Ok(res)
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

/// The fields of the upload form; a body over the limit is `WebError::TooLarge`.
async fn upload_fields(
    mp: &mut Multipart,
) -> Result<(Option<String>, Option<(String, axum::body::Bytes)>, bool), WebError> {
    let (mut csrf, mut file, mut implemented) = (None, None, false);
    while let Some(field) = mp.next_field().await? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await?),
            Some("implemented") => implemented = true,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    Ok((csrf, file, implemented))
}

async fn upload(
    at: FacilityPage,
    Path((_, m)): Path<(String, String)>,
    mut mp: Multipart,
) -> PageResult {
    let mid = measure_id(&at.st, &m)?;
    let lang = at.lang();
    let refused = |notice: String, status| {
        let said = Said {
            notice: Some(notice),
            ..Said::default()
        };
        measure_view(&at, &mid, said, status)
    };
    let (csrf, file, implemented) = match upload_fields(&mut mp).await {
        Ok(x) => x,
        Err(WebError::TooLarge) => {
            let limit = crate::framework_errors::size(at.st.config().max_upload_bytes);
            let msg = match lang {
                Lang::En => format!(
                    "Refused: the file is larger than the limit of {limit}B for an evidence file. Send a smaller file, or a link to where the document is kept."
                ),
                Lang::Fr => format!(
                    "Refusé : le fichier dépasse la limite de {limit}o d'un fichier de preuve. Envoyez un fichier plus petit, ou un lien vers l'endroit où le document est conservé."
                ),
            };
            return refused(msg, axum::http::StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(e) => return Err(e.into()),
    };
    at.caller().check_csrf(csrf.as_deref())?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let msg = t(
            lang,
            "Refused: choose a file that is not empty.",
            "Refusé : choisissez un fichier qui n'est pas vide.",
        );
        return refused(msg.to_owned(), axum::http::StatusCode::BAD_REQUEST).await;
    };
    let name = clean_file_name(&name)?;
    let (scoped, fid) = (at.scoped(), &at.id);
    // The file and the declaration it supports go in one transaction: a crash keeps both or
    // neither.
    let note = format!("evidence: {name}");
    let declare = implemented.then_some((&DeclaredStatus::Implemented, note.as_str()));
    match scoped
        .add_evidence_file_declaring(fid, &mid, &name, &bytes, declare)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/facilities/{fid}/measures/{mid}"))),
        Err(hygie_store::StoreError::AlreadyAttached(kept)) => {
            let (file_name, added_by) = (&kept.file_name, &kept.added_by);
            let when = crate::html::when(kept.added_at);
            let msg = match lang {
                Lang::En => format!(
                    "This file is already attached to this measure, as “{file_name}” (added {when} by {added_by}): it is not listed twice."
                ),
                Lang::Fr => format!(
                    "Ce fichier est déjà joint à cette mesure, sous le nom « {file_name} » (ajouté le {when} par {added_by}) : il n'est pas listé deux fois."
                ),
            };
            refused(msg, axum::http::StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
}

/// A link as evidence; a refused one comes back on the measure page with what was typed.
async fn add_link(
    at: FacilityPage,
    Path((_, m)): Path<(String, String)>,
    Form(f): Form<LinkForm>,
) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    let mid = measure_id(&at.st, &m)?;
    let lang = at.lang();
    match hygie_core::EvidenceLink::parse(&f.url, &f.title) {
        Ok(link) => {
            at.scoped().add_evidence_link(&at.id, &mid, &link).await?;
            Ok(see_other(&format!("/facilities/{}/measures/{mid}", at.id)))
        }
        Err(errors) => {
            // Out of scope stays "not found", and a read-only role "forbidden", before any
            // word about the fields.
            at.facility().await?;
            if !at.caller().access.write {
                return Err(WebError::Forbidden(
                    "this account may not change a facility's plan".into(),
                )
                .into());
            }
            let said = Said {
                notice: None,
                url: f.url,
                title: f.title,
                errors: errors
                    .iter()
                    .map(|e| (e.field, e.message.get(lang).to_owned()))
                    .collect(),
            };
            measure_view(&at, &mid, said, axum::http::StatusCode::BAD_REQUEST).await
        }
    }
}

async fn download(at: FacilityPage, Path((_, sha)): Path<(String, String)>) -> PageResult {
    let (name, content) = at.scoped().evidence_file(&at.id, &sha).await?;
    Ok(crate::download::attachment(&name, content))
}
