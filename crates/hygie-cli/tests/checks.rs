//! `hygie checks list` prints the registry of every rule, and `hygie catalog list` shows for every
//! automatic measure the rules that verify it or why none does yet (issue 17).

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;

fn hygie(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("hygie").expect("the binary is built");
    c.env_remove("HYGIE_DATABASE_URL")
        .env("HYGIE_DATA_DIR", dir.path())
        .env("HYGIE_LANG", "en");
    c
}

fn json(dir: &tempfile::TempDir, args: &[&str]) -> Value {
    let out = hygie(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "hygie {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn checks_list_json_has_every_rule_of_every_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = json(&dir, &["checks", "list"]);
    let rules = list.as_array().expect("an array");
    let mut ids = BTreeSet::new();
    for r in rules {
        let id = text(&r["id"]);
        assert!(ids.insert(id.to_owned()), "{id} listed twice");
        assert!(!text(&r["source"]).is_empty(), "{id}: no source");
        assert!(!text(&r["severity"]).is_empty(), "{id}: no severity");
        assert!(
            !text(&r["title"]["en"]).is_empty() && !text(&r["title"]["fr"]).is_empty(),
            "{id}: title needs en and fr"
        );
        let measures = r["measures"].as_array().expect("measures");
        assert!(!measures.is_empty(), "{id}: no measure");
    }
    let count = |source: &str| rules.iter().filter(|r| r["source"] == source).count();
    assert!(count("ad") >= 69, "{} AD rules", count("ad"));
    assert_eq!(count("passwords"), 8);
    for source in [
        "governance",
        "backups",
        "antivirus",
        "patching",
        "network",
        "wifi",
        "mfa",
    ] {
        assert!(count(source) > 0, "no rule of {source}");
    }
    for id in [
        "PWD-01",
        "HSH-03",
        "AV-COVERAGE",
        "GOV-DPO-CISO-DISTINCT",
        "GOV-RISK-REGISTER-REVIEWED",
    ] {
        assert!(ids.contains(id), "{id} missing");
    }
    let pwd01 = rules.iter().find(|r| r["id"] == "PWD-01").expect("PWD-01");
    assert_eq!(pwd01["references"][0]["framework"], "PingCastle");
    assert!(!text(&pwd01["remediation"]["fr"]).is_empty());

    let ad = json(&dir, &["checks", "list", "--source", "ad"]);
    assert_eq!(ad.as_array().map(Vec::len), Some(count("ad")));
}

#[test]
fn checks_list_text_honours_the_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fr = hygie(&dir)
        .args(["checks", "list", "--lang", "fr"])
        .output()
        .expect("runs");
    assert!(fr.status.success());
    let fr = String::from_utf8_lossy(&fr.stdout);
    assert!(fr.starts_with("RÈGLE"), "{fr}");
    assert!(fr.contains("Le DPO et le RSSI sont deux personnes distinctes"));
    let en = hygie(&dir).args(["checks", "list"]).output().expect("runs");
    let en = String::from_utf8_lossy(&en.stdout);
    assert!(en.contains("The DPO and the CISO are two different people"));
    let bad = hygie(&dir)
        .args(["checks", "list", "--source", "nope"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn every_automatic_measure_names_its_rules_or_why_not_yet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let registered: BTreeSet<String> = json(&dir, &["checks", "list"])
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| text(&r["id"]).to_owned())
        .collect();
    let list = json(&dir, &["catalog", "list"]);
    let mut automatic = 0;
    for m in list.as_array().expect("an array") {
        let rules = m["check_rules"].as_array().expect("check_rules");
        for r in rules {
            assert!(
                registered.contains(text(r)),
                "{}: unknown rule {r}",
                m["id"]
            );
        }
        if m["verification"] != "auto" {
            continue;
        }
        automatic += 1;
        let pending = &m["auto_pending"];
        assert!(
            !rules.is_empty()
                || (!text(&pending["en"]).is_empty() && !text(&pending["fr"]).is_empty()),
            "{}: automatic, with no rule and no reason",
            m["id"]
        );
    }
    assert!(automatic >= 43, "{automatic} automatic measures");
    // The AD and governance rules are listed where they verify.
    let iam10 = json(&dir, &["catalog", "show", "IAM-10"]);
    assert!(
        iam10["check_rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "PWD-01"))
    );
    let gov10 = json(&dir, &["catalog", "show", "GOV-10"]);
    assert!(
        gov10["check_rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "GOV-DPO-CISO-DISTINCT"))
    );
}
