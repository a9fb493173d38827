//! Streaming detection: listeners (syslog over UDP and TCP, JSON lines over
//! TCP) append what they accept to an on-disk spool ([`crate::spool`]); a reader feeds the
//! spooled records, in order, to a bounded queue; detection threads evaluate; an alert sink
//! receives aggregated alerts within a second, with the spool checkpoint they bring the stream to.
//!
//! - TCP sources await room in the spool (backpressure: the peer's sends stall).
//! - UDP sources never wait: a full spool queue drops the datagram and counts it.
//! - Exactly once in effect: alerts are aggregated in spool order (a reorder buffer undoes the
//!   detection threads' order) and each delivery carries the position up to which every record
//!   was evaluated, and the aggregation's open state; the sink commits both at once. A restart
//!   reads from the last committed position and reopens those alerts, so that a record is never
//!   counted twice nor skipped ([`AlertSink::resume`]).
//! - Shutdown: sources stop reading, every record already spooled is evaluated,
//!   and the sink gets every alert and the final checkpoint before [`Ingest::shutdown`] returns.
//! - Correlation rules: the detection threads keep the hits of their record (the matches of the
//!   rules correlations refer to); the in-order stage folds them, in spool order, through the
//!   lateness buffer the NATS correlators use ([`crate::correlation`], `--lateness`), and the
//!   correlations' state travels in the checkpoint's state with the alerts it fired: a restart
//!   neither counts a hit twice nor forgets a window, and an alert fired before a crash stays
//!   suppressed after it. Without a new hit for [`crate::correlation::SETTLE`], and at shutdown,
//!   the buffered hits are folded (a quiet stream still alerts).
//! - A delivery that fails is tried again a few times after short pauses; alerts still not
//!   delivered are kept, reported to the sink ([`AlertSink::unsaved`]) at once, and delivered
//!   with the next batch. [`Ingest::shutdown`] fails, naming how many, if some were never saved.
//!
//! A new transport feeding this pipeline is one more [`Source`]: it hands batches to
//! [`SourceCtx::send_lines_durable`] and acknowledges upstream once that returns (the batch is
//! then synced in the spool). The other way round, the same sources can publish to NATS
//! JetStream instead of spooling (`crate::nats::publish`, feature `nats`), for detection
//! workers on other machines.

use crate::read::json_text_to_event;
use crate::spool::{Append, Spool, Spooled};
use crate::syslog::parse_line;
use hygie_detect::alert::Pushed;
use hygie_detect::{Aggregator, Alert, Detector, Hit, LogEvent, RouteCache, alert_of};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

use tokio::sync::{mpsc, oneshot, watch};

mod sink;
use sink::{SinkRun, StreamState};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Lines (or datagrams) per spooled batch.
pub const BATCH: usize = 256;
/// A batch is also cut once it holds this many bytes, which bounds a spool record.
pub const BATCH_BYTES: usize = 1 << 20;
/// Receive buffer of a TCP connection (the kernel doubles it for its bookkeeping). Fixed rather
/// than grown by the kernel (up to tens of MiB on Linux), so that the bytes a peer has sent and
/// the ingest not yet read, which a crash loses, stay few; ample for log rates (at 1 ms of
/// round trip, 256 KiB carry 2 Gbit/s).
pub const TCP_RECV_BUFFER: u32 = 256 << 10;
/// Batches a TCP connection may have handed to the spool and not yet seen synced: enough to
/// keep the writer busy during a sync, few enough that little waits in memory.
pub const TCP_WINDOW: usize = 8;
/// Longest pause between two checkpoints while records are evaluated without new alerts.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// Longest accepted line / datagram.
pub const MAX_LINE: usize = 64 * 1024;

/// Counters of a running ingest.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events this process wrote to the spool (these are never lost).
    pub accepted: AtomicU64,
    /// Events of UDP datagrams dropped because the spool's queue was full.
    pub dropped: AtomicU64,
    /// Lines / datagrams that were not events.
    pub rejected: AtomicU64,
    /// Events evaluated (replayed ones included).
    pub evaluated: AtomicU64,
    /// Events an earlier process spooled and had not evaluated, evaluated by this one.
    pub replayed: AtomicU64,
    /// Alert updates delivered to the sink.
    pub alerts: AtomicU64,
    /// Alert updates the sink could not take yet (kept and tried again).
    pub unsaved: AtomicU64,
}

/// Snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    pub accepted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub evaluated: u64,
    pub replayed: u64,
    pub alerts: u64,
    pub unsaved: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            evaluated: self.evaluated.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            alerts: self.alerts.load(Ordering::Relaxed),
            unsaved: self.unsaved.load(Ordering::Relaxed),
        }
    }
}

/// Lines read off a connection (or datagrams), not yet parsed: what the spool keeps. Parsing
/// happens on the detection threads so that one fast connection is not limited by the one task
/// reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLines {
    pub(crate) payload: Payload,
    pub(crate) source: Arc<str>,
    /// Number of the first entry (line number, or datagram number).
    pub(crate) first: u64,
    /// Each entry is a whole datagram, whose lines all carry the datagram's number.
    pub(crate) datagrams: bool,
    /// The entries' bytes, back to back.
    pub(crate) bytes: Vec<u8>,
    /// End offset of each entry in `bytes`.
    pub(crate) ends: Vec<usize>,
    /// Entries that should be events: non-blank lines (blank ones are kept, empty, so that line
    /// numbers stay right, and are neither events nor rejects).
    pub(crate) events: usize,
}

/// Lines of `bytes` that are not blank.
fn nonblank_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .count()
}

impl RawLines {
    /// Lines of one connection, the first numbered `first`.
    pub fn new(payload: Payload, source: Arc<str>, first: u64) -> Self {
        RawLines {
            payload,
            source,
            first,
            datagrams: false,
            bytes: Vec::with_capacity(BATCH * 512),
            ends: Vec::with_capacity(BATCH),
            events: 0,
        }
    }

    /// Datagrams, the first numbered `first`.
    pub fn datagrams(payload: Payload, source: Arc<str>, first: u64) -> Self {
        RawLines {
            datagrams: true,
            ..RawLines::new(payload, source, first)
        }
    }

    /// Add a line (without its newline) or a datagram.
    pub fn push(&mut self, entry: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(entry);
        self.end_entry(start);
    }

    /// Close the entry whose bytes were appended from `start` on.
    fn end_entry(&mut self, start: usize) {
        if self.datagrams {
            self.events += nonblank_lines(&self.bytes[start..]);
        } else if self.bytes[start..].trim_ascii().is_empty() {
            self.bytes.truncate(start);
        } else {
            self.events += 1;
        }
        self.ends.push(self.bytes.len());
    }

    /// Entries (lines or datagrams).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of the entries.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The connection or socket the entries came from (`tcp://PEER`, `udp://ADDR`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The entries' bytes (a blank line is empty).
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.bytes[a..b])
    }

    /// Parse every entry; `reject` is called once per line that should have been an event and
    /// is not.
    fn parse(&self, out: &mut Vec<LogEvent>, reject: &mut dyn FnMut()) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            let n = self.first + i as u64;
            let entry = &self.bytes[start..end];
            start = end;
            if entry.is_empty() {
                continue;
            }
            let Ok(text) = std::str::from_utf8(entry) else {
                let bad = if self.datagrams {
                    nonblank_lines(entry)
                } else {
                    1
                };
                (0..bad).for_each(|_| reject());
                continue;
            };
            if self.datagrams {
                for line in text.lines() {
                    match parse_payload(self.payload, line, &self.source, n) {
                        Some(e) => out.push(e),
                        None if line.trim().is_empty() => {}
                        None => reject(),
                    }
                }
            } else {
                match parse_payload(self.payload, text, &self.source, n) {
                    Some(e) => out.push(e),
                    None => reject(),
                }
            }
        }
    }
}

/// What a detection thread hands the sink for one spooled record: its order, the position
/// after it, the alerts of its events and their hits for the correlations (correlation name,
/// hit).
struct Evaluated {
    seq: u64,
    end: u64,
    alerts: Vec<Alert>,
    hits: Vec<(String, Hit)>,
}

/// What a source gets to deliver events.
#[derive(Clone)]
pub struct SourceCtx {
    spool: mpsc::Sender<Append>,
    shutdown: watch::Receiver<bool>,
    stats: Arc<Stats>,
}

impl SourceCtx {
    /// A context whose batches go to `spool` (the spool's writer, or another consumer of
    /// batches such as the NATS publisher, its only user outside this module).
    #[cfg(feature = "nats")]
    pub(crate) fn new(
        spool: mpsc::Sender<Append>,
        shutdown: watch::Receiver<bool>,
        stats: Arc<Stats>,
    ) -> SourceCtx {
        SourceCtx {
            spool,
            shutdown,
            stats,
        }
    }

    /// Hand a batch to the spool, waiting for room (backpressure). Returns false when the
    /// pipeline is gone. Its events count as accepted once written.
    pub async fn send_lines(&self, lines: RawLines) -> bool {
        self.spool.send(Append { lines, ack: None }).await.is_ok()
    }

    /// [`Self::send_lines`], then wait until the batch is synced to disk: a source that
    /// acknowledges upstream (a message queue) does so after this returns true.
    pub async fn send_lines_durable(&self, lines: RawLines) -> bool {
        match self.send_lines_acked(lines).await {
            Some(ack) => ack.await.is_ok(),
            None => false,
        }
    }

    /// [`Self::send_lines`], returning what resolves once the batch is synced (`None` when
    /// the pipeline is gone).
    async fn send_lines_acked(&self, lines: RawLines) -> Option<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        let append = Append {
            lines,
            ack: Some(tx),
        };
        self.spool.send(append).await.ok().map(|()| rx)
    }

    /// Hand a batch to the spool only if its queue has room; otherwise count its events
    /// dropped (UDP: a datagram source cannot make its peers wait).
    pub fn try_send_lines(&self, lines: RawLines) -> bool {
        match self.spool.try_send(Append { lines, ack: None }) {
            Ok(()) => true,
            Err(e) => {
                let n = match &e {
                    mpsc::error::TrySendError::Full(a) | mpsc::error::TrySendError::Closed(a) => {
                        a.lines.events
                    }
                };
                self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn reject(&self) {
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Resolves when shutdown was requested.
    pub async fn stopped(&mut self) {
        while !*self.shutdown.borrow() {
            if self.shutdown.changed().await.is_err() {
                return;
            }
        }
    }

    pub fn is_stopped(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// An event source. `run` returns when shutdown is requested (or the source
/// ends); everything it queued before returning is processed.
pub trait Source: Send {
    fn describe(&self) -> String;
    /// Bound address, for network sources.
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }
    fn run(self: Box<Self>, ctx: SourceCtx) -> BoxFuture<'static, std::io::Result<()>>;
}

/// Where the stream stands: every spooled record before `position` was evaluated and its
/// alerts are in the delivery that carries this checkpoint. `state` is the aggregation's open
/// state and the correlations' (JSON, opaque to the sink) when it changed since the previous
/// checkpoint, `None` when it did not (the sink keeps the one it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The spool's id.
    pub spool: String,
    pub position: u64,
    pub state: Option<String>,
}

/// Receives alert updates: `Opened` for a new alert, `Repeated` with the new
/// count for a repeat within the aggregation window.
pub trait AlertSink: Send {
    /// Take every update and the checkpoint, or none: on an error the same updates (and newer
    /// ones) come again, with a later checkpoint. A sink that keeps both in one transaction
    /// makes the stream exactly once in effect across crashes. Called with no update too, to
    /// move the checkpoint.
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// The last checkpoint this sink kept for the spool `spool` (its state always given). A
    /// sink that keeps none answers `None`: the whole spool is evaluated again.
    fn resume<'a>(
        &'a mut self,
        spool: &'a str,
    ) -> BoxFuture<'a, Result<Option<Checkpoint>, String>> {
        let _ = spool;
        Box::pin(async { Ok(None) })
    }

    /// The alerts with these ids, as last delivered (those the checkpoint's state names as
    /// open), so that their counts go on after a restart.
    fn open_alerts<'a>(
        &'a mut self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Alert>, String>> {
        let _ = ids;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Told at once when `count` updates could not be delivered after the retries; they are
    /// kept and delivered with the next batch.
    fn unsaved(&mut self, count: usize, error: &str) {
        tracing::error!("{count} alert updates not saved yet, kept for a retry: {error}");
    }
}

/// What a listener parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Syslog,
    Json,
}

/// `syslog+udp://ADDR`, `syslog+tcp://ADDR`, `json+tcp://ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    pub payload: Payload,
    pub udp: bool,
    pub addr: SocketAddr,
}

impl std::str::FromStr for ListenSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (scheme, addr) = s
            .split_once("://")
            .ok_or_else(|| format!("{s}: expected SCHEME://HOST:PORT"))?;
        let (payload, udp) = match scheme {
            "syslog+udp" => (Payload::Syslog, true),
            "syslog+tcp" => (Payload::Syslog, false),
            "json+tcp" => (Payload::Json, false),
            other => {
                return Err(format!(
                    "{s}: unknown scheme {other} (syslog+udp, syslog+tcp, json+tcp)"
                ));
            }
        };
        let addr = addr
            .parse()
            .map_err(|e| format!("{s}: bad address {addr}: {e}"))?;
        Ok(ListenSpec { payload, udp, addr })
    }
}

pub(crate) fn parse_payload(
    payload: Payload,
    line: &str,
    source: &Arc<str>,
    n: u64,
) -> Option<LogEvent> {
    match payload {
        Payload::Syslog => parse_line(line, source, n).ok(),
        Payload::Json => {
            let t = line.trim();
            if t.is_empty() {
                return None;
            }
            json_text_to_event(t, source, n).ok().flatten()
        }
    }
}

/// A bound UDP syslog listener.
pub struct UdpSource {
    socket: UdpSocket,
    payload: Payload,
}

impl Source for UdpSource {
    fn describe(&self) -> String {
        format!("udp {:?}", self.socket.local_addr().ok())
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }
    fn run(self: Box<Self>, mut ctx: SourceCtx) -> BoxFuture<'static, std::io::Result<()>> {
        Box::pin(async move {
            let name: Arc<str> = Arc::from(format!("udp://{}", self.socket.local_addr()?));
            let mut buf = vec![0u8; MAX_LINE];
            let mut n = 0u64;
            loop {
                let got = tokio::select! {
                    _ = ctx.stopped() => return Ok(()),
                    r = self.socket.recv_from(&mut buf) => r,
                };
                let Ok((len, _peer)) = got else { continue };
                n += 1;
                let mut batch = RawLines::datagrams(self.payload, name.clone(), n);
                batch.push(&buf[..len]);
                // Take what else has already arrived, without waiting: one spool record for a
                // burst of datagrams.
                while batch.len() < BATCH && batch.byte_len() < BATCH_BYTES {
                    match self.socket.try_recv_from(&mut buf) {
                        Ok((len, _peer)) => {
                            n += 1;
                            batch.push(&buf[..len]);
                        }
                        Err(_) => break,
                    }
                }
                ctx.try_send_lines(batch);
            }
        })
    }
}

/// A bound TCP listener (newline-delimited syslog or JSON).
pub struct TcpSource {
    listener: TcpListener,
    payload: Payload,
}

impl Source for TcpSource {
    fn describe(&self) -> String {
        format!("tcp {:?}", self.listener.local_addr().ok())
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }
    fn run(self: Box<Self>, mut ctx: SourceCtx) -> BoxFuture<'static, std::io::Result<()>> {
        Box::pin(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    _ = ctx.stopped() => break,
                    r = self.listener.accept() => r,
                };
                let Ok((stream, peer)) = accepted else {
                    continue;
                };
                let ctx = ctx.clone();
                let payload = self.payload;
                conns.spawn(async move {
                    let name: Arc<str> = Arc::from(format!("tcp://{peer}"));
                    connection(stream, payload, name, ctx).await
                });
            }
            // Connections stop at their next read once shutdown is set;
            // what they already read is queued before they return.
            while conns.join_next().await.is_some() {}
            Ok(())
        })
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    payload: Payload,
    name: Arc<str>,
    mut ctx: SourceCtx,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut n = 0u64;
    let mut batch = RawLines::new(payload, name.clone(), 1);
    let mut window = Window::default();
    loop {
        let idle = reader.buffer().is_empty();
        // Nothing buffered: hand what we have to the spool, then wait for data or shutdown.
        if idle && !batch.is_empty() {
            let next = RawLines::new(payload, name.clone(), n + 1);
            if !window.send(&ctx, std::mem::replace(&mut batch, next)).await {
                return;
            }
        }
        let start = batch.bytes.len();
        let read = if idle {
            tokio::select! {
                _ = ctx.stopped() => return,
                r = read_line_limited(&mut reader, &mut batch.bytes) => r,
            }
        } else {
            read_line_limited(&mut reader, &mut batch.bytes).await
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => break,
        }
        n += 1;
        batch.end_entry(start);
        if batch.len() >= BATCH || batch.byte_len() >= BATCH_BYTES {
            let next = RawLines::new(payload, name.clone(), n + 1);
            if !window.send(&ctx, std::mem::replace(&mut batch, next)).await {
                return;
            }
        }
    }
    if !batch.is_empty() {
        ctx.send_lines(batch).await;
    }
}

/// Batches of one connection handed to the spool and not yet synced: at most
/// [`TCP_WINDOW`], so that a connection reads from its socket only as fast as the spool
/// takes its lines and a kill -9 finds few of them in memory.
#[derive(Default)]
struct Window(std::collections::VecDeque<oneshot::Receiver<()>>);

impl Window {
    async fn send(&mut self, ctx: &SourceCtx, lines: RawLines) -> bool {
        while self.0.len() >= TCP_WINDOW {
            if let Some(oldest) = self.0.pop_front()
                && oldest.await.is_err()
            {
                return false;
            }
        }
        match ctx.send_lines_acked(lines).await {
            Some(ack) => {
                self.0.push_back(ack);
                true
            }
            None => false,
        }
    }
}

/// Read one line (without the newline) of at most MAX_LINE bytes; longer
/// lines are cut and the rest discarded up to the newline.
async fn read_line_limited(
    reader: &mut BufReader<tokio::net::TcpStream>,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let base = out.len();
    let mut total = 0usize;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_LINE.saturating_sub(out.len() - base);
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = done.unwrap_or(buf.len());
        total += consumed;
        reader.consume(consumed);
        if done.is_some() {
            return Ok(total);
        }
    }
}

/// Bind a listener spec.
pub async fn bind(spec: &ListenSpec) -> std::io::Result<Box<dyn Source>> {
    if spec.udp {
        let socket = UdpSocket::bind(spec.addr).await?;
        Ok(Box::new(UdpSource {
            socket,
            payload: spec.payload,
        }))
    } else {
        let socket = if spec.addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        // Accepted connections inherit it: what the kernel holds for us is bounded.
        socket.set_recv_buffer_size(TCP_RECV_BUFFER)?;
        socket.bind(spec.addr)?;
        let listener = socket.listen(1024)?;
        Ok(Box::new(TcpSource {
            listener,
            payload: spec.payload,
        }))
    }
}

/// Ingest settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Detection queue capacity in spooled batches (of up to [`BATCH`] events).
    pub queue_batches: usize,
    /// Detection threads (0 = every core).
    pub workers: usize,
    /// Aggregation window in seconds.
    pub window_secs: u64,
    /// The facility the alerts belong to (its FINESS, part of every alert id).
    pub facility: String,
    /// Seconds a correlation hit waits for hits earlier in time before it is folded.
    pub lateness_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            queue_batches: 256,
            workers: 0,
            window_secs: 300,
            facility: String::new(),
            lateness_secs: 60,
        }
    }
}

/// Buckets of lateness of the streaming aggregation: parallel workers deliver slightly out of
/// order; older buckets are closed to bound memory.
const LATENESS_BUCKETS: u32 = 2;

/// A running ingest.
pub struct Ingest {
    shutdown: watch::Sender<bool>,
    sources: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    spool: Vec<std::thread::JoinHandle<()>>,
    sink: tokio::task::JoinHandle<Result<(), String>>,
    /// The spool's lock, held until the end.
    _spool_lock: std::fs::File,
    pub stats: Arc<Stats>,
}

impl Ingest {
    /// Resume from the sink's last checkpoint for this spool, then start the spool's writer and
    /// reader, the sources, the detection threads and the sink task.
    pub async fn start(
        detector: Arc<Detector>,
        sources: Vec<Box<dyn Source>>,
        mut sink: Box<dyn AlertSink>,
        cfg: IngestConfig,
        spool: Spool,
    ) -> Result<Ingest, String> {
        let spool_id = spool.id().to_owned();
        let saved = sink.resume(&spool_id).await?;
        let (from, saved) = match saved {
            Some(cp) => {
                let state: StreamState = match cp.state.as_deref() {
                    Some(text) => serde_json::from_str(text).map_err(|e| {
                        format!(
                            "the checkpoint of spool {spool_id} is unreadable / le point de reprise est illisible: {e}"
                        )
                    })?,
                    None => StreamState::default(),
                };
                (cp.position, state)
            }
            None => (spool.start(), StreamState::default()),
        };
        let state = saved.aggregation;
        let correlations =
            sink::resume_correlations(detector.correlations(), saved.correlations, &cfg, &spool_id);
        let open = if state.open.is_empty() {
            Vec::new()
        } else {
            sink.open_alerts(&state.open).await?
        };
        let mut agg = Aggregator::new(cfg.window_secs)
            .for_facility(&cfg.facility)
            .evicting(LATENESS_BUCKETS);
        agg.resume(state.newest, open);

        let stats = Arc::new(Stats::default());
        let (qtx, qrx) = mpsc::channel::<Spooled>(cfg.queue_batches.max(1));
        let running = spool
            .run(from, qtx, stats.clone())
            .map_err(|e| e.to_string())?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (atx, mut arx) = mpsc::channel::<Evaluated>(1024);
        let ctx = SourceCtx {
            spool: running.append,
            shutdown: shutdown_rx,
            stats: stats.clone(),
        };
        let sources = sources
            .into_iter()
            .map(|s| tokio::spawn(s.run(ctx.clone())))
            .collect();
        drop(ctx);
        let qrx = Arc::new(Mutex::new(qrx));
        let n = if cfg.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            cfg.workers
        };
        let workers = (0..n)
            .map(|_| {
                let qrx = qrx.clone();
                let det = detector.clone();
                let atx = atx.clone();
                let stats = stats.clone();
                std::thread::spawn(move || {
                    let mut cache = RouteCache::default();
                    loop {
                        let batch = {
                            let Ok(mut rx) = qrx.lock() else { return };
                            rx.blocking_recv()
                        };
                        let Some(batch) = batch else { return };
                        let mut events = Vec::new();
                        if let Some(lines) = &batch.lines {
                            events.reserve(lines.len());
                            lines.parse(&mut events, &mut || {
                                // This process counted the line accepted when it spooled it.
                                if !batch.replayed {
                                    stats.accepted.fetch_sub(1, Ordering::Relaxed);
                                }
                                stats.rejected.fetch_add(1, Ordering::Relaxed);
                            });
                        }
                        let mut alerts = Vec::new();
                        let mut hits = Vec::new();
                        let correlations = det.correlations();
                        for ev in &events {
                            for m in det.evaluate(ev, &mut cache) {
                                if let Some(hit) = correlations.hit(&m, ev) {
                                    // The whole stream is one partition.
                                    for (name, _) in correlations.routes(&hit, 1) {
                                        hits.push((name, hit.clone()));
                                    }
                                }
                                // The rules only correlations refer to stay silent, as in batch.
                                if correlations.generates(&m.rule_id) {
                                    alerts.push(alert_of(m, ev));
                                }
                            }
                        }
                        let n = events.len() as u64;
                        stats.evaluated.fetch_add(n, Ordering::Relaxed);
                        if batch.replayed {
                            stats.replayed.fetch_add(n, Ordering::Relaxed);
                        }
                        let done = Evaluated {
                            seq: batch.seq,
                            end: batch.end,
                            alerts,
                            hits,
                        };
                        if atx.blocking_send(done).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(atx);
        let sink_stats = stats.clone();
        let handle = running.handle;
        let aggregating = cfg.window_secs > 0;
        let sink = tokio::spawn(async move {
            let mut run = SinkRun {
                agg,
                correlations,
                fresh_hits: false,
                last_hit: Instant::now(),
                kept: Vec::new(),
                checkpoint: Checkpoint {
                    spool: spool_id,
                    position: from,
                    state: None,
                },
                committed: None,
                // The first checkpoint saves the state whatever it is.
                state_changed: true,
                aggregating,
            };
            // Records evaluated out of order wait here for the ones before them.
            let mut waiting: BTreeMap<u64, Evaluated> = BTreeMap::new();
            let mut next = 0u64;
            let mut last = Instant::now();
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    got = arx.recv() => match got {
                        Some(done) => {
                            waiting.insert(done.seq, done);
                            while let Ok(more) = arx.try_recv() {
                                waiting.insert(more.seq, more);
                            }
                        }
                        None => break,
                    },
                    _ = tick.tick() => {}
                }
                while let Some(done) = waiting.remove(&next) {
                    next += 1;
                    run.take(done);
                }
                run.correlate(false);
                let due =
                    !run.kept.is_empty() || (run.moved() && last.elapsed() >= CHECKPOINT_EVERY);
                if due {
                    last = Instant::now();
                    if run.deliver(&mut *sink, &sink_stats).await.is_ok() {
                        handle.release(run.checkpoint.position);
                    }
                }
            }
            while let Some(done) = waiting.remove(&next) {
                next += 1;
                run.take(done);
            }
            // Like a quiet stream: every buffered hit is folded before the last checkpoint.
            run.correlate(true);
            if !run.kept.is_empty() || run.moved() {
                // The last chance of what is still kept.
                let kept = run.kept.len();
                run.deliver(&mut *sink, &sink_stats).await.map_err(|e| {
                    format!(
                        "{kept} alert updates not saved / mises à jour d'alertes non enregistrées: {e}"
                    )
                })?;
                handle.release(run.checkpoint.position);
            }
            Ok(())
        });
        Ok(Ingest {
            shutdown,
            sources,
            workers,
            spool: running.threads,
            sink,
            _spool_lock: running.lock,
            stats,
        })
    }

    /// Stop reading, evaluate everything spooled, deliver every alert and the final checkpoint.
    pub async fn shutdown(self) -> Result<StatsSnapshot, String> {
        let _ = self.shutdown.send(true);
        for s in self.sources {
            match s.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("source ended with an error: {e}"),
                Err(e) => tracing::warn!("source task failed: {e}"),
            }
        }
        // The sources are gone, so the spool's writer ends, then its reader, then the workers.
        let threads: Vec<_> = self.spool.into_iter().chain(self.workers).collect();
        let joined = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        });
        let _ = joined.await;
        match self.sink.await {
            Ok(r) => r?,
            Err(e) => return Err(format!("alert sink task failed: {e}")),
        }
        Ok(self.stats.snapshot())
    }
}

/// Wait `d` (helper for callers polling stats).
pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}
