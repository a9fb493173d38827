//! `hygie audit ad` end to end: LDIF mode on a synthetic export (always), live mode against the
//! shared Samba DC when its variables are set (SKIP otherwise, failure under CI=true).
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use common::{HOSPITAL, Hygie};
use hygie_testkit::SambaDc;
use serde_json::Value;
use std::process::Command;

/// A test store with the test hospital (in Île-de-France, plan from 2026); its FINESS.
fn setup() -> (Hygie, String) {
    let h = Hygie::sqlite();
    let finess = common::finess("75000000");
    h.run(&["init"], 0);
    h.add(&common::Facility {
        finess: &finess,
        region: "IDF",
        plan_start: "2026-01-01",
        ..HOSPITAL
    });
    (h, finess)
}

/// `hygie audit ad --facility FINESS --ldif FILE`.
fn audit_ldif(h: &Hygie, finess: &str, ldif: &std::path::Path) -> Command {
    let mut c = h.cmd();
    c.args(["audit", "ad", "--facility", finess, "--ldif"])
        .arg(ldif);
    c
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn sid(s: &str) -> String {
    b64(&hygie_ad::sid::Sid::parse(s).unwrap().to_bytes())
}

/// A small export: the domain (Samba-like defaults) and two users, alice possibly with reversible
/// password storage.
fn ldif(alice_reversible: bool) -> String {
    let d = "S-1-5-21-7-8-9";
    let uac = if alice_reversible { 512 | 0x80 } else { 512 };
    format!(
        "version: 1\n\n\
         dn: DC=chu,DC=test\nobjectClass: top\nobjectClass: domain\nobjectClass: domainDNS\nobjectSid:: {}\nminPwdLength: 14\npwdProperties: 1\npwdHistoryLength: 24\nmaxPwdAge: -77760000000000\nlockoutThreshold: 5\nms-DS-MachineAccountQuota: 0\nmsDS-Behavior-Version: 7\n\n\
         dn: CN=alice,CN=Users,DC=chu,DC=test\nobjectClass: top\nobjectClass: person\nobjectClass: user\nsAMAccountName: alice\nobjectSid:: {}\nuserAccountControl: {uac}\nprimaryGroupID: 513\nwhenCreated: 20261101000000.0Z\npwdLastSet: 134070000000000000\n\n\
         dn: CN=bob,CN=Users,DC=chu,DC=test\nobjectClass: top\nobjectClass: person\nobjectClass: user\nsAMAccountName: bob\nobjectSid:: {}\nuserAccountControl: 512\nprimaryGroupID: 513\nwhenCreated: 20261101000000.0Z\n",
        sid(d),
        sid(&format!("{d}-1105")),
        sid(&format!("{d}-1106")),
    )
}

fn find_measure<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => {
            if m.get("id").and_then(Value::as_str) == Some(id) && m.contains_key("auto") {
                return Some(v);
            }
            m.values().find_map(|x| find_measure(x, id))
        }
        Value::Array(a) => a.iter().find_map(|x| find_measure(x, id)),
        _ => None,
    }
}

fn iam07_auto(h: &Hygie, finess: &str) -> String {
    let v = h.json(&["status", finess], 0);
    find_measure(&v, "IAM-07").unwrap()["auto"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn ldif_mode_stores_the_run_compares_and_feeds_status() {
    let (h, finess) = setup();
    let f = h.path().join("d.ldif");
    std::fs::write(&f, ldif(true)).unwrap();
    assert_eq!(iam07_auto(&h, &finess), "unchecked");
    // Findings give exit 5.
    let v = common::json(
        audit_ldif(&h, &finess, &f).args(["--as-of", "2026-11-22", "--format", "json"]),
        5,
    );
    let level = v["level"].as_u64().unwrap();
    assert!((1..=5).contains(&level));
    for c in [
        "password_policy",
        "accounts",
        "kerberos_delegation",
        "privileged",
        "infrastructure",
    ] {
        assert!(v["scores"][c].is_u64(), "score {c}");
    }
    let acc03 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ACC-03")
        .expect("ACC-03");
    assert_eq!(acc03["objects"], serde_json::json!(["alice"]));
    assert_eq!(acc03["severity"], "medium");
    assert_eq!(acc03["measures"], serde_json::json!(["IAM-07"]));
    assert!(v.get("comparison").is_none());
    assert_eq!(iam07_auto(&h, &finess), "failing");

    // Second run: alice fixed.
    std::fs::write(&f, ldif(false)).unwrap();
    let out = audit_ldif(&h, &finess, &f)
        .args(["--as-of", "2026-11-22", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixed = v["comparison"]["fixed"].as_array().unwrap();
    assert!(
        fixed
            .iter()
            .any(|c| c["rule"] == "ACC-03" && c["object"] == "alice"),
        "{fixed:?}"
    );
    assert!(v["comparison"]["new"].as_array().unwrap().is_empty());

    // Table and HTML renderings.
    let out = audit_ldif(&h, &finess, &f)
        .args(["--format", "html", "--lang", "fr"])
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Niveau ANSSI"));
    let out = audit_ldif(&h, &finess, &f).output().unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("ANSSI level")
    );
}

#[test]
fn bad_input_fails_clearly_and_stores_nothing() {
    let (h, finess) = setup();
    let f = h.path().join("bad.ldif");
    std::fs::write(
        &f,
        "dn: DC=chu,DC=test\nobjectClass: domainDNS\nthis line is broken\n",
    )
    .unwrap();
    let out = common::run(&mut audit_ldif(&h, &finess, &f), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ldif") && err.contains("line 3"), "{err}");
    assert!(out.stdout.is_empty());
    // An export without the domain object is incomplete.
    std::fs::write(&f, "dn: CN=x,DC=chu,DC=test\nobjectClass: user\n").unwrap();
    let err = common::stderr(&mut audit_ldif(&h, &finess, &f), 2);
    assert!(err.contains("no domain object"), "{err}");
    // Unknown facility.
    std::fs::write(&f, ldif(true)).unwrap();
    common::run(&mut audit_ldif(&h, &common::finess("13000000"), &f), 3);
    // Live mode without a password source, non-interactive.
    let err = common::stderr(&mut live(&h, &finess, "ldaps://127.0.0.1:1", "x"), 2);
    assert!(err.contains("no password"), "{err}");
    // Nothing was stored by any of these.
    assert_eq!(iam07_auto(&h, &finess), "unchecked");
}

/// `hygie audit ad --facility FINESS --url URL --bind-dn DN`: live mode, without a password yet.
fn live(h: &Hygie, finess: &str, url: &str, bind_dn: &str) -> Command {
    let mut c = h.cmd();
    c.args([
        "audit",
        "ad",
        "--facility",
        finess,
        "--url",
        url,
        "--bind-dn",
        bind_dn,
    ]);
    c
}

#[test]
fn live_mode_against_samba() {
    let Some(dc) = SambaDc::from_env() else {
        return;
    };
    let tls_name = hygie_ad::collect::certificate_names(&dc.certificate())
        .unwrap()
        .remove(0);
    let (url, admin) = (dc.url.as_str(), dc.admin.as_str());
    let (ca, password_file) = (path(&dc.ca), path(&dc.password_file));
    let (h, finess) = setup();
    let password = std::fs::read_to_string(password_file).unwrap();
    let verified = || {
        let mut c = live(&h, &finess, url, admin);
        c.args(["--ca-cert", ca, "--tls-server-name", &tls_name]);
        c
    };
    // Wrong password (from the environment): exit 2, nothing stored, password never echoed.
    let err = common::stderr(verified().env("HYGIE_AD_PASSWORD", "Wrong-Secret-123"), 2);
    assert!(
        err.contains("invalid credentials") && !err.contains("Wrong-Secret-123"),
        "{err}"
    );
    let with_password = |url| {
        let mut c = live(&h, &finess, url, admin);
        c.args(["--password-file", password_file]);
        c
    };
    // Unreachable host: exit 1.
    let err = common::stderr(&mut with_password("ldaps://127.0.0.1:1"), 1);
    assert!(err.contains("cannot connect"), "{err}");
    // Certificate not trusted (system CAs do not know Samba's self-signed CA): exit 1.
    let err = common::stderr(with_password(url).args(["--tls-server-name", &tls_name]), 1);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(iam07_auto(&h, &finess), "unchecked");
    // A good run, password from a file.
    let stdout = common::stdout(
        verified().args(["--password-file", password_file, "--format", "json"]),
        5,
    );
    assert!(!stdout.contains(password.trim()));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    // Samba has no LAPS schema: INF-04 always fails there.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "INF-04")
    );
    assert_ne!(iam07_auto(&h, &finess), "unchecked");
    // --insecure works and warns.
    let err = common::stderr(
        with_password(url).args(["--insecure", "--format", "json"]),
        5,
    );
    assert!(err.contains("NOT verified"), "{err}");
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}
