//! `hygie incident` end to end, on SQLite and on PostgreSQL.
//!
//! Databases come from `hygie_testkit::TestDb`: a fresh SQLite file, and a fresh PostgreSQL
//! database per test (dropped after; fails in CI when unreachable, else prints SKIP).

mod common;

use common::{HOSPITAL, Hygie};
use serde_json::Value;
use sqlx::Connection as _;

fn rt() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    }
}

/// What `hygie ARGS` printed, which must end with exit `code`: stdout, and stderr after it when
/// the command failed (where the reason is).
fn said(env: &Hygie, args: &[&str], code: i32) -> String {
    let out = env.run(args, code);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if code == 0 {
        stdout
    } else {
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr))
    }
}

/// Record a hospital with this NIS 2 status; its FINESS.
fn add_facility(env: &Hygie, first8: &str, nis2: &str) -> String {
    let finess = common::finess(first8);
    env.add(&common::Facility {
        finess: &finess,
        name: "CHU de Test",
        nis2: Some(nis2),
        ..HOSPITAL
    });
    finess
}

/// Run SQL on the test database (to tamper with rows).
fn sql(env: &Hygie, q: &str) {
    let url = env.database_url();
    let r = rt().block_on(async {
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&url).await?;
        sqlx::query(q).execute(&mut c).await?;
        c.close().await
    });
    if let Err(e) = r {
        panic!("sql {q}: {e}");
    }
}

/// `incident open --facility FACILITY --title TITLE --awareness AT`, then `rest`.
fn open<'a>(facility: &'a str, title: &'a str, at: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let head = [
        "incident",
        "open",
        "--facility",
        facility,
        "--title",
        title,
        "--awareness",
        at,
    ];
    [&head[..], rest].concat()
}

/// Open an incident (`open` with these arguments); its id.
fn opened(env: &Hygie, facility: &str, title: &str, at: &str, rest: &[&str]) -> String {
    let v = env.json(&open(facility, title, at, rest), 0);
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// `incident notify ID --duty DUTY --sent-at AT`, then `rest`.
fn notify<'a>(id: &'a str, duty: &'a str, at: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let head = ["incident", "notify", id, "--duty", duty, "--sent-at", at];
    [&head[..], rest].concat()
}

fn obligation<'a>(show: &'a Value, duty: &str) -> &'a Value {
    match show["obligations"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["duty"] == duty))
    {
        Some(o) => o,
        None => panic!("no obligation {duty} in {show}"),
    }
}

/// The whole life of a high-risk breach at a NIS 2 essential entity.
fn full_lifecycle(env: &Hygie) {
    let fac = add_facility(env, "35000001", "essential");
    let facts = env.file(
        "facts.json",
        &format!(
            r#"{{"facility": "{fac}", "title": "Rançongiciel sur le PACS", "awareness": "2026-03-29T01:30:00+01:00",
               "occurrence": "2026-03-28T23:00:00+01:00", "serious": true, "personal_data_breach": "high",
               "nis2_significant": true, "categories": ["ransomware", "data_breach"], "people_count": 1200,
               "dpo_contact": "dpo@chu.test", "affected_systems": ["PACS"]}}"#
        ),
    );
    let opened = env.json(
        &[
            "incident",
            "open",
            "--from",
            facts.to_str().unwrap_or_default(),
        ],
        0,
    );
    let id = opened["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(id, format!("INC-{fac}-00001"));
    // The administrator records NIS 2 in force before the incident: its duties are legal
    // deadlines and late like the others (`legal_status_complaint_and_evidence` shows them
    // anticipated while the law is not in force).
    env.run(
        &["regime", "set", "nis2_fr", "--in-force-from", "2026-01-01"],
        0,
    );

    let show = env.json(&["incident", "show", &id], 0);
    let due = |d: &str| {
        obligation(&show, d)["due"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // Across the March transition: 72 absolute hours after 01:30 (+01:00) is 02:30 (+02:00).
    assert_eq!(due("cnil"), "2026-04-01T02:30:00+02:00");
    assert_eq!(due("nis2_notification"), "2026-04-01T02:30:00+02:00");
    assert_eq!(due("nis2_early_warning"), "2026-03-30T02:30:00+02:00");
    assert_eq!(due("cert_sante"), "2026-03-30T02:30:00+02:00");
    assert_eq!(due("data_subjects"), "2026-04-01T02:30:00+02:00");
    assert_eq!(due("nis2_final"), "2026-05-01T02:30:00+02:00");
    for d in [
        "cert_sante",
        "cnil",
        "data_subjects",
        "nis2_early_warning",
        "nis2_notification",
        "nis2_final",
    ] {
        let o = obligation(&show, d);
        assert_eq!(o["status"], "late", "{d}");
        assert!(o["basis"].as_str().is_some_and(|b| !b.is_empty()));
        assert!(o["recipient"].as_str().is_some_and(|b| !b.is_empty()));
    }
    assert_eq!(
        obligation(&show, "nis2_intermediate")["status"],
        "not_required"
    );

    // Everything is late: `due` pages someone.
    let d = env.json(&["incident", "due", "--within", "6h"], 5);
    assert!(d["late"].as_u64().unwrap_or(0) >= 6, "{d}");

    // A late CNIL notification needs its reasons.
    let out = said(
        env,
        &notify(&id, "cnil", "2026-04-02T10:00:00+02:00", &[]),
        2,
    );
    assert!(out.contains("33(1)"), "{out}");
    // Sent before awareness is refused.
    let out = said(
        env,
        &notify(&id, "cert_sante", "2026-03-29T00:00:00+01:00", &[]),
        2,
    );
    assert!(out.contains("before awareness"), "{out}");
    said(
        env,
        &notify(
            &id,
            "cnil",
            "2026-04-02T10:00:00+02:00",
            &[
                "--reference",
                "CNIL-2026-123",
                "--late-reason",
                "Périmètre établi le 2 avril",
            ],
        ),
        0,
    );
    said(
        env,
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cnil",
            "--phase",
            "complement",
            "--sent-at",
            "2026-04-05T10:00:00+02:00",
        ],
        0,
    );
    let show = env.json(&["incident", "show", &id], 0);
    let cnil = obligation(&show, "cnil");
    assert_eq!(cnil["status"], "sent");
    assert_eq!(cnil["reference"], "CNIL-2026-123");
    assert_eq!(cnil["sent_at"], "2026-04-02T10:00:00+02:00");
    let sendings = show["sendings"].as_array().map(Vec::len);
    assert_eq!(sendings, Some(2));
    // The snapshot kept is the French CNIL draft.
    let snap = show["sendings"][0]["snapshot"].as_str().unwrap_or_default();
    assert!(
        snap.contains("Nature de la violation") && snap.contains("dpo@chu.test"),
        "{snap}"
    );

    // Drafts: Markdown and printable HTML, English on request.
    let md = said(
        env,
        &[
            "incident",
            "draft",
            &id,
            "--duty",
            "nis2_early_warning",
            "--format",
            "md",
        ],
        0,
    );
    assert!(md.contains("Acte illicite ou malveillant suspecté"), "{md}");
    let html = said(
        env,
        &[
            "incident",
            "draft",
            &id,
            "--duty",
            "cert_sante",
            "--format",
            "html",
            "--lang",
            "en",
        ],
        0,
    );
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("Potential or actual consequences on patient safety"),
        "{html}"
    );

    // Learning a new fact re-derives with history.
    said(
        env,
        &[
            "incident",
            "update",
            &id,
            "--gdpr34-exemption",
            "données chiffrées, clé non compromise",
        ],
        0,
    );
    let show = env.json(&["incident", "show", &id], 0);
    assert_eq!(obligation(&show, "data_subjects")["status"], "not_required");
    let hist: Vec<&Value> = show["obligation_history"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["duty"] == "data_subjects").collect())
        .unwrap_or_default();
    assert_eq!(hist.len(), 2, "{hist:?}");
    assert_eq!(hist[1]["cause"], "update: gdpr34_exemption");

    // Closing with unmet duties needs a justification.
    let out = said(env, &["incident", "close", &id], 2);
    assert!(out.contains("justification"), "{out}");
    said(
        env,
        &[
            "incident",
            "close",
            &id,
            "--justification",
            "Signalements faits par téléphone, voir main courante",
        ],
        0,
    );
    let out = said(env, &["incident", "update", &id, "--title", "x"], 2);
    assert!(out.contains("closed"), "{out}");

    // The register lists the breach; the export carries every sent version and the journal.
    let reg = env.json(&["incident", "register", "--facility", &fac], 0);
    assert_eq!(reg["entries"][0]["incident"], id);
    assert_eq!(reg["entries"][0]["cnil"]["reference"], "CNIL-2026-123");
    assert_eq!(
        reg["entries"][0]["cnil_late_reason"],
        "Périmètre établi le 2 avril"
    );
    let csv = said(
        env,
        &[
            "incident",
            "register",
            "--facility",
            &fac,
            "--format",
            "csv",
        ],
        0,
    );
    assert!(csv.lines().count() == 2, "{csv}");
    let exp = env.json(&["incident", "export", &id], 0);
    assert_eq!(exp["sent_versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(exp["journal"].as_array().map(Vec::len), Some(5));
    let html = said(env, &["incident", "export", &id, "--format", "html"], 0);
    assert!(html.contains("<h2>Obligations</h2>"), "{html}");

    // Journal slice verifies; tampering with the record is detected.
    let j = env.json(&["incident", "journal", &id], 0);
    assert_eq!(j["intact"], true);
    let actions: Vec<&str> = j["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        [
            "incident.open",
            "incident.notify",
            "incident.notify",
            "incident.update",
            "incident.close"
        ]
    );
    said(env, &["journal", "verify"], 0);
    sql(
        env,
        "UPDATE incidents SET record = REPLACE(record, 'CNIL-2026-123', 'CNIL-0000')",
    );
    let j = env.json(&["incident", "journal", &id], 5);
    assert_eq!(j["intact"], false, "{j}");
}

/// Reminders: due soon vs late, at a given instant; NIS 2 status from the facility record.
fn due_and_defaults(env: &Hygie) {
    let out_of_scope = add_facility(env, "35000002", "out_of_scope");
    let id = opened(
        env,
        &out_of_scope,
        "Hameçonnage",
        "2026-05-04T09:00",
        &["--serious", "--nis2-significant", "--category", "phishing"],
    );
    let show = env.json(&["incident", "show", &id], 0);
    assert_eq!(show["facts"]["nis2_status"], "out_of_scope");
    assert_eq!(
        show["facts"]["awareness"]
            .as_str()
            .map(|s| s.starts_with("2026-05-04T09:00:00+02:00")),
        Some(true)
    );
    assert_eq!(
        obligation(&show, "nis2_early_warning")["status"],
        "not_required"
    );

    // 30 min after awareness, within 1 h: CISO and DPO due at 10:00, nothing late.
    let d = env.json(
        &[
            "incident",
            "due",
            "--within",
            "1h",
            "--as-of",
            "2026-05-04T09:30:00+02:00",
        ],
        0,
    );
    let duties: Vec<&str> = d["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["duty"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(duties, ["internal_ciso", "internal_dpo"]);
    assert_eq!(d["late"], 0);
    // 90 min after: those two are late → exit 5; CERT Santé due within 24 h is listed as due.
    let d = env.json(
        &[
            "incident",
            "due",
            "--within",
            "24h",
            "--as-of",
            "2026-05-04T10:30:00+02:00",
            "--facility",
            &out_of_scope,
        ],
        5,
    );
    assert_eq!(d["late"], 2);
    assert!(d["items"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["duty"] == "cert_sante" && i["status"] == "due")
    }));
    said(
        env,
        &notify(&id, "internal_ciso", "2026-05-04T09:10:00+02:00", &[]),
        0,
    );
    said(
        env,
        &notify(&id, "internal_dpo", "2026-05-04T09:10:00+02:00", &[]),
        0,
    );
    env.json(
        &[
            "incident",
            "due",
            "--within",
            "1h",
            "--as-of",
            "2026-05-04T10:30:00+02:00",
        ],
        0,
    );

    // The facility's NIS 2 status is the default.
    let essential = add_facility(env, "35000003", "essential");
    let id2 = opened(
        env,
        &essential,
        "Indisponibilité du DPI",
        "2026-10-25T02:30:00+01:00",
        &["--nis2-significant"],
    );
    let show = env.json(&["incident", "show", &id2], 0);
    assert_eq!(
        obligation(&show, "nis2_early_warning")["due"],
        "2026-10-26T02:30:00+01:00"
    );
    assert_eq!(
        obligation(&show, "nis2_notification")["due"],
        "2026-10-28T02:30:00+01:00"
    );
}

/// Bad input changes nothing and says why.
fn refusals(env: &Hygie) {
    let fac = add_facility(env, "35000004", "important");
    // Ambiguous local time in October.
    let out = said(env, &open(&fac, "x", "2026-10-25T02:30", &[]), 2);
    assert!(out.contains("ambiguous"), "{out}");
    // Awareness before occurrence.
    let out = said(
        env,
        &open(
            &fac,
            "x",
            "2026-05-04T09:00:00+02:00",
            &["--occurrence", "2026-05-04T10:00:00+02:00"],
        ),
        2,
    );
    assert!(out.contains("before occurrence"), "{out}");
    // Unknown key in the JSON file, with its position.
    let f = env.file(
        "bad.json",
        &format!(r#"{{"facility": "{fac}", "title": "x", "awarness": "2026-05-04T09:00:00Z"}}"#),
    );
    let out = said(
        env,
        &["incident", "open", "--from", f.to_str().unwrap_or_default()],
        2,
    );
    assert!(out.contains("awarness") && out.contains("line 1"), "{out}");
    // Unknown facility.
    let other = common::finess("35000099");
    said(env, &open(&other, "x", "2026-05-04T09:00:00Z", &[]), 3);
    // Unknown incident.
    said(env, &["incident", "show", "INC-99999"], 3);
    // Nothing was created.
    let list = env.json(&["incident", "list", "--all"], 0);
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    // Backwards status.
    let id = opened(env, &fac, "x", "2026-05-04T09:00:00Z", &[]);
    said(env, &["incident", "update", &id, "--status", "resolved"], 0);
    let out = said(
        env,
        &["incident", "update", &id, "--status", "contained"],
        2,
    );
    assert!(out.contains("cannot go back"), "{out}");
}

macro_rules! on_both {
    ($name:ident, $sqlite:ident, $pg:ident) => {
        #[test]
        fn $sqlite() {
            $name(&Hygie::sqlite());
        }
        #[test]
        fn $pg() {
            if let Some(env) = Hygie::postgres() {
                $name(&env);
            }
        }
    };
}

on_both!(
    full_lifecycle,
    full_lifecycle_sqlite,
    full_lifecycle_postgres
);
on_both!(
    due_and_defaults,
    due_and_defaults_sqlite,
    due_and_defaults_postgres
);
on_both!(refusals, refusals_sqlite, refusals_postgres);
on_both!(
    legal_status_complaint_and_evidence,
    legal_status_complaint_and_evidence_sqlite,
    legal_status_complaint_and_evidence_postgres
);

/// Issue 22: the complaint duty (L.12-10-1), NIS 2 anticipated while not in force, the
/// evidence-preservation checklist.
fn legal_status_complaint_and_evidence(env: &Hygie) {
    let fac = add_facility(env, "35000001", "essential");
    let t = "2026-05-04T09:00:00+02:00";
    let open = |insurance: Option<&str>| {
        let mut args = vec![
            "incident",
            "open",
            "--facility",
            &fac,
            "--title",
            "Rançongiciel",
            "--awareness",
            t,
            "--category",
            "ransomware",
            "--nis2-significant",
        ];
        if let Some(i) = insurance {
            args.extend(["--cyber-insurance", i]);
        }
        env.json(&args, 0)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let insured = open(Some("Assureur X, contrat 42"));
    let show = |id: &str, as_of: &str| env.json(&["incident", "show", id, "--as-of", as_of], 0);
    // T + 100 h.
    let s = show(&insured, "2026-05-08T13:00:00+02:00");
    let c = obligation(&s, "complaint");
    assert_eq!(c["due"], "2026-05-07T09:00:00+02:00");
    assert_eq!(c["due_kind"], "legal");
    assert_eq!(c["status"], "late");
    assert!(
        c["basis"].as_str().is_some_and(|b| b.contains("L.12-10-1")),
        "{c}"
    );
    for d in ["nis2_early_warning", "nis2_notification", "nis2_final"] {
        let o = obligation(&s, d);
        assert_eq!(o["status"], "anticipated", "{d}");
        assert!(
            o["anticipated"]
                .as_str()
                .is_some_and(|a| a.contains("not in force")),
            "{o}"
        );
    }
    // Without insurance, T + 80 h: a recommendation, not legal-late.
    let bare = open(None);
    let s = show(&bare, "2026-05-07T17:00:00+02:00");
    let c = obligation(&s, "complaint");
    assert_eq!(c["status"], "recommended");
    assert_eq!(c["due_kind"], "recommendation");
    // The complaint recorded stops the clock.
    env.run(
        &[
            "incident",
            "update",
            &insured,
            "--complaint-filed-at",
            "2026-05-05T11:00:00+02:00",
            "--complaint-service",
            "Commissariat de Rennes",
            "--complaint-reference",
            "PV 1234",
        ],
        0,
    );
    let s = show(&insured, "2026-05-08T13:00:00+02:00");
    let c = obligation(&s, "complaint");
    assert_eq!(c["status"], "sent");
    assert_eq!(c["reference"], "PV 1234");
    // The draft letter, in French, marks what is missing.
    let letter = env.stdout(&["incident", "draft", &insured, "--duty", "complaint"], 0);
    assert!(letter.contains("Plainte contre X") && letter.contains("[À compléter]"));
    // The evidence checklist: ticked with who and when, journalled.
    let e = env.json(
        &[
            "incident",
            "evidence",
            &insured,
            "--tick",
            "keep_powered",
            "--by",
            "J. Martin",
            "--at",
            "2026-05-04T09:10:00+02:00",
        ],
        0,
    );
    let item = e["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["item"] == "keep_powered"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(item["done"], true);
    assert_eq!(item["by"], "J. Martin");
    let j = env.json(&["incident", "journal", &insured], 0);
    assert!(
        j["entries"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "incident.evidence"))
    );
    assert_eq!(j["intact"], true);
    env.run(
        &[
            "incident", "evidence", &insured, "--tick", "nope", "--by", "x",
        ],
        2,
    );
    // An evidence file kept by hash with its chain of custody.
    let log = env.file("fw.log", "2026-05-04 08:55 DROP 10.0.0.5 -> 203.0.113.9\n");
    let log = log.to_str().unwrap_or_default();
    let e = env.json(
        &[
            "incident",
            "evidence",
            &insured,
            "--file",
            log,
            "--by",
            "RSSI",
            "--from",
            "fw01:/var/log/fw.log",
        ],
        0,
    );
    let f = &e["files"][0];
    assert_eq!(f["file_name"], "fw.log");
    assert_eq!(f["added_by"], "RSSI");
    assert_eq!(f["from"], "fw01:/var/log/fw.log");
    assert_eq!(f["sha256"].as_str().map(str::len), Some(64));
    env.run(&["incident", "evidence", &insured, "--file", log], 2);
    let j = env.json(&["incident", "journal", &insured], 0);
    assert!(
        j["entries"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "incident.evidence_file"))
    );
    assert_eq!(j["intact"], true);
    // The administrator records NIS 2 in force from before the incident: late as any duty.
    env.run(
        &["regime", "set", "nis2_fr", "--in-force-from", "2026-01-01"],
        0,
    );
    let s = show(&insured, "2026-05-08T13:00:00+02:00");
    assert_eq!(obligation(&s, "nis2_notification")["status"], "late");
    let r = env.json(&["regime", "list"], 0);
    assert!(r.as_array().is_some_and(|a| {
        a.iter()
            .any(|x| x["id"] == "nis2_fr" && x["in_force_from"] == "2026-01-01")
    }));
}
