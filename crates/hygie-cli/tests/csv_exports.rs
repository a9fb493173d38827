//! CSV exports go through the one writer, which neutralises spreadsheet formulas in text
//! taken from logs or declarations.

use assert_cmd::Command;
use std::path::Path;

fn hygie(home: &Path) -> Command {
    let mut c = Command::cargo_bin("hygie").expect("binary");
    c.env("HYGIE_DATA_DIR", home)
        .env_remove("HYGIE_DATABASE_URL");
    c
}

fn add_facility(home: &Path, name: &str) {
    hygie(home)
        .args(["facility", "add", "--finess", "350000014", "--name", name])
        .args([
            "--kind",
            "hospital",
            "--region",
            "BRE",
            "--plan-start",
            "2025-01-01",
        ])
        .assert()
        .success();
}

const RULE: &str = r#"
title: Whoami
id: t-whoami
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
level: high
"#;

const HOST: &str = "=cmd|' /C calc'!A0";

#[test]
fn a_formula_host_name_from_a_log_is_neutralised_in_the_alerts_csv() {
    let d = tempfile::tempdir().expect("tmp");
    let rules = d.path().join("r.yml");
    std::fs::write(&rules, RULE).expect("write");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let event = serde_json::json!({
        "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": HOST,
        "EventRecordID": 7, "TimeCreated": "2025-01-01T00:00:00Z",
        "Image": "C:\\Windows\\System32\\whoami.exe",
    });
    std::fs::write(logs.join("a.jsonl"), format!("{event}\n")).expect("write");
    add_facility(d.path(), "CH Test");
    for args in [
        vec!["detect", "--rules", "R", "--logs", "L", "--format", "csv"],
        vec![
            "alerts",
            "list",
            "--facility",
            "350000014",
            "--format",
            "csv",
        ],
    ] {
        let mut cmd = hygie(d.path());
        for a in &args {
            match *a {
                "R" => cmd.arg(&rules),
                "L" => cmd.arg(&logs),
                a => cmd.arg(a),
            };
        }
        if args[0] == "detect" {
            cmd.args(["--facility", "350000014"]);
        }
        let out = cmd.output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = String::from_utf8_lossy(&out.stdout);
        let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("csv row")).collect();
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
    let d = tempfile::tempdir().expect("tmp");
    add_facility(d.path(), "=HYPERLINK(\"http://x\")");
    let out = hygie(d.path())
        .args(["region", "status", "BRE", "--format", "csv"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("csv row")).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert_eq!(&rows[0][1], "'=HYPERLINK(\"http://x\")");
    assert!(rows[0][rows[0].len() - 1].parse::<f64>().is_ok(), "{csv}");
}
