//! `hygie ingest --publish`: the listeners' accepted events, published to JetStream. See the
//! module doc of [`crate::nats`].

use super::{
    LINE_HEADER, LINES_HEADER, NatsError, PAYLOAD_HEADER, SOURCE_HEADER, connect_with,
    event_subject,
};
use crate::spool::{APPEND_QUEUE, Append};
use crate::stream::{Payload, RawLines, Source, SourceCtx, Stats, parse_payload};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;
use hygie_detect::EVENTS_PER_MESSAGE_MAX;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot, watch};

/// Publishing settings.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// `nats://HOST:PORT`.
    pub url: String,
    pub stream: String,
    /// The facility (FINESS) the events belong to: part of their subject.
    pub facility: String,
    /// Publishes whose acknowledgement is awaited at once, at most.
    pub in_flight: usize,
    /// Events of one subject packed into one message, at most (1: one event per message, for
    /// consumers other than `hygie detect-worker`).
    pub events_per_message: usize,
    /// CA certificates (PEM) of the server's TLS certificate (`--nats-ca`).
    pub ca: Option<std::path::PathBuf>,
    /// NATS credentials file, JWT and NKey seed (`--nats-creds`).
    pub creds: Option<std::path::PathBuf>,
}

/// Tries of one publish whose acknowledgement failed (timeout, stream unavailable).
const PUBLISH_TRIES: u32 = 4;

/// Counters of a publishing ingest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PublishStats {
    /// Events JetStream acknowledged.
    pub accepted: u64,
    /// Events of UDP datagrams dropped because the publisher's queue was full.
    pub dropped: u64,
    /// Lines / datagrams that were not events (not published).
    pub rejected: u64,
    /// Events JetStream never acknowledged after the tries (their sender's connection was
    /// closed, so that it knows).
    pub failed: u64,
}

/// A running publishing ingest.
pub struct Publishing {
    shutdown: watch::Sender<bool>,
    sources: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    publisher: tokio::task::JoinHandle<()>,
    acker: tokio::task::JoinHandle<()>,
    stats: Arc<Stats>,
    failed: Arc<AtomicU64>,
}

/// One message handed to the acknowledgement task: its future and what a new try needs.
enum Pending {
    Message {
        ack: PublishAckFuture,
        subject: String,
        headers: HeaderMap,
        payload: Bytes,
        /// Events it carries.
        events: u64,
    },
    /// The end of a spool-shaped batch: acknowledge its source once every message before was.
    End {
        ack: Option<oneshot::Sender<()>>,
        events: u64,
    },
}

impl Publishing {
    /// Connect (making the stream if missing), then start the sources, the publisher and the
    /// task awaiting JetStream's acknowledgements.
    pub async fn start(
        sources: Vec<Box<dyn Source>>,
        cfg: PublishConfig,
    ) -> Result<Publishing, NatsError> {
        let js = connect_with(
            &cfg.url,
            &cfg.stream,
            cfg.ca.as_deref(),
            cfg.creds.as_deref(),
        )
        .await?;
        let stats = Arc::new(Stats::default());
        let failed = Arc::new(AtomicU64::new(0));
        let (tx, mut rx) = mpsc::channel::<Append>(APPEND_QUEUE);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ctx = SourceCtx::new(tx, shutdown_rx, stats.clone());
        let sources = sources
            .into_iter()
            .map(|s| tokio::spawn(s.run(ctx.clone())))
            .collect();
        drop(ctx);
        let (ptx, mut prx) = mpsc::channel::<Pending>(cfg.in_flight.max(1));
        // Message ids: this run's id and the message's number, so that JetStream's duplicate
        // window stores a message tried again once.
        let run = uuid::Uuid::new_v4().simple().to_string();
        let publisher = {
            let js = js.clone();
            let stats = stats.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while let Some(append) = rx.recv().await {
                    let mut events = 0u64;
                    let mut lost = false;
                    for packed in pack(&append.lines, &cfg.facility, cfg.events_per_message, &stats)
                    {
                        n += 1;
                        let mut headers = packed.headers(&append.lines);
                        headers.insert("Nats-Msg-Id", format!("{run}-{n}").as_str());
                        let body = Bytes::from(packed.body);
                        match publish_once(&js, &packed.subject, &headers, &body).await {
                            Ok(ack) => {
                                events += packed.lines.len() as u64;
                                let pending = Pending::Message {
                                    ack,
                                    subject: packed.subject,
                                    headers,
                                    payload: body,
                                    events: packed.lines.len() as u64,
                                };
                                if ptx.send(pending).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::error!("publish to {} failed: {e}", packed.subject);
                                failed.fetch_add(packed.lines.len() as u64, Ordering::Relaxed);
                                lost = true;
                            }
                        }
                    }
                    // A batch with a message JetStream refused is not acknowledged: its TCP
                    // connection is closed.
                    let ack = if lost { None } else { append.ack };
                    if ptx.send(Pending::End { ack, events }).await.is_err() {
                        return;
                    }
                }
            })
        };
        let acker = {
            let stats = stats.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                let mut lost = 0u64;
                while let Some(p) = prx.recv().await {
                    match p {
                        Pending::Message {
                            ack,
                            subject,
                            headers,
                            payload,
                            events,
                        } => {
                            if let Err(e) = ack.await
                                && !retry(&js, &subject, &headers, &payload).await
                            {
                                tracing::error!(
                                    "JetStream did not acknowledge a message of {events} events on {subject}: {e}"
                                );
                                lost += events;
                            }
                        }
                        Pending::End { ack, events } => {
                            let stored = events - lost;
                            stats.accepted.fetch_add(stored, Ordering::Relaxed);
                            failed.fetch_add(lost, Ordering::Relaxed);
                            if lost == 0
                                && let Some(ack) = ack
                            {
                                let _ = ack.send(());
                            }
                            lost = 0;
                        }
                    }
                }
            })
        };
        Ok(Publishing {
            shutdown,
            sources,
            publisher,
            acker,
            stats,
            failed,
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> PublishStats {
        let s = self.stats.snapshot();
        PublishStats {
            accepted: s.accepted,
            dropped: s.dropped,
            rejected: s.rejected,
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Stop the listeners, publish everything they accepted and await its acknowledgements.
    pub async fn shutdown(self) -> PublishStats {
        let _ = self.shutdown.send(true);
        for s in self.sources {
            match s.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("source ended with an error: {e}"),
                Err(e) => tracing::warn!("source task failed: {e}"),
            }
        }
        let _ = self.publisher.await;
        let _ = self.acker.await;
        let s = self.stats.snapshot();
        PublishStats {
            accepted: s.accepted,
            dropped: s.dropped,
            rejected: s.rejected,
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

async fn publish_once(
    js: &jetstream::Context,
    subject: &str,
    headers: &HeaderMap,
    payload: &Bytes,
) -> Result<PublishAckFuture, String> {
    js.publish_with_headers(subject.to_owned(), headers.clone(), payload.clone())
        .await
        .map_err(|e| e.to_string())
}

/// Publish again and await the acknowledgement, a few times; true once JetStream stored it
/// (the same `Nats-Msg-Id`: stored once even if the first try was stored after all).
async fn retry(
    js: &jetstream::Context,
    subject: &str,
    headers: &HeaderMap,
    payload: &Bytes,
) -> bool {
    for attempt in 1..PUBLISH_TRIES {
        tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        if let Ok(ack) = publish_once(js, subject, headers, payload).await
            && ack.await.is_ok()
        {
            return true;
        }
    }
    false
}

/// Bytes of event text one message carries at most, unless a single event is longer (a line
/// is at most [`crate::stream::MAX_LINE`]): well under NATS's default payload limit (1 MiB).
pub const MESSAGE_BYTES: usize = 256 << 10;

/// Events of one subject, in their order in the batch, to be published as one message.
#[derive(Debug, Default, PartialEq)]
struct Packed {
    subject: String,
    /// Each event's line (or datagram) number on its connection.
    lines: Vec<u64>,
    /// The events' texts, separated by `\n` (none of them holds one).
    body: Vec<u8>,
}

impl Packed {
    /// The message so far, this one starting again empty on the same subject.
    fn take(&mut self) -> Packed {
        let subject = self.subject.clone();
        std::mem::replace(
            self,
            Packed {
                subject,
                ..Packed::default()
            },
        )
    }

    /// Its headers: payload kind, source, and the line of its event (`Hygie-Line`) or the lines
    /// of its events (`Hygie-Lines`, comma-separated, one per event).
    fn headers(&self, lines: &RawLines) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            PAYLOAD_HEADER,
            match lines.payload {
                Payload::Json => "json",
                Payload::Syslog => "syslog",
            },
        );
        headers.insert(SOURCE_HEADER, lines.source());
        if let [line] = self.lines[..] {
            headers.insert(LINE_HEADER, line.to_string().as_str());
        } else {
            let mut all = String::with_capacity(self.lines.len() * 7);
            for (i, line) in self.lines.iter().enumerate() {
                if i > 0 {
                    all.push(',');
                }
                all.push_str(&line.to_string());
            }
            headers.insert(LINES_HEADER, all.as_str());
        }
        headers
    }
}

/// The events of a spool-shaped batch (a datagram's lines each), packed per subject into
/// messages of at most `per_message` events and [`MESSAGE_BYTES`]: a worker's cost per message
/// (its delivery, its acknowledgement) is then shared by many events. Lines that are not UTF-8
/// or not events are counted rejected; an event whose text holds a newline (none does from the
/// listeners, which split on it) goes alone.
fn pack(lines: &RawLines, facility: &str, per_message: usize, stats: &Stats) -> Vec<Packed> {
    let per_message = per_message.clamp(1, EVENTS_PER_MESSAGE_MAX);
    let mut done = Vec::new();
    // Open messages, one per subject; few subjects in a batch (one per host).
    let mut open: Vec<Packed> = Vec::new();
    let mut add = |text: &str, number: u64| {
        let Some(event) = parse_payload(lines.payload, text, &lines.source, number) else {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let subject = event_subject(facility, event.host().as_deref());
        let at = match open.iter().position(|p| p.subject == subject) {
            Some(at) => at,
            None => {
                open.push(Packed {
                    subject,
                    ..Packed::default()
                });
                open.len() - 1
            }
        };
        let p = &mut open[at];
        let alone = text.contains('\n');
        if !p.lines.is_empty()
            && (alone
                || p.lines.len() >= per_message
                || p.body.len() + 1 + text.len() > MESSAGE_BYTES)
        {
            done.push(p.take());
        }
        if !p.lines.is_empty() {
            p.body.push(b'\n');
        }
        p.body.extend_from_slice(text.as_bytes());
        p.lines.push(number);
        if alone {
            done.push(p.take());
        }
    };
    for (i, entry) in lines.entries().enumerate() {
        let number = lines.first + i as u64;
        if entry.is_empty() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(entry) else {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if lines.datagrams {
            for l in text.lines().filter(|l| !l.trim().is_empty()) {
                add(l, number);
            }
        } else {
            add(text, number);
        }
    }
    done.extend(open.into_iter().filter(|p| !p.lines.is_empty()));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::worker::read_message;

    fn logon(host: &str, id: u32) -> String {
        format!(r#"{{"Computer":"{host}","EventID":4625,"EventRecordID":{id}}}"#)
    }

    /// A batch of two hosts interleaved, a blank line and a line that is no event: one message
    /// per host, each event in its order with its line, the rest counted rejected; and what a
    /// worker reads back is those events.
    #[test]
    fn a_batch_becomes_one_message_per_host_read_back_event_by_event() {
        let mut lines = RawLines::new(Payload::Json, Arc::from("tcp://10.0.0.9:5000"), 41);
        for l in [
            logon("DC01", 1),
            logon("pc-1.chu.local", 2),
            String::new(),
            "not json".into(),
            logon("DC01", 3),
        ] {
            lines.push(l.as_bytes());
        }
        let stats = Stats::default();
        let packed = pack(&lines, "350000014", 256, &stats);
        assert_eq!(stats.rejected.load(Ordering::Relaxed), 1);
        assert_eq!(packed.len(), 2);
        assert_eq!(packed[0].subject, "hygie.events.350000014.DC01");
        assert_eq!(packed[0].lines, [41, 45]);
        assert_eq!(
            packed[0].body,
            format!("{}\n{}", logon("DC01", 1), logon("DC01", 3)).as_bytes()
        );
        assert_eq!(packed[1].subject, "hygie.events.350000014.pc-1_chu_local");
        let headers = packed[0].headers(&lines);
        assert_eq!(headers.get(LINES_HEADER).map(|v| v.as_str()), Some("41,45"));
        assert!(headers.get(LINE_HEADER).is_none());
        let read = read_message(Some(&headers), &packed[0].body).expect("read");
        let ids: Vec<(u64, u64)> = read
            .iter()
            .map(|e| (e.line, e.event.as_ref().expect("event").record_id()))
            .collect();
        assert_eq!(ids, [(41, 1), (45, 3)]);
        // A message of one event keeps the one-event shape.
        let one = packed[1].headers(&lines);
        assert_eq!(one.get(LINE_HEADER).map(|v| v.as_str()), Some("42"));
        assert!(one.get(LINES_HEADER).is_none());
        assert_eq!(
            read_message(Some(&one), &packed[1].body)
                .expect("one")
                .len(),
            1
        );
    }

    /// Messages stop at `per_message` events and at MESSAGE_BYTES; with 1, one event each.
    #[test]
    fn messages_are_bounded_in_events_and_bytes() {
        let mut lines = RawLines::new(Payload::Json, Arc::from("tcp://peer"), 1);
        for i in 0..10 {
            lines.push(logon("DC01", i).as_bytes());
        }
        let stats = Stats::default();
        let sizes = |per| -> Vec<usize> {
            pack(&lines, "350000014", per, &stats)
                .iter()
                .map(|p| p.lines.len())
                .collect()
        };
        assert_eq!(sizes(4), [4, 4, 2]);
        assert_eq!(sizes(1), [1; 10]);
        assert_eq!(sizes(256), [10]);
        let big = format!(
            r#"{{"Computer":"DC01","EventID":1,"Message":"{}"}}"#,
            "x".repeat(60_000)
        );
        let mut lines = RawLines::new(Payload::Json, Arc::from("tcp://peer"), 1);
        for _ in 0..9 {
            lines.push(big.as_bytes());
        }
        let packed = pack(&lines, "350000014", 256, &stats);
        assert!(packed.iter().all(|p| p.body.len() <= MESSAGE_BYTES));
        assert_eq!(
            packed.iter().map(|p| p.lines.len()).collect::<Vec<_>>(),
            [4, 4, 1]
        );
    }

    /// Datagrams: each line of a datagram is an event numbered by its datagram.
    #[test]
    fn the_lines_of_a_datagram_carry_its_number() {
        let mut lines = RawLines::datagrams(Payload::Syslog, Arc::from("udp://0.0.0.0:514"), 7);
        lines.push(
            b"<34>1 2026-03-02T10:00:00Z fw1 sshd 1 - - Failed password\n<34>1 2026-03-02T10:00:01Z fw1 sshd 1 - - Failed password",
        );
        let packed = pack(&lines, "350000014", 256, &Stats::default());
        assert_eq!(packed.len(), 1);
        assert_eq!(packed[0].lines, [7, 7]);
    }
}
