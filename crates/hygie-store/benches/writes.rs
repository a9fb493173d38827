//! Store write benchmark (issue 25): what a commit costs through the one write path, as the
//! command line, the web app and `hygie ingest` make them, one after the other on one
//! connection's worth of work (each write is its own transaction, so each pays its sync).
//!
//! - `declare`: single declarations (journal entry, row, current view), the common web/CLI write;
//! - `alerts`: batches of 100 alerts with an ingest checkpoint (`record_alerts_at`);
//! - `checkpoint`: an ingest checkpoint alone (the stream moving without alerts);
//! - `evidence`: 1 MiB evidence files.
//!
//! Prints per kind: writes, wall time, writes/s, p50 and p99 latency of one commit.
//! Environment: `HYGIE_BENCH_BACKENDS=sqlite,postgres` (PostgreSQL at
//! `HYGIE_TEST_POSTGRES_URL`), `HYGIE_BENCH_SCALE` (default 1: 1,000 declarations, 200 alert
//! batches, 500 checkpoints, 50 files), `HYGIE_BENCH_DIR` (where the SQLite file goes; default a
//! temporary folder under the system's).
//!
//! `cargo bench -p hygie-store --bench writes`

mod common;

use hygie_core::{Alert, DeclaredStatus};
use hygie_store::{Actor, IngestCheckpoint, Store};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Latencies of one kind of write, printed as a row.
fn report(backend: &str, kind: &str, mut lat: Vec<Duration>) {
    let total: Duration = lat.iter().sum();
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{backend:<10} {kind:<11} {:>6} writes  {:>7.2} s  {:>8.1} writes/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        lat.len(),
        total.as_secs_f64(),
        lat.len() as f64 / total.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

fn alert(batch: usize, i: usize) -> Alert {
    common::alert(format!("bench-{batch}-{i}"), format!("pc{i}"), i as u64, 3)
}

async fn run(backend: &str, store: Store, scale: usize) {
    let actor = Actor("bench".into());
    let f = common::facility("35000001", "CH Bench");
    store
        .add_facility(&f, false, &actor)
        .await
        .expect("facility");
    let measures = common::measures();

    let mut lat = Vec::new();
    for i in 0..1000 * scale {
        let t = Instant::now();
        let status = if i % 2 == 0 {
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
                None,
                &actor,
            )
            .await
            .expect("declare");
        lat.push(t.elapsed());
    }
    report(backend, "declare", lat);

    let mut lat = Vec::new();
    for b in 0..200 * scale {
        let batch: Vec<Alert> = (0..100).map(|i| alert(b % 20, i)).collect();
        let cp = IngestCheckpoint {
            spool: "bench".into(),
            position: b as u64 * 4096,
            state: Some("{\"newest\":null,\"open\":[]}".into()),
        };
        let t = Instant::now();
        store
            .record_alerts_at(&f.id, &batch, &cp, &actor)
            .await
            .expect("alerts");
        lat.push(t.elapsed());
    }
    report(backend, "alerts×100", lat);

    let mut lat = Vec::new();
    for i in 0..500 * scale {
        let cp = IngestCheckpoint {
            spool: "bench".into(),
            position: 1 << 30 | i as u64,
            state: None,
        };
        let t = Instant::now();
        store
            .record_alerts_at(&f.id, &[], &cp, &actor)
            .await
            .expect("checkpoint");
        lat.push(t.elapsed());
    }
    report(backend, "checkpoint", lat);

    let mut lat = Vec::new();
    for i in 0..50 * scale {
        let mut content = vec![0u8; 1 << 20];
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let t = Instant::now();
        store
            .add_evidence_file(&f.id, &measures[1], "restore.pdf", &content, &actor)
            .await
            .expect("evidence");
        lat.push(t.elapsed());
    }
    report(backend, "evidence", lat);
    assert!(matches!(
        store.verify_journal().await.expect("verify"),
        hygie_store::JournalCheck::Intact { .. }
    ));
}

fn main() {
    let scale: usize = env_or("HYGIE_BENCH_SCALE", "1").parse().unwrap_or(1).max(1);
    let backends = env_or("HYGIE_BENCH_BACKENDS", "sqlite");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for backend in backends.split(',') {
            match backend.trim() {
                "sqlite" => {
                    let tmp = match std::env::var_os("HYGIE_BENCH_DIR") {
                        Some(d) => tempfile::tempdir_in(d),
                        None => tempfile::tempdir(),
                    }
                    .expect("temporary folder");
                    let store = Store::open(&hygie_store::sqlite_url_in(tmp.path()))
                        .await
                        .expect("sqlite");
                    run("sqlite", store, scale).await;
                }
                "postgres" => {
                    let Some(db) = hygie_testkit::TestDb::postgres() else {
                        println!("postgres: skipped (HYGIE_TEST_POSTGRES_URL unset or down)");
                        continue;
                    };
                    let store = Store::open(&db.url).await.expect("postgres");
                    run("postgres", store, scale).await;
                }
                other => println!("{other}: unknown backend"),
            }
        }
    });
}
