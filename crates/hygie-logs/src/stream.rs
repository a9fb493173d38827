//! Streaming detection: listeners (syslog over UDP and TCP, JSON lines over
//! TCP) feed a bounded queue; detection threads evaluate; an alert sink
//! receives aggregated alerts within a second.
//!
//! - TCP sources await queue space (backpressure: the peer's sends stall).
//! - UDP sources never wait: a full queue drops the datagram and counts it.
//! - Shutdown: sources stop reading, every event already queued is evaluated,
//!   and the sink gets every alert before [`Ingest::shutdown`] returns.
//! - A delivery that fails is tried again a few times after short pauses; alerts still not
//!   delivered are kept, reported to the sink ([`AlertSink::unsaved`]) at once, and delivered
//!   with the next batch. [`Ingest::shutdown`] fails, naming how many, if some were never saved.
//!
//! A new transport (a NATS JetStream consumer, say) is one more [`Source`]:
//! it pushes batches with [`SourceCtx::send`] and acknowledges upstream once
//! that returns.

use crate::read::json_text_to_event;
use crate::syslog::parse_line;
use hygie_detect::alert::Pushed;
use hygie_detect::{Aggregator, Alert, Detector, LogEvent, RouteCache, alert_of};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Events per queued batch.
pub const BATCH: usize = 256;
/// Longest accepted line / datagram.
pub const MAX_LINE: usize = 64 * 1024;

/// Counters of a running ingest.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events that entered the queue (these are never lost).
    pub accepted: AtomicU64,
    /// UDP datagrams dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Lines / datagrams that were not events.
    pub rejected: AtomicU64,
    /// Events evaluated.
    pub evaluated: AtomicU64,
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
            alerts: self.alerts.load(Ordering::Relaxed),
            unsaved: self.unsaved.load(Ordering::Relaxed),
        }
    }
}

/// Lines read off a connection, not yet parsed: parsing happens on the
/// detection threads so that one fast connection is not limited by the one
/// task reading it.
pub struct RawLines {
    payload: Payload,
    source: Arc<str>,
    /// Line number of the first line.
    first: u64,
    /// The lines' bytes, back to back.
    bytes: Vec<u8>,
    /// End offset of each line in `bytes`.
    ends: Vec<usize>,
    /// How many of the lines are blank (not counted as accepted).
    blank: usize,
}

impl RawLines {
    fn new(payload: Payload, source: Arc<str>, first: u64) -> Self {
        RawLines {
            payload,
            source,
            first,
            bytes: Vec::with_capacity(BATCH * 512),
            ends: Vec::with_capacity(BATCH),
            blank: 0,
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Parse every line; `reject` is called once per line that is not an event.
    fn parse(&self, out: &mut Vec<LogEvent>, reject: &mut dyn FnMut()) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            let n = self.first + i as u64;
            if start == end {
                continue;
            }
            match std::str::from_utf8(&self.bytes[start..end]) {
                Ok(text) => match parse_payload(self.payload, text, &self.source, n) {
                    Some(e) => out.push(e),
                    None => reject(),
                },
                Err(_) => reject(),
            }
            start = end;
        }
    }
}

/// One unit of the detection queue.
pub enum Batch {
    Events(Vec<LogEvent>),
    Lines(RawLines),
}

/// What a source gets to deliver events.
#[derive(Clone)]
pub struct SourceCtx {
    queue: mpsc::Sender<Batch>,
    shutdown: watch::Receiver<bool>,
    stats: Arc<Stats>,
}

impl SourceCtx {
    /// Queue a batch, waiting for room (backpressure). Returns false when the
    /// pipeline is gone.
    pub async fn send(&self, batch: Vec<LogEvent>) -> bool {
        let n = batch.len() as u64;
        if self.queue.send(Batch::Events(batch)).await.is_ok() {
            self.stats.accepted.fetch_add(n, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Queue raw lines (parsed by the detection threads), waiting for room.
    /// They count as accepted now; a line found not to be an event is then
    /// moved from accepted to rejected.
    async fn send_lines(&self, lines: RawLines) -> bool {
        let n = (lines.len() - lines.blank) as u64;
        if self.queue.send(Batch::Lines(lines)).await.is_ok() {
            self.stats.accepted.fetch_add(n, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Queue a batch only if there is room; otherwise count it dropped.
    pub fn try_send(&self, batch: Vec<LogEvent>) -> bool {
        let n = batch.len() as u64;
        match self.queue.try_send(Batch::Events(batch)) {
            Ok(()) => {
                self.stats.accepted.fetch_add(n, Ordering::Relaxed);
                true
            }
            Err(_) => {
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
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

/// Receives alert updates: `Opened` for a new alert, `Repeated` with the new
/// count for a repeat within the aggregation window.
pub trait AlertSink: Send {
    /// Take every update or none: on an error the same updates (and newer ones) come again.
    fn deliver<'a>(&'a mut self, updates: &'a [Pushed]) -> BoxFuture<'a, Result<(), String>>;

    /// Told at once when `count` updates could not be delivered after the retries; they are
    /// kept and delivered with the next batch.
    fn unsaved(&mut self, count: usize, error: &str) {
        tracing::error!("{count} alert updates not saved yet, kept for a retry: {error}");
    }
}

/// Tries of one delivery before its updates are reported unsaved and kept for the next one.
const DELIVERY_TRIES: u32 = 4;

/// Deliver `kept` (older unsaved updates first), trying again after short pauses. Delivered
/// updates leave `kept`; on failure they stay and the error is returned.
async fn deliver_kept(
    sink: &mut dyn AlertSink,
    kept: &mut Vec<Pushed>,
    stats: &Stats,
) -> Result<(), String> {
    let mut tries = 0;
    loop {
        match sink.deliver(kept).await {
            Ok(()) => {
                stats.alerts.fetch_add(kept.len() as u64, Ordering::Relaxed);
                stats.unsaved.store(0, Ordering::Relaxed);
                kept.clear();
                return Ok(());
            }
            Err(e) => {
                tries += 1;
                if tries >= DELIVERY_TRIES {
                    stats.unsaved.store(kept.len() as u64, Ordering::Relaxed);
                    sink.unsaved(kept.len(), &e);
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(100 << tries)).await;
            }
        }
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

fn parse_payload(payload: Payload, line: &str, source: &Arc<str>, n: u64) -> Option<LogEvent> {
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
                let Ok(text) = std::str::from_utf8(&buf[..len]) else {
                    ctx.reject();
                    continue;
                };
                let mut batch = Vec::new();
                for line in text.lines() {
                    match parse_payload(self.payload, line, &name, n) {
                        Some(e) => batch.push(e),
                        None if line.trim().is_empty() => {}
                        None => ctx.reject(),
                    }
                }
                if !batch.is_empty() {
                    ctx.try_send(batch);
                }
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
    loop {
        let idle = reader.buffer().is_empty();
        // Nothing buffered: flush what we have, then wait for data or shutdown.
        if idle && batch.len() > 0 {
            let next = RawLines::new(payload, name.clone(), n + 1);
            if !ctx.send_lines(std::mem::replace(&mut batch, next)).await {
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
        if batch.bytes[start..].trim_ascii().is_empty() {
            // Blank lines are neither events nor rejects (kept, empty, so
            // that line numbers stay right).
            batch.bytes.truncate(start);
            batch.blank += 1;
        }
        batch.ends.push(batch.bytes.len());
        if batch.len() >= BATCH {
            let next = RawLines::new(payload, name.clone(), n + 1);
            if !ctx.send_lines(std::mem::replace(&mut batch, next)).await {
                return;
            }
        }
    }
    if batch.len() > 0 {
        ctx.send_lines(batch).await;
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
        let listener = TcpListener::bind(spec.addr).await?;
        Ok(Box::new(TcpSource {
            listener,
            payload: spec.payload,
        }))
    }
}

/// Ingest settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Queue capacity in batches (of up to [`BATCH`] events).
    pub queue_batches: usize,
    /// Detection threads (0 = every core).
    pub workers: usize,
    /// Aggregation window in seconds.
    pub window_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            queue_batches: 256,
            workers: 0,
            window_secs: 300,
        }
    }
}

/// A running ingest.
pub struct Ingest {
    shutdown: watch::Sender<bool>,
    sources: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    sink: tokio::task::JoinHandle<Result<(), String>>,
    pub stats: Arc<Stats>,
}

impl Ingest {
    /// Start sources, detection threads and the sink task.
    pub fn start(
        detector: Arc<Detector>,
        sources: Vec<Box<dyn Source>>,
        mut sink: Box<dyn AlertSink>,
        cfg: IngestConfig,
    ) -> Ingest {
        let stats = Arc::new(Stats::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (qtx, qrx) = mpsc::channel::<Batch>(cfg.queue_batches.max(1));
        let (atx, mut arx) = mpsc::channel::<Vec<Alert>>(1024);
        let ctx = SourceCtx {
            queue: qtx,
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
                        let batch = match batch {
                            Batch::Events(v) => v,
                            Batch::Lines(lines) => {
                                let mut v = Vec::with_capacity(lines.len());
                                lines.parse(&mut v, &mut || {
                                    stats.accepted.fetch_sub(1, Ordering::Relaxed);
                                    stats.rejected.fetch_add(1, Ordering::Relaxed);
                                });
                                v
                            }
                        };
                        let mut alerts = Vec::new();
                        for ev in &batch {
                            for m in det.evaluate(ev, &mut cache) {
                                alerts.push(alert_of(m, ev));
                            }
                        }
                        stats
                            .evaluated
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        if !alerts.is_empty() && atx.blocking_send(alerts).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(atx);
        let sink_stats = stats.clone();
        let window = cfg.window_secs;
        let sink = tokio::spawn(async move {
            // Two buckets of lateness: parallel workers deliver slightly out of
            // order; older buckets are closed to bound memory.
            let mut agg = Aggregator::new(window).evicting(2);
            // Updates not delivered yet: a failed batch waits here for the next delivery.
            let mut kept: Vec<Pushed> = Vec::new();
            while let Some(mut alerts) = arx.recv().await {
                // Take whatever else is ready, then deliver in one go.
                while let Ok(more) = arx.try_recv() {
                    alerts.extend(more);
                }
                kept.extend(alerts.into_iter().map(|a| agg.push(a)));
                agg.drain_closed();
                let _ = deliver_kept(&mut *sink, &mut kept, &sink_stats).await;
            }
            match kept.is_empty() {
                true => Ok(()),
                // The last chance of what is still kept.
                false => deliver_kept(&mut *sink, &mut kept, &sink_stats)
                    .await
                    .map_err(|e| {
                        format!(
                            "{} alert updates not saved / mises à jour d'alertes non enregistrées: {e}",
                            kept.len()
                        )
                    }),
            }
        });
        Ingest {
            shutdown,
            sources,
            workers,
            sink,
            stats,
        }
    }

    /// Stop reading, evaluate everything accepted, deliver every alert.
    pub async fn shutdown(self) -> Result<StatsSnapshot, String> {
        let _ = self.shutdown.send(true);
        for s in self.sources {
            match s.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("source ended with an error: {e}"),
                Err(e) => tracing::warn!("source task failed: {e}"),
            }
        }
        let workers = self.workers;
        let joined = tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
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
