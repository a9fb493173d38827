//! A facility's audits (check runs) and the findings of each. Read-only; every read goes through
//! `Store::scoped`, so another facility's run id is "not found" here.

use super::{PageResult, PageUser};
use crate::AppState;
use crate::api::finess;
use crate::html::{facility_nav, t, table_head, when};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use hygie_core::RuleOutcome;
use hygie_report::esc;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/{finess}/audits", get(audits_page))
        .route("/facilities/{finess}/audits/{run}", get(audit_page))
}

async fn audits_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.store().scoped(&p.c.access);
    let f = scoped.facility(&id).await?;
    let runs = scoped.check_run_list(&id).await?;
    let mut b = facility_nav(lang, &id);
    if runs.is_empty() {
        let _ = write!(
            b,
            "<p>{}</p>",
            t(lang, "No audit yet.", "Aucun audit pour l'instant.")
        );
    } else {
        b.push_str(&table_head(&[
            t(lang, "Date", "Date"),
            t(lang, "Audit", "Audit"),
            t(lang, "Rules", "Règles"),
            t(lang, "Failed", "En échec"),
        ]));
        for r in &runs {
            let failed = if r.failed > 0 {
                format!("<span class=\"late\">{}</span>", r.failed)
            } else {
                "0".into()
            };
            let _ = write!(
                b,
                "<tr><td><a href=\"/facilities/{id}/audits/{}\">{}</a></td><td>{}</td><td>{}</td><td>{failed}</td></tr>",
                esc(&r.id),
                when(r.at),
                esc(&r.source),
                r.rules
            );
        }
        b.push_str("</table>");
    }
    let title = format!("{} — {}", f.name, t(lang, "Audits", "Audits"));
    Ok(p.page(&title, &b))
}

async fn audit_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, run)): Path<(String, String)>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.store().scoped(&p.c.access);
    let f = scoped.facility(&id).await?;
    let mut run = scoped.check_run(&id, &run).await?;
    run.results.sort_by_key(|r| {
        (
            r.outcome != RuleOutcome::Fail,
            std::cmp::Reverse(r.severity),
        )
    });
    let failed = run
        .results
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Fail)
        .count();
    let mut b = facility_nav(lang, &id);
    let _ = write!(
        b,
        "<p>{} <strong>{}</strong> · {} · <span id=\"findings-count\">{failed}</span> {} / {} {}</p>",
        t(lang, "Audit", "Audit"),
        esc(&run.source),
        when(run.at),
        t(lang, "findings", "constats"),
        run.results.len(),
        t(lang, "rules", "règles")
    );
    b.push_str(&table_head(&[
        t(lang, "Rule", "Règle"),
        t(lang, "Severity", "Gravité"),
        t(lang, "Outcome", "Résultat"),
        t(lang, "Measures", "Mesures"),
        t(lang, "Affected objects", "Objets concernés"),
    ]));
    for r in &run.results {
        let outcome = match r.outcome {
            RuleOutcome::Fail => format!(
                "<span class=\"late\">{}</span>",
                t(lang, "failed", "en échec")
            ),
            RuleOutcome::Pass => format!(
                "<span class=\"ok\">{}</span>",
                t(lang, "passed", "conforme")
            ),
        };
        let measures: Vec<String> = r
            .measures
            .iter()
            .map(|m| format!("<a href=\"/facilities/{id}/measures/{m}\">{m}</a>"))
            .collect();
        let shown: Vec<String> = r.objects.iter().take(50).map(|o| esc(o)).collect();
        let more = r.objects.len().saturating_sub(50);
        let _ = write!(
            b,
            "<tr class=\"finding\"><td>{}</td><td>{}</td><td>{outcome}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&r.rule),
            r.severity.as_str(),
            measures.join(", "),
            shown.join(", "),
            if more > 0 {
                format!(" … (+{more})")
            } else {
                String::new()
            }
        );
    }
    b.push_str("</table>");
    let title = format!("{} — {} {}", f.name, t(lang, "audit", "audit"), run.source);
    Ok(p.page(&title, &b))
}
