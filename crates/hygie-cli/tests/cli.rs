//! The `hygie` binary end to end, on every backend: what issue 2 says it must show.

mod common;

use assert_cmd::prelude::*;
use common::{HOSPITAL, Hygie};
use serde_json::Value;

/// One English `hygie` per backend available.
fn envs() -> Vec<Hygie> {
    Hygie::each().into_iter().map(|h| h.in_lang("en")).collect()
}

/// One English `hygie` per backend, each with the CHU recorded.
fn chus() -> Vec<Hygie> {
    let envs = envs();
    for env in &envs {
        env.add(&CHU);
    }
    envs
}

/// Run and return (exit code, stderr).
fn fails(env: &Hygie, args: &[&str]) -> (i32, String) {
    let out = env.cmd().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `assess set FINESS MEASURE --status STATUS`, then `rest`.
fn assess<'a>(
    finess: &'a str,
    measure: &'a str,
    status: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    [
        &["assess", "set", finess, measure, "--status", status][..],
        rest,
    ]
    .concat()
}

/// A fingerprint of everything the store holds that commands change.
fn fingerprint(env: &Hygie) -> (Value, Value) {
    (
        env.json(&["facility", "list"], 0),
        env.json(&["journal", "list", "--limit", "1000"], 0),
    )
}

/// The CHU all tests of this file use.
const CHU: common::Facility<'static> = common::Facility {
    finess: "750712184",
    name: "CHU Test",
    region: "IDF",
    nis2: Some("essential"),
    plan_start: "2025-01-15",
    ..HOSPITAL
};

#[test]
fn catalog_list_json_has_the_promised_shape() {
    let env = Hygie::sqlite().in_lang("en");
    let list = env.json(&["catalog", "list"], 0);
    let ms = list.as_array().expect("an array");
    assert!(ms.len() >= 70, "{} measures", ms.len());
    for m in ms {
        assert!(m["id"].is_string());
        assert!(
            m["title"]["en"].as_str().is_some_and(|s| !s.is_empty())
                && m["title"]["fr"].as_str().is_some_and(|s| !s.is_empty())
        );
        let sources = m["sources"].as_array().expect("sources");
        assert!(
            !sources.is_empty()
                && sources
                    .iter()
                    .all(|s| s["framework"].is_string() && s["ref"].is_string())
        );
        let in_plan = sources.iter().any(|s| s["framework"] == "PAS16");
        if in_plan {
            let level = m["level"].as_u64().expect("plan measures have a level");
            assert!((1..=3).contains(&level));
            assert_eq!(m["deadline_months"].as_u64(), Some(level * 6));
        } else {
            assert!(m.get("level").is_none());
        }
    }
    let l1 = env.json(&["catalog", "list", "--level", "1"], 0);
    assert!(
        l1.as_array()
            .expect("array")
            .iter()
            .all(|m| m["level"] == 1)
    );
    let lint = env.json(&["catalog", "lint"], 0);
    assert_eq!(lint["ok"], true);
}

#[test]
fn facility_status_and_journal_on_every_backend() {
    for env in chus() {
        let list = env.json(&["facility", "list"], 0);
        assert_eq!(list[0]["id"], "750712184", "{}", env.backend());

        env.json(
            &assess("750712184", "END-01", "implemented", &["--owner", "RSSI"]),
            0,
        );
        env.json(
            &assess(
                "750712184",
                "IAM-05",
                "not_applicable",
                &["--justification", "passwords replaced by smart cards"],
            ),
            0,
        );
        let s = env.json(&["status", "750712184", "--as-of", "2025-09-01"], 0);
        let levels = s["levels"].as_array().expect("levels");
        assert_eq!(levels.len(), 3);
        let due: Vec<&str> = levels
            .iter()
            .map(|l| l["due_date"].as_str().expect("due"))
            .collect();
        assert_eq!(due, ["2025-07-15", "2026-01-15", "2026-07-15"]);
        for l in levels {
            assert!(
                l["level"].is_u64()
                    && l["total"].is_u64()
                    && l["done"].is_u64()
                    && l["overdue"].is_array()
            );
        }
        // Declarations dated today do not count on a past date.
        assert_eq!(levels[0]["done"], 0);
        let l1_overdue: Vec<&str> = levels[0]["overdue"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_str().expect("id"))
            .collect();
        assert!(l1_overdue.contains(&"END-01"), "{l1_overdue:?}");
        assert!(s["score"].is_number());

        let today = env.json(&["status", "750712184"], 0);
        let l1 = &today["levels"][0];
        assert_eq!(l1["done"], 1);
        assert!(
            !l1["overdue"]
                .as_array()
                .expect("ids")
                .iter()
                .any(|v| v == "END-01")
        );
        assert!(
            !l1["overdue"]
                .as_array()
                .expect("ids")
                .iter()
                .any(|v| v == "IAM-05"),
            "not applicable is never overdue"
        );

        for fmt in ["table", "md", "html"] {
            let out = env
                .cmd()
                .args(["status", "750712184", "--format", fmt, "--lang", "fr"])
                .output()
                .expect("runs");
            assert!(out.status.success(), "{fmt}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("CHU Test") && text.contains("Palier"),
                "{fmt}: {text}"
            );
        }

        let v = env.json(&["journal", "verify"], 0);
        assert_eq!(v["intact"], true);
    }
}

#[test]
fn an_edited_journal_row_is_named_by_verify() {
    for env in chus() {
        env.json(&assess("750712184", "END-01", "implemented", &[]), 0);
        env.json(&assess("750712184", "BCK-02", "in_progress", &[]), 0);
        assert!(
            env.cmd()
                .args(["journal", "verify"])
                .output()
                .expect("runs")
                .status
                .success()
        );
        let url = env.database_url();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async {
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
                // Find the entry of the END-01 declaration and forge its details.
                let seq: i64 = sqlx::query_scalar(
                    "SELECT seq FROM journal WHERE subject = '750712184/END-01'",
                )
                .fetch_one(&pool)
                .await
                .expect("entry");
                assert!(seq > 0);
                sqlx::query("UPDATE journal SET actor = 'someone-else' WHERE seq = $1")
                    .bind(seq)
                    .execute(&pool)
                    .await
                    .expect("tamper");
                pool.close().await;
            });
        })
        .join()
        .expect("tamper thread");
        let out = env
            .cmd()
            .args(["journal", "verify", "--format", "json"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(5), "{}", env.backend());
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["intact"], false);
        let list = env.json(&["journal", "list"], 0);
        let tampered = list
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["subject"] == "750712184/END-01")
            .expect("entry");
        assert_eq!(v["entry"], tampered["seq"]);
        let (code, err) = fails(&env, &["journal", "verify"]);
        assert_eq!(code, 5);
        assert!(
            err.contains(&format!("entry {} was edited", tampered["seq"])),
            "{err}"
        );
    }
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    for env in chus() {
        let before = fingerprint(&env);
        // A facility that would be valid but for the one field each case changes.
        let x = common::Facility {
            finess: "330781196",
            name: "X",
            region: "NAQ",
            nis2: None,
            plan_start: "2025-02-01",
            ..HOSPITAL
        };
        let cases: &[(Vec<&str>, i32, &str)] = &[
            (
                assess("750712184", "ZZZ-99", "implemented", &[]),
                2,
                "ZZZ-99",
            ),
            (
                assess("750712184", "bogus", "implemented", &[]),
                2,
                "measure",
            ),
            (
                assess("750712184", "END-01", "not_applicable", &[]),
                2,
                "justification",
            ),
            (assess("750712184", "END-01", "finished", &[]), 2, "status"),
            (
                assess("750712185", "END-01", "implemented", &[]),
                2,
                "check digit",
            ),
            (
                assess("330781196", "END-01", "implemented", &[]),
                3,
                "not found",
            ),
            (
                common::Facility {
                    finess: "75071218",
                    region: "IDF",
                    plan_start: "2025-01-01",
                    ..x
                }
                .add_args(),
                2,
                "finess",
            ),
            (
                common::Facility {
                    plan_start: "2025-02-30",
                    ..x
                }
                .add_args(),
                2,
                "plan-start",
            ),
            (common::Facility { kind: "zoo", ..x }.add_args(), 2, "kind"),
            (
                common::Facility {
                    region: "Atlantis",
                    ..x
                }
                .add_args(),
                2,
                "region",
            ),
            (
                common::Facility {
                    finess: "750712184",
                    name: "Again",
                    region: "IDF",
                    ..x
                }
                .add_args(),
                4,
                "already exists",
            ),
            (
                vec!["status", "750712184", "--as-of", "2025-13-01"],
                2,
                "as-of",
            ),
            (
                vec![
                    "assess",
                    "evidence",
                    "750712184",
                    "END-01",
                    "--file",
                    "/nonexistent/proof.pdf",
                ],
                2,
                "/nonexistent/proof.pdf",
            ),
        ];
        for (args, code, needle) in cases {
            let (got, err) = fails(&env, args);
            assert_eq!(got, *code, "{} hygie {args:?}: {err}", env.backend());
            assert!(
                err.contains(needle),
                "hygie {args:?}: message should name '{needle}': {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
        assert_eq!(
            fingerprint(&env),
            before,
            "{}: bad input changed the store",
            env.backend()
        );
    }
}

#[test]
fn an_inconsistent_catalogue_folder_is_reported_with_file_and_line() {
    let env = Hygie::sqlite().in_lang("en");
    let dir = tempfile::tempdir().expect("tmp");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    copy_tree(&src, dir.path());
    let iam = dir.path().join("measures/IAM.toml");
    let text = std::fs::read_to_string(&iam).expect("read").replacen(
        "ref = \"4.5.1.1\"",
        "ref = \"0.0.0.0\"",
        1,
    );
    std::fs::write(&iam, text).expect("write");
    let lint = || {
        common::stderr(
            env.cmd().args(["catalog", "lint", "--dir"]).arg(dir.path()),
            5,
        )
    };
    let err = lint();
    assert!(
        err.contains("catalog/measures/IAM.toml:") && err.contains("0.0.0.0"),
        "{err}"
    );

    std::fs::write(dir.path().join("frameworks.toml"), "[[framework]\nid = ").expect("write");
    let err = lint();
    assert!(err.contains("catalog/frameworks.toml:1"), "{err}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).expect("dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

#[test]
fn evidence_round_trips_through_the_cli() {
    for env in chus() {
        let dir = tempfile::tempdir().expect("tmp");
        let proof = dir.path().join("restore-test.pdf");
        std::fs::write(&proof, b"restore test report, signed").expect("write");
        let item = env.json(
            &[
                "assess",
                "evidence",
                "750712184",
                "BCK-06",
                "--file",
                proof.to_str().expect("utf8"),
            ],
            0,
        );
        let sha = item["sha256"].as_str().expect("sha256").to_owned();
        assert_eq!(sha.len(), 64);
        let back = dir.path().join("back.pdf");
        env.cmd()
            .args(["assess", "fetch", &sha, "-o", back.to_str().expect("utf8")])
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&back).expect("read"),
            b"restore test report, signed"
        );
        let shown = env.json(&["assess", "show", "750712184", "BCK-06"], 0);
        assert_eq!(shown["evidence"][0]["file_name"], "restore-test.pdf");
    }
}

#[test]
fn demo_seeds_a_labelled_region_once() {
    let env = Hygie::sqlite().in_lang("en");
    let seeded = env.json(&["demo"], 0);
    assert_eq!(seeded["seeded"], true);
    let region = env.json(&["region", "status", "DEMO"], 0);
    assert_eq!(region["demo"], true);
    let rows = region["facilities"].as_array().expect("rows");
    assert!(rows.len() >= 5);
    let reached: std::collections::BTreeSet<u64> = rows
        .iter()
        .map(|r| r["level_reached"].as_u64().expect("level"))
        .collect();
    assert!(
        reached.len() >= 2,
        "facilities at different stages: {reached:?}"
    );
    assert!(
        rows.iter().any(|r| r["failing"].as_u64() > Some(0)),
        "one check contradicts a declaration"
    );
    // Issue 22: the levels rest on unconfirmed facts, and the JSON says so with the reason.
    assert!(rows.iter().all(|r| {
        r["levels"]
            .as_array()
            .is_some_and(|l| l.iter().all(|l| l["unconfirmed"] == true))
            && r["unconfirmed"]["fr"].as_str().is_some()
    }));
    assert_eq!(env.json(&["demo"], 0)["seeded"], false);
    let out = env
        .cmd()
        .args(["region", "status", "DEMO", "--format", "csv"])
        .output()
        .expect("runs");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(
        csv.lines()
            .next()
            .is_some_and(|h| h.contains(",unconfirmed_levels,")),
        "{csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",1 2 3,")), "{csv}");
    assert_eq!(env.json(&["journal", "verify"], 0)["intact"], true);
}

/// Issue 18: without `$USER` and `$LOGNAME` (a cron job, a container), a change is attributed to
/// the system's name of the process's user, else to its id; never to "unknown". A facility the
/// web form would refuse is refused here too, each field named in the language asked.
#[test]
fn the_command_line_names_its_user_and_parses_facilities_as_the_web() {
    for env in envs() {
        let out = env
            .cmd()
            .env_remove("USER")
            .env_remove("LOGNAME")
            .args(CHU.add_args())
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = env.json(&["journal", "list"], 0);
        let actor = list
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["action"] == "facility.add")
            .expect("entry")["actor"]
            .as_str()
            .expect("actor")
            .to_owned();
        assert!(
            actor.starts_with("cli:") && actor != "cli:unknown" && actor.len() > 4,
            "{actor}"
        );
        // Paris is not in Brittany; a wrong key and an empty name are named too, in French.
        let out = env
            .cmd()
            .env("HYGIE_LANG", "fr")
            .args([
                "facility",
                "add",
                "--finess",
                "750712185",
                "--name",
                " ",
                "--kind",
                "hospital",
                "--region",
                "BRE",
                "--plan-start",
                "2026-01-01",
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--finess") && err.contains("clé de contrôle"),
            "{err}"
        );
        assert!(err.contains("--name"), "{err}");
        let out = env
            .cmd()
            .args([
                "facility",
                "add",
                "--finess",
                "350000014",
                "--name",
                "CH",
                "--kind",
                "hospital",
                "--region",
                "IDF",
                "--plan-start",
                "2026-01-01",
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("which is not in region IDF"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
