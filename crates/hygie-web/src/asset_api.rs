//! The JSON API of the asset register and the IS map (issue 21): the filtered, paged list of a
//! facility's assets, one asset with its vulnerabilities and sightings, and the map. The
//! selection (filters and order) is shared with the register's page (`pages/assets.rs`);
//! vulnerable, known exploited and end of life come from the latest runs
//! (`Store::asset_findings`), never matched again here.

use crate::scope::AtFacility;
use crate::{Caller, WebError};
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use hygie_inventory::{Asset, Category};
use hygie_store::AssetFindings;
use serde::Deserialize;

/// Assets on one page unless `limit` says otherwise, and the most a page holds.
pub(crate) const ASSETS_PER_PAGE: usize = 100;
pub(crate) const ASSETS_PAGE_MAX: usize = 1000;

/// Which assets to list (the page's and the API's filters, parsed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Selection {
    pub category: Option<Category>,
    pub zone: Option<String>,
    /// Part of the operating system's name and version, any case; empty: any.
    pub os: String,
    pub vulnerable: bool,
    pub eol: bool,
}

/// What the latest runs say about one asset: (vulnerable, known-exploited count, end of life).
pub(crate) fn flags_of(f: &AssetFindings, a: &Asset) -> (bool, u64, bool) {
    let label = a.label();
    (
        f.findings.vulnerable.contains(&label),
        f.findings.kev.get(&a.id).copied().unwrap_or(0),
        f.findings.eol.contains(&label),
    )
}

pub(crate) fn os_text(a: &Asset) -> String {
    a.os.as_ref()
        .map(|o| match &o.version {
            Some(v) => format!("{} ({v})", o.name),
            None => o.name.clone(),
        })
        .unwrap_or_default()
}

/// The assets selected, known exploited first, then vulnerable, then end of life, then by id.
pub(crate) fn select<'a>(assets: &'a [Asset], f: &AssetFindings, s: &Selection) -> Vec<&'a Asset> {
    let os = s.os.trim().to_lowercase();
    let mut out: Vec<(&Asset, (bool, u64, bool))> = assets
        .iter()
        .filter(|a| s.category.is_none_or(|c| a.category == c))
        .filter(|a| s.zone.as_ref().is_none_or(|z| a.zone.as_ref() == Some(z)))
        .filter(|a| os.is_empty() || os_text(a).to_lowercase().contains(&os))
        .map(|a| (a, flags_of(f, a)))
        .filter(|(_, (v, _, _))| !s.vulnerable || *v)
        .filter(|(_, (_, _, e))| !s.eol || *e)
        .collect();
    out.sort_by_key(|(a, (v, k, e))| {
        (
            std::cmp::Reverse(*k > 0),
            std::cmp::Reverse(*v),
            std::cmp::Reverse(*e),
            a.id,
        )
    });
    out.into_iter().map(|(a, _)| a).collect()
}

/// A yes/no filter as a query string writes it: `true`, `1`, `on`, `yes`; `false`, `0`, `off`,
/// `no` or empty.
pub(crate) fn yes(field: &str, v: Option<&str>) -> Result<bool, WebError> {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "0" | "false" | "off" | "no") => Ok(false),
        Some("1" | "true" | "on" | "yes") => Ok(true),
        Some(x) => Err(WebError::Invalid(format!(
            "{field}: '{x}' is not true or false / n'est ni true ni false"
        ))),
    }
}

/// The query of `GET .../assets`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AssetQuery {
    category: Option<String>,
    zone: Option<String>,
    os: Option<String>,
    vulnerable: Option<String>,
    eol: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
}

fn number(
    field: &str,
    v: Option<&str>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, WebError> {
    let Some(v) = v else { return Ok(default) };
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            WebError::Invalid(format!(
                "{field}: '{v}' is not a whole number from {min} to {max} / n'est pas un entier de {min} à {max}"
            ))
        })
}

/// One asset in the list.
#[derive(serde::Serialize)]
struct AssetLine<'a> {
    id: u64,
    label: String,
    hostname: Option<&'a str>,
    category: Category,
    os: Option<String>,
    zone: Option<&'a str>,
    ips: &'a std::collections::BTreeSet<String>,
    macs: &'a std::collections::BTreeSet<String>,
    software: usize,
    vulnerable: bool,
    known_exploited: u64,
    end_of_life: bool,
    first_seen: jiff::Timestamp,
    last_seen: jiff::Timestamp,
}

/// The facility's assets, filtered and paged (`total` counts the selection).
pub(crate) async fn assets(
    at: AtFacility<Caller>,
    Query(q): Query<AssetQuery>,
) -> Result<Response, WebError> {
    let category = match q.category.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(Category::parse(c).ok_or_else(|| {
            WebError::Invalid(format!(
                "category: '{c}' is not workstation, server, network, printer, medical or unknown / catégorie inconnue"
            ))
        })?),
    };
    let sel = Selection {
        category,
        zone: q.zone.filter(|z| !z.is_empty()),
        os: q.os.unwrap_or_default(),
        vulnerable: yes("vulnerable", q.vulnerable.as_deref())?,
        eol: yes("eol", q.eol.as_deref())?,
    };
    let offset = number("offset", q.offset.as_deref(), 0, 0, i32::MAX as usize)?;
    let limit = number(
        "limit",
        q.limit.as_deref(),
        ASSETS_PER_PAGE,
        1,
        ASSETS_PAGE_MAX,
    )?;
    let scoped = at.scoped();
    let all = scoped.inventory(&at.id).await?;
    let f = scoped.asset_findings(&at.id).await?;
    let chosen = select(&all, &f, &sel);
    let page: Vec<AssetLine<'_>> = chosen
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| {
            let (vulnerable, known_exploited, end_of_life) = flags_of(&f, a);
            AssetLine {
                id: a.id,
                label: a.label(),
                hostname: a.hostname.as_deref(),
                category: a.category,
                os: a.os.as_ref().map(|_| os_text(a)),
                zone: a.zone.as_deref(),
                ips: &a.ips,
                macs: &a.macs,
                software: a.all_software().len(),
                vulnerable,
                known_exploited,
                end_of_life,
                first_seen: a.first_seen,
                last_seen: a.last_seen,
            }
        })
        .collect();
    Ok(Json(serde_json::json!({
        "total": chosen.len(), "offset": offset, "limit": limit, "assets": page,
    }))
    .into_response())
}

/// One asset: as the register holds it, its flags, its vulnerable software (the latest vuln
/// run's summary, each with the CERT-FR advisories citing its CVEs) and its sightings.
pub(crate) async fn asset(
    at: AtFacility<Caller>,
    Path((_, asset)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let hidden = || WebError::NotFound(format!("asset {asset}"));
    let n: u64 = asset.parse().map_err(|_| hidden())?;
    let scoped = at.scoped();
    let all = scoped.inventory(&at.id).await?;
    let a = all.iter().find(|a| a.id == n).ok_or_else(hidden)?;
    let f = scoped.asset_findings(&at.id).await?;
    let (vulnerable, known_exploited, end_of_life) = flags_of(&f, a);
    let sightings = scoped.inventory_sightings(&at.id, a.id).await?;
    let vulnerabilities = f.vulnerabilities(a.id);
    Ok(Json(serde_json::json!({
        "asset": a, "label": a.label(), "vulnerable": vulnerable,
        "known_exploited": known_exploited, "end_of_life": end_of_life,
        "vulnerabilities": vulnerabilities, "sightings": sightings,
    }))
    .into_response())
}

/// The facility's IS map (`hygie_inventory::map::IsMap`, the JSON of `hygie inventory map`).
pub(crate) async fn map(at: AtFacility<Caller>) -> Result<Response, WebError> {
    Ok(Json(at.scoped().is_map(&at.id).await?).into_response())
}
