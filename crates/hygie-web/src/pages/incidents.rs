//! A facility's incidents with their legal clocks, and the drafts of their notifications.
//! Read-only, through `Store::scoped`: another facility's incident id is "not found" here.
//! The incident page shows each obligation's deadline and time left, and reloads every minute by
//! a meta refresh, since the CSP forbids scripts. Drafts come from `hygie_incident::draft`, FR/EN.

use super::{PageResult, PageUser};
use crate::AppState;
use crate::WebError;
use crate::api::{LangQuery, duty, finess, lang_of};
use crate::html::{facility_nav, t, table_head, when};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use hygie_core::Lang;
use hygie_incident::{Duty, ObligationStatus, clock};
use hygie_report::esc;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/{finess}/incidents", get(incidents_page))
        .route(
            "/facilities/{finess}/incidents/{incident}",
            get(incident_page),
        )
        .route(
            "/facilities/{finess}/incidents/{incident}/drafts/{duty}",
            get(draft_page),
        )
}

/// A remaining time, red when past.
fn remaining(d: jiff::SignedDuration, lang: Lang) -> String {
    if d.is_negative() {
        format!(
            "<span class=\"late\">{} {}</span>",
            t(lang, "late by", "en retard de"),
            clock::human(-d)
        )
    } else {
        clock::human(d)
    }
}

async fn incidents_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.store().scoped(&p.c.access);
    let f = scoped.facility(&id).await?;
    let list = scoped.incidents(&id).await?;
    let now = jiff::Timestamp::now();
    let mut b = facility_nav(lang, &id);
    if list.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(lang, "No incident.", "Aucun incident."));
    } else {
        b.push_str(&table_head(&[
            "Id",
            t(lang, "Title", "Titre"),
            t(lang, "Status", "État"),
            t(lang, "Awareness", "Prise de connaissance"),
            t(lang, "Next deadline", "Prochaine échéance"),
            t(lang, "Time left", "Temps restant"),
        ]));
        for inc in &list {
            let obligations = inc
                .obligations(now)
                .map_err(|e| WebError::Invalid(e.to_string()))?;
            let next = obligations
                .iter()
                .filter(|o| o.unmet())
                .filter_map(|o| o.due.as_ref().map(|d| (d.timestamp(), o.duty)))
                .min();
            let (next_label, left) = match next {
                Some((at, d)) => (
                    format!("{} — {}", esc(d.label().get(lang)), when(at)),
                    remaining(at.duration_since(now), lang),
                ),
                None => (String::new(), String::new()),
            };
            let _ = write!(
                b,
                "<tr><td><a href=\"/facilities/{id}/incidents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{next_label}</td><td>{left}</td></tr>",
                esc(&inc.id),
                esc(&inc.id),
                esc(&inc.facts.title),
                inc.status.label().get(lang),
                esc(&clock::rfc3339(&inc.facts.awareness)),
            );
        }
        b.push_str("</table>");
    }
    let title = format!("{} — {}", f.name, t(lang, "Incidents", "Incidents"));
    Ok(p.page(&title, &b))
}

fn obligation_status(s: &ObligationStatus, lang: Lang) -> String {
    match s {
        ObligationStatus::Due => t(lang, "due", "à faire").to_owned(),
        ObligationStatus::Late => format!(
            "<span class=\"late\">{}</span>",
            t(lang, "late", "en retard")
        ),
        ObligationStatus::Sent => {
            format!("<span class=\"ok\">{}</span>", t(lang, "sent", "envoyée"))
        }
        ObligationStatus::NotRequired => t(lang, "not required", "non requise").to_owned(),
    }
}

async fn incident_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, iid)): Path<(String, String)>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let inc = st.store().scoped(&p.c.access).incident(&id, &iid).await?;
    let now = jiff::Timestamp::now();
    let obligations = inc
        .obligations(now)
        .map_err(|e| WebError::Invalid(e.to_string()))?;
    // The clocks move: the page reloads itself every minute (no script: the CSP forbids it).
    let mut b = String::from("<meta http-equiv=\"refresh\" content=\"60\">");
    b.push_str(&facility_nav(lang, &id));
    let _ = write!(
        b,
        "<p>{} <strong>{}</strong> · {} {} · {} {}</p>",
        t(lang, "Status", "État"),
        inc.status.label().get(lang),
        t(lang, "awareness", "prise de connaissance"),
        esc(&clock::rfc3339(&inc.facts.awareness)),
        t(lang, "clocks as of", "horloges au"),
        when(now)
    );
    b.push_str(&table_head(&[
        t(lang, "Obligation", "Obligation"),
        t(lang, "Recipient", "Destinataire"),
        t(lang, "Deadline", "Échéance"),
        t(lang, "Status", "État"),
        t(lang, "Time left", "Temps restant"),
        t(lang, "Draft", "Brouillon"),
    ]));
    for o in obligations.iter().filter(|o| o.required) {
        let left = o
            .remaining(now)
            .map(|d| remaining(d, lang))
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr class=\"obligation\" id=\"obligation-{duty}\"><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td class=\"clock\">{left}</td>\
             <td><a href=\"/facilities/{id}/incidents/{}/drafts/{duty}\">{}</a></td></tr>",
            esc(o.duty.label().get(lang)),
            esc(o.reason.get(lang)),
            esc(o.duty.recipient().get(lang)),
            o.due
                .as_ref()
                .map(|d| esc(&clock::rfc3339(d)))
                .unwrap_or_default(),
            obligation_status(&o.status, lang),
            esc(&inc.id),
            t(lang, "open", "ouvrir"),
            duty = o.duty.as_str(),
        );
    }
    b.push_str("</table>");
    let not_required: Vec<String> = obligations
        .iter()
        .filter(|o| !o.required)
        .map(|o| {
            format!(
                "{} ({})",
                esc(o.duty.label().get(lang)),
                esc(o.reason.get(lang))
            )
        })
        .collect();
    if !not_required.is_empty() {
        let _ = write!(
            b,
            "<details><summary>{}</summary><p>{}</p></details>",
            t(
                lang,
                "Duties that do not apply",
                "Obligations qui ne s'appliquent pas"
            ),
            not_required.join("<br>")
        );
    }
    Ok(p.page(&format!("{} — {}", inc.id, inc.facts.title), &b))
}

async fn draft_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, iid, d)): Path<(String, String, String)>,
    Query(q): Query<LangQuery>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let inc = st.store().scoped(&p.c.access).incident(&id, &iid).await?;
    let duty: Duty = duty(&d)?;
    let draft_lang = lang_of(&q, lang);
    let draft = hygie_incident::draft::draft(&inc, duty, draft_lang, jiff::Timestamp::now())
        .map_err(|e| WebError::Invalid(e.to_string()))?;
    let other = match draft_lang {
        Lang::En => ("fr", "Version française"),
        Lang::Fr => ("en", "English version"),
    };
    let mut b = facility_nav(lang, &id);
    let _ = write!(
        b,
        "<p><a href=\"/facilities/{id}/incidents/{}\">{}</a> · <a href=\"?lang={}\">{}</a></p>\
         <div class=\"card\" id=\"draft\"><p><strong>{}</strong> {}<br><strong>{}</strong> {}</p>",
        esc(&inc.id),
        t(lang, "Back to the incident", "Retour à l'incident"),
        other.0,
        other.1,
        t(draft_lang, "Recipient:", "Destinataire :"),
        esc(&draft.recipient),
        t(draft_lang, "Legal basis:", "Base légale :"),
        esc(&draft.basis)
    );
    for s in &draft.sections {
        let _ = write!(b, "<h2>{}</h2><table>", esc(&s.heading));
        for (k, v) in &s.fields {
            let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    Ok(p.page(&draft.title, &b))
}
