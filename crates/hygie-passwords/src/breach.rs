//! A compact, memory-mapped index of breached NT hashes (Have I Been Pwned's NTLM list).
//!
//! Input: the HIBP "ordered by hash" NTLM file, one `HASH:COUNT` line per hash, sorted by hash
//! (tens of GB). `import` streams it once with a fixed-size buffer (memory does not grow with the
//! input), checks every line and the order, and writes the index to a temporary file next to the
//! output, renamed into place only when the whole input was valid.
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
//! 5 x 10^7). Version 1 (15-byte entries: 112 bits of hash + a count byte) is refused at `open`
//! with an error asking to re-import: the smaller entries halve the bytes an import writes and
//! `fsync`s, and a lookup reads one aligned word per probe.

#[cfg(target_arch = "x86_64")]
use crate::hash::hex32_avx2;
use crate::hash::{HIGH, NtHash, ge, gt, hex32, parse_hex16};
use memmap2::Mmap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 8] = *b"HYGBRIX1";
const VERSION: u32 = 2;
const HEADER_LEN: usize = 32;
const PREFIX_BITS: u32 = 16;
const BUCKETS: usize = 1 << PREFIX_BITS;
/// Bytes per entry in the index.
pub const ENTRY_LEN: usize = 8;
/// Hash bits stored in an entry, after the prefix.
const KEY_BITS: u32 = 59;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
/// Low bits of an entry holding the count class.
const CLASS_BITS: u32 = 5;
const CLASS_MAX: u8 = (1 << CLASS_BITS) - 1;
const TABLE_LEN: usize = (BUCKETS + 1) * 8;
/// Problems reported before an import gives up reading.
const MAX_PROBLEMS: usize = 20;

/// What is wrong with one line of the breach list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: u64,
    pub message: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {} invalid line(s){}, index not written: {}", problems.len(), if *more { " (first ones only)" } else { "" }, render(problems))]
    Input {
        path: String,
        problems: Vec<LineProblem>,
        more: bool,
    },
    #[error("{path}: not a Hygie breach index: {message}")]
    Format { path: String, message: String },
}

fn render(problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("line {}: {}", p.line, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BreachError + '_ {
    move |source| BreachError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Figures of a finished import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportStats {
    pub entries: u64,
    pub bytes_read: u64,
    pub index_bytes: u64,
}

/// Count class: bit length of the count (0 for a count of 0), at most `CLASS_MAX`.
fn count_bucket(count: u64) -> u8 {
    ((64 - count.leading_zeros()) as u8).min(CLASS_MAX)
}

/// Smallest count a count class stands for.
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
        count = count
            .checked_mul(10)
            .and_then(|c| c.checked_add(u64::from(d - b'0')))
            .ok_or("the count is too large")?;
    }
    Ok((hash, count))
}

/// Where a chunk's bytes are: a reused buffer filled by `read` (its length is kept so that it
/// is zero-filled only once), or a range of a mapped window of the input file (no copy).
enum Input {
    Owned(Vec<u8>),
    Mapped(std::sync::Arc<Mmap>, usize),
}

/// A run of whole lines of the input: the first `len` bytes of `data`.
struct Chunk {
    seq: u64,
    data: Input,
    len: usize,
    /// A reused buffer for the parsed entries (see `Parsed::entries`).
    entries: Vec<u8>,
}

/// A chunk parsed by a worker: its entries in index form and what the writer needs to check and
/// place them.
struct Parsed {
    seq: u64,
    bytes: u64,
    lines: u64,
    /// The entries in index form are `entries[..entries_len]`. The buffer goes back to the
    /// reader with the chunk's: reused, it is neither zero-filled nor page-faulted again.
    entries: Vec<u8>,
    entries_len: usize,
    /// (16-bit prefix, number of entries) runs, in order.
    runs: Vec<(u16, u64)>,
    /// First valid hash, with its line within the chunk; last (largest) valid hash.
    first: Option<(u128, u64)>,
    last: Option<u128>,
    /// (line within the chunk, message)
    problems: Vec<(u64, &'static str)>,
    /// More problems than `problems` holds.
    more: bool,
    data: Input,
}

const CHUNK: usize = 4 << 20;
const MAX_LINE: usize = 1 << 20;
/// Chunks the reader of a mapped file may have waiting for a parser (they are ranges of the
/// mapped windows, not copies). From a list that is not in the page cache,
/// this lets the reads run 128 MB ahead, so that they go on while the disk is busy with a flush
/// of the index (cold import, 100 M lines, in-process: 0.93-1.23 s with 4 chunks, 0.80-0.99 s
/// with 16, 0.77-0.78 s with 32; peak RSS about 330 MB warm, the mapped input included).
const READ_AHEAD_CHUNKS: usize = 32;
/// Index bytes written between two background flushes: the final `fsync` waits for at most
/// this much (32 MB: cold import 0.73-0.78 s, against 0.77-0.78 s with 64 MB).
const SYNC_EVERY: usize = 32 << 20;

/// The count at the start of `w` (eight bytes read as a little-endian word) when it has 1 to 7
/// decimal digits, as (value, digits); `None` otherwise. Branch-free: counts vary in length from
/// line to line, and a digit-by-digit loop mispredicts its exit on most lines.
#[inline(always)]
fn count7(w: u64) -> Option<(u64, usize)> {
    let digit = ge(w, 0x30) & !gt(w, 0x39) & !w & HIGH;
    let n = ((!digit & HIGH).trailing_zeros() / 8) as usize;
    if n == 0 || n == 8 {
        return None;
    }
    // Digit values, the n digits moved to the top bytes (what is above them, borrows included,
    // is shifted out) so that the bytes below are leading zeros; then pairs, fours and eight
    // digits are combined by multiplication.
    let v = w.wrapping_sub(0x3030_3030_3030_3030) << (8 * (8 - n));
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let lanes = 0x0000_00ff_0000_00ff;
    let v = ((v & lanes).wrapping_mul(100 + (1_000_000 << 32))
        + ((v >> 16) & lanes).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some((v, n))
}

/// The well-formed line at the start of `rest` — 32 hex digits, `:`, 1 to 19 decimal digits, then
/// `\n`, `\r\n` or the end of the input — as (hash, count, bytes used). `None` sends the line to
/// `parse_line`, which accepts the same lines and explains the others.
#[inline(always)]
fn fast_line(rest: &[u8], hex: impl Fn(&[u8; 32]) -> Option<u128>) -> Option<(u128, u64, usize)> {
    let head: &[u8; 34] = rest.get(..34)?.try_into().ok()?;
    if head[32] != b':' {
        return None;
    }
    let hash = hex(head.first_chunk::<32>()?)?;
    if let Some(w) = rest.get(33..41)
        && let Some((count, n)) = count7(u64::from_le_bytes(w.try_into().ok()?))
    {
        let i = 33 + n;
        return match &rest[i..] {
            [b'\n', ..] => Some((hash, count, i + 1)),
            [b'\r', b'\n', ..] => Some((hash, count, i + 2)),
            _ => None,
        };
    }
    let mut count = 0u64;
    let mut i = 33;
    while i < rest.len().min(33 + 19) {
        let d = rest[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        count = count * 10 + u64::from(d);
        i += 1;
    }
    if i == 33 {
        return None;
    }
    match rest.get(i..).unwrap_or_default() {
        [] => Some((hash, count, i)),
        [b'\n', ..] => Some((hash, count, i + 1)),
        [b'\r', b'\n', ..] => Some((hash, count, i + 2)),
        _ => None,
    }
}

fn parse_chunk(chunk: Chunk) -> Parsed {
    let data = chunk.data;
    let text = match &data {
        Input::Owned(v) => &v[..chunk.len],
        Input::Mapped(m, at) => &m[*at..*at + chunk.len],
    };
    let mut p = Parsed::empty(chunk.seq, text.len(), chunk.entries);
    parse_lines(text, &mut p);
    p.data = data;
    p
}

impl Parsed {
    /// Nothing parsed yet, of a chunk of `bytes` bytes, into the reused `entries` buffer.
    fn empty(seq: u64, bytes: usize, entries: Vec<u8>) -> Parsed {
        Parsed {
            seq,
            bytes: bytes as u64,
            lines: 0,
            entries,
            entries_len: 0,
            runs: Vec::new(),
            first: None,
            last: None,
            problems: Vec::new(),
            more: false,
            data: Input::Owned(Vec::new()),
        }
    }
}

/// `parse_lines_in` built for the CPU: with AVX2, the 32 digits of a hash are checked and
/// decoded in one register.
fn parse_lines(text: &[u8], p: &mut Parsed) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { parse_lines_avx2(text, p) };
    }
    parse_lines_in(text, p, hex32);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn parse_lines_avx2(text: &[u8], p: &mut Parsed) {
    parse_lines_in(text, p, |h| hex32_avx2(h));
}

/// Parse `text` (whole lines) into `p`, decoding hashes with `hex`. Inlined into each build of
/// `parse_lines`, so that `hex` is inlined into the loop too.
#[inline(always)]
fn parse_lines_in(text: &[u8], p: &mut Parsed, hex: impl Fn(&[u8; 32]) -> Option<u128>) {
    fn problem(p: &mut Parsed, line: u64, m: &'static str) {
        if p.problems.len() < MAX_PROBLEMS {
            p.problems.push((line, m));
        } else {
            p.more = true;
        }
    }
    let mut pos = 0;
    let len = text.len();
    let mut last: Option<u128> = None;
    let mut n_entries = 0usize;
    // Valid lines are at least 35 bytes long; the buffer grows if shorter ones ever fill it.
    let estimate = text.len() / 35 * ENTRY_LEN + ENTRY_LEN;
    if p.entries.len() < estimate {
        p.entries.resize(estimate, 0);
    }
    while pos < len {
        let parsed = match fast_line(&text[pos..], &hex) {
            Some((hash, count, used)) => {
                pos += used;
                Ok((hash, count))
            }
            None => {
                let nl = memchr::memchr(b'\n', &text[pos..]).map_or(len, |i| pos + i);
                let r = parse_line(&text[pos..nl]).map(|(h, c)| (u128::from_be_bytes(h), c));
                pos = nl + 1;
                r
            }
        };
        p.lines += 1;
        match parsed {
            Ok((v, count)) => match last {
                Some(prev) if v <= prev => {
                    let m = if v == prev {
                        "duplicate hash"
                    } else {
                        "not sorted: hash smaller than the previous line's"
                    };
                    let line = p.lines;
                    problem(p, line, m);
                }
                _ => {
                    if last.is_none() {
                        p.first = Some((v, p.lines));
                    }
                    last = Some(v);
                    let at = n_entries * ENTRY_LEN;
                    if p.entries.len() < at + ENTRY_LEN {
                        p.entries.resize(2 * (at + ENTRY_LEN), 0);
                    }
                    let entry = (key_of_u128(v) << CLASS_BITS) | u64::from(count_bucket(count));
                    p.entries[at..at + ENTRY_LEN].copy_from_slice(&entry.to_le_bytes());
                    n_entries += 1;
                    let prefix = (v >> 112) as u16;
                    match p.runs.last_mut() {
                        Some((b, n)) if *b == prefix => *n += 1,
                        _ => p.runs.push((prefix, 1)),
                    }
                }
            },
            Err(m) => {
                let line = p.lines;
                problem(p, line, m);
            }
        }
    }
    p.entries_len = n_entries * ENTRY_LEN;
    p.last = last;
}

/// Read `input` into chunks of whole lines. Returns `Err(None)` when a line is longer than
/// `MAX_LINE`, `Err(Some(e))` on a read error.
fn read_chunks(
    input: &mut (dyn Read + Send),
    chunk: usize,
    work: std::sync::mpsc::SyncSender<Chunk>,
    recycled: std::sync::mpsc::Receiver<(Vec<u8>, Vec<u8>)>,
) -> Result<(), Option<std::io::Error>> {
    let mut carry: Vec<u8> = Vec::new();
    let mut seq = 0u64;
    loop {
        let (mut buf, entries) = recycled.try_recv().unwrap_or_default();
        let room = carry.len() + chunk;
        if buf.len() < room {
            buf.resize(room, 0);
        }
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let mut eof = false;
        while filled < chunk {
            let to = buf.len().min(filled + chunk);
            match input.read(&mut buf[filled..to]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Some(e)),
            }
        }
        if !eof {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(nl) => carry.extend_from_slice(&buf[nl + 1..filled]),
                None => return Err(None),
            }
            filled -= carry.len();
            if carry.len() > MAX_LINE {
                return Err(None);
            }
        }
        if filled > 0
            && work
                .send(Chunk {
                    seq,
                    data: Input::Owned(buf),
                    len: filled,
                    entries,
                })
                .is_err()
        {
            return Ok(()); // the writer stopped (too many problems)
        }
        seq += 1;
        if eof {
            return Ok(());
        }
    }
}

/// `read_chunks` for a file read through memory maps: windows of `window` bytes (cut after a
/// line end) are mapped with all their pages at once, cut into chunks of whole lines, and
/// unmapped when their last chunk has been parsed and written. The kernel neither copies the
/// input (as `read` does) nor takes a page fault every few pages, and the resident memory stays
/// a few windows whatever the input size.
fn map_chunks(
    file: &File,
    size: u64,
    window: usize,
    chunk: usize,
    work: std::sync::mpsc::SyncSender<Chunk>,
    recycled: std::sync::mpsc::Receiver<(Vec<u8>, Vec<u8>)>,
) -> Result<(), Option<std::io::Error>> {
    let window_len = window.max(2 * chunk);
    let mut pos = 0u64;
    let mut seq = 0u64;
    while pos < size {
        let len = (size - pos).min(window_len as u64) as usize;
        let eof = pos + len as u64 == size;
        let map = std::sync::Arc::new(map_file_range(file, Some((pos, len, true)))?);
        // The next window is advised as needed: the kernel starts reading its beginning in the
        // background (one advice is capped at the device's read-ahead size, 8 MB on the test
        // VM), and the populating map of that window then finds its reads under way. Cold
        // import, 100 M lines, 5 runs each: 0.89-1.51 s without, 0.73-0.94 s with one advice,
        // 0.89-0.98 s with one advice per 4 MB of the window. The pages read stay cached when
        // the advice's mapping is dropped.
        if !eof {
            let next = pos + len as u64;
            let ahead = (size - next).min(window_len as u64) as usize;
            if let Ok(m) = map_file_range(file, Some((next, ahead, false))) {
                #[cfg(unix)]
                let _ = m.advise(memmap2::Advice::WillNeed);
            }
        }
        // Whole lines only, unless this window ends the file.
        let usable = if eof {
            len
        } else {
            match memchr::memrchr(b'\n', &map[..]) {
                Some(nl) => nl + 1,
                None => return Err(None),
            }
        };
        let mut at = 0;
        while at < usable {
            let end = if usable - at <= chunk {
                usable
            } else {
                match memchr::memrchr(b'\n', &map[at..at + chunk]) {
                    Some(nl) => at + nl + 1,
                    None => return Err(None),
                }
            };
            let entries = recycled.try_recv().map(|(_, e)| e).unwrap_or_default();
            let c = Chunk {
                seq,
                data: Input::Mapped(map.clone(), at),
                len: end - at,
                entries,
            };
            if work.send(c).is_err() {
                return Ok(()); // the writer stopped (too many problems)
            }
            seq += 1;
            at = end;
        }
        pos += usable as u64;
    }
    Ok(())
}

/// Import a HIBP NTLM ordered list from the file at `input` into the index file `output`: as
/// `import`, reading the list through memory maps instead of `read` copies (see `map_chunks`).
pub fn import_file(
    input: &Path,
    output: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportStats, BreachError> {
    let file = File::open(input).map_err(io_err(input))?;
    let size = file.metadata().map_err(io_err(input))?.len();
    import_from(
        Source::Mapped(&file, size, MAP_WINDOW),
        &input.display().to_string(),
        output,
        progress,
        CHUNK,
    )
}

/// What `import_from` reads.
enum Source<'a> {
    Reader(&'a mut (dyn Read + Send)),
    /// The file, its size, the window length.
    Mapped(&'a File, u64, usize),
}

/// Bytes of the input mapped at a time by `import_file`.
const MAP_WINDOW: usize = 64 << 20;

/// Import a HIBP NTLM ordered list from `input` into the index file `output`.
///
/// One thread reads chunks of whole lines, worker threads parse them, and this thread checks the
/// order across chunks and writes the entries in order: memory stays bounded (a few chunks in
/// flight) whatever the input size. `progress` is called after each chunk with the number of
/// bytes read so far. On any invalid line (malformed, unsorted, duplicate) nothing is written and
/// the error lists the first lines at fault (line numbers only: lines are not quoted).
pub fn import(
    input: &mut (dyn Read + Send),
    input_name: &str,
    output: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportStats, BreachError> {
    import_chunked(input, input_name, output, progress, CHUNK)
}

fn import_chunked(
    input: &mut (dyn Read + Send),
    input_name: &str,
    output: &Path,
    progress: &mut dyn FnMut(u64),
    chunk: usize,
) -> Result<ImportStats, BreachError> {
    import_from(Source::Reader(input), input_name, output, progress, chunk)
}

fn import_from(
    input: Source<'_>,
    input_name: &str,
    output: &Path,
    progress: &mut dyn FnMut(u64),
    chunk: usize,
) -> Result<ImportStats, BreachError> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hygie-breach-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err(&dir))?;
    let in_path = Path::new(input_name);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);

    let mut table = vec![0u64; BUCKETS + 1];
    let mut entries = 0u64;
    let mut bytes_read = 0u64;
    let mut problems: Vec<LineProblem> = Vec::new();
    let mut more = false;
    let mut write_error: Option<std::io::Error> = None;
    // Flushes the index to disk while it is being written, so that the final `sync_all` only
    // waits for the tail: the disk writes overlap the parsing instead of following it.
    let sync_file = tmp.as_file().try_clone().map_err(io_err(&dir))?;
    let reader_result = std::thread::scope(|s| {
        let (sync_tx, sync_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let syncer = s.spawn(move || {
            let mut first_error = None;
            for () in sync_rx {
                if let Err(e) = sync_file.sync_data() {
                    // Linux reports a failed write-back once: keep it for the end.
                    first_error.get_or_insert(e);
                }
            }
            first_error
        });
        let mut unsynced = 0usize;
        // From a pipe each queued chunk is a buffer of its own: a few are enough there, the
        // disk is the mapped file's concern.
        let queued = match input {
            Source::Reader(_) => workers * 2,
            Source::Mapped(..) => READ_AHEAD_CHUNKS,
        };
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Chunk>(queued);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Parsed>(workers * 2);
        let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<(Vec<u8>, Vec<u8>)>();
        let reader = s.spawn(move || match input {
            Source::Reader(r) => read_chunks(r, chunk, work_tx, recycle_rx),
            Source::Mapped(f, size, window) => {
                map_chunks(f, size, window, chunk, work_tx, recycle_rx)
            }
        });
        let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
        for _ in 0..workers {
            let (rx, tx) = (work_rx.clone(), done_tx.clone());
            s.spawn(move || {
                loop {
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok(chunk) = next else { return };
                    if tx.send(parse_chunk(chunk)).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the workers hold the work queue: when they stop, the reader's sends fail.
        drop(work_rx);
        drop(done_tx);

        let file = tmp.as_file_mut();
        if let Err(e) = file.write_all(&[0u8; HEADER_LEN]) {
            write_error = Some(e);
        }
        let mut pending: std::collections::BTreeMap<u64, Parsed> =
            std::collections::BTreeMap::new();
        let mut next_seq = 0u64;
        let mut line_base = 0u64;
        let mut last: Option<u128> = None;
        'recv: for parsed in done_rx.iter() {
            pending.insert(parsed.seq, parsed);
            while let Some(mut p) = pending.remove(&next_seq) {
                next_seq += 1;
                let mut add = |line: u64, message: &'static str| {
                    if problems.len() < MAX_PROBLEMS {
                        problems.push(LineProblem { line, message });
                    } else {
                        more = true;
                    }
                };
                if let (Some(prev), Some((first, at))) = (last, p.first)
                    && first <= prev
                {
                    let m = if first == prev {
                        "duplicate hash"
                    } else {
                        "not sorted: hash smaller than the previous line's"
                    };
                    add(line_base + at, m);
                }
                for &(l, m) in &p.problems {
                    add(line_base + l, m);
                }
                more |= p.more;
                if problems.is_empty() && write_error.is_none() {
                    if let Err(e) = file.write_all(&p.entries[..p.entries_len]) {
                        write_error = Some(e);
                    }
                    unsynced += p.entries_len;
                    if unsynced >= SYNC_EVERY {
                        // Full queue: a flush is pending already and will take these bytes too.
                        let _ = sync_tx.try_send(());
                        unsynced = 0;
                    }
                    for &(prefix, n) in &p.runs {
                        table[usize::from(prefix)] += n;
                    }
                    entries += (p.entries_len / ENTRY_LEN) as u64;
                }
                last = last.max(p.last);
                line_base += p.lines;
                bytes_read += p.bytes;
                progress(bytes_read);
                // A mapped window is unmapped when its last chunk is dropped here.
                let data = match std::mem::replace(&mut p.data, Input::Owned(Vec::new())) {
                    Input::Owned(v) => v,
                    Input::Mapped(..) => Vec::new(),
                };
                let _ = recycle_tx.send((data, std::mem::take(&mut p.entries)));
                if more || write_error.is_some() {
                    break 'recv;
                }
            }
        }
        drop(done_rx);
        drop(sync_tx);
        match syncer.join() {
            Ok(Some(e)) => write_error = write_error.take().or(Some(e)),
            Ok(None) => {}
            Err(p) => std::panic::resume_unwind(p),
        }
        let result = reader.join();
        (result, line_base)
    });
    let (reader_result, lines_seen) = reader_result;
    progress(bytes_read);
    match reader_result {
        Ok(Ok(())) => {}
        Ok(Err(None)) => {
            if problems.len() < MAX_PROBLEMS {
                problems.push(LineProblem {
                    line: lines_seen + 1,
                    message: "line longer than 1 MiB",
                });
            }
        }
        Ok(Err(Some(e))) => return Err(io_err(in_path)(e)),
        Err(p) => std::panic::resume_unwind(p),
    }
    if !problems.is_empty() {
        // Dropping the temporary file removes it.
        return Err(BreachError::Input {
            path: input_name.to_string(),
            problems,
            more,
        });
    }
    if let Some(e) = write_error {
        return Err(io_err(output)(e));
    }
    let file = tmp.as_file_mut();
    // Bucket sizes -> start index of each bucket, then the total.
    let mut bytes = Vec::with_capacity(TABLE_LEN);
    let mut start = 0u64;
    for n in &table[..BUCKETS] {
        bytes.extend_from_slice(&start.to_le_bytes());
        start += n;
    }
    bytes.extend_from_slice(&start.to_le_bytes());
    file.write_all(&bytes).map_err(io_err(output))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(output))?;
    file.write_all(&header(entries)).map_err(io_err(output))?;
    file.sync_all().map_err(io_err(output))?;
    tmp.persist(output).map_err(|e| io_err(output)(e.error))?;
    let index_bytes = (HEADER_LEN + TABLE_LEN) as u64 + entries * ENTRY_LEN as u64;
    Ok(ImportStats {
        entries,
        bytes_read,
        index_bytes,
    })
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
        f.debug_struct("BreachIndex")
            .field("entries", &self.entries)
            .finish()
    }
}

/// Map a file read-only: the whole file, or `len` bytes from `offset`, with every page mapped
/// at once when `populate` (one system call instead of a page fault every few pages, for
/// windows that are read nearly entirely).
#[allow(unsafe_code)]
fn map_file_range(file: &File, range: Option<(u64, usize, bool)>) -> std::io::Result<Mmap> {
    let mut opts = memmap2::MmapOptions::new();
    if let Some((offset, len, populate)) = range {
        opts.offset(offset).len(len);
        if populate {
            opts.populate();
        }
    }
    // SAFETY: memmap2 requires that the file is not modified while mapped. Hygie never modifies
    // an index in place: `import` writes a new file and renames it over the old path, which leaves
    // the mapped inode untouched. Only an outside process truncating or rewriting the file in
    // place could break this, as with any memory-mapped reader. The breach list read by
    // `import_file` and the hash dump read by `pwdump::parse_file` are mapped here too: they are
    // only read, and an outside change to them while they are read is the same risk as for the
    // index.
    unsafe { opts.map(file) }
}

fn map_file(file: &File) -> std::io::Result<Mmap> {
    map_file_range(file, None)
}

/// A whole file of `len` bytes mapped with every page at once, for a file read from end to end
/// (a dump).
pub(crate) fn map_whole(file: &File, len: u64) -> std::io::Result<Mmap> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("file too large to map"))?;
    map_file_range(file, Some((0, len, true)))
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
fn key_of_u128(v: u128) -> u64 {
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

    fn lines(n: u64) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "{:032X}:{}",
                    (i as u128 + 1) * 0x0123_4567_89ab_cdef_0011,
                    i % 7 + 1
                )
            })
            .collect()
    }

    /// Import `text` read with chunks of `chunk` bytes, through `read` and through maps (windows
    /// of a few chunks, so that window cuts fall everywhere too); both must give the same
    /// result.
    fn run(text: &str, chunk: usize) -> (Result<ImportStats, BreachError>, Option<Vec<u8>>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("i.idx");
        let r = import_chunked(&mut text.as_bytes(), "l.txt", &out, &mut |_| {}, chunk);
        let read = (r, std::fs::read(&out).ok());
        let list = dir.path().join("l.txt");
        std::fs::write(&list, text).expect("write list");
        let file = File::open(&list).expect("open list");
        let out2 = dir.path().join("m.idx");
        let source = Source::Mapped(&file, text.len() as u64, 3 * chunk + 5);
        let m = import_from(source, "l.txt", &out2, &mut |_| {}, chunk);
        let mapped = (m, std::fs::read(&out2).ok());
        assert_eq!(
            read.1, mapped.1,
            "mapped and read imports differ, chunk {chunk}"
        );
        match (&read.0, &mapped.0) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("read {a:?}, mapped {b:?}"),
        }
        read
    }

    /// Chunk boundaries fall everywhere: tiny chunks (a few lines each) give the same index as
    /// one big chunk, and an order fault is reported at its line wherever it falls.
    #[test]
    fn chunk_boundaries_change_nothing() {
        let l = lines(60);
        let text = l.join("\n") + "\n";
        let (_, whole) = run(&text, 1 << 20);
        let whole = whole.expect("index written");
        for chunk in [40, 41, 50, 77, 100, 333] {
            let (r, idx) = run(&text, chunk);
            assert_eq!(r.expect("valid").entries, 60);
            assert!(idx.as_ref() == Some(&whole), "chunk size {chunk}");
        }
        let no_final_newline = l.join("\r\n");
        assert_eq!(
            run(&no_final_newline, 64).1.expect("written").len(),
            whole.len()
        );
        for i in 0..59 {
            for (kind, want) in [("swap", "not sorted"), ("dup", "duplicate")] {
                let mut v = l.clone();
                if kind == "swap" {
                    v.swap(i, i + 1);
                } else {
                    v[i + 1] = v[i].clone();
                }
                for chunk in [40, 77, 1 << 20] {
                    let (r, idx) = run(&(v.join("\n") + "\n"), chunk);
                    assert!(idx.is_none(), "nothing written");
                    match r {
                        Err(BreachError::Input { problems, .. }) => {
                            assert_eq!(
                                problems[0].line,
                                i as u64 + 2,
                                "{kind} at {i}, chunk {chunk}"
                            );
                            assert!(problems[0].message.contains(want));
                        }
                        other => panic!("{kind} at {i}, chunk {chunk}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn too_many_problems_stop_the_import() {
        let text: String = (0..100).map(|i| format!("bad line {i}\n")).collect();
        for chunk in [30, 1 << 20] {
            match run(&text, chunk).0 {
                Err(BreachError::Input { problems, more, .. }) => {
                    assert_eq!(problems.len(), MAX_PROBLEMS);
                    assert!(more);
                    assert_eq!(
                        problems.iter().map(|p| p.line).collect::<Vec<_>>(),
                        (1..=20).collect::<Vec<u64>>()
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_fast_path_reads_the_same_lines_as_the_general_parser() {
        let h = "8846F7EAEE8FB117AD06BDD830B7586C";
        let counts = (0..2000u64)
            .chain([9_999_999, 10_000_000, 12_345_678, 99_999_999_999, u64::MAX])
            .chain((0..63).map(|b| 1u64 << b));
        for count in counts {
            for (end, tail) in [("\n", "X"), ("\r\n", "Y"), ("", "")] {
                let line = format!("{h}:{count}{end}{tail}");
                let want = parse_line(format!("{h}:{count}").as_bytes()).expect("valid");
                match fast_line(line.as_bytes(), hex32) {
                    Some((hash, got, used)) => {
                        assert_eq!((hash.to_be_bytes(), got), want, "{line:?}");
                        assert_eq!(used, line.len() - tail.len(), "{line:?}");
                    }
                    // Only counts longer than 19 digits are left to the general parser.
                    None => assert!(count.to_string().len() > 19, "{line:?}"),
                }
            }
        }
        for bad in [
            format!("{h}:12a\n"),
            format!("{h}:\n"),
            format!("{h}:1\r\r\n"),
            format!("{h}:-1\n"),
        ] {
            assert!(fast_line(bad.as_bytes(), hex32).is_none(), "{bad:?}");
        }
    }

    /// The build of the line parser chosen for this CPU (AVX2 here) and the portable one read
    /// a chunk the same way: its entries, prefix runs, first and last hashes, and the problems
    /// of its bad lines (a non-hex digit, a count that is not a number, a line out of order).
    #[test]
    fn the_cpus_build_of_the_parser_and_the_portable_one_agree() {
        let mut l = lines(300);
        l[17] = format!("{}G{}", &l[17][..5], &l[17][6..]);
        l[40] = format!("{}:12x", &l[40][..32]);
        l.swap(200, 201);
        let text = l.join("\r\n") + "\n" + &l[299..].join("");
        let parse = |portable: bool| {
            let mut p = Parsed::empty(0, text.len(), Vec::new());
            if portable {
                parse_lines_in(text.as_bytes(), &mut p, hex32);
            } else {
                parse_lines(text.as_bytes(), &mut p);
            }
            (
                p.entries[..p.entries_len].to_vec(),
                p.runs,
                p.first,
                p.last,
                p.problems,
                p.lines,
            )
        };
        let want = parse(true);
        assert_eq!(want.4.len(), 4, "{:?}", want.4);
        assert_eq!(want.5, 301);
        assert_eq!(parse(false), want);
    }

    #[test]
    fn line_parsing() {
        let h = "8846F7EAEE8FB117AD06BDD830B7586C";
        assert!(matches!(
            parse_line(format!("{h}:42").as_bytes()),
            Ok((_, 42))
        ));
        assert!(matches!(
            parse_line(format!("{h}:7\r").as_bytes()),
            Ok((_, 7))
        ));
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
