//! The regional matrix of facilities and its CSV export.

use super::{PageResult, PageUser};
use crate::api::{self, AsOf, region};
use crate::html::{bar, demo_note, t};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use hygie_core::FacilityKind;
use hygie_report::esc;
use serde::Deserialize;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/regions/{region}", get(region_page))
        .route("/regions/{region}/export.csv", get(region_csv))
}

#[derive(Deserialize)]
struct RegionQuery {
    as_of: Option<String>,
    kind: Option<String>,
    dep: Option<String>,
}

async fn region_rows(
    st: &AppState,
    p: &PageUser,
    r: &str,
    q: &RegionQuery,
) -> Result<hygie_core::RegionStatus, WebError> {
    let region = region(r)?;
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
    Ok(rs)
}

async fn region_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let lang = p.lang();
    let rs = region_rows(&st, &p, &r, &q).await?;
    let mut b = String::new();
    if rs.demo {
        b.push_str(&demo_note(
            lang,
            "Demo region: fictitious facilities.",
            "Région de démonstration : établissements fictifs.",
        ));
    }
    let late = rs.facilities.iter().filter(|f| f.overdue > 0).count();
    let overdue: usize = rs.facilities.iter().map(|f| f.overdue).sum();
    let _ = write!(
        b,
        "<p>{} {} · <strong id=\"facility-count\">{}</strong> {} · <span class=\"late\" id=\"late-count\">{late}</span> {} · {overdue} {}</p>",
        t(lang, "Status on", "Situation au"),
        rs.as_of,
        rs.facilities.len(),
        t(lang, "facilities", "établissements"),
        t(
            lang,
            "with a late obligation",
            "avec une obligation en retard"
        ),
        t(
            lang,
            "overdue measures in all",
            "mesures en retard au total"
        )
    );
    let kinds: String = FacilityKind::ALL
        .iter()
        .map(|k| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                k.as_str(),
                if q.kind.as_deref() == Some(k.as_str()) {
                    " selected"
                } else {
                    ""
                },
                esc(k.label().get(lang))
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"get\" class=\"card\"><label>{} <select name=\"kind\"><option value=\"\">—</option>{kinds}</select></label>\
<label>{} <input name=\"dep\" size=\"3\" value=\"{}\"></label><button type=\"submit\">{}</button> \
<a href=\"/regions/{}/export.csv?kind={}&amp;dep={}\">CSV</a></form>",
        t(lang, "Kind", "Type"),
        t(lang, "Département", "Département"),
        esc(q.dep.as_deref().unwrap_or("")),
        t(lang, "Filter", "Filtrer"),
        rs.region.code(),
        esc(q.kind.as_deref().unwrap_or("")),
        esc(q.dep.as_deref().unwrap_or(""))
    );
    let _ = write!(
        b,
        "<table id=\"matrix\"><tr><th>FINESS</th><th>{}</th><th>{}</th><th>{}</th><th>{} 1</th><th>{} 2</th><th>{} 3</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "Name", "Nom"),
        t(lang, "Kind", "Type"),
        t(lang, "Dept", "Dépt"),
        t(lang, "Level", "Palier"),
        t(lang, "Level", "Palier"),
        t(lang, "Level", "Palier"),
        t(lang, "Reached", "Atteint"),
        t(lang, "Overdue", "En retard"),
        t(lang, "Failing", "En échec"),
        t(lang, "Score", "Score")
    );
    for f in &rs.facilities {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&f.name),
            esc(f.kind.label().get(lang)),
            esc(&f.departement),
            id = f.id
        );
        for l in &f.levels {
            let late = if l.overdue > 0 {
                format!(" <span class=\"late\">({})</span>", l.overdue)
            } else {
                String::new()
            };
            let _ = write!(b, "<td>{}{late}</td>", bar(l.done, l.total));
        }
        let _ = write!(
            b,
            "<td>{}</td><td{}>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            f.level_reached,
            if f.overdue > 0 { " class=\"late\"" } else { "" },
            f.overdue,
            f.failing,
            f.score
        );
    }
    b.push_str("</table>");
    Ok(p.page(&format!("{} — {}", rs.region.code(), rs.name), &b))
}

async fn region_csv(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let rs = region_rows(&st, &p, &r, &q).await?;
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
