//! Precomputed views for the dashboards.
//!
//! A facility's status on any date after its latest fact depends only on the latest declaration
//! of each measure and the latest run of each audit source. The store keeps those pointers
//! (`measure_current`, `source_current`) up to date inside the write transaction of every
//! declaration and check run, and moves the facility's `version` there too. From them:
//!
//! - the facility dashboard reads O(measures) rows instead of the whole history;
//! - the regional dashboard reads one row per facility: a date-independent summary
//!   (`plan::StatusSummary`) stored with the version it was computed at, recomputed from the
//!   pointers when the version moved, and turned into due and overdue counts at read time;
//! - trend points at past dates are kept until a write dated before them deletes them.
//!
//! A summary or trend point is only stored under the condition that the facility's version is
//! still the one read before computing it, so a concurrent write is never hidden by a stale view.
//! For a date before a facility's latest fact (replaying the past), reads fall back to the full
//! recomputation from history, which stays the reference (`*_from_history`).

use crate::journal::WriteTx;
use crate::{Result, Store, StoreError};
use hygie_core::plan::{self, RegionStatus, StatusSummary};
use hygie_core::{
    Catalog, CheckRun, Declaration, Facility, FacilityStatus, Finess, MeasureId, Region,
};
use sqlx::Row;
use std::collections::BTreeMap;

/// Record, inside a write transaction, that a fact about `facility` dated `at_us` was written
/// with journal sequence `seq`: the facility's version moves and trend points the fact changes go.
pub(crate) async fn touch(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    seq: i64,
    at_us: i64,
) -> Result<()> {
    touch_span(tx, facility, seq, at_us, at_us).await
}

/// As [`touch`] for facts dated from `earliest_us` to `latest_us`, the latest written with `seq`.
async fn touch_span(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    seq: i64,
    earliest_us: i64,
    latest_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO facility_state (facility, version, latest_us) VALUES ($1, $2, $3) \
         ON CONFLICT (facility) DO UPDATE SET version = excluded.version, \
         latest_us = CASE WHEN excluded.latest_us > facility_state.latest_us \
                          THEN excluded.latest_us ELSE facility_state.latest_us END",
    )
    .bind(facility.as_str())
    .bind(seq)
    .bind(latest_us)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM facility_trend WHERE facility = $1 AND cutoff_us > $2")
        .bind(facility.as_str())
        .bind(earliest_us)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Point `measure_current` at each declaration `(measure, seq, at_us)` that is now the latest of
/// its measure, in one statement: the latest of each measure among `facts` is picked here first
/// (PostgreSQL's upsert may not touch a row twice in one statement).
pub(crate) async fn declared(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    facts: &[(&MeasureId, i64, i64)],
) -> Result<()> {
    let mut latest: BTreeMap<&MeasureId, (i64, i64)> = BTreeMap::new();
    for &(measure, seq, at_us) in facts {
        let e = latest.entry(measure).or_insert((at_us, seq));
        if (at_us, seq) > *e {
            *e = (at_us, seq);
        }
    }
    let (Some(seq), Some(earliest), Some(newest)) = (
        facts.iter().map(|f| f.1).max(),
        facts.iter().map(|f| f.2).min(),
        facts.iter().map(|f| f.2).max(),
    ) else {
        return Ok(());
    };
    let rows: Vec<Vec<crate::batch::Value>> = latest
        .into_iter()
        .map(|(measure, (at_us, seq))| {
            vec![
                facility.as_str().into(),
                measure.as_str().into(),
                seq.into(),
                at_us.into(),
            ]
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO measure_current (facility, measure, seq, at_us)",
        "ON CONFLICT (facility, measure) DO UPDATE SET seq = excluded.seq, at_us = excluded.at_us \
         WHERE excluded.at_us > measure_current.at_us \
            OR (excluded.at_us = measure_current.at_us AND excluded.seq > measure_current.seq)",
        &rows,
    )
    .await?;
    touch_span(tx, facility, seq, earliest, newest).await
}

/// Point `source_current` at each run `(run, seq)` that is now the latest of its source, in one
/// statement. Among runs at the same instant the smallest id counts, as in
/// `plan::facility_status`; the latest of each source among `runs` is picked here first.
pub(crate) async fn ran(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    runs: &[(&CheckRun, i64)],
) -> Result<()> {
    let mut latest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for (run, _) in runs {
        let at_us = run.at.as_microsecond();
        let e = latest
            .entry(run.source.as_str())
            .or_insert((at_us, run.id.as_str()));
        if at_us > e.0 || (at_us == e.0 && run.id.as_str() < e.1) {
            *e = (at_us, run.id.as_str());
        }
    }
    let at = || runs.iter().map(|(r, _)| r.at.as_microsecond());
    let (Some(seq), Some(earliest), Some(newest)) =
        (runs.iter().map(|(_, s)| *s).max(), at().min(), at().max())
    else {
        return Ok(());
    };
    let rows: Vec<Vec<crate::batch::Value>> = latest
        .into_iter()
        .map(|(source, (at_us, run_id))| {
            vec![
                facility.as_str().into(),
                source.into(),
                run_id.into(),
                at_us.into(),
            ]
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO source_current (facility, source, run_id, at_us)",
        "ON CONFLICT (facility, source) DO UPDATE SET run_id = excluded.run_id, at_us = excluded.at_us \
         WHERE excluded.at_us > source_current.at_us \
            OR (excluded.at_us = source_current.at_us AND excluded.run_id < source_current.run_id)",
        &rows,
    )
    .await?;
    touch_span(tx, facility, seq, earliest, newest).await
}

/// Whose current facts to read.
#[derive(Clone, Copy)]
enum Of<'a> {
    Facility(&'a Finess),
    Region(Region),
}

impl<'a> Of<'a> {
    /// The condition on a `facility` column, with `$1` bound to `self.key()`.
    fn filter(self, column: &str) -> String {
        match self {
            Of::Facility(_) => format!("{column} = $1"),
            Of::Region(_) => {
                format!("{column} IN (SELECT finess FROM facilities WHERE region = $1)")
            }
        }
    }

    fn key(self) -> &'a str {
        match self {
            Of::Facility(f) => f.as_str(),
            Of::Region(r) => r.code(),
        }
    }
}

/// The latest declaration of each measure and the latest run of each source, per facility.
#[derive(Default)]
struct Current {
    declarations: BTreeMap<String, BTreeMap<MeasureId, Declaration>>,
    runs: BTreeMap<String, Vec<CheckRun>>,
}

/// A facility at a past date, as its trend chart draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendPoint {
    pub date: jiff::civil::Date,
    pub score: f64,
    pub level_reached: u8,
}

impl Current {
    fn of(&self, facility: &Finess) -> (BTreeMap<MeasureId, Vec<Declaration>>, Vec<CheckRun>) {
        let decl = self
            .declarations
            .get(facility.as_str())
            .map(|m| {
                m.iter()
                    .map(|(k, d)| (k.clone(), vec![d.clone()]))
                    .collect()
            })
            .unwrap_or_default();
        let runs = self
            .runs
            .get(facility.as_str())
            .cloned()
            .unwrap_or_default();
        (decl, runs)
    }

    fn summary(&self, facility: &Facility, catalog: &Catalog) -> StatusSummary {
        let empty = BTreeMap::new();
        let decl = self
            .declarations
            .get(facility.id.as_str())
            .unwrap_or(&empty);
        let runs: Vec<&CheckRun> = self
            .runs
            .get(facility.id.as_str())
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        plan::summarize(facility, catalog, decl, &runs)
    }
}

/// Regional views computed in this process, by region and date.
pub(crate) type RegionViews = std::collections::HashMap<(Region, jiff::civil::Date), RegionView>;

/// Enough for every region at a few dates; older heads are dropped first.
const REGION_VIEWS_KEPT: usize = 64;

#[derive(Debug)]
pub(crate) struct RegionView {
    head: i64,
    catalog: String,
    view: RegionStatus,
}

impl Store {
    /// The latest declaration of each measure (from `measure_current`) and the rule results of
    /// the latest run of each source (from `source_current`).
    async fn current(&self, of: Of<'_>) -> Result<Current> {
        let key = of.key();
        let mut out = Current::default();
        let rows = sqlx::query(&format!(
            "SELECT c.facility, d.measure, d.status, d.justification, d.owner, d.note, d.at_us, d.actor \
             FROM measure_current c JOIN declarations d ON d.seq = c.seq WHERE {}",
            of.filter("c.facility")
        ))
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let facility: String = r.try_get("facility")?;
            let (measure, d) = crate::rows::declaration_from_row(&r)?;
            out.declarations
                .entry(facility)
                .or_default()
                .insert(measure, d);
        }
        let rows = sqlx::query(&format!(
            "SELECT s.facility, s.run_id AS id, s.source, s.at_us, r.rule, r.severity, r.outcome, r.measures, r.objects \
             FROM source_current s JOIN check_results r ON r.run_id = s.run_id WHERE {} \
             ORDER BY s.facility, s.source, r.rule",
            of.filter("s.facility")
        ))
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            crate::rows::push_run_row(&mut out.runs, &r)?;
        }
        Ok(out)
    }

    /// The facility's version and the instant of its latest fact (None before any view exists).
    async fn facility_version(&self, id: &Finess) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query("SELECT version, latest_us FROM facility_state WHERE facility = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("latest_us")?)))
            .transpose()
    }

    /// Where one facility stands on `as_of`: from the current facts when `as_of` ends after all
    /// of them (reading O(measures) rows), otherwise replayed from the whole history.
    pub async fn facility_status(
        &self,
        catalog: &Catalog,
        id: &Finess,
        as_of: jiff::civil::Date,
    ) -> Result<FacilityStatus> {
        let f = self.facility(id).await?;
        let cutoff = plan::end_of_day(as_of).as_microsecond();
        match self.facility_version(id).await? {
            Some((_, latest)) if latest < cutoff => {
                let current = self.current(Of::Facility(id)).await?;
                let (decl, runs) = current.of(id);
                Ok(plan::facility_status(&f, catalog, &decl, &runs, as_of))
            }
            _ => self.facility_status_from_history(catalog, &f, as_of).await,
        }
    }

    /// Scores and levels reached of a facility at past dates (trend charts): kept points are
    /// reused, missing ones are computed from the history once and kept.
    pub async fn facility_trend(
        &self,
        catalog: &Catalog,
        id: &Finess,
        dates: &[jiff::civil::Date],
    ) -> Result<Vec<TrendPoint>> {
        let f = self.facility(id).await?;
        let fingerprint = plan::catalog_fingerprint(catalog);
        // Read the version first: whatever is read after it is at least that recent.
        let version = self.facility_version(id).await?;
        let rows = sqlx::query(
            "SELECT as_of, score, level_reached FROM facility_trend WHERE facility = $1 AND catalog = $2",
        )
        .bind(id.as_str())
        .bind(&fingerprint)
        .fetch_all(&self.pool)
        .await?;
        let mut kept: BTreeMap<String, (f64, u8)> = BTreeMap::new();
        for r in rows {
            let level: i64 = r.try_get("level_reached")?;
            kept.insert(
                r.try_get("as_of")?,
                (r.try_get("score")?, u8::try_from(level).unwrap_or(0)),
            );
        }
        let missing: Vec<jiff::civil::Date> = dates
            .iter()
            .filter(|d| !kept.contains_key(&d.to_string()))
            .copied()
            .collect();
        if !missing.is_empty() {
            let decl = self.declarations(id).await?;
            let runs = self.check_runs(id, None).await?;
            let computed: Vec<TrendPoint> = missing
                .iter()
                .map(|d| {
                    let st = plan::facility_status(&f, catalog, &decl, &runs, *d);
                    TrendPoint {
                        date: *d,
                        score: st.score,
                        level_reached: st.level_reached,
                    }
                })
                .collect();
            for p in &computed {
                kept.insert(p.date.to_string(), (p.score, p.level_reached));
            }
            if let Some((v, _)) = version {
                self.keep_trend(id, v, &fingerprint, &computed).await?;
            }
        }
        Ok(dates
            .iter()
            .map(|d| {
                let (score, level_reached) = kept.get(&d.to_string()).copied().unwrap_or((0.0, 0));
                TrendPoint {
                    date: *d,
                    score,
                    level_reached,
                }
            })
            .collect())
    }

    /// Store trend points computed at `version`, unless a write moved the version since.
    async fn keep_trend(
        &self,
        id: &Finess,
        version: i64,
        fingerprint: &str,
        points: &[TrendPoint],
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                // Locks the facility's state row (PostgreSQL waits for a concurrent writer, then sees
                // its new version; SQLite serialises writers): the check and the inserts are atomic.
                let same = sqlx::query(
                    "UPDATE facility_state SET version = version WHERE facility = $1 AND version = $2",
                )
                .bind(id.as_str())
                .bind(version)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if same != 1 {
                    return Ok(());
                }
                for p in points {
                    sqlx::query(
                        "INSERT INTO facility_trend (facility, catalog, as_of, cutoff_us, score, level_reached) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (facility, catalog, as_of) DO NOTHING",
                    )
                    .bind(id.as_str())
                    .bind(fingerprint)
                    .bind(p.date.to_string())
                    .bind(plan::end_of_day(p.date).as_microsecond())
                    .bind(p.score)
                    .bind(i64::from(p.level_reached))
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// The regional side-by-side view. On a date after every facility's latest fact it reads one
    /// stored summary per facility (recomputing only the stale ones); before, it replays history.
    pub async fn region_status(
        &self,
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<RegionStatus> {
        let fingerprint = plan::catalog_fingerprint(catalog);
        // The head is read before the facts, so a view is never filed under a head newer than
        // what it was computed from.
        let head = self.journal_head_seq().await?;
        let key = (region, as_of);
        if let Ok(views) = self.region_views.lock()
            && let Some(v) = views.get(&key)
            && v.head == head
            && v.catalog == fingerprint
        {
            return Ok(v.view.clone());
        }
        let mut view = self
            .region_status_uncached(catalog, &fingerprint, region, as_of)
            .await?;
        self.fill_last_reports(&mut view).await?;
        if let Ok(mut views) = self.region_views.lock() {
            if views.len() >= REGION_VIEWS_KEPT {
                views.retain(|_, v| v.head == head);
                // Many dates asked at one head: the memory stays bounded all the same.
                if views.len() >= REGION_VIEWS_KEPT {
                    views.clear();
                }
            }
            views.insert(
                key,
                RegionView {
                    head,
                    catalog: fingerprint,
                    view: view.clone(),
                },
            );
        }
        Ok(view)
    }

    async fn region_status_uncached(
        &self,
        catalog: &Catalog,
        fingerprint: &str,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<RegionStatus> {
        let cutoff = plan::end_of_day(as_of).as_microsecond();
        let rows = sqlx::query(
            "SELECT f.finess, f.legal_entity, f.name, f.kind, f.region, f.nis2, f.plan_start, \
             s.version, s.latest_us, s.summary, s.summary_version, s.summary_catalog \
             FROM facilities f LEFT JOIN facility_state s ON s.facility = f.finess \
             WHERE f.region = $1 ORDER BY f.finess",
        )
        .bind(region.code())
        .fetch_all(&self.pool)
        .await?;
        let mut facilities = Vec::with_capacity(rows.len());
        let mut summaries: Vec<Option<StatusSummary>> = Vec::with_capacity(rows.len());
        let mut stale: Vec<(usize, i64)> = Vec::new();
        for r in &rows {
            let f = crate::rows::row_to_facility(r)?;
            let version: Option<i64> = r.try_get("version")?;
            let latest: Option<i64> = r.try_get("latest_us")?;
            let (Some(version), Some(latest)) = (version, latest) else {
                return self
                    .region_status_from_history(catalog, region, as_of)
                    .await;
            };
            if latest >= cutoff {
                return self
                    .region_status_from_history(catalog, region, as_of)
                    .await;
            }
            let summary_version: i64 = r.try_get("summary_version")?;
            let summary_catalog: Option<String> = r.try_get("summary_catalog")?;
            let summary: Option<String> = r.try_get("summary")?;
            let kept = summary
                .filter(|_| {
                    summary_version == version && summary_catalog.as_deref() == Some(fingerprint)
                })
                .and_then(|s| serde_json::from_str::<StatusSummary>(&s).ok());
            if kept.is_none() {
                stale.push((facilities.len(), version));
            }
            summaries.push(kept);
            facilities.push(f);
        }
        if !stale.is_empty() {
            // One facility's facts, or the whole region's when many are stale (after a bulk load).
            let current = if stale.len() == 1 {
                self.current(Of::Facility(&facilities[stale[0].0].id))
                    .await?
            } else {
                self.current(Of::Region(region)).await?
            };
            let mut fresh = Vec::with_capacity(stale.len());
            for (i, version) in &stale {
                let s = current.summary(&facilities[*i], catalog);
                fresh.push((facilities[*i].id.clone(), *version, s.clone()));
                summaries[*i] = Some(s);
            }
            self.keep_summaries(fingerprint, &fresh).await?;
        }
        let rows = facilities
            .iter()
            .zip(&summaries)
            .map(|(f, s)| {
                plan::region_row(f, s.as_ref().unwrap_or(&StatusSummary::default()), as_of)
            })
            .collect();
        Ok(RegionStatus {
            region,
            name: region.name(),
            demo: region.is_demo(),
            as_of,
            facilities: rows,
        })
    }

    /// Store summaries computed at their versions; one whose facility moved since is dropped.
    async fn keep_summaries(
        &self,
        fingerprint: &str,
        fresh: &[(Finess, i64, StatusSummary)],
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                for (id, version, s) in fresh {
                    let body = serde_json::to_string(s)
                        .map_err(|e| StoreError::Invalid(format!("summary of {id}: {e}")))?;
                    sqlx::query(
                        "UPDATE facility_state SET summary = $1, summary_version = $2, summary_catalog = $3 \
                         WHERE facility = $4 AND version = $2",
                    )
                    .bind(body)
                    .bind(*version)
                    .bind(fingerprint)
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Rebuild every precomputed view from the history. `Store::open` does it once for a store
    /// made before the views existed; bulk loads that write rows directly must call it too.
    pub async fn rebuild_views(&self) -> Result<()> {
        // Rows may have been written without the journal (bulk seeding): forget computed views.
        if let Ok(mut views) = self.region_views.lock() {
            views.clear();
        }
        self.write(|tx| {
            Box::pin(async move {
                let head: i64 = sqlx::query_scalar("SELECT seq FROM journal_head WHERE id = 1")
                    .fetch_one(&mut **tx)
                    .await?;
                for sql in [
                    "DELETE FROM facility_trend",
                    "DELETE FROM facility_state",
                    "DELETE FROM measure_current",
                    "DELETE FROM source_current",
                    "INSERT INTO measure_current (facility, measure, seq, at_us) \
                     SELECT d.facility, d.measure, d.seq, d.at_us FROM declarations d WHERE NOT EXISTS ( \
                       SELECT 1 FROM declarations d2 WHERE d2.facility = d.facility AND d2.measure = d.measure \
                       AND (d2.at_us > d.at_us OR (d2.at_us = d.at_us AND d2.seq > d.seq)))",
                    "INSERT INTO source_current (facility, source, run_id, at_us) \
                     SELECT c.facility, c.source, c.id, c.at_us FROM check_runs c WHERE NOT EXISTS ( \
                       SELECT 1 FROM check_runs c2 WHERE c2.facility = c.facility AND c2.source = c.source \
                       AND (c2.at_us > c.at_us OR (c2.at_us = c.at_us AND c2.id < c.id)))",
                ] {
                    sqlx::query(sql).execute(&mut **tx).await?;
                }
                sqlx::query(
                    "INSERT INTO facility_state (facility, version, latest_us) \
                     SELECT f.finess, $1, COALESCE(MAX(x.at_us), 0) FROM facilities f LEFT JOIN ( \
                       SELECT facility, at_us FROM declarations UNION ALL SELECT facility, at_us FROM check_runs \
                     ) x ON x.facility = f.finess GROUP BY f.finess",
                )
                .bind(head)
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM meta WHERE key = 'views_built'")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("INSERT INTO meta (key, value) VALUES ('views_built', '1')")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
