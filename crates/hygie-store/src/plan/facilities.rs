//! Facilities and the declarations made about their measures.

use crate::journal::{Actor, WriteTx, append};
use crate::rows::{declaration_from_row, ensure_facility, row_to_facility};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::{Declaration, DeclaredStatus, Facility, Finess, MeasureId, Region};
use sqlx::Row;
use std::collections::BTreeMap;

/// A declaration as stored, with the sequence number that orders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationRecord {
    pub seq: i64,
    pub measure: MeasureId,
    pub declaration: Declaration,
}

impl Store {
    /// Register a facility; refuses a FINESS number already registered.
    pub async fn add_facility(&self, f: &Facility, demo: bool, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                if crate::rows::facility_exists(tx, &f.id).await? {
                    return Err(StoreError::Conflict(format!("facility {}", f.id)));
                }
                insert_facility_row(tx, f, demo, actor).await
            })
        })
        .await
    }

    /// Change a registered facility's record (all but its FINESS number, its id) to `f`;
    /// journalled (`facility.update`) with the fields changed, before and after. A facility of
    /// the demo region stays there and no other enters it: demo data never mixes with real.
    /// Its kind, NIS 2 status and plan start decide what it owes and when, so its views are
    /// recomputed from its whole history (its trend points go).
    pub async fn update_facility(&self, f: &Facility, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT finess, legal_entity, name, kind, region, nis2, plan_start FROM facilities WHERE finess = $1",
                )
                .bind(f.id.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                let Some(row) = row else {
                    return Err(StoreError::NotFound(format!("facility {}", f.id)));
                };
                let old = row_to_facility(&row)?;
                if old.region.is_demo() != f.region.is_demo() {
                    return Err(StoreError::Invalid(
                        "region: a facility of the demo region stays there, and no other enters it".into(),
                    ));
                }
                let mut changes = serde_json::Map::new();
                let mut diff = |field: &str, before: String, after: String| {
                    if before != after {
                        changes.insert(field.into(), serde_json::json!({ "from": before, "to": after }));
                    }
                };
                let entity = |l: &Option<Finess>| l.as_ref().map(|l| l.to_string()).unwrap_or_default();
                diff("name", old.name.clone(), f.name.clone());
                diff("legal_entity", entity(&old.legal_entity), entity(&f.legal_entity));
                diff("kind", old.kind.as_str().into(), f.kind.as_str().into());
                diff("region", old.region.code().into(), f.region.code().into());
                diff("nis2", old.nis2.as_str().into(), f.nis2.as_str().into());
                diff("plan_start", old.plan_start.to_string(), f.plan_start.to_string());
                if changes.is_empty() {
                    return Ok(());
                }
                update_facility_row(tx, f).await?;
                let details = serde_json::Value::Object(changes);
                let seq = append(tx, actor, "facility.update", f.id.as_str(), &details).await?;
                // Dated at the epoch: every summary and trend point of the facility is stale.
                crate::plan::current::touch(tx, &f.id, seq, 0).await?;
                Ok(())
            })
        })
        .await
    }

    /// All facilities, optionally of one region, ordered by region then FINESS.
    pub async fn facilities(&self, region: Option<Region>) -> Result<Vec<Facility>> {
        let rows = sqlx::query(
            "SELECT finess, legal_entity, name, kind, region, nis2, plan_start FROM facilities \
             WHERE ($1 = '' OR region = $1) ORDER BY region, finess",
        )
        .bind(region.map(|r| r.code()).unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_facility).collect()
    }

    pub async fn facility(&self, id: &Finess) -> Result<Facility> {
        let row = sqlx::query("SELECT finess, legal_entity, name, kind, region, nis2, plan_start FROM facilities WHERE finess = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => row_to_facility(&r),
            None => Err(StoreError::NotFound(format!("facility {id}"))),
        }
    }

    /// Record a declaration about a measure (the previous ones stay, as history).
    pub async fn declare(
        &self,
        facility: &Finess,
        measure: &MeasureId,
        status: &DeclaredStatus,
        owner: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<i64> {
        self.declare_at(
            facility,
            measure,
            status,
            owner,
            note,
            actor,
            jiff::Timestamp::now(),
        )
        .await
    }

    /// As `declare`, dated `at` (used to replay history: demo data, imports of past assessments).
    #[allow(clippy::too_many_arguments)]
    pub async fn declare_at(
        &self,
        facility: &Finess,
        measure: &MeasureId,
        status: &DeclaredStatus,
        owner: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
        at: jiff::Timestamp,
    ) -> Result<i64> {
        // Checked here, not in each front end: the CLI and the web share this path.
        status
            .check_texts(owner, note)
            .map_err(|e| StoreError::Invalid(format!("{}: {}", e.field, e.message)))?;
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                insert_declaration(tx, facility, measure, status, owner, note, actor, at).await
            })
        })
        .await
    }

    /// Every declaration of a facility, per measure, in time order.
    pub async fn declarations(
        &self,
        facility: &Finess,
    ) -> Result<BTreeMap<MeasureId, Vec<Declaration>>> {
        let mut out: BTreeMap<MeasureId, Vec<Declaration>> = BTreeMap::new();
        for rec in self.declaration_history(facility, None).await? {
            out.entry(rec.measure).or_default().push(rec.declaration);
        }
        Ok(out)
    }

    /// The declaration history of a facility (or of one of its measures), oldest first.
    pub async fn declaration_history(
        &self,
        facility: &Finess,
        measure: Option<&MeasureId>,
    ) -> Result<Vec<DeclarationRecord>> {
        self.measure_rows_of(
            "SELECT seq, measure, status, justification, owner, note, at_us, actor FROM declarations \
             WHERE facility = $1 AND ($2 = '' OR measure = $2) ORDER BY at_us, seq",
            facility,
            measure,
            |r| {
                let (measure, declaration) = declaration_from_row(r)?;
                Ok(DeclarationRecord {
                    seq: r.try_get("seq")?,
                    measure,
                    declaration,
                })
            },
        )
        .await
    }
}

/// Journal a declaration (`assessment.set`, whose sequence number orders it), store it and
/// update the current view, inside `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_declaration(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    measure: &MeasureId,
    status: &DeclaredStatus,
    owner: Option<&str>,
    note: Option<&str>,
    actor: &Actor,
    at: jiff::Timestamp,
) -> Result<i64> {
    let one = NewDeclaration {
        measure,
        status,
        owner,
        note,
        at,
    };
    let seqs = insert_declarations(tx, facility, &[one], actor).await?;
    seqs.first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("no declaration was stored".into()))
}

/// A declaration to store, as [`insert_declarations`] takes it.
pub(crate) struct NewDeclaration<'a> {
    pub measure: &'a MeasureId,
    pub status: &'a DeclaredStatus,
    pub owner: Option<&'a str>,
    pub note: Option<&'a str>,
    pub at: jiff::Timestamp,
}

/// The one write of declarations: each journalled as its own `assessment.set` entry (in the
/// order given), stored, and the current view moved, with one multi-row statement per table
/// (`batch`) whatever their number. Returns their sequence numbers, in the order given.
pub(crate) async fn insert_declarations(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    declarations: &[NewDeclaration<'_>],
    actor: &Actor,
) -> Result<Vec<i64>> {
    let entries: Vec<(&str, String, String)> = declarations
        .iter()
        .map(|d| {
            let details = serde_json::json!({
                "status": d.status.as_str(), "justification": d.status.justification(), "owner": d.owner,
                "note": d.note, "at": d.at.to_string(),
            });
            (
                "assessment.set",
                format!("{facility}/{}", d.measure),
                details.to_string(),
            )
        })
        .collect();
    let seqs = crate::journal::append_all(tx, actor, &entries).await?;
    let rows: Vec<Vec<crate::batch::Value>> = declarations
        .iter()
        .zip(&seqs)
        .map(|(d, seq)| {
            vec![
                (*seq).into(),
                facility.as_str().into(),
                d.measure.as_str().into(),
                d.status.as_str().into(),
                d.status.justification().into(),
                d.owner.into(),
                d.note.into(),
                d.at.as_microsecond().into(),
                actor.0.as_str().into(),
            ]
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO declarations (seq, facility, measure, status, justification, owner, note, at_us, actor)",
        "",
        &rows,
    )
    .await?;
    let facts: Vec<(&MeasureId, i64, i64)> = declarations
        .iter()
        .zip(&seqs)
        .map(|(d, seq)| (d.measure, *seq, d.at.as_microsecond()))
        .collect();
    crate::plan::current::declared(tx, facility, &facts).await?;
    Ok(seqs)
}

/// Register a facility not yet in the store, with its `facility.add` journal entry and its empty
/// views: the one INSERT of a facility, shared by `add_facility` and the region's import of a
/// package.
pub(crate) async fn insert_facility_row(
    tx: &mut WriteTx<'_>,
    f: &Facility,
    demo: bool,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO facilities (finess, legal_entity, name, kind, region, nis2, plan_start, demo, created_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(f.id.as_str())
    .bind(f.legal_entity.as_ref().map(|l| l.as_str().to_owned()))
    .bind(&f.name)
    .bind(f.kind.as_str())
    .bind(f.region.code())
    .bind(f.nis2.as_str())
    .bind(f.plan_start.to_string())
    .bind(i64::from(demo))
    .bind(now_us())
    .execute(&mut **tx)
    .await?;
    let details = serde_json::json!({
        "name": f.name, "kind": f.kind.as_str(), "region": f.region.code(), "nis2": f.nis2.as_str(),
        "plan_start": f.plan_start.to_string(), "legal_entity": f.legal_entity.as_ref().map(|l| l.as_str()), "demo": demo,
    });
    let seq = append(tx, actor, "facility.add", f.id.as_str(), &details).await?;
    // No fact yet: the facility's views hold from the epoch on.
    crate::plan::current::touch(tx, &f.id, seq, 0).await
}

/// Write a facility's record over the stored one (the caller journals the change): the one
/// UPDATE of a facility, shared by `edit_facility` and the region's import of a package.
pub(crate) async fn update_facility_row(tx: &mut WriteTx<'_>, f: &Facility) -> Result<()> {
    sqlx::query(
        "UPDATE facilities SET legal_entity = $2, name = $3, kind = $4, region = $5, nis2 = $6, plan_start = $7 \
         WHERE finess = $1",
    )
    .bind(f.id.as_str())
    .bind(f.legal_entity.as_ref().map(|l| l.as_str().to_owned()))
    .bind(&f.name)
    .bind(f.kind.as_str())
    .bind(f.region.code())
    .bind(f.nis2.as_str())
    .bind(f.plan_start.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
