//! The second stage of streaming detection: Sigma correlation rules over NATS (issue 20). See
//! the module doc of [`crate::nats`] for why two stages; here, both ends of the hits:
//!
//! - [`publish_hits`]: a detection worker publishes the hits of a batch it committed, one message
//!   per (event, correlation) on `hygie.hits.<FINESS>.<P>`, the correlation's name in the
//!   `Hygie-Correlation` header, the [`Hit`] as JSON, and awaits every acknowledgement;
//! - [`run`]: a correlator owns partition P. It loads its saved state, then loops: fetch up to
//!   [`CorrelatorConfig::batch`] hits, skip those at or below the sequence its state already
//!   holds, add the others to a buffer, fold into the correlations the buffered hits older than
//!   the newest time seen minus the lateness ([`PartitionState::fold_ready`]), commit the
//!   alerts with the new state and the last sequence read ([`CorrelationSink::commit`], one
//!   transaction), then acknowledge. When no hit came for [`SETTLE`], the whole buffer is folded
//!   (and committed the same way): a quiet partition still alerts.
//!
//! **Order.** Hits reach a partition in the order workers published them, not in event time
//! (two workers, two hosts); batch detection folds them sorted. The buffer restores the order
//! for hits up to the lateness apart (`--lateness`, 60 s by default): a hit later than that is
//! folded when it comes, as RSigma takes it. So streaming equals batch when the events of one
//! group reach JetStream within the lateness of one another, which a live feed does.
//!
//! **Bounds.** One RSigma engine per correlation, each with batch's bounds
//! ([`hygie_detect::correlate::MAX_GROUPS`] groups, [`hygie_detect::correlate::MAX_GROUP_ENTRIES`]
//! entries in a group); at most [`MAX_PENDING`] buffered hits (past it the oldest are folded
//! at once). The state saved at each commit is that, as JSON.
//!
//! **Restart.** The saved state holds every hit at or below its sequence (folded or buffered),
//! so hits delivered again after a crash are skipped, and alerts that fired before the crash
//! stay in the engines' suppression (`rsigma.suppress`, the timespan): no alert twice, no
//! window forgotten. A commit the store keeps refusing stops the correlator (its memory would
//! be ahead of what is saved); started again, it resumes from the store.

use super::{NatsError, connect_with, hits_subject};
use crate::stream::BoxFuture;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use hygie_detect::{Alert, Correlations, Correlator, Hit};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Header of a hit: the correlation it is for (its id, or its title).
pub const CORRELATION_HEADER: &str = "Hygie-Correlation";
/// Most hits buffered (waiting for the hits that may come before them in time).
pub const MAX_PENDING: usize = 100_000;
/// Without a new hit for this long, the buffered hits are folded.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Version of the saved state.
const STATE_VERSION: u32 = 1;
/// Tries of one commit before the correlator stops.
const COMMIT_TRIES: u32 = 4;

/// A hit of an event, routed to one correlation's partition.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedHit {
    /// The event's stream sequence (part of the message id).
    pub seq: u64,
    pub correlation: String,
    pub partition: u32,
    pub hit: Hit,
}

/// Publish the hits of one batch and await JetStream's acknowledgement of every one. The
/// message id (`hit-STREAM-SEQ-CORRELATION-RULE`) makes a batch delivered again publish nothing
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
            format!("hit-{stream}-{}-{}-{}", h.seq, h.correlation, h.hit.rule).as_str(),
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

/// The correlation state of one partition: an engine per correlation and the hits waiting to be
/// folded in time order. Pure (no I/O): the loop of [`run`] feeds it and saves it.
pub struct PartitionState {
    correlations: Correlations,
    facility: String,
    /// Seconds a hit waits for earlier ones.
    lateness: i64,
    engines: BTreeMap<String, Correlator>,
    pending: Vec<(String, Hit)>,
    newest: i64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    version: u32,
    engines: BTreeMap<String, serde_json::Value>,
    pending: Vec<(String, Hit)>,
    newest: i64,
}

impl PartitionState {
    pub fn new(correlations: Correlations, facility: &str, lateness_secs: u64) -> Self {
        PartitionState {
            correlations,
            facility: facility.to_owned(),
            lateness: i64::try_from(lateness_secs).unwrap_or(i64::MAX),
            engines: BTreeMap::new(),
            pending: Vec::new(),
            newest: i64::MIN,
        }
    }

    /// Restore a state [`Self::save`] gave. The engines of correlations no longer loaded, and
    /// their buffered hits, are dropped.
    pub fn restore(&mut self, saved: &str) -> Result<(), String> {
        let saved: Saved = serde_json::from_str(saved).map_err(|e| e.to_string())?;
        if saved.version != STATE_VERSION {
            return Err(format!("state version {} unknown", saved.version));
        }
        for (name, snapshot) in saved.engines {
            if let Some(engine) = self.engine(&name)
                && !engine.import_state(snapshot)
            {
                return Err(format!("the state of correlation {name} cannot be read"));
            }
        }
        self.pending = saved
            .pending
            .into_iter()
            .filter(|(c, _)| self.correlations.rules().iter().any(|r| r.name() == c))
            .collect();
        self.newest = saved.newest;
        Ok(())
    }

    /// The state as JSON.
    pub fn save(&self) -> String {
        let saved = Saved {
            version: STATE_VERSION,
            engines: self
                .engines
                .iter()
                .map(|(n, e)| (n.clone(), e.export_state()))
                .collect(),
            pending: self.pending.clone(),
            newest: self.newest,
        };
        serde_json::to_string(&saved).unwrap_or_default()
    }

    /// Buffer a hit for `correlation`; false when no loaded correlation has that name.
    pub fn add(&mut self, correlation: &str, hit: Hit) -> bool {
        if self.engine(correlation).is_none() {
            return false;
        }
        self.newest = self.newest.max(hit.ts);
        self.pending.push((correlation.to_owned(), hit));
        true
    }

    /// Hits buffered.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Fold, in time order, the hits at least the lateness older than the newest seen (and the
    /// oldest past [`MAX_PENDING`]); the alerts they fire.
    pub fn fold_ready(&mut self) -> Vec<Alert> {
        self.sort();
        let horizon = self.newest.saturating_sub(self.lateness);
        let mut ready = self.pending.partition_point(|(_, h)| h.ts <= horizon);
        ready = ready.max(self.pending.len().saturating_sub(MAX_PENDING));
        self.fold(ready)
    }

    /// Fold every buffered hit in time order.
    pub fn fold_all(&mut self) -> Vec<Alert> {
        self.sort();
        self.fold(self.pending.len())
    }

    fn sort(&mut self) {
        self.pending
            .sort_by(|(ca, a), (cb, b)| a.order_key().cmp(&b.order_key()).then_with(|| ca.cmp(cb)));
    }

    fn fold(&mut self, n: usize) -> Vec<Alert> {
        let hits: Vec<(String, Hit)> = self.pending.drain(..n).collect();
        let mut alerts = Vec::new();
        for (c, hit) in &hits {
            if let Some(engine) = self.engine(c) {
                alerts.extend(engine.push(hit));
            }
        }
        alerts
    }

    fn engine(&mut self, name: &str) -> Option<&mut Correlator> {
        if !self.engines.contains_key(name) {
            let one = self.correlations.only(name)?;
            self.engines
                .insert(name.to_owned(), one.correlator(&self.facility));
        }
        self.engines.get_mut(name)
    }
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
    let js = connect_with(
        &cfg.url,
        &cfg.stream,
        cfg.ca.as_deref(),
        cfg.creds.as_deref(),
    )
    .await?;
    let consumer_err = |e: String| NatsError::Consumer {
        consumer: cfg.consumer.clone(),
        reason: e,
    };
    let consumer: consumer::PullConsumer = super::durable_consumer(
        &js,
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

#[cfg(test)]
mod tests {
    use super::*;
    use hygie_detect::Mapping;
    use hygie_detect::rules::load_text;
    use std::path::Path;

    fn correlations() -> Correlations {
        let text = "title: A\nid: rule-a\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 1}\n  condition: sel\n---\ntitle: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [rule-a]\n  group-by: [User]\n  timespan: 60s\n  condition: {gte: 3}\n";
        let m = Mapping::builtin().expect("mapping");
        let load = load_text(Path::new("c.yml"), text, &m);
        assert!(load.refused.is_empty(), "{:?}", load.refused);
        Correlations::new(load.correlations)
    }

    fn hit(ts: i64, user: &str) -> Hit {
        Hit {
            ts,
            rule: "rule-a".into(),
            time: format!("t{ts}"),
            host: None,
            source: "s".into(),
            record_id: u64::try_from(ts).unwrap_or(0),
            fields: vec![("User".into(), user.into())],
        }
    }

    #[test]
    fn hits_out_of_order_within_the_lateness_fold_as_in_batch() {
        let c = correlations();
        let hits: Vec<Hit> = (0..6).map(|i| hit(i * 5, "bob")).collect();
        let batch = c.run("f", hits.clone());
        assert_eq!(batch.len(), 1);
        let mut s = PartitionState::new(c.clone(), "f", 60);
        // Arrival order: reversed pairs.
        let mut alerts = Vec::new();
        for i in [1, 0, 3, 2, 5, 4] {
            assert!(s.add("many", hits[i].clone()));
            alerts.extend(s.fold_ready());
        }
        assert!(alerts.is_empty(), "nothing older than the lateness yet");
        assert!(!s.add("other", hit(0, "x")), "an unknown correlation");
        // Saved and restored in a new state (a restart), then folded.
        let mut again = PartitionState::new(c.clone(), "f", 60);
        again.restore(&s.save()).expect("restore");
        assert_eq!(again.pending(), 6);
        assert_eq!(again.fold_all(), batch);
        // A newer hit pushes the horizon: older hits fold on their own.
        let mut s = PartitionState::new(c, "f", 60);
        for h in &hits {
            s.add("many", h.clone());
        }
        assert_eq!(s.fold_ready(), Vec::new());
        s.add("many", hit(1_000, "ann"));
        assert_eq!(s.fold_ready(), batch);
        assert_eq!(s.pending(), 1);
    }

    #[test]
    fn a_restored_state_keeps_the_suppression_of_an_alert_already_stored() {
        let c = correlations();
        let mut s = PartitionState::new(c.clone(), "f", 0);
        for i in 0..4 {
            s.add("many", hit(i, "bob"));
        }
        assert_eq!(s.fold_all().len(), 1);
        let mut again = PartitionState::new(c.clone(), "f", 0);
        again.restore(&s.save()).expect("restore");
        for i in 4..8 {
            again.add("many", hit(i, "bob"));
        }
        assert!(again.fold_all().is_empty(), "suppressed for the timespan");
        // Without the state the same hits would alert again.
        let mut fresh = PartitionState::new(c, "f", 0);
        for i in 4..8 {
            fresh.add("many", hit(i, "bob"));
        }
        assert_eq!(fresh.fold_all().len(), 1);
        assert!(
            fresh
                .restore("{\"version\": 9, \"engines\": {}, \"pending\": [], \"newest\": 0}")
                .is_err()
        );
        assert!(fresh.restore("not json").is_err());
    }
}
