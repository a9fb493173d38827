//! Check runs: the results of automated audits, the source of measures' automatic status.

use crate::journal::{Actor, WriteTx};
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, ts_from_us};
use hygie_core::{CheckRun, Finess, MeasureId, RuleOutcome, RuleResult};
use sqlx::Row;

/// A check run without its results: what a list of audits shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunHeader {
    pub id: String,
    pub source: String,
    pub at: jiff::Timestamp,
    pub rules: i64,
    pub failed: i64,
    /// What was audited when the audit says (the AD domain), from the run's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Store {
    /// Save a complete run with every rule result, in one transaction: a run is never saved half.
    /// `summary` is the audit's own JSON summary (level, scores...), never holding secrets.
    pub async fn record_check_run(
        &self,
        facility: &Finess,
        run: &CheckRun,
        summary: &serde_json::Value,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move { insert_check_run(tx, facility, run, summary, actor).await })
        })
        .await
    }

    /// Every run of a facility (optionally of one source), oldest first, with their results.
    pub async fn check_runs(
        &self,
        facility: &Finess,
        source: Option<&str>,
    ) -> Result<Vec<CheckRun>> {
        let rows = sqlx::query("SELECT id, source, at_us FROM check_runs WHERE facility = $1 AND ($2 = '' OR source = $2) ORDER BY at_us, id")
            .bind(facility.as_str())
            .bind(source.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        let mut runs = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get("id")?;
            runs.push(CheckRun {
                results: self.check_results(&id).await?,
                id,
                source: r.try_get("source")?,
                at: ts_from_us(r.try_get("at_us")?)?,
            });
        }
        Ok(runs)
    }

    /// One run of a facility with its results; NotFound when the run is another facility's.
    pub async fn check_run(&self, facility: &Finess, run_id: &str) -> Result<CheckRun> {
        let row =
            sqlx::query("SELECT id, source, at_us FROM check_runs WHERE id = $1 AND facility = $2")
                .bind(run_id)
                .bind(facility.as_str())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("check run {run_id}")))?;
        Ok(CheckRun {
            results: self.check_results(run_id).await?,
            id: run_id.to_owned(),
            source: row.try_get("source")?,
            at: ts_from_us(row.try_get("at_us")?)?,
        })
    }

    /// The runs of a facility without their results, newest first, with their rule and failure
    /// counts and what they audited (the summary's `domain`, when it names one).
    pub async fn check_run_list(&self, facility: &Finess) -> Result<Vec<RunHeader>> {
        self.rows_of(
            "SELECT c.id, c.source, c.at_us, c.summary, \
             (SELECT COUNT(*) FROM check_results r WHERE r.run_id = c.id) AS rules, \
             (SELECT COUNT(*) FROM check_results r WHERE r.run_id = c.id AND r.outcome = 'fail') AS failed \
             FROM check_runs c WHERE c.facility = $1 ORDER BY c.at_us DESC, c.id",
            facility.as_str(),
            |r| {
                let summary: String = r.try_get("summary")?;
                Ok(RunHeader {
                    id: r.try_get("id")?,
                    source: r.try_get("source")?,
                    at: ts_from_us(r.try_get("at_us")?)?,
                    rules: r.try_get("rules")?,
                    failed: r.try_get("failed")?,
                    target: summary_target(&summary),
                })
            },
        )
        .await
    }

    /// The summary JSON an audit saved with a run of a facility; NotFound when the run is
    /// another facility's.
    pub async fn check_run_summary(
        &self,
        facility: &Finess,
        run_id: &str,
    ) -> Result<serde_json::Value> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT summary FROM check_runs WHERE id = $1 AND facility = $2")
                .bind(run_id)
                .bind(facility.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let s = s.ok_or_else(|| StoreError::NotFound(format!("check run {run_id}")))?;
        serde_json::from_str(&s)
            .map_err(|e| StoreError::Corrupt(format!("run {run_id} summary: {e}")))
    }

    async fn check_results(&self, run_id: &str) -> Result<Vec<RuleResult>> {
        let rows = sqlx::query("SELECT rule, severity, outcome, measures, objects FROM check_results WHERE run_id = $1 ORDER BY rule")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| crate::rows::rule_result_from_row(run_id, r))
            .collect()
    }
}

/// The audited target a run's summary names (`domain`), if any. A summary that does not parse
/// names none: the list still shows the run.
fn summary_target(summary: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(summary).ok()?;
    v.get("domain")?.as_str().map(str::to_owned)
}

/// Save a complete run with every rule result inside `tx`, journalled as `check.run`, and
/// update the current view.
pub(crate) async fn insert_check_run(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    run: &CheckRun,
    summary: &serde_json::Value,
    actor: &Actor,
) -> Result<()> {
    insert_check_runs(tx, facility, &[(run, summary)], actor).await
}

/// The one write of check runs: each run with every rule result, each journalled as its own
/// `check.run` entry (in the order given), and the current view moved, with one multi-row
/// statement per table (`batch`) whatever their number (a federation package brings tens).
pub(crate) async fn insert_check_runs(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    runs: &[(&CheckRun, &serde_json::Value)],
    actor: &Actor,
) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    ensure_facility(tx, facility).await?;
    let rows: Vec<Vec<crate::batch::Value>> = runs
        .iter()
        .map(|(run, summary)| {
            vec![
                run.id.as_str().into(),
                facility.as_str().into(),
                run.source.as_str().into(),
                run.at.as_microsecond().into(),
                summary.to_string().into(),
            ]
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO check_runs (id, facility, source, at_us, summary)",
        "",
        &rows,
    )
    .await?;
    let rows: Vec<Vec<crate::batch::Value>> = runs
        .iter()
        .flat_map(|(run, _)| {
            run.results.iter().map(|r| {
                let measures: Vec<&str> = r.measures.iter().map(MeasureId::as_str).collect();
                vec![
                    run.id.as_str().into(),
                    r.rule.as_str().into(),
                    r.severity.as_str().into(),
                    match r.outcome {
                        RuleOutcome::Pass => "pass",
                        RuleOutcome::Fail => "fail",
                    }
                    .into(),
                    serde_json::to_string(&measures).unwrap_or_default().into(),
                    serde_json::to_string(&r.objects).unwrap_or_default().into(),
                ]
            })
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO check_results (run_id, rule, severity, outcome, measures, objects)",
        "",
        &rows,
    )
    .await?;
    let entries: Vec<(&str, String, String)> = runs
        .iter()
        .map(|(run, _)| {
            let failed = run
                .results
                .iter()
                .filter(|r| r.outcome == RuleOutcome::Fail)
                .count();
            let details = serde_json::json!({ "run": run.id, "source": run.source, "rules": run.results.len(), "failed": failed });
            ("check.run", facility.to_string(), details.to_string())
        })
        .collect();
    let seqs = crate::journal::append_all(tx, actor, &entries).await?;
    let facts: Vec<(&CheckRun, i64)> = runs.iter().map(|(r, _)| *r).zip(seqs).collect();
    crate::plan::current::ran(tx, facility, &facts).await
}
