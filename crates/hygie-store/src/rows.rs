//! What every feature module shares: the time conversion of stored instants and the decoding of
//! rows that several features read (facilities, declarations, check results).

use crate::batch::Value;
use crate::{Result, StoreError};
use hygie_core::{
    CheckRun, Declaration, DeclaredStatus, Facility, FacilityKind, Finess, MeasureId, Nis2Status,
    Region, RuleOutcome, RuleResult, Severity,
};
use sqlx::Row;

pub(crate) fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

pub(crate) fn ts_from_us(us: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_microsecond(us)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

/// Decode a `declarations` row (columns measure, status, justification, owner, note, at_us, actor).
pub(crate) fn declaration_from_row(r: &sqlx::any::AnyRow) -> Result<(MeasureId, Declaration)> {
    let corrupt = |e: hygie_core::InvalidValue| StoreError::Corrupt(e.to_string());
    let status: String = r.try_get("status")?;
    let justification: Option<String> = r.try_get("justification")?;
    let measure: String = r.try_get("measure")?;
    Ok((
        MeasureId::parse(&measure).map_err(corrupt)?,
        Declaration {
            status: DeclaredStatus::parse(&status, justification.as_deref()).map_err(corrupt)?,
            owner: r.try_get("owner")?,
            note: r.try_get("note")?,
            at: ts_from_us(r.try_get("at_us")?)?,
            by: r.try_get("actor")?,
        },
    ))
}

impl crate::Store {
    /// One statement through the write path, not journalled: bookkeeping of the login flow and
    /// of sessions, where the caller says why no entry is due. Returns the rows it changed.
    pub(crate) async fn bookkeeping(&self, sql: &str, binds: &[Value]) -> Result<u64> {
        self.write(|tx| {
            Box::pin(async move {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = crate::batch::bind(q, b);
                }
                Ok(q.execute(&mut **tx).await?.rows_affected())
            })
        })
        .await
    }

    /// Run a query whose only parameter (`$1`) is the owner's key (a facility, a campaign) and
    /// decode each row: the shape of every register read.
    pub(crate) async fn rows_of<T>(
        &self,
        sql: &str,
        key: &str,
        decode: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = sqlx::query(sql).bind(key).fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }

    /// As `rows_of`, for a facility's rows about one measure or all: `$1` is the facility, `$2`
    /// the measure or `''` for all (the query says `($2 = '' OR measure = $2)`).
    pub(crate) async fn measure_rows_of<T>(
        &self,
        sql: &str,
        facility: &Finess,
        measure: Option<&MeasureId>,
        decode: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = sqlx::query(sql)
            .bind(facility.as_str())
            .bind(measure.map_or("", |m| m.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }
}

pub(crate) async fn facility_exists(
    conn: &mut sqlx::AnyConnection,
    facility: &Finess,
) -> Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT finess FROM facilities WHERE finess = $1")
            .bind(facility.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Go on only if the facility is registered (every write about one starts here).
pub(crate) async fn ensure_facility(
    conn: &mut sqlx::AnyConnection,
    facility: &Finess,
) -> Result<()> {
    if facility_exists(conn, facility).await? {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("facility {facility}")))
    }
}

pub(crate) fn row_to_facility(r: &sqlx::any::AnyRow) -> Result<Facility> {
    let corrupt = |e: hygie_core::InvalidValue| StoreError::Corrupt(e.to_string());
    let finess: String = r.try_get("finess")?;
    let legal: Option<String> = r.try_get("legal_entity")?;
    let kind: String = r.try_get("kind")?;
    let region: String = r.try_get("region")?;
    let nis2: String = r.try_get("nis2")?;
    let plan_start: String = r.try_get("plan_start")?;
    Ok(Facility {
        id: Finess::parse(&finess).map_err(corrupt)?,
        legal_entity: legal
            .as_deref()
            .map(Finess::parse)
            .transpose()
            .map_err(corrupt)?,
        name: r.try_get("name")?,
        kind: kind.parse::<FacilityKind>().map_err(corrupt)?,
        region: Region::parse(&region).map_err(corrupt)?,
        nis2: nis2.parse::<Nis2Status>().map_err(corrupt)?,
        plan_start: hygie_core::parse_date("plan_start", &plan_start).map_err(corrupt)?,
    })
}

/// Decode one `check_results` row (columns rule, severity, outcome, measures, objects).
/// Fold one row of a check run joined with one of its results (columns `facility`, `id`,
/// `source`, `at_us` and the result's) into `runs`, grouped by facility. Rows come ordered by
/// facility and run, so a run's results are consecutive.
pub(crate) fn push_run_row(
    runs: &mut std::collections::BTreeMap<String, Vec<CheckRun>>,
    r: &sqlx::any::AnyRow,
) -> Result<()> {
    let facility: String = r.try_get("facility")?;
    let id: String = r.try_get("id")?;
    let list = runs.entry(facility).or_default();
    if list.last().is_none_or(|run| run.id != id) {
        list.push(CheckRun {
            id: id.clone(),
            source: r.try_get("source")?,
            at: ts_from_us(r.try_get("at_us")?)?,
            results: Vec::new(),
        });
    }
    let result = rule_result_from_row(&id, r)?;
    if let Some(run) = list.last_mut() {
        run.results.push(result);
    }
    Ok(())
}

pub(crate) fn rule_result_from_row(run_id: &str, r: &sqlx::any::AnyRow) -> Result<RuleResult> {
    let corrupt = |m: String| StoreError::Corrupt(format!("run {run_id}: {m}"));
    let severity: String = r.try_get("severity")?;
    let outcome: String = r.try_get("outcome")?;
    let measures: String = r.try_get("measures")?;
    let objects: String = r.try_get("objects")?;
    let measures: Vec<String> =
        serde_json::from_str(&measures).map_err(|e| corrupt(e.to_string()))?;
    Ok(RuleResult {
        rule: r.try_get("rule")?,
        severity: severity
            .parse::<Severity>()
            .map_err(|e| corrupt(e.to_string()))?,
        outcome: if outcome == "fail" {
            RuleOutcome::Fail
        } else {
            RuleOutcome::Pass
        },
        measures: measures
            .iter()
            .map(|m| MeasureId::parse(m))
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt(e.to_string()))?,
        objects: serde_json::from_str(&objects).map_err(|e| corrupt(e.to_string()))?,
    })
}
