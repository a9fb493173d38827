//! Federation (hygie-sync packages): on a facility's instance, the snapshot a package carries
//! and the packages exported; on the region's, the enrolled keys and the import of a package.
//!
//! An import runs in one write transaction: the enrolment and sequence decisions
//! (`hygie_sync::authorise`, `admit`) are taken there, on what the transaction reads, so two
//! imports of the same package at once store it once; a refusal rolls everything back. The
//! facts go through the same inner writes as the CLI's (`insert_declarations`,
//! `insert_check_runs`), each journalled, so the region computes the facility's status with the
//! same plan code and the same views. Declarations are recorded as made by `sync:FINESS`.
//! A package's rows are written with multi-row statements (`batch`: its new declarations and
//! check runs, each still its own journal entry, and its evidence and obligations lists), so an
//! import costs a few tens of round trips, not thousands.
//! Tables `sync_*`, migrations 1000.

use crate::journal::{Actor, WriteTx, append};
use crate::plan::checks::insert_check_runs;
use crate::plan::evidence::EvidenceKind;
use crate::plan::facilities::{NewDeclaration, insert_declarations};
use crate::rows::{declaration_from_row, facility_exists, row_to_facility};
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use hygie_core::{Facility, Finess, Region};
use hygie_sync::{
    Admission, Checked, DeclarationRecord, Enrolment, EvidenceRecord, Facts, Imported, JournalHead,
    LastExport, ObligationRecord, Opened, PublicKey, Refusal, Sealed,
};
use sqlx::Row;
use std::collections::HashMap;

/// What a facility's next package is made of.
#[derive(Debug, Clone)]
pub struct SyncSnapshot {
    pub facts: Facts,
    pub journal_head: JournalHead,
    /// The last package exported, which the next one follows (and a push may send again).
    pub last_export: Option<LastExport>,
}

/// An enrolled key, as `hygie region keys` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyRecord {
    pub facility: String,
    pub public_key: String,
    pub fingerprint: String,
    pub enrolled_at: jiff::Timestamp,
    pub revoked_at: Option<jiff::Timestamp>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub facility: String,
    pub sequence: u64,
    pub hash: String,
    /// `imported`, or `already_imported` for the last package received again (nothing changed).
    pub outcome: &'static str,
    pub new_declarations: usize,
    pub new_check_runs: usize,
    pub evidence: usize,
    pub obligations: usize,
}

pub(crate) fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

pub(crate) fn i64_of(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is too large")))
}

impl Store {
    /// Everything the next package of `facility` carries, its journal head (read first, so the
    /// facts are at least that recent) and the last package exported. Obligations are
    /// evaluated at `now`.
    pub async fn sync_snapshot(
        &self,
        facility: &Finess,
        now: jiff::Timestamp,
    ) -> Result<SyncSnapshot> {
        let head = sqlx::query("SELECT seq, hash FROM journal_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let journal_head = JournalHead {
            seq: u64_of(head.try_get("seq")?),
            hash: head.try_get("hash")?,
        };
        let f = self.facility(facility).await?;
        let declarations: Vec<_> = self
            .declaration_history(facility, None)
            .await?
            .into_iter()
            .map(|d| (d.measure, d.declaration))
            .collect();
        let runs = self.check_runs(facility, None).await?;
        let evidence = self
            .evidence(facility, None)
            .await?
            .into_iter()
            .map(|e| {
                let (kind, name, sha256, size, url) = match e.kind {
                    EvidenceKind::File {
                        sha256,
                        file_name,
                        size,
                    } => (
                        "file",
                        Some(file_name),
                        Some(sha256),
                        Some(u64_of(size)),
                        None,
                    ),
                    EvidenceKind::Link { url, title } => ("link", title, None, None, Some(url)),
                };
                EvidenceRecord {
                    measure: e.measure.to_string(),
                    kind: kind.into(),
                    name,
                    sha256,
                    size,
                    url,
                    at: e.added_at.to_string(),
                }
            })
            .collect();
        let mut obligations = Vec::new();
        for inc in self.incidents(Some(facility), true).await? {
            let list = inc
                .obligations(now)
                .map_err(|e| StoreError::Corrupt(format!("incident {}: {e}", inc.id)))?;
            for o in list.into_iter().filter(|o| o.required) {
                obligations.push(ObligationRecord {
                    incident: inc.id.clone(),
                    duty: o.duty.as_str().to_owned(),
                    status: o.status.as_str().to_owned(),
                    due: o.due.as_ref().map(|z| z.timestamp().to_string()),
                    sent: o.sent_at.as_ref().map(|z| z.timestamp().to_string()),
                    late: o.status == hygie_incident::ObligationStatus::Late
                        || o.sent_late_by.is_some(),
                });
            }
        }
        let last_export = self.last_export(facility).await?;
        Ok(SyncSnapshot {
            facts: Facts::of(&f, &declarations, &runs, evidence, obligations),
            journal_head,
            last_export,
        })
    }

    /// Record that package `sequence` of `facility` was sealed, so the next one follows it. Its
    /// bytes are kept (a push sends them again until the region acknowledges it; `sync export
    /// --resend` re-issues them); `facts_digest` tells the next push whether anything changed. Refused (conflict) if another export took that
    /// number meanwhile.
    pub async fn record_export(
        &self,
        facility: &Finess,
        sequence: u64,
        sealed: &Sealed,
        facts_digest: &str,
        actor: &Actor,
    ) -> Result<()> {
        let seq = i64_of(sequence)?;
        let hash = &sealed.hash;
        self.write(|tx| {
            Box::pin(async move {
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(sequence) FROM sync_exports WHERE facility = $1",
                )
                .bind(facility.as_str())
                .fetch_one(&mut **tx)
                .await?;
                if last.unwrap_or(0) + 1 != seq {
                    return Err(StoreError::Conflict(format!(
                        "package {sequence} of facility {facility} (another export ran meanwhile)"
                    )));
                }
                sqlx::query(
                    "INSERT INTO sync_exports (facility, sequence, hash, at_us, package, facts_digest) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(facility.as_str())
                .bind(seq)
                .bind(hash)
                .bind(now_us())
                .bind(sealed.bytes.clone())
                .bind(facts_digest)
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({ "sequence": sequence, "hash": hash });
                append(tx, actor, "sync.export", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Enrol `key` as the signing key of `facility`. Refused if the facility has a key in force
    /// (revoke it first).
    pub async fn enrol_key(&self, facility: &Finess, key: &PublicKey, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let active: Option<String> = sqlx::query_scalar(
                    "SELECT public_key FROM sync_keys WHERE facility = $1 AND revoked_us IS NULL",
                )
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(k) = active {
                    let same = if k == key.hex() { "this key" } else { "another key" };
                    return Err(StoreError::Conflict(format!(
                        "an enrolment of facility {facility} ({same}; revoke it first)"
                    )));
                }
                let details = serde_json::json!({ "public_key": key.hex(), "fingerprint": key.fingerprint() });
                let seq = append(tx, actor, "sync.enrol", facility.as_str(), &details).await?;
                sqlx::query(
                    "INSERT INTO sync_keys (id, facility, public_key, enrolled_us, revoked_us) VALUES ($1, $2, $3, $4, NULL)",
                )
                .bind(seq)
                .bind(facility.as_str())
                .bind(key.hex())
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Revoke the key in force of `facility`: its packages are refused from now on.
    pub async fn revoke_key(&self, facility: &Finess, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let active: Option<String> = sqlx::query_scalar(
                    "SELECT public_key FROM sync_keys WHERE facility = $1 AND revoked_us IS NULL",
                )
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                let Some(key) = active else {
                    return Err(StoreError::NotFound(format!(
                        "an enrolled key of facility {facility}"
                    )));
                };
                sqlx::query(
                    "UPDATE sync_keys SET revoked_us = $2 WHERE facility = $1 AND revoked_us IS NULL",
                )
                .bind(facility.as_str())
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({ "public_key": key });
                append(tx, actor, "sync.revoke", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }

    /// Every enrolment, in force or revoked, in the order made.
    pub async fn enrolled_keys(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(
            "SELECT facility, public_key, enrolled_us, revoked_us FROM sync_keys ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let public_key: String = r.try_get("public_key")?;
                let fingerprint = PublicKey::parse(&public_key)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .fingerprint();
                Ok(KeyRecord {
                    facility: r.try_get("facility")?,
                    public_key,
                    fingerprint,
                    enrolled_at: ts_from_us(r.try_get("enrolled_us")?)?,
                    revoked_at: r
                        .try_get::<Option<i64>, _>("revoked_us")?
                        .map(ts_from_us)
                        .transpose()?,
                })
            })
            .collect()
    }

    /// When each facility of `region` last reported (its last package imported), by FINESS.
    pub async fn last_reports(&self, region: Region) -> Result<HashMap<String, jiff::Timestamp>> {
        let rows = sqlx::query(
            "SELECT i.facility, MAX(i.imported_us) AS at_us FROM sync_imports i \
             JOIN facilities f ON f.finess = i.facility WHERE f.region = $1 GROUP BY i.facility",
        )
        .bind(region.code())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let facility: String = r.try_get("facility")?;
                Ok((facility, ts_from_us(r.try_get("at_us")?)?))
            })
            .collect()
    }

    /// What the region's oversight reads (`hygie_core::oversight`): every facility's status at
    /// `as_of`, computed by the same plan code as the facility's own, and when each last reported.
    pub async fn region_reports(
        &self,
        catalog: &hygie_core::Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<(
        Vec<hygie_core::FacilityStatus>,
        HashMap<String, jiff::Timestamp>,
    )> {
        let statuses = self.region_statuses(catalog, region, as_of).await?;
        Ok((statuses, self.last_reports(region).await?))
    }

    /// Import a package whose signature verified (`hygie_sync::open`) and whose content parsed
    /// (`Package::check`), in one transaction: enrolment and sequence are decided on what it
    /// reads; a refusal (`StoreError::Refused`) or any error leaves the store unchanged.
    pub async fn import_package(
        &self,
        opened: &Opened,
        checked: &Checked,
        size: u64,
    ) -> Result<ImportReport> {
        let p = &opened.package;
        let facility = &checked.facility.id;
        let actor = Actor(format!("sync:{facility}"));
        let size = i64_of(size)?;
        let actor = &actor;
        self.write(|tx| {
            Box::pin(async move {
                // A key rotation first (the package is signed by the new key), in this
                // transaction: a package refused below leaves the enrolment unchanged.
                if let Some(r) = &opened.package.rotation {
                    crate::sync_rotation::rotate_in(tx, facility, r, actor).await?;
                }
                let key = opened.public_key.hex();
                let enrolments = sqlx::query(
                    "SELECT facility, revoked_us FROM sync_keys WHERE public_key = $1 ORDER BY id",
                )
                .bind(&key)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| {
                    Ok(Enrolment {
                        finess: r.try_get("facility")?,
                        revoked: r.try_get::<Option<i64>, _>("revoked_us")?.is_some(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
                hygie_sync::authorise(facility.as_str(), &opened.public_key, &enrolments)?;
                let last = sqlx::query(
                    "SELECT sequence, hash FROM sync_imports WHERE facility = $1 ORDER BY sequence DESC LIMIT 1",
                )
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| -> Result<Imported> {
                    Ok(Imported { sequence: u64_of(r.try_get("sequence")?), hash: r.try_get("hash")? })
                })
                .transpose()?;
                let seen: Option<i64> =
                    sqlx::query_scalar("SELECT sequence FROM sync_imports WHERE hash = $1")
                        .bind(&opened.hash)
                        .fetch_optional(&mut **tx)
                        .await?;
                let mut report = ImportReport {
                    facility: facility.to_string(),
                    sequence: p.sequence,
                    hash: opened.hash.clone(),
                    outcome: "imported",
                    new_declarations: 0,
                    new_check_runs: 0,
                    evidence: p.facts.evidence.len(),
                    obligations: p.facts.obligations.len(),
                };
                match hygie_sync::admit(
                    p.sequence,
                    p.previous_hash.as_deref(),
                    last.as_ref(),
                    seen.map(u64_of),
                )? {
                    Admission::AlreadyImported => {
                        report.outcome = "already_imported";
                        return Ok(report);
                    }
                    Admission::Import => {}
                }
                upsert_facility(tx, &checked.facility, actor).await?;
                // Only what earlier packages did not bring: compared in one normal form.
                let stored: Vec<DeclarationRecord> = sqlx::query(
                    "SELECT measure, status, justification, owner, note, at_us, actor FROM declarations \
                     WHERE facility = $1 ORDER BY at_us, seq",
                )
                .bind(facility.as_str())
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| declaration_from_row(r).map(|(m, d)| DeclarationRecord::of(&m, &d)))
                .collect::<Result<_>>()?;
                let incoming: Vec<DeclarationRecord> = checked
                    .declarations
                    .iter()
                    .map(|(m, d)| DeclarationRecord::of(m, d))
                    .collect();
                let new: Vec<NewDeclaration<'_>> = hygie_sync::new_declarations(&incoming, &stored)
                    .into_iter()
                    .map(|i| {
                        let (measure, d) = &checked.declarations[i];
                        NewDeclaration {
                            measure,
                            status: &d.status,
                            owner: d.owner.as_deref(),
                            note: d.note.as_deref(),
                            at: d.at,
                        }
                    })
                    .collect();
                insert_declarations(tx, facility, &new, actor).await?;
                report.new_declarations = new.len();
                // The runs already stored, by id, in one query: a run of this facility was
                // brought by an earlier package; one of another facility is a forgery.
                let owners = run_owners(tx, checked.runs.iter().map(|r| r.id.as_str())).await?;
                let mut runs = Vec::with_capacity(checked.runs.len());
                for run in &checked.runs {
                    match owners.get(&run.id) {
                        Some(f) if f == facility.as_str() => continue,
                        Some(_) => {
                            return Err(Refusal::Malformed(format!(
                                "check run '{}' is another facility's",
                                run.id
                            ))
                            .into());
                        }
                        None => {}
                    }
                    let counts: serde_json::Map<String, serde_json::Value> = checked
                        .object_counts
                        .get(&run.id)
                        .into_iter()
                        .flatten()
                        .map(|(rule, n)| (rule.clone(), (*n).into()))
                        .collect();
                    let summary = serde_json::json!({ "federated": true, "package": p.sequence, "object_counts": counts });
                    runs.push((run, summary));
                }
                let runs: Vec<(&hygie_core::CheckRun, &serde_json::Value)> =
                    runs.iter().map(|(r, s)| (*r, s)).collect();
                insert_check_runs(tx, facility, &runs, actor).await?;
                report.new_check_runs = runs.len();
                replace_evidence(tx, facility, &p.facts.evidence).await?;
                replace_obligations(tx, facility, &p.facts.obligations).await?;
                sqlx::query(
                    "INSERT INTO sync_imports (facility, sequence, hash, previous_hash, journal_seq, journal_hash, \
                     public_key, created_at, size, imported_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(facility.as_str())
                .bind(i64_of(p.sequence)?)
                .bind(&opened.hash)
                .bind(p.previous_hash.clone())
                .bind(i64_of(p.journal_head.seq)?)
                .bind(&p.journal_head.hash)
                .bind(&key)
                .bind(&p.created_at)
                .bind(size)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({
                    "sequence": p.sequence, "hash": opened.hash, "previous_hash": p.previous_hash,
                    "journal_head": { "seq": p.journal_head.seq, "hash": p.journal_head.hash },
                    "fingerprint": opened.public_key.fingerprint(),
                    "new_declarations": report.new_declarations, "new_check_runs": report.new_check_runs,
                    "evidence": report.evidence, "obligations": report.obligations,
                });
                append(tx, actor, "sync.import", facility.as_str(), &details).await?;
                Ok(report)
            })
        })
        .await
    }
}

/// Register the facility from its package, or bring its record up to date (journalled as the
/// CLI's `facility.add` and `facility.update` are; its views are recomputed as after an update).
async fn upsert_facility(tx: &mut WriteTx<'_>, f: &Facility, actor: &Actor) -> Result<()> {
    if !facility_exists(tx, &f.id).await? {
        return crate::plan::facilities::insert_facility_row(tx, f, false, actor).await;
    }
    let row = sqlx::query(
        "SELECT finess, legal_entity, name, kind, region, nis2, plan_start FROM facilities WHERE finess = $1",
    )
    .bind(f.id.as_str())
    .fetch_one(&mut **tx)
    .await?;
    if row_to_facility(&row)? == *f {
        return Ok(());
    }
    crate::plan::facilities::update_facility_row(tx, f).await?;
    let details = serde_json::json!({
        "name": f.name, "kind": f.kind.as_str(), "region": f.region.code(), "nis2": f.nis2.as_str(),
        "plan_start": f.plan_start.to_string(),
    });
    let seq = append(tx, actor, "facility.update", f.id.as_str(), &details).await?;
    crate::plan::current::touch(tx, &f.id, seq, 0).await
}

async fn replace_evidence(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    evidence: &[EvidenceRecord],
) -> Result<()> {
    sqlx::query("DELETE FROM sync_evidence WHERE facility = $1")
        .bind(facility.as_str())
        .execute(&mut **tx)
        .await?;
    let mut rows: Vec<Vec<crate::batch::Value>> = Vec::with_capacity(evidence.len());
    for (i, e) in evidence.iter().enumerate() {
        let at =
            e.at.parse::<jiff::Timestamp>()
                .map_err(|x| StoreError::Invalid(format!("evidence[{i}].at: {x}")))?;
        rows.push(vec![
            facility.as_str().into(),
            i64::try_from(i).unwrap_or(i64::MAX).into(),
            e.measure.as_str().into(),
            e.kind.as_str().into(),
            e.name.clone().into(),
            e.sha256.clone().into(),
            e.size.map(i64_of).transpose()?.into(),
            e.url.clone().into(),
            at.as_microsecond().into(),
        ]);
    }
    crate::batch::insert(
        tx,
        "INSERT INTO sync_evidence (facility, position, measure, kind, name, sha256, size, url, at_us)",
        "",
        &rows,
    )
    .await
}

async fn replace_obligations(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    obligations: &[ObligationRecord],
) -> Result<()> {
    sqlx::query("DELETE FROM sync_obligations WHERE facility = $1")
        .bind(facility.as_str())
        .execute(&mut **tx)
        .await?;
    let rows: Vec<Vec<crate::batch::Value>> = obligations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            vec![
                facility.as_str().into(),
                i64::try_from(i).unwrap_or(i64::MAX).into(),
                o.incident.as_str().into(),
                o.duty.as_str().into(),
                o.status.as_str().into(),
                o.due.clone().into(),
                o.sent.clone().into(),
                i64::from(o.late).into(),
            ]
        })
        .collect();
    crate::batch::insert(
        tx,
        "INSERT INTO sync_obligations (facility, position, incident, duty, status, due, sent, late)",
        "",
        &rows,
    )
    .await
}

/// The facility of each of the check runs `ids` already stored.
async fn run_owners<'i>(
    tx: &mut WriteTx<'_>,
    ids: impl Iterator<Item = &'i str>,
) -> Result<HashMap<String, String>> {
    let ids: Vec<&str> = ids.collect();
    let mut owners = HashMap::new();
    // Within both backends' limits on bound parameters.
    for chunk in ids.chunks(10_000) {
        let sql = format!(
            "SELECT id, facility FROM check_runs WHERE id IN ({})",
            crate::batch::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut **tx).await? {
            owners.insert(r.try_get("id")?, r.try_get("facility")?);
        }
    }
    Ok(owners)
}

impl Store {
    /// Set each row's `last_report` from the packages imported (none on a facility's instance).
    pub(crate) async fn fill_last_reports(
        &self,
        view: &mut hygie_core::RegionStatus,
    ) -> Result<()> {
        let last = self.last_reports(view.region).await?;
        for row in &mut view.facilities {
            row.last_report = last.get(row.id.as_str()).copied();
        }
        Ok(())
    }
}
