//! The second stage of streaming detection: Sigma correlation rules over NATS (issue 20). See
//! the module doc of [`crate::nats`] for why two stages; here, both ends of the hits:
//!
//! - [`publish_hits`]: a detection worker publishes the hits of a batch it committed, one message
//!   per (event, correlation) on `hygie.hits.<FINESS>.<P>`, the correlation's name in the
//!   `Hygie-Correlation` header, the [`Hit`] as JSON, and awaits every acknowledgement;
//! - [`run`]: a correlator owns partition P: it takes the partition's lease ([`super::lease`],
//!   waiting while another correlator holds it), loads its saved state, then loops: fetch up to
//!   [`CorrelatorConfig::batch`] hits, skip those at or below the sequence its state already
//!   holds, add the others to a buffer, fold into the correlations the buffered hits older than
//!   the newest time seen minus the lateness ([`PartitionState::fold_ready`]), commit the
//!   alerts with the new state and the last sequence read ([`CorrelationSink::commit`], one
//!   transaction, the lease checked just before), then acknowledge. When no hit came for [`SETTLE`], the whole buffer is folded
//!   (and committed the same way): a quiet partition still alerts.
//!
//! **Order and bounds** are those of [`crate::correlation`], whose [`PartitionState`] both
//! streaming pipelines share (`--lateness`, 60 s by default): streaming equals batch when the
//! events of one group reach JetStream within the lateness of one another, which a live feed
//! does.
//!
//! **Restart.** The saved state holds every hit at or below its sequence (folded or buffered),
//! so hits delivered again after a crash are skipped, and alerts that fired before the crash
//! stay in the engines' suppression (`rsigma.suppress`, the timespan): no alert twice, no
//! window forgotten. A commit the store keeps refusing stops the correlator (its memory would
//! be ahead of what is saved); started again, it resumes from the store.

use super::lease::{self, Lease};
use super::{NatsError, connect_with, hits_subject};
pub use crate::correlation::{MAX_PENDING, PartitionState, SETTLE};
use crate::stream::BoxFuture;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use hygie_detect::{Alert, Correlations, Hit};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Header of a hit: the correlation it is for (its id, or its title).
pub const CORRELATION_HEADER: &str = "Hygie-Correlation";
/// Tries of one commit before the correlator stops.
const COMMIT_TRIES: u32 = 4;

/// A hit of an event, routed to one correlation's partition.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedHit {
    /// The event's key ([`hygie_detect::event_key`], part of the message id).
    pub key: u64,
    pub correlation: String,
    pub partition: u32,
    pub hit: Hit,
}

/// Publish the hits of one batch and await JetStream's acknowledgement of every one. The
/// message id (`hit-STREAM-KEY-CORRELATION-RULE`) makes a batch delivered again publish nothing
/// twice.
pub async fn publish_hits(
    js: &jetstream::Context,
    stream: &str,
    facility: &str,
    hits: &[RoutedHit],
) -> Result<(), String> {
    let mut acks = Vec::with_capacity(hits.len());
    for h in hits {
        let payload = serde_json::to_vec(&h.hit).map_err(|e| e.to_string())?;
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_HEADER, h.correlation.as_str());
        headers.insert(
            "Nats-Msg-Id",
            format!("hit-{stream}-{}-{}-{}", h.key, h.correlation, h.hit.rule).as_str(),
        );
        let ack = js
            .publish_with_headers(hits_subject(facility, h.partition), headers, payload.into())
            .await
            .map_err(|e| e.to_string())?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Correlator settings.
#[derive(Debug, Clone)]
pub struct CorrelatorConfig {
    pub url: String,
    pub stream: String,
    /// Durable consumer of the partition (one correlator each).
    pub consumer: String,
    pub facility: String,
    /// The partition this correlator owns.
    pub partition: u32,
    /// Hits per batch (one store transaction each).
    pub batch: usize,
    /// How long JetStream waits for an acknowledgement before delivering again.
    pub ack_wait: Duration,
    /// Seconds a hit waits for hits earlier in time (`--lateness`).
    pub lateness_secs: u64,
    pub ca: Option<std::path::PathBuf>,
    pub creds: Option<std::path::PathBuf>,
}

impl CorrelatorConfig {
    /// The key the state is saved under.
    pub fn state_key(&self) -> String {
        format!("nats:{}:{}", self.stream, self.consumer)
    }
}

/// Where a correlator's alerts and state go: a store committing both in one transaction.
pub trait CorrelationSink: Send {
    /// The state saved under `key`: the last hit sequence it holds and the state (JSON).
    fn load<'a>(&'a mut self, key: &'a str)
    -> BoxFuture<'a, Result<Option<(u64, String)>, String>>;
    /// Commit the alerts, and the state at hit sequence `position`, in one transaction.
    fn commit<'a>(
        &'a mut self,
        key: &'a str,
        alerts: &'a [Alert],
        position: u64,
        state: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Counters of a correlator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CorrelatorStats {
    pub batches: u64,
    /// Hits read and buffered.
    pub hits: u64,
    /// Hits delivered again that the saved state already held.
    pub skipped: u64,
    /// Hits that could not be read, or for a correlation not loaded (terminated).
    pub unreadable: u64,
    /// Correlation alerts committed.
    pub alerts: u64,
}

fn read_hit(headers: Option<&HeaderMap>, payload: &[u8]) -> Result<(String, Hit), String> {
    let correlation = headers
        .and_then(|h| h.get(CORRELATION_HEADER))
        .map(|v| v.as_str().to_owned())
        .ok_or_else(|| format!("no {CORRELATION_HEADER} header"))?;
    let hit = serde_json::from_slice(payload).map_err(|e| format!("not a hit: {e}"))?;
    Ok((correlation, hit))
}

/// Run until `stop` is set: fetch hits, fold, commit alerts and state, acknowledge.
pub async fn run(
    correlations: Correlations,
    sink: &mut dyn CorrelationSink,
    cfg: CorrelatorConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<CorrelatorStats, NatsError> {
    let js = connect_with(
        &cfg.url,
        &cfg.stream,
        cfg.ca.as_deref(),
        cfg.creds.as_deref(),
    )
    .await?;
    // The partition's lease before its state: a second correlator waits here.
    let lease_key = lease::lease_key(&cfg.stream, &cfg.facility, cfg.partition);
    let Some(mut lease) =
        Lease::acquire(&js, &lease_key, &lease::this_process(), &mut stop).await?
    else {
        return Ok(CorrelatorStats::default());
    };
    let result = consume(correlations, sink, &cfg, &js, &mut lease, stop).await;
    match &result {
        // Not ours any more: nothing to give back.
        Err(NatsError::LostLease(_)) => {}
        _ => lease.release().await,
    }
    result
}

/// The correlator's loop, its partition's lease held.
async fn consume(
    correlations: Correlations,
    sink: &mut dyn CorrelationSink,
    cfg: &CorrelatorConfig,
    js: &jetstream::Context,
    lease: &mut Lease,
    mut stop: watch::Receiver<bool>,
) -> Result<CorrelatorStats, NatsError> {
    let key = cfg.state_key();
    let mut state = PartitionState::new(correlations.clone(), &cfg.facility, cfg.lateness_secs);
    let mut position = 0u64;
    if let Some((at, saved)) = sink.load(&key).await.map_err(NatsError::Other)? {
        position = at;
        if let Err(e) = state.restore(&saved) {
            // Rules changed beyond what the state can follow: start afresh from here, the hits
            // already read stay skipped.
            tracing::warn!("correlation state {key} not restored, starting empty: {e}");
            state = PartitionState::new(correlations, &cfg.facility, cfg.lateness_secs);
        }
    }
    let consumer_err = |e: String| NatsError::Consumer {
        consumer: cfg.consumer.clone(),
        reason: e,
    };
    let consumer: consumer::PullConsumer = super::durable_consumer(
        js,
        &cfg.stream,
        &cfg.consumer,
        consumer::pull::Config {
            filter_subject: hits_subject(&cfg.facility, cfg.partition),
            ack_policy: consumer::AckPolicy::Explicit,
            deliver_policy: consumer::DeliverPolicy::All,
            ack_wait: cfg.ack_wait,
            max_ack_pending: i64::try_from(cfg.batch.max(1)).unwrap_or(i64::MAX),
            ..Default::default()
        },
    )
    .await?;
    let mut stats = CorrelatorStats::default();
    let mut last_hit = Instant::now();
    while !*stop.borrow_and_update() {
        lease.renew(false).await?;
        let mut batch = consumer
            .batch()
            .max_messages(cfg.batch.max(1))
            .expires(super::worker::FETCH_WAIT)
            .messages()
            .await
            .map_err(|e| consumer_err(e.to_string()))?;
        let mut messages = Vec::with_capacity(cfg.batch);
        while let Some(m) = batch.next().await {
            match m {
                Ok(m) => messages.push(m),
                Err(e) => {
                    tracing::warn!("fetch: {e}");
                    break;
                }
            }
        }
        if messages.is_empty() {
            if state.pending() > 0 && last_hit.elapsed() >= SETTLE {
                let alerts = state.fold_all();
                lease.renew(true).await?;
                commit(sink, &key, &alerts, position, &state.save()).await?;
                stats.alerts += alerts.len() as u64;
            }
            continue;
        }
        stats.batches += 1;
        last_hit = Instant::now();
        let mut done = Vec::with_capacity(messages.len());
        let mut bad = Vec::new();
        for m in messages {
            let seq = match m.info() {
                Ok(i) => i.stream_sequence,
                Err(e) => {
                    tracing::warn!("a hit without JetStream metadata: {e}");
                    continue;
                }
            };
            if seq <= position {
                stats.skipped += 1;
                done.push(m);
                continue;
            }
            position = seq;
            match read_hit(m.headers.as_ref(), &m.payload) {
                Ok((c, hit)) => {
                    if state.add(&c, hit) {
                        stats.hits += 1;
                        done.push(m);
                    } else {
                        tracing::warn!("hit {seq} for correlation {c}, not loaded: dropped");
                        bad.push(m);
                    }
                }
                Err(e) => {
                    tracing::warn!("hit {seq} unreadable, dropped: {e}");
                    bad.push(m);
                }
            }
        }
        let alerts = state.fold_ready();
        // Still this partition's holder, checked at the last moment: a correlator that stalled
        // past its lease commits nothing over its successor's state.
        lease.renew(true).await?;
        commit(sink, &key, &alerts, position, &state.save()).await?;
        stats.alerts += alerts.len() as u64;
        for m in &done {
            // A lost acknowledgement means a redelivery, which the saved position skips.
            let _ = m.ack().await;
        }
        for m in &bad {
            stats.unreadable += 1;
            let _ = m.ack_with(AckKind::Term).await;
        }
    }
    Ok(stats)
}

/// Commit, trying again after short pauses; an error when the store kept refusing.
async fn commit(
    sink: &mut dyn CorrelationSink,
    key: &str,
    alerts: &[Alert],
    position: u64,
    state: &str,
) -> Result<(), NatsError> {
    let mut last = String::new();
    for attempt in 0..COMMIT_TRIES {
        match sink.commit(key, alerts, position, state).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::error!(
                    "correlation state not committed (try {}/{COMMIT_TRIES}): {e}",
                    attempt + 1
                );
                last = e;
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    Err(NatsError::Other(format!(
        "the store refused the correlation state {key}: {last} / le magasin refuse l'état de corrélation {key} : {last}"
    )))
}
