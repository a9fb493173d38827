//! The catalogue of measures, browsable and searchable.

use super::{PageResult, PageUser};
use crate::api::measure_id;
use crate::html::{t, table_head};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use hygie_report::esc;
use serde::Deserialize;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog_page))
        .route("/catalog/{measure}", get(catalog_measure))
}

// --- catalogue, journal ----------------------------------------------------------------------

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
    level: Option<String>,
}

async fn catalog_page(
    State(st): State<AppState>,
    p: PageUser,
    Query(q): Query<CatalogQuery>,
) -> PageResult {
    let lang = p.lang();
    let c = st.catalog();
    let needle = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let level: Option<u8> = q.level.as_deref().and_then(|l| l.parse().ok());
    let mut b = format!(
        "<form method=\"get\" class=\"card\"><label>{} <input name=\"q\" value=\"{}\"></label><label>{} <select name=\"level\"><option value=\"\">—</option><option>1</option><option>2</option><option>3</option></select></label><button type=\"submit\">{}</button></form><p>{} {} · {} {}</p>",
        t(lang, "Search", "Rechercher"),
        esc(&needle),
        t(lang, "Level", "Palier"),
        t(lang, "Filter", "Filtrer"),
        t(lang, "Catalogue version", "Version du catalogue"),
        esc(&c.version),
        c.measures.len(),
        t(lang, "measures", "mesures")
    );
    b.push_str(&table_head(&[
        "Id",
        t(lang, "Title", "Titre"),
        t(lang, "Level", "Palier"),
        t(lang, "Verification", "Vérification"),
        t(lang, "Principles", "Principes"),
    ]));
    for m in c.measures.iter().filter(|m| {
        level.is_none_or(|l| m.level == Some(l))
            && (needle.is_empty()
                || m.id.as_str().to_lowercase().contains(&needle)
                || m.title.get(lang).to_lowercase().contains(&needle))
    }) {
        let pr: Vec<String> = m
            .principles
            .iter()
            .map(|p| esc(p.label().get(lang)))
            .collect();
        let _ = write!(
            b,
            "<tr><td><a href=\"/catalog/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.id,
            m.id,
            esc(m.title.get(lang)),
            m.level.map(|l| l.to_string()).unwrap_or_default(),
            m.verification.as_str(),
            pr.join(", ")
        );
    }
    b.push_str("</table>");
    Ok(p.page(t(lang, "Measure catalogue", "Catalogue des mesures"), &b))
}

async fn catalog_measure(
    State(st): State<AppState>,
    p: PageUser,
    Path(m): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = measure_id(&st, &m)?;
    let Some(m) = st.catalog().measure(&id) else {
        return Err(WebError::NotFound(format!("measure {id}")).into());
    };
    let mut b = format!("<p>{}</p><ul>", esc(m.description.get(lang)));
    for src in &m.sources {
        let _ = write!(
            b,
            "<li>{} {}</li>",
            esc(&src.framework),
            esc(&src.reference)
        );
    }
    b.push_str("</ul>");
    let kinds: Vec<String> = m
        .applies_to
        .iter()
        .map(|k| esc(k.label().get(lang)))
        .collect();
    let _ = write!(
        b,
        "<p>{}: {} · {}: {} · {}: {}</p>",
        t(lang, "Level", "Palier"),
        m.level.map(|l| l.to_string()).unwrap_or_else(|| "—".into()),
        t(lang, "Applies to", "S'applique à"),
        kinds.join(", "),
        t(lang, "Verification", "Vérification"),
        m.verification.as_str()
    );
    let facilities = st.store().scoped(&p.c.access).facilities().await?;
    if !facilities.is_empty() && facilities.len() <= 50 {
        let _ = write!(
            b,
            "<h2>{}</h2><ul>",
            t(lang, "At my facilities", "Dans mes établissements")
        );
        for f in facilities {
            let _ = write!(
                b,
                "<li><a href=\"/facilities/{}/measures/{}\">{}</a></li>",
                f.id,
                m.id,
                esc(&f.name)
            );
        }
        b.push_str("</ul>");
    }
    Ok(p.page(&format!("{} — {}", m.id, m.title.get(lang)), &b))
}
