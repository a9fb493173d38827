//! Test support, used only as a dev-dependency.
//!
//! `TestDb::each()` gives one fresh, empty database per backend: a SQLite file in a temporary
//! folder, and a PostgreSQL database created for the test on the server named by
//! `HYGIE_TEST_POSTGRES_URL` (default `postgres://root@127.0.0.1:5432/test`) and dropped after.
//! A missing PostgreSQL fails the test when `CI=true`; elsewhere it prints SKIP for that backend.
//!
//! [`shared`] holds the fixtures more than one crate's tests use (the shared sample data, the
//! Samba DC, known NT hashes, two detection cases, base64); a fixture one crate alone needs stays in
//! that crate's `tests/common`.
//! [`http`] is a blocking HTTP/1.1 client for tests that drive `hygie serve` as a browser would.

pub mod french;
pub mod shared;

pub use shared::{
    NO_LM, SSH_ROOT_RULE, SambaDc, WHOAMI, WHOAMI_RULE, base64_decode, nt_hex, shared_data,
    sysmon_process,
};

pub mod http;
pub mod pdf;

use sqlx::Connection;
use std::path::PathBuf;

/// True when running in CI, where a missing service is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Report a missing service: panic in CI (the test fails), print SKIP elsewhere.
/// Returns so that the caller can `return` from the test.
pub fn missing(service: &str, why: &str) {
    assert!(
        !in_ci(),
        "{service} is required in CI (CI=true) but is not available: {why}"
    );
    eprintln!("SKIP: {service} not available ({why}); run scripts/test.sh to set it up");
}

/// Whether `cmd args` runs and succeeds (a tool is installed), its output discarded.
pub fn have(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn postgres_admin_url() -> String {
    std::env::var("HYGIE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A fresh database for one test.
pub struct TestDb {
    pub url: String,
    pub backend: &'static str,
    /// For SQLite, the data directory holding the file.
    pub data_dir: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("hygie.sqlite");
        TestDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            backend: "sqlite",
            data_dir: Some(dir.path().to_path_buf()),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A new database on the PostgreSQL server, or None (after `missing`) when it is unreachable.
    pub fn postgres() -> Option<TestDb> {
        let admin = postgres_admin_url();
        let name = format!("hy_test_{}", uuid::Uuid::new_v4().simple());
        let created = run_blocking({
            let admin = admin.clone();
            let name = name.clone();
            async move {
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await?;
                c.close().await
            }
        });
        match created {
            Ok(()) => {
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    backend: "postgres",
                    data_dir: None,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
            Err(e) => {
                missing("PostgreSQL", &e.to_string());
                None
            }
        }
    }

    /// One database per available backend: SQLite always, PostgreSQL when reachable.
    pub fn each() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres());
        v
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = postgres_admin_url();
            let _ = run_blocking(async move {
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c)
                    .await?;
                c.close().await
            });
        }
    }
}

/// Run a future to completion on a private runtime in its own thread, so that this works from
/// sync tests and from inside a tokio test alike.
fn run_blocking<F>(f: F) -> Result<(), sqlx::Error>
where
    F: std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'static,
{
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(sqlx::Error::Io)?;
        rt.block_on(f)
    })
    .join()
    .unwrap_or_else(|_| {
        Err(sqlx::Error::Protocol(
            "test database thread panicked".into(),
        ))
    })
}
