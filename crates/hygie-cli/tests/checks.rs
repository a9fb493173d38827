//! `hygie checks list` prints the registry of every rule, and `hygie catalog list` shows for every
//! automatic measure the rules that verify it or why none does yet (issue 17).

mod common;

use common::Hygie;
use serde_json::Value;
use std::collections::BTreeSet;

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn checks_list_json_has_every_rule_of_every_audit() {
    let dir = Hygie::sqlite().in_lang("en");
    let list = dir.json(&["checks", "list"], 0);
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
    // The command prints the rules of every source the registry knows.
    for source in hygie_checks::sources() {
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

    let ad = dir.json(&["checks", "list", "--source", "ad"], 0);
    assert_eq!(ad.as_array().map(Vec::len), Some(count("ad")));
}

#[test]
fn checks_list_text_honours_the_language() {
    let dir = Hygie::sqlite().in_lang("en");
    let fr = dir.stdout(&["checks", "list", "--lang", "fr"], 0);
    assert!(fr.starts_with("RÈGLE"), "{fr}");
    assert!(fr.contains("Le DPO et le RSSI sont deux personnes distinctes"));
    let en = dir.stdout(&["checks", "list"], 0);
    assert!(en.contains("The DPO and the CISO are two different people"));
    dir.run(&["checks", "list", "--source", "nope"], 2);
}

#[test]
fn every_automatic_measure_names_its_rules_or_why_not_yet() {
    let dir = Hygie::sqlite().in_lang("en");
    let registered: BTreeSet<String> = dir
        .json(&["checks", "list"], 0)
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| text(&r["id"]).to_owned())
        .collect();
    let list = dir.json(&["catalog", "list"], 0);
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
    let iam10 = dir.json(&["catalog", "show", "IAM-10"], 0);
    assert!(
        iam10["check_rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "PWD-01"))
    );
    let gov10 = dir.json(&["catalog", "show", "GOV-10"], 0);
    assert!(
        gov10["check_rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "GOV-DPO-CISO-DISTINCT"))
    );
}
