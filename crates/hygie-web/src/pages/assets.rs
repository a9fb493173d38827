//! A facility's asset register (issue 21): the list with its filters (category, medical devices
//! included, zone, operating system, vulnerable, end of life), vulnerable and end-of-life assets
//! first, and an asset's page with its software, its vulnerabilities (with the CERT-FR advisories
//! citing their CVEs) and its history (first and last seen, the sightings of each source). Read through `Store::scoped` like every facility
//! page: another facility's asset is "not found".
//!
//! Vulnerable and end of life come from the facility's latest recorded runs, never recomputed
//! here: the `vuln` run of `hygie inventory vulns` (its objects, and per asset the worst
//! software in its summary) and the `inventory` run of the last import (`ASSET-OS-END-OF-LIFE`).

use super::{FacilityPage, PageResult};
use crate::WebError;
use crate::html::t;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::IntoResponse;
use axum::routing::get;
use hygie_core::{Finess, Lang};
use hygie_inventory::map::IsMap;
use hygie_inventory::{Asset, Category, Software};
use hygie_report::Translate;
use hygie_store::{RunHeader, Scoped, SightingRecord};
use std::collections::BTreeSet;

pub(super) fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/facilities/{finess}/assets", get(assets_page))
        .route("/facilities/{finess}/assets/{asset}", get(asset_page))
        .route("/facilities/{finess}/map", get(map_page))
        .route("/facilities/{finess}/map.json", get(map_json))
}

/// The list's filters, from the address (`?category=medical&vulnerable=1`).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    category: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    vulnerable: String,
    #[serde(default)]
    eol: String,
}

impl Filters {
    fn on(v: &str) -> bool {
        matches!(v, "1" | "on" | "true" | "yes")
    }
}

/// What the latest runs say about the assets (`Store::asset_findings`, shared with the API
/// and the map).
struct Flags(hygie_store::AssetFindings);

impl Flags {
    fn of(&self, a: &Asset) -> (bool, u64, bool) {
        crate::asset_api::flags_of(&self.0, a)
    }
}

async fn flags(scoped: &Scoped<'_>, id: &Finess) -> Result<Flags, WebError> {
    Ok(Flags(scoped.asset_findings(id).await?))
}

fn os_text(a: &Asset) -> String {
    crate::asset_api::os_text(a)
}

fn category_label(lang: Lang, c: Category) -> &'static str {
    let (en, fr) = match c {
        Category::Workstation => ("Workstation", "Poste de travail"),
        Category::Server => ("Server", "Serveur"),
        Category::Network => ("Network", "Réseau"),
        Category::Printer => ("Printer", "Imprimante"),
        Category::Medical => ("Medical device", "Dispositif médical"),
        Category::Unknown => ("Unknown", "Inconnu"),
    };
    t(lang, en, fr)
}

pub(super) struct AssetRow<'a> {
    a: &'a Asset,
    category: &'static str,
    os: String,
    vulnerable: bool,
    kev: u64,
    eol: bool,
    software: usize,
}

#[derive(askama::Template)]
#[template(path = "assets.html")]
struct AssetsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    rows: Vec<AssetRow<'a>>,
    total: usize,
    categories: Vec<(&'static str, &'static str)>,
    zones: Vec<String>,
    f: &'a Filters,
    vuln_run: Option<&'a RunHeader>,
}

#[derive(askama::Template)]
#[template(path = "asset.html")]
struct AssetBody<'a> {
    lang: Lang,
    id: &'a Finess,
    row: AssetRow<'a>,
    software: Vec<&'a Software>,
    vulns: Vec<VulnLine>,
    sources: Vec<(&'static str, String)>,
    sightings: &'a [SightingRecord],
}

/// One vulnerable software on the asset page.
struct VulnLine {
    software: String,
    version: String,
    cpe: String,
    certainty: String,
    kev: bool,
    packaged: bool,
    cves: String,
    /// The CERT-FR advisories citing its CVEs (at most five, then `certfr_more`).
    certfr: Vec<Advisory>,
    certfr_more: u64,
}

/// A CERT-FR advisory as the asset page links it.
struct Advisory {
    reference: String,
    title: String,
    /// On cert.ssi.gouv.fr; empty when the run did not keep it.
    url: String,
}

#[derive(askama::Template)]
#[template(path = "map.html")]
struct MapBody<'a> {
    lang: Lang,
    id: &'a Finess,
    m: &'a IsMap,
    svg: String,
}

hygie_report::translate_by_lang_field!(AssetsBody, AssetBody, MapBody);

fn row<'a>(lang: Lang, a: &'a Asset, flags: &Flags) -> AssetRow<'a> {
    let (vulnerable, kev, eol) = flags.of(a);
    AssetRow {
        a,
        category: category_label(lang, a.category),
        os: os_text(a),
        vulnerable,
        kev,
        eol,
        software: a.all_software().len(),
    }
}

async fn assets_page(at: FacilityPage, Query(f): Query<Filters>) -> PageResult {
    let fac = at.facility().await?;
    let scoped = at.scoped();
    let assets = scoped.inventory(&at.id).await?;
    let flags = flags(&scoped, &at.id).await?;
    let lang = at.lang();
    let sel = crate::asset_api::Selection {
        category: Category::parse(&f.category).filter(|_| !f.category.is_empty()),
        zone: Some(f.zone.clone()).filter(|z| !z.is_empty()),
        os: f.os.clone(),
        vulnerable: Filters::on(&f.vulnerable),
        eol: Filters::on(&f.eol),
    };
    let rows: Vec<AssetRow<'_>> = crate::asset_api::select(&assets, &flags.0, &sel)
        .into_iter()
        .map(|a| row(lang, a, &flags))
        .collect();
    let zones: Vec<String> = assets
        .iter()
        .filter_map(|a| a.zone.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let categories = [
        Category::Workstation,
        Category::Server,
        Category::Network,
        Category::Printer,
        Category::Medical,
        Category::Unknown,
    ]
    .into_iter()
    .map(|c| (c.as_str(), category_label(lang, c)))
    .collect();
    let b = AssetsBody {
        lang,
        id: &at.id,
        rows,
        total: assets.len(),
        categories,
        zones,
        f: &f,
        vuln_run: flags.0.vuln_run.as_ref(),
    };
    Ok(at.titled(&fac, t(lang, "Assets", "Équipements"), &b))
}

async fn asset_page(at: FacilityPage, Path((_, asset)): Path<(String, String)>) -> PageResult {
    let fac = at.facility().await?;
    let scoped = at.scoped();
    let assets = scoped.inventory(&at.id).await?;
    let hidden = || WebError::NotFound(format!("asset {asset}"));
    let n: u64 = asset.parse().map_err(|_| hidden())?;
    let a = assets.iter().find(|a| a.id == n).ok_or_else(hidden)?;
    let flags = flags(&scoped, &at.id).await?;
    let sightings = scoped.inventory_sightings(&at.id, a.id).await?;
    let lang = at.lang();
    let vulns = flags
        .0
        .vulnerabilities(a.id)
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let mut cves: Vec<String> = v["cves"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(more) = v["more"].as_u64().filter(|m| *m > 0) {
                cves.push(format!("+{more}"));
            }
            let certainty = match v["certainty"].as_str() {
                Some("exact_cpe") => t(lang, "exact CPE", "CPE exact"),
                Some("normalised_name") => t(lang, "normalised name", "nom normalisé"),
                Some("vendor_only") => t(lang, "vendor only", "éditeur seul"),
                _ => "",
            };
            let certfr = v["certfr"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|c| {
                            let f = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                            Advisory {
                                reference: f("reference"),
                                title: f("title"),
                                url: f("url"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            VulnLine {
                software: s("software"),
                version: s("version"),
                cpe: s("cpe"),
                certainty: certainty.to_owned(),
                kev: v["kev"].as_bool().unwrap_or(false),
                packaged: v["packaged"].as_bool().unwrap_or(false),
                cves: cves.join(" "),
                certfr,
                certfr_more: v["certfr_more"].as_u64().unwrap_or(0),
            }
        })
        .collect();
    let sources = a
        .sources
        .iter()
        .map(|(k, ts)| (k.as_str(), crate::html::when(*ts)))
        .collect();
    let label = a.label();
    let b = AssetBody {
        lang,
        id: &at.id,
        row: row(lang, a, &flags),
        software: a.all_software(),
        vulns,
        sources,
        sightings: &sightings,
    };
    Ok(at.titled(&fac, &label, &b))
}

/// The IS map (`hygie_inventory::map`): the SVG hygie-report draws, the flows as a table.
async fn map_page(at: FacilityPage) -> PageResult {
    let fac = at.facility().await?;
    let m = at.scoped().is_map(&at.id).await?;
    let lang = at.lang();
    let b = MapBody {
        lang,
        id: &at.id,
        svg: hygie_report::diagram::svg(&hygie_inventory::map::diagram(&m, lang)),
        m: &m,
    };
    Ok(at.titled(&fac, t(lang, "IS map", "Cartographie du SI"), &b))
}

/// The IS map's JSON, as a download (the same document as the API's `.../map`).
async fn map_json(at: FacilityPage) -> PageResult {
    let m = at.scoped().is_map(&at.id).await?;
    let body = serde_json::to_vec_pretty(&m).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::download::content_disposition(&format!("is-map-{}.json", at.id.as_str())),
            ),
        ],
        body,
    )
        .into_response())
}
