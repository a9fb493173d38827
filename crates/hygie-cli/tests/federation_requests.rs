//! Requests and campaigns (issue 19), two real instances on loopback: the region is `hygie
//! serve` on PostgreSQL over HTTPS (a test CA made with openssl), the facility on SQLite. The
//! facility trusts the region's key; the agency asks it for BCK-06 by a date; the request
//! reaches the facility at its next push and is listed there (CLI); the facility declares BCK-06
//! with evidence and pushes; the region's campaign report shows it answered (JSON, CSV, HTML). A
//! requests file changed after signing, one signed by an untrusted key, or one addressed to
//! another facility is refused with its reason, and the facility's store is unchanged. Then the
//! facility rotates its key: the push carries the statement signed by the old key, the region
//! moves the enrolment (the push token follows), a package signed by the old key is refused, and
//! a rotation signed by a key the region never enrolled changes nothing.

#![allow(clippy::unwrap_used)]

mod common;

use common::federation::Federation;
use common::{FINESS, Hygie, free_port, serve};
use serde_json::Value;

/// Sign in to the facility's web app as `it_staff` (no second factor) and GET `path`.
fn web_get(addr: &str, path: &str) -> hygie_testkit::http::Response {
    use hygie_testkit::http::{exchange, form};
    let login = exchange(addr, "GET", "/login", &[], "").unwrap();
    let pre = login.cookie("hygie_pre").unwrap();
    let csrf = login.field("csrf").unwrap();
    let r = exchange(
        addr,
        "POST",
        "/login",
        &[
            ("Cookie", &format!("hygie_pre={pre}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form(&[
            ("csrf", &csrf),
            ("username", "it"),
            ("password", "a long passphrase for the IT team"),
        ]),
    )
    .unwrap();
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r.cookie("hygie_session").unwrap();
    exchange(
        addr,
        "GET",
        path,
        &[("Cookie", &format!("hygie_session={session}"))],
        "",
    )
    .unwrap()
}

fn in_days(n: i64) -> String {
    let today: jiff::civil::Date = common::today().parse().unwrap();
    today
        .checked_add(jiff::Span::new().days(n))
        .unwrap()
        .to_string()
}

#[test]
fn a_request_reaches_the_facility_at_its_push_and_its_answer_comes_back() {
    // Keys both ways: the region enrols the facility's, the facility trusts the region's.
    let Some(fed) = Federation::new() else {
        return;
    };
    let (facility, region) = (&fed.facility, &fed.region);
    let (rid, trusted) = fed.trust_region();
    assert_eq!(trusted["fingerprint"], rid["fingerprint"], "{trusted}");
    let port = free_port();
    let _server = fed.serve_region(port);

    // The first push registers the facility at the region; nothing is asked yet.
    let r = fed.push(port, 0);
    assert_eq!(r["outcome"], "pushed", "{r}");
    assert_eq!(r["requests"]["outcome"], "received", "{r}");
    assert_eq!(r["requests"]["received"]["requests"], 0, "{r}");

    // The agency asks for a restore test (BCK-06) within 30 days.
    let due = in_days(30);
    let c = region.json(
        &[
            "region",
            "request",
            "create",
            "--region",
            "DEMO",
            "--target",
            &format!("facility:{FINESS}"),
            "--measure",
            "BCK-06",
            "--due",
            &due,
            "--message",
            "Merci de transmettre un test de restauration.",
            "--message-en",
            "Please send a restore test.",
        ],
        0,
    );
    let id = c["id"].as_u64().unwrap().to_string();
    assert_eq!(c["facilities"], serde_json::json!([FINESS]), "{c}");
    // A target that asks nobody, or a measure outside the catalogue, makes no campaign.
    region.run(
        &[
            "region",
            "request",
            "create",
            "--region",
            "DEMO",
            "--target",
            "kind:imaging",
            "--measure",
            "BCK-06",
            "--due",
            &due,
            "--message",
            "x",
        ],
        3,
    );
    region.run(
        &[
            "region",
            "request",
            "create",
            "--region",
            "DEMO",
            "--target",
            "region",
            "--measure",
            "ZZZ-99",
            "--due",
            &due,
            "--message",
            "x",
        ],
        2,
    );
    let show = region.json(&["region", "request", "show", &id], 0);
    assert_eq!(show["requests"][0]["state"], "open", "{show}");

    // The facility's next push brings it down; it is listed with its days left.
    let r = fed.push(port, 0);
    assert_eq!(r["requests"]["received"]["new"], 1, "{r}");
    let list = facility.json(&["requests", "list", "--facility", FINESS], 0);
    assert_eq!(list[0]["measures"], serde_json::json!(["BCK-06"]), "{list}");
    assert_eq!(list[0]["due"], due.as_str(), "{list}");
    assert_eq!(list[0]["days_left"], 30, "{list}");
    assert_eq!(list[0]["state"], "open", "{list}");
    assert_eq!(list[0]["message"]["en"], "Please send a restore test.");
    let text = common::stdout(
        facility
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args(["requests", "list", "--facility", FINESS]),
        0,
    );
    assert!(text.contains("Merci de transmettre"), "{text}");
    // The web app shows it: on the dashboard and on the requests page, linked to the measure.
    let pw = facility.file("it.password", "a long passphrase for the IT team\n");
    facility.run(
        &[
            "users",
            "add",
            "--username",
            "it",
            "--name",
            "IT",
            "--role",
            "it_staff",
            "--facilities",
            FINESS,
            "--password-file",
            pw.to_str().unwrap(),
        ],
        0,
    );
    let web_port = free_port();
    let web = format!("127.0.0.1:{web_port}");
    let facility_server = serve(facility, web_port, &[]);
    let page = web_get(&web, &format!("/facilities/{FINESS}/requests?lang=en"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Please send a restore test.")
            || page
                .body
                .contains("Merci de transmettre un test de restauration."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("/facilities/{FINESS}/measures/BCK-06")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&due), "{}", page.body);
    let dash = web_get(&web, &format!("/facilities/{FINESS}"));
    assert!(
        dash.body.contains("id=\"agency-requests\""),
        "{}",
        dash.body
    );
    drop(facility_server);
    // Fetched again: nothing new.
    let r = fed.push(port, 0);
    assert_eq!(r["requests"]["received"]["new"], 0, "{r}");

    // The facility answers: BCK-06 declared with evidence, then pushed.
    facility.run(
        &[
            "assess",
            "set",
            FINESS,
            "BCK-06",
            "--status",
            "implemented",
            "--owner",
            "RSSI",
        ],
        0,
    );
    let proof = facility.file(
        "restore-test.txt",
        "Restore test of 2027: 42 files restored.\n",
    );
    facility.run(
        &[
            "assess",
            "evidence",
            FINESS,
            "BCK-06",
            "--file",
            proof.to_str().unwrap(),
        ],
        0,
    );
    let list = facility.json(&["requests", "list", "--facility", FINESS], 0);
    assert_eq!(
        list[0]["state"], "answered",
        "the facility sees it answered: {list}"
    );
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    let show = region.json(&["region", "request", "show", &id], 0);
    assert_eq!(show["requests"][0]["state"], "answered", "{show}");
    assert!(
        show["requests"][0]["answered_at"].as_str().is_some(),
        "{show}"
    );
    let csv = region.stdout(&["region", "request", "show", &id, "--format", "csv"], 0);
    assert!(csv.starts_with("finess,facility,state,"), "{csv}");
    assert!(
        csv.contains(&format!("{FINESS},")) && csv.contains(",answered,"),
        "{csv}"
    );
    let html = common::stdout(
        region
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args(["region", "request", "show", &id, "--format", "html"]),
        0,
    );
    assert!(
        html.contains("répondu") && html.contains("BCK-06"),
        "{html}"
    );
    let listed = region.json(&["region", "request", "list", "DEMO"], 0);
    assert_eq!(
        listed[0]["id"].as_u64().unwrap().to_string(),
        id,
        "{listed}"
    );

    // Offline: the file the agency exports imports as the push's fetch did (nothing new).
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
    let ok = facility.json(
        &[
            "requests",
            "import",
            "--facility",
            FINESS,
            file.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        (ok["requests"].as_u64(), ok["new"].as_u64()),
        (Some(1), Some(0)),
        "{ok}"
    );

    // Refused, the facility's store unchanged: a changed due date, a key not trusted, another
    // facility's file.
    let before = common::store_dump(facility);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["requests"]["requests"][0]["due"] = in_days(300).into();
    let tampered = facility.file("tampered.json", &v.to_string());
    let out = facility.run(
        &[
            "requests",
            "import",
            "--facility",
            FINESS,
            tampered.to_str().unwrap(),
        ],
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("signature") && err.contains("modifié"),
        "{err}"
    );
    // The facility's own key stands for a stranger's: it signs a file for this facility.
    let stranger = Hygie::sqlite();
    stranger.run(&["demo"], 0);
    let forged = stranger.path().join("forged.json");
    stranger.json(
        &[
            "region",
            "request",
            "export",
            "--facility",
            FINESS,
            "-o",
            forged.to_str().unwrap(),
        ],
        0,
    );
    let refused = facility.json(
        &[
            "requests",
            "import",
            "--facility",
            FINESS,
            forged.to_str().unwrap(),
        ],
        2,
    );
    assert_eq!(refused["code"], "untrusted_region", "{refused}");
    assert!(
        refused["reason"]["fr"]
            .as_str()
            .unwrap()
            .contains("empreinte"),
        "{refused}"
    );
    let other = common::finess("69000000");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["requests"]["finess"] = other.clone().into();
    let elsewhere = facility.file("elsewhere.json", &v.to_string());
    let refused = facility.json(
        &[
            "requests",
            "import",
            "--facility",
            FINESS,
            elsewhere.to_str().unwrap(),
        ],
        2,
    );
    // Changed, so the signature fails first: nothing about another facility is ever read.
    assert_eq!(refused["code"], "bad_signature", "{refused}");
    assert_eq!(
        common::store_dump(facility),
        before,
        "a refused file changed the store"
    );

    // Key rotation: the new key is announced by a statement signed by the old one, carried by
    // the next push; the region moves the enrolment, and the old key is refused afterwards.
    let old_key = facility.path().join("old-identity.key");
    std::fs::copy(facility.data().join("identity.key"), &old_key).unwrap();
    let rotated = facility.json(&["identity", "rotate"], 0);
    assert_ne!(
        rotated["fingerprint"], rotated["old_fingerprint"],
        "{rotated}"
    );
    assert!(facility.data().join("identity.old.key").exists());
    // A second rotation waits for the first to be acknowledged.
    facility.run(&["identity", "rotate"], 2);
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert_eq!(r["rotated"], true, "{r}");
    assert!(
        !facility.data().join("identity.old.key").exists(),
        "the old key is dropped"
    );
    let keys = region.json(&["region", "keys"], 0);
    let mine: Vec<&Value> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["facility"] == FINESS)
        .collect();
    assert_eq!(mine.len(), 2, "{keys}");
    assert!(mine[0]["revoked_at"].is_string(), "{keys}");
    assert_eq!(mine[1]["fingerprint"], rotated["fingerprint"], "{keys}");
    assert!(mine[1]["revoked_at"].is_null(), "{keys}");
    // The push token followed the enrolment: the next push goes through with the new key.
    facility.run(
        &[
            "assess",
            "set",
            FINESS,
            "BCK-06",
            "--status",
            "in_progress",
            "--owner",
            "RSSI",
        ],
        0,
    );
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert!(r.get("rotated").is_none(), "{r}");
    // A package signed by the old key is refused now, the region unchanged.
    std::fs::copy(&old_key, facility.data().join("identity.key")).unwrap();
    let stale = facility.path().join("stale.hygie");
    facility.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "-o",
            stale.to_str().unwrap(),
        ],
        0,
    );
    let before = common::store_dump(region);
    let refused = region.json(&["sync", "import", stale.to_str().unwrap()], 2);
    assert_eq!(refused["code"], "revoked_key", "{refused}");
    // A rotation signed by a key the region never enrolled: refused, the region unchanged.
    stranger.json(&["identity", "rotate"], 0);
    let forged = stranger.path().join("forged.hygie");
    stranger.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "-o",
            forged.to_str().unwrap(),
        ],
        0,
    );
    let refused = region.json(&["sync", "import", forged.to_str().unwrap()], 2);
    assert_eq!(refused["code"], "rotation_not_enrolled", "{refused}");
    assert_eq!(
        common::store_dump(region),
        before,
        "a refused package changed the region"
    );
}
