//! A breach index file as `hygie audit passwords --breached FILE` opens it: a valid index with
//! bytes changed, cut or extended by the input, then lookups, one and many at a time. The
//! index format is Hygie's own, but the file is whatever is at that path.
//!
//! Input: 5-byte operations `[offset u32 LE, value]`; an offset with its top bit set resizes
//! the file to `offset & 0x7fff_ffff` modulo twice its size (zeros appended), any other writes
//! `value` at `offset` modulo the size.
#![no_main]

use hygie_passwords::{BreachIndex, NtHash, import, parse_dump};
use std::sync::OnceLock;

struct Base {
    dir: tempfile::TempDir,
    index: Vec<u8>,
    probes: Vec<NtHash>,
}

/// 64 listed hashes (spread over the prefix buckets, two sharing one), the index of them, and
/// probes: the listed hashes and others.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut hexes: Vec<String> = (0u64..64)
            .map(|i| {
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i << 7);
                format!("{x:016X}{:016X}", !x)
            })
            .collect();
        hexes.push(format!("{}1", hexes[0].get(..31).unwrap_or_default()));
        hexes.sort();
        hexes.dedup();
        let list: String = hexes
            .iter()
            .enumerate()
            .map(|(i, h)| format!("{h}:{}\n", 1 + i * i * 997))
            .collect();
        let path = dir.path().join("base.bin");
        import(&mut list.as_bytes(), "base", &path, &mut |_| {}).expect("the base list imports");
        let index = std::fs::read(&path).expect("the base index reads");
        let mut dump = String::new();
        for (i, h) in hexes.iter().enumerate() {
            let other = format!("{}{}", &h[..16], h[16..].chars().rev().collect::<String>());
            for (j, hex) in [h, &other].into_iter().enumerate() {
                dump.push_str(&format!(
                    "u{i}x{j}:{}:aad3b435b51404eeaad3b435b51404ee:{hex}:::\n",
                    1000 + 2 * i + j
                ));
            }
        }
        let probes = parse_dump(&dump, "probes")
            .expect("the probes parse")
            .accounts()
            .filter_map(|a| a.nt_hash())
            .collect();
        Base { dir, index, probes }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let base = base();
    let mut bytes = base.index.clone();
    for op in data.chunks_exact(5) {
        let offset = u32::from_le_bytes([op[0], op[1], op[2], op[3]]) as usize;
        if offset & 0x8000_0000 != 0 {
            let len = (offset & 0x7fff_ffff) % (2 * base.index.len());
            bytes.resize(len, 0);
        } else if !bytes.is_empty() {
            let at = offset % bytes.len();
            bytes[at] = op[4];
        }
    }
    let path = base.dir.path().join("patched.bin");
    std::fs::write(&path, &bytes).expect("the patched index is written");
    let index = match BreachIndex::open(&path) {
        Ok(i) => i,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (index.len(), index.is_empty(), format!("{index:?}"));
    for h in &base.probes {
        let _ = index.lookup(h);
    }
    let _ = index.lookup_batch(&base.probes);
    let _ = index.lookup_batch_threads(&base.probes, 2);
});
