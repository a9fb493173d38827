//! Backup and restore benchmark (issue 25): what `hygie backup` and `hygie restore` cost on
//! stores of three shapes, each seeded through the one write path:
//!
//! - `plan`: one facility, 2,000 declarations over four measures (journal-heavy, small rows);
//! - `evidence`: the same plus `HYGIE_BENCH_FILES` evidence files (default 20) of 4 MiB each,
//!   different contents so that nothing is shared;
//! - `alerts`: `HYGIE_BENCH_ALERTS` alerts (default 100,000) in batches of 1,000.
//!
//! For each: the archive's size, the time of the online snapshot to a file (`write_backup`: a
//! read transaction, JSON lines, SHA-256), of an encrypted one (XChaCha20-Poly1305), of
//! `verify` (read to the end, journal chain and evidence hashes), and of `restore` into an empty
//! store of the same backend (import, migrations, journal and evidence re-verified). Each step
//! runs `HYGIE_BENCH_RUNS` times (default 3) and prints its fastest and slowest.
//!
//! Environment: `HYGIE_BENCH_SHAPES=plan,evidence,alerts` (the default: all three),
//! `HYGIE_BENCH_BACKENDS=sqlite,postgres` (PostgreSQL at
//! `HYGIE_TEST_POSTGRES_URL`), `HYGIE_BENCH_DIR` (where the stores and archives go; default a
//! temporary folder under the system's).
//!
//! `cargo bench -p hygie-store --bench backup`

mod common;

use hygie_core::{Alert, DeclaredStatus};
use hygie_store::backup::{BackupKey, Checked, VerifyReport, write_backup};
use hygie_store::{Actor, JournalCheck, Store};
use std::path::Path;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn alert(i: usize) -> Alert {
    common::alert(format!("bench-{i}"), format!("pc{}", i % 500), i as u64, 1)
}

/// Seed `store` as the shape `shape` says (see the module doc).
async fn seed(store: &Store, shape: &str, files: usize, alerts: usize) {
    let actor = Actor("bench".into());
    let f = common::facility("35000002", "CH Sauvegarde");
    store
        .add_facility(&f, false, &actor)
        .await
        .expect("facility");
    let measures = common::measures();
    if shape != "alerts" {
        for i in 0..2000 {
            let status = if i % 3 == 0 {
                DeclaredStatus::Implemented
            } else {
                DeclaredStatus::InProgress
            };
            store
                .declare(
                    &f.id,
                    &measures[i % measures.len()],
                    &status,
                    Some("RSSI"),
                    Some("revue trimestrielle"),
                    &actor,
                )
                .await
                .expect("declare");
        }
    }
    if shape == "evidence" {
        for i in 0..files {
            // Distinct pseudo-random contents (no compression or sharing flatters the figure).
            let mut content = vec![0u8; 4 << 20];
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
            for chunk in content.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
            }
            store
                .add_evidence_file(
                    &f.id,
                    &measures[1],
                    &format!("restore-test-{i}.pdf"),
                    &content,
                    &actor,
                )
                .await
                .expect("evidence");
        }
    }
    if shape == "alerts" {
        for start in (0..alerts).step_by(1000) {
            let batch: Vec<Alert> = (start..(start + 1000).min(alerts)).map(alert).collect();
            store
                .record_alerts(&f.id, &batch, &actor)
                .await
                .expect("alerts");
        }
    }
}

struct Timings {
    runs: Vec<Duration>,
}

impl Timings {
    fn span(&self) -> String {
        let min = self.runs.iter().min().copied().unwrap_or_default();
        let max = self.runs.iter().max().copied().unwrap_or_default();
        format!("{:.2}–{:.2} s", min.as_secs_f64(), max.as_secs_f64())
    }
}

/// A fresh, empty store of the backend: its URL and what keeps it alive.
enum Fresh {
    Sqlite(tempfile::TempDir),
    Postgres(hygie_testkit::TestDb),
}

impl Fresh {
    fn new(backend: &str, dir: &Path) -> Option<Fresh> {
        match backend {
            "sqlite" => Some(Fresh::Sqlite(
                tempfile::tempdir_in(dir).expect("temporary folder"),
            )),
            _ => hygie_testkit::TestDb::postgres().map(Fresh::Postgres),
        }
    }
    fn url(&self) -> String {
        match self {
            Fresh::Sqlite(d) => hygie_store::sqlite_url_in(d.path()),
            Fresh::Postgres(db) => db.url.clone(),
        }
    }
}

async fn run(backend: &str, dir: &Path, shape: &str, runs: usize, files: usize, alerts: usize) {
    let Some(source) = Fresh::new(backend, dir) else {
        println!("{backend}: skipped (HYGIE_TEST_POSTGRES_URL unset or down)");
        return;
    };
    let store = Store::open(&source.url()).await.expect("open");
    let t = Instant::now();
    seed(&store, shape, files, alerts).await;
    let seeded = t.elapsed();
    let key_dir = tempfile::tempdir_in(dir).expect("key folder");
    let key = BackupKey::create(&key_dir.path().join("backup.key")).expect("key");

    let archives = tempfile::tempdir_in(dir).expect("archive folder");
    let (mut plain, mut sealed, mut verify, mut restore) = (
        Timings { runs: vec![] },
        Timings { runs: vec![] },
        Timings { runs: vec![] },
        Timings { runs: vec![] },
    );
    let mut bytes = (0, 0);
    for r in 0..runs {
        let path = archives.path().join(format!("plain-{r}.hyb"));
        let t = Instant::now();
        let s = write_backup(&store, &path, None).await.expect("backup");
        plain.runs.push(t.elapsed());
        bytes.0 = s.bytes;

        let spath = archives.path().join(format!("sealed-{r}.hyb"));
        let t = Instant::now();
        let s = write_backup(&store, &spath, Some(&key))
            .await
            .expect("encrypted backup");
        sealed.runs.push(t.elapsed());
        bytes.1 = s.bytes;

        let t = Instant::now();
        let report: VerifyReport = Checked::verify(&path, None).expect("verify");
        verify.runs.push(t.elapsed());
        assert!(matches!(report.journal, JournalCheck::Intact { .. }));

        let target = Fresh::new(backend, dir).expect("target store");
        let t = Instant::now();
        let restored = Checked::check(&spath, Some(&key))
            .expect("check")
            .restore(&target.url(), &Actor("bench".into()))
            .await
            .expect("restore");
        restore.runs.push(t.elapsed());
        assert!(matches!(restored.journal, JournalCheck::Intact { .. }));
        std::fs::remove_file(&path).ok();
        std::fs::remove_file(&spath).ok();
    }
    println!(
        "{backend:<9} {shape:<9} seeded in {:>6.1} s  archive {:>7.1} MB (encrypted {:>7.1} MB)  backup {}  encrypted {}  verify {}  restore (encrypted) {}",
        seeded.as_secs_f64(),
        bytes.0 as f64 / 1e6,
        bytes.1 as f64 / 1e6,
        plain.span(),
        sealed.span(),
        verify.span(),
        restore.span(),
    );
    store.close().await;
}

fn main() {
    let runs = env_num("HYGIE_BENCH_RUNS", 3).max(1);
    let files = env_num("HYGIE_BENCH_FILES", 20);
    let alerts = env_num("HYGIE_BENCH_ALERTS", 100_000);
    let backends = std::env::var("HYGIE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    let shapes =
        std::env::var("HYGIE_BENCH_SHAPES").unwrap_or_else(|_| "plan,evidence,alerts".into());
    let base = match std::env::var_os("HYGIE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("temporary folder");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for backend in backends.split(',').map(str::trim) {
            if backend != "sqlite" && backend != "postgres" {
                println!("{backend}: unknown backend");
                continue;
            }
            for shape in shapes.split(',').map(str::trim) {
                if !["plan", "evidence", "alerts"].contains(&shape) {
                    println!("{shape}: unknown shape");
                    continue;
                }
                run(backend, base.path(), shape, runs, files, alerts).await;
            }
        }
    });
}
