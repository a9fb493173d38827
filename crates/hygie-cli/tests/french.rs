//! The command line in French (issue 18's "what it must show"): under `--lang fr`, an
//! incident's file for an auditor (Markdown and HTML), its drafts, the incident list and its
//! obligations due, the breach register, a facility's status and the alerts list carry none of
//! the English the walk-through found (statuses, severities, "GDPR", "2 d" for days...) and no
//! raw enum value, with the same checker as the web's every-page walk.

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_testkit::french::{english_in, visible};
use hygie_testkit::{WHOAMI, sysmon_process};

/// A personal-data breach at a NIS 2 essential hospital, with a CNIL notification sent in two
/// phases, alerts linked, and the facility's alerts from a detection run; the incident's id.
fn seeded(env: &Hygie) -> String {
    env.add(&HOSPITAL);
    let rule = env.file(
        "whoami.yml",
        "title: Whoami\nid: t-whoami\nlogsource: {product: windows, category: process_creation}\n\
         detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\nlevel: high\n",
    );
    let mut events = String::new();
    for i in 0..3 {
        let mut e = sysmon_process(&format!("pc{i}.chu.test"), WHOAMI);
        e["EventRecordID"] = i.into();
        e["TimeCreated"] = "2026-12-07T08:00:00Z".into();
        events.push_str(&format!("{e}\n"));
    }
    let logs = env.file("events.jsonl", &events);
    env.run(
        &[
            "detect",
            "--facility",
            FINESS,
            "--rules",
            &rule.to_string_lossy(),
            "--logs",
            &logs.to_string_lossy(),
        ],
        0,
    );
    let facts = env.file(
        "facts.json",
        &format!(
            r#"{{"facility": "{FINESS}", "title": "Rançongiciel sur le PACS", "awareness": "2026-12-05T01:30:00+01:00",
               "occurrence": "2026-12-04T23:00:00+01:00", "serious": true, "personal_data_breach": "high",
               "nis2_significant": true, "categories": ["ransomware", "data_breach"], "people_count": 1200,
               "dpo_contact": "dpo@chu.test", "affected_systems": ["PACS"]}}"#
        ),
    );
    let opened = env.json(&["incident", "open", "--from", &facts.to_string_lossy()], 0);
    let id = opened["id"].as_str().unwrap_or_default().to_owned();
    let text = env.file("cnil.txt", "Notification initiale à la CNIL.");
    env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cnil",
            "--sent-at",
            "2026-12-06T10:00:00+01:00",
            "--phase",
            "initial",
            "--channel",
            "portail",
            "--text",
            &text.to_string_lossy(),
        ],
        0,
    );
    id
}

/// What `hygie --lang fr ARGS` printed (it must succeed).
fn french(env: &Hygie, args: &[&str]) -> String {
    let mut all = vec!["--lang", "fr"];
    all.extend_from_slice(args);
    let out = env.run(&all, 0);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_command_line_under_lang_fr_is_in_french() {
    let env = Hygie::sqlite();
    let id = seeded(&env);
    let mut failures = Vec::new();
    let mut check = |what: &str, text: String| {
        assert!(!text.trim().is_empty(), "{what} printed nothing");
        let found = english_in(&visible(&text));
        if !found.is_empty() {
            failures.push(format!("{what}: {}", found.join(", ")));
        }
    };
    for format in ["md", "html"] {
        check(
            &format!("incident export --format {format}"),
            french(&env, &["incident", "export", &id, "--format", format]),
        );
    }
    for duty in ["cnil", "cert_sante", "nis2_early_warning", "data_subjects"] {
        check(
            &format!("incident draft --duty {duty}"),
            french(
                &env,
                &["incident", "draft", &id, "--duty", duty, "--format", "md"],
            ),
        );
    }
    check("incident show", french(&env, &["incident", "show", &id]));
    check(
        "incident list",
        french(&env, &["incident", "list", "--facility", FINESS]),
    );
    check(
        "incident register",
        french(&env, &["incident", "register", "--facility", FINESS]),
    );
    check("status", french(&env, &["status", FINESS]));
    check(
        "alerts list",
        french(&env, &["alerts", "list", "--facility", FINESS]),
    );
    assert!(
        failures.is_empty(),
        "English or raw values under --lang fr:\n{}",
        failures.join("\n")
    );
}
