//! `hygie audit network|mfa ...` end to end: the seeded firewall rule letting guest Wi-Fi reach
//! the PACS is reported with the rule, the run is recorded, and `hygie status` shows the measure
//! failing with the collector as its source.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use std::path::Path;

const FINESS: &str = "350000014";

fn hygie(data: &Path) -> Command {
    let mut c = Command::cargo_bin("hygie").unwrap();
    c.env("HYGIE_DATA_DIR", data)
        .env_remove("HYGIE_DATABASE_URL");
    c
}

fn setup(data: &Path) {
    hygie(data).arg("init").assert().success();
    hygie(data)
        .args([
            "facility",
            "add",
            "--finess",
            FINESS,
            "--name",
            "CH de Test",
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

fn measure<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in status"))
}

const ZONES: &str = "zones:
  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16]}
  - {name: pacs, kind: imaging, cidrs: [10.20.0.0/24]}
  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16]}
  - {name: admin, kind: admin, cidrs: [10.99.0.0/24]}
  - {name: internet, kind: internet}
";

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -s 10.10.0.0/16 -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 -d 10.20.0.0/24 -p tcp -m multiport --dports 104,11112 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 ! -d 10.0.0.0/8 -j ACCEPT
COMMIT
";

#[test]
fn guest_wifi_reaching_pacs_is_reported_and_fails_the_measure_in_status() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    setup(&data);
    std::fs::write(d.path().join("zones.yaml"), ZONES).unwrap();
    std::fs::write(d.path().join("rules.v4"), RULES).unwrap();

    let out = hygie(&data)
        .args([
            "audit",
            "network",
            "--facility",
            FINESS,
            "--format",
            "json",
            "--zones",
        ])
        .arg(d.path().join("zones.yaml"))
        .arg("--iptables")
        .arg(d.path().join("rules.v4"))
        .assert()
        .code(5)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v:#}");
    let f = &findings[0];
    assert_eq!(f["rule"], "NET-GUEST-ISOLATION");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["measures"], serde_json::json!(["NET-01", "NET-02"]));
    let asset = f["assets"][0].as_str().unwrap();
    assert!(
        asset.starts_with("guest-wifi → pacs: tcp/104,11112 allowed by iptables FORWARD #3"),
        "{asset}"
    );
    assert!(asset.contains("rules.v4:7"), "{asset}");

    // The table output names the same rule, in French too.
    let out = hygie(&data)
        .args([
            "audit",
            "network",
            "--lang",
            "fr",
            "--facility",
            FINESS,
            "--zones",
        ])
        .arg(d.path().join("zones.yaml"))
        .arg("--iptables")
        .arg(d.path().join("rules.v4"))
        .assert()
        .code(5)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("FAIL  critical  NET-GUEST-ISOLATION")
            && text.contains("Le réseau invités atteint des zones internes"),
        "{text}"
    );

    let out = hygie(&data)
        .args(["status", FINESS, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let net02 = measure(&s, "NET-02");
    assert_eq!(net02["auto"], "failing", "{net02:#}");
    assert_eq!(net02["sources"], serde_json::json!(["network"]));
    assert!(
        net02["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "NET-GUEST-ISOLATION")
    );
    // Rules that passed verify their measures: the admin network is unreachable from elsewhere.
    let adm02 = measure(&s, "ADM-02");
    assert_eq!(adm02["auto"], "verified", "{adm02:#}");
    assert_eq!(adm02["sources"], serde_json::json!(["network"]));
}

#[test]
fn malformed_input_exits_2_naming_file_and_line_and_records_nothing() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    setup(&data);
    std::fs::write(
        d.path().join("required.csv"),
        "account,privileged\nalice,yes\nbob,perhaps\n",
    )
    .unwrap();
    std::fs::write(d.path().join("idp.csv"), "user,mfa\nalice,yes\n").unwrap();
    let out = hygie(&data)
        .args(["audit", "mfa", "--facility", FINESS, "--required"])
        .arg(d.path().join("required.csv"))
        .arg("--idp")
        .arg(d.path().join("idp.csv"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("required.csv:3:") && err.contains("perhaps"),
        "{err}"
    );
    let out = hygie(&data)
        .args(["status", FINESS, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(measure(&s, "IAM-09")["auto"], "unchecked");

    // Fixed input: the run is recorded and verifies IAM-09.
    std::fs::write(
        d.path().join("required.csv"),
        "account,privileged\nalice,yes\n",
    )
    .unwrap();
    hygie(&data)
        .args(["audit", "mfa", "--facility", FINESS, "--required"])
        .arg(d.path().join("required.csv"))
        .arg("--idp")
        .arg(d.path().join("idp.csv"))
        .assert()
        .success();
    let out = hygie(&data)
        .args(["status", FINESS, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(measure(&s, "IAM-09")["auto"], "verified");
    assert_eq!(measure(&s, "IAM-09")["sources"], serde_json::json!(["mfa"]));
}
