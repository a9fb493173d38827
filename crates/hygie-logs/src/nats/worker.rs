//! `hygie detect-worker`: one of N detection workers on a durable JetStream pull consumer. See
//! the module doc of [`crate::nats`] for the guarantees; here, the loop:
//!
//! 1. take what the pull stream has ready, up to [`WorkerConfig::batch`] messages, waiting at
//!    most [`LINGER`] for the batch to fill once it has begun: the stream
//!    asks JetStream for the next messages while this batch is in hand (prefetch), so the
//!    worker does not wait a round trip between two batches;
//! 2. read each into its events ([`read_message`]: one, or several of one host); a message that
//!    cannot be read, or is on its last delivery (`max_deliver`: earlier tries never got to
//!    their acknowledgement), is a poison message; an event that cannot be read in a message
//!    that can is set aside alone;
//! 3. evaluate the events ([`evaluate`], pure: detector, then an aggregator per batch, each
//!    alert with the keys of its events, [`event_key`]);
//! 4. commit the alerts ([`KeyedSink::commit`], tried again a few times); on failure nothing is
//!    acknowledged and JetStream delivers the batch again after `ack_wait`;
//! 5. publish the batch's correlation hits to their partitions ([`super::correlate`]) and await
//!    JetStream's acknowledgement of each; on failure nothing is acknowledged either;
//! 6. publish the poison messages to the dead-letter subject (reason in a header) and terminate
//!    them, and the events set aside (their position in the message in a header); acknowledge
//!    the others.
//!
//! A stop request (SIGTERM) ends the loop between two batches: the batch in hand is finished,
//! committed and acknowledged first, and the messages prefetched but not begun are given back
//! at once (a negative acknowledgement), not after `ack_wait`. The worker times each message
//! from JetStream storing it to its batch committed ([`LatencySummary`], in its final
//! counters). Every [`FORGET_EVERY`] batches the worker reads the consumer's acknowledgement
//! floor and lets the sink forget the event keys of the messages below it, so the keys kept
//! stay those of the messages in flight. Those messages are never delivered again, but
//! a copy may still be in a worker's hands (delivered again after `ack_wait` while a slow worker
//! held it, then acknowledged by the other): the sink keeps the floor and drops the keys below
//! it, so such a late copy adds nothing.

use super::correlate::{RoutedHit, publish_hits};
use super::{
    DEAD_INDEX_HEADER, DEAD_REASON_HEADER, DEAD_SEQ_HEADER, DEAD_SUBJECT_HEADER, KeyedAlert,
    LINE_HEADER, LINES_HEADER, NatsError, PAYLOAD_HEADER, SOURCE_HEADER, connect, dead_subject,
    facility_events,
};
use crate::stream::{BoxFuture, Payload, parse_payload};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use hygie_detect::alert::Pushed;
use hygie_detect::{
    Aggregator, Detector, EVENTS_PER_MESSAGE_MAX, LogEvent, RouteCache, alert_of, event_key,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Longest wait for a batch to fill (the correlators' fetch).
pub const FETCH_WAIT: Duration = Duration::from_millis(500);
/// Life of one pull request of the prefetching stream (a new one follows at once).
pub const FETCH_EXPIRES: Duration = Duration::from_secs(5);
/// Longest wait for a batch to fill once its first message is in hand.
pub const LINGER: Duration = Duration::from_millis(20);
/// Pause before pulling again after the server ended the pull stream.
const FETCH_RETRY: Duration = Duration::from_millis(500);
/// Batches between two reads of the acknowledgement floor (to forget event keys below it).
pub const FORGET_EVERY: u64 = 64;
/// Tries of one commit before the batch is left to JetStream's redelivery.
const COMMIT_TRIES: u32 = 4;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub url: String,
    pub stream: String,
    /// Durable consumer name, shared by the facility's workers.
    pub consumer: String,
    pub facility: String,
    /// Messages per batch.
    pub batch: usize,
    /// Deliveries of a message at most; the last one goes to the dead letter.
    pub max_deliver: i64,
    /// How long JetStream waits for an acknowledgement before delivering again.
    pub ack_wait: Duration,
    /// Aggregation window in seconds (as `hygie detect --window`).
    pub window_secs: u64,
    /// CA certificates (PEM) of the server's TLS certificate (`--nats-ca`).
    pub ca: Option<std::path::PathBuf>,
    /// NATS credentials file, JWT and NKey seed (`--nats-creds`).
    pub creds: Option<std::path::PathBuf>,
    /// Correlation partitions the hits are spread over (`--partitions`, the correlators').
    pub partitions: u32,
}

/// Where the alerts go: a store that merges them by event key in one transaction.
pub trait KeyedSink: Send {
    /// Commit every alert or none.
    fn commit<'a>(
        &'a mut self,
        stream: &'a str,
        alerts: &'a [KeyedAlert],
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Forget the event keys of `stream` below `below` (those of messages never delivered
    /// again).
    fn forget<'a>(&'a mut self, stream: &'a str, below: u64) -> BoxFuture<'a, Result<(), String>>;
}

/// Counters of a worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct WorkerStats {
    pub batches: u64,
    /// Messages acknowledged after their batch was committed.
    pub acknowledged: u64,
    /// Events read and evaluated (a message holds one or more).
    pub events: u64,
    /// Messages delivered more than once (seen by some worker before).
    pub redelivered: u64,
    /// Partial alerts committed.
    pub alert_updates: u64,
    /// Messages sent to the dead letter.
    pub dead: u64,
    /// Batches whose commit failed (left to redelivery).
    pub uncommitted: u64,
    /// Correlation hits published to the correlators.
    pub hits: u64,
    /// From JetStream storing a message to its batch's alerts committed.
    pub latency: LatencySummary,
}

/// An event read from a message, with its key ([`event_key`]).
pub type Keyed = (u64, LogEvent);

/// One event of a message: its line on the listener's connection, its text, and the event read
/// from it or why it cannot be.
#[derive(Debug)]
pub struct MessageEvent<'a> {
    pub line: u64,
    pub text: &'a [u8],
    pub event: Result<LogEvent, String>,
}

/// Read a message's events: their payload kind from the `Hygie-Payload` header, their origin
/// from the source and line headers; one event, or several separated by newlines with their
/// lines in `Hygie-Lines`. `Err` is why the message as a whole cannot be evaluated.
pub fn read_message<'a>(
    headers: Option<&HeaderMap>,
    payload: &'a [u8],
) -> Result<Vec<MessageEvent<'a>>, String> {
    // One pass over the few headers: `HeaderMap::get` builds, checks and hashes a name at each
    // call, which was a measurable share of a worker's CPU per event.
    let (mut payload_kind, mut source, mut line, mut lines) = (None, None, None, None);
    for (name, values) in headers.into_iter().flat_map(HeaderMap::iter) {
        let slot = match AsRef::<str>::as_ref(name) {
            PAYLOAD_HEADER => &mut payload_kind,
            SOURCE_HEADER => &mut source,
            LINE_HEADER => &mut line,
            LINES_HEADER => &mut lines,
            _ => continue,
        };
        *slot = values.first().map(|v| v.as_str());
    }
    let kind = match payload_kind {
        Some("json") => Payload::Json,
        Some("syslog") => Payload::Syslog,
        Some(other) => return Err(format!("unknown {PAYLOAD_HEADER} '{other}'")),
        None => return Err(format!("no {PAYLOAD_HEADER} header")),
    };
    let source: Arc<str> = Arc::from(source.unwrap_or("nats"));
    let read = |line: u64, text: &'a [u8]| {
        let event = std::str::from_utf8(text)
            .map_err(|e| format!("payload is not UTF-8: {e}"))
            .and_then(|t| {
                parse_payload(kind, t, &source, line).ok_or_else(|| match kind {
                    Payload::Json => "payload is not a JSON event".to_owned(),
                    Payload::Syslog => "payload is not a syslog message".to_owned(),
                })
            });
        MessageEvent { line, text, event }
    };
    let Some(lines) = lines else {
        let line = line.and_then(|l| l.parse().ok()).unwrap_or(0);
        return Ok(vec![read(line, payload)]);
    };
    let numbers = lines
        .split(',')
        .map(|n| n.trim().parse::<u64>())
        .collect::<Result<Vec<u64>, _>>()
        .map_err(|e| format!("{LINES_HEADER} '{lines}' is not a list of numbers: {e}"))?;
    if numbers.len() > EVENTS_PER_MESSAGE_MAX {
        return Err(format!(
            "{} events in one message, {EVENTS_PER_MESSAGE_MAX} at most",
            numbers.len()
        ));
    }
    let texts = payload.split(|&b| b == b'\n');
    let events: Vec<MessageEvent<'a>> = numbers
        .iter()
        .zip(texts.clone())
        .map(|(&n, text)| read(n, text))
        .collect();
    let held = texts.count();
    if held != numbers.len() {
        return Err(format!(
            "{LINES_HEADER} names {} events, the payload holds {held}",
            numbers.len()
        ));
    }
    Ok(events)
}

/// The alerts of one batch of events, each with the sequences of the events it counts: what
/// `hygie detect` would make of these events alone (same ids), to be merged into the store.
/// Correlation rules are left to the correlators ([`evaluate_with_hits`]), and the rules they
/// alone refer to stay silent, as in `hygie detect`.
pub fn evaluate(
    detector: &Detector,
    facility: &str,
    window_secs: u64,
    events: &[Keyed],
) -> Vec<KeyedAlert> {
    evaluate_with_hits(detector, facility, window_secs, events, 1).0
}

/// [`evaluate`], and the hits the batch brings to the correlations, each routed to its
/// correlation's partition among `partitions`.
pub fn evaluate_with_hits(
    detector: &Detector,
    facility: &str,
    window_secs: u64,
    events: &[Keyed],
    partitions: u32,
) -> (Vec<KeyedAlert>, Vec<RoutedHit>) {
    let mut agg = Aggregator::new(window_secs).for_facility(facility);
    let mut keys: HashMap<String, Vec<u64>> = HashMap::new();
    let mut cache = RouteCache::default();
    let mut hits = Vec::new();
    let correlations = detector.correlations();
    for (key, ev) in events {
        for m in detector.evaluate(ev, &mut cache) {
            if let Some(hit) = correlations.hit(&m, ev) {
                for (correlation, partition) in correlations.routes(&hit, partitions) {
                    hits.push(RoutedHit {
                        key: *key,
                        correlation,
                        partition,
                        hit: hit.clone(),
                    });
                }
            }
            if !correlations.generates(&m.rule_id) {
                continue;
            }
            let id = match agg.push(alert_of(m, ev)) {
                Pushed::Opened(a) | Pushed::Repeated(a) => a.id,
            };
            keys.entry(id).or_default().push(*key);
        }
    }
    let alerts = agg
        .finish()
        .into_iter()
        .map(|alert| {
            let mut events = keys.remove(&alert.id).unwrap_or_default();
            events.sort_unstable();
            events.dedup();
            KeyedAlert { alert, events }
        })
        .collect();
    (alerts, hits)
}

/// Run until `stop` is set: fetch, evaluate, commit, acknowledge.
pub async fn run(
    detector: Arc<Detector>,
    sink: &mut dyn KeyedSink,
    cfg: WorkerConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<WorkerStats, NatsError> {
    let js = super::connect_with(
        &cfg.url,
        &cfg.stream,
        cfg.ca.as_deref(),
        cfg.creds.as_deref(),
    )
    .await?;
    let consumer_name = cfg.consumer.clone();
    let consumer_err = |e: String| NatsError::Consumer {
        consumer: consumer_name.clone(),
        reason: e,
    };
    let consumer: consumer::PullConsumer = super::durable_consumer(
        &js,
        &cfg.stream,
        &cfg.consumer,
        consumer::pull::Config {
            filter_subject: facility_events(&cfg.facility),
            ack_policy: consumer::AckPolicy::Explicit,
            deliver_policy: consumer::DeliverPolicy::All,
            max_deliver: cfg.max_deliver,
            ack_wait: cfg.ack_wait,
            max_ack_pending: 65_536,
            ..Default::default()
        },
    )
    .await?;
    let mut worker = Worker {
        detector,
        dead: dead_subject(&cfg.facility),
        js,
        cfg,
        stats: WorkerStats::default(),
        latency: Latency::default(),
    };
    let batch = worker.cfg.batch.max(1);
    // The pull stream asks JetStream for more only when it is polled: read in the worker's
    // loop, it sat idle while a batch was evaluated and committed, and delivery and work took
    // turns. A task of its own reads it into a channel of two batches, so the next batch
    // arrives during this one's commit; a full channel stops the reading (and the asking).
    let (tx, mut rx) = mpsc::channel::<jetstream::Message>(batch * 2);
    let reader = tokio::spawn(read_pull(consumer.clone(), batch, tx, stop.clone()));
    let mut ended = false;
    while !*stop.borrow_and_update() {
        let mut in_hand = Vec::with_capacity(batch);
        let got = tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
            got = rx.recv_many(&mut in_hand, batch) => got,
        };
        if got == 0 {
            // The reader stopped: asked to, or it failed (its error is returned below).
            ended = true;
            break;
        }
        // Messages come as the server sends them: wait up to LINGER for the batch to fill, so
        // that a busy stream makes full batches (one commit each), not dozens of small ones,
        // and a quiet one adds at most LINGER to its latency.
        let deadline = tokio::time::Instant::now() + LINGER;
        while in_hand.len() < batch {
            let left = batch - in_hand.len();
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut in_hand, left)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        worker.batch(sink, in_hand).await?;
        if worker.stats.batches.is_multiple_of(FORGET_EVERY)
            && let Ok(info) = consumer.get_info().await
        {
            let floor = info.ack_floor.stream_sequence;
            if floor > 0
                && let Err(e) = sink
                    .forget(&worker.cfg.stream, event_key(floor + 1, 0))
                    .await
            {
                tracing::warn!("forgetting event keys below {floor}: {e}");
            }
        }
    }
    // Stopping: the messages delivered but not begun go back at once (a negative
    // acknowledgement), not after `ack_wait`; the reader gives back those it still holds.
    rx.close();
    while let Ok(m) = rx.try_recv() {
        give_back(&m).await;
    }
    match reader.await {
        Ok(Err(e)) if ended => return Err(consumer_err(e.to_string())),
        Ok(_) => {}
        Err(e) => tracing::warn!("the pull stream's reader: {e}"),
    }
    worker.stats.latency = worker.latency.summary();
    Ok(worker.stats)
}

/// Read the consumer's pull stream into `tx` until `stop` is raised or the channel is closed,
/// pulling again when the server ends the stream.
async fn read_pull(
    consumer: consumer::PullConsumer,
    batch: usize,
    tx: mpsc::Sender<jetstream::Message>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), consumer::StreamError> {
    loop {
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(batch)
            .expires(FETCH_EXPIRES)
            .messages()
            .await?;
        loop {
            let next = tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow_and_update() {
                        release(&mut messages).await;
                        return Ok(());
                    }
                    continue;
                }
                next = messages.next() => next,
            };
            match next {
                Some(Ok(m)) => {
                    if let Err(mpsc::error::SendError(m)) = tx.send(m).await {
                        give_back(&m).await;
                        release(&mut messages).await;
                        return Ok(());
                    }
                }
                // Missed heartbeats and the like: the stream goes on by itself.
                Some(Err(e)) => tracing::warn!("fetch: {e}"),
                None => break,
            }
        }
        // The server ended the stream (consumer deleted, request refused): ask again.
        tracing::warn!(
            "the pull stream of {} ended; pulling again",
            consumer.cached_info().name
        );
        tokio::time::sleep(FETCH_RETRY).await;
    }
}

/// The messages the pull stream already holds, given back (see [`give_back`]).
async fn release(messages: &mut consumer::pull::Stream) {
    while let Some(Some(m)) = messages.next().now_or_never() {
        if let Ok(m) = m {
            give_back(&m).await;
        }
    }
}

/// A message delivered to this worker and not begun, given back to the consumer at once (a
/// negative acknowledgement) rather than after `ack_wait`.
async fn give_back(m: &jetstream::Message) {
    if let Err(e) = m.ack_with(AckKind::Nak(None)).await {
        tracing::warn!("release: {e}");
    }
}

/// A worker's connection, settings and counters.
struct Worker {
    detector: Arc<Detector>,
    js: jetstream::Context,
    cfg: WorkerConfig,
    dead: String,
    stats: WorkerStats,
    latency: Latency,
}

impl Worker {
    /// One batch: read, evaluate, commit, publish the hits, dead-letter, acknowledge.
    async fn batch(
        &mut self,
        sink: &mut dyn KeyedSink,
        messages: Vec<jetstream::Message>,
    ) -> Result<(), NatsError> {
        self.stats.batches += 1;
        // Read and evaluated on a blocking thread, the events freed there too: parsed on the
        // runtime's thread and dropped on another, every field of every event was a
        // cross-thread free (measured: about a tenth of a worker's CPU).
        let Evaluated {
            good,
            poison,
            dead_events,
            published,
            redelivered,
            events,
            alerts,
            hits,
        } = {
            let det = self.detector.clone();
            let cfg = self.cfg.clone();
            tokio::task::spawn_blocking(move || read_and_evaluate(&det, &cfg, messages))
                .await
                .map_err(|e| NatsError::Other(format!("detection failed: {e}")))?
        };
        let cfg = &self.cfg;
        let stats = &mut self.stats;
        stats.redelivered += redelivered;
        stats.events += events;
        if !commit(sink, &cfg.stream, &alerts).await {
            stats.uncommitted += 1;
            // Not acknowledged: delivered again after ack_wait, to this worker or another.
            return Ok(());
        }
        self.latency.record(&published, &alerts);
        stats.alert_updates += alerts.len() as u64;
        if let Err(e) = publish_hits(&self.js, &cfg.stream, &cfg.facility, &hits).await {
            // Not acknowledged either: the batch comes again, its alerts add nothing (their
            // events are recorded) and its hits are stored once (their message ids).
            tracing::error!("{} correlation hits not published: {e}", hits.len());
            stats.uncommitted += 1;
            return Ok(());
        }
        stats.hits += hits.len() as u64;
        for (m, seq, reason) in poison {
            let mut headers = m.headers.clone().unwrap_or_default();
            headers.insert(DEAD_REASON_HEADER, reason.as_str());
            headers.insert(DEAD_SUBJECT_HEADER, m.subject.as_str());
            headers.insert(DEAD_SEQ_HEADER, seq.to_string().as_str());
            // A copy's id must not collide with the original's in the duplicate window.
            headers.insert("Nats-Msg-Id", format!("dead-{}-{seq}", cfg.stream).as_str());
            match dead_letter(&self.js, &self.dead, headers, m.payload.clone()).await {
                Ok(()) => {
                    tracing::warn!("message {seq} sent to {}: {reason}", self.dead);
                    stats.dead += 1;
                    if let Err(e) = m.ack_with(AckKind::Term).await {
                        tracing::warn!("terminate {seq}: {e}");
                    }
                }
                // Left unacknowledged: delivered again, and tried again then.
                Err(e) => tracing::error!("dead letter of message {seq} not stored: {e}"),
            }
        }
        // A message whose unreadable event could not be set aside is not acknowledged: it
        // comes again, its other events add nothing (their keys are recorded).
        let mut hold = vec![false; good.len()];
        for d in dead_events {
            let m = &good[d.message];
            let mut headers = HeaderMap::new();
            for (name, values) in m.headers.iter().flat_map(HeaderMap::iter) {
                let name: &str = name.as_ref();
                if name == PAYLOAD_HEADER || name == SOURCE_HEADER {
                    for v in values {
                        headers.append(name, v.as_str());
                    }
                }
            }
            headers.insert(LINE_HEADER, d.line.to_string().as_str());
            headers.insert(DEAD_REASON_HEADER, d.reason.as_str());
            headers.insert(DEAD_SUBJECT_HEADER, m.subject.as_str());
            headers.insert(DEAD_SEQ_HEADER, d.seq.to_string().as_str());
            headers.insert(DEAD_INDEX_HEADER, d.index.to_string().as_str());
            headers.insert(
                "Nats-Msg-Id",
                format!("dead-{}-{}-{}", cfg.stream, d.seq, d.index).as_str(),
            );
            match dead_letter(&self.js, &self.dead, headers, d.text).await {
                Ok(()) => {
                    tracing::warn!(
                        "event {} of message {} sent to {}: {}",
                        d.index,
                        d.seq,
                        self.dead,
                        d.reason
                    );
                    stats.dead += 1;
                }
                Err(e) => {
                    tracing::error!(
                        "dead letter of event {} of message {} not stored: {e}",
                        d.index,
                        d.seq
                    );
                    hold[d.message] = true;
                }
            }
        }
        for (m, held) in good.iter().zip(hold) {
            // A lost acknowledgement means a redelivery, which the event keys make harmless.
            if !held && m.ack().await.is_ok() {
                stats.acknowledged += 1;
            }
        }
        Ok(())
    }
}

/// A batch read and evaluated: what the worker then commits, dead-letters and acknowledges.
struct Evaluated {
    /// Messages read (some of their events may be in `dead_events`).
    good: Vec<jetstream::Message>,
    /// Messages for the dead letter as a whole, with their sequence and why.
    poison: Vec<(jetstream::Message, u64, String)>,
    dead_events: Vec<DeadEvent>,
    /// Each read message's first event key, its events and when JetStream stored it.
    published: Vec<(u64, usize, i128)>,
    redelivered: u64,
    /// Events evaluated.
    events: u64,
    alerts: Vec<KeyedAlert>,
    hits: Vec<RoutedHit>,
}

/// Read a batch's messages into events ([`read_message`], each keyed by [`event_key`]), set
/// aside the poison messages (unreadable, or on their last delivery) and the unreadable events,
/// and evaluate the rest ([`evaluate_with_hits`]).
fn read_and_evaluate(
    detector: &Detector,
    cfg: &WorkerConfig,
    messages: Vec<jetstream::Message>,
) -> Evaluated {
    let mut events: Vec<Keyed> = Vec::with_capacity(messages.len());
    let mut out = Evaluated {
        good: Vec::with_capacity(messages.len()),
        poison: Vec::new(),
        dead_events: Vec::new(),
        published: Vec::with_capacity(messages.len()),
        redelivered: 0,
        events: 0,
        alerts: Vec::new(),
        hits: Vec::new(),
    };
    for m in messages {
        let (seq, delivered, at) = match m.info() {
            Ok(i) => (
                i.stream_sequence,
                i.delivered,
                i.published.unix_timestamp_nanos(),
            ),
            Err(e) => {
                tracing::warn!("a message without JetStream metadata: {e}");
                continue;
            }
        };
        if delivered > 1 {
            out.redelivered += 1;
        }
        if cfg.max_deliver > 0 && delivered >= cfg.max_deliver {
            let reason = format!(
                "delivered {delivered} times without being acknowledged / livré {delivered} fois sans acquittement"
            );
            out.poison.push((m, seq, reason));
            continue;
        }
        match read_message(m.headers.as_ref(), &m.payload) {
            Ok(read) => {
                out.published.push((event_key(seq, 0), read.len(), at));
                for (i, e) in read.into_iter().enumerate() {
                    match e.event {
                        Ok(ev) => events.push((event_key(seq, i), ev)),
                        Err(reason) => out.dead_events.push(DeadEvent {
                            message: out.good.len(),
                            seq,
                            index: i,
                            line: e.line,
                            text: Bytes::copy_from_slice(e.text),
                            reason,
                        }),
                    }
                }
                out.good.push(m);
            }
            Err(reason) => out.poison.push((m, seq, reason)),
        }
    }
    out.events = events.len() as u64;
    (out.alerts, out.hits) = evaluate_with_hits(
        detector,
        &cfg.facility,
        cfg.window_secs,
        &events,
        cfg.partitions,
    );
    out
}

/// An event that cannot be read, in a message whose other events were.
struct DeadEvent {
    /// Its message's index among the batch's readable messages.
    message: usize,
    seq: u64,
    index: usize,
    line: u64,
    text: Bytes,
    reason: String,
}

/// Store a dead letter and await JetStream's acknowledgement.
async fn dead_letter(
    js: &jetstream::Context,
    subject: &str,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<(), String> {
    match js
        .publish_with_headers(subject.to_owned(), headers, payload)
        .await
    {
        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Time from JetStream storing a message to its batch's alerts committed, per message: for
/// every message, and for the messages whose events fed an alert ("publish to stored alert").
#[derive(Default)]
struct Latency {
    all: Histogram,
    alerting: Histogram,
}

impl Latency {
    /// `published`: each message's first event key, its number of events and when JetStream
    /// stored it.
    fn record(&mut self, published: &[(u64, usize, i128)], alerts: &[KeyedAlert]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or_default();
        let mut alerting: Vec<u64> = alerts
            .iter()
            .flat_map(|a| a.events.iter().copied())
            .collect();
        alerting.sort_unstable();
        for &(first, events, at) in published {
            let micros = ((now - at).max(0) / 1_000) as u64;
            self.all.record(micros);
            // Some event of the message fed an alert: a key in [first, first + events).
            let from = alerting.partition_point(|&k| k < first);
            if alerting
                .get(from)
                .is_some_and(|&k| k < first + events as u64)
            {
                self.alerting.record(micros);
            }
        }
    }

    fn summary(&self) -> LatencySummary {
        LatencySummary {
            all: self.all.summary(),
            alerting: self.alerting.summary(),
        }
    }
}

/// Microseconds, three significant digits, up to an hour (a message older than that is
/// counted at an hour).
struct Histogram(hdrhistogram::Histogram<u64>);

impl Default for Histogram {
    fn default() -> Self {
        // 1 µs to 1 h at 3 significant digits: the bounds are constants, so this never fails.
        Self(
            hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds")),
        )
    }
}

impl Histogram {
    fn record(&mut self, micros: u64) {
        self.0.saturating_record(micros.max(1));
    }

    fn summary(&self) -> Percentiles {
        let h = &self.0;
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
        Percentiles {
            messages: h.len(),
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            max_ms: h.max() as f64 / 1_000.0,
        }
    }
}

/// Latency percentiles of a worker's run.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub messages: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// From JetStream storing a message to its batch committed: for every message, and for those
/// whose events fed an alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub all: Percentiles,
    pub alerting: Percentiles,
}

/// Commit, trying again after short pauses; false when the sink kept refusing.
async fn commit(sink: &mut dyn KeyedSink, stream: &str, alerts: &[KeyedAlert]) -> bool {
    if alerts.is_empty() {
        return true;
    }
    for attempt in 0..COMMIT_TRIES {
        match sink.commit(stream, alerts).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::error!(
                    "{} alert updates not committed (try {}/{COMMIT_TRIES}): {e}",
                    alerts.len(),
                    attempt + 1
                );
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    false
}

/// The consumer's state: messages not delivered yet and delivered but not acknowledged.
pub async fn pending(url: &str, stream: &str, consumer: &str) -> Result<(u64, usize), NatsError> {
    let js = connect(url, stream).await?;
    let err = |e: String| NatsError::Consumer {
        consumer: consumer.to_owned(),
        reason: e,
    };
    let s = js
        .get_stream(stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    let info = s
        .consumer_info(consumer)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok((info.num_pending, info.num_ack_pending))
}

/// Access to a JetStream context for callers outside this module (tests, the bench).
pub async fn context(url: &str, stream: &str) -> Result<jetstream::Context, NatsError> {
    connect(url, stream).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, *v);
        }
        h
    }

    /// A message of three events whose second is not JSON: the other two are read, the second
    /// is named with its line and reason (it goes to the dead letter alone).
    #[test]
    fn one_unreadable_event_does_not_spoil_its_message() {
        let h = headers(&[
            (PAYLOAD_HEADER, "json"),
            (SOURCE_HEADER, "tcp://peer"),
            (LINES_HEADER, "3,4,9"),
        ]);
        let body = b"{\"EventID\":4625,\"EventRecordID\":1}\nnot json\n{\"EventID\":4624,\"EventRecordID\":2}";
        let read = read_message(Some(&h), body).expect("read");
        assert_eq!(read.len(), 3);
        assert_eq!(read[0].event.as_ref().expect("first").record_id(), 1);
        assert_eq!(read[1].line, 4);
        assert_eq!(read[1].text, b"not json");
        assert_eq!(
            read[1].event.as_ref().err().map(String::as_str),
            Some("payload is not a JSON event")
        );
        assert_eq!(read[2].line, 9);
    }

    /// Lines and payload that disagree, or lines that are not numbers, spoil the message.
    #[test]
    fn a_message_whose_lines_and_events_disagree_is_refused() {
        let two = b"{\"EventID\":1}\n{\"EventID\":2}";
        for (lines, why) in [
            ("3,4,5", "names 3 events, the payload holds 2"),
            ("3", "names 1 events, the payload holds 2"),
            ("3,x", "is not a list of numbers"),
        ] {
            let h = headers(&[(PAYLOAD_HEADER, "json"), (LINES_HEADER, lines)]);
            let err = read_message(Some(&h), two).expect_err(lines);
            assert!(err.contains(why), "{lines}: {err}");
        }
        let h = headers(&[(PAYLOAD_HEADER, "csv")]);
        assert!(read_message(Some(&h), two).is_err());
    }

    /// A message stored 40 ms ago and one stored 10 ms ago, only the first feeding an alert:
    /// both count in `all`, only the first in `alerting`, at their age or a little more.
    #[test]
    fn latency_counts_every_message_and_the_alerting_ones_apart() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let published = [
            (event_key(7, 0), 3, now - 40_000_000),
            (event_key(8, 0), 1, now - 10_000_000),
        ];
        let alert = hygie_detect::Alert {
            id: "a1".into(),
            rule_id: "r1".into(),
            title: "t".into(),
            level: "high".into(),
            tags: vec![],
            time: None,
            last_time: None,
            host: None,
            record_id: 1,
            source: "nats".into(),
            fields: vec![],
            count: 1,
        };
        let alerts = [KeyedAlert {
            alert,
            events: vec![event_key(7, 2)],
        }];
        let mut latency = Latency::default();
        latency.record(&published, &alerts);
        let s = latency.summary();
        assert_eq!(s.all.messages, 2);
        assert_eq!(s.alerting.messages, 1);
        assert!(
            s.alerting.p99_ms >= 40.0 && s.alerting.p99_ms < 5_000.0,
            "{s:?}"
        );
        assert!(s.all.p50_ms >= 10.0 && s.all.p50_ms < s.all.max_ms, "{s:?}");
    }
}
