//! The snapshot: every table read in one read transaction and written to an archive, and the
//! schema discovery that export and import share.

use super::format::{ArchiveWriter, Column, ColumnType, JournalHead, Manifest, Value, plain_name};
use super::{BackupError, Problem, db_error};
use crate::{Backend, Store, StoreError};
use futures_util::TryStreamExt as _;
use sqlx::{AnyConnection, Row};
use std::io::Write;

/// Every table of the schema, in the order they are written and restored: a table comes after
/// those its foreign keys name. A migration that adds a table adds it here (a store test fails
/// otherwise: `backup_lists_every_table`).
pub const TABLES: &[&str] = &[
    "meta",
    "journal",
    "journal_head",
    "facilities",
    "declarations",
    "evidence_blobs",
    "evidence",
    "check_runs",
    "check_results",
    "measure_current",
    "source_current",
    "facility_state",
    "facility_trend",
    "alerts",
    "ingest_checkpoints",
    "alert_events",
    "alert_event_floors",
    "incidents",
    "incident_sendings",
    "notify_reminders",
    "notify_scoped_reminders",
    "regime_settings",
    "users",
    "user_facilities",
    "sessions",
    "api_tokens",
    "bootstrap",
    "gov_people",
    "gov_roles",
    "gov_sessions",
    "gov_attendance",
    "gov_keys",
    "phishing_campaigns",
    "phishing_targets",
    "phishing_events",
    "risk_registers",
    "risk_reviews",
    "inventory_assets",
    "inventory_asset_sources",
    "inventory_software",
    "inventory_imports",
    "inventory_sightings",
    "inventory_scan_ranges",
    "vuln_feeds",
    "vuln_records",
    "vuln_advisories",
    "sync_exports",
    "sync_keys",
    "sync_imports",
    "sync_evidence",
    "sync_obligations",
    "sync_campaigns",
    "sync_requests",
    "sync_region_keys",
    "sync_received_requests",
    "sync_request_reminders",
    "webhook_events",
    "webhook_endpoints",
    "webhook_deliveries",
    "passkeys",
    "passkey_handles",
    "sign_in_ceremonies",
];

/// A table as the database declares it: its columns in order and its primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSpec {
    pub name: String,
    pub columns: Vec<Column>,
    pub key: Vec<String>,
}

/// The tables of the database (sqlx's own bookkeeping and SQLite's internal tables left out).
pub(crate) async fn tables_in(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Vec<String>, StoreError> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name <> '_sqlx_migrations' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name"
        }
    };
    Ok(sqlx::query_scalar(sql).fetch_all(conn).await?)
}

/// The columns (with their portable types) and the primary key of table `name`.
pub(crate) async fn spec_of(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
) -> Result<TableSpec, BackupError> {
    let (columns_sql, key_sql) = match backend {
        Backend::Sqlite => (
            "SELECT name, type AS decl FROM pragma_table_info($1) ORDER BY cid",
            "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
        ),
        Backend::Postgres => (
            "SELECT column_name::text AS name, data_type::text AS decl FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            "SELECT k.column_name::text AS name FROM information_schema.table_constraints t \
             JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name \
               AND k.table_schema = t.table_schema AND k.table_name = t.table_name \
             WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = current_schema() \
               AND t.table_name = $1 ORDER BY k.ordinal_position",
        ),
    };
    let rows = sqlx::query(columns_sql)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(name, e))?;
    let mut columns = Vec::with_capacity(rows.len());
    for r in &rows {
        let col: String = r.try_get("name").map_err(|e| db_error(name, e))?;
        let decl: String = r.try_get("decl").map_err(|e| db_error(name, e))?;
        let ty = ColumnType::of_declared(&decl)
            .filter(|_| plain_name(&col))
            .ok_or_else(|| {
                BackupError::new(
                    Problem::Malformed,
                    format!("table {name}, column {col}: type '{decl}' is not one a backup carries"),
                    format!(
                        "table {name}, colonne {col} : le type « {decl} » n'est pas de ceux qu'une sauvegarde transporte"
                    ),
                )
            })?;
        columns.push(Column { name: col, ty });
    }
    let key: Vec<String> = sqlx::query_scalar(key_sql)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(name, e))?;
    if key.is_empty() {
        return Err(BackupError::new(
            Problem::Malformed,
            format!("table {name} has no primary key: its rows have no stable order"),
            format!(
                "la table {name} n'a pas de clé primaire : ses lignes n'ont pas d'ordre stable"
            ),
        ));
    }
    Ok(TableSpec {
        name: name.to_owned(),
        columns,
        key,
    })
}

/// The last migration applied (0 for a database never migrated).
pub(crate) async fn schema_version(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(conn)
            .await?;
    Ok(v.unwrap_or(0))
}

/// Decode column `i` of `r` as the column's portable type.
fn value_of(r: &sqlx::any::AnyRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        ColumnType::Int => r
            .try_get::<Option<i64>, _>(i)?
            .map_or(Value::Null, Value::Int),
        ColumnType::Real => r
            .try_get::<Option<f64>, _>(i)?
            .map_or(Value::Null, Value::Real),
        ColumnType::Text => r
            .try_get::<Option<String>, _>(i)?
            .map_or(Value::Null, Value::Text),
        ColumnType::Bytes => r
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Value::Null, Value::Bytes),
    })
}

fn write_error(e: std::io::Error) -> BackupError {
    BackupError::new(
        Problem::Io,
        format!("cannot write the archive: {e}"),
        format!("écriture de l'archive impossible : {e}"),
    )
}

impl Store {
    /// Write a snapshot of the whole store to `out`, as of one instant, while other writers go
    /// on; returns `out` and the manifest written. Reads only.
    pub async fn export_archive<W: Write>(&self, out: W) -> Result<(W, Manifest), BackupError> {
        let begin = match self.backend {
            // Deferred: the first read below fixes the snapshot; WAL lets writers go on.
            Backend::Sqlite => "BEGIN DEFERRED",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let mut tx = self
            .pool
            .begin_with(begin)
            .await
            .map_err(|e| db_error("journal_head", e))?;
        let head = sqlx::query("SELECT seq, hash FROM journal_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error("journal_head", e))?;
        let journal_head = JournalHead {
            seq: head
                .try_get("seq")
                .map_err(|e| db_error("journal_head", e))?,
            hash: head
                .try_get("hash")
                .map_err(|e| db_error("journal_head", e))?,
        };
        let created_at = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let schema_version = schema_version(&mut tx)
            .await
            .map_err(|e| db_error("_sqlx_migrations", e))?;
        let present = tables_in(&mut tx, self.backend)
            .await
            .map_err(|e| db_error("sqlite_master", e))?;
        if let Some(unknown) = present.iter().find(|t| !TABLES.contains(&t.as_str())) {
            return Err(BackupError::new(
                Problem::Newer,
                format!(
                    "the store holds table {unknown}, which this Hygie does not know: back it up with the Hygie that uses it"
                ),
                format!(
                    "la base contient la table {unknown}, que cette version de Hygie ne connaît pas : sauvegardez-la avec la version qui l'utilise"
                ),
            ));
        }
        let mut w = ArchiveWriter::new(out).map_err(write_error)?;
        for name in TABLES.iter().filter(|t| present.iter().any(|p| p == *t)) {
            let spec = spec_of(&mut tx, self.backend, name).await?;
            w.begin_table(name, &spec.columns).map_err(write_error)?;
            let names: Vec<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
            let sql = format!(
                "SELECT {} FROM {name} ORDER BY {}",
                names.join(", "),
                spec.key.join(", ")
            );
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            let mut values = Vec::with_capacity(spec.columns.len());
            while let Some(r) = rows.try_next().await.map_err(|e| db_error(name, e))? {
                values.clear();
                for (i, c) in spec.columns.iter().enumerate() {
                    values.push(value_of(&r, i, c.ty).map_err(|e| db_error(name, e))?);
                }
                w.row(&values).map_err(write_error)?;
            }
        }
        // Read only: nothing to keep.
        tx.rollback()
            .await
            .map_err(|e| db_error("journal_head", e))?;
        let manifest = Manifest {
            format_version: 0,
            hygie_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version,
            backend: match self.backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
            .to_owned(),
            created_at,
            journal_head,
            tables: Vec::new(),
        };
        w.finish(manifest).map_err(write_error)
    }
}
