//! Standard output closed early by its reader (`hygie catalog list | head`): the command ends
//! quietly with its usual exit code, never with a panic; and text from others' files cannot drive
//! the terminal.

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

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
fn closed_before_start(h: &Hygie, args: &[&str], code: i32) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = h
        .cmd()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert_quiet(args, &out, code);
}

#[test]
fn a_reader_that_closes_early_ends_the_output_quietly_with_the_usual_code() {
    let h = Hygie::sqlite().in_lang("en");
    h.run(&["init"], 0);
    let finess = common::finess("35000001");
    h.add(&common::Facility {
        finess: &finess,
        nis2: Some("essential"),
        plan_start: "2025-01-15",
        ..HOSPITAL
    });
    h.run(
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
        0,
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
        closed_before_start(&h, args, code);
    }

    // As `| head -1` does: read one line of an output larger than the pipe's buffer, then close.
    let args = ["catalog", "list", "--format", "json"];
    let mut child = h
        .cmd()
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

/// Issue 25: names read from others' files were printed raw, so an escape sequence in a name
/// could recolour, retitle or clear the reader's terminal. Text output shows them as escapes;
/// JSON keeps the data exact (escaped by JSON itself).
#[test]
fn names_from_files_cannot_drive_the_terminal() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let people = h.file(
        "people.csv",
        "id,name,function,department,reports_to,email\np1,\"Eve\u{1b}]0;pwned\u{7}\u{1b}[2J Martin\",DPO,Direction,,\np2,\"gpj.\u{202e}exe\",RSSI,DSI,,\n",
    );
    h.run(
        &[
            "people",
            "import",
            "--facility",
            FINESS,
            people.to_str().expect("utf8"),
        ],
        0,
    );
    let out = h.run(&["people", "list", "--facility", FINESS], 0);
    assert!(!out.stdout.contains(&0x1b), "an escape byte reached stdout");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Eve\\u{1b}]0;pwned\\u{7}\\u{1b}[2J Martin"),
        "{text}"
    );
    assert!(text.contains("gpj.\\u{202e}exe"), "{text}");
    let json = h.json(&["people", "list", "--facility", FINESS], 0);
    assert!(json.to_string().contains("Eve\\u001b]0;pwned"), "{json}");
}

/// Issue 25: the error lines on stderr quoted names from others' files raw: an LDIF entry
/// whose name carries an escape sequence, refused for a bad attribute, recoloured the terminal
/// through the error message. Error lines are now terminal-safe like stdout.
#[test]
fn error_lines_quoting_names_from_files_cannot_drive_the_terminal() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let ldif = h.file(
        "evil.ldif",
        "dn: CN=evil\u{1b}]0;pwned\u{7}\u{1b}[31m,DC=chu,DC=local\nobjectClass: user\nsAMAccountName: evil\nuserAccountControl: notanumber\n\n",
    );
    let out = h.run(
        &[
            "audit",
            "ad",
            "--facility",
            FINESS,
            "--ldif",
            ldif.to_str().expect("utf8"),
        ],
        2,
    );
    assert!(!out.stderr.contains(&0x1b), "an escape byte reached stderr");
    assert!(!out.stderr.contains(&0x07), "a bell reached stderr");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("CN=evil\\u{1b}]0;pwned\\u{7}\\u{1b}[31m,DC=chu"),
        "{text}"
    );
}

/// Issue 25: U+202E was accepted in evidence names (`gpj.\u{202e}exe` reads `exe.jpg`). The
/// store refuses control and text-direction characters in the names the command line adds, for
/// a measure's evidence and an incident's alike, in both languages, and nothing is written.
#[test]
fn evidence_names_that_could_disguise_themselves_are_refused() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let disguised = h.file("gpj.\u{202e}exe", "MZ not a picture");
    let path = disguised.to_str().expect("utf8");
    let err = h.stderr(&["assess", "evidence", FINESS, "BCK-06", "--file", path], 2);
    assert!(err.contains("U+202E") && err.contains("renommez"), "{err}");
    assert!(
        !err.contains('\u{202e}'),
        "the character itself reached stderr: {err}"
    );
    let shown = h.json(&["assess", "show", FINESS, "BCK-06"], 0);
    assert!(!shown.to_string().contains("gpj."), "{shown}");
    h.run(
        &[
            "incident",
            "open",
            "--facility",
            FINESS,
            "--title",
            "Intrusion",
            "--awareness",
            "2026-01-05T08:00:00+01:00",
        ],
        0,
    );
    let err = h.stderr(
        &[
            "incident",
            "evidence",
            &format!("INC-{FINESS}-00001"),
            "--file",
            path,
            "--by",
            "RSSI",
            "--from",
            "fw01",
        ],
        2,
    );
    assert!(err.contains("U+202E"), "{err}");
}
