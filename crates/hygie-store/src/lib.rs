//! Hygie's store: one repository API over SQLite (the embedded default) and PostgreSQL.
//!
//! Architecture invariants:
//! - every state change and its journal entry are written in one transaction, so the journal
//!   never misses a change and a failed command leaves the store as it was;
//! - the store sees domain types from `hygie-core`, never HTTP or CLI types;
//! - SQL is written once for both backends (`$N` parameters, portable types); only the DDL differs,
//!   in `migrations/sqlite` and `migrations/postgres`, with two measured exceptions: bulk inserts
//!   bind anonymous `?` on SQLite (`batch`), and the register's software is aggregated by each
//!   backend's JSON function when read back (`inventory`);
//! - times are stored as microseconds since the epoch (`rows`), one portable type for both;
//! - the precomputed views equal the recomputation from the whole history (a store test checks it
//!   after random writes, on both backends); the regional view kept in memory is filed under the
//!   journal head read before its data, so any write, from any process, invalidates it;
//! - the installation keeps an enabled administrator (the lifecycle refuses to disable or delete
//!   the last one, `StoreError::LastAdministrator`), and a user's API tokens are revoked with them.
//!
//! Modules by feature, each with its own module doc: `plan` (facilities, declarations, evidence,
//! check runs, the dashboard views and the recomputation from history), `access` (users,
//! sessions, API tokens with their expiry, the lifecycle of accounts, passkeys and their
//! ceremonies in `passkeys`, the scoped API; alerts and
//! incidents in `scoped_incidents`), `incidents` (with the linking of the alerts an incident
//! names, in its own transaction) and `incident_files`, `alerts` (with the streaming ingest's
//! checkpoints, committed in the alerts' transaction; the detection workers' additive
//! `merge_alerts`; triage; keyset pages, one index per filter), `journal_query` (the journal's
//! filtered keyset pages on `seq`), `governance`, `inventory` (the asset register, its imports
//! and sightings), `vuln` (the instance's vulnerability feeds, KEV and NVD, with their dates), `notify` (the reminders' sending state), `regimes` (in-force dates), `sync`
//! (federation: a facility's snapshot and exported packages; at the region the enrolled keys and
//! the import of a package in one transaction; `sync_push`: each package's bytes and its
//! acknowledgement, the enrolment's push token; `sync_requests`: the agency's campaigns and
//! requests, the region keys a facility trusts and the requests it received), `webhooks` (the outbox of signed webhooks: events
//! written in the transaction that makes them, deliveries claimed with a lease), `backup` (a portable archive of the whole store,
//! optional encryption, restore into an empty store). `journal` holds the one write path, `rows`
//! the time conversion and row decoding they share.
//!
//! Boundary: `Store` for trusted callers (the CLI); `Scoped` (`Store::scoped(&Access)`) for the
//! web, which checks role and binding on every read and write (outside the binding is "not
//! found"). Unjournalled writes (sessions, login counters, cached views) take the same write path
//! and say why.
//!
//! To add a table: a migration pair in `migrations/{sqlite,postgres}` with the feature's version
//! numbers (feature *N* uses versions *N00-N99*), a module method that writes through
//! `Store::write` with its journal entry, a test in `tests/it` (run on both backends), and its
//! name in `backup::TABLES` after the tables it refers to (a test checks the list).
//!
//! Durability (SQLite): WAL journal with `synchronous = FULL`, so a commit returns only once the
//! WAL is synced and what Hygie reported done (an evidence upload, an ingest checkpoint with its
//! alerts) survives a power cut. With `NORMAL` a process crash (kill -9) loses nothing either,
//! but a power cut can take back the last commits: an upload the user saw accepted, or an
//! ingest checkpoint after which the spool already deleted the events it covered (so they
//! would be lost). The cost, measured by
//! `benches/writes.rs` (BENCHMARKS.md): about 0.3 ms more per commit (a single declaration
//! ~1,000 commits/s instead of ~2,000); batches of alerts are not measurably slower.

mod access;
mod alerts;
pub mod backup;
mod batch;
mod governance;
mod incident_files;
mod incidents;
pub use incidents::incident_id;
mod inventory;
pub use inventory::{ImportRecord, InventoryImport, SightingRecord};
mod inventory_map;
pub use inventory_map::AssetFindings;
mod journal;
mod journal_query;
mod notify;
mod plan;
mod regimes;
mod rows;
mod sync;
mod webhooks;
pub use webhooks::{Attempt, ClaimedDelivery, DeliveryRecord};
mod sync_campaign_life;
mod sync_notifications;
mod sync_push;
mod sync_requests;
mod sync_rotation;
pub use sync_requests::{
    ReceivedRequest, ReminderSent, RequestCampaign, RequestStatus, RequestsReceived, TrustedRegion,
};
mod vuln;
pub use vuln::{FeedRecords, VulnFeed};

pub use access::ceremonies::Ceremony;
pub use access::external::ExternalSignIn;
pub use access::lifecycle::SessionInfo;
pub use access::passkeys::{PASSKEY_NAME_MAX, PasskeyInfo, StoredPasskey};
pub use access::scoped::{Access, Scoped};
pub use access::sessions::{LoginProof, Session, SessionStage};
pub use access::tokens::{ApiToken, TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS, TokenAccess};
pub use access::users::{Backoff, Binding, Credentials, Factor, NewUser, Role, SignIn, User};
pub use alerts::{
    ALERT_PAGE_MAX, AlertCursor, AlertPage, AlertQuery, AlertRecord, AlertStatus, IngestCheckpoint,
    Merged,
};
pub use governance::{CampaignRecord, RiskReview, RoleRecord};
pub use incidents::{IncidentChangeError, StoredSending, incident_subject};
pub use journal::{Actor, Facilities, JournalCheck};
pub use journal_query::{JOURNAL_PAGE_MAX, JournalCursor, JournalFilter, JournalPage};
pub use notify::{ReminderState, SentMessage};
pub use plan::checks::RunHeader;
pub use plan::current::TrendPoint;
pub use plan::evidence::{EvidenceItem, EvidenceKind};
pub use plan::facilities::DeclarationRecord;
pub(crate) use rows::{now_us, ts_from_us};
pub use sync::{ImportReport, KeyRecord, SyncSnapshot};
pub use sync_push::PushTokenHolder;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::path::Path;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("the store holds an invalid value: {0}")]
    Corrupt(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    /// Disabling or deleting this user would leave the installation without an enabled
    /// administrator (or without one bound to the whole installation).
    #[error(
        "user {0} is the last enabled administrator{1}: enable or add another administrator first"
    )]
    LastAdministrator(String, &'static str),
    /// The same content (same SHA-256) is already attached to this measure: it is not listed
    /// twice.
    #[error(
        "this file is already attached to {} as '{}' (added {} by {})",
        .0.measure, .0.file_name, .0.added_at, .0.added_by
    )]
    AlreadyAttached(Box<AttachedFile>),
    /// A federation package the region will not store (hygie-sync's checks, taken inside the
    /// import's transaction).
    #[error(transparent)]
    Refused(#[from] hygie_sync::Refusal),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A restore's import failed on its archive or its target (carried through the write path,
    /// which rolls back on any error).
    #[error(transparent)]
    Backup(Box<backup::BackupError>),
}

/// The evidence file a second upload of the same content found (`StoreError::AlreadyAttached`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    pub measure: String,
    pub file_name: String,
    pub added_at: jiff::Timestamp,
    pub added_by: String,
}

impl StoreError {
    /// Whether the write lost a race with another writer and may succeed when tried again:
    /// SQLite busy or locked (past `busy_timeout`, or a snapshot that could not be upgraded),
    /// PostgreSQL serialization failure or deadlock.
    pub fn is_contention(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        match e.code().as_deref() {
            // SQLite reports extended codes: the primary code is the low byte.
            Some(code) if code.bytes().all(|b| b.is_ascii_digit()) => {
                matches!(code.parse::<u32>().map(|c| c & 0xff), Ok(5 | 6))
            }
            Some("40001" | "40P01") => true,
            _ => e.message().contains("database is locked"),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Regional views already computed, each valid for one journal head: every change to the
    /// store appends to the journal, so a moved head means the view must be computed again.
    region_views: std::sync::Arc<std::sync::Mutex<plan::current::RegionViews>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The URL of the embedded SQLite store inside a data directory.
pub fn sqlite_url_in(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("hygie.sqlite").display()
    )
}

/// Make the data directory private before the store's files are created in it: the directory
/// 0700 and the SQLite file 0600 (SQLite gives its `-wal` and `-shm` files the database file's
/// mode). The store holds AD findings, password-audit results and incidents; other local users
/// must not read them. Existing files with a wider mode are narrowed.
pub fn prepare_data_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let db = dir.join("hygie.sqlite");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&db)?;
        for name in ["hygie.sqlite", "hygie.sqlite-wal", "hygie.sqlite-shm"] {
            let f = dir.join(name);
            if f.exists() {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

impl Store {
    /// Connect and bring the schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        store.ensure_views().await?;
        Ok(store)
    }

    /// Connect without touching the schema: `open` does it, and a restore first migrates an
    /// empty database only up to the schema of its archive (`backup`).
    pub(crate) async fn connect(url: &str) -> Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // Every pooled connection waits up to 10 s for the write lock (the busy handler
                    // also runs for the first write of `journal::begin_write`, which holds no read
                    // snapshot yet) before a write is reported busy and retried. FULL: each commit
                    // is synced (see the module doc).
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| StoreError::Open { url: redact(url), source })?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        Ok(Store {
            pool,
            backend,
            region_views: Default::default(),
        })
    }

    /// Apply every migration this build knows.
    async fn migrate(&self) -> Result<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// This backend's migrations.
    pub(crate) fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// A store made before the precomputed views existed gets them built once.
    async fn ensure_views(&self) -> Result<()> {
        if self.meta("views_built").await?.is_none() {
            self.rebuild_views().await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for feature modules of this crate and for tests that tamper with rows.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Record the catalogue version the store is used with (journalled when it changes).
    pub async fn set_catalog_version(&self, version: &str, actor: &Actor) -> Result<bool> {
        // Every command calls this: the usual case (no change) takes no lock.
        if self.meta("catalog_version").await?.as_deref() == Some(version) {
            return Ok(false);
        }
        self.write(|tx| {
            Box::pin(async move {
                // Read again under the lock: two processes loading the same version journal it once.
                let current: Option<String> =
                    sqlx::query_scalar("SELECT value FROM meta WHERE key = 'catalog_version'")
                        .fetch_optional(&mut **tx)
                        .await?;
                if current.as_deref() == Some(version) {
                    return Ok(false);
                }
                let details = serde_json::json!({ "from": current, "to": version });
                journal::append(tx, actor, "catalog.load", version, &details).await?;
                sqlx::query("DELETE FROM meta WHERE key = 'catalog_version'")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("INSERT INTO meta (key, value) VALUES ('catalog_version', $1)")
                    .bind(version)
                    .execute(&mut **tx)
                    .await?;
                Ok(true)
            })
        })
        .await
    }
}

/// Hide a password in a database URL before it reaches a message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(super::redact("sqlite:///tmp/x"), "sqlite:///tmp/x");
    }
}
