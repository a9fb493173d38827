//! Standard output closed early by its reader (`hygie catalog list | head`): the command ends
//! quietly with its usual exit code, never with a panic.

use hygie_core::Finess;
use hygie_testkit::TestDb;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn hygie(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hygie"));
    c.env_remove("HYGIE_DATA_DIR")
        .env("HYGIE_DATABASE_URL", &db.url)
        .env("HYGIE_LANG", "en");
    c
}

fn run(db: &TestDb, args: &[&str]) -> String {
    let out = hygie(db).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "hygie {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Nothing on stderr: no panic, no "Broken pipe" error.
fn assert_quiet(args: &[&str], out: &Output, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "hygie {args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "hygie {args:?}: {stderr}"
    );
}

/// The reader is gone before the first byte: every write of the command meets a closed pipe.
fn closed_before_start(db: &TestDb, args: &[&str], code: i32) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = hygie(db)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert_quiet(args, &out, code);
}

#[test]
fn a_reader_that_closes_early_ends_the_output_quietly_with_the_usual_code() {
    let db = TestDb::sqlite();
    run(&db, &["init"]);
    let finess = Finess::with_check_digit("35000001")
        .map(|f| f.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    run(
        &db,
        &[
            "facility",
            "add",
            "--finess",
            &finess,
            "--name",
            "CH Test",
            "--kind",
            "hospital",
            "--region",
            "BRE",
            "--nis2",
            "essential",
            "--plan-start",
            "2025-01-15",
        ],
    );
    run(
        &db,
        &[
            "incident",
            "open",
            "--facility",
            &finess,
            "--title",
            "=Fuite",
            "--awareness",
            "2026-01-05T08:00:00+01:00",
            "--personal-data-breach",
            "high",
        ],
    );

    // Each way to stdout: `print!` (tables), `output::json`, `output::emit` (CSV, HTML).
    for (args, code) in [
        (&["catalog", "list"][..], 0),
        (&["catalog", "list", "--format", "json"], 0),
        (&["incident", "list"], 0),
        (
            &[
                "incident",
                "register",
                "--facility",
                &finess,
                "--format",
                "csv",
            ],
            0,
        ),
        (
            &[
                "incident",
                "register",
                "--facility",
                &finess,
                "--format",
                "html",
            ],
            0,
        ),
        // A late obligation keeps its exit code 5.
        (&["incident", "due"], 5),
    ] {
        closed_before_start(&db, args, code);
    }

    // As `| head -1` does: read one line of an output larger than the pipe's buffer, then close.
    let args = ["catalog", "list", "--format", "json"];
    let mut child = hygie(&db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    assert_eq!(first, "[\n");
    // The reader is dropped here, with most of the 100 kB still unwritten.
    let out = child.wait_with_output().expect("ends");
    assert_quiet(&args, &out, 0);
}
