//! The breach index file and its lookups.
//!
//! File layout (little-endian), format version 2:
//!
//! ```text
//! header  32 bytes  magic "HYGBRIX1", version u32 = 2, prefix bits u32 = 16,
//!                   entry length u32 = 8, reserved u32 = 0, entry count u64
//! entries 8 bytes each (one u64, 8-byte aligned), in the list's order: bits 16..75 of the hash
//!                   (the 59 bits after the 16-bit prefix, which the bucket implies) << 5
//!                   | count class (5 bits: the bit length of the breach count, at most 31;
//!                   the count is at least 2^(class-1))
//! table   (65536 + 1) u64: index of the first entry of each 16-bit prefix bucket, then the count
//! ```
//!
//! 8 bytes an entry (800 MB for 100 M hashes) plus a 512 KiB table. A lookup reads the bucket's
//! bounds from the table (held in memory) and searches the bucket in the mapped file.
//!
//! The index keeps the first 75 bits of each hash (16 implied by the bucket, 59 stored), not
//! all 128. A hash that is not in the list is reported as breached only if it shares its first
//! 75 bits with one of the N listed hashes: NT hashes are uniform, so the probability is about
//! N / 2^75 per lookup (2.6e-15 for N = 100 M; an audit of 1 M distinct hashes against the whole
//! HIBP list, about 9e8 entries, has a chance of about 2.4e-8 of one such false positive, a
//! breached password is never missed). Two listed hashes that share their first 75 bits are both
//! kept; a lookup of either gives the count class of the first of them in the list's order.
//! Counts of 2^31 or more are recorded as "at least 2^30" (the largest HIBP count is about
//! 5 x 10^7). Version 1 (15-byte entries: 112 bits of hash + a count byte, 1.5 GB for 100 M) is
//! refused at `open` with an error asking to re-import: the smaller entries halve the bytes an
//! import writes and `fsync`s, and a lookup reads one aligned word per probe.
//!
//! Lookups: interpolation search in the mapped bucket (the guess from the uniform key, then
//! galloping: about two cache lines a query instead of ten). Batches walk the sorted queries
//! bucket by bucket, split over threads by bucket ranges, in 16 MiB windows of the file mapped
//! on their own (resident memory stays a window whatever the batch), populated at once when the
//! batch is dense; the first probes of a bucket and of the next one are read before the searches
//! so that their cache misses overlap. Answers are one byte a hash (count class + 1, 0: absent).

use super::{BreachError, io_err, map_file, map_file_range};
use crate::hash::NtHash;
use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"HYGBRIX1";
pub(super) const VERSION: u32 = 2;
pub(super) const HEADER_LEN: usize = 32;
pub(super) const PREFIX_BITS: u32 = 16;
pub(super) const BUCKETS: usize = 1 << PREFIX_BITS;
/// Bytes per entry in the index.
pub const ENTRY_LEN: usize = 8;
/// Hash bits stored in an entry, after the prefix.
pub(super) const KEY_BITS: u32 = 59;
pub(super) const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
/// Low bits of an entry holding the count class.
pub(super) const CLASS_BITS: u32 = 5;
pub(super) const CLASS_MAX: u8 = (1 << CLASS_BITS) - 1;
pub(super) const TABLE_LEN: usize = (BUCKETS + 1) * 8;

/// Count class: bit length of the count (0 for a count of 0), at most `CLASS_MAX`.
pub(super) fn count_bucket(count: u64) -> u8 {
    ((64 - count.leading_zeros()) as u8).min(CLASS_MAX)
}

/// Smallest count a count class stands for.
fn bucket_min(b: u8) -> u64 {
    if b == 0 { 0 } else { 1u64 << (b - 1) }
}

pub(super) fn header(entries: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&PREFIX_BITS.to_le_bytes());
    h[16..20].copy_from_slice(&(ENTRY_LEN as u32).to_le_bytes());
    h[24..32].copy_from_slice(&entries.to_le_bytes());
    h
}

/// An opened, memory-mapped breach index.
pub struct BreachIndex {
    file: File,
    map: Mmap,
    entries: u64,
    table: Vec<u64>,
}

impl std::fmt::Debug for BreachIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachIndex")
            .field("entries", &self.entries)
            .finish()
    }
}

/// The stored key (hash bits 16..75) of entry `i`. Read as one aligned little-endian word;
/// entries of a bucket are in increasing key order.
#[inline]
fn key_at(entries: &[u8], i: usize) -> u64 {
    entry_at(entries, i) >> CLASS_BITS
}

#[inline]
fn entry_at(entries: &[u8], i: usize) -> u64 {
    let mut b = [0u8; ENTRY_LEN];
    b.copy_from_slice(&entries[i * ENTRY_LEN..(i + 1) * ENTRY_LEN]);
    u64::from_le_bytes(b)
}

/// The stored key of a hash read as a big-endian number.
#[inline]
pub(super) fn key_of_u128(v: u128) -> u64 {
    (v >> (128 - PREFIX_BITS - KEY_BITS)) as u64 & KEY_MASK
}

/// A hash's key in the form of `key_at`.
#[inline]
fn key_of(h: &NtHash) -> u64 {
    key_of_u128(u128::from_be_bytes(*h.bytes()))
}

/// First position in `entries` (a run of whole entries) whose key is >= `key`, searching
/// from entry `lo`.
#[inline]
fn lower_bound(entries: &[u8], key: u64, mut lo: usize) -> usize {
    let mut hi = entries.len() / ENTRY_LEN;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if key_at(entries, mid) < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `lower_bound` starting from where `key` would sit if the bucket's suffixes were evenly
/// spread (they are: NT hashes are uniform), then galloping to the answer. A bucket of a
/// 100 M-entry index holds about 1,500 entries: a binary search touches about ten cache lines
/// of it, this about two, and in a dense batch nearly every one of them misses the cache.
#[inline]
fn interpolation_bound(entries: &[u8], key: u64, lo: usize) -> usize {
    let n = entries.len() / ENTRY_LEN;
    let guess = interpolation_guess(n, key).clamp(lo, n);
    if guess < n && key_at(entries, guess) < key {
        // The answer is after `guess`.
        let (mut from, mut step) = (guess + 1, 1);
        loop {
            let probe = guess + step;
            if probe >= n || key_at(entries, probe) >= key {
                let to = probe.min(n);
                return from + lower_bound(&entries[from * ENTRY_LEN..to * ENTRY_LEN], key, 0);
            }
            from = probe + 1;
            step *= 2;
        }
    }
    // The answer is at or before `guess`, and not before `lo`.
    let (mut to, mut step) = (guess, 1);
    loop {
        if to - lo <= step {
            return lo + lower_bound(&entries[lo * ENTRY_LEN..to * ENTRY_LEN], key, 0);
        }
        let probe = to - step;
        if key_at(entries, probe) < key {
            let from = probe + 1;
            return from + lower_bound(&entries[from * ENTRY_LEN..to * ENTRY_LEN], key, 0);
        }
        to = probe;
        step *= 2;
    }
}

/// The bytes `from..to` of the index when the mapped `window` (its offset, its map) holds them.
fn window_holds(window: &Option<(usize, Mmap)>, from: usize, to: usize) -> Option<&[u8]> {
    let (at, m) = window.as_ref()?;
    m.get(from.checked_sub(*at)?..to.checked_sub(*at)?)
}

/// Where `key` would sit among `n` evenly spread keys: `interpolation_bound`'s first probe.
#[inline]
fn interpolation_guess(n: usize, key: u64) -> usize {
    ((u128::from(key) * n as u128) >> KEY_BITS) as usize
}

/// The count lower bound of the entry at `i` if its key is `key`.
#[inline]
fn hit(entries: &[u8], key: u64, i: usize) -> Option<u64> {
    count_of_class(hit_class(entries, key, i))
}

/// `hit` as a count class plus one, 0 for none (`classes_batch_threads`).
#[inline]
fn hit_class(entries: &[u8], key: u64, i: usize) -> u8 {
    if i >= entries.len() / ENTRY_LEN {
        return 0;
    }
    let e = entry_at(entries, i);
    if e >> CLASS_BITS == key {
        ((e as u8) & CLASS_MAX) + 1
    } else {
        0
    }
}

/// The count lower bound of a count class plus one (`classes_batch_threads`); `None` for 0.
pub(crate) fn count_of_class(class: u8) -> Option<u64> {
    class.checked_sub(1).map(bucket_min)
}

impl BreachIndex {
    /// Open and validate an index written by `import`.
    pub fn open(path: &Path) -> Result<BreachIndex, BreachError> {
        let bad = |message: String| BreachError::Format {
            path: path.display().to_string(),
            message,
        };
        let file = File::open(path).map_err(io_err(path))?;
        let map = map_file(&file).map_err(io_err(path))?;
        if map.len() < HEADER_LEN + TABLE_LEN {
            return Err(bad(format!("{} bytes, too short", map.len())));
        }
        let u32_at = |o: usize| u32::from_le_bytes([map[o], map[o + 1], map[o + 2], map[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&map[o..o + 8]);
            u64::from_le_bytes(b)
        };
        if map[..8] != MAGIC {
            return Err(bad("wrong magic number".into()));
        }
        let version = u32_at(8);
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}, this Hygie reads version {VERSION} only: re-import the breach list with `hygie breached import LIST -o INDEX`"
            )));
        }
        if u32_at(12) != PREFIX_BITS || u32_at(16) != ENTRY_LEN as u32 {
            return Err(bad("unsupported layout".into()));
        }
        let entries = u64_at(24);
        let expected = (entries as u128) * ENTRY_LEN as u128 + (HEADER_LEN + TABLE_LEN) as u128;
        if expected != map.len() as u128 {
            return Err(bad(format!(
                "{} bytes for {entries} entries, expected {expected}",
                map.len()
            )));
        }
        let table_at = HEADER_LEN + entries as usize * ENTRY_LEN;
        let table: Vec<u64> = (0..=BUCKETS).map(|i| u64_at(table_at + i * 8)).collect();
        if table[0] != 0 || table[BUCKETS] != entries || table.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad("corrupt prefix table".into()));
        }
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(BreachIndex {
            file,
            map,
            entries,
            table,
        })
    }

    pub fn len(&self) -> u64 {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    fn bucket(h: &NtHash) -> usize {
        let b = h.bytes();
        usize::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Byte range of bucket `b`'s entries in the file.
    fn bucket_range(&self, b: usize) -> (usize, usize) {
        (
            HEADER_LEN + self.table[b] as usize * ENTRY_LEN,
            HEADER_LEN + self.table[b + 1] as usize * ENTRY_LEN,
        )
    }

    /// `Some(n)`: the hash is in the breach corpus, seen at least `n` times (`n` is the power of
    /// two just below the recorded count). `None`: not in the corpus.
    pub fn lookup(&self, h: &NtHash) -> Option<u64> {
        let (from, to) = self.bucket_range(Self::bucket(h));
        let entries = &self.map[from..to];
        let key = key_of(h);
        hit(entries, key, interpolation_bound(entries, key, 0))
    }

    pub fn contains(&self, h: &NtHash) -> bool {
        self.lookup(h).is_some()
    }

    /// Look up many hashes; the answer is in the order of `hashes`.
    pub fn lookup_batch(&self, hashes: &[NtHash]) -> Vec<Option<u64>> {
        self.lookup_batch_threads(hashes, 1)
    }

    /// `lookup_batch` split over `threads` threads (see `classes_batch_threads`).
    pub fn lookup_batch_threads(&self, hashes: &[NtHash], threads: usize) -> Vec<Option<u64>> {
        self.classes_batch_threads(hashes, threads)
            .into_iter()
            .map(count_of_class)
            .collect()
    }

    /// `lookup_batch` as count classes, one byte a hash (0: not in the corpus, else the class
    /// plus one; `count_of_class` gives the count), split over `threads` threads (each takes a
    /// contiguous range of buckets). A byte rather than an `Option<u64>` a hash: a million-hash
    /// audit would write 16 MB of fresh memory for answers that are mostly "no".
    ///
    /// Hashes are visited in sorted order (already sorted input is not re-sorted), bucket by
    /// bucket, each search starting where the previous one ended (see `lookup_sorted` for how
    /// the index is read).
    pub(crate) fn classes_batch_threads(&self, hashes: &[NtHash], threads: usize) -> Vec<u8> {
        let order: Option<Vec<u32>> = if hashes.windows(2).all(|w| w[0] <= w[1]) {
            None
        } else {
            let mut o: Vec<u32> = (0..hashes.len() as u32).collect();
            o.sort_unstable_by_key(|&i| hashes[i as usize]);
            Some(o)
        };
        let query = |k: usize| match &order {
            Some(o) => &hashes[o[k] as usize],
            None => &hashes[k],
        };
        let mut sorted_out = vec![0u8; hashes.len()];
        // Cut points between threads, moved forward to a bucket boundary.
        let threads = threads.clamp(1, 16).min(hashes.len().div_ceil(4096).max(1));
        let mut cuts = vec![0];
        for t in 1..threads {
            let mut at = (hashes.len() * t / threads).max(*cuts.last().unwrap_or(&0));
            while at > 0
                && at < hashes.len()
                && Self::bucket(query(at)) == Self::bucket(query(at - 1))
            {
                at += 1;
            }
            cuts.push(at);
        }
        cuts.push(hashes.len());
        std::thread::scope(|s| {
            let mut rest: &mut [u8] = &mut sorted_out;
            let mut handles = Vec::new();
            for w in cuts.windows(2) {
                let (mine, tail) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
                rest = tail;
                let (from, query) = (w[0], &query);
                let mut work = move || self.lookup_sorted(from, mine, query);
                if w[1] == hashes.len() {
                    work();
                } else {
                    handles.push(s.spawn(work));
                }
            }
            for h in handles {
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
        match order {
            None => sorted_out,
            Some(o) => {
                let mut out = vec![0u8; hashes.len()];
                for (k, r) in o.into_iter().zip(sorted_out) {
                    out[k as usize] = r;
                }
                out
            }
        }
    }

    /// Answer the sorted queries `query(first..first + out.len())` into `out` (count classes as
    /// in `classes_batch_threads`).
    ///
    /// Buckets holding several queries are searched in windows of the file mapped on their
    /// own and unmapped when passed, so that the process's resident memory stays bounded by a
    /// window whatever the batch. When the queries are dense enough that nearly every page of
    /// their range is read anyway (at least one query per page on average, as for a 1 M-hash
    /// batch against 100 M entries), a window is mapped with all its pages at once: a copy-free
    /// read of the index, instead of the positioned reads used before (which copied all of it).
    fn lookup_sorted<'q>(
        &self,
        first: usize,
        out: &mut [u8],
        query: &impl Fn(usize) -> &'q NtHash,
    ) {
        const WINDOW: usize = 16 << 20;
        const PAGE: usize = 4096;
        if out.is_empty() {
            return;
        }
        let end = HEADER_LEN + self.entries as usize * ENTRY_LEN;
        let span = {
            let (from, _) = self.bucket_range(Self::bucket(query(first)));
            let (_, to) = self.bucket_range(Self::bucket(query(first + out.len() - 1)));
            to.saturating_sub(from)
        };
        let dense = out.len() * PAGE >= span;
        // (file offset, mapping of the file bytes from that offset)
        let mut window: Option<(usize, Mmap)> = None;
        // The bucket of query `i` and the end of its queries.
        let queries = out.len();
        let run = |i: usize| {
            let b = Self::bucket(query(first + i));
            let mut j = i + 1;
            while j < queries && Self::bucket(query(first + j)) == b {
                j += 1;
            }
            (b, j)
        };
        // The next bucket's run, when found ahead, and whether its first probes were read.
        let mut ahead: Option<((usize, usize), bool)> = None;
        let mut i = 0;
        while i < queries {
            let ((b, j), touched) = ahead.take().unwrap_or_else(|| (run(i), false));
            let (from, to) = self.bucket_range(b);
            if j - i > 1 && to > from && window_holds(&window, from, to).is_none() {
                // Unmapped before the next one is mapped: one window resident at a time.
                drop(window.take());
                let len = (to - from).max(WINDOW).min(end - from);
                window = map_file_range(&self.file, Some((from as u64, len, dense)))
                    .ok()
                    .map(|m| (from, m));
            }
            let entries = window_holds(&window, from, to).unwrap_or(&self.map[from..to]);
            // The first probes of this bucket and of the next one (when the window holds it) are
            // read before this bucket's searches: independent loads, which the memory system
            // serves together, where each search alone would wait for its cache line in turn
            // (nearly every one misses in a dense batch).
            let touch = |entries: &[u8], queries: std::ops::Range<usize>| {
                let n = entries.len() / ENTRY_LEN;
                let mut touched = 0u64;
                for k in queries.filter(|_| n > 0) {
                    let g = interpolation_guess(n, key_of(query(first + k))).min(n - 1);
                    touched ^= entry_at(entries, g);
                }
                std::hint::black_box(touched);
            };
            if !touched {
                touch(entries, i..j);
            }
            if j < queries {
                let (b, k) = run(j);
                let (from, to) = self.bucket_range(b);
                let held = window_holds(&window, from, to);
                if let Some(entries) = held {
                    touch(entries, j..k);
                }
                ahead = Some(((b, k), held.is_some()));
            }
            let mut lo = 0;
            for (k, slot) in out[i..j].iter_mut().enumerate() {
                let key = key_of(query(first + i + k));
                lo = interpolation_bound(entries, key, lo);
                *slot = hit_class(entries, key, lo);
            }
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_finds_the_same_place_as_binary_search() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || crate::hash::xorshift(&mut x);
        for n in [0usize, 1, 2, 3, 10, 100, 1500] {
            // Sorted keys: evenly spread, then all bunched at one end (the worst case for a
            // guess), with repeats; each entry with a count class in its low bits.
            for skew in [false, true] {
                let mut keys: Vec<u64> = (0..n)
                    .map(|_| {
                        let v = next() & KEY_MASK;
                        if skew { v >> 20 } else { v }
                    })
                    .collect();
                keys.sort_unstable();
                let entries: Vec<u8> = keys
                    .iter()
                    .enumerate()
                    .flat_map(|(i, k)| ((k << CLASS_BITS) | (i as u64 % 32)).to_le_bytes())
                    .collect();
                let probes = keys
                    .iter()
                    .copied()
                    .chain((0..50).map(|_| next() & KEY_MASK))
                    .chain([0, KEY_MASK]);
                for key in probes {
                    let want = keys.partition_point(|&k| k < key);
                    assert_eq!(lower_bound(&entries, key, 0), want, "n {n}");
                    for lo in [0, want / 2, want] {
                        assert_eq!(interpolation_bound(&entries, key, lo), want, "n {n}");
                    }
                    let found = hit(&entries, key, want);
                    assert_eq!(found.is_some(), keys.get(want) == Some(&key), "n {n}");
                }
            }
        }
    }

    #[test]
    fn count_buckets() {
        for (count, b, min) in [
            (0u64, 0u8, 0u64),
            (1, 1, 1),
            (2, 2, 2),
            (3, 2, 2),
            (4, 3, 4),
            (1000, 10, 512),
            ((1 << 30) + 5, 31, 1 << 30),
            // The class saturates: larger counts are "at least 2^30".
            (1 << 31, 31, 1 << 30),
            (u64::MAX, 31, 1 << 30),
        ] {
            assert_eq!(count_bucket(count), b, "{count}");
            assert_eq!(bucket_min(b), min, "{count}");
            assert!(bucket_min(count_bucket(count)) <= count);
        }
    }
}
