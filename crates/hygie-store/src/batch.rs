//! Multi-row statements, for writes that carry many rows at once (a federation package's
//! declarations, a check run's results, a package's evidence list, an asset register, a
//! vulnerability feed): the store's one way of writing rows in bulk, from a list of rows
//! ([`insert`]) or from rows made as they are written ([`Batch`]: one statement's rows in
//! memory at a time).
//!
//! Why: each statement is a round trip (PostgreSQL's network, or sqlx's hand-off to the SQLite
//! connection's thread and back), and a region importing 300 packages of a year's history paid
//! about 3,000 of them per package. One `INSERT … VALUES (…), (…), …` per table per package
//! writes the same rows, in the same transaction, in a few. The SQL is built with `$N`
//! placeholders on PostgreSQL and anonymous `?` on SQLite, where binding `$N` costs a search per
//! parameter ([`SQLITE_PARAMS`]).

use crate::Result;
use crate::journal::WriteTx;

/// One bound value: of a row here, of a bookkeeping statement (`Store::bookkeeping`), of a
/// filtered read. The store's one shape for a value bound at run time.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::OptI64(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::OptText(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::OptText(v.map(str::to_owned))
    }
}

/// Bind `v` to `q` (borrowed: the value must outlive the statement's execution).
pub(crate) fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    v: &'q Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match v {
        Value::I64(v) => q.bind(*v),
        Value::OptI64(v) => q.bind(*v),
        Value::Text(v) => q.bind(v.as_str()),
        Value::OptText(v) => q.bind(v.as_deref()),
    }
}

/// Bound parameters per statement on SQLite (limit 32,766). sqlx's driver asks SQLite each
/// parameter's name when binding (`sqlite3_bind_parameter_name`), a search of the statement's
/// list of named parameters: with `$N` placeholders that list holds every one and binding is
/// quadratic in them (at 128 parameters a statement it was still an eighth of a 2-million-row
/// import's CPU). SQLite's statements here use anonymous `?` placeholders, which that list does
/// not hold, so binding is linear and statements can be large: each one is a hand-off to the
/// connection's thread and back, and 2 million rows took 111,000 of them at 128.
const SQLITE_PARAMS: usize = 8_192;

/// Bound parameters per statement on PostgreSQL (limit 65,535; binding is linear there, and each
/// statement is a network round trip, so fewer and larger).
const POSTGRES_PARAMS: usize = 8_192;

/// `head VALUES (…), (…) tail` for `rows`, in as few statements as the parameter limits allow.
/// `head` names the table and columns (`INSERT INTO t (a, b)`), `tail` is what follows the
/// values (`ON CONFLICT …`), empty for none. Every row must have the same number of values.
/// (A write body may run again after losing a race, so the rows are borrowed.)
pub(crate) async fn insert(
    tx: &mut WriteTx<'_>,
    head: &str,
    tail: &str,
    rows: &[Vec<Value>],
) -> Result<()> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    for chunk in rows.chunks(per_statement(tx, width)) {
        execute(tx, head, tail, width, chunk).await?;
    }
    Ok(())
}

/// Rows written as they are made: [`Batch::push`] one row at a time, a statement is executed
/// each time a statement's worth is held, [`Batch::finish`] writes the rest. Only one
/// statement's rows are in memory at once, so a register of millions of rows is written
/// without building all of their values first. (A loop pushing rows, not an iterator, so that
/// the write body's future stays `Send` for every lifetime.)
pub(crate) struct Batch {
    head: String,
    width: usize,
    per_statement: usize,
    rows: Vec<Vec<Value>>,
}

impl Batch {
    /// A batch of rows into `table`'s `columns`.
    pub(crate) fn new(tx: &WriteTx<'_>, table: &str, columns: &[&str]) -> Batch {
        let per_statement = per_statement(tx, columns.len());
        Batch {
            head: format!("INSERT INTO {table} ({})", columns.join(", ")),
            width: columns.len(),
            per_statement,
            rows: Vec::with_capacity(per_statement),
        }
    }

    pub(crate) async fn push(&mut self, tx: &mut WriteTx<'_>, row: Vec<Value>) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= self.per_statement {
            execute(tx, &self.head, "", self.width, &self.rows).await?;
            self.rows.clear();
        }
        Ok(())
    }

    /// Write the rows still held.
    pub(crate) async fn finish(mut self, tx: &mut WriteTx<'_>) -> Result<()> {
        if !self.rows.is_empty() {
            execute(tx, &self.head, "", self.width, &self.rows).await?;
            self.rows.clear();
        }
        Ok(())
    }
}

/// Rows per statement for this backend's parameter limit.
fn per_statement(tx: &WriteTx<'_>, width: usize) -> usize {
    let max_params = match Placeholders::of(tx) {
        Placeholders::Numbered => POSTGRES_PARAMS,
        Placeholders::Anonymous => SQLITE_PARAMS,
    };
    (max_params / width.max(1)).max(1)
}

/// One multi-row statement for `chunk`.
async fn execute(
    tx: &mut WriteTx<'_>,
    head: &str,
    tail: &str,
    width: usize,
    chunk: &[Vec<Value>],
) -> Result<()> {
    debug_assert!(chunk.iter().all(|r| r.len() == width));
    let sql = statement(head, tail, chunk.len(), width, Placeholders::of(tx));
    let mut q = sqlx::query(&sql);
    for v in chunk.iter().flatten() {
        q = bind(q, v);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// [`insert`] into `table`'s `columns`.
pub(crate) async fn insert_into(
    tx: &mut WriteTx<'_>,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
    tail: &str,
) -> Result<()> {
    let head = format!("INSERT INTO {table} ({})", columns.join(", "));
    insert(tx, &head, tail, rows).await
}

/// How a backend's multi-row statements name their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …`, bound in order (SQLite: see [`SQLITE_PARAMS`]).
    Anonymous,
}

impl Placeholders {
    fn of(tx: &WriteTx<'_>) -> Placeholders {
        if tx.backend_name() == "PostgreSQL" {
            Placeholders::Numbered
        } else {
            Placeholders::Anonymous
        }
    }
}

/// The SQL of one multi-row statement: `n` rows of `width` placeholders, in row order.
fn statement(head: &str, tail: &str, n: usize, width: usize, style: Placeholders) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + n * width * 6 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut p = 0;
    for row in 0..n {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            p += 1;
            match style {
                Placeholders::Numbered => {
                    sql.push('$');
                    sql.push_str(&p.to_string());
                }
                Placeholders::Anonymous => sql.push('?'),
            }
        }
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

/// `$from, $from+1, …` for `n` values: the list of an `IN (…)`.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_their_placeholders_in_row_order() {
        assert_eq!(
            statement("INSERT INTO t (a, b)", "", 2, 2, Placeholders::Numbered),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            statement("INSERT INTO t (a, b)", "", 2, 2, Placeholders::Anonymous),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            statement(
                "INSERT INTO t (a)",
                "ON CONFLICT DO NOTHING",
                1,
                1,
                Placeholders::Numbered
            ),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
