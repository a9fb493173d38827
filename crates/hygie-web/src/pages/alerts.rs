//! A facility's detection alerts. Read-only, through `Store::scoped`.

use super::{PageResult, PageUser};
use crate::AppState;
use crate::api::{ALERTS_SHOWN, finess};
use crate::html::{facility_nav, t, table_head};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use hygie_report::esc;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/facilities/{finess}/alerts", get(alerts_page))
}

async fn alerts_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.store().scoped(&p.c.access);
    let f = scoped.facility(&id).await?;
    let alerts = scoped.alerts(&id, ALERTS_SHOWN).await?;
    let mut b = facility_nav(lang, &id);
    if alerts.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(lang, "No alert.", "Aucune alerte."));
    } else {
        b.push_str(&table_head(&[
            t(lang, "Time", "Heure"),
            t(lang, "Level", "Niveau"),
            t(lang, "Rule", "Règle"),
            t(lang, "Host", "Hôte"),
            t(lang, "Count", "Occurrences"),
            t(lang, "Incident", "Incident"),
        ]));
        for a in &alerts {
            let incident = a
                .incident
                .as_deref()
                .map(|i| {
                    format!(
                        "<a href=\"/facilities/{id}/incidents/{}\">{}</a>",
                        esc(i),
                        esc(i)
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                b,
                "<tr class=\"alert\"><td>{}</td><td>{}</td><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{incident}</td></tr>",
                esc(a.time.as_deref().unwrap_or("")),
                esc(&a.level),
                esc(&a.title),
                esc(&a.rule_id),
                esc(a.host.as_deref().unwrap_or("")),
                a.count
            );
        }
        b.push_str("</table>");
    }
    let title = format!("{} — {}", f.name, t(lang, "Alerts", "Alertes"));
    Ok(p.page(&title, &b))
}
