//! A compact, memory-mapped index of breached NT hashes (Have I Been Pwned's NTLM list).
//!
//! Input: the HIBP "ordered by hash" NTLM file, one `HASH:COUNT` line per hash, sorted by hash
//! (tens of GB). `import` streams it once with a fixed-size buffer (memory does not grow with the
//! input), checks every line and the order, and writes the index to a temporary file next to the
//! output, renamed into place only when the whole input was valid.
//!
//! File layout (little-endian):
//!
//! ```text
//! header  32 bytes  magic "HYGBRIX1", version u32 = 1, prefix bits u32 = 16,
//!                   entry length u32 = 15, reserved u32 = 0, entry count u64
//! entries 15 bytes each, sorted: bytes 2..16 of the hash (the first two bytes are implied by
//!                   the bucket) + 1 count byte (bit length of the breach count: the count is at
//!                   least 2^(b-1))
//! table   (65536 + 1) u64: index of the first entry of each 16-bit prefix bucket, then the count
//! ```
//!
//! 15 bytes an entry (1 GB for 70 M hashes) plus a 512 KiB table. A lookup reads the bucket's
//! bounds from the table (held in memory) and binary-searches the bucket in the mapped file.

use crate::hash::{NtHash, parse_hex16};
use memmap2::Mmap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 8] = *b"HYGBRIX1";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 32;
const PREFIX_BITS: u32 = 16;
const BUCKETS: usize = 1 << PREFIX_BITS;
const PREFIX_LEN: usize = 2;
const SUFFIX_LEN: usize = 16 - PREFIX_LEN;
/// Bytes per entry in the index.
pub const ENTRY_LEN: usize = SUFFIX_LEN + 1;
const TABLE_LEN: usize = (BUCKETS + 1) * 8;
/// Problems reported before an import gives up reading.
const MAX_PROBLEMS: usize = 20;
const READ_BUF: usize = 8 << 20;
const WRITE_BUF: usize = 8 << 20;

/// What is wrong with one line of the breach list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: u64,
    pub message: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {} invalid line(s){}, index not written: {}", problems.len(), if *more { " (first ones only)" } else { "" }, render(problems))]
    Input { path: String, problems: Vec<LineProblem>, more: bool },
    #[error("{path}: not a Hygie breach index: {message}")]
    Format { path: String, message: String },
}

fn render(problems: &[LineProblem]) -> String {
    problems.iter().map(|p| format!("line {}: {}", p.line, p.message)).collect::<Vec<_>>().join("; ")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BreachError + '_ {
    move |source| BreachError::Io { path: path.display().to_string(), source }
}

/// Figures of a finished import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportStats {
    pub entries: u64,
    pub bytes_read: u64,
    pub index_bytes: u64,
}

/// Count byte: bit length of the count (0 for a count of 0, 64 max).
fn count_bucket(count: u64) -> u8 {
    (64 - count.leading_zeros()) as u8
}

/// Smallest count a count byte stands for.
fn bucket_min(b: u8) -> u64 {
    if b == 0 { 0 } else { 1u64 << (b - 1) }
}

/// Parse one `HASH:COUNT` line (without its newline; a trailing `\r` is accepted).
fn parse_line(line: &[u8]) -> Result<([u8; 16], u64), &'static str> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < 34 || line[32] != b':' {
        return Err("expected HASH:COUNT (32 hexadecimal digits, a colon, a number)");
    }
    let hash = parse_hex16(&line[..32]).ok_or("the hash is not 32 hexadecimal digits")?;
    let digits = &line[33..];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err("the count is not a number");
    }
    let mut count: u64 = 0;
    for d in digits {
        count = count.checked_mul(10).and_then(|c| c.checked_add(u64::from(d - b'0'))).ok_or("the count is too large")?;
    }
    Ok((hash, count))
}

/// State of an import in progress.
struct Builder {
    out: Option<(tempfile::NamedTempFile, Vec<u8>)>,
    table: Vec<u64>,
    entries: u64,
    prev: Option<[u8; 16]>,
    problems: Vec<LineProblem>,
    more: bool,
}

impl Builder {
    #[inline]
    fn push(&mut self, line_no: u64, hash: [u8; 16], count: u64) -> std::io::Result<()> {
        if let Some(p) = self.prev
            && hash <= p
        {
            let message = if hash == p { "duplicate hash" } else { "not sorted: hash smaller than the previous line's" };
            self.problem(line_no, message);
            return Ok(());
        }
        self.prev = Some(hash);
        if let Some((file, buf)) = &mut self.out {
            buf.extend_from_slice(&hash[PREFIX_LEN..]);
            buf.push(count_bucket(count));
            if buf.len() >= WRITE_BUF {
                file.write_all(buf)?;
                buf.clear();
            }
        }
        self.table[usize::from(u16::from_be_bytes([hash[0], hash[1]]))] += 1;
        self.entries += 1;
        Ok(())
    }

    fn problem(&mut self, line: u64, message: &'static str) {
        // From the first problem on, nothing more is written: the import will fail.
        self.out = None;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(LineProblem { line, message });
        } else {
            self.more = true;
        }
    }
}

/// Import a HIBP NTLM ordered list from `input` into the index file `output`.
///
/// `progress` is called after each chunk with the number of bytes read so far. On any invalid
/// line (malformed, unsorted, duplicate) nothing is written and the error lists the first lines
/// at fault (line numbers only: the lines themselves are not quoted).
pub fn import(
    input: &mut dyn Read,
    input_name: &str,
    output: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportStats, BreachError> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".hygie-breach-").suffix(".tmp").tempfile_in(&dir).map_err(io_err(&dir))?;
    tmp.as_file_mut().write_all(&[0u8; HEADER_LEN]).map_err(io_err(output))?;
    let mut b = Builder {
        out: Some((tmp, Vec::with_capacity(WRITE_BUF + ENTRY_LEN))),
        table: vec![0u64; BUCKETS + 1],
        entries: 0,
        prev: None,
        problems: Vec::new(),
        more: false,
    };
    let in_path = Path::new(input_name);
    let mut buf = vec![0u8; READ_BUF];
    let mut filled = 0usize;
    let mut bytes_read = 0u64;
    let mut line_no = 0u64;
    let mut eof = false;
    'read: while !eof {
        let n = loop {
            match input.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(in_path)(e)),
            }
        };
        bytes_read += n as u64;
        filled += n;
        if n == 0 {
            eof = true;
            // A last line without its newline.
            if filled > 0 && buf[filled - 1] != b'\n' {
                if filled == buf.len() {
                    buf.push(b'\n');
                } else {
                    buf[filled] = b'\n';
                }
                filled += 1;
            }
        }
        let mut pos = 0usize;
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..filled]) {
            line_no += 1;
            let line = &buf[pos..pos + nl];
            match parse_line(line) {
                Ok((hash, count)) => b.push(line_no, hash, count).map_err(io_err(output))?,
                Err(message) => b.problem(line_no, message),
            }
            pos += nl + 1;
            if b.more {
                break 'read;
            }
        }
        if pos == 0 && filled == buf.len() {
            line_no += 1;
            b.problem(line_no, "line longer than 8 MiB");
            break;
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        progress(bytes_read);
    }
    if !b.problems.is_empty() {
        // Dropping the temporary file removes it.
        return Err(BreachError::Input { path: input_name.to_string(), problems: b.problems, more: b.more });
    }
    let Some((mut tmp, rest)) = b.out else {
        return Err(BreachError::Input { path: input_name.to_string(), problems: Vec::new(), more: false });
    };
    let file = tmp.as_file_mut();
    file.write_all(&rest).map_err(io_err(output))?;
    // Bucket sizes -> start index of each bucket, then the total.
    let mut table = Vec::with_capacity(TABLE_LEN);
    let mut start = 0u64;
    for n in &b.table[..BUCKETS] {
        table.extend_from_slice(&start.to_le_bytes());
        start += n;
    }
    table.extend_from_slice(&start.to_le_bytes());
    file.write_all(&table).map_err(io_err(output))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(output))?;
    file.write_all(&header(b.entries)).map_err(io_err(output))?;
    file.sync_all().map_err(io_err(output))?;
    tmp.persist(output).map_err(|e| io_err(output)(e.error))?;
    let index_bytes = (HEADER_LEN + TABLE_LEN) as u64 + b.entries * ENTRY_LEN as u64;
    Ok(ImportStats { entries: b.entries, bytes_read, index_bytes })
}

fn header(entries: u64) -> [u8; HEADER_LEN] {
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
        f.debug_struct("BreachIndex").field("entries", &self.entries).finish()
    }
}

/// Map an index file read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: memmap2 requires that the file is not modified while mapped. Hygie never modifies
    // an index in place: `import` writes a new file and renames it over the old path, which leaves
    // the mapped inode untouched. Only an outside process truncating or rewriting the file in
    // place could break this, as with any memory-mapped reader.
    unsafe { Mmap::map(file) }
}

/// First position in `entries` (a run of whole entries) whose suffix is >= `key`, searching
/// from entry `lo`.
#[inline]
fn lower_bound(entries: &[u8], key: &[u8], mut lo: usize) -> usize {
    let mut hi = entries.len() / ENTRY_LEN;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if &entries[mid * ENTRY_LEN..mid * ENTRY_LEN + SUFFIX_LEN] < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The count lower bound of the entry at `i` if its suffix is `key`.
#[inline]
fn hit(entries: &[u8], key: &[u8], i: usize) -> Option<u64> {
    let e = entries.get(i * ENTRY_LEN..(i + 1) * ENTRY_LEN)?;
    (&e[..SUFFIX_LEN] == key).then(|| bucket_min(e[SUFFIX_LEN]))
}

impl BreachIndex {
    /// Open and validate an index written by `import`.
    pub fn open(path: &Path) -> Result<BreachIndex, BreachError> {
        let bad = |message: String| BreachError::Format { path: path.display().to_string(), message };
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
        if u32_at(8) != VERSION || u32_at(12) != PREFIX_BITS || u32_at(16) != ENTRY_LEN as u32 {
            return Err(bad("unsupported version or layout".into()));
        }
        let entries = u64_at(24);
        let expected = (entries as u128) * ENTRY_LEN as u128 + (HEADER_LEN + TABLE_LEN) as u128;
        if expected != map.len() as u128 {
            return Err(bad(format!("{} bytes for {entries} entries, expected {expected}", map.len())));
        }
        let table_at = HEADER_LEN + entries as usize * ENTRY_LEN;
        let table: Vec<u64> = (0..=BUCKETS).map(|i| u64_at(table_at + i * 8)).collect();
        if table[0] != 0 || table[BUCKETS] != entries || table.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad("corrupt prefix table".into()));
        }
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(BreachIndex { file, map, entries, table })
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
        (HEADER_LEN + self.table[b] as usize * ENTRY_LEN, HEADER_LEN + self.table[b + 1] as usize * ENTRY_LEN)
    }

    /// `Some(n)`: the hash is in the breach corpus, seen at least `n` times (`n` is the power of
    /// two just below the recorded count). `None`: not in the corpus.
    pub fn lookup(&self, h: &NtHash) -> Option<u64> {
        let (from, to) = self.bucket_range(Self::bucket(h));
        let entries = &self.map[from..to];
        let key = &h.bytes()[PREFIX_LEN..];
        hit(entries, key, lower_bound(entries, key, 0))
    }

    pub fn contains(&self, h: &NtHash) -> bool {
        self.lookup(h).is_some()
    }

    /// Look up many hashes; the answer is in the order of `hashes`.
    ///
    /// Hashes are visited in sorted order, bucket by bucket, each search starting where the
    /// previous one ended. A bucket holding many queries is read with one positioned read into a
    /// reused buffer (so a batch over most of the file does not pull the whole index into the
    /// process's resident memory); sparse buckets are binary-searched in the mapping.
    pub fn lookup_batch(&self, hashes: &[NtHash]) -> Vec<Option<u64>> {
        let mut order: Vec<u32> = (0..hashes.len() as u32).collect();
        order.sort_unstable_by_key(|&i| hashes[i as usize]);
        let mut out = vec![None; hashes.len()];
        let mut buf: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let b = Self::bucket(&hashes[order[i] as usize]);
            let mut j = i + 1;
            while j < order.len() && Self::bucket(&hashes[order[j] as usize]) == b {
                j += 1;
            }
            let (from, to) = self.bucket_range(b);
            let len_entries = (to - from) / ENTRY_LEN;
            // Dense: one query per 64 entries or more (at least one page in two is touched).
            let entries: &[u8] = if len_entries > 0 && (j - i) * 64 >= len_entries && self.read_at(&mut buf, from, to) {
                &buf
            } else {
                &self.map[from..to]
            };
            let mut lo = 0;
            for &q in &order[i..j] {
                let key = &hashes[q as usize].bytes()[PREFIX_LEN..];
                lo = lower_bound(entries, key, lo);
                out[q as usize] = hit(entries, key, lo);
            }
            i = j;
        }
        out
    }

    /// Read bytes `from..to` of the file into `buf`; false on an I/O error (the caller then uses
    /// the mapping, which holds the same bytes).
    fn read_at(&self, buf: &mut Vec<u8>, from: usize, to: usize) -> bool {
        buf.resize(to - from, 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, from as u64).is_ok()
        }
        #[cfg(not(unix))]
        {
            let _ = &self.file;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_buckets() {
        for (count, b, min) in [(0u64, 0u8, 0u64), (1, 1, 1), (2, 2, 2), (3, 2, 2), (4, 3, 4), (1000, 10, 512), (u64::MAX, 64, 1 << 63)] {
            assert_eq!(count_bucket(count), b, "{count}");
            assert_eq!(bucket_min(b), min, "{count}");
            assert!(bucket_min(count_bucket(count)) <= count);
        }
    }

    #[test]
    fn line_parsing() {
        let h = "8846F7EAEE8FB117AD06BDD830B7586C";
        assert!(matches!(parse_line(format!("{h}:42").as_bytes()), Ok((_, 42))));
        assert!(matches!(parse_line(format!("{h}:7\r").as_bytes()), Ok((_, 7))));
        for (l, want) in [
            (h.to_string(), "expected HASH:COUNT"),
            (format!("{h}:"), "expected HASH:COUNT"),
            (format!("{h}:x"), "not a number"),
            (format!("{h}:-1"), "not a number"),
            (format!("{}Z:1", &h[..31]), "not 32 hexadecimal"),
            (format!("{h}:99999999999999999999999"), "too large"),
            (format!("{h}0:1"), "expected HASH:COUNT"),
        ] {
            match parse_line(l.as_bytes()) {
                Err(m) => assert!(m.contains(want), "{l}: {m}"),
                Ok(_) => panic!("{l} should not parse"),
            }
        }
    }
}
