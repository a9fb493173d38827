//! The catalogue of measures, browsable and searchable.

use super::{PageResult, PageUser};
use crate::api::measure_id;
use crate::html::t;
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use hygie_core::Lang;
use hygie_report::Translate;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog_page))
        .route("/catalog/{measure}", get(catalog_measure))
}

// --- catalogue, journal ----------------------------------------------------------------------

/// The measures matching the search, with the form to refine it.
#[derive(askama::Template)]
#[template(path = "catalog.html")]
struct CatalogBody<'a> {
    lang: Lang,
    needle: &'a str,
    version: &'a str,
    /// Measures in the whole catalogue.
    total: usize,
    measures: Vec<&'a hygie_core::Measure>,
}

/// One measure, with links to it at the user's facilities (when they are few).
#[derive(askama::Template)]
#[template(path = "catalog_measure.html")]
struct CatalogMeasureBody<'a> {
    lang: Lang,
    m: &'a hygie_core::Measure,
    facilities: &'a [hygie_core::Facility],
    catalog: &'a hygie_core::Catalog,
}

impl CatalogMeasureBody<'_> {
    /// A source's framework by its name in the reader's language (its id when unknown).
    fn framework<'b>(&'b self, id: &'b str) -> &'b str {
        self.catalog
            .framework(id)
            .map_or(id, |fw| fw.name.get(self.lang))
    }
}

hygie_report::translate_by_lang_field!(CatalogBody, CatalogMeasureBody);

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
    let measures = c
        .measures
        .iter()
        .filter(|m| {
            level.is_none_or(|l| m.level == Some(l))
                && (needle.is_empty()
                    || m.id.as_str().to_lowercase().contains(&needle)
                    || m.title.get(lang).to_lowercase().contains(&needle))
        })
        .collect();
    let b = hygie_report::render(&CatalogBody {
        lang,
        needle: &needle,
        version: &c.version,
        total: c.measures.len(),
        measures,
    });
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
    let facilities = st.scoped(&p.c).facilities().await?;
    let b = hygie_report::render(&CatalogMeasureBody {
        lang,
        m,
        facilities: &facilities,
        catalog: st.catalog(),
    });
    Ok(p.page(&format!("{} — {}", m.id, m.title.get(lang)), &b))
}
