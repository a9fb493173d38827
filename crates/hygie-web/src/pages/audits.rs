//! A facility's audits (check runs) and the findings of each. Read-only; every read goes through
//! `Store::scoped`, so another facility's run id is "not found" here.

use super::{FacilityPage, PageResult};
use crate::AppState;
use crate::api::failed_first;
use crate::html::t;
use axum::Router;
use axum::extract::Path;
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

async fn audits_page(at: FacilityPage) -> PageResult {
    let f = at.facility().await?;
    let runs = at.scoped().check_run_list(&at.id).await?;
    let lang = at.lang();
    let b = AuditsBody {
        lang,
        id: &at.id,
        runs: &runs,
    };
    Ok(at.titled(&f, t(lang, "Audits", "Audits"), &b))
}

async fn audit_page(at: FacilityPage, Path((_, run)): Path<(String, String)>) -> PageResult {
    let f = at.facility().await?;
    let mut run = at.scoped().check_run(&at.id, &run).await?;
    failed_first(&mut run);
    let failed = run
        .results
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Fail)
        .count();
    let lang = at.lang();
    let b = AuditBody {
        lang,
        id: &at.id,
        run: &run,
        failed,
    };
    let what = format!("{} {}", t(lang, "audit", "audit"), run.source);
    Ok(at.titled(&f, &what, &b))
}
