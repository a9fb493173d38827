//! The hash-chained journal of every change, and the one write path of the store.
//!
//! Every write runs in `Store::write`: `begin_write` opens the transaction with an update of the
//! journal head, so the write lock is taken before anything is read (SQLite's RESERVED lock,
//! waited for up to `busy_timeout`; PostgreSQL's row lock on the head, waited for without limit).
//! Writers therefore queue in one order and the chain never forks; a start or a transaction
//! that still lost a race is retried a few times after short, spread pauses, and a write that
//! fails all the same returns its error. `append` takes the `WriteTx` that only `begin_write`
//! makes, so no entry is chained outside the lock. Unjournalled writes (session rows, login
//! counters, TOTP steps, cached dashboard views) use the same path and say why where they do.

use crate::{Result, Store, StoreError};
use hygie_core::journal::{self, ChainBreak, JournalEntry, NewEntry};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

/// Who made a change: `cli:root`, `web:alice`, `token:backup-agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The person at the command line: `$USER` or `$LOGNAME`, else the name the system gives
    /// the process's user id (read from `/etc/passwd`, no C call), else `cli:uid-N`; never
    /// "unknown" (a cron job or a container often has no `$USER`).
    pub fn cli() -> Actor {
        let plain = |s: &String| !s.trim().is_empty() && !s.chars().any(hygie_core::is_disguising);
        let name = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(plain))
            .unwrap_or_else(|| {
                let uid = rustix::process::getuid().as_raw();
                let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
                passwd_name(uid, &passwd)
                    .filter(plain)
                    .unwrap_or_else(|| format!("uid-{uid}"))
            });
        Actor(format!("cli:{name}"))
    }
}

/// The name of user `uid` in the text of a passwd file (`name:x:uid:...` lines).
fn passwd_name(uid: u32, passwd: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        fields.next()?;
        let id: u32 = fields.next()?.trim().parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// A write transaction that holds the store's write lock. Only [`begin_write`] makes one and
/// [`append`] takes one, so a journal entry cannot be written outside the lock.
///
/// The lifetime `'a` is the scope of what a [`Store::write`] body borrows: `&'t mut WriteTx<'a>`
/// implies `'a: 't`, so the body's future may hold the caller's references.
pub(crate) struct WriteTx<'a> {
    tx: Transaction<'static, Any>,
    _scope: PhantomData<&'a ()>,
}

impl Deref for WriteTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// How many times a write that lost a race is tried again.
const RETRIES: u32 = 6;

/// Begin a write transaction. Its first statement updates the journal head, which takes the
/// write lock at once (SQLite's RESERVED lock, PostgreSQL's row lock): concurrent writers queue
/// there (SQLite's `busy_timeout` waits, PostgreSQL's row lock waits) instead of failing later
/// when a read snapshot cannot be upgraded, and the chain never forks. A start that still lost
/// the race is tried again after a short pause.
pub(crate) async fn begin_write<'a>(pool: &AnyPool) -> Result<WriteTx<'a>> {
    let mut attempt = 0;
    loop {
        let started = async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE journal_head SET seq = seq WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            Ok::<_, StoreError>(tx)
        }
        .await;
        match started {
            Ok(tx) => {
                return Ok(WriteTx {
                    tx,
                    _scope: PhantomData,
                });
            }
            Err(e) if attempt < RETRIES && e.is_contention() => {
                attempt += 1;
                pause(attempt).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The future a [`Store::write`] body returns.
pub(crate) type TxFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 't>>;

/// A short, growing pause before trying a write again, spread so that writers that collided do
/// not collide again.
async fn pause(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let spread = u64::from(jiff::Timestamp::now().subsec_nanosecond().unsigned_abs()) % base;
    tokio::time::sleep(std::time::Duration::from_millis(base + spread)).await;
}

impl Store {
    /// Run `body` in a write transaction and commit it: the one way the store writes.
    ///
    /// The lock is taken first, so writers queue. A body that fails rolls back; a transaction
    /// that still lost a race (SQLite busy, PostgreSQL serialization failure or deadlock) is run
    /// again from the start, a bounded number of times, so `body` must only write through `tx`.
    /// A change the journal must see calls [`append`] inside `body`; the few writes that are not
    /// journalled (sessions, login counters, cached views) say why where they call this.
    pub(crate) async fn write<'a, T, F>(&self, mut body: F) -> Result<T>
    where
        F: for<'t> FnMut(&'t mut WriteTx<'a>) -> TxFuture<'t, T> + Send,
        T: Send,
    {
        let mut attempt = 0;
        loop {
            let mut tx = begin_write(&self.pool).await?;
            let outcome = match body(&mut tx).await {
                Ok(v) => tx.tx.commit().await.map(|()| v).map_err(StoreError::from),
                Err(e) => {
                    // Rolled back at once, so the lock is not held while the error travels up.
                    let _ = tx.tx.rollback().await;
                    Err(e)
                }
            };
            match outcome {
                Err(e) if attempt < RETRIES && e.is_contention() => {
                    attempt += 1;
                    pause(attempt).await;
                }
                other => return other,
            }
        }
    }
}

/// Append an entry inside a transaction opened by `begin_write`; returns its sequence number.
/// `details` is written as it displays: a `serde_json::Value` gives its compact JSON, so callers
/// pass the value they built rather than each serialising it.
pub(crate) async fn append(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    action: &str,
    subject: &str,
    details: impl std::fmt::Display,
) -> Result<i64> {
    let seqs = append_all(
        tx,
        actor,
        &[(action, subject.to_owned(), details.to_string())],
    )
    .await?;
    seqs.first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("no journal entry was appended".into()))
}

/// Append several entries (action, subject, details) in order, chained one after the other and
/// written in one multi-row statement (`batch`); returns their sequence numbers. A write that
/// records many facts at once (a federation package's declarations) journals each fact as its
/// own entry, as one by one, at the cost of one round trip instead of one per entry.
pub(crate) async fn append_all(
    tx: &mut WriteTx<'_>,
    actor: &Actor,
    entries: &[(&str, String, String)],
) -> Result<Vec<i64>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let row = sqlx::query("SELECT seq, hash FROM journal_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let mut prev_seq: i64 = row.try_get("seq")?;
    let mut prev_hash: String = row.try_get("hash")?;
    let at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let mut rows: Vec<Vec<crate::batch::Value>> = Vec::with_capacity(entries.len());
    let mut seqs = Vec::with_capacity(entries.len());
    for (action, subject, details) in entries {
        let e = journal::chain(
            prev_seq,
            &prev_hash,
            &NewEntry {
                at: &at,
                actor: &actor.0,
                action,
                subject,
                details,
            },
        );
        seqs.push(e.seq);
        prev_seq = e.seq;
        prev_hash = e.hash.clone();
        rows.push(vec![
            e.seq.into(),
            e.at.into(),
            e.actor.into(),
            e.action.into(),
            e.subject.into(),
            e.details.into(),
            e.prev_hash.into(),
            e.hash.into(),
        ]);
    }
    crate::batch::insert(
        tx,
        "INSERT INTO journal (seq, at, actor, action, subject, details, prev_hash, hash)",
        "",
        &rows,
    )
    .await?;
    sqlx::query("UPDATE journal_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(prev_seq)
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await?;
    Ok(seqs)
}

/// Whose journal entries to read.
#[derive(Debug, Clone, Copy)]
pub enum Facilities<'a> {
    Region(hygie_core::Region),
    These(&'a [hygie_core::Finess]),
}

/// The outcome of `Store::verify_journal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalCheck {
    Intact { entries: usize },
    Broken(ChainBreak),
}

impl Store {
    /// Append an entry on its own (for changes a feature journals without other writes).
    pub async fn journal(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        details: &str,
    ) -> Result<i64> {
        self.write(|tx| Box::pin(async move { append(tx, actor, action, subject, details).await }))
            .await
    }

    /// Entries in sequence order; `subject_prefix` narrows to one facility or object.
    pub async fn journal_entries(
        &self,
        subject_prefix: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM journal \
             WHERE ($1 = '' OR subject = $1 OR subject LIKE $2) ORDER BY seq DESC LIMIT $3",
        )
        .bind(subject_prefix.unwrap_or(""))
        .bind(format!("{}/%", subject_prefix.unwrap_or("")))
        .bind(limit.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<JournalEntry> = rows.iter().map(row_to_entry).collect::<Result<_>>()?;
        out.reverse();
        Ok(out)
    }

    /// The latest `limit` entries about any of `facilities` (subject `FINESS` or `FINESS/...`),
    /// or about every facility of `region`, in one query; oldest first.
    pub async fn journal_entries_of(
        &self,
        facilities: Facilities<'_>,
        limit: i64,
    ) -> Result<Vec<JournalEntry>> {
        let Some((filter, key)) = about(facilities) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM journal \
             WHERE {filter} ORDER BY seq DESC LIMIT ${}",
            key.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for k in key {
            q = q.bind(k);
        }
        let q = q.bind(limit);
        let rows = q.fetch_all(&self.pool).await?;
        let mut out: Vec<JournalEntry> = rows.iter().map(row_to_entry).collect::<Result<_>>()?;
        out.reverse();
        Ok(out)
    }

    /// How many entries are about any of `facilities` (as `journal_entries_of` selects them).
    pub async fn journal_count_of(&self, facilities: Facilities<'_>) -> Result<usize> {
        let Some((filter, key)) = about(facilities) else {
            return Ok(0);
        };
        let sql = format!("SELECT COUNT(*) FROM journal WHERE {filter}");
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for k in key {
            q = q.bind(k);
        }
        let n = q.fetch_one(&self.pool).await?;
        usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("journal count {n}")))
    }

    /// Check the whole chain and its head.
    pub async fn verify_journal(&self) -> Result<JournalCheck> {
        let rows = sqlx::query("SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM journal ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let entries: Vec<JournalEntry> = rows.iter().map(row_to_entry).collect::<Result<_>>()?;
        let head = sqlx::query("SELECT seq, hash FROM journal_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        let head = match head {
            Some(r) => Some((r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?)),
            None => {
                return Err(StoreError::Corrupt(
                    "the journal head row is missing".into(),
                ));
            }
        };
        Ok(
            match journal::verify(&entries, head.as_ref().map(|(s, h)| (*s, h.as_str()))) {
                Ok(n) => JournalCheck::Intact { entries: n },
                Err(b) => JournalCheck::Broken(b),
            },
        )
    }
}

pub(crate) fn row_to_entry(r: &sqlx::any::AnyRow) -> Result<JournalEntry> {
    Ok(JournalEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// The WHERE clause selecting the entries about `facilities` and its bound values (`$1`...);
/// `None` when the set is empty. A FINESS number is 9 characters: the subject's first 9 name the
/// facility (`FINESS` or `FINESS/...`).
pub(crate) fn about(facilities: Facilities<'_>) -> Option<(String, Vec<&str>)> {
    let (set, key): (String, Vec<&str>) = match facilities {
        Facilities::Region(r) => (
            "SELECT finess FROM facilities WHERE region = $1".into(),
            vec![r.code()],
        ),
        Facilities::These([]) => return None,
        Facilities::These(ids) => (
            (0..ids.len())
                .map(|i| format!("${}", i + 1))
                .collect::<Vec<_>>()
                .join(", "),
            ids.iter().map(|f| f.as_str()).collect(),
        ),
    };
    Some((
        format!(
            "substr(subject, 1, 9) IN ({set}) \
             AND (length(subject) = 9 OR substr(subject, 10, 1) = '/')"
        ),
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::passwd_name;

    #[test]
    fn a_user_id_is_named_from_the_passwd_file() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(0, passwd).as_deref(), Some("root"));
        assert_eq!(passwd_name(1000, passwd).as_deref(), Some("alice"));
        assert_eq!(passwd_name(4242, passwd), None);
        assert_eq!(passwd_name(0, ""), None);
    }
}
