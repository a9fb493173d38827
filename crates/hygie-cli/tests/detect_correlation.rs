//! Issue 20: alerts per facility (the same logs for two facilities) and Sigma correlation
//! rules through `hygie rules check` and `hygie detect`.

mod common;

use common::{FINESS, Facility, HOSPITAL, Hygie};
use hygie_testkit::shared_data;

const FAILED_LOGON_BURST: &str = r#"
title: Failed logon
id: t-failed-logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
level: low
---
title: Brute force on one account
id: t-brute-force
correlation:
  type: event_count
  rules: [t-failed-logon]
  group-by: [TargetUserName, IpAddress]
  timespan: 1m
  condition: {gt: 10}
level: high
"#;

#[test]
fn twenty_failed_logons_in_a_minute_are_one_correlation_alert() {
    let h = Hygie::sqlite();
    let rules = h.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(rules.join("bf.yml"), FAILED_LOGON_BURST).expect("write");
    let v = common::json(
        h.cmd()
            .args(["rules", "check"])
            .arg(&rules)
            .args(["--format", "json"]),
        0,
    );
    assert_eq!(v["refused"], 0, "{v:#}");
    assert_eq!(v["correlations"], 1, "{v:#}");
    let mut lines = String::new();
    for i in 0..20 {
        lines.push_str(&format!(
            "{{\"EventID\":4625,\"Channel\":\"Security\",\"Computer\":\"DC01\",\"TimeCreated\":\"2026-02-01T03:00:{:02}Z\",\"EventRecordID\":{i},\"TargetUserName\":\"dr.martin\",\"IpAddress\":\"10.1.2.3\",\"LogonType\":3}}\n",
            i * 2
        ));
    }
    let logs = h.file("failed.jsonl", &lines);
    h.add(&HOSPITAL);
    let v = common::json(
        h.cmd()
            .args(["detect", "--rules"])
            .arg(&rules)
            .arg("--logs")
            .arg(&logs)
            .args(["--facility", FINESS, "--format", "json"]),
        0,
    );
    let alerts = v.as_array().expect("array");
    assert_eq!(alerts.len(), 1, "{v:#}");
    assert_eq!(alerts[0]["rule_id"], "t-brute-force");
    assert_eq!(alerts[0]["count"], 11);
    assert_eq!(alerts[0]["fields"]["TargetUserName"], "dr.martin");
    let listed = h.json(&["alerts", "list", "--facility", FINESS], 0);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[test]
fn the_same_evtx_folder_is_analysed_for_two_facilities() {
    let Some(data) = shared_data() else { return };
    let other = common::finess("69000002");
    for h in Hygie::each() {
        h.add(&HOSPITAL);
        h.add(&Facility {
            finess: &other,
            name: "CH B",
            region: "ARA",
            ..HOSPITAL
        });
        let rules = data.join("sigma/rules/windows/builtin/security");
        let logs = data.join("evtx-attack-samples/Credential Access");
        for f in [FINESS, other.as_str()] {
            h.cmd()
                .args(["detect", "--rules"])
                .arg(&rules)
                .arg("--logs")
                .arg(&logs)
                .args(["--facility", f, "--format", "csv"])
                .output()
                .map(|o| {
                    assert!(
                        o.status.success(),
                        "{}: {}",
                        h.backend(),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .expect("run");
        }
        let a = h.json(
            &["alerts", "list", "--facility", FINESS, "--limit", "100000"],
            0,
        );
        let b = h.json(
            &["alerts", "list", "--facility", &other, "--limit", "100000"],
            0,
        );
        let (a, b) = (a.as_array().expect("a"), b.as_array().expect("b"));
        assert!(!a.is_empty(), "{}", h.backend());
        assert_eq!(a.len(), b.len(), "{}", h.backend());
        assert!(a.iter().all(|x| b.iter().all(|y| x["id"] != y["id"])));
    }
}
