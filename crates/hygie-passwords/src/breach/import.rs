//! Import of the HIBP NTLM "ordered by hash" list into the index (format: `super::index`).
//!
//! One thread reads the list into 4 MiB chunks of whole lines, worker threads parse them, and
//! the calling thread checks the order across chunks and writes the entries in order: memory
//! stays a few chunks whatever the input size. A regular file (`import_file`, what `hygie
//! breached import` uses) is read through memory maps: 64 MiB windows cut after a line end,
//! mapped with all their pages at once and unmapped when their last chunk is written (no `read`
//! copy of the list); the next window is advised `WillNeed` as soon as one is mapped, and up to
//! 32 chunks (128 MiB) may wait for the parsers, so that a list read from disk keeps the disk
//! reading while it also takes the index's flushes. A pipe goes through `import` (any `Read`,
//! reused buffers, a few chunks queued). Tests run every import both ways, with chunk and
//! window cuts everywhere, and compare the indexes byte for byte.
//!
//! Lines take a fast path: the 32 hex digits checked and decoded in one AVX2 register when the
//! CPU has it (`hash::hex32_avx2`, explicit intrinsics: the compiler scalarised the digit
//! pairing) or eight at a time by SWAR on a `u64` (`hash::hex32`), then the count (up to 7
//! digits also by SWAR, without a branch a digit; longer ones digit by digit, up to 19) and
//! `\n` or `\r\n`. Anything else goes to `parse_line`, which accepts the same lines and names
//! the fault. While writing, a thread flushes the file every 32 MiB so that the final `fsync`
//! (kept: the index is renamed into place only once durable) waits for the tail only.

use super::index::{
    BUCKETS, CLASS_BITS, ENTRY_LEN, HEADER_LEN, TABLE_LEN, count_bucket, header, key_of_u128,
};
use super::{BreachError, LineProblem, MAX_PROBLEMS, io_err, map_file_range};
#[cfg(target_arch = "x86_64")]
use crate::hash::hex32_avx2;
use crate::hash::{HIGH, ge, gt, hex32, parse_hex16};
use memmap2::Mmap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Figures of a finished import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportStats {
    pub entries: u64,
    pub bytes_read: u64,
    pub index_bytes: u64,
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

const TMP_PREFIX: &str = ".hygie-breach-";
const TMP_SUFFIX: &str = ".tmp";

/// Remove the temporary files that interrupted imports (killed, power cut) left in `dir`: each is
/// as large as an index. A file whose lock can be taken has no import writing it any more; one
/// that another import holds is left alone. Best effort: a file that cannot be removed stays.
fn remove_orphans(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let path = e.path();
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
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
    remove_orphans(&dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(&dir)
        .map_err(io_err(&dir))?;
    // Held until the import ends, however it ends: the kernel releases it when the process dies,
    // which is how the next import tells an orphan from a file another import is writing.
    tmp.as_file().lock().map_err(io_err(tmp.path()))?;
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
    // The rename itself must survive a power cut, not only the file's bytes: sync the folder's
    // entry too (best effort: some file systems cannot sync a directory).
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    let index_bytes = (HEADER_LEN + TABLE_LEN) as u64 + entries * ENTRY_LEN as u64;
    Ok(ImportStats {
        entries,
        bytes_read,
        index_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
