//! The on-disk spool of a streaming ingest: what the listeners accepted is appended here before
//! detection sees it, so that a crash (kill -9, power cut) loses no accepted event and counts
//! none twice.
//!
//! **Contract, per source** (what "accepted" means to a sender):
//! - **TCP** (syslog or JSON lines): a line is kept once the spool wrote it. Each connection
//!   reads from its socket only as fast as the spool takes its batches: at most
//!   [`crate::stream::TCP_WINDOW`] batches of a connection are handed over and not yet synced,
//!   so a full spool stalls the sender (TCP backpressure). A kill -9 loses at most what sat in
//!   the socket buffers (the sender's, and ours: fixed at [`crate::stream::TCP_RECV_BUFFER`]),
//!   the connection's read buffer (64 KiB) and those few batches (up to 256 lines each) not
//!   yet written; the sender cannot know which lines those were.
//! - **UDP** (syslog datagrams): a datagram written to the spool is kept. One that finds the
//!   spool's queue full (the spool is full, or the writer is behind) is dropped and counted;
//!   one received but not yet written when the process dies is lost.
//! - **NATS JetStream** (`hygie ingest --publish`, [`crate::nats`], feature `nats`): the
//!   listeners are the same, but their batches go to JetStream instead of this spool. A TCP
//!   connection's batch counts as handed over once JetStream acknowledged every event of it (the
//!   same window of [`crate::stream::TCP_WINDOW`] batches), so a kill -9 of the ingest loses
//!   what the TCP rows above say, and what JetStream acknowledged is on the server's disk (file
//!   storage). A message JetStream refuses after the tries closes its connection. Downstream,
//!   `hygie detect-worker`s acknowledge a message only after its alerts are committed, and
//!   JetStream delivers again what a worker's crash left unacknowledged: the store counts each
//!   event once by its stream sequence (`hygie_store`'s `merge_alerts`). A spooled ingest
//!   could also *consume* from JetStream as one more source acknowledging after
//!   [`crate::stream::SourceCtx::send_lines_durable`]; there is none, the workers do that job.
//!
//! **Durability.** A dedicated writer thread appends batches in the order they arrive and commits
//! them in groups: it writes every batch waiting (up to [`GROUP_BYTES`]), then `fdatasync`s the
//! segment once, then publishes the new durable end. Batches arriving during a sync form the next
//! group, so a busy stream syncs less often per batch and an idle one syncs each batch at once
//! (a few milliseconds). Written data survives a kill -9 (the kernel holds it); synced data
//! survives a power cut. Detection reads only synced records, so the checkpoint never passes
//! what a power cut could take back.
//!
//! **Layout.** A directory (0700) with `spool.id` (this spool's id, which names its checkpoint
//! in the store), `spool.lock` (held by the one ingest using the spool) and segment files
//! `<position>.seg` (0600), each named by the position of its first byte in the spool's single
//! byte sequence. Records are framed with a length and a CRC-32 ([`frame`]). A segment is
//! closed at [`SpoolConfig::segment_bytes`] and a new one started; at each start the writer
//! opens a new segment after the last valid byte.
//!
//! **Checkpoint.** The ingest commits, in the store transaction that records a batch of alerts,
//! the position up to which every record was evaluated and its alerts are in that transaction
//! (alerts are taken in spool order, whatever the order the detection threads finish in). A
//! restart reads from that position, so nothing is evaluated twice in effect; segments wholly
//! before the checkpoint are then deleted ([`SpoolHandle::release`]).
//!
//! **Bounded.** The segments kept, from the oldest one not wholly checkpointed to the end, take
//! at most [`SpoolConfig::max_bytes`] (plus one segment's slack): past that the writer waits for
//! the checkpoint to free a segment, and the sources see a full queue.
//!
//! **Recovery.** Opening scans the last segment; a torn last record (a crash mid-write) fails
//! its length or checksum and is cut off, never a panic. A record that fails its checksum in a
//! closed segment (the disk changed it) is skipped with the rest of that segment, logged.

pub mod frame;

use crate::stream::{RawLines, Stats};
use frame::Decoded;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Default bound of a spool: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Smallest bound accepted: a few records of the largest size.
pub const MIN_MAX_BYTES: u64 = 4 << 20;
/// Batches waiting in memory for the writer (all sources together): room for bursts of UDP
/// datagrams while a sync runs.
pub const APPEND_QUEUE: usize = 64;
/// Most bytes written between two syncs.
pub const GROUP_BYTES: usize = 8 << 20;

const ID_FILE: &str = "spool.id";
const LOCK_FILE: &str = "spool.lock";
const SEGMENT_EXT: &str = "seg";

/// What can go wrong opening a spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {source} / file d'attente {path} : {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "spool {dir} is used by another `hygie ingest` / la file d'attente {dir} est utilisée par un autre `hygie ingest`",
        dir = .0.display()
    )]
    Busy(PathBuf),
    #[error(
        "spool bound {0} bytes is below the minimum {MIN_MAX_BYTES} / la limite {0} octets est sous le minimum {MIN_MAX_BYTES}"
    )]
    TooSmall(u64),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where a spool lives and how large it may grow.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    /// Bound of the segments kept.
    pub max_bytes: u64,
    /// A segment is closed past this size: an eighth of the bound, between 256 KiB and 64 MiB.
    pub segment_bytes: u64,
}

impl SpoolConfig {
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        SpoolConfig {
            dir: dir.into(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(256 << 10, 64 << 20),
        }
    }
}

/// An opened (locked and recovered) spool, not yet running.
pub struct Spool {
    cfg: SpoolConfig,
    id: String,
    _lock: File,
    /// Segment positions, oldest first.
    bases: Vec<u64>,
    /// Position after the last valid record.
    end: u64,
    /// Bytes of a torn or corrupt tail cut off at opening.
    cut: u64,
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.{SEGMENT_EXT}"))
}

/// Make the directory entries written so far durable (a new segment, a renamed id file).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn private_file(path: &Path, create_new: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create_new {
        o.create_new(true);
    } else {
        o.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

impl Spool {
    /// Open the spool in `cfg.dir` (created 0700 if missing): take its lock, read or make its
    /// id, and cut a torn tail off its last segment.
    pub fn open(cfg: SpoolConfig) -> Result<Spool, SpoolError> {
        if cfg.max_bytes < MIN_MAX_BYTES {
            return Err(SpoolError::TooSmall(cfg.max_bytes));
        }
        let dir = cfg.dir.clone();
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir).map_err(io_err(&dir))?;
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = private_file(&lock_path, false).map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(SpoolError::Busy(dir)),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let id = read_or_make_id(&dir)?;
        let mut bases = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let Some((stem, ext)) = name.to_str().and_then(|n| n.split_once('.')) else {
                continue;
            };
            if ext == SEGMENT_EXT
                && let Ok(base) = stem.parse::<u64>()
            {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        let mut spool = Spool {
            cfg,
            id,
            _lock: lock,
            bases,
            end: 0,
            cut: 0,
        };
        spool.recover()?;
        Ok(spool)
    }

    /// Find the end of the last segment's valid records and cut what follows.
    fn recover(&mut self) -> Result<(), SpoolError> {
        let Some(&base) = self.bases.last() else {
            return Ok(());
        };
        let path = segment_path(&self.cfg.dir, base);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let mut reader = SegmentReader::new(file.try_clone().map_err(io_err(&path))?, 0);
        let mut valid = 0u64;
        loop {
            match reader.next(len) {
                Ok(Some((_, n))) => valid += n as u64,
                Ok(None) | Err(ReadError::Corrupt(_)) => break,
                Err(ReadError::Io(e)) => return Err(io_err(&path)(e)),
            }
        }
        if valid < len {
            tracing::warn!(
                "spool {}: {} bytes of a torn or corrupt last record cut off / {} octets d'un dernier enregistrement incomplet ou corrompu retirés",
                path.display(),
                len - valid,
                len - valid
            );
            self.cut = len - valid;
            file.set_len(valid).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        self.end = base + valid;
        if valid == 0 {
            // Nothing valid: the next segment starts at the same position, under the same name.
            std::fs::remove_file(&path).map_err(io_err(&path))?;
            self.bases.pop();
            sync_dir(&self.cfg.dir).map_err(io_err(&self.cfg.dir))?;
        }
        Ok(())
    }

    /// This spool's id (names its checkpoint in the store).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.cfg.dir
    }

    /// Position of the oldest record kept.
    pub fn start(&self) -> u64 {
        self.bases.first().copied().unwrap_or(self.end)
    }

    /// Position after the last valid record.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes of a torn tail cut off at opening.
    pub fn cut_bytes(&self) -> u64 {
        self.cut
    }

    /// Every record kept from `from` on, with its position and the position after it (to
    /// look inside a stopped spool: tests, diagnostics). A corrupt closed segment stops the
    /// listing of that segment.
    pub fn records(&self, from: u64) -> Result<Vec<(u64, u64, RawLines)>, SpoolError> {
        let mut out = Vec::new();
        for (i, &base) in self.bases.iter().enumerate() {
            let limit = self.bases.get(i + 1).copied().unwrap_or(self.end);
            if limit <= from {
                continue;
            }
            let path = segment_path(&self.cfg.dir, base);
            let file = File::open(&path).map_err(io_err(&path))?;
            let mut reader = SegmentReader::new(file, 0);
            let mut pos = base;
            while let Ok(Some((lines, n))) = reader.next(limit - base) {
                if pos >= from {
                    out.push((pos, pos + n as u64, lines));
                }
                pos += n as u64;
            }
        }
        Ok(out)
    }

    /// Start the writer (appending after the last valid record, or at `from` when the
    /// checkpoint is past it) and the reader (from `from`, or the oldest record kept),
    /// which feeds `queue` in spool order until the writer has stopped and every record is read.
    pub(crate) fn run(
        self,
        from: u64,
        queue: mpsc::Sender<Spooled>,
        stats: Arc<Stats>,
    ) -> Result<Running, SpoolError> {
        let dir = self.cfg.dir.clone();
        let base = self.end.max(from);
        let path = segment_path(&dir, base);
        let file = private_file(&path, true).map_err(io_err(&path))?;
        sync_dir(&dir).map_err(io_err(&dir))?;
        let mut bases: VecDeque<u64> = self.bases.iter().copied().collect();
        bases.push_back(base);
        let shared = Arc::new(Shared {
            dir,
            state: Mutex::new(State {
                bases,
                durable: base,
                closed: false,
            }),
            more: Condvar::new(),
            room: Condvar::new(),
        });
        let handle = SpoolHandle(shared.clone());
        let read_from = from.max(self.start());
        if read_from > from {
            tracing::warn!(
                "spool {}: the checkpoint {from} is before the oldest record kept {read_from}; reading from there / le point de reprise {from} précède le plus ancien enregistrement {read_from}",
                self.cfg.dir.display()
            );
        }
        handle.release(read_from);
        let (tx, rx) = mpsc::channel::<Append>(APPEND_QUEUE);
        let writer = {
            let shared = shared.clone();
            let stats = stats.clone();
            let cfg = self.cfg.clone();
            let seg = Segment { file, base, len: 0 };
            std::thread::Builder::new()
                .name("spool-writer".into())
                .spawn(move || write_loop(&shared, rx, seg, &cfg, &stats))
                .map_err(io_err(&self.cfg.dir))?
        };
        let replay_end = self.end;
        let reader = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("spool-reader".into())
                .spawn(move || read_loop(&shared, read_from, replay_end, queue))
                .map_err(io_err(&self.cfg.dir))?
        };
        Ok(Running {
            append: tx,
            handle,
            threads: vec![writer, reader],
            lock: self._lock,
        })
    }
}

fn read_or_make_id(dir: &Path) -> Result<String, SpoolError> {
    let path = dir.join(ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Ok(id.to_owned());
            }
            Err(io_err(&path)(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a spool id / pas un identifiant de file d'attente",
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = uuid::Uuid::new_v4().to_string();
            let tmp = dir.join(format!("{ID_FILE}.tmp"));
            let _ = std::fs::remove_file(&tmp);
            let mut f = private_file(&tmp, true).map_err(io_err(&tmp))?;
            f.write_all(id.as_bytes()).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
            sync_dir(dir).map_err(io_err(dir))?;
            Ok(id)
        }
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// A batch for the writer; `ack` is answered once it is durable.
pub(crate) struct Append {
    pub lines: RawLines,
    pub ack: Option<oneshot::Sender<()>>,
}

/// A record read back for detection: its order, the position after it, whether an earlier
/// process wrote it, and its lines (`None` for a corrupt stretch skipped, so that the
/// checkpoint can pass it).
pub(crate) struct Spooled {
    pub seq: u64,
    pub end: u64,
    pub replayed: bool,
    pub lines: Option<RawLines>,
}

/// The running spool's threads and the sender the sources append with.
pub(crate) struct Running {
    pub append: mpsc::Sender<Append>,
    pub handle: SpoolHandle,
    pub threads: Vec<std::thread::JoinHandle<()>>,
    /// The spool's lock, held for as long as the ingest runs.
    pub lock: File,
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// The durable end moved, or the writer stopped.
    more: Condvar,
    /// Segments were released.
    room: Condvar,
}

struct State {
    /// Positions of the live segments; the last is being written.
    bases: VecDeque<u64>,
    /// End of what is synced.
    durable: u64,
    /// The writer stopped: nothing will follow `durable`.
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A thread that panicked holding the lock left consistent numbers (each update is one
        // assignment): go on with them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the ingest keeps of a running spool: releasing what the checkpoint passed.
#[derive(Clone)]
pub struct SpoolHandle(Arc<Shared>);

impl SpoolHandle {
    /// Delete the segments wholly before `position` (the committed checkpoint), which frees
    /// room for the writer. The segment being written is never deleted.
    pub fn release(&self, position: u64) {
        let mut st = self.0.state();
        while st.bases.len() > 1 && st.bases[1] <= position {
            let base = st.bases[0];
            let path = segment_path(&self.0.dir, base);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::error!(
                    "spool {}: cannot delete a checkpointed segment / impossible de supprimer un segment traité: {e}",
                    path.display()
                );
            }
            st.bases.pop_front();
        }
        drop(st);
        self.0.room.notify_all();
    }
}

struct Segment {
    file: File,
    base: u64,
    len: u64,
}

/// The writer: append each batch, sync per group, publish the durable end, answer the acks.
fn write_loop(
    shared: &Shared,
    mut rx: mpsc::Receiver<Append>,
    mut seg: Segment,
    cfg: &SpoolConfig,
    stats: &Stats,
) {
    let mut buf = Vec::new();
    let mut acks = Vec::new();
    let mut events = 0u64;
    let mut unsynced = false;
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        let mut group = 0usize;
        while let Some(a) = next.take() {
            buf.clear();
            frame::encode(&a.lines, &mut buf);
            group += buf.len();
            if seg.len > 0 && seg.len + buf.len() as u64 > cfg.segment_bytes {
                commit(
                    shared,
                    &mut seg,
                    &mut unsynced,
                    &mut acks,
                    &mut events,
                    stats,
                );
                seg = rotate(shared, &seg);
            }
            wait_room(
                shared,
                &mut seg,
                buf.len() as u64,
                cfg.max_bytes,
                (&mut unsynced, &mut acks, &mut events),
                stats,
            );
            append(&mut seg, &buf);
            unsynced = true;
            events += a.lines.events as u64;
            acks.extend(a.ack);
            if group < GROUP_BYTES {
                next = rx.try_recv().ok();
            }
        }
        commit(
            shared,
            &mut seg,
            &mut unsynced,
            &mut acks,
            &mut events,
            stats,
        );
    }
    commit(
        shared,
        &mut seg,
        &mut unsynced,
        &mut acks,
        &mut events,
        stats,
    );
    shared.state().closed = true;
    shared.more.notify_all();
}

/// Write one record at the segment's end. A failed write (disk full, I/O error) is cut back
/// and tried again after a pause, for as long as it fails: meanwhile the queue fills and the
/// sources see backpressure; no partial record stays behind.
fn append(seg: &mut Segment, buf: &[u8]) {
    loop {
        let written = seg
            .file
            .seek(SeekFrom::Start(seg.len))
            .and_then(|_| seg.file.write_all(buf));
        match written {
            Ok(()) => {
                seg.len += buf.len() as u64;
                return;
            }
            Err(e) => {
                tracing::error!(
                    "spool segment {}: write failed, trying again in 1 s / écriture impossible, nouvel essai dans 1 s: {e}",
                    seg.base
                );
                let _ = seg.file.set_len(seg.len);
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Sync what was written, publish the durable end, count and acknowledge it.
fn commit(
    shared: &Shared,
    seg: &mut Segment,
    unsynced: &mut bool,
    acks: &mut Vec<oneshot::Sender<()>>,
    events: &mut u64,
    stats: &Stats,
) {
    if !*unsynced {
        return;
    }
    while let Err(e) = seg.file.sync_data() {
        tracing::error!(
            "spool segment {}: sync failed, trying again in 1 s / synchronisation impossible, nouvel essai dans 1 s: {e}",
            seg.base
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    *unsynced = false;
    shared.state().durable = seg.base + seg.len;
    shared.more.notify_all();
    stats.accepted.fetch_add(*events, Ordering::Relaxed);
    *events = 0;
    for ack in acks.drain(..) {
        let _ = ack.send(());
    }
}

/// Close the (synced) segment and start the next one after it.
fn rotate(shared: &Shared, seg: &Segment) -> Segment {
    let base = seg.base + seg.len;
    let path = segment_path(&shared.dir, base);
    loop {
        match private_file(&path, true).and_then(|f| sync_dir(&shared.dir).map(|()| f)) {
            Ok(file) => {
                shared.state().bases.push_back(base);
                return Segment { file, base, len: 0 };
            }
            Err(e) => {
                tracing::error!(
                    "spool {}: cannot start a segment, trying again in 1 s / impossible de créer un segment, nouvel essai dans 1 s: {e}",
                    path.display()
                );
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Wait until `len` more bytes fit in the bound: the segments from the oldest one kept to the
/// end of this record. What is written is committed first, so that detection can move the
/// checkpoint and free a segment. The segment being written alone may pass the bound (by at
/// most one record), so that the writer never waits for itself.
fn wait_room(
    shared: &Shared,
    seg: &mut Segment,
    len: u64,
    max: u64,
    pending: (&mut bool, &mut Vec<oneshot::Sender<()>>, &mut u64),
    stats: &Stats,
) {
    let (unsynced, acks, events) = pending;
    let (base, end) = (seg.base, seg.base + seg.len + len);
    let fits = |st: &State| {
        let oldest = st.bases.front().copied().unwrap_or(base);
        oldest >= base || end - oldest <= max
    };
    if fits(&shared.state()) {
        return;
    }
    commit(shared, seg, unsynced, acks, events, stats);
    let mut st = shared.state();
    while !fits(&st) {
        st = shared.room.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// Reads one segment's frames through a buffer, never past a given offset.
struct SegmentReader {
    file: File,
    /// File offset of `buf[0]`.
    off: u64,
    buf: Vec<u8>,
    /// Bytes of `buf` already decoded.
    at: usize,
}

enum ReadError {
    Io(std::io::Error),
    Corrupt(&'static str),
}

impl SegmentReader {
    fn new(file: File, off: u64) -> Self {
        SegmentReader {
            file,
            off,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// File offset of the next frame.
    fn offset(&self) -> u64 {
        self.off + self.at as u64
    }

    /// The next whole frame that ends at or before file offset `limit`, or `None`.
    fn next(&mut self, limit: u64) -> Result<Option<(RawLines, usize)>, ReadError> {
        loop {
            let need = match frame::decode(&self.buf[self.at..]) {
                Decoded::Record(lines, n) => {
                    if self.offset() + n as u64 > limit {
                        return Ok(None);
                    }
                    self.at += n;
                    return Ok(Some((lines, n)));
                }
                Decoded::Incomplete(need) => need,
                Decoded::Corrupt(why) => return Err(ReadError::Corrupt(why)),
            };
            let read_end = self.off + self.buf.len() as u64;
            if read_end >= limit {
                return Ok(None);
            }
            self.buf.drain(..self.at);
            self.off += self.at as u64;
            self.at = 0;
            let have = self.buf.len();
            let want = need.saturating_sub(have).max(256 << 10) as u64;
            let want = want.min(limit - read_end) as usize;
            self.buf.resize(have + want, 0);
            self.file
                .seek(SeekFrom::Start(self.off + have as u64))
                .map_err(ReadError::Io)?;
            let got = read_full(&mut self.file, &mut self.buf[have..]).map_err(ReadError::Io)?;
            self.buf.truncate(have + got);
            if got == 0 {
                // The file ends before `limit`.
                return Ok(None);
            }
        }
    }
}

/// Read until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The reader: every record from `from` to the end, in order, into the detection queue; then,
/// once the writer stopped and everything durable is read, close the queue.
fn read_loop(shared: &Shared, from: u64, replay_end: u64, queue: mpsc::Sender<Spooled>) {
    let mut pos = from;
    let mut seq = 0u64;
    let mut current: Option<(u64, SegmentReader)> = None;
    loop {
        // The segment holding `pos`, whether it is closed (then its end is the next one's
        // start), and how far it may be read.
        let (base, next_base, durable) = {
            let st = shared.state();
            let i = st.bases.partition_point(|&b| b <= pos);
            let base = if i == 0 {
                pos = st.bases.front().copied().unwrap_or(pos);
                pos
            } else {
                st.bases[i - 1]
            };
            (base, st.bases.get(i).copied(), st.durable)
        };
        if current.as_ref().is_none_or(|(b, _)| *b != base) {
            let path = segment_path(&shared.dir, base);
            match File::open(&path) {
                Ok(f) => current = Some((base, SegmentReader::new(f, pos - base))),
                Err(e) => {
                    tracing::error!(
                        "spool {}: cannot read, skipping the segment / lecture impossible, segment ignoré: {e}",
                        path.display()
                    );
                    match next_base {
                        Some(n) => {
                            pos = skip(&queue, &mut seq, n);
                            continue;
                        }
                        None => return,
                    }
                }
            }
        }
        let Some((_, reader)) = current.as_mut() else {
            return;
        };
        let limit = next_base.unwrap_or(durable);
        match reader.next(limit - base) {
            Ok(Some((lines, n))) => {
                let start = pos;
                pos += n as u64;
                let batch = Spooled {
                    seq,
                    end: pos,
                    replayed: start < replay_end,
                    lines: Some(lines),
                };
                seq += 1;
                if queue.blocking_send(batch).is_err() {
                    return;
                }
            }
            Ok(None) => match next_base {
                Some(n) => {
                    if pos < n {
                        tracing::error!(
                            "spool segment {base}: {} bytes at its end are not a whole record, skipped / octets en fin de segment ignorés",
                            n - pos
                        );
                        pos = skip(&queue, &mut seq, n);
                    } else {
                        pos = n;
                    }
                }
                None if limit > pos => {
                    // Synced bytes that do not read as a record (the file was cut or changed
                    // behind the writer's back).
                    tracing::error!(
                        "spool segment {base}: {} synced bytes at {pos} are not a whole record, skipped / octets ignorés",
                        limit - pos
                    );
                    pos = skip(&queue, &mut seq, limit);
                    current = None;
                }
                None => {
                    let mut st = shared.state();
                    while st.durable <= pos && !st.closed {
                        st = shared.more.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    if st.durable <= pos && st.closed && st.bases.back() == Some(&base) {
                        return;
                    }
                }
            },
            Err(ReadError::Corrupt(why)) => {
                let to = limit;
                tracing::error!(
                    "spool segment {base}: record at {pos} is corrupt ({why}); skipping {} bytes / enregistrement corrompu, {} octets ignorés",
                    to - pos,
                    to - pos
                );
                pos = skip(&queue, &mut seq, to);
                current = None;
            }
            Err(ReadError::Io(e)) => {
                tracing::error!(
                    "spool segment {base}: read failed, trying again in 1 s / lecture impossible, nouvel essai dans 1 s: {e}"
                );
                current = None;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Pass a stretch that holds no readable record, so that the checkpoint can move past it.
fn skip(queue: &mpsc::Sender<Spooled>, seq: &mut u64, to: u64) -> u64 {
    let _ = queue.blocking_send(Spooled {
        seq: *seq,
        end: to,
        replayed: false,
        lines: None,
    });
    *seq += 1;
    to
}

#[cfg(test)]
mod tests;
