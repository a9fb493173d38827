//! Federation benchmark (issue 19): the size of a year's package and the region's import of 300.
//!
//! A facility with the full bundled catalogue and a year of history: four declarations of every
//! measure (quarterly: not started, in progress twice, implemented; owner and a note), ten check
//! runs of 70 rules each with failed objects, 20 evidence files of 1 KiB. Its package is made as
//! `hygie sync export` makes it (`sync_snapshot`, `hygie_sync::seal`); printed: the file's size
//! and its JSON's, and the time to make it. Then 300 such packages (one per FINESS, one signing
//! key enrolled for each) are opened, checked and imported into one region store, as `hygie sync
//! import` does, timed one by one; then one declaration more at one facility, its next package
//! exported and imported (the incremental report, offline).
//!
//! Environment: `HYGIE_BENCH_BACKENDS=sqlite,postgres` (PostgreSQL at `HYGIE_TEST_POSTGRES_URL`),
//! `HYGIE_BENCH_FACILITIES` (default 300), `HYGIE_BENCH_DIR` (SQLite files; default a temporary
//! folder).
//!
//! `cargo bench -p hygie-store --bench federation`

// Shared with the other store benches; this one uses only the facility.
#[allow(dead_code)]
mod common;

use hygie_core::{CheckRun, DeclaredStatus, Finess, MeasureId, RuleOutcome, RuleResult, Severity};
use hygie_store::{Actor, Store};
use hygie_sync::{Identity, Package};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn open_store(backend: &str, dir: &std::path::Path, name: &str) -> Store {
    match backend {
        "sqlite" => Store::open(&format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.sqlite")).display()
        ))
        .await
        .expect("sqlite"),
        _ => {
            let admin = env_or(
                "HYGIE_TEST_POSTGRES_URL",
                "postgres://root@127.0.0.1:5432/test",
            );
            let db = format!("hy_bench_{name}_{}", std::process::id());
            // A plain connection to the maintenance database: never a `Store`, which would run
            // Hygie's migrations in it.
            sqlx::any::install_default_drivers();
            let admin_pool = sqlx::AnyPool::connect(&admin).await.expect("postgres");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
                .execute(&admin_pool)
                .await
                .expect("drop");
            sqlx::query(&format!("CREATE DATABASE {db}"))
                .execute(&admin_pool)
                .await
                .expect("create");
            admin_pool.close().await;
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin);
            Store::open(&format!("{base}/{db}"))
                .await
                .expect("postgres db")
        }
    }
}

/// The facility's year: every measure declared four times, ten runs, twenty files.
async fn a_year(store: &Store, f: &hygie_core::Facility) {
    let actor = Actor("bench".into());
    let catalog = hygie_catalog::bundled().expect("catalogue");
    let measures: Vec<MeasureId> = catalog.measures.iter().map(|m| m.id.clone()).collect();
    let start: jiff::Timestamp = "2025-06-01T08:00:00Z".parse().expect("time");
    let statuses = [
        DeclaredStatus::NotStarted,
        DeclaredStatus::InProgress,
        DeclaredStatus::InProgress,
        DeclaredStatus::Implemented,
    ];
    for (q, status) in statuses.iter().enumerate() {
        for (i, m) in measures.iter().enumerate() {
            let at = start + jiff::SignedDuration::from_hours(24 * (91 * q as i64) + i as i64);
            store
                .declare_at(
                    &f.id,
                    m,
                    status,
                    Some("RSSI"),
                    Some("revue trimestrielle du plan"),
                    &actor,
                    at,
                )
                .await
                .expect("declare");
        }
    }
    for r in 0..10 {
        let run = CheckRun {
            id: format!("run-{r:02}"),
            source: if r % 2 == 0 { "ad" } else { "backups" }.into(),
            at: start + jiff::SignedDuration::from_hours(24 * 36 * r),
            results: (0..70)
                .map(|k| RuleResult {
                    rule: format!("AD-RULE-{k:02}"),
                    severity: Severity::High,
                    outcome: if k % 5 == 0 {
                        RuleOutcome::Fail
                    } else {
                        RuleOutcome::Pass
                    },
                    measures: vec![measures[k % measures.len()].clone()],
                    objects: if k % 5 == 0 {
                        (0..8).map(|o| format!("account{o}")).collect()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        };
        store
            .record_check_run(&f.id, &run, &serde_json::json!({}), &actor)
            .await
            .expect("run");
    }
    for e in 0..20 {
        let content = format!("{e:04}").repeat(256);
        store
            .add_evidence_file(
                &f.id,
                &measures[e % measures.len()],
                &format!("preuve-{e}.pdf"),
                content.as_bytes(),
                &actor,
            )
            .await
            .expect("evidence");
    }
}

async fn package(store: &Store, f: &Finess, id: &Identity) -> (Package, hygie_sync::Sealed) {
    let now = jiff::Timestamp::now();
    let snap = store.sync_snapshot(f, now).await.expect("snapshot");
    let p = Package {
        finess: f.to_string(),
        sequence: snap.last_export.as_ref().map_or(1, |l| l.sequence + 1),
        previous_hash: snap.last_export.map(|l| l.hash),
        journal_head: snap.journal_head,
        created_at: now.to_string(),
        catalog_version: "bench".into(),
        rotation: None,
        facts: snap.facts,
    };
    let sealed = hygie_sync::seal(&p, id).expect("seal");
    (p, sealed)
}

/// One import: its whole time, and the part spent opening and checking the package (gunzip,
/// signature, JSON, content checks) before the store's transaction.
async fn import(region: &Store, bytes: &[u8]) -> (Duration, Duration) {
    let t = Instant::now();
    let opened = hygie_sync::open(bytes).expect("open");
    let checked = opened.package.check("sync:bench").expect("check");
    let read = t.elapsed();
    let r = region
        .import_package(&opened, &checked, bytes.len() as u64)
        .await
        .expect("import");
    assert_eq!(r.outcome, "imported");
    (t.elapsed(), read)
}

async fn run(backend: &str, dir: &std::path::Path, count: usize) {
    let actor = Actor("bench".into());
    let id = Identity::from_seed(&[42; 32]);
    let facility_store = open_store(backend, dir, "facility").await;
    let f = common::facility("35000001", "CH Bench");
    facility_store
        .add_facility(&f, false, &actor)
        .await
        .expect("facility");
    a_year(&facility_store, &f).await;
    let t = Instant::now();
    let (p, sealed) = package(&facility_store, &f.id, &id).await;
    let bytes = sealed.bytes.clone();
    let made = t.elapsed();
    let json = serde_json::to_vec(&p).expect("json").len();
    println!(
        "{backend:<9} package: {} declarations, {} runs, {} evidence; file {} bytes ({:.1} KB), JSON {} bytes; made in {:.1} ms",
        p.facts.declarations.len(),
        p.facts.check_runs.len(),
        p.facts.evidence.len(),
        bytes.len(),
        bytes.len() as f64 / 1000.0,
        json,
        made.as_secs_f64() * 1e3
    );
    facility_store
        .record_export(
            &f.id,
            1,
            &sealed,
            &p.facts.digest().expect("digest"),
            &actor,
        )
        .await
        .expect("export");

    // 300 facilities' packages: the same year under each FINESS (made before the clock runs).
    let region = open_store(backend, dir, "region").await;
    let mut packages = Vec::with_capacity(count);
    for i in 0..count {
        let finess = Finess::with_check_digit(&format!("35{:06}", 100 + i)).expect("finess");
        let mut q = p.clone();
        q.finess = finess.to_string();
        q.facts.facility.finess = finess.to_string();
        for r in &mut q.facts.check_runs {
            r.id = format!("{}-{}", r.id, finess);
        }
        packages.push(hygie_sync::seal(&q, &id).expect("seal").bytes);
        region
            .enrol_key(&finess, &id.public_key(), &actor)
            .await
            .expect("enrol");
    }
    let t = Instant::now();
    let mut lat = Vec::with_capacity(count);
    let mut reading = Duration::ZERO;
    for b in &packages {
        let (whole, read) = import(&region, b).await;
        lat.push(whole);
        reading += read;
    }
    let total = t.elapsed();
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{backend:<9} import of {count} packages: {:.2} s (opening and checking {:.2} s); one package p50 {:.1} ms, p99 {:.1} ms",
        total.as_secs_f64(),
        reading.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );

    // Incremental: the real facility reports, then changes one declaration and reports again.
    region
        .enrol_key(&f.id, &id.public_key(), &actor)
        .await
        .expect("enrol");
    import(&region, &bytes).await;
    facility_store
        .declare(
            &f.id,
            &MeasureId::parse("BCK-06").expect("measure"),
            &DeclaredStatus::InProgress,
            Some("RSSI"),
            None,
            &actor,
        )
        .await
        .expect("declare");
    let t = Instant::now();
    let (p2, sealed2) = package(&facility_store, &f.id, &id).await;
    let bytes2 = sealed2.bytes.clone();
    facility_store
        .record_export(
            &f.id,
            2,
            &sealed2,
            &p2.facts.digest().expect("digest"),
            &actor,
        )
        .await
        .expect("export");
    let exported = t.elapsed();
    let (imported, _) = import(&region, &bytes2).await;
    println!(
        "{backend:<9} one declaration more: export {:.1} ms, import {:.1} ms",
        exported.as_secs_f64() * 1e3,
        imported.as_secs_f64() * 1e3
    );
    facility_store.close().await;
    region.close().await;
    if backend != "sqlite" {
        drop_databases(&["facility", "region"]).await;
    }
}

/// Drop the run's PostgreSQL databases (the SQLite files go with the temporary folder); `FORCE`:
/// a pool's last connection may still be closing.
async fn drop_databases(names: &[&str]) {
    let admin = env_or(
        "HYGIE_TEST_POSTGRES_URL",
        "postgres://root@127.0.0.1:5432/test",
    );
    let admin_pool = sqlx::AnyPool::connect(&admin).await.expect("postgres");
    for name in names {
        let db = format!("hy_bench_{name}_{}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&admin_pool)
            .await
            .expect("drop");
    }
    admin_pool.close().await;
}

fn main() {
    let count: usize = env_or("HYGIE_BENCH_FACILITIES", "300")
        .parse()
        .expect("count");
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = std::env::var_os("HYGIE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for backend in env_or("HYGIE_BENCH_BACKENDS", "sqlite").split(',') {
        let d = dir.join(backend);
        std::fs::create_dir_all(&d).expect("dir");
        rt.block_on(run(backend, &d, count));
    }
}
