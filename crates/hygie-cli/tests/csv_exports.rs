//! CSV exports go through the one writer, which neutralises spreadsheet formulas in text
//! taken from logs or declarations.

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_testkit::{WHOAMI, WHOAMI_RULE, sysmon_process};

const HOST: &str = "=cmd|' /C calc'!A0";

/// The CSV rows of `text`.
fn rows(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv row"))
        .collect()
}

#[test]
fn a_formula_host_name_from_a_log_is_neutralised_in_the_alerts_csv() {
    let h = Hygie::sqlite();
    let rules = h.file("r.yml", WHOAMI_RULE);
    let logs = h.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let mut event = sysmon_process(HOST, WHOAMI);
    event["EventRecordID"] = 7.into();
    event["TimeCreated"] = "2025-01-01T00:00:00Z".into();
    std::fs::write(logs.join("a.jsonl"), format!("{event}\n")).expect("write");
    h.add(&HOSPITAL);
    let (rules, logs) = (rules.to_str().expect("utf8"), logs.to_str().expect("utf8"));
    for args in [
        &[
            "detect",
            "--rules",
            rules,
            "--logs",
            logs,
            "--facility",
            FINESS,
        ][..],
        &["alerts", "list", "--facility", FINESS],
    ] {
        let csv = h.stdout(&[args, &["--format", "csv"]].concat(), 0);
        let rows = rows(&csv);
        assert_eq!(rows.len(), 1, "{csv}");
        assert_eq!(&rows[0][2], format!("'{HOST}"), "{args:?}: {csv}");
        assert_eq!(&rows[0][5], "1", "the count stays a number");
        assert!(
            rows[0].iter().all(|c| !c.starts_with(['=', '+', '@'])),
            "{csv}"
        );
    }
}

#[test]
fn a_formula_facility_name_is_neutralised_in_the_region_csv() {
    let h = Hygie::sqlite();
    h.add(&common::Facility {
        name: "=HYPERLINK(\"http://x\")",
        ..HOSPITAL
    });
    let csv = h.stdout(&["region", "status", "BRE", "--format", "csv"], 0);
    let rows = rows(&csv);
    assert_eq!(rows.len(), 1, "{csv}");
    assert_eq!(&rows[0][1], "'=HYPERLINK(\"http://x\")");
    assert!(rows[0][rows[0].len() - 1].parse::<f64>().is_ok(), "{csv}");
}
