//! Federation (issue 19), what the agency does after its requests and what it oversees:
//! - the region's serious incidents and late notifications, read from the obligations the
//!   facilities' packages carry, judged again at the region's instant (`hygie region
//!   incidents`: JSON, CSV, text, filters, bad filters refused);
//! - a campaign chased, withdrawn and closed at the region (PostgreSQL, HTTPS with a test CA),
//!   each travelling down at the facility's next push (SQLite) and shown there;
//! - `hygie serve --sync-to` after `hygie identity rotate` while it runs: the next scheduled push
//!   is signed with the new key and the region accepts it (the enrolment moves).

#![allow(clippy::unwrap_used)]

mod common;

use common::federation::Federation;
use common::{BOUND, FINESS, Hygie, free_port, serve};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn export(f: &Hygie, name: &str) -> std::path::PathBuf {
    let path = f.path().join(name);
    f.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "-o",
            path.to_str().unwrap(),
        ],
        0,
    );
    path
}

#[test]
fn the_region_lists_serious_incidents_and_late_notifications() {
    let Some(region) = Hygie::postgres() else {
        return;
    };
    let facility = Hygie::sqlite();
    facility.run(&["demo"], 0);
    let id = facility.json(
        &[
            "incident",
            "open",
            "--facility",
            FINESS,
            "--title",
            "Rançongiciel",
            "--awareness",
            "2026-05-04T09:00",
            "--category",
            "ransomware",
        ],
        0,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fk = facility.json(&["identity", "show"], 0)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    region.json(&["region", "enrol", "--finess", FINESS, "--key", &fk], 0);
    region.json(
        &[
            "sync",
            "import",
            export(&facility, "p1.hygie").to_str().unwrap(),
        ],
        0,
    );
    let n = region.json(&["region", "incidents", "DEMO"], 0);
    let lines = n["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{n}");
    assert!(
        lines
            .iter()
            .all(|l| l["facility"] == FINESS && l["incident"] == id.as_str())
    );
    // An incident of May: its legal clocks ran out long ago, nothing was sent.
    let late: Vec<&Value> = lines.iter().filter(|l| l["state"] == "late").collect();
    assert!(!late.is_empty(), "{n}");
    assert_eq!(
        n["late_unsent"].as_u64().unwrap() as usize,
        late.len(),
        "{n}"
    );
    assert_eq!(lines[0]["state"], "late", "late first: {n}");
    assert!(
        late.iter().all(|l| l["days_late"].as_i64().unwrap() > 100),
        "{n}"
    );
    let serious = lines.iter().any(|l| l["duty"] == "cert_sante");
    assert_eq!(n["open_serious"], u64::from(serious), "{n}");

    // The facility sends one of them now: late by as many days, sent late, no longer unsent.
    let duty = late[0]["duty"].as_str().unwrap().to_owned();
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    facility.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            &duty,
            "--sent-at",
            &now,
        ],
        0,
    );
    region.json(
        &[
            "sync",
            "import",
            export(&facility, "p2.hygie").to_str().unwrap(),
        ],
        0,
    );
    let n2 = region.json(&["region", "incidents", "DEMO", "--duty", &duty], 0);
    assert_eq!(n2["lines"].as_array().unwrap().len(), 1, "{n2}");
    assert_eq!(n2["lines"][0]["state"], "sent_late", "{n2}");
    assert!(n2["lines"][0]["days_late"].as_i64().unwrap() > 100, "{n2}");
    assert_eq!(
        n2["late_unsent"].as_u64().unwrap() + 1,
        n["late_unsent"].as_u64().unwrap(),
        "{n2}"
    );
    // Late only, as CSV: the one writer's header, only late rows.
    let csv = region.stdout(
        &["region", "incidents", "DEMO", "--late", "--format", "csv"],
        0,
    );
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "finess,facility,departement,incident,serious,duty,duty_label,state,due,sent,days_late"
    );
    let rest: Vec<&str> = rows.collect();
    assert_eq!(rest.len(), n["late"].as_u64().unwrap() as usize, "{csv}");
    assert!(
        rest.iter()
            .all(|r| r.contains(",late,") || r.contains(",sent_late,")),
        "{csv}"
    );
    let text = common::stdout(
        region
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args(["region", "incidents", "DEMO"]),
        0,
    );
    assert!(text.contains("signalements en retard"), "{text}");
    // Another département, another facility: nothing.
    let none = region.json(&["region", "incidents", "DEMO", "--departement", "2A"], 0);
    assert!(none["lines"].as_array().unwrap().is_empty(), "{none}");
    // Bad filters: refused before the store is read, exit 2.
    region.run(&["region", "incidents", "DEMO", "--duty", "bogus"], 2);
    region.run(&["region", "incidents", "DEMO", "--facility", "123"], 2);
}

/// The facility and its region with keys both ways, the region served over HTTPS: the set-up,
/// the region's port and its server.
fn federated() -> Option<(Federation, u16, common::Server)> {
    let fed = Federation::new()?;
    fed.trust_region();
    let port = free_port();
    let server = fed.serve_region(port);
    Some((fed, port, server))
}

#[test]
fn a_campaign_chased_then_withdrawn_reaches_the_facility_at_its_next_push() {
    let Some((fed, port, _server)) = federated() else {
        return;
    };
    let (facility, region) = (&fed.facility, &fed.region);
    // The first push registers the facility at the region.
    assert_eq!(fed.push(port, 0)["outcome"], "pushed");
    let due = jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(30))
        .unwrap()
        .to_string();
    let create = |measure: &str| {
        region.json(
            &[
                "region",
                "request",
                "create",
                "--region",
                "DEMO",
                "--target",
                &format!("facility:{FINESS}"),
                "--measure",
                measure,
                "--due",
                &due,
                "--message",
                "Merci de transmettre la preuve.",
            ],
            0,
        )["id"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    let chased = create("BCK-06");
    let closed = create("BCK-01");
    let r = fed.push(port, 0);
    assert_eq!(r["requests"]["received"]["new"], 2, "{r}");

    // Chased: the facility that has not answered is reminded; it sees it after its next push.
    let reminder = region.json(&["region", "request", "remind", &chased], 0);
    assert_eq!(
        reminder["facilities"],
        serde_json::json!([FINESS]),
        "{reminder}"
    );
    let show = region.json(&["region", "request", "show", &chased], 0);
    assert_eq!(
        show["campaign"]["reminders"].as_array().unwrap().len(),
        1,
        "{show}"
    );
    assert_eq!(show["requests"][0]["reminders"], 1, "{show}");
    let csv = region.stdout(
        &["region", "request", "show", &chased, "--format", "csv"],
        0,
    );
    assert!(
        csv.lines().next().unwrap().ends_with(",reminded_at"),
        "{csv}"
    );
    assert!(!csv.lines().nth(1).unwrap().ends_with(','), "{csv}");
    let r = fed.push(port, 0);
    assert_eq!(
        (
            r["requests"]["received"]["new"].as_u64(),
            r["requests"]["received"]["updated"].as_u64()
        ),
        (Some(0), Some(1)),
        "{r}"
    );
    let list = facility.json(&["requests", "list", "--facility", FINESS], 0);
    let mine = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["campaign"].as_u64().unwrap().to_string() == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        mine(&list, &chased)["reminded_at"]
            .as_str()
            .map(|t| &t[..10]),
        reminder["at"].as_str().map(|t| &t[..10]),
        "{list}"
    );
    assert_eq!(mine(&list, &chased)["state"], "open", "{list}");
    let text = common::stdout(
        facility
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args(["requests", "list", "--facility", FINESS]),
        0,
    );
    assert!(text.contains("relancée le"), "{text}");

    // Withdrawn and closed: each travels down; the withdrawn request is no longer due.
    let w = region.json(&["region", "request", "withdraw", &chased], 0);
    assert!(w["withdrawn_at"].is_string(), "{w}");
    assert!(
        w["withdrawn_by"].as_str().unwrap().starts_with("cli:"),
        "{w}"
    );
    let c = region.json(&["region", "request", "close", &closed], 0);
    assert!(c["closed_at"].is_string(), "{c}");
    // Ended once: a second end or a reminder is refused (exit 4), nothing changes.
    let before = common::store_dump(region);
    region.run(&["region", "request", "close", &chased], 4);
    region.run(&["region", "request", "remind", &closed], 4);
    assert_eq!(common::store_dump(region), before);
    let r = fed.push(port, 0);
    assert_eq!(r["requests"]["received"]["updated"], 2, "{r}");
    let list = facility.json(&["requests", "list", "--facility", FINESS], 0);
    assert_eq!(mine(&list, &chased)["state"], "withdrawn", "{list}");
    assert!(mine(&list, &chased)["withdrawn_at"].is_string(), "{list}");
    assert!(mine(&list, &closed)["closed_at"].is_string(), "{list}");
    let listed = common::stdout(
        region
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args(["region", "request", "list", "DEMO"]),
        0,
    );
    assert!(
        listed.contains("retirée le") && listed.contains("close le"),
        "{listed}"
    );
    // The file that carried it follows the documented schema (and the check can fail).
    let file = region.path().join("requests.json");
    region.json(
        &[
            "region",
            "request",
            "export",
            "--facility",
            FINESS,
            "-o",
            file.to_str().unwrap(),
        ],
        0,
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sync-requests.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    common::conforms(&schema, &schema, &v, "$").unwrap();
    let carried: Vec<&Value> = v["requests"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        carried
            .iter()
            .any(|r| r["withdrawn_at"].is_string() && r["reminded_at"].is_string())
    );
    let mut extra = v.clone();
    extra["requests"]["requests"][0]["cancelled"] = true.into();
    assert!(common::conforms(&schema, &schema, &extra, "$").is_err());
    // Nothing changed since: the next push updates nothing.
    let r = fed.push(port, 0);
    assert_eq!(r["requests"]["received"]["updated"], 0, "{r}");
}

#[test]
fn the_scheduled_push_signs_with_a_key_rotated_while_serve_runs() {
    let Some((fed, port, _server)) = federated() else {
        return;
    };
    let (facility, region) = (&fed.facility, &fed.region);
    let (ca, token_file) = (&fed.ca, &fed.token_file);
    let fport = free_port();
    let _facility_server = serve(
        facility,
        fport,
        &[
            "--sync-to",
            &format!("https://localhost:{port}"),
            "--sync-facility",
            FINESS,
            "--sync-token-file",
            token_file.to_str().unwrap(),
            "--sync-ca-cert",
            ca.to_str().unwrap(),
            "--sync-every",
            "1",
        ],
    );
    let imports = |r: &Hygie| {
        common::store_dump(r)
            .into_iter()
            .find(|(t, _)| t == "sync_imports")
            .map(|(_, n)| n)
            .unwrap_or(0)
    };
    let deadline = Instant::now() + BOUND;
    while imports(region) == 0 {
        assert!(
            Instant::now() < deadline,
            "the first scheduled push did not land"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Rotated while the server runs: the next pass (a minute later) carries the statement,
    // signed by the new key, and the region moves the enrolment to it.
    let rotated = facility.json(&["identity", "rotate"], 0);
    let deadline = Instant::now() + Duration::from_secs(60) + BOUND;
    loop {
        let keys = region.json(&["region", "keys"], 0);
        let mine: Vec<&Value> = keys
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["facility"] == FINESS)
            .collect();
        if mine.len() == 2 && !facility.data().join("identity.old.key").exists() {
            assert!(mine[0]["revoked_at"].is_string(), "{keys}");
            assert_eq!(mine[1]["fingerprint"], rotated["fingerprint"], "{keys}");
            assert!(mine[1]["revoked_at"].is_null(), "{keys}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduled push after the rotation was not accepted: {keys}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(imports(region), 2);
}
