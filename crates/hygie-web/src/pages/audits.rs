//! A facility's audits (check runs) and the findings of each. Read-only; every read goes through
//! `Store::scoped`, so another facility's run id is "not found" here.

use super::{PageResult, PageUser};
use crate::AppState;
use crate::api::finess;
use crate::html::t;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use hygie_core::{Finess, Lang, RuleOutcome};
use hygie_report::Translate;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/{finess}/audits", get(audits_page))
        .route("/facilities/{finess}/audits/{run}", get(audit_page))
}

#[derive(askama::Template)]
#[template(path = "audits.html")]
struct AuditsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    runs: &'a [hygie_store::RunHeader],
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditBody<'a> {
    lang: Lang,
    id: &'a Finess,
    run: &'a hygie_core::CheckRun,
    failed: usize,
}

hygie_report::translate_by_lang_field!(AuditsBody, AuditBody);

async fn audits_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let scoped = st.scoped(&p.c);
    let f = scoped.facility(&id).await?;
    let runs = scoped.check_run_list(&id).await?;
    let b = hygie_report::render(&AuditsBody {
        lang,
        id: &id,
        runs: &runs,
    });
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
    let scoped = st.scoped(&p.c);
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
    let b = hygie_report::render(&AuditBody {
        lang,
        id: &id,
        run: &run,
        failed,
    });
    let title = format!("{} — {} {}", f.name, t(lang, "audit", "audit"), run.source);
    Ok(p.page(&title, &b))
}
