//! The regional matrix of facilities and its CSV export; the facilities' federation reports
//! (freshness, verified or declared measures) and why they are late, with its CSV export.

use super::{PageError, PageResult, PageUser};
use crate::api::{self, AsOf, region};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
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
    let b = hygie_report::render(&RegionBody {
        lang: p.lang(),
        rs: &rs,
        kind: q.kind.as_deref(),
        dep: q.dep.as_deref().unwrap_or(""),
        late: rs.facilities.iter().filter(|f| f.overdue > 0).count(),
        overdue: rs.facilities.iter().map(|f| f.overdue).sum(),
        can_add: scoped.manages_facilities() && scoped.covers_region(rs.region),
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
