//! A HIBP NTLM list imported as `hygie breached import` imports one (from a pipe), then the
//! index opened as `hygie audit passwords --breached` opens it and every listed hash looked up:
//! an import that succeeds must find each of its hashes again.
#![no_main]

use hygie_passwords::{BreachIndex, import, parse_dump};
use std::sync::OnceLock;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let out = dir().path().join("index.bin");
    let mut input = data;
    let stats = match import(&mut input, "list.txt", &out, &mut |_| {}) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let index = BreachIndex::open(&out).expect("the index an import wrote opens");
    assert_eq!(index.len(), stats.entries);
    // The listed hashes, as accounts of a dump (NT hashes are only built by parsing): a valid
    // list's lines all start with 32 hexadecimal digits.
    let mut dump = String::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if let Some(hex) = line.get(..32).and_then(|h| std::str::from_utf8(h).ok()) {
            dump.push_str(&format!(
                "u{i}:{}:aad3b435b51404eeaad3b435b51404ee:{hex}:::\n",
                1000 + i
            ));
        }
    }
    let dump = parse_dump(&dump, "listed").expect("listed hashes parse as a dump");
    let hashes: Vec<_> = dump.accounts().filter_map(|a| a.nt_hash()).collect();
    assert_eq!(hashes.len() as u64, stats.entries);
    for h in &hashes {
        assert!(index.contains(h), "a listed hash is not found");
    }
    let batch = index.lookup_batch_threads(&hashes, 2);
    assert!(batch.iter().all(Option::is_some));
});
