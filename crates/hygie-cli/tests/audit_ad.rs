//! `hygie audit ad` end to end: LDIF mode on a synthetic export (always), live mode against the
//! shared Samba DC when its variables are set (SKIP otherwise, failure under CI=true).
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use base64::Engine;
use serde_json::Value;
use std::path::Path;

fn hygie(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("hygie").unwrap();
    c.arg("--data-dir")
        .arg(dir)
        .env_remove("HYGIE_AD_PASSWORD")
        .env_remove("HYGIE_DATABASE_URL");
    c
}

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let finess = hygie_core::Finess::with_check_digit("75000000")
        .unwrap()
        .as_str()
        .to_string();
    hygie(dir.path()).arg("init").assert().success();
    hygie(dir.path())
        .args([
            "facility",
            "add",
            "--finess",
            &finess,
            "--name",
            "CH Test",
            "--kind",
            "hospital",
            "--region",
            "IDF",
            "--plan-start",
            "2026-01-01",
        ])
        .assert()
        .success();
    (dir, finess)
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

fn iam07_auto(dir: &Path, finess: &str) -> String {
    let out = hygie(dir)
        .args(["status", finess, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    find_measure(&v, "IAM-07").unwrap()["auto"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn ldif_mode_stores_the_run_compares_and_feeds_status() {
    let (dir, finess) = setup();
    let f = dir.path().join("d.ldif");
    std::fs::write(&f, ldif(true)).unwrap();
    assert_eq!(iam07_auto(dir.path(), &finess), "unchecked");
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
        .args(["--as-of", "2026-11-22", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "findings give exit 5: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
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
    assert_eq!(iam07_auto(dir.path(), &finess), "failing");

    // Second run: alice fixed.
    std::fs::write(&f, ldif(false)).unwrap();
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
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
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
        .args(["--format", "html", "--lang", "fr"])
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Niveau ANSSI"));
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("ANSSI level")
    );
}

#[test]
fn bad_input_fails_clearly_and_stores_nothing() {
    let (dir, finess) = setup();
    let f = dir.path().join("bad.ldif");
    std::fs::write(
        &f,
        "dn: DC=chu,DC=test\nobjectClass: domainDNS\nthis line is broken\n",
    )
    .unwrap();
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ldif") && err.contains("line 3"), "{err}");
    assert!(out.stdout.is_empty());
    // An export without the domain object is incomplete.
    std::fs::write(&f, "dn: CN=x,DC=chu,DC=test\nobjectClass: user\n").unwrap();
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", &finess, "--ldif"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no domain object"));
    // Unknown facility.
    std::fs::write(&f, ldif(true)).unwrap();
    let other = hygie_core::Finess::with_check_digit("13000000").unwrap();
    let out = hygie(dir.path())
        .args(["audit", "ad", "--facility", other.as_str(), "--ldif"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    // Live mode without a password source, non-interactive.
    let out = hygie(dir.path())
        .args([
            "audit",
            "ad",
            "--facility",
            &finess,
            "--url",
            "ldaps://127.0.0.1:1",
            "--bind-dn",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password"));
    // Nothing was stored by any of these.
    assert_eq!(iam07_auto(dir.path(), &finess), "unchecked");
}

struct Dc {
    url: String,
    ca: String,
    admin: String,
    password_file: String,
    tls_name: String,
}

fn dc() -> Option<Dc> {
    let v = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
    match (
        v("HYGIE_TEST_DC_URL"),
        v("HYGIE_TEST_DC_CA"),
        v("HYGIE_TEST_DC_ADMIN"),
        v("HYGIE_TEST_DC_PASSWORD_FILE"),
        v("HYGIE_TEST_DC_DIR"),
    ) {
        (Some(url), Some(ca), Some(admin), Some(password_file), Some(dir)) => {
            let cert = Path::new(&dir).join("private/tls/cert.pem");
            let tls_name = hygie_ad::collect::certificate_names(&cert)
                .unwrap()
                .remove(0);
            Some(Dc {
                url,
                ca,
                admin,
                password_file,
                tls_name,
            })
        }
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("HYGIE_TEST_DC_* variables missing under CI");
            }
            eprintln!("SKIP: no Samba DC (run scripts/samba-dc.sh start and eval its env)");
            None
        }
    }
}

#[test]
fn live_mode_against_samba() {
    let Some(dc) = dc() else { return };
    let (dir, finess) = setup();
    let password = std::fs::read_to_string(&dc.password_file).unwrap();
    let base = |c: &mut Command| {
        c.args([
            "audit",
            "ad",
            "--facility",
            &finess,
            "--url",
            &dc.url,
            "--bind-dn",
            &dc.admin,
            "--ca-cert",
            &dc.ca,
            "--tls-server-name",
            &dc.tls_name,
        ]);
    };
    // Wrong password (from the environment): exit 2, nothing stored, password never echoed.
    let mut c = hygie(dir.path());
    base(&mut c);
    let out = c
        .env("HYGIE_AD_PASSWORD", "Wrong-Secret-123")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid credentials") && !err.contains("Wrong-Secret-123"),
        "{err}"
    );
    // Unreachable host: exit 1.
    let out = hygie(dir.path())
        .args([
            "audit",
            "ad",
            "--facility",
            &finess,
            "--url",
            "ldaps://127.0.0.1:1",
            "--bind-dn",
            &dc.admin,
            "--password-file",
            &dc.password_file,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
    // Certificate not trusted (system CAs do not know Samba's self-signed CA): exit 1.
    let out = hygie(dir.path())
        .args([
            "audit",
            "ad",
            "--facility",
            &finess,
            "--url",
            &dc.url,
            "--bind-dn",
            &dc.admin,
            "--password-file",
            &dc.password_file,
            "--tls-server-name",
            &dc.tls_name,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("certificate")
    );
    assert_eq!(iam07_auto(dir.path(), &finess), "unchecked");
    // A good run, password from a file.
    let mut c = hygie(dir.path());
    base(&mut c);
    let out = c
        .args(["--password-file", &dc.password_file, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
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
    assert_ne!(iam07_auto(dir.path(), &finess), "unchecked");
    // --insecure works and warns.
    let out = hygie(dir.path())
        .args([
            "audit",
            "ad",
            "--facility",
            &finess,
            "--url",
            &dc.url,
            "--bind-dn",
            &dc.admin,
            "--password-file",
            &dc.password_file,
            "--insecure",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT verified"));
}
