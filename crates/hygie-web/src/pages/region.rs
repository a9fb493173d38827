//! The regional matrix of facilities and its CSV export; the facilities' federation reports
//! (freshness, verified or declared measures) and why they are late, with its CSV export; the
//! region's serious incidents and late notifications (`hygie_core::notifications`), filtered,
//! with its CSV export.

use super::{PageError, PageResult, PageUser};
use crate::api::{self, AsOf, region};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use hygie_core::notifications::{NotificationFilter, RegionNotifications};
use hygie_core::oversight::{DEFAULT_LATE_AFTER_DAYS, LateSort, Oversight};
use hygie_core::{FacilityKind, Lang, Region};
use hygie_report::Translate;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/regions/{region}", get(region_page))
        .route("/regions/{region}/export.csv", get(region_csv))
        .route("/regions/{region}/report.pdf", get(region_pdf))
        .route("/regions/{region}/reports", get(reports_page))
        .route("/regions/{region}/late.csv", get(late_csv))
        .route("/regions/{region}/incidents", get(incidents_page))
        .route("/regions/{region}/incidents.csv", get(incidents_csv))
}

/// The matrix (template `region_matrix.html`): one row per facility, written straight into the
/// page's buffer (the benchmark region has 1,000 facilities).
#[derive(askama::Template)]
#[template(path = "region_matrix.html")]
struct RegionBody<'a> {
    lang: Lang,
    rs: &'a hygie_core::RegionStatus,
    /// The filters as typed, shown back in the form and the CSV link.
    kind: Option<&'a str>,
    dep: &'a str,
    /// Facilities with at least one overdue measure, and overdue measures in all.
    late: usize,
    overdue: usize,
    /// The caller may register a facility in this region (a link to the form).
    can_add: bool,
    /// Late incident notifications (sent late or not sent) and open serious incidents.
    late_notifications: usize,
    open_serious: usize,
}

hygie_report::translate_by_lang_field!(RegionBody);

/// What every region page reads first: the user, the path's region and the page's query.
async fn region_request<Q: serde::de::DeserializeOwned + Send>(
    parts: &mut Parts,
    st: &AppState,
) -> Result<(PageUser, Region, Q), PageError> {
    let p = PageUser::from_request_parts(parts, st).await?;
    let Path(r) = Path::<String>::from_request_parts(parts, st)
        .await
        .map_err(|e| WebError::Internal(format!("path parameters: {e}")))?;
    let Query(q) = Query::<Q>::from_request_parts(parts, st)
        .await
        .map_err(|e| WebError::Invalid(e.body_text()))?;
    Ok((p, region(&r)?, q))
}

#[derive(Deserialize)]
struct RegionQuery {
    as_of: Option<String>,
    kind: Option<String>,
    dep: Option<String>,
}

/// A region's rows as the user may see them, filtered by the query: what the matrix and its CSV
/// export both show.
struct RegionRows {
    p: PageUser,
    q: RegionQuery,
    rs: hygie_core::RegionStatus,
}

impl FromRequestParts<AppState> for RegionRows {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        let (p, region, q) = region_request::<RegionQuery>(parts, st).await?;
        let as_of = api::as_of(&AsOf {
            as_of: q.as_of.clone(),
        })?;
        let mut rs = st.region_status(&p.c.access, region, as_of).await?;
        let kind = q
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| k.parse::<FacilityKind>())
            .transpose()?;
        let dep = q
            .dep
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_ascii_uppercase);
        rs.facilities.retain(|f| {
            kind.is_none_or(|k| f.kind == k) && dep.as_deref().is_none_or(|d| f.departement == d)
        });
        Ok(RegionRows { p, q, rs })
    }
}

async fn region_page(
    State(st): State<AppState>,
    RegionRows { p, q, rs }: RegionRows,
) -> PageResult {
    let scoped = st.scoped(&p.c);
    let n = RegionNotifications::of(
        rs.region,
        &scoped.region_obligations(rs.region).await?,
        jiff::Timestamp::now(),
        &NotificationFilter::default(),
    );
    let b = hygie_report::render(&RegionBody {
        lang: p.lang(),
        rs: &rs,
        kind: q.kind.as_deref(),
        dep: q.dep.as_deref().unwrap_or(""),
        late: rs.facilities.iter().filter(|f| f.overdue > 0).count(),
        overdue: rs.facilities.iter().map(|f| f.overdue).sum(),
        can_add: scoped.manages_facilities() && scoped.covers_region(rs.region),
        late_notifications: n.late,
        open_serious: n.open_serious,
    });
    Ok(p.page(&format!("{} — {}", rs.region.code(), rs.name), &b))
}

async fn region_csv(RegionRows { rs, .. }: RegionRows) -> PageResult {
    let s = hygie_report::region_csv(&rs, hygie_report::RegionColumns::WithLevelOverdue);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"hygie-{}-{}.csv\"",
                    rs.region.code(),
                    rs.as_of
                ),
            ),
        ],
        s,
    )
        .into_response())
}

/// The regional synthesis as PDF: the rows the matrix shows (same filters), printed from the
/// report's template as `hygie region status --format pdf` does.
async fn region_pdf(
    State(st): State<AppState>,
    RegionRows { p, rs, .. }: RegionRows,
) -> PageResult {
    let lang = p.lang();
    let frame = hygie_report::PrintFrame {
        header: format!("{} ({})", rs.name, rs.region.code()),
        date: rs.as_of.to_string(),
        lang,
    };
    let name = format!("hygie-{}-{}.pdf", rs.region.code(), rs.as_of);
    Ok(crate::pdf::respond(&st, &hygie_report::region_html(&rs, lang), &frame, &name).await?)
}

/// The facilities' reports and why they are late (template `region_reports.html`).
#[derive(askama::Template)]
#[template(path = "region_reports.html")]
struct ReportsBody<'a> {
    lang: Lang,
    o: &'a Oversight,
    sort: &'a str,
    /// Each sort of the late list with its label.
    sorts: Vec<(&'static str, &'static str)>,
}

hygie_report::translate_by_lang_field!(ReportsBody);

#[derive(Deserialize)]
struct ReportsQuery {
    as_of: Option<String>,
    late_after: Option<String>,
    sort: Option<String>,
}

/// A region's oversight as the user may see it, with the query's limit and sort: what the page
/// and its CSV export both show.
struct RegionReports {
    p: PageUser,
    o: Oversight,
    sort: LateSort,
}

impl FromRequestParts<AppState> for RegionReports {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        let (p, region, q) = region_request::<ReportsQuery>(parts, st).await?;
        let as_of = api::as_of(&AsOf {
            as_of: q.as_of.clone(),
        })?;
        let late_after = match q.late_after.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LATE_AFTER_DAYS,
            Some(d) => d
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    WebError::Invalid(format!(
                        "late_after: '{d}' is not a number of days from 1 to 3650 / n'est pas un nombre de jours de 1 à 3650"
                    ))
                })?,
        };
        let sort = LateSort::parse(q.sort.as_deref().unwrap_or("")).map_err(WebError::from)?;
        let (statuses, last) = st
            .store()
            .scoped(&p.c.access)
            .region_reports(st.catalog(), region, as_of)
            .await?;
        let o = Oversight::of(
            region,
            as_of,
            &statuses,
            &last,
            jiff::Timestamp::now(),
            late_after,
            sort,
        );
        Ok(RegionReports { p, o, sort })
    }
}

async fn reports_page(RegionReports { p, o, sort }: RegionReports) -> PageResult {
    let lang = p.lang();
    let sorts = LateSort::NAMES
        .iter()
        .map(|n| {
            let label = match (*n, lang) {
                ("facility", Lang::En) => "by facility",
                ("facility", Lang::Fr) => "par établissement",
                ("measure", Lang::En) => "by measure",
                ("measure", Lang::Fr) => "par mesure",
                (_, Lang::En) => "most days late first",
                (_, Lang::Fr) => "plus grand retard d'abord",
            };
            (*n, label)
        })
        .collect();
    let b = hygie_report::render(&ReportsBody {
        lang,
        o: &o,
        sort: sort.as_str(),
        sorts,
    });
    let title = match lang {
        Lang::En => format!("{} — facilities' reports", o.region.code()),
        Lang::Fr => format!("{} — envois des établissements", o.region.code()),
    };
    Ok(p.page(&title, &b))
}

async fn late_csv(RegionReports { p, o, .. }: RegionReports) -> PageResult {
    let s = hygie_report::late_csv(&o, p.lang());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"hygie-{}-late-{}.csv\"",
                    o.region.code(),
                    o.as_of
                ),
            ),
        ],
        s,
    )
        .into_response())
}

/// The region's serious incidents and late notifications (template `region_incidents.html`).
#[derive(askama::Template)]
#[template(path = "region_incidents.html")]
struct IncidentsBody<'a> {
    lang: Lang,
    n: &'a RegionNotifications,
    q: &'a IncidentsQuery,
    /// Each duty's code and name, for the filter.
    duties: Vec<(&'static str, hygie_core::Localized)>,
}

hygie_report::translate_by_lang_field!(IncidentsBody);

impl IncidentsBody<'_> {
    fn late_only(&self) -> bool {
        self.q
            .late
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty() && v != "0")
    }

    fn duty_is(&self, code: &str) -> bool {
        self.q.duty.as_deref() == Some(code)
    }

    fn facility_value(&self) -> &str {
        self.q.facility.as_deref().unwrap_or("")
    }

    fn dep_value(&self) -> &str {
        self.q.dep.as_deref().unwrap_or("")
    }

    /// The query string of the CSV link: the page's filters.
    fn csv_query(&self) -> String {
        let mut s = format!("lang={}", self.lang.code());
        for (k, v) in [
            ("late", self.q.late.as_deref()),
            ("duty", self.q.duty.as_deref()),
            ("facility", self.q.facility.as_deref()),
            ("dep", self.q.dep.as_deref()),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                s.push('&');
                s.push_str(k);
                s.push('=');
                s.push_str(&crate::auth::percent_encode(v));
            }
        }
        s
    }
}

#[derive(Deserialize, Default)]
struct IncidentsQuery {
    late: Option<String>,
    duty: Option<String>,
    facility: Option<String>,
    dep: Option<String>,
}

impl IncidentsQuery {
    fn filter(&self) -> Result<NotificationFilter, WebError> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let duty = given(&self.duty);
        if let Some(d) = &duty
            && !hygie_incident::Duty::ALL.iter().any(|x| x.as_str() == d)
        {
            return Err(WebError::Invalid(format!(
                "duty: '{d}' is not a duty / n'est pas une obligation"
            )));
        }
        Ok(NotificationFilter {
            late_only: given(&self.late).is_some_and(|v| v != "0"),
            duty,
            facility: given(&self.facility),
            departement: given(&self.dep).map(|d| d.to_ascii_uppercase()),
        })
    }
}

/// A region's notifications as the user may see them, filtered by the query: what the page and
/// its CSV export both show.
struct RegionIncidents {
    p: PageUser,
    q: IncidentsQuery,
    n: RegionNotifications,
}

impl FromRequestParts<AppState> for RegionIncidents {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        let (p, region, q) = region_request::<IncidentsQuery>(parts, st).await?;
        let filter = q.filter()?;
        let rows = st
            .store()
            .scoped(&p.c.access)
            .region_obligations(region)
            .await?;
        let n = RegionNotifications::of(region, &rows, jiff::Timestamp::now(), &filter);
        Ok(RegionIncidents { p, q, n })
    }
}

async fn incidents_page(RegionIncidents { p, q, n }: RegionIncidents) -> PageResult {
    let lang = p.lang();
    let duties = hygie_incident::Duty::ALL
        .iter()
        .map(|d| (d.as_str(), d.label()))
        .collect();
    let b = hygie_report::render(&IncidentsBody {
        lang,
        n: &n,
        q: &q,
        duties,
    });
    let title = match lang {
        Lang::En => format!("{} — serious incidents and notifications", n.region.code()),
        Lang::Fr => format!("{} — incidents graves et signalements", n.region.code()),
    };
    Ok(p.page(&title, &b))
}

async fn incidents_csv(RegionIncidents { p, n, .. }: RegionIncidents) -> PageResult {
    let s = hygie_report::notifications_csv(&n, p.lang());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"hygie-{}-incidents-{}.csv\"",
                    n.region.code(),
                    n.now.strftime("%Y%m%dT%H%M%SZ")
                ),
            ),
        ],
        s,
    )
        .into_response())
}
