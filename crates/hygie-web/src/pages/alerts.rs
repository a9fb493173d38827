//! A facility's detection alerts. Read-only, through `Store::scoped`.

use super::{FacilityPage, PageResult};
use crate::AppState;
use crate::api::ALERTS_SHOWN;
use crate::html::t;
use axum::Router;
use axum::routing::get;
use hygie_core::{Finess, Lang};
use hygie_report::Translate;
use hygie_store::AlertRecord;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/facilities/{finess}/alerts", get(alerts_page))
}

#[derive(askama::Template)]
#[template(path = "alerts.html")]
struct AlertsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    alerts: &'a [AlertRecord],
}

hygie_report::translate_by_lang_field!(AlertsBody);

async fn alerts_page(at: FacilityPage) -> PageResult {
    let f = at.facility().await?;
    let alerts = at.scoped().alerts(&at.id, ALERTS_SHOWN).await?;
    let lang = at.lang();
    let b = AlertsBody {
        lang,
        id: &at.id,
        alerts: &alerts,
    };
    Ok(at.titled(&f, t(lang, "Alerts", "Alertes"), &b))
}
