//! The administrator's in-force dates of legal regimes (issue 22). The regimes' status is data
//! in `hygie-incident` (`data/regimes.toml`); when a law passes, `set_regime_in_force` records
//! its date here, through the one write path with its journal entry (`regime.set`, subject
//! `regime/<id>`), and every incident read from the store is judged under it.

use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_incident::regimes::Regimes;
use jiff::civil::Date;
use sqlx::Row;

fn invalid(e: hygie_incident::IncidentError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn apply(rows: Vec<(String, Option<String>, String)>) -> Result<Regimes> {
    let mut r = Regimes::default();
    for (id, date, by) in rows {
        let date = date
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|e| StoreError::Corrupt(format!("regime {id}: date '{d}': {e}")))
            })
            .transpose()?;
        // A regime the data no longer knows is ignored: the setting outlived its regime.
        if r.get(&id).is_some() {
            r = r.with_in_force(&id, date, &by).map_err(invalid)?;
        }
    }
    Ok(r)
}

const SELECT: &str = "SELECT regime, in_force_from, set_by FROM regime_settings ORDER BY regime";

fn decode(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(String, Option<String>, String)>> {
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("regime")?,
                r.try_get("in_force_from")?,
                r.try_get("set_by")?,
            ))
        })
        .collect()
}

/// The regimes as the store knows them, read inside a write transaction.
pub(crate) async fn regimes_in(tx: &mut WriteTx<'_>) -> Result<Regimes> {
    let rows = sqlx::query(SELECT).fetch_all(&mut **tx).await?;
    apply(decode(&rows)?)
}

impl Store {
    /// The regimes: the bundled data with the administrator's in-force dates.
    pub async fn regimes(&self) -> Result<Regimes> {
        let rows = sqlx::query(SELECT).fetch_all(&self.pool).await?;
        apply(decode(&rows)?)
    }

    /// Record (or, with None, withdraw) a regime's in-force date. Journalled as `regime.set`.
    pub async fn set_regime_in_force(
        &self,
        id: &str,
        from: Option<Date>,
        actor: &Actor,
    ) -> Result<Regimes> {
        // Refuse an unknown regime before opening a transaction.
        Regimes::default()
            .with_in_force(id, from, &actor.0)
            .map_err(invalid)?;
        self.write(|tx| {
            Box::pin(async move {
                let before = regimes_in(tx).await?;
                let previous = before.get(id).and_then(|r| r.in_force_from);
                sqlx::query("DELETE FROM regime_settings WHERE regime = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                if let Some(d) = from {
                    sqlx::query(
                        "INSERT INTO regime_settings (regime, in_force_from, set_by, set_us) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(d.to_string())
                    .bind(&actor.0)
                    .bind(now_us())
                    .execute(&mut **tx)
                    .await?;
                }
                let details = serde_json::json!({
                    "regime": id,
                    "in_force_from": from.map(|d| d.to_string()),
                    "previous": previous.map(|d| d.to_string()),
                });
                append(tx, actor, "regime.set", &format!("regime/{id}"), &details).await?;
                regimes_in(tx).await
            })
        })
        .await
    }
}
