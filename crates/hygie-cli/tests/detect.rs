//! `hygie rules check`, `hygie detect`, `hygie alerts`, `hygie ingest` end to end.

mod common;

use assert_cmd::prelude::*;
use common::{FINESS, HOSPITAL, Hygie};
use hygie_testkit::{SSH_ROOT_RULE, WHOAMI, WHOAMI_RULE, shared_data, sysmon_process};
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

/// The testkit's whoami rule (`t-whoami`), then the SSH root-login rule (`t-ssh`).
fn sigma_rules() -> String {
    format!("{WHOAMI_RULE}---{SSH_ROOT_RULE}")
}

#[test]
fn rules_check_lists_refusals_with_file_and_reason() {
    let h = Hygie::sqlite();
    let rules = h.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(rules.join("good.yml"), sigma_rules()).expect("write");
    std::fs::write(rules.join("bad.yml"), "title: x\nlogsource: {product: windows}\ndetection:\n  sel: {a|bogus: 1}\n  condition: sel\n").expect("write");
    let v = common::json(
        h.cmd()
            .args(["rules", "check"])
            .arg(&rules)
            .args(["--format", "json"]),
        0,
    );
    assert_eq!(v["loaded"], 2);
    assert_eq!(v["refused"], 1);
    assert!(
        v["refusals"][0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("bad.yml"))
    );
    assert!(
        v["refusals"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
}

#[test]
fn detect_on_files_stores_and_lists_alerts() {
    let h = Hygie::sqlite();
    let rules = h.file("r.yml", &sigma_rules());
    let logs = h.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let mut j = String::new();
    for i in 0..5 {
        let mut e = sysmon_process("pc1", WHOAMI);
        e["EventRecordID"] = i.into();
        e["TimeCreated"] = format!("2025-01-01T00:00:0{i}Z").into();
        j.push_str(&format!("{e}\n"));
    }
    j.push_str("{corrupt\n");
    std::fs::write(logs.join("a.jsonl"), j).expect("write");
    std::fs::write(
        logs.join("b.log"),
        "<38>Oct 11 22:14:15 srv1 sshd[1]: Failed password for root from 10.0.0.1\n",
    )
    .expect("write");
    h.add(&HOSPITAL);
    let detect = || {
        let mut c = h.cmd();
        c.args(["detect", "--rules"])
            .arg(&rules)
            .arg("--logs")
            .arg(&logs)
            .args(["--facility", FINESS]);
        c
    };
    let out = common::run(detect().args(["--format", "json"]), 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a.jsonl (line 6)"),
        "corrupt line reported with its location: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json array");
    let arr = v.as_array().expect("array");
    assert_eq!(
        arr.len(),
        2,
        "five whoami matches on one host aggregate into one alert: {v:#}"
    );
    let who = arr
        .iter()
        .find(|a| a["rule_id"] == "t-whoami")
        .expect("whoami alert");
    assert_eq!(who["count"], 5);
    assert_eq!(who["level"], "high");
    assert_eq!(who["host"], "pc1");
    assert_eq!(who["time"], "2025-01-01T00:00:00Z");
    assert!(
        who["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "attack.t1033"))
    );
    assert!(
        arr.iter()
            .any(|a| a["rule_id"] == "t-ssh" && a["host"] == "srv1")
    );

    let listed = h.json(&["alerts", "list", "--facility", FINESS], 0);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    // Running again does not duplicate alerts (stable ids).
    detect().assert().success();
    let csv = h.stdout(
        &["alerts", "list", "--facility", FINESS, "--format", "csv"],
        0,
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("time,level,host,rule_id,title"));
    // The table names each alert by its id, with its triage status.
    let id = listed[0]["id"].as_str().expect("id");
    let table = h.stdout(&["alerts", "list", "--facility", FINESS], 0);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(id) && l.contains(" new ")),
        "{table}"
    );
    // Link to an incident, both ways: the alert names the incident, the incident the alert.
    let opened = h.json(
        &[
            "incident",
            "open",
            "--facility",
            FINESS,
            "--title",
            "t",
            "--awareness",
            "2024-01-01T10:00:00+01:00",
        ],
        0,
    );
    let inc = opened["id"].as_str().expect("incident id");
    for (alert, incident, code) in [(id, inc, 0), ("nope", inc, 3), (id, "INC-99999", 3)] {
        h.run(
            &[
                "alerts",
                "link",
                "--facility",
                FINESS,
                alert,
                "--incident",
                incident,
            ],
            code,
        );
    }
    let listed = h.json(&["alerts", "list", "--facility", FINESS], 0);
    let linked = listed
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["id"] == id)
        .expect("the linked alert");
    assert_eq!(linked["incident"], inc);
    assert_eq!(linked["status"], "incident");
    let shown = h.json(&["incident", "show", inc], 0);
    assert!(shown.to_string().contains(id), "{shown}");
}

#[test]
fn detect_regression_set_covers_the_cases() {
    let Some(data) = shared_data() else { return };
    let h = Hygie::sqlite();
    let sigma = data.join("sigma");
    let v = common::json(
        h.cmd()
            .args(["detect", "--rules"])
            .arg(sigma.join("rules"))
            .arg("--rules")
            .arg(sigma.join("rules-emerging-threats"))
            .arg("--rules")
            .arg(sigma.join("rules-threat-hunting"))
            .arg("--logs")
            .arg(sigma.join("regression_data"))
            .args(["--format", "json"]),
        0,
    );
    let ids: std::collections::BTreeSet<String> = v
        .as_array()
        .expect("array")
        .iter()
        .inspect(|a| {
            for k in ["rule_id", "title", "level", "time", "host"] {
                assert!(a.get(k).is_some(), "{k} missing in {a}");
            }
            // Windows events always carry a time and a host; the one Cisco
            // sample is a bare line without either.
            if a["source"]
                .as_str()
                .is_some_and(|s| s.ends_with(".evtx") || s.ends_with(".json"))
            {
                assert!(!a["time"].is_null() && !a["host"].is_null(), "{a}");
            }
        })
        .filter_map(|a| a["rule_id"].as_str().map(String::from))
        .collect();
    // Case ids are the regression folders' rule ids (file stems of the samples).
    let mut covered = 0;
    let mut cases = 0;
    let mut stack = vec![sigma.join("regression_data")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "evtx") {
                cases += 1;
                let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                if ids.contains(stem) {
                    covered += 1;
                }
            }
        }
    }
    assert_eq!(cases, 202);
    assert!(covered >= 200, "covered {covered}/202");
}

#[test]
fn ingest_over_loopback_stores_alerts_and_flushes_on_sigterm() {
    let h = Hygie::sqlite();
    let rules = h.file("r.yml", &sigma_rules());
    h.add(&HOSPITAL);
    let mut child = h
        .cmd()
        .args([
            "ingest",
            "--listen",
            "json+tcp://127.0.0.1:0",
            "--listen",
            "syslog+udp://127.0.0.1:0",
            "--rules",
        ])
        .arg(&rules)
        .args(["--facility", FINESS, "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut addrs = Vec::new();
    let mut line = String::new();
    while addrs.len() < 2 && started.elapsed() < Duration::from_secs(60) {
        line.clear();
        if err.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(rest) = line.strip_prefix("listening ") {
            let addr = rest.split_whitespace().nth(1).expect("addr").to_string();
            addrs.push(addr);
        }
    }
    assert_eq!(addrs.len(), 2, "listeners announced");
    let mut tcp = std::net::TcpStream::connect(&addrs[0]).expect("connect");
    for i in 0..1000 {
        let img = if i % 100 == 0 { WHOAMI } else { "C:\\x.exe" };
        writeln!(tcp, "{}", sysmon_process(&format!("pc{i}"), img)).expect("write");
    }
    drop(tcp);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(
        b"<38>Oct 11 22:14:15 srv1 sshd[1]: Failed password for root from 10.0.0.1",
        &addrs[1],
    )
    .expect("send");
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats json");
    assert_eq!(stats["accepted"], 1001, "{stats}");
    assert_eq!(stats["evaluated"], 1001);
    let v = h.json(&["alerts", "list", "--facility", FINESS], 0);
    let arr = v.as_array().expect("array");
    assert_eq!(
        arr.iter().filter(|a| a["rule_id"] == "t-whoami").count(),
        10,
        "ten hosts"
    );
    assert_eq!(arr.iter().filter(|a| a["rule_id"] == "t-ssh").count(), 1);
}

/// Issue 25: `detect` used to exit 0 when no input could be read, which a scheduled job takes
/// for "no alert".
#[test]
fn detect_fails_when_no_event_could_be_read() {
    let h = Hygie::sqlite();
    let rules = h.file("rules.yml", WHOAMI_RULE);
    let logs = h.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(logs.join("broken.evtx"), b"this is not an EVTX file").expect("write");
    let detect = || {
        let mut c = h.cmd();
        c.args(["detect", "--rules"])
            .arg(&rules)
            .arg("--logs")
            .arg(&logs);
        c
    };
    let err = common::stderr(&mut detect(), 2);
    assert!(err.contains("no event could be read"), "{err}");
    // One readable file beside the broken one: a run with warnings, not a failure.
    let mut event = sysmon_process("pc1", r"C:\Windows\System32\cmd.exe");
    event["TimeCreated"] = "2025-03-01T10:00:00Z".into();
    std::fs::write(logs.join("ok.jsonl"), format!("{event}\n")).expect("write");
    common::run(&mut detect(), 0);
}
