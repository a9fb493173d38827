//! Restore: a checked archive into an empty store, in one write transaction, then verified.

use super::export::{TableSpec, schema_version, spec_of, tables_in};
use super::file::{BlobCheck, Checked, RestoreReport};
use super::format::{ArchiveReader, ColumnType, Item, Value};
use super::{BackupError, Problem, db_error};
use crate::journal::{Actor, WriteTx, append};
use crate::{Backend, Store, StoreError, redact};
use futures_util::TryStreamExt as _;
use sqlx::migrate::{Migration, MigrationSource, Migrator};
use sqlx::{AnyConnection, Row};
use std::io::BufRead;

/// Some of this build's migrations: those up to the archive's schema.
#[derive(Debug)]
struct UpTo(Vec<Migration>);

impl MigrationSource<'static> for UpTo {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>>
    {
        Box::pin(async move { Ok(self.0) })
    }
}

/// Apply this build's migrations up to `version` only: the archive's rows go into the schema
/// they were read from, and the later migrations then run on them as an upgrade would.
async fn migrate_to(store: &Store, version: i64) -> Result<(), StoreError> {
    let upto: Vec<Migration> = store
        .migrator()
        .iter()
        .filter(|x| x.version <= version)
        .cloned()
        .collect();
    Migrator::new(UpTo(upto)).await?.run(&store.pool).await?;
    Ok(())
}

/// What the target holds that a restore must not overwrite.
#[derive(Debug, Default)]
struct Occupied {
    facilities: i64,
    users: i64,
    journal: i64,
}

impl Occupied {
    fn any(&self) -> bool {
        self.facilities + self.users + self.journal > 0
    }

    fn refusal(&self, target: &str) -> BackupError {
        BackupError::new(
            Problem::TargetNotEmpty,
            format!(
                "{target} is not empty ({} facilities, {} users, {} journal entries): a restore never merges; restore into a new data directory or an empty database",
                self.facilities, self.users, self.journal
            ),
            format!(
                "{target} n'est pas vide ({} établissements, {} utilisateurs, {} entrées de journal) : une restauration ne fusionne jamais ; restaurez dans un nouveau répertoire de données ou une base vide",
                self.facilities, self.users, self.journal
            ),
        )
    }
}

/// Rows of the tables that make a store non-empty, among those that exist.
async fn occupied(conn: &mut AnyConnection, present: &[String]) -> Result<Occupied, BackupError> {
    let mut o = Occupied::default();
    for (table, slot) in [
        ("facilities", &mut o.facilities),
        ("users", &mut o.users),
        ("journal", &mut o.journal),
    ] {
        if present.iter().any(|p| p == table) {
            *slot = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| db_error(table, e))?;
        }
    }
    Ok(o)
}

async fn has_migrations(conn: &mut AnyConnection, backend: Backend) -> Result<bool, BackupError> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql)
        .fetch_one(conn)
        .await
        .map_err(|e| db_error("_sqlx_migrations", e))?;
    Ok(n > 0)
}

fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    value: Value,
    ty: ColumnType,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    // A NULL is bound with its column's type: PostgreSQL refuses a text NULL in a bigint column.
    match (value, ty) {
        (Value::Null, ColumnType::Int) => q.bind(None::<i64>),
        (Value::Null, ColumnType::Real) => q.bind(None::<f64>),
        (Value::Null, ColumnType::Text) => q.bind(None::<String>),
        (Value::Null, ColumnType::Bytes) => q.bind(None::<Vec<u8>>),
        (Value::Int(n), _) => q.bind(n),
        (Value::Real(x), _) => q.bind(x),
        (Value::Text(s), _) => q.bind(s),
        (Value::Bytes(b), _) => q.bind(b),
    }
}

/// A table of the archive as the target declares it: its name, its columns in the archive's
/// order with their types, and the rows read but not yet inserted.
struct Target {
    table: String,
    names: String,
    types: Vec<ColumnType>,
    pending: Vec<Vec<Value>>,
    pending_bytes: usize,
    batch_rows: usize,
}

/// Into PostgreSQL rows go in by multi-row INSERTs: one statement per row made a restore of
/// 100,000 alerts take 40 s (a round trip each; 10 s batched). A batch stays under the limit on
/// bound parameters (65,535) and under a few MiB, so that evidence files (rows of megabytes) are
/// not held by the hundred. SQLite, in process, has no round trip to save, and binding thousands
/// of numbered parameters made it eight times slower (5 s → 40 s for the same alerts): one row
/// per statement there (benches/backup.rs).
const BATCH_PARAMETERS: usize = 30_000;
const BATCH_BYTES: usize = 8 << 20;

fn batch_rows(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 500,
        Backend::Sqlite => 1,
    }
}

impl Target {
    fn full(&self) -> bool {
        let rows = self.pending.len();
        rows >= self.batch_rows
            || (rows + 1) * self.types.len() > BATCH_PARAMETERS
            || self.pending_bytes >= BATCH_BYTES
    }

    fn push(&mut self, values: Vec<Value>) {
        self.pending_bytes += values
            .iter()
            .map(|v| match v {
                Value::Text(s) => s.len(),
                Value::Bytes(b) => b.len(),
                _ => 8,
            })
            .sum::<usize>();
        self.pending.push(values);
    }

    /// Insert the pending rows in one statement; the rows inserted.
    async fn flush(&mut self, tx: &mut WriteTx<'_>) -> Result<u64, BackupError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let width = self.types.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.names);
        for r in 0..self.pending.len() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", r * width + c + 1));
            }
            sql.push(')');
        }
        let rows = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let n = rows.len() as u64;
        let mut q = sqlx::query(&sql);
        for values in rows {
            for (v, ty) in values.into_iter().zip(&self.types) {
                q = bind(q, v, *ty);
            }
        }
        q.execute(&mut **tx)
            .await
            .map_err(|e| db_error(&self.table, e))?;
        Ok(n)
    }
}

fn schema_mismatch(file: &str, en: String, fr: String) -> BackupError {
    BackupError::new(
        Problem::Malformed,
        format!("{file}: {en}"),
        format!("{file} : {fr}"),
    )
}

impl Checked<'_> {
    /// Restore into the store at `url`, which must hold no facility, user or journal entry;
    /// then verify it. The archive is read again and checked as it is imported: the transaction
    /// commits only if it is still the archive that was checked.
    pub async fn restore(&self, url: &str, actor: &Actor) -> Result<RestoreReport, BackupError> {
        let target = redact(url);
        let store = Store::connect(url)
            .await
            .map_err(|e| BackupError::store(&target, &target, e))?;
        let outcome = self.fill(&store, &target, actor).await;
        store.close().await;
        let restore_entry = outcome?;
        // The migrations after the archive's schema, as an upgrade would run them.
        let store = Store::open(url)
            .await
            .map_err(|e| BackupError::store(&target, &target, e))?;
        let checked = async {
            let journal = store
                .verify_journal()
                .await
                .map_err(|e| db_error("journal", e))?;
            let blobs = rehash(&store).await?;
            Ok::<_, BackupError>((journal, blobs))
        }
        .await;
        store.close().await;
        let (journal, blobs) = checked?;
        Ok(RestoreReport {
            manifest: self.manifest.clone(),
            encrypted: self.encrypted,
            restore_entry,
            journal,
            blobs,
        })
    }

    /// Check the target, migrate it to the archive's schema, import; the restore's journal entry.
    async fn fill(&self, store: &Store, target: &str, actor: &Actor) -> Result<i64, BackupError> {
        let m = &self.manifest;
        let file = self.label();
        let known: Vec<i64> = store.migrator().iter().map(|x| x.version).collect();
        let newest = known.iter().copied().max().unwrap_or(0);
        if m.schema_version > newest {
            return Err(BackupError::new(
                Problem::Newer,
                format!(
                    "{file}: made by Hygie {} with schema {}; this Hygie knows schema {newest} at most: restore it with Hygie {} or newer",
                    m.hygie_version, m.schema_version, m.hygie_version
                ),
                format!(
                    "{file} : faite par Hygie {} avec le schéma {} ; cette version connaît au plus le schéma {newest} : restaurez-la avec Hygie {} ou plus récent",
                    m.hygie_version, m.schema_version, m.hygie_version
                ),
            ));
        }
        if !known.contains(&m.schema_version) {
            return Err(schema_mismatch(
                &file,
                format!(
                    "schema {} is none of this Hygie's migrations",
                    m.schema_version
                ),
                format!(
                    "le schéma {} n'est aucune des migrations de cette version",
                    m.schema_version
                ),
            ));
        }
        {
            let mut conn = store
                .pool
                .acquire()
                .await
                .map_err(|e| BackupError::store(target, target, e.into()))?;
            let present = tables_in(&mut conn, store.backend)
                .await
                .map_err(|e| BackupError::store(target, target, e))?;
            let o = occupied(&mut conn, &present).await?;
            if o.any() {
                return Err(o.refusal(target));
            }
            if has_migrations(&mut conn, store.backend).await? {
                let at = schema_version(&mut conn)
                    .await
                    .map_err(|e| db_error("_sqlx_migrations", e))?;
                if at > m.schema_version {
                    return Err(BackupError::new(
                        Problem::TargetSchema,
                        format!(
                            "{target} was set up with schema {at}, newer than the archive's ({}): restore into a new data directory or a new empty database",
                            m.schema_version
                        ),
                        format!(
                            "{target} a été préparée avec le schéma {at}, plus récent que celui de l'archive ({}) : restaurez dans un nouveau répertoire de données ou une nouvelle base vide",
                            m.schema_version
                        ),
                    ));
                }
            }
        }
        migrate_to(store, m.schema_version)
            .await
            .map_err(|e| BackupError::store(target, target, e))?;
        let backend = store.backend;
        store
            .write(|tx| {
                Box::pin(async move {
                    self.import(tx, backend, target, actor)
                        .await
                        .map_err(|e| StoreError::Backup(Box::new(e)))
                })
            })
            .await
            .map_err(|e| match e {
                StoreError::Backup(b) => *b,
                e => BackupError::store(target, target, e),
            })
    }

    /// The import, under the write lock: the target checked empty again, every table filled
    /// from the archive (read again and checked), the restore journalled.
    async fn import(
        &self,
        tx: &mut WriteTx<'_>,
        backend: Backend,
        target: &str,
        actor: &Actor,
    ) -> Result<i64, BackupError> {
        let file = self.label();
        let present = tables_in(tx, backend)
            .await
            .map_err(|e| db_error("sqlite_master", e))?;
        let o = occupied(tx, &present).await?;
        if o.any() {
            return Err(o.refusal(target));
        }
        let listed: Vec<&str> = self
            .manifest
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let missing: Vec<&str> = present
            .iter()
            .map(String::as_str)
            .filter(|t| !listed.contains(t))
            .collect();
        let unknown: Vec<&str> = listed
            .iter()
            .copied()
            .filter(|t| !present.iter().any(|p| p == t))
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            return Err(schema_mismatch(
                &file,
                format!(
                    "its tables are not those of schema {} (missing: {}; unknown: {})",
                    self.manifest.schema_version,
                    missing.join(", "),
                    unknown.join(", ")
                ),
                format!(
                    "ses tables ne sont pas celles du schéma {} (absentes : {} ; inconnues : {})",
                    self.manifest.schema_version,
                    missing.join(", "),
                    unknown.join(", ")
                ),
            ));
        }
        // What the migrations and a first opening put in (the journal's genesis head, meta):
        // the archive's rows replace them. Children first.
        for t in listed.iter().rev() {
            sqlx::query(&format!("DELETE FROM {t}"))
                .execute(&mut **tx)
                .await
                .map_err(|e| db_error(t, e))?;
        }
        let mut reader = self.reopen()?;
        let rows = self.copy(tx, backend, &mut reader).await?;
        let m = &self.manifest;
        let details = serde_json::json!({
            "archive_created_at": m.created_at,
            "hygie_version": m.hygie_version,
            "schema_version": m.schema_version,
            "backend": m.backend,
            "journal_head": { "seq": m.journal_head.seq, "hash": m.journal_head.hash },
            "tables": m.tables.len(),
            "rows": rows,
        });
        append(tx, actor, "store.restore", "store", &details)
            .await
            .map_err(|e| db_error("journal", e))
    }

    /// Insert every row of the archive; the rows inserted.
    async fn copy(
        &self,
        tx: &mut WriteTx<'_>,
        backend: Backend,
        reader: &mut ArchiveReader<Box<dyn BufRead + Send>>,
    ) -> Result<u64, BackupError> {
        let file = self.label();
        let mut current: Option<Target> = None;
        let mut rows = 0u64;
        loop {
            match reader.next_item()? {
                Item::Table(h) => {
                    if let Some(t) = current.as_mut() {
                        rows += t.flush(tx).await?;
                    }
                    let spec = spec_of(tx, backend, &h.table).await?;
                    current = Some(target_of(&file, &spec, &h.columns, backend)?);
                }
                Item::Row(values) => {
                    let Some(t) = current.as_mut() else {
                        continue;
                    };
                    t.push(values);
                    if t.full() {
                        rows += t.flush(tx).await?;
                    }
                }
                Item::End(m) => {
                    if let Some(t) = current.as_mut() {
                        rows += t.flush(tx).await?;
                    }
                    if m != self.manifest {
                        return Err(BackupError::new(
                            Problem::Checksum,
                            format!("{file} changed since it was checked: nothing was restored"),
                            format!(
                                "{file} a changé depuis sa vérification : rien n'a été restauré"
                            ),
                        ));
                    }
                    return Ok(rows);
                }
            }
        }
    }
}

/// The insert for table `spec` with the archive's `columns`, which must be the table's own
/// columns with the same types (in any order).
fn target_of(
    file: &str,
    spec: &TableSpec,
    columns: &[super::Column],
    backend: Backend,
) -> Result<Target, BackupError> {
    let same_set =
        columns.len() == spec.columns.len() && columns.iter().all(|c| spec.columns.contains(c));
    if !same_set {
        let want: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("{} {:?}", c.name, c.ty))
            .collect();
        let got: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {:?}", c.name, c.ty))
            .collect();
        return Err(schema_mismatch(
            file,
            format!(
                "table {}: the archive's columns ({}) are not the schema's ({})",
                spec.name,
                got.join(", "),
                want.join(", ")
            ),
            format!(
                "table {} : les colonnes de l'archive ({}) ne sont pas celles du schéma ({})",
                spec.name,
                got.join(", "),
                want.join(", ")
            ),
        ));
    }
    // Names come from the target's own catalogue (equal to the archive's, checked above).
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    Ok(Target {
        table: spec.name.clone(),
        names: names.join(", "),
        types: columns.iter().map(|c| c.ty).collect(),
        pending: Vec::new(),
        pending_bytes: 0,
        batch_rows: batch_rows(backend),
    })
}

/// Every evidence file of `store` checked against its SHA-256 and size.
pub(crate) async fn rehash(store: &Store) -> Result<BlobCheck, BackupError> {
    let mut check = BlobCheck::default();
    let mut rows = sqlx::query("SELECT sha256, size, content FROM evidence_blobs ORDER BY sha256")
        .fetch(&store.pool);
    while let Some(r) = rows
        .try_next()
        .await
        .map_err(|e| db_error("evidence_blobs", e))?
    {
        let sha: String = r
            .try_get("sha256")
            .map_err(|e| db_error("evidence_blobs", e))?;
        let size: i64 = r
            .try_get("size")
            .map_err(|e| db_error("evidence_blobs", e))?;
        let content: Vec<u8> = r
            .try_get("content")
            .map_err(|e| db_error("evidence_blobs", e))?;
        check.record(&sha, size, &content);
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hygie_core::{Facility, FacilityKind, Finess, Nis2Status, Region};
    use hygie_testkit::TestDb;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// The facility of a store written by an older schema.
    fn old_facility() -> Facility {
        Facility {
            id: Finess::with_check_digit("75000001").unwrap(),
            legal_entity: None,
            name: "CH ancien".into(),
            kind: FacilityKind::Hospital,
            region: Region::parse("IDF").unwrap(),
            nis2: Nis2Status::Essential,
            plan_start: "2025-01-01".parse().unwrap(),
        }
    }

    /// An archive of a store at an older schema (700: before the second factor's own counter and
    /// the governance tables) is restored into that schema, then upgraded as that store would be.
    #[test]
    fn an_archive_of_an_older_schema_is_restored_then_upgraded() {
        for db in TestDb::each() {
            let dir = tempfile::tempdir().unwrap();
            let rt = runtime();
            rt.block_on(async {
                let old = Store::connect(&db.url).await.unwrap();
                migrate_to(&old, 700).await.unwrap();
                let a = Actor("test".into());
                let f = old_facility();
                old.add_facility(&f, false, &a).await.unwrap();
                let actor = &a;
                let user: i64 = old
                    .write(|tx| {
                        Box::pin(async move {
                            append(tx, actor, "user.create", "user:1", "{}").await?;
                            sqlx::query(
                                "INSERT INTO users (id, username, display_name, role, binding, password_hash, failed_logins, created_us) \
                                 VALUES (1, 'rssi', 'R. SSI', 'ciso', 'installation', 'x', 3, 0)",
                            )
                            .execute(&mut **tx)
                            .await?;
                            Ok(1)
                        })
                    })
                    .await
                    .unwrap();
                let path = dir.path().join("old.hyb");
                let summary = super::super::write_backup(&old, &path, None).await.unwrap();
                old.close().await;
                assert_eq!(summary.manifest.schema_version, 700, "{}", db.backend);
                assert!(summary.manifest.tables.iter().all(|t| !t.name.starts_with("gov_")));

                let target = TestDb::each().into_iter().find(|t| t.backend == db.backend).unwrap();
                let checked = Checked::check(&path, None).unwrap();
                let report = checked.restore(&target.url, &a).await.unwrap();
                assert_eq!(report.journal, crate::JournalCheck::Intact { entries: 3 });
                let store = Store::open(&target.url).await.unwrap();
                let row = sqlx::query("SELECT failed_logins, totp_failures FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_one(&store.pool)
                    .await
                    .unwrap();
                assert_eq!(row.try_get::<i64, _>("failed_logins").unwrap(), 3);
                assert_eq!(row.try_get::<i64, _>("totp_failures").unwrap(), 0);
                let mut conn = store.pool.acquire().await.unwrap();
                let newest = store.migrator().iter().map(|m| m.version).max().unwrap();
                assert_eq!(schema_version(&mut conn).await.unwrap(), newest);
                assert!(tables_in(&mut conn, store.backend).await.unwrap().iter().any(|t| t == "gov_people"));
                drop(conn);
                store.close().await;
            });
        }
    }

    /// Migration 2860 moves SQLite's software rows to a WITHOUT ROWID table: a register
    /// imported before it is read back whole after it, each list in its order, on both backends.
    #[test]
    fn software_imported_before_2860_is_read_back_after_it() {
        use hygie_inventory::{Observation, Register, Software, SourceKind};
        for db in TestDb::each() {
            let rt = runtime();
            rt.block_on(async {
                let old = Store::connect(&db.url).await.unwrap();
                migrate_to(&old, 2850).await.unwrap();
                let a = Actor("test".into());
                let f = old_facility();
                old.add_facility(&f, false, &a).await.unwrap();
                let now = jiff::Timestamp::now();
                let mut reg = Register::new(Vec::new());
                let mut sightings = Vec::new();
                for host in ["pc-1", "pc-2"] {
                    let software = (0..5)
                        .rev()
                        .map(|i| Software {
                            name: format!("{host}-paquet-{i}"),
                            version: (i % 2 == 0).then(|| format!("1.{i}")),
                            vendor: (i == 3).then(|| "Éditeur \"cité\"".to_owned()),
                        })
                        .collect();
                    sightings.push(reg.absorb(
                        SourceKind::FusionInventory,
                        Observation {
                            origin: format!("{host}.xml"),
                            hostname: Some(host.into()),
                            software: Some(software),
                            ..Observation::default()
                        },
                        now,
                    ));
                }
                let register = reg.into_assets();
                old.import_inventory(
                    &f.id,
                    &register,
                    &crate::ImportRecord {
                        source: SourceKind::FusionInventory,
                        files: &["pc.xml".into()],
                        sightings: &sightings,
                        new_assets: 2,
                        scanned: &[],
                    },
                    None,
                    &a,
                )
                .await
                .unwrap();
                old.close().await;
                let store = Store::open(&db.url).await.unwrap();
                let back = store.inventory(&f.id).await.unwrap();
                assert_eq!(back.len(), 2, "{}", db.backend);
                for r in &register {
                    let b = back.iter().find(|b| b.id == r.id).unwrap();
                    assert_eq!(b.software, r.software, "{}", db.backend);
                    assert_eq!(b.all_software().len(), 5);
                }
                store.close().await;
            });
        }
    }

    /// Migration 2870: event keys were stream sequences, they are `event_key(seq, index)`
    /// since. A message counted before the upgrade and delivered again after it adds nothing;
    /// one below the stream's floor neither; a new message does. Keys 1 and 65,536 both exist
    /// before, so the multiplication meets the key it would collide with in place.
    #[test]
    fn event_keys_before_2870_count_a_message_delivered_again_once() {
        use hygie_core::alert::{KeyedAlert, event_key};
        for db in TestDb::each() {
            let rt = runtime();
            rt.block_on(async {
                let old = Store::connect(&db.url).await.unwrap();
                migrate_to(&old, 2860).await.unwrap();
                let a = Actor("test".into());
                let f = old_facility();
                old.add_facility(&f, false, &a).await.unwrap();
                let alert = |count: u64| hygie_core::Alert {
                    id: "a".repeat(32),
                    rule_id: "r".into(),
                    title: "Échec de connexion".into(),
                    level: "medium".into(),
                    tags: vec![],
                    time: Some("2026-03-02T10:00:00Z".into()),
                    last_time: Some("2026-03-02T10:01:00Z".into()),
                    host: Some("DC01".into()),
                    record_id: 1,
                    source: "nats".into(),
                    fields: vec![],
                    count,
                };
                let keyed = |events: Vec<u64>| KeyedAlert {
                    alert: alert(events.len() as u64),
                    events,
                };
                let merged = old
                    .merge_alerts(&f.id, "S", &[keyed(vec![1, 5, 65_536])], &a)
                    .await
                    .unwrap();
                assert_eq!(merged.events, 3);
                old.forget_alert_events("S", 2).await.unwrap();
                old.close().await;
                let store = Store::open(&db.url).await.unwrap();
                // Messages 5 and 65,536 delivered again, message 1 (below the floor) late,
                // each a one-event message: nothing added.
                let again = vec![event_key(1, 0), event_key(5, 0), event_key(65_536, 0)];
                let merged = store
                    .merge_alerts(&f.id, "S", &[keyed(again)], &a)
                    .await
                    .unwrap();
                assert_eq!(merged.events, 0, "{}", db.backend);
                // A message of two events after them: both counted.
                let new = vec![event_key(70_000, 0), event_key(70_000, 1)];
                let merged = store
                    .merge_alerts(&f.id, "S", &[keyed(new)], &a)
                    .await
                    .unwrap();
                assert_eq!(merged.events, 2, "{}", db.backend);
                let listed = store.alerts(&f.id, None).await.unwrap();
                assert_eq!(listed.len(), 1);
                assert_eq!(listed[0].count, 5, "{}", db.backend);
                store.close().await;
            });
        }
    }
}
