//! `hygie ingest --publish`: the listeners' accepted events, published to JetStream. See the
//! module doc of [`crate::nats`].

use super::{LINE_HEADER, NatsError, PAYLOAD_HEADER, SOURCE_HEADER, connect_with, event_subject};
use crate::spool::{APPEND_QUEUE, Append};
use crate::stream::{Payload, RawLines, Source, SourceCtx, Stats, parse_payload};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;
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
                    for (line, payload) in events_of(&append.lines, &stats) {
                        n += 1;
                        let Some(event) =
                            parse_payload(payload, line.text, &append.lines.source, line.number)
                        else {
                            stats.rejected.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        let subject = event_subject(&cfg.facility, event.host().as_deref());
                        let mut headers = HeaderMap::new();
                        headers.insert("Nats-Msg-Id", format!("{run}-{n}").as_str());
                        headers.insert(
                            PAYLOAD_HEADER,
                            match payload {
                                Payload::Json => "json",
                                Payload::Syslog => "syslog",
                            },
                        );
                        headers.insert(SOURCE_HEADER, append.lines.source());
                        headers.insert(LINE_HEADER, line.number.to_string().as_str());
                        let body = Bytes::copy_from_slice(line.text.as_bytes());
                        match publish_once(&js, &subject, &headers, &body).await {
                            Ok(ack) => {
                                events += 1;
                                let pending = Pending::Message {
                                    ack,
                                    subject,
                                    headers,
                                    payload: body,
                                };
                                if ptx.send(pending).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::error!("publish to {subject} failed: {e}");
                                failed.fetch_add(1, Ordering::Relaxed);
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
                        } => {
                            if let Err(e) = ack.await
                                && !retry(&js, &subject, &headers, &payload).await
                            {
                                tracing::error!(
                                    "JetStream did not acknowledge a message on {subject}: {e}"
                                );
                                lost += 1;
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

/// One line of a batch: its text and number.
struct Line<'a> {
    text: &'a str,
    number: u64,
}

/// The event lines of a spool-shaped batch (a datagram's lines each), with their payload
/// kind; lines that are not UTF-8 are counted rejected.
fn events_of<'a>(lines: &'a RawLines, stats: &'a Stats) -> Vec<(Line<'a>, Payload)> {
    let mut out = Vec::with_capacity(lines.len());
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
            out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| (Line { text: l, number }, lines.payload)),
            );
        } else {
            out.push((Line { text, number }, lines.payload));
        }
    }
    out
}
