//! The asset register: an import replaces the register, appends its sightings and its check run
//! in one journalled transaction, and reads back equal on both backends.

use super::{added_hospital, on_each_backend};
use hygie_core::{CheckRun, Facility, FacilityKind};
use hygie_inventory::{Observation, OperatingSystem, Port, Register, Software, SourceKind};
use hygie_store::{Actor, ImportRecord, JournalCheck};

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("instant")
}

fn agent(name: &str, mac: &str, packages: usize) -> Observation {
    Observation {
        origin: format!("{name}.xml"),
        seen: Some(ts("2026-11-20T08:00:00Z")),
        hostname: Some(name.into()),
        macs: vec![mac.into()],
        serial: Some("CZ1".into()),
        ips: vec!["10.0.0.5".into()],
        os: Some(OperatingSystem {
            name: "Debian GNU/Linux 12 (bookworm)".into(),
            version: Some("12.11".into()),
        }),
        software: Some(
            (0..packages)
                .map(|i| Software {
                    name: format!("pkg-{i:04}"),
                    version: (i % 7 != 0).then(|| format!("1.{i}")),
                    vendor: Some("Debian".into()),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

#[test]
fn an_import_round_trips_with_its_sightings_and_run() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let f: Facility = added_hospital(&store).await;
        let now = ts("2026-12-01T10:00:00Z");
        let mut r = Register::new(store.inventory(&f.id).await.expect("read"));
        // More software than one INSERT batch holds.
        let s1 = r.absorb(
            SourceKind::FusionInventory,
            agent("PC-01", "02:00:00:00:00:01", 950),
            now,
        );
        let run = CheckRun::of("run-1".into(), "inventory", now, &[]);
        let assets = r.into_assets();
        store
            .import_inventory(
                &f.id,
                &assets,
                &ImportRecord {
                    source: SourceKind::FusionInventory,
                    files: &["pc-01.xml".into()],
                    sightings: std::slice::from_ref(&s1),
                    new_assets: 1,
                    scanned: &[],
                },
                Some((&run, &serde_json::json!({"assets": 1}))),
                &actor,
            )
            .await
            .expect("import");
        let back = store.inventory(&f.id).await.expect("read");
        assert_eq!(back, assets);

        // A scan of the same card: merged, ports kept, two sightings.
        let mut r = Register::new(back);
        let s2 = r.absorb(
            SourceKind::Nmap,
            Observation {
                origin: "scan.xml:3".into(),
                macs: vec!["02:00:00:00:00:01".into()],
                ports: vec![Port {
                    protocol: "tcp".into(),
                    port: 22,
                    service: Some("ssh".into()),
                }],
                hostname: Some("other-name".into()),
                ..Default::default()
            },
            now,
        );
        assert_eq!(s2.conflicts.len(), 1);
        let assets = r.into_assets();
        store
            .import_inventory(
                &f.id,
                &assets,
                &ImportRecord {
                    source: SourceKind::Nmap,
                    files: &["scan.xml".into()],
                    sightings: std::slice::from_ref(&s2),
                    new_assets: 0,
                    scanned: &["10.0.0.0/24".into(), "10.9.0.7".into()],
                },
                None,
                &actor,
            )
            .await
            .expect("import");
        let back = store.inventory(&f.id).await.expect("read");
        assert_eq!(back, assets);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].software[&SourceKind::FusionInventory].len(), 950);
        assert_eq!(back[0].ports.len(), 1);
        let seen = store
            .inventory_sightings(&f.id, 1)
            .await
            .expect("sightings");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].sighting, s2);
        assert_eq!(
            store.inventory_imports(&f.id).await.expect("imports").len(),
            2
        );
        // The scan's ranges, kept for the IS map.
        assert_eq!(
            store.scan_ranges(&f.id).await.expect("ranges"),
            ["10.0.0.0/24", "10.9.0.7"]
        );
        assert_eq!(
            store
                .check_runs(&f.id, Some("inventory"))
                .await
                .expect("runs")
                .len(),
            1
        );
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));

        // Another facility's register is its own.
        let other = super::facility("75000002", "IDF", FacilityKind::Hospital);
        store
            .add_facility(&other, false, &actor)
            .await
            .expect("add");
        assert!(store.inventory(&other.id).await.expect("read").is_empty());
    });
}
