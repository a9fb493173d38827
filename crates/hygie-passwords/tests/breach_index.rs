//! The breach index: built from a synthetic HIBP-format list, queried, compared with a naive scan.

use hygie_passwords::{BreachError, BreachIndex, NtHash, import};
use proptest::prelude::*;
use std::path::Path;

fn hex(b: &[u8; 16]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// NT hashes of known passwords in upper-case hex, as HIBP lists print them (from the testkit's
/// MD4: computing them through the crate's own index would be circular).
fn nt_hex(pw: &str) -> String {
    hygie_testkit::nt_hex(pw).to_uppercase()
}

fn build(dir: &Path, text: &str) -> Result<BreachIndex, BreachError> {
    let out = dir.join("breach.idx");
    let mut calls = 0;
    import(&mut text.as_bytes(), "list.txt", &out, &mut |_| calls += 1)?;
    assert!(calls >= 1, "progress is reported");
    BreachIndex::open(&out)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn synthetic_list_is_indexed_and_queried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let breached = ["Password1", "azerty", "Soleil2024", "123456", ""];
    let mut lines: Vec<(String, u64)> = breached
        .iter()
        .enumerate()
        .map(|(i, p)| (nt_hex(p), 10u64.pow(i as u32 + 1)))
        .collect();
    lines.sort();
    let text: String = lines.iter().map(|(h, c)| format!("{h}:{c}\r\n")).collect();
    let idx = build(dir.path(), &text).expect("valid list");
    assert_eq!(idx.len(), 5);
    let file_len = std::fs::metadata(dir.path().join("breach.idx"))
        .expect("index written")
        .len();
    assert_eq!(file_len, 32 + 5 * 8 + 65537 * 8);

    for (i, p) in breached.iter().enumerate() {
        let count = 10u64.pow(i as u32 + 1);
        let got = idx
            .lookup(&NtHash::of_password(p))
            .unwrap_or_else(|| panic!("{p:?} should be found"));
        assert!(
            got <= count && got * 2 > count,
            "{p:?}: lower bound {got} for count {count}"
        );
    }
    for p in ["Password2", "correct horse battery staple", "Azerty"] {
        assert_eq!(
            idx.lookup(&NtHash::of_password(p)),
            None,
            "{p:?} is not in the list"
        );
    }
    let queries: Vec<NtHash> = ["azerty", "nope", "Password1", "azerty"]
        .iter()
        .map(|p| NtHash::of_password(p))
        .collect();
    let batch = idx.lookup_batch(&queries);
    assert_eq!(
        batch.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![true, false, true, true]
    );
    assert_eq!(
        files_in(dir.path()),
        vec!["breach.idx".to_string()],
        "no temporary file left"
    );
}

#[test]
fn malformed_and_unsorted_lines_are_reported_and_nothing_is_written() {
    let a = "0000000000000000000000000000000A";
    let b = "0000000000000000000000000000000B";
    let c = "0000000000000000000000000000000C";
    let cases: &[(String, &[(u64, &str)])] = &[
        (format!("{a}:1\n{c}:2\n{b}:3\n"), &[(3, "not sorted")]),
        (format!("{a}:1\n{a}:2\n"), &[(2, "duplicate")]),
        (format!("{a}:1\n\n{b}:3\n"), &[(2, "expected HASH:COUNT")]),
        (
            format!("{a}:1\n{b}\n{c}:x\n"),
            &[(2, "expected HASH:COUNT"), (3, "not a number")],
        ),
        (
            format!("{a}:1\nG{}:1\n", &b[1..]),
            &[(2, "not 32 hexadecimal")],
        ),
    ];
    for (text, want) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        // An existing index at the output path must survive a failed import untouched.
        let out = dir.path().join("breach.idx");
        std::fs::write(&out, b"previous").expect("write");
        let err =
            import(&mut text.as_bytes(), "list.txt", &out, &mut |_| {}).expect_err("invalid input");
        match &err {
            BreachError::Input { problems, .. } => {
                let got: Vec<(u64, &str)> = problems.iter().map(|p| (p.line, p.message)).collect();
                assert_eq!(got.len(), want.len(), "{err}");
                for ((gl, gm), (wl, wm)) in got.iter().zip(want.iter()) {
                    assert_eq!(gl, wl, "{err}");
                    assert!(gm.contains(wm), "{err}");
                }
            }
            other => panic!("expected an input error, got {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.starts_with("list.txt: ") && msg.contains("index not written"),
            "{msg}"
        );
        assert!(
            !msg.contains(&a[20..]) && !msg.contains(&c[20..]),
            "error quotes a hash: {msg}"
        );
        assert_eq!(std::fs::read(&out).expect("read"), b"previous");
        assert_eq!(
            files_in(dir.path()),
            vec!["breach.idx".to_string()],
            "temporary file removed"
        );
    }
}

#[test]
fn opening_something_else_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("x.idx");
    std::fs::write(&p, vec![0u8; 600_000]).expect("write");
    let e = BreachIndex::open(&p).expect_err("not an index").to_string();
    assert!(e.contains("not a Hygie breach index: wrong magic"), "{e}");
    let idx = build(dir.path(), "").expect("an empty list is a valid, empty index");
    assert!(idx.is_empty());
    let mut bytes = std::fs::read(dir.path().join("breach.idx")).expect("read");
    // An index of an older format (version 1: 15-byte entries) asks for a re-import.
    let mut v1 = bytes.clone();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&p, &v1).expect("write");
    let e = BreachIndex::open(&p).expect_err("old format").to_string();
    assert!(
        e.contains("format version 1") && e.contains("re-import"),
        "{e}"
    );
    bytes.push(0);
    std::fs::write(&p, &bytes).expect("write");
    let e = BreachIndex::open(&p)
        .expect_err("truncated/extended")
        .to_string();
    assert!(e.contains("expected"), "{e}");
}

fn to_hash((a, b, rest): &(u8, u8, Vec<u8>)) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0] = *a;
    h[1] = *b;
    h[2..].copy_from_slice(rest);
    h
}

/// The first 75 bits of a hash: what the index keeps of it (16 in the bucket, 59 stored).
fn key75(h: &[u8; 16]) -> u128 {
    u128::from_be_bytes(*h) >> 53
}

/// Index `entries`, then check single and batch lookups of `queries` against a linear scan of
/// the list, with the index's documented semantics: a query is found when a listed hash shares
/// its first 75 bits (exactly the listed hash, or a false positive beyond those bits), with the
/// power of two at or below the count of the first such hash in the list's order.
fn check_against_scan(
    entries: &std::collections::BTreeMap<(u8, u8, Vec<u8>), u64>,
    queries: &[[u8; 16]],
) -> Result<(), TestCaseError> {
    let list: Vec<([u8; 16], u64)> = entries.iter().map(|(k, c)| (to_hash(k), *c)).collect();
    let text: String = list
        .iter()
        .map(|(h, c)| format!("{}:{c}\n", hex(h)))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let idx = build(dir.path(), &text).expect("sorted unique list");
    prop_assert_eq!(idx.len(), list.len() as u64);
    // Besides the given queries: each listed hash changed in its last bit and in its 76th (the
    // first two bits not kept: found, as documented) and in its 75th (the last bit kept: found
    // only if another listed hash has it).
    let mut queries = queries.to_vec();
    for (h, _) in list.iter().take(40) {
        let mut last = *h;
        last[15] ^= 1;
        let mut first_dropped = *h;
        first_dropped[9] ^= 0x10;
        let mut last_kept = *h;
        last_kept[9] ^= 0x20;
        queries.extend([last, first_dropped, last_kept]);
    }
    let as_nt: Vec<NtHash> = queries.iter().map(nt_from_bytes).collect();
    let batch = idx.lookup_batch(&as_nt);
    for (i, q) in queries.iter().enumerate() {
        let naive = list
            .iter()
            .find(|(h, _)| key75(h) == key75(q))
            .map(|(_, c)| 1u64 << (63 - c.leading_zeros()));
        let single = idx.lookup(&as_nt[i]);
        prop_assert_eq!(single, naive, "query {}", i);
        prop_assert_eq!(batch[i], single);
        if let Some((_, c)) = list.iter().find(|(h, _)| h == q) {
            // A listed hash is always found, with a lower bound of its count when no earlier
            // hash shares its first 75 bits.
            let lb = single.unwrap_or(0);
            prop_assert!(lb >= 1);
            if list.iter().filter(|(h, _)| key75(h) == key75(q)).count() == 1 {
                prop_assert!(lb <= *c && lb * 2 > *c);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Dense batches (every listed hash is queried: buckets are read whole). Hashes are drawn
    /// from a small prefix space so that buckets hold several entries and neighbours differ in
    /// late bytes.
    #[test]
    fn dense_lookups_agree_with_a_linear_scan(
        entries in proptest::collection::btree_map(
            (0u8..4, any::<u8>(), proptest::collection::vec(0u8..3, 14)), 1u64..5_000_000, 0..300),
        probes in proptest::collection::vec((0u8..4, any::<u8>(), proptest::collection::vec(0u8..3, 14)), 0..100),
    ) {
        let mut queries: Vec<[u8; 16]> = entries.keys().map(to_hash).collect();
        queries.extend(probes.iter().map(to_hash));
        check_against_scan(&entries, &queries)?;
    }

    /// Sparse batches (a few queries in big buckets: searched in the mapping).
    #[test]
    fn sparse_lookups_agree_with_a_linear_scan(
        entries in proptest::collection::btree_map(
            (Just(0u8), 0u8..2, proptest::collection::vec(0u8..4, 14)), 1u64..1000, 500..2000),
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        probes in proptest::collection::vec((Just(0u8), 0u8..2, proptest::collection::vec(0u8..4, 14)), 0..8),
    ) {
        let keys: Vec<&(u8, u8, Vec<u8>)> = entries.keys().collect();
        let mut queries: Vec<[u8; 16]> = picks.iter().map(|ix| to_hash(keys[ix.index(keys.len())])).collect();
        queries.extend(probes.iter().map(to_hash));
        check_against_scan(&entries, &queries)?;
    }
}

/// Build an `NtHash` with given bytes: the public API only hashes passwords, so go through a
/// one-line pwdump (the parser is the only public way in for raw hashes).
fn nt_from_bytes(h: &[u8; 16]) -> NtHash {
    let line = format!("x:1:aad3b435b51404eeaad3b435b51404ee:{}:::", hex(h));
    let dump = hygie_passwords::parse_dump(&line, "probe").expect("valid line");
    dump.account(0)
        .and_then(|a| a.nt_hash())
        .expect("hash present")
}

/// Issue 25: an interrupted import (killed) left its temporary file, as large as an index, and
/// every later kill added one (40 kills left 1.09 GB). The next import removes the orphans, and
/// leaves alone the file of an import still running (it holds the file's lock).
#[test]
fn an_import_removes_what_interrupted_imports_left() {
    let dir = tempfile::tempdir().expect("dir");
    let orphan = dir.path().join(".hygie-breach-Killed.tmp");
    std::fs::write(&orphan, vec![0u8; 4096]).expect("orphan");
    let running = dir.path().join(".hygie-breach-Running.tmp");
    let held = std::fs::File::create(&running).expect("running");
    held.lock().expect("lock as a running import does");
    let mine = dir.path().join("mine.tmp");
    std::fs::write(&mine, "not an import's").expect("other file");
    build(dir.path(), &format!("{}:3\n", nt_hex("Password1"))).expect("import");
    assert_eq!(
        files_in(dir.path()),
        vec![".hygie-breach-Running.tmp", "breach.idx", "mine.tmp"]
    );
    drop(held);
}
