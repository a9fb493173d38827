//! `hygie audit network|mfa ...` end to end: the seeded firewall rule letting guest Wi-Fi reach
//! the PACS is reported with the rule, the run is recorded, and `hygie status` shows the measure
//! failing with the collector as its source.

#![allow(clippy::unwrap_used)]

mod common;

use assert_cmd::prelude::*;
use common::{FINESS, HOSPITAL, Hygie};
use std::path::Path;
use std::process::Command;

/// `hygie audit KIND --facility FINESS`, each input flag naming a file of the test's folder.
fn audit(h: &Hygie, kind: &str, inputs: &[(&str, &str)]) -> Command {
    let mut c = h.cmd();
    c.args(["audit", kind, "--facility", FINESS]);
    for (flag, file) in inputs {
        c.arg(flag).arg(h.path().join(file));
    }
    c
}

/// The inputs of the network and MFA audits, by the names the tests write them under.
const NETWORK: &[(&str, &str)] = &[("--zones", "zones.yaml"), ("--iptables", "rules.v4")];
const MFA: &[(&str, &str)] = &[("--required", "required.csv"), ("--idp", "idp.csv")];

/// A test store with the test hospital.
fn setup() -> Hygie {
    let h = Hygie::sqlite();
    h.run(&["init"], 0);
    h.add(&HOSPITAL);
    h
}

/// The facility's status, as `hygie status --format json` prints it.
fn status(h: &Hygie) -> serde_json::Value {
    h.json(&["status", FINESS], 0)
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
    let h = setup();
    h.file("zones.yaml", ZONES);
    h.file("rules.v4", RULES);

    let v = common::json(audit(&h, "network", NETWORK).args(["--format", "json"]), 5);
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
    let text = common::stdout(audit(&h, "network", NETWORK).args(["--lang", "fr"]), 5);
    assert!(
        text.contains("FAIL  critical  NET-GUEST-ISOLATION")
            && text.contains("Le réseau invités atteint des zones internes"),
        "{text}"
    );

    let s = status(&h);
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
    let h = setup();
    h.file(
        "required.csv",
        "account,privileged\nalice,yes\nbob,perhaps\n",
    );
    h.file("idp.csv", "user,mfa\nalice,yes\n");
    let err = common::stderr(&mut audit(&h, "mfa", MFA), 2);
    assert!(
        err.contains("required.csv:3:") && err.contains("perhaps"),
        "{err}"
    );
    let s = status(&h);
    assert_eq!(measure(&s, "IAM-09")["auto"], "unchecked");

    // Fixed input: the run is recorded and verifies IAM-09.
    h.file("required.csv", "account,privileged\nalice,yes\n");
    audit(&h, "mfa", MFA).assert().success();
    let s = status(&h);
    assert_eq!(measure(&s, "IAM-09")["auto"], "verified");
    assert_eq!(measure(&s, "IAM-09")["sources"], serde_json::json!(["mfa"]));
}

/// `hygie audit backups` (generic CSV, as Veeam exports), then `hygie status`: each measure the
/// backup rules verify shows the collector's result, its source and the rules behind it.
#[test]
fn backups_run_sets_the_automatic_status_of_its_measures_with_the_source() {
    let h = setup();
    h.file(
        "inventory.csv",
        "asset,critical,rpo_hours\nsrv-dpi,yes,\nsrv-pacs,yes,\n",
    );
    // srv-pacs: last success 3 days before `now`, a failing job, repository on the production AD.
    h.file(
        "veeam.csv",
        "asset,job,last_success,type,immutable,offline,offsite,last_restore_test,status,auth\n\
srv-dpi,DPI-daily,2026-11-22T02:00:00Z,full,yes,no,yes,2026-06-01,success,independent\n\
srv-pacs,PACS-daily,2026-11-19T02:00:00Z,full,yes,no,yes,2026-06-01,failed,production_ad\n",
    );
    let v = common::json(
        audit(
            &h,
            "backups",
            &[("--inventory", "inventory.csv"), ("--csv", "veeam.csv")],
        )
        .args(["--now", "2026-11-22T10:00:00Z", "--format", "json"]),
        5,
    );
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["BCK-RPO", "BCK-FAILING-JOBS", "BCK-AD-AUTH"],
        "{v:#}"
    );
    for f in v["findings"].as_array().unwrap() {
        assert!(
            f["assets"][0].as_str().unwrap().starts_with("srv-pacs"),
            "{f}"
        );
    }

    let s = common::json(
        h.cmd().args([
            "status",
            FINESS,
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        ]),
        0,
    );
    for (id, auto, rule) in [
        ("BCK-02", "failing", "BCK-RPO"),
        ("BCK-04", "failing", "BCK-AD-AUTH"),
        ("BCK-05", "failing", "BCK-FAILING-JOBS"),
        ("BCK-03", "verified", "BCK-IMMUTABLE"),
        ("BCK-06", "verified", "BCK-RESTORE-TEST"),
    ] {
        let m = measure(&s, id);
        assert_eq!(m["auto"], auto, "{id}: {m:#}");
        assert_eq!(m["sources"], serde_json::json!(["backups"]), "{id}");
        assert!(
            m["rules"].as_array().unwrap().iter().any(|r| r == rule),
            "{id}: {m:#}"
        );
        let reason = m["reason"]["en"].as_str().unwrap_or_default();
        assert!(
            reason.contains(rule) && reason.contains("backups audit of 2026-11-22"),
            "{id}: {reason}"
        );
    }
    // A measure no collector rule verifies stays unchecked.
    assert_eq!(measure(&s, "BCK-01")["auto"], "unchecked");
}

/// The catalogue's `check_rules` must name exactly the collector rules that verify each measure:
/// `hygie catalog lint` reports a missing rule and an unknown one.
#[test]
fn catalogue_lint_checks_the_collector_rules_of_each_measure() {
    let h = Hygie::sqlite();
    h.cmd().args(["catalog", "lint"]).assert().success();

    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let dir = h.path().join("catalog");
    copy_dir(&src, &dir);
    let bck = dir.join("measures/BCK.toml");
    let text = std::fs::read_to_string(&bck).unwrap();
    assert!(text.contains("check_rules = [\"BCK-RPO\"]"));
    std::fs::write(
        &bck,
        text.replace("check_rules = [\"BCK-RPO\"]", "check_rules = [\"BCK-RP0\"]"),
    )
    .unwrap();
    let err = common::stderr(h.cmd().args(["catalog", "lint", "--dir"]).arg(&dir), 5);
    assert!(
        err.contains("measure BCK-02: check_rules names unknown rule 'BCK-RP0'")
            && err.contains("measure BCK-02: check_rules lacks 'BCK-RPO'"),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `hygie audit wifi` with the zone model and the firewall: a guest SSID whose zone the firewall
/// does not isolate fails WIFI-GUEST-ZONE naming the rule; `hygie audit network --ipset` reads the
/// sets an iptables rule names.
#[test]
fn wifi_guest_isolation_and_network_ipsets_from_the_command_line() {
    let h = setup();
    h.file("zones.yaml", ZONES);
    h.file("hostapd.conf", "interface=wlan0\nssid=CHU-Invites\nwpa=2\nwpa_key_mgmt=SAE\nrsn_pairwise=CCMP\nieee80211w=2\n");
    h.file(
        "guest.yaml",
        &ZONES.replace(
            "{name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16]}",
            "{name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16], ssids: [CHU-Invites]}",
        ),
    );
    h.file(
        "sets.save",
        "create guests hash:net family inet\nadd guests 10.50.0.0/16\n",
    );
    h.file("rules.v4", "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m set --match-set guests src -d 10.20.0.0/24 -p tcp --dport 104 -j ACCEPT\nCOMMIT\n");

    let v = common::json(
        audit(
            &h,
            "wifi",
            &[
                ("--hostapd", "hostapd.conf"),
                ("--zones", "guest.yaml"),
                ("--iptables", "rules.v4"),
                ("--ipset", "sets.save"),
            ],
        )
        .args(["--format", "json"]),
        5,
    );
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "WIFI-GUEST-ZONE", "{v:#}");
    let asset = f["assets"][0].as_str().unwrap();
    assert!(
        asset.contains("zone 'guest-wifi' not isolated: guest-wifi → pacs: tcp/104 allowed by iptables FORWARD #1"),
        "{asset}"
    );
    let s = status(&h);
    assert_eq!(measure(&s, "NET-02")["auto"], "failing");
    assert_eq!(
        measure(&s, "NET-02")["sources"],
        serde_json::json!(["wifi"])
    );

    // Without the ipset file the rule cannot be read: exit 2, naming the file and line.
    let err = common::stderr(&mut audit(&h, "network", NETWORK), 2);
    assert!(
        err.contains("rules.v4:3:") && err.contains("--ipset"),
        "{err}"
    );
}
