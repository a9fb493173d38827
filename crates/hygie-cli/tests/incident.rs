//! `hygie incident` end to end, on SQLite and on PostgreSQL.
//!
//! Databases come from `hygie_testkit::TestDb`: a fresh SQLite file, and a fresh PostgreSQL
//! database per test (dropped after; fails in CI when unreachable, else prints SKIP).

use assert_cmd::Command;
use hygie_core::Finess;
use hygie_testkit::TestDb;
use serde_json::Value;
use sqlx::Connection as _;
use std::path::PathBuf;

struct Env {
    /// A fresh database from the foundation's testkit (dropped with the Env).
    _db: TestDb,
    /// Files written by the test (JSON facts) and HOME.
    dir: tempfile::TempDir,
    url: String,
}

fn rt() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

impl Env {
    fn new(db: TestDb) -> Env {
        let url = db.url.clone();
        Env {
            _db: db,
            dir: tempdir(),
            url,
        }
    }

    fn sqlite() -> Env {
        Env::new(TestDb::sqlite())
    }

    /// A fresh PostgreSQL database, or None (the testkit printed SKIP; in CI it failed).
    fn postgres() -> Option<Env> {
        TestDb::postgres().map(Env::new)
    }

    fn hygie(&self) -> Command {
        let mut c = match Command::cargo_bin("hygie") {
            Ok(c) => c,
            Err(e) => panic!("hygie binary: {e}"),
        };
        c.env_remove("HYGIE_LANG")
            .env_remove("HYGIE_DATA_DIR")
            .env("HYGIE_DATABASE_URL", &self.url)
            .env("HOME", self.dir.path());
        c
    }

    /// Run, expect `code`, return stdout.
    fn run(&self, args: &[&str], code: i32) -> String {
        let out = match self.hygie().args(args).output() {
            Ok(o) => o,
            Err(e) => panic!("run {args:?}: {e}"),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "hygie {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        if code == 0 {
            stdout
        } else {
            format!("{stdout}{stderr}")
        }
    }

    fn json(&self, args: &[&str], code: i32) -> Value {
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(args);
        let s = self.run(&a, code);
        match serde_json::from_str(&s) {
            Ok(v) => v,
            Err(e) => panic!("{args:?} printed no JSON ({e}): {s}"),
        }
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Err(e) = std::fs::write(&p, content) {
            panic!("write {}: {e}", p.display());
        }
        p
    }

    fn add_facility(&self, first8: &str, nis2: &str) -> String {
        let f = match Finess::with_check_digit(first8) {
            Ok(f) => f.to_string(),
            Err(e) => panic!("{e}"),
        };
        self.run(
            &[
                "facility",
                "add",
                "--finess",
                &f,
                "--name",
                "CHU de Test",
                "--kind",
                "hospital",
                "--region",
                "BRE",
                "--nis2",
                nis2,
                "--plan-start",
                "2025-01-01",
            ],
            0,
        );
        f
    }

    /// Run SQL on the test database (to tamper with rows).
    fn sql(&self, q: &str) {
        let url = self.url.clone();
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
fn full_lifecycle(env: &Env) {
    let fac = env.add_facility("35000001", "essential");
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
    assert_eq!(id, "INC-00001");
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
    let out = env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cnil",
            "--sent-at",
            "2026-04-02T10:00:00+02:00",
        ],
        2,
    );
    assert!(out.contains("33(1)"), "{out}");
    // Sent before awareness is refused.
    let out = env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cert_sante",
            "--sent-at",
            "2026-03-29T00:00:00+01:00",
        ],
        2,
    );
    assert!(out.contains("before awareness"), "{out}");
    env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cnil",
            "--sent-at",
            "2026-04-02T10:00:00+02:00",
            "--reference",
            "CNIL-2026-123",
            "--late-reason",
            "Périmètre établi le 2 avril",
        ],
        0,
    );
    env.run(
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
    let md = env.run(
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
    let html = env.run(
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
    env.run(
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
    let out = env.run(&["incident", "close", &id], 2);
    assert!(out.contains("justification"), "{out}");
    env.run(
        &[
            "incident",
            "close",
            &id,
            "--justification",
            "Signalements faits par téléphone, voir main courante",
        ],
        0,
    );
    let out = env.run(&["incident", "update", &id, "--title", "x"], 2);
    assert!(out.contains("closed"), "{out}");

    // The register lists the breach; the export carries every sent version and the journal.
    let reg = env.json(&["incident", "register", "--facility", &fac], 0);
    assert_eq!(reg["entries"][0]["incident"], id);
    assert_eq!(reg["entries"][0]["cnil"]["reference"], "CNIL-2026-123");
    assert_eq!(
        reg["entries"][0]["cnil_late_reason"],
        "Périmètre établi le 2 avril"
    );
    let csv = env.run(
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
    let html = env.run(&["incident", "export", &id, "--format", "html"], 0);
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
    env.run(&["journal", "verify"], 0);
    env.sql("UPDATE incidents SET record = REPLACE(record, 'CNIL-2026-123', 'CNIL-0000')");
    let j = env.json(&["incident", "journal", &id], 5);
    assert_eq!(j["intact"], false, "{j}");
}

/// Reminders: due soon vs late, at a given instant; NIS 2 status from the facility record.
fn due_and_defaults(env: &Env) {
    let out_of_scope = env.add_facility("35000002", "out_of_scope");
    let id = env.json(
        &[
            "incident",
            "open",
            "--facility",
            &out_of_scope,
            "--title",
            "Hameçonnage",
            "--awareness",
            "2026-05-04T09:00",
            "--serious",
            "--nis2-significant",
            "--category",
            "phishing",
        ],
        0,
    )["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
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
    env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "internal_ciso",
            "--sent-at",
            "2026-05-04T09:10:00+02:00",
        ],
        0,
    );
    env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "internal_dpo",
            "--sent-at",
            "2026-05-04T09:10:00+02:00",
        ],
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
    let essential = env.add_facility("35000003", "essential");
    let id2 = env.json(
        &[
            "incident",
            "open",
            "--facility",
            &essential,
            "--title",
            "Indisponibilité du DPI",
            "--awareness",
            "2026-10-25T02:30:00+01:00",
            "--nis2-significant",
        ],
        0,
    )["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
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
fn refusals(env: &Env) {
    let fac = env.add_facility("35000004", "important");
    // Ambiguous local time in October.
    let out = env.run(
        &[
            "incident",
            "open",
            "--facility",
            &fac,
            "--title",
            "x",
            "--awareness",
            "2026-10-25T02:30",
        ],
        2,
    );
    assert!(out.contains("ambiguous"), "{out}");
    // Awareness before occurrence.
    let out = env.run(
        &[
            "incident",
            "open",
            "--facility",
            &fac,
            "--title",
            "x",
            "--awareness",
            "2026-05-04T09:00:00+02:00",
            "--occurrence",
            "2026-05-04T10:00:00+02:00",
        ],
        2,
    );
    assert!(out.contains("before occurrence"), "{out}");
    // Unknown key in the JSON file, with its position.
    let f = env.file(
        "bad.json",
        &format!(r#"{{"facility": "{fac}", "title": "x", "awarness": "2026-05-04T09:00:00Z"}}"#),
    );
    let out = env.run(
        &["incident", "open", "--from", f.to_str().unwrap_or_default()],
        2,
    );
    assert!(out.contains("awarness") && out.contains("line 1"), "{out}");
    // Unknown facility.
    let other = Finess::with_check_digit("35000099")
        .map(|f| f.to_string())
        .unwrap_or_default();
    env.run(
        &[
            "incident",
            "open",
            "--facility",
            &other,
            "--title",
            "x",
            "--awareness",
            "2026-05-04T09:00:00Z",
        ],
        3,
    );
    // Unknown incident.
    env.run(&["incident", "show", "INC-99999"], 3);
    // Nothing was created.
    let list = env.json(&["incident", "list", "--all"], 0);
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    // Backwards status.
    let id = env.json(
        &[
            "incident",
            "open",
            "--facility",
            &fac,
            "--title",
            "x",
            "--awareness",
            "2026-05-04T09:00:00Z",
        ],
        0,
    )["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.run(&["incident", "update", &id, "--status", "resolved"], 0);
    let out = env.run(&["incident", "update", &id, "--status", "contained"], 2);
    assert!(out.contains("cannot go back"), "{out}");
}

macro_rules! on_both {
    ($name:ident, $sqlite:ident, $pg:ident) => {
        #[test]
        fn $sqlite() {
            $name(&Env::sqlite());
        }
        #[test]
        fn $pg() {
            if let Some(env) = Env::postgres() {
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
fn legal_status_complaint_and_evidence(env: &Env) {
    let fac = env.add_facility("35000001", "essential");
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
    let letter = env.run(&["incident", "draft", &insured, "--duty", "complaint"], 0);
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
