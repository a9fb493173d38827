//! `hygie backup`, `hygie backup verify` and `hygie restore`, driven as a CISO would run the
//! BCK-06 restore drill: the restored store reads as the original (status of every facility,
//! journal, evidence files byte for byte), on SQLite and PostgreSQL and from one to the other; a
//! backup taken while another process writes restores consistent; a damaged archive, a truncated
//! one, a wrong key or a store with data is refused without touching the target.

#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, Hygie};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The measure's and the incident's evidence files (different content: two blobs).
const MEASURE_FILE: &[u8] = b"%PDF-1.7\nrestore test 2026\n\x00\xff\xfe";
const INCIDENT_FILE: &[u8] = b"2026-05-04 08:55 DROP 10.0.0.5 -> 203.0.113.9\n";

fn today() -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    jiff::Timestamp::now().to_zoned(tz).date().to_string()
}

/// The demo region, an incident, and an evidence file on a measure and on the incident; the
/// two files' SHA-256.
fn seeded(t: &Hygie) -> [String; 2] {
    t.run(&["demo"], 0);
    let incident = t.json(
        &[
            "incident",
            "open",
            "--facility",
            FINESS,
            "--title",
            "Rançongiciel sur le DPI",
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
    let pdf = t.path().join("restore-test.pdf");
    std::fs::write(&pdf, MEASURE_FILE).unwrap();
    let added = t.json(
        &[
            "assess",
            "evidence",
            FINESS,
            "BCK-06",
            "--file",
            pdf.to_str().unwrap(),
        ],
        0,
    );
    let log = t.path().join("fw.log");
    std::fs::write(&log, INCIDENT_FILE).unwrap();
    let files = t.json(
        &[
            "incident",
            "evidence",
            &incident,
            "--file",
            log.to_str().unwrap(),
            "--by",
            "RSSI",
            "--from",
            "fw01:/var/log/fw.log",
        ],
        0,
    );
    let sha = |v: &Value| v.as_str().unwrap().to_owned();
    let measure_sha = sha(&added["sha256"]);
    let incident_sha = sha(&files["files"][0]["sha256"]);
    assert_ne!(measure_sha, incident_sha);
    [measure_sha, incident_sha]
}

/// `status --format json` of every facility, and the region's.
fn statuses(t: &Hygie, as_of: &str) -> Vec<Value> {
    let list = t.json(&["facility", "list"], 0);
    let mut out: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let id = f["id"].as_str().or(f["finess"].as_str()).unwrap();
            t.json(&["status", id, "--as-of", as_of], 0)
        })
        .collect();
    assert!(out.len() >= 6, "the demo's facilities: {list}");
    out.push(t.json(&["region", "status", "DEMO", "--as-of", as_of], 0));
    out
}

/// A new store of `backend`.
fn fresh(backend: &str) -> Option<Hygie> {
    match backend {
        "sqlite" => Some(Hygie::sqlite()),
        _ => Hygie::postgres(),
    }
}

#[test]
fn a_restored_store_reads_as_the_original_on_either_backend() {
    for source in Hygie::each() {
        let shas = seeded(&source);
        let archive = source.path().join("hygie.hyb");
        let written = source.json(&["backup", "-o", archive.to_str().unwrap()], 0);
        assert_eq!(written["sealing_key_included"], false);
        assert_eq!(written["manifest"]["backend"], source.backend());
        let as_of = today();
        let original = statuses(&source, &as_of);
        for backend in ["sqlite", "postgres"] {
            let Some(target) = fresh(backend) else {
                continue;
            };
            let label = format!("{} -> {backend}", source.backend());
            let restored = target.json(&["restore", archive.to_str().unwrap()], 0);
            assert_eq!(restored["sound"], true, "{label}: {restored}");
            assert_eq!(restored["evidence_files"]["files"], 2, "{label}");
            target.run(&["journal", "verify"], 0);
            assert_eq!(statuses(&target, &as_of), original, "{label}");
            for (sha, content) in shas.iter().zip([MEASURE_FILE, INCIDENT_FILE]) {
                let out = target.path().join(format!("{sha}.out"));
                target.run(&["assess", "fetch", sha, "-o", out.to_str().unwrap()], 0);
                assert_eq!(std::fs::read(&out).unwrap(), content, "{label}");
            }
            // The restore is journalled after the restored entries.
            let last = target.json(&["journal", "list", "--limit", "1"], 0);
            assert_eq!(last[0]["action"], "store.restore", "{label}");
        }
    }
}

#[test]
fn the_text_report_names_the_missing_sealing_key_in_both_languages() {
    let source = Hygie::sqlite();
    source.run(&["demo"], 0);
    let archive = source.path().join("b.hyb");
    let en = source.stdout(&["backup", "-o", archive.to_str().unwrap()], 0);
    assert!(
        en.contains("sealing key") && en.contains("secret.key"),
        "{en}"
    );
    assert!(en.contains("SHA-256 of the file"), "{en}");
    let target = Hygie::sqlite().in_lang("fr");
    let fr = target.stdout(&["restore", archive.to_str().unwrap()], 0);
    assert!(
        fr.contains("clé de scellement") && fr.contains("secret.key"),
        "{fr}"
    );
    assert!(fr.contains("Journal intact"), "{fr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Nothing but the archive was left beside it.
    let names: Vec<String> = std::fs::read_dir(source.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("hygie-backup"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    // A backup never overwrites, and there must be a store to back up.
    let e = source.stderr(&["backup", "-o", archive.to_str().unwrap()], 4);
    assert!(
        e.contains("exists already") && e.contains("existe déjà"),
        "{e}"
    );
    let empty = Hygie::sqlite();
    let e = empty.stderr(
        &["backup", "-o", empty.path().join("x.hyb").to_str().unwrap()],
        3,
    );
    assert!(e.contains("no Hygie store"), "{e}");
}

#[test]
fn a_backup_taken_while_another_process_writes_restores_consistent() {
    for source in Hygie::each() {
        source.run(&["demo"], 0);
        let writes = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let cmd = source.cmd();
            let writes = writes.clone();
            let stop = stop.clone();
            let program = cmd.get_program().to_owned();
            let envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> = cmd
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect();
            std::thread::spawn(move || {
                for i in 0..200 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let status = if i % 2 == 0 {
                        "in_progress"
                    } else {
                        "implemented"
                    };
                    let mut c = std::process::Command::new(&program);
                    for (k, v) in &envs {
                        match v {
                            Some(v) => c.env(k, v),
                            None => c.env_remove(k),
                        };
                    }
                    let out = c
                        .args(["assess", "set", FINESS, "BCK-06", "--status", status])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        while writes.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        let mut archives: Vec<(PathBuf, Value)> = Vec::new();
        for i in 0..3 {
            let path = source.path().join(format!("during-{i}.hyb"));
            let v = source.json(&["backup", "-o", path.to_str().unwrap()], 0);
            archives.push((path, v));
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        for (path, v) in &archives {
            let head = v["manifest"]["journal_head"]["seq"].as_i64().unwrap();
            let verified = source.json(&["backup", "verify", path.to_str().unwrap()], 0);
            assert_eq!(
                verified["journal"]["entries"].as_i64(),
                Some(head),
                "{}",
                source.backend()
            );
            let target = Hygie::sqlite();
            let r = target.json(&["restore", path.to_str().unwrap()], 0);
            assert_eq!(
                r["journal"]["entries"].as_i64(),
                Some(head + 1),
                "{}",
                source.backend()
            );
            target.run(&["journal", "verify"], 0);
        }
    }
}

/// A copy of `archive` changed by `edit`, in `dir`.
fn variant(dir: &Path, archive: &Path, name: &str, edit: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(archive).unwrap();
    edit(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `restore` and `backup verify` of `archive` (with `key`) both fail with exit 2 naming the file
/// and `what`, and the target data directory is still not there.
fn refused(archive: &Path, key: Option<&Path>, what: &str) {
    let target = Hygie::sqlite();
    let mut args = vec!["restore".to_owned(), archive.display().to_string()];
    if let Some(k) = key {
        args.extend(["--encrypt-key".to_owned(), k.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = target.stderr(&args, 2);
    assert!(e.contains(what), "{archive:?}: expected '{what}' in: {e}");
    assert!(e.contains(&archive.display().to_string()), "{e}");
    assert!(
        !target.data().exists(),
        "{archive:?}: the target was touched"
    );
    let mut verify = vec!["backup", "verify"];
    verify.extend(&args[1..]);
    let e = target.stderr(&verify, 2);
    assert!(
        e.contains(what),
        "verify {archive:?}: expected '{what}' in: {e}"
    );
}

#[test]
fn a_damaged_archive_or_a_wrong_key_is_refused_and_changes_nothing() {
    let source = Hygie::sqlite();
    source.run(&["demo"], 0);
    let dir = source.path();
    let plain = dir.join("plain.hyb");
    source.run(&["backup", "-o", plain.to_str().unwrap()], 0);
    let k1 = dir.join("k1.key");
    let k2 = dir.join("k2.key");
    source.run(&["backup", "new-key", "-o", k1.to_str().unwrap()], 0);
    source.run(&["backup", "new-key", "-o", k2.to_str().unwrap()], 0);
    let e = source.stderr(&["backup", "new-key", "-o", k1.to_str().unwrap()], 4);
    assert!(e.contains("never overwritten"), "{e}");
    let sealed = dir.join("sealed.hyb");
    let w = source.json(
        &[
            "backup",
            "-o",
            sealed.to_str().unwrap(),
            "--encrypt-key",
            k1.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(w["encrypted"], true);
    let name = "CHU de Kerlann".as_bytes();
    let at = |b: &[u8]| b.windows(name.len()).position(|w| w == name);
    assert!(at(&std::fs::read(&plain).unwrap()).is_some());
    assert!(
        at(&std::fs::read(&sealed).unwrap()).is_none(),
        "the name shows in clear"
    );

    let len = std::fs::metadata(&plain).unwrap().len() as usize;
    // 'K' of "Kerlann" becomes 'O': the line still parses, its table's checksum does not match.
    let flipped = variant(dir, &plain, "flipped.hyb", |b| {
        let k = at(b).unwrap() + 7;
        b[k] ^= 0x04;
    });
    refused(&flipped, None, "checksum");
    let cut = variant(dir, &plain, "cut.hyb", |b| b.truncate(len * 2 / 3));
    refused(&cut, None, "truncated");
    let newer = variant(dir, &plain, "newer.hyb", |b| {
        let at = b.iter().position(|&c| c == b'1').unwrap();
        b[at] = b'7';
    });
    refused(&newer, None, "format 7");
    refused(&sealed, Some(&k2), "wrong key");
    refused(&sealed, None, "is encrypted");
    refused(&plain, Some(&k1), "not encrypted");
    let slen = std::fs::metadata(&sealed).unwrap().len() as usize;
    let sflipped = variant(dir, &sealed, "sflipped.hyb", |b| b[slen / 2] ^= 0x01);
    refused(&sflipped, Some(&k1), "does not authenticate");
    // Cut after its first chunk (header 55 bytes, chunks of 64 KiB + 16): the end is missing.
    let scut = variant(dir, &sealed, "scut.hyb", |b| b.truncate(55 + 65_552));
    refused(&scut, Some(&k1), "truncated");

    // The right key restores it.
    let target = Hygie::sqlite();
    let r = target.json(
        &[
            "restore",
            sealed.to_str().unwrap(),
            "--encrypt-key",
            k1.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(r["encrypted"], true);
    target.run(&["journal", "verify"], 0);
}

#[test]
fn a_restore_into_a_store_with_data_is_refused_and_changes_nothing() {
    let source = Hygie::sqlite();
    source.run(&["demo"], 0);
    let archive = source.path().join("b.hyb");
    source.run(&["backup", "-o", archive.to_str().unwrap()], 0);
    for target in Hygie::each() {
        target.add(&common::HOSPITAL);
        let before = target.path().join("before.hyb");
        let b = target.json(&["backup", "-o", before.to_str().unwrap()], 0);
        let e = target.stderr(&["restore", archive.to_str().unwrap()], 4);
        assert!(
            e.contains("not empty") && e.contains("n'est pas vide"),
            "{e}"
        );
        let after = target.path().join("after.hyb");
        let a = target.json(&["backup", "-o", after.to_str().unwrap()], 0);
        assert_eq!(
            b["manifest"]["tables"],
            a["manifest"]["tables"],
            "{}",
            target.backend()
        );
    }
}
