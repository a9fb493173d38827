//! NATS JetStream: the transport that lets detection scale out (issue 20), behind the cargo
//! feature `nats` (the official `async-nats` client, JetStream only). Two halves:
//!
//! - [`publish`]: `hygie ingest --publish` keeps its listeners ([`crate::stream::Source`]s,
//!   unchanged) but, instead of the on-disk spool and detection, publishes each accepted event
//!   to a JetStream stream (file storage, created if missing) on the subject
//!   `hygie.events.<FINESS>.<host>`, the events of one subject in a batch packed into one
//!   message (up to `--events-per-message`, 256 by default: texts separated by newlines, their
//!   line numbers in the `Hygie-Lines` header), so that what a worker pays per message (its
//!   delivery, its acknowledgement) is shared by the events. A TCP connection reads on only as fast as JetStream
//!   acknowledges what it sent (the same window of batches the spool gives it), so an event
//!   the listener accepted is one JetStream stored. Publishes are pipelined (acknowledgements
//!   awaited in order, at most [`PublishConfig::in_flight`] outstanding); each message carries a
//!   `Nats-Msg-Id`, so a publish tried again after a lost acknowledgement is stored once.
//! - [`worker`]: `hygie detect-worker`, one of N processes sharing a durable pull consumer
//!   (explicit acknowledgement, bounded `max_deliver`). A worker fetches a batch, evaluates it
//!   with the [`hygie_detect::Detector`] and an [`hygie_detect::Aggregator`] of its own, hands
//!   the partial alerts with the keys of their events ([`KeyedAlert`]: the message's stream
//!   sequence and the event's position in it, [`hygie_detect::event_key`]) to a
//!   [`worker::KeyedSink`] (the store's `merge_alerts`), and acknowledges the batch only after
//!   that commit. A message delivered again (the worker died after the commit, before the
//!   acknowledgement) finds its keys already recorded with the alert and adds nothing;
//!   two workers feeding one alert (same rule, host and time bucket) add up. A message that
//!   cannot be read, or reaches its last delivery, goes to `hygie.dead.<FINESS>` with the
//!   reason in the `Hygie-Dead-Reason` header and is terminated; an event that cannot be read
//!   in a message that can goes there alone (its position in `Hygie-Original-Index`), the
//!   others are evaluated.
//!
//! **Partitioning.** Subjects are per facility and host; one consumer per facility filters
//! `hygie.events.<FINESS>.>`, and its workers pull from it in turn, so the events of one host
//! are spread over the workers. Aggregated alerts do not mind (the store's merge is additive).
//! A correlation's group-by key need not follow the host (one account over many hosts, one
//! address spraying many accounts), so correlation runs in a second stage, [`correlate`]:
//!
//! - a detection worker turns each match of a rule some correlation refers to into a compact
//!   [`hygie_detect::Hit`] (time, rule, only the fields correlations read) and publishes it,
//!   once per correlation referring to the rule, to `hygie.hits.<FINESS>.<P>` where
//!   `P = partition(correlation, group-by values) mod N` ([`hygie_detect::partition`], FNV-1a,
//!   the same in every process). It does so after committing the batch's alerts and before
//!   acknowledging the batch, awaiting JetStream's acknowledgement of every hit, each with a
//!   `Nats-Msg-Id` made of the event's key and the correlation: a batch delivered
//!   again publishes nothing twice (within the stream's duplicate window, two minutes);
//! - a correlator (`hygie detect-worker --correlate P`) owns partition P through its own durable
//!   consumer `…-correlate-P`: every hit of one (correlation, group) reaches that one process,
//!   so a count is never split. One process per partition is enforced by a lease
//!   ([`lease`]): a second correlator on the partition waits until the first stops or dies.
//!
//! **Correlation state.** A correlator holds one RSigma engine per correlation, bounded as in
//! batch ([`hygie_detect::correlate::MAX_GROUPS`] groups, the stalest dropped past it) plus the
//! hits waiting to be folded in time order ([`correlate::MAX_PENDING`] at most). It stores that
//! state, with the stream sequence of the last hit it read, in the same transaction as the
//! alerts it commits, then acknowledges the hits. A restart loads the state and skips the hits
//! at or below that sequence (delivered again because their acknowledgement was lost), so it
//! neither forgets a window nor alerts twice. Stored rather than rebuilt from the stream: a
//! replay would need the hits of the largest timespan before the first unacknowledged one,
//! which JetStream cannot find by event time, and would fire again the alerts of that replay.
//!
//! **Connection.** [`connect_with`]: `nats://` or `tls://` URLs (user and password or token in
//! the URL), a CA file for the server's TLS certificate (`--nats-ca`), a credentials file
//! (`--nats-creds`: the user JWT and NKey seed that `nsc` writes), read by async-nats; the seed
//! is never printed, a bad file is named in the error ([`check_creds`]).
//!
//! The domain stays pure: the evaluation of a batch is [`worker::evaluate`], without I/O.

pub mod correlate;
pub mod lease;
pub mod publish;
pub mod worker;

/// The headers of a message ([`worker::read_message`] reads them).
pub use async_nats::HeaderMap;
pub use hygie_detect::KeyedAlert;
pub use publish::{PublishConfig, PublishStats, Publishing};
pub use worker::{KeyedSink, WorkerConfig, WorkerStats};

use async_nats::jetstream;
use std::time::Duration;

/// Default JetStream stream name.
pub const DEFAULT_STREAM: &str = "HYGIE_EVENTS";
/// Header: what the payload is (`json` or `syslog`).
pub const PAYLOAD_HEADER: &str = "Hygie-Payload";
/// Header: the listener connection the event came from (`tcp://PEER`, `udp://ADDR`).
pub const SOURCE_HEADER: &str = "Hygie-Source";
/// Header: the event's line (or datagram) number on that connection.
pub const LINE_HEADER: &str = "Hygie-Line";
/// Header of a message of several events (their texts separated by newlines): their line
/// numbers, comma-separated, one per event.
pub const LINES_HEADER: &str = "Hygie-Lines";
/// Header of a dead letter: why the message was not evaluated.
pub const DEAD_REASON_HEADER: &str = "Hygie-Dead-Reason";
/// Header of a dead letter: the subject the message was published on.
pub const DEAD_SUBJECT_HEADER: &str = "Hygie-Original-Subject";
/// Header of a dead letter: the message's stream sequence.
pub const DEAD_SEQ_HEADER: &str = "Hygie-Original-Sequence";
/// Header of the dead letter of one event of a message: its position in the message (from 0).
pub const DEAD_INDEX_HEADER: &str = "Hygie-Original-Index";

/// What can go wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error(
        "cannot connect to NATS at {url}: {reason} / connexion impossible à NATS ({url}) : {reason}"
    )]
    Connect { url: String, reason: String },
    #[error("JetStream stream {stream}: {reason} / flux JetStream {stream} : {reason}")]
    Stream { stream: String, reason: String },
    #[error(
        "JetStream consumer {consumer}: {reason} / consommateur JetStream {consumer} : {reason}"
    )]
    Consumer { consumer: String, reason: String },
    #[error(
        "NATS credentials file {file}: {reason} / fichier d'identifiants NATS {file} : {reason}"
    )]
    Credentials { file: String, reason: String },
    #[error(
        "lost the lease of correlation partition {0}: another correlator holds it / bail de la partition de corrélation {0} perdu : un autre corrélateur la tient"
    )]
    LostLease(String),
    #[error("NATS: {0}")]
    Other(String),
}

/// The subject of an event of `facility` from `host`.
pub fn event_subject(facility: &str, host: Option<&str>) -> String {
    format!(
        "hygie.events.{facility}.{}",
        subject_token(host.unwrap_or(""))
    )
}

/// The subjects of one facility's events (a consumer's filter).
pub fn facility_events(facility: &str) -> String {
    format!("hygie.events.{facility}.>")
}

/// The subject of the hits of partition `p` of a facility's correlations.
pub fn hits_subject(facility: &str, p: u32) -> String {
    format!("hygie.hits.{facility}.{p}")
}

/// The dead-letter subject of a facility.
pub fn dead_subject(facility: &str) -> String {
    format!("hygie.dead.{facility}")
}

/// A host name made one subject token: letters, digits, `-` and `_` kept, anything else
/// (dots of a domain, spaces, wildcards) `_`; an empty name `_`. Distinct hosts may share a
/// token (`a.b`, `a_b`): subjects only partition, the event keeps its host.
pub fn subject_token(host: &str) -> String {
    if host.is_empty() {
        return "_".into();
    }
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The subjects the stream holds: events, hits for the correlators, dead letters.
const STREAM_SUBJECTS: [&str; 3] = ["hygie.events.>", "hygie.hits.>", "hygie.dead.>"];

/// The durable pull consumer `name` of `stream`, made with `config` if it is missing: the one
/// way workers and correlators attach to the stream.
pub(crate) async fn durable_consumer(
    js: &jetstream::Context,
    stream: &str,
    name: &str,
    config: jetstream::consumer::pull::Config,
) -> Result<jetstream::consumer::PullConsumer, NatsError> {
    let err = |e: String| NatsError::Consumer {
        consumer: name.to_owned(),
        reason: e,
    };
    let stream = js
        .get_stream(stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    stream
        .get_or_create_consumer(
            name,
            jetstream::consumer::pull::Config {
                durable_name: Some(name.to_owned()),
                ..config
            },
        )
        .await
        .map_err(|e| err(e.to_string()))
}

/// Connect and make the stream if it is missing: file storage, the subjects of events, hits
/// and dead letters of every facility.
pub async fn connect(url: &str, stream: &str) -> Result<jetstream::Context, NatsError> {
    connect_with(url, stream, None, None).await
}

/// Read and parse a credentials file now, so that a bad one stops the start with its name
/// (never its content: the NKey seed is a secret).
pub async fn check_creds(file: &std::path::Path) -> Result<(), NatsError> {
    async_nats::ConnectOptions::new()
        .credentials_file(file)
        .await
        .map(|_| ())
        .map_err(|e| creds_error(file, &e))
}

fn creds_error(file: &std::path::Path, e: &std::io::Error) -> NatsError {
    // async-nats says which part it could not read or parse (the JWT, the seed) or why the file
    // could not be opened; none of its messages quotes the content.
    NatsError::Credentials {
        file: file.display().to_string(),
        reason: e.to_string(),
    }
}

/// [`connect`], over TLS checked against the CA certificates (PEM) of `ca` when given (the
/// server's certificate must name the URL's host); without it a `tls://` URL is checked
/// against the system's roots. User and password, or a token, go in the URL; a credentials
/// file (JWT and NKey seed) in `creds`. A stream made by an earlier version without the hits'
/// subjects gets them.
pub async fn connect_with(
    url: &str,
    stream: &str,
    ca: Option<&std::path::Path>,
    creds: Option<&std::path::Path>,
) -> Result<jetstream::Context, NatsError> {
    let mut options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    if let Some(ca) = ca {
        options = options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true);
    }
    if let Some(file) = creds {
        options = options
            .credentials_file(file)
            .await
            .map_err(|e| creds_error(file, &e))?;
    }
    let client = options.connect(url).await.map_err(|e| NatsError::Connect {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let js = jetstream::new(client);
    let err = |e: String| NatsError::Stream {
        stream: stream.to_owned(),
        reason: e,
    };
    let mut s = js
        .get_or_create_stream(jetstream::stream::Config {
            name: stream.to_owned(),
            subjects: STREAM_SUBJECTS.iter().map(|s| (*s).to_owned()).collect(),
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| err(e.to_string()))?;
    let mut config = s
        .info()
        .await
        .map_err(|e| err(e.to_string()))?
        .config
        .clone();
    let missing: Vec<String> = STREAM_SUBJECTS
        .iter()
        .filter(|w| !config.subjects.iter().any(|s| s == *w))
        .map(|w| (*w).to_owned())
        .collect();
    if !missing.is_empty() {
        config.subjects.extend(missing);
        js.update_stream(config)
            .await
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(js)
}

fn stream_error(stream: &str, e: impl std::fmt::Display) -> NatsError {
    NatsError::Stream {
        stream: stream.to_owned(),
        reason: e.to_string(),
    }
}

/// The stream `stream` of the server at `url` (made if missing), for the counts below.
async fn stream_at(url: &str, stream: &str) -> Result<jetstream::stream::Stream, NatsError> {
    connect(url, stream)
        .await?
        .get_stream(stream)
        .await
        .map_err(|e| stream_error(stream, e))
}

/// Messages `s` (the stream `stream`) holds on the subjects `filter` matches.
async fn messages_on(
    s: &mut jetstream::stream::Stream,
    stream: &str,
    filter: &str,
) -> Result<u64, NatsError> {
    use futures_util::StreamExt;
    let mut subjects = s
        .info_with_subjects(filter)
        .await
        .map_err(|e| stream_error(stream, e))?;
    let mut total = 0u64;
    while let Some(x) = subjects.next().await {
        let (_, n) = x.map_err(|e| stream_error(stream, e))?;
        total += n as u64;
    }
    Ok(total)
}

/// Messages the stream holds on the subjects `filter` matches (`hygie.events.>`: the events).
pub async fn subject_messages(url: &str, stream: &str, filter: &str) -> Result<u64, NatsError> {
    messages_on(&mut stream_at(url, stream).await?, stream, filter).await
}

/// Events the stream holds on the subjects `filter` matches: one per message, or the count of
/// its `Hygie-Lines`. Reads every message's headers (not their payloads) with an ordered
/// consumer: a check for tests and benchmarks, not for a busy stream.
pub async fn subject_events(url: &str, stream: &str, filter: &str) -> Result<u64, NatsError> {
    use futures_util::StreamExt;
    let mut s = stream_at(url, stream).await?;
    let messages = messages_on(&mut s, stream, filter).await?;
    if messages == 0 {
        return Ok(0);
    }
    let consumer = s
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: filter.to_owned(),
            headers_only: true,
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| stream_error(stream, e))?;
    let mut read = consumer
        .messages()
        .await
        .map_err(|e| stream_error(stream, e))?;
    let (mut seen, mut events) = (0u64, 0u64);
    while seen < messages {
        let Some(m) = read.next().await else { break };
        let m = m.map_err(|e| stream_error(stream, e))?;
        seen += 1;
        events += m
            .headers
            .as_ref()
            .and_then(|h| h.get(LINES_HEADER))
            .map_or(1, |v| v.as_str().split(',').count() as u64);
        if m.info().is_ok_and(|i| i.pending == 0) {
            break;
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_one_subject_token() {
        assert_eq!(subject_token("DC01"), "DC01");
        assert_eq!(subject_token("dc01.chu.local"), "dc01_chu_local");
        assert_eq!(subject_token("a b*>"), "a_b__");
        assert_eq!(subject_token(""), "_");
        assert_eq!(
            event_subject("350000014", Some("pc-1.x")),
            "hygie.events.350000014.pc-1_x"
        );
        assert_eq!(event_subject("350000014", None), "hygie.events.350000014._");
    }
}
