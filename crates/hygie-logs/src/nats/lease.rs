//! One correlator per partition, enforced: a correlator holds its partition's lease, a key of
//! the JetStream key-value bucket [`BUCKET`], before it loads its state or reads a hit. A second
//! correlator started on the same partition (by mistake, or as a standby) waits until the lease
//! is free, so the hits of one group are never counted by two processes.
//!
//! The lease is the key's last revision, which the bucket keeps for [`LEASE`] (its `max_age`):
//! the holder writes it again every third of that ([`Lease::renew`], compare-and-set on the
//! revision it holds) and before each commit; a holder that cannot (the key expired while it
//! stalled and another took it) stops before committing anything more. A clean stop deletes
//! the key, so a waiting correlator takes over at once; after a kill -9 it takes over once the
//! lease expires. The bucket's key is `<stream>.<facility>.<partition>`; its value names the
//! holder (host and process), never a secret.

use super::{NatsError, subject_token};
use async_nats::jetstream::{self, kv};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The key-value bucket of the correlators' leases.
pub const BUCKET: &str = "hygie-leases";
/// How long a lease lasts without being renewed.
pub const LEASE: Duration = Duration::from_secs(10);
/// Pause between two tries of a waiting correlator.
const WAIT: Duration = Duration::from_millis(500);

/// A partition's lease, held.
pub struct Lease {
    kv: kv::Store,
    key: String,
    holder: String,
    revision: u64,
    renewed: Instant,
}

/// The key of a partition's lease.
pub fn lease_key(stream: &str, facility: &str, partition: u32) -> String {
    format!(
        "{}.{}.{partition}",
        subject_token(stream),
        subject_token(facility)
    )
}

/// The bucket, made if missing. Its stream is made here, as async-nats' `create_key_value`
/// would make it, because that call first asks for the account's information, whose answer
/// from a nats-server before 2.10 (Debian's is 2.9) async-nats cannot read.
async fn bucket(js: &jetstream::Context) -> Result<kv::Store, NatsError> {
    let stream = format!("KV_{BUCKET}");
    let err = |e: String| NatsError::Stream {
        stream: stream.clone(),
        reason: e,
    };
    if let Ok(kv) = js.get_key_value(BUCKET).await {
        return Ok(kv);
    }
    js.get_or_create_stream(jetstream::stream::Config {
        name: stream.clone(),
        description: Some("Hygie: one correlator per partition".to_owned()),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        max_age: LEASE,
        storage: jetstream::stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| err(e.to_string()))?;
    js.get_key_value(BUCKET)
        .await
        .map_err(|e| err(e.to_string()))
}

/// This process, as a lease names its holder: the host and the process id.
pub fn this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "?".to_owned());
    format!("{host} pid {}", std::process::id())
}

/// Who holds the lease of `key`, if anyone.
pub async fn holder(js: &jetstream::Context, key: &str) -> Result<Option<String>, NatsError> {
    let kv = bucket(js).await?;
    let value = kv
        .get(key)
        .await
        .map_err(|e| NatsError::Other(format!("lease {key}: {e}")))?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

impl Lease {
    /// Take the lease of `key` for `holder`, waiting while another holds it; `None` if `stop`
    /// is raised first.
    pub async fn acquire(
        js: &jetstream::Context,
        key: &str,
        holder: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<Lease>, NatsError> {
        let kv = bucket(js).await?;
        let mut told = false;
        loop {
            match kv.create(key, holder.to_owned().into()).await {
                Ok(revision) => {
                    return Ok(Some(Lease {
                        kv,
                        key: key.to_owned(),
                        holder: holder.to_owned(),
                        revision,
                        renewed: Instant::now(),
                    }));
                }
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    if !told {
                        let by = kv.get(key).await.ok().flatten();
                        let by = by.map(|v| String::from_utf8_lossy(&v).into_owned());
                        tracing::warn!(
                            "partition {key} is held by {}: waiting until it is free / partition tenue par un autre corrélateur : en attente",
                            by.as_deref().unwrap_or("another correlator")
                        );
                        told = true;
                    }
                }
                Err(e) => return Err(NatsError::Other(format!("lease {key}: {e}"))),
            }
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow_and_update() {
                        return Ok(None);
                    }
                }
                _ = tokio::time::sleep(WAIT) => {}
            }
        }
    }

    /// Write the lease again if a third of it has passed (or `now` is set): it stays this
    /// process's for [`LEASE`] more. `Err` when it is no longer held.
    pub async fn renew(&mut self, now: bool) -> Result<(), NatsError> {
        if !now && self.renewed.elapsed() < LEASE / 3 {
            return Ok(());
        }
        match self
            .kv
            .update(&self.key, self.holder.clone().into(), self.revision)
            .await
        {
            Ok(revision) => {
                self.revision = revision;
                self.renewed = Instant::now();
                Ok(())
            }
            Err(e) => Err(NatsError::LostLease(format!("{} ({e})", self.key))),
        }
    }

    /// Give the lease up, so that a waiting correlator takes over at once.
    pub async fn release(self) {
        if let Err(e) = self
            .kv
            .delete_expect_revision(&self.key, Some(self.revision))
            .await
        {
            tracing::warn!("releasing the lease of {}: {e}", self.key);
        }
    }
}
