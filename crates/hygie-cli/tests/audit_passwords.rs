//! `hygie breached import` and `hygie audit passwords` end to end: JSON findings, exit codes, the
//! run recorded for the facility, and no hash or recovered password anywhere in the output, the
//! logs or the store.

mod common;

use common::Hygie;
use hygie_testkit::{NO_LM, nt_hex};
use std::process::Command;

const FINESS: &str = "750712184";

/// (account, password, LM hash stored)
const ACCOUNTS: &[(&str, &str, bool)] = &[
    ("CHU\\Administrator", "Kx7#pL9@wQ2!vN4$aa", false),
    ("CHU\\eve", "", false),
    ("CHU\\alice", "Bleu-Ciel-Partage-73", false),
    ("CHU\\adm_alice", "Bleu-Ciel-Partage-73", false),
    ("CHU\\jdupont", "Jdupont2025", false),
    ("CHU\\urg01", "Urgences2024!", false),
    ("CHU\\rouen1", "Rouen2026", false),
    ("CHU\\frank", "Fuite-Connue-Longue-88", false),
    ("CHU\\dave", "Zq8&Lm3!Rt6#Wp1vXX", true),
    ("CHU\\wordy", "Tr0ub4dor&3-Custom", false),
    ("CHU\\WKS0042$", "wks0042", false),
    ("CHU\\strong", "c0rrect-H0rse-Battery-Staple-91", false),
];

/// `hygie` with trace logs, so that the test can look for secrets in them too.
fn hygie(h: &Hygie) -> Command {
    let mut c = h.cmd();
    c.env("HYGIE_LOG", "trace");
    c
}

/// `hygie audit passwords --facility FINESS --hashes DUMP`, then `rest`.
fn audit<'a>(dump: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let head = ["audit", "passwords", "--facility", FINESS, "--hashes", dump];
    [&head[..], rest].concat()
}

#[test]
fn audit_passwords_reports_names_only_and_records_the_run() {
    let h = Hygie::sqlite();
    let path = |name: &str| h.path().join(name).to_str().expect("utf8").to_owned();
    let (dump, list, idx) = (path("dump.txt"), path("hibp.txt"), path("hibp.idx"));
    let (snapshot, wordlist) = (path("status.csv"), path("words.txt"));

    let mut text = String::new();
    for (i, (name, pw, lm)) in ACCOUNTS.iter().enumerate() {
        let lm = if *lm {
            "e52cac67419a9a224a3b108f3fa6cb6d"
        } else {
            NO_LM
        };
        text.push_str(&format!("{name}:{}:{lm}:{}:::\n", 1000 + i, nt_hex(pw)));
    }
    std::fs::write(&dump, &text).expect("write dump");
    let mut breached: Vec<String> = ["Fuite-Connue-Longue-88", "Password1"]
        .iter()
        .map(|p| nt_hex(p).to_uppercase())
        .collect();
    breached.sort();
    std::fs::write(
        &list,
        breached
            .iter()
            .map(|h| format!("{h}:4242\r\n"))
            .collect::<String>(),
    )
    .expect("write list");
    std::fs::write(
        &snapshot,
        "account,enabled,privileged\nadm_alice,true,true\nAdministrator,true,true\n",
    )
    .expect("write csv");
    std::fs::write(&wordlist, "Tr0ub4dor&3-Custom\nsomething-else\n").expect("write wordlist");

    let mut logs = String::new();
    let mut outputs = String::new();
    let mut run = |args: &[&str], code: i32| -> String {
        let out = common::run(hygie(&h).args(args), code);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        outputs.push_str(&stdout);
        logs.push_str(&stderr);
        stdout
    };
    run(&["init"], 0);
    run(
        &common::Facility {
            finess: FINESS,
            name: "CHU de Rouen",
            region: "IDF",
            plan_start: "2026-01-01",
            ..common::HOSPITAL
        }
        .add_args(),
        0,
    );
    let imported = run(
        &["breached", "import", &list, "-o", &idx, "--format", "json"],
        0,
    );
    let imported: serde_json::Value = serde_json::from_str(&imported).expect("json");
    assert_eq!(imported["entries"], 2);

    let out = run(
        &audit(
            &dump,
            &[
                "--breached",
                &idx,
                "--ad-snapshot",
                &snapshot,
                "--wordlist",
                &wordlist,
                "--format",
                "json",
            ],
        ),
        5,
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    let findings: Vec<(String, String, Vec<String>)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                f["accounts"]
                    .as_array()
                    .expect("accounts")
                    .iter()
                    .map(|a| a.as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect();
    let n = |v: &[&str]| v.iter().map(|s| format!("CHU\\{s}")).collect::<Vec<_>>();
    assert_eq!(
        findings,
        vec![
            ("HSH-01".into(), "critical".into(), n(&["eve"])),
            // urg01: built-in dictionary; rouen1: the facility's name; wordy: --wordlist.
            (
                "HSH-02".into(),
                "high".into(),
                n(&["rouen1", "urg01", "wordy"])
            ),
            ("HSH-03".into(), "high".into(), n(&["jdupont"])),
            (
                "HSH-04".into(),
                "critical".into(),
                n(&["adm_alice", "alice"])
            ),
            ("HSH-05".into(), "medium".into(), n(&["dave"])),
            ("HSH-06".into(), "medium".into(), n(&["WKS0042$"])),
            ("HSH-07".into(), "high".into(), n(&["frank"])),
        ]
    );
    let hsh08 = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "HSH-08")
        .expect("HSH-08 listed");
    assert_eq!(hsh08["outcome"], "not_evaluated", "no history in the dump");

    // The run is recorded: the status shows the password measures failing because of these rules.
    let status = run(&["status", FINESS, "--format", "json"], 0);
    assert!(
        status.contains("HSH-01") || status.contains("passwords"),
        "status mentions the password run: {status}"
    );

    // Table output too.
    let table = run(&audit(&dump, &["--lang", "fr"]), 5);
    assert!(
        table.contains("Compte avec un mot de passe vide") && table.contains("CHU\\eve"),
        "{table}"
    );

    // Nothing secret anywhere: stdout, stderr (trace logs), every file of the data directory.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(h.data()).expect("data dir") {
        let p = entry.expect("entry").path();
        if p.is_file() {
            stored.extend(std::fs::read(&p).expect("read store file"));
        }
    }
    let stored = String::from_utf8_lossy(&stored).to_lowercase();
    assert!(
        stored.contains("adm_alice"),
        "the store holds the run's account names"
    );
    let everything = format!("{outputs}\n{logs}").to_lowercase();
    for (name, pw, _) in ACCOUNTS {
        let h = nt_hex(pw);
        for (what, hay) in [("output/logs", &everything), ("store", &stored)] {
            assert!(!hay.contains(&h), "NT hash of {name} found in {what}");
            assert!(
                !hay.contains(&h[..12]),
                "part of the NT hash of {name} found in {what}"
            );
        }
        // Recovered passwords (those the audit could guess) never appear; a password equal to
        // the account name is the name itself and is not a leak of anything more.
        if pw.len() >= 6 && !name.to_lowercase().contains(&pw.to_lowercase()) {
            assert!(
                !everything.contains(&pw.to_lowercase()),
                "password of {name} found in output/logs"
            );
            assert!(
                !stored.contains(&pw.to_lowercase()),
                "password of {name} found in the store"
            );
        }
    }
    for h in &breached {
        assert!(
            !everything.contains(&h.to_lowercase()[..12]),
            "a breach-list hash in output/logs"
        );
    }
}

#[test]
fn bad_inputs_are_rejected_naming_the_line_and_leave_no_index() {
    let h = Hygie::sqlite();
    let dump = h.file(
        "dump.txt",
        &format!("ok:1:{NO_LM}:{}:::\nbroken:2:{NO_LM}:zz:::\n", nt_hex("x")),
    );
    let err = common::stderr(hygie(&h).args(audit(dump.to_str().expect("utf8"), &[])), 2);
    assert!(err.contains("line 2: field 4 (NT hash)"), "{err}");
    assert!(!h.data().exists(), "bad input leaves no store");

    let list = h.file(
        "l.txt",
        "0000000000000000000000000000000B:1\n0000000000000000000000000000000A:1\n",
    );
    let idx = h.path().join("x.idx");
    let err = common::stderr(
        hygie(&h)
            .args(["breached", "import"])
            .arg(&list)
            .arg("-o")
            .arg(&idx),
        2,
    );
    assert!(err.contains("line 2: not sorted"), "{err}");
    assert!(!idx.exists());
}
