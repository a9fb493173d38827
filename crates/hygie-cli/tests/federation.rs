//! Federation (issue 19), offline: a facility's instance and a region's, each with its own
//! store, the package carried as a file. The facility shows its key; the region enrols it;
//! packages exported and imported make the region compute the facility's score exactly as the
//! facility does, incrementally; the same package again changes nothing; and a changed byte, a
//! truncated file, another version, an unknown or revoked key, a key of another facility, a
//! replay and a package out of order are each refused with their reason, exit 2, the region's
//! tables untouched (every table's row count and the journal head, before and after). The
//! region runs on SQLite and, when `HYGIE_TEST_POSTGRES_URL` reaches a server, on PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, Hygie};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn export(f: &Hygie, facility: &str, name: &str) -> PathBuf {
    let path = f.path().join(name);
    let out = f.json(
        &[
            "sync",
            "export",
            "--facility",
            facility,
            "-o",
            path.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(out["facility"], facility);
    path
}

fn import(r: &Hygie, pkg: &Path) -> Value {
    r.json(&["sync", "import", pkg.to_str().unwrap()], 0)
}

/// Import `pkg`, which must be refused with `codes` (one of them), its reason in both
/// languages, exit 2, and the region's tables as they were.
fn refused(r: &Hygie, pkg: &Path, codes: &[&str]) {
    let before = common::store_dump(r);
    let out = common::run(
        r.cmd()
            .args(["sync", "import", pkg.to_str().unwrap(), "--format", "json"]),
        2,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outcome"], "refused");
    let code = v["code"].as_str().unwrap();
    assert!(codes.contains(&code), "{code} not in {codes:?}: {v}");
    assert!(!v["reason"]["en"].as_str().unwrap().is_empty());
    assert!(!v["reason"]["fr"].as_str().unwrap().is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("paquet refusé"), "{stderr}");
    assert_eq!(
        common::store_dump(r),
        before,
        "a refused package ({code}) changed the region"
    );
}

fn unpack(pkg: &Path) -> Value {
    let mut text = Vec::new();
    GzDecoder::new(std::fs::read(pkg).unwrap().as_slice())
        .read_to_end(&mut text)
        .unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn repack(v: &Value, to: &Path) -> PathBuf {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&serde_json::to_vec(v).unwrap()).unwrap();
    std::fs::write(to, gz.finish().unwrap()).unwrap();
    to.to_path_buf()
}

/// The region's row of `facility` in `region status DEMO`.
fn region_row(r: &Hygie, facility: &str, day: &str) -> Value {
    let v = r.json(&["region", "status", "DEMO", "--as-of", day], 0);
    v["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == facility)
        .cloned()
        .unwrap_or_else(|| panic!("{facility} not in the region's status: {v}"))
}

fn federation_with(region: Hygie) {
    let day = common::today();
    let facility = Hygie::sqlite();
    facility.run(&["demo"], 0);

    // The facility's identity: created once, 0600, never printed.
    let id = facility.json(&["identity", "show"], 0);
    let key = id["public_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64);
    assert_eq!(id["fingerprint"].as_str().unwrap().len(), 19);
    assert_eq!(facility.json(&["identity", "show"], 0)["public_key"], key);
    let key_file = facility.data().join("identity.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        !facility
            .stdout(&["identity", "show"], 0)
            .contains(secret.trim())
    );

    region.json(&["region", "enrol", "--finess", FINESS, "--key", &key], 0);
    // A second enrolment of the facility is refused: revoke first.
    region.run(&["region", "enrol", "--finess", FINESS, "--key", &key], 4);

    let p1 = export(&facility, FINESS, "p1.hygie");
    let done = import(&region, &p1);
    assert_eq!(done["outcome"], "imported", "{done}");
    assert!(done["new_declarations"].as_u64().unwrap() > 10, "{done}");
    assert!(done["new_check_runs"].as_u64().unwrap() >= 1, "{done}");

    // The region computes the same status, with the same plan code, as the facility.
    let own = common::measure_statuses(&facility, FINESS, &day);
    assert_eq!(common::measure_statuses(&region, FINESS, &day), own);
    let row = region_row(&region, FINESS, &day);
    assert_eq!(row["score"].as_f64().unwrap(), own.0);
    assert!(
        row["last_report"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );

    // The same package again: an idempotent success that changes nothing.
    let before = common::store_dump(&region);
    assert_eq!(import(&region, &p1)["outcome"], "already_imported");
    assert_eq!(common::store_dump(&region), before);

    // Incremental: one declaration changes, the next package brings it and only it.
    let (measure, _) = own
        .1
        .iter()
        .find(|(_, s)| s == "implemented")
        .cloned()
        .unwrap();
    facility.run(
        &[
            "assess",
            "set",
            FINESS,
            &measure,
            "--status",
            "not_started",
            "--owner",
            "RSSI",
        ],
        0,
    );
    let p2 = export(&facility, FINESS, "p2.hygie");
    let done = import(&region, &p2);
    assert_eq!(done["new_declarations"], 1, "{done}");
    assert_eq!(done["new_check_runs"], 0, "{done}");
    let own2 = common::measure_statuses(&facility, FINESS, &day);
    assert!(own2.0 < own.0, "the score fell: {} -> {}", own.0, own2.0);
    assert_eq!(common::measure_statuses(&region, FINESS, &day), own2);
    assert_eq!(
        region_row(&region, FINESS, &day)["score"].as_f64().unwrap(),
        own2.0
    );

    // Bad input, each refused as a whole.
    let bytes = std::fs::read(&p2).unwrap();
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    let one_byte = facility.path().join("one-byte.hygie");
    std::fs::write(&one_byte, &flipped).unwrap();
    refused(
        &region,
        &one_byte,
        &["unreadable", "malformed", "bad_signature"],
    );

    let mut v = unpack(&p2);
    v["package"]["facts"]["declarations"][0]["status"] = "implemented".into();
    v["package"]["facts"]["declarations"][0]["justification"] = Value::Null;
    v["package"]["sequence"] = 3.into();
    let forged = repack(&v, &facility.path().join("forged.hygie"));
    refused(&region, &forged, &["bad_signature"]);

    let truncated = facility.path().join("truncated.hygie");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    refused(&region, &truncated, &["unreadable"]);

    let mut v = unpack(&p2);
    v["version"] = 2.into();
    refused(
        &region,
        &repack(&v, &facility.path().join("v2.hygie")),
        &["unknown_version"],
    );

    refused(&region, &p1, &["replay"]);

    let p3 = export(&facility, FINESS, "p3.hygie");
    let p4 = export(&facility, FINESS, "p4.hygie");
    refused(&region, &p4, &["out_of_order"]);

    // The same instance's key, for another facility it did not enrol.
    let other = common::finess("35000002");
    let p_other = export(&facility, &other, "other.hygie");
    refused(&region, &p_other, &["other_facility"]);

    // Another instance's key, never enrolled.
    let stranger = Hygie::sqlite();
    stranger.run(&["demo"], 0);
    refused(
        &region,
        &export(&stranger, FINESS, "stranger.hygie"),
        &["unknown_key"],
    );

    // In order again, p3 then p4 are accepted; after revocation, nothing is.
    assert_eq!(import(&region, &p3)["outcome"], "imported");
    region.run(&["region", "revoke", "--finess", FINESS], 0);
    refused(&region, &p4, &["revoked_key"]);
    let keys = region.json(&["region", "keys"], 0);
    assert!(keys[0]["revoked_at"].is_string(), "{keys}");

    // The region's journal holds every import and stays intact.
    let verify = region.json(&["journal", "verify"], 0);
    assert_eq!(verify["intact"], true, "{verify}");
}

#[test]
fn a_facility_reports_to_a_sqlite_region() {
    federation_with(Hygie::sqlite());
}

#[test]
fn a_facility_reports_to_a_postgresql_region() {
    if let Some(region) = Hygie::postgres() {
        federation_with(region);
    }
}

#[test]
fn an_exported_package_follows_the_documented_schema() {
    let facility = Hygie::sqlite();
    facility.run(&["demo"], 0);
    facility.run(
        &[
            "incident",
            "open",
            "--facility",
            FINESS,
            "--title",
            "Rançongiciel",
            "--awareness",
            "2026-05-04T09:00",
            "--category",
            "ransomware",
        ],
        0,
    );
    let pdf = facility.file("restore-test.pdf", "%PDF-1.7 restore test");
    facility.run(
        &[
            "assess",
            "evidence",
            FINESS,
            "BCK-06",
            "--file",
            pdf.to_str().unwrap(),
        ],
        0,
    );
    let p = export(&facility, FINESS, "p1.hygie");
    let v = unpack(&p);
    let schema_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sync-package.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_file).unwrap()).unwrap();
    common::conforms(&schema, &schema, &v, "$").unwrap();
    let facts = &v["package"]["facts"];
    assert!(!facts["evidence"].as_array().unwrap().is_empty());
    assert!(!facts["obligations"].as_array().unwrap().is_empty());
    assert!(!facts["check_runs"].as_array().unwrap().is_empty());
    // Evidence metadata, never content; object counts, never names; no person.
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&v).unwrap()).contains("restore test"));
    // The check must be able to fail: a field the schema does not know is caught.
    let mut extra = v.clone();
    extra["package"]["facts"]["secret"] = "x".into();
    assert!(common::conforms(&schema, &schema, &extra, "$").is_err());
}
