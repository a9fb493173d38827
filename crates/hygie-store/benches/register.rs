//! The store's side of the vulnerability benchmark (issue 21): a register of ASSETS assets with
//! SOFTWARE installed software each (2 million rows by default) imported through
//! `import_inventory` (first whole, in one transaction), read back, imported again after one
//! agent's next inventory of one machine (only what changed is written), and
//! CVES NVD records imported through `import_vuln_feed` and read back, on SQLite. Prints each
//! phase's time and the process's peak memory during the phase (VmHWM, reset before each of the
//! register's phases: what the process already holds, the register itself, is included). The matching itself is
//! hygie-vuln's `benches/matching.rs`; figures in BENCHMARKS.md.
//!
//!   cargo bench -p hygie-store --bench register -- [ASSETS [SOFTWARE [CVES]]]
//!   defaults 20000 100 250000; `HYGIE_BENCH_DIR`: where the SQLite file goes.

#[allow(dead_code)]
mod common;

use hygie_inventory::{Observation, Register, Software, SourceKind};
use hygie_store::{Actor, FeedRecords, ImportRecord, Store};
use hygie_vuln::{CpeRange, CveRecord, FeedKind};
use std::time::Instant;

fn peak_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| format!("{} MiB", kb / 1024))
}

/// Start a phase's peak afresh (Linux: `5` to `clear_refs` resets VmHWM to the current RSS), so
/// each phase prints its own peak, what it holds included.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let assets = args.first().copied().unwrap_or(20_000);
    let per = args.get(1).copied().unwrap_or(100);
    let cves = args.get(2).copied().unwrap_or(250_000);
    let tmp = match std::env::var("HYGIE_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d),
        Err(_) => tempfile::tempdir(),
    }
    .expect("temporary folder");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = Store::open(&hygie_store::sqlite_url_in(tmp.path()))
            .await
            .expect("sqlite");
        let actor = Actor("bench".into());
        let f = common::facility("35000001", "CHU bench");
        store
            .add_facility(&f, false, &actor)
            .await
            .expect("facility");

        let now = jiff::Timestamp::now();
        let mut reg = Register::new(Vec::new());
        let mut sightings = Vec::with_capacity(assets);
        for a in 0..assets {
            let software = (0..per)
                .map(|i| Software {
                    name: format!("product{}", (a * 7 + i * 13) % 20_000),
                    version: Some(format!("{}.{}.{}-1+deb12u1", i % 6, a % 20, i % 30)),
                    vendor: Some("Debian".into()),
                })
                .collect();
            sightings.push(reg.absorb(
                SourceKind::FusionInventory,
                Observation {
                    origin: format!("pc-{a:05}.xml"),
                    hostname: Some(format!("pc-{a:05}")),
                    software: Some(software),
                    ..Observation::default()
                },
                now,
            ));
        }
        let register = reg.into_assets();
        reset_peak();
        let t = Instant::now();
        store
            .import_inventory(
                &f.id,
                &register,
                &ImportRecord {
                    source: SourceKind::FusionInventory,
                    files: &["bench.xml".into()],
                    sightings: &sightings,
                    new_assets: assets,
                    scanned: &[],
                },
                None,
                &actor,
            )
            .await
            .expect("import");
        println!(
            "import_inventory: {assets} assets, {} software rows: {:.2} s (peak {})",
            assets * per,
            t.elapsed().as_secs_f64(),
            peak_mib()
        );
        drop(register);
        reset_peak();
        let t = Instant::now();
        let back = store.inventory(&f.id).await.expect("read");
        println!(
            "inventory (read back): {} assets: {:.2} s (peak {})",
            back.len(),
            t.elapsed().as_secs_f64(),
            peak_mib()
        );

        // An agent's next inventory of one machine (one package updated): the register as read
        // back, that observation absorbed, imported again.
        let mut reg = Register::new(back);
        let a = 7usize;
        let software = (0..per)
            .map(|i| Software {
                name: format!("product{}", (a * 7 + i * 13) % 20_000),
                version: Some(if i == 0 {
                    "99.0-1".to_owned()
                } else {
                    format!("{}.{}.{}-1+deb12u1", i % 6, a % 20, i % 30)
                }),
                vendor: Some("Debian".into()),
            })
            .collect();
        let later = now
            .checked_add(jiff::SignedDuration::from_hours(24))
            .expect("date");
        let sighting = reg.absorb(
            SourceKind::FusionInventory,
            Observation {
                origin: format!("pc-{a:05}.xml"),
                seen: Some(later),
                hostname: Some(format!("pc-{a:05}")),
                software: Some(software),
                ..Observation::default()
            },
            later,
        );
        let register = reg.into_assets();
        reset_peak();
        let t = Instant::now();
        store
            .import_inventory(
                &f.id,
                &register,
                &ImportRecord {
                    source: SourceKind::FusionInventory,
                    files: &[format!("pc-{a:05}.xml")],
                    sightings: std::slice::from_ref(&sighting),
                    new_assets: 0,
                    scanned: &[],
                },
                None,
                &actor,
            )
            .await
            .expect("import");
        println!(
            "import_inventory (one agent's next inventory, one asset changed): {:.2} s (peak {})",
            t.elapsed().as_secs_f64(),
            peak_mib()
        );
        drop(register);

        let records: Vec<CveRecord> = (0..cves)
            .map(|i| CveRecord {
                id: format!("CVE-{}-{:06}", 2000 + i % 26, i),
                published: Some("2024-01-01T00:00:00.000".into()),
                last_modified: Some("2024-02-01T00:00:00.000".into()),
                score: Some(7.5),
                matches: (0..1 + i % 3)
                    .map(|j| CpeRange {
                        cpe: hygie_vuln::cpe::Cpe::parse(&format!(
                            "cpe:2.3:a:vendor{}:product{}:*:*:*:*:*:*:*:*",
                            (i + j) % 5_000,
                            (i + j) % 20_000
                        ))
                        .expect("cpe"),
                        start: None,
                        end: Some(hygie_vuln::feed::Bound {
                            version: format!("{}.{}", i % 6, j),
                            inclusive: false,
                        }),
                        conditional: false,
                    })
                    .collect(),
            })
            .collect();
        let t = Instant::now();
        store
            .import_vuln_feed(
                FeedKind::Nvd,
                "2.0",
                None,
                &["bench.json".into()],
                FeedRecords::Nvd(&records),
                &actor,
            )
            .await
            .expect("feed");
        println!(
            "import_vuln_feed: {cves} NVD records: {:.2} s (peak {})",
            t.elapsed().as_secs_f64(),
            peak_mib()
        );
        drop(records);
        let t = Instant::now();
        let back = store.vuln_nvd().await.expect("read");
        println!(
            "vuln_nvd (read back): {} records: {:.2} s (peak {})",
            back.len(),
            t.elapsed().as_secs_f64(),
            peak_mib()
        );
        store.close().await;
    });
}
