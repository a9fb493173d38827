//! A facility's detection alerts. Read-only, through `Store::scoped`.

use super::{PageResult, PageUser};
use crate::AppState;
use crate::api::{ALERTS_SHOWN, finess};
use crate::html::t;
use axum::Router;
use axum::extract::{Path, State};
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

async fn alerts_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.scoped(&p.c);
    let f = scoped.facility(&id).await?;
    let alerts = scoped.alerts(&id, ALERTS_SHOWN).await?;
    let b = hygie_report::render(&AlertsBody {
        lang,
        id: &id,
        alerts: &alerts,
    });
    let title = format!("{} — {}", f.name, t(lang, "Alerts", "Alertes"));
    Ok(p.page(&title, &b))
}
