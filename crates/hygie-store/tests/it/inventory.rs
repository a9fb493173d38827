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

/// Agent PC-0`i`, with its own MAC and serial number and 300 packages.
fn pc(i: u8) -> Observation {
    let mut o = agent(&format!("PC-0{i}"), &format!("02:00:00:00:00:0{i}"), 300);
    o.serial = Some(format!("CZ-{i}"));
    o
}

/// The written details of the latest `inventory.import` journal entry.
async fn written(store: &hygie_store::Store, f: &hygie_core::Finess) -> serde_json::Value {
    let e = store
        .journal_entries(Some(f.as_str()), None)
        .await
        .expect("journal");
    let last = e
        .iter()
        .rev()
        .find(|e| e.action == "inventory.import")
        .expect("an import entry");
    serde_json::from_str::<serde_json::Value>(&last.details).expect("details")["written"].clone()
}

async fn import(
    store: &hygie_store::Store,
    f: &hygie_core::Finess,
    assets: &[hygie_inventory::Asset],
    sightings: &[hygie_inventory::Sighting],
) {
    store
        .import_inventory(
            f,
            assets,
            &ImportRecord {
                source: SourceKind::FusionInventory,
                files: &["agents".into()],
                sightings,
                new_assets: 0,
                scanned: &[],
            },
            None,
            &Actor("test".into()),
        )
        .await
        .expect("import");
}

/// An agent's import touches one asset: only its row and its software are rewritten, the others'
/// stay as stored; an asset gone from the register is deleted with its software; what is read
/// back is the register imported, each time, on both backends.
#[test]
fn an_import_writes_only_what_changed() {
    on_each_backend(|store| async move {
        let f: Facility = added_hospital(&store).await;
        let now = ts("2026-12-01T10:00:00Z");
        let mut r = Register::new(Vec::new());
        let mut sightings = Vec::new();
        for i in 0..3u8 {
            sightings.push(r.absorb(SourceKind::FusionInventory, pc(i), now));
        }
        let assets = r.into_assets();
        import(&store, &f.id, &assets, &sightings).await;
        assert_eq!(
            written(&store, &f.id).await,
            serde_json::json!({"assets": 3, "software_of": 3, "software": 900, "removed": 0})
        );
        assert_eq!(store.inventory(&f.id).await.expect("read"), assets);

        // The same register again: nothing to write.
        import(&store, &f.id, &assets, &[]).await;
        assert_eq!(
            written(&store, &f.id).await,
            serde_json::json!({"assets": 0, "software_of": 0, "software": 0, "removed": 0})
        );

        // PC-01's agent reports one package updated, a day later.
        let mut r = Register::new(store.inventory(&f.id).await.expect("read"));
        let mut o = pc(1);
        o.seen = Some(ts("2026-11-21T08:00:00Z"));
        if let Some(list) = o.software.as_mut() {
            list[5].version = Some("9.9".into());
        }
        let s = r.absorb(SourceKind::FusionInventory, o, now);
        let assets = r.into_assets();
        import(&store, &f.id, &assets, std::slice::from_ref(&s)).await;
        assert_eq!(
            written(&store, &f.id).await,
            serde_json::json!({"assets": 1, "software_of": 1, "software": 300, "removed": 0})
        );
        let back = store.inventory(&f.id).await.expect("read");
        assert_eq!(back, assets);
        let pc1 = back
            .iter()
            .find(|a| a.hostname.as_deref() == Some("PC-01"))
            .expect("PC-01");
        assert_eq!(
            pc1.software[&SourceKind::FusionInventory][5]
                .version
                .as_deref(),
            Some("9.9")
        );

        // Seen again with the same software (a new date only): its row, not its software.
        let mut r = Register::new(back);
        let mut o = pc(2);
        o.seen = Some(ts("2026-11-22T08:00:00Z"));
        let s = r.absorb(SourceKind::FusionInventory, o, now);
        let mut assets = r.into_assets();
        import(&store, &f.id, &assets, std::slice::from_ref(&s)).await;
        assert_eq!(
            written(&store, &f.id).await,
            serde_json::json!({"assets": 1, "software_of": 0, "software": 0, "removed": 0})
        );
        assert_eq!(store.inventory(&f.id).await.expect("read"), assets);

        // PC-00 leaves the register (a merge undone by hand, a decommissioned device): deleted,
        // its software with it; a directory flag round-trips.
        assets.retain(|a| a.hostname.as_deref() != Some("PC-00"));
        assets[0].domain_controller = true;
        import(&store, &f.id, &assets, &[]).await;
        assert_eq!(
            written(&store, &f.id).await,
            serde_json::json!({"assets": 1, "software_of": 0, "software": 0, "removed": 1})
        );
        let back = store.inventory(&f.id).await.expect("read");
        assert_eq!(back, assets);
        assert!(back[0].domain_controller);
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}
