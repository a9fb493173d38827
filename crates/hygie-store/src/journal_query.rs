//! Reading the journal a page at a time: filters (actor, action, facility, period) and keyset
//! paging on the sequence number, newest first. A page costs one indexed range read of the
//! primary key (`seq`) however long the journal, plus one probe that tells whether newer
//! entries exist; the filters narrow that range, they never sort the journal.

use crate::journal::{Facilities, row_to_entry};
use crate::{Result, Store};
use hygie_core::Finess;
use hygie_core::journal::JournalEntry;

/// The most entries one page holds.
pub const JOURNAL_PAGE_MAX: i64 = 500;

/// Which entries a journal page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// This actor exactly (`web:alice`, `cli:root`, `token:...`).
    pub actor: Option<String>,
    /// This action exactly, or every action of a family when it ends with a dot (`user.`).
    pub action: Option<String>,
    /// Entries about this facility (subject `FINESS` or `FINESS/...`).
    pub facility: Option<Finess>,
    /// Written at or after this instant.
    pub from: Option<jiff::Timestamp>,
    /// Written before this instant.
    pub to: Option<jiff::Timestamp>,
}

/// Where a page starts: the newest entries, entries older than a sequence number, or newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JournalCursor {
    #[default]
    Newest,
    Before(i64),
    After(i64),
}

/// A page of the journal, newest first, with the cursors of the pages beside it when they hold
/// entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    /// `JournalCursor::Before` this to read older entries.
    pub older: Option<i64>,
    /// `JournalCursor::After` this to read newer entries.
    pub newer: Option<i64>,
}

/// The stored form of a bound of the period: the journal writes `at` as RFC 3339 UTC with six
/// decimals, which sorts as text in time order.
fn at_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Store {
    /// A page of at most `limit` entries matching `filter` within `scope` (None: the whole
    /// installation), starting at `cursor`.
    pub async fn journal_page(
        &self,
        scope: Option<Facilities<'_>>,
        filter: &JournalFilter,
        cursor: JournalCursor,
        limit: i64,
    ) -> Result<JournalPage> {
        let limit = limit.clamp(1, JOURNAL_PAGE_MAX);
        let mut cond = String::from("1 = 1");
        let mut binds: Vec<String> = Vec::new();
        // The scope's parameters come first: `about` numbers them from $1.
        if let Some(scope) = scope {
            let Some((about, keys)) = crate::journal::about(scope) else {
                return Ok(JournalPage {
                    entries: Vec::new(),
                    older: None,
                    newer: None,
                });
            };
            cond = about;
            binds.extend(keys.into_iter().map(str::to_owned));
        }
        let mut add = |c: &str, v: String| {
            binds.push(v);
            cond.push_str(&c.replace('?', &format!("${}", binds.len())));
        };
        if let Some(a) = filter.actor.as_deref() {
            add(" AND actor = ?", a.to_owned());
        }
        match filter.action.as_deref() {
            Some(a) if a.ends_with('.') => add(
                &format!(" AND substr(action, 1, {}) = ?", a.chars().count()),
                a.to_owned(),
            ),
            Some(a) => add(" AND action = ?", a.to_owned()),
            None => {}
        }
        if let Some(f) = &filter.facility {
            add(" AND (subject = ?", f.to_string());
            add(" OR subject LIKE ?)", format!("{f}/%"));
        }
        if let Some(t) = filter.from {
            add(" AND at >= ?", at_text(t));
        }
        if let Some(t) = filter.to {
            add(" AND at < ?", at_text(t));
        }
        let base = cond.clone();
        let (range, order) = match cursor {
            JournalCursor::Newest => (String::new(), "DESC"),
            JournalCursor::Before(s) => (format!(" AND seq < {s}"), "DESC"),
            JournalCursor::After(s) => (format!(" AND seq > {s}"), "ASC"),
        };
        let sql = format!(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM journal \
             WHERE {base}{range} ORDER BY seq {order} LIMIT {}",
            limit + 1
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() as i64 > limit;
        let mut entries: Vec<JournalEntry> = rows
            .iter()
            .take(limit as usize)
            .map(row_to_entry)
            .collect::<Result<_>>()?;
        if order == "ASC" {
            entries.reverse();
        }
        let (newest, oldest) = match (entries.first(), entries.last()) {
            (Some(n), Some(o)) => (n.seq, o.seq),
            _ => {
                return Ok(JournalPage {
                    entries,
                    older: None,
                    newer: None,
                });
            }
        };
        // One side is known from the query; the other is probed (one indexed row at most).
        let (older, newer) = match cursor {
            JournalCursor::After(_) => (
                self.journal_has(&base, &format!(" AND seq < {oldest}"), &binds)
                    .await?,
                more,
            ),
            _ => (
                more,
                self.journal_has(&base, &format!(" AND seq > {newest}"), &binds)
                    .await?,
            ),
        };
        Ok(JournalPage {
            entries,
            older: older.then_some(oldest),
            newer: newer.then_some(newest),
        })
    }
}

impl Store {
    /// Whether an entry matches `cond` and `range`.
    async fn journal_has(&self, cond: &str, range: &str, binds: &[String]) -> Result<bool> {
        let sql = format!("SELECT seq FROM journal WHERE {cond}{range} LIMIT 1");
        let row = bind_all(sqlx::query(&sql), binds)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = q.bind(b.as_str());
    }
    q
}
