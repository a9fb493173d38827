//! A campaign's life after it is made (region side): the agency closes it (no more answers
//! expected; what was answered by then stands) or withdraws it (cancelled, no longer due), once;
//! and chases the facilities that have not answered with reminders. Each is journalled
//! (`sync.campaign_close`, `sync.campaign_withdraw`, `sync.campaign_remind`) in its write and
//! travels down in the facilities' next requests file (`Store::requests_for`). Columns
//! `closed_*`, `withdrawn_*` of `sync_campaigns` and table `sync_request_reminders`, migration
//! 2000.

use crate::journal::{Actor, WriteTx, append};
use crate::sync::i64_of;
use crate::sync_requests::{CAMPAIGN_COLUMNS, campaign_of};
use crate::{ReminderSent, RequestCampaign, Result, Store, StoreError, now_us, ts_from_us};
use hygie_sync::CampaignEnd;

/// The campaign as this write transaction reads it (its facilities are not needed here).
async fn campaign_in(tx: &mut WriteTx<'_>, id: u64) -> Result<RequestCampaign> {
    let r = sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM sync_campaigns WHERE id = $1"
    ))
    .bind(i64_of(id)?)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("campaign {id} / campagne {id}")))?;
    campaign_of(&r, Vec::new())
}

/// Refused (conflict) if the campaign was closed or withdrawn already.
fn still_open(c: &RequestCampaign) -> Result<()> {
    if c.status() == "open" {
        return Ok(());
    }
    let l = c.status_label();
    Err(StoreError::Conflict(format!(
        "the end of campaign {} ({} / {})",
        c.id, l.en, l.fr
    )))
}

impl Store {
    /// Close or withdraw campaign `id`, once: when and by whom are kept and shown, and travel
    /// down at the facilities' next sync.
    pub async fn end_request_campaign(
        &self,
        id: u64,
        end: CampaignEnd,
        actor: &Actor,
    ) -> Result<RequestCampaign> {
        self.write(|tx| {
            Box::pin(async move {
                let c = campaign_in(tx, id).await?;
                still_open(&c)?;
                let details = serde_json::json!({ "campaign": id });
                let action = match end {
                    CampaignEnd::Close => "sync.campaign_close",
                    CampaignEnd::Withdraw => "sync.campaign_withdraw",
                };
                append(tx, actor, action, &c.region, &details).await?;
                let sql = match end {
                    CampaignEnd::Close => {
                        "UPDATE sync_campaigns SET closed_us = $2, closed_by = $3 WHERE id = $1"
                    }
                    CampaignEnd::Withdraw => {
                        "UPDATE sync_campaigns SET withdrawn_us = $2, withdrawn_by = $3 WHERE id = $1"
                    }
                };
                sqlx::query(sql)
                    .bind(i64_of(id)?)
                    .bind(now_us())
                    .bind(&actor.0)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
        .await?;
        self.request_campaign(id).await
    }

    /// Chase the facilities of campaign `id` whose request still awaits an answer at `now`
    /// (open or overdue): one reminder, recorded for each of them, that travels down at their
    /// next sync. Refused if the campaign ended, or if every facility answered.
    pub async fn remind_request_campaign(
        &self,
        id: u64,
        now: jiff::Timestamp,
        actor: &Actor,
    ) -> Result<ReminderSent> {
        let c = self.request_campaign(id).await?;
        still_open(&c)?;
        // The states are read before the write: a facility that answers meanwhile is reminded
        // once more, which is harmless.
        let waiting: Vec<String> = self
            .request_campaign_states(&c, now)
            .await?
            .into_iter()
            .filter(|s| hygie_sync::awaits_answer(s.state))
            .map(|s| s.facility)
            .collect();
        if waiting.is_empty() {
            return Err(StoreError::Invalid(format!(
                "campaign {id}: every facility asked has answered, nobody to remind / \
                 tous les établissements sollicités ont répondu, personne à relancer"
            )));
        }
        let waiting = &waiting;
        let region = c.region.as_str();
        self.write(|tx| {
            Box::pin(async move {
                // Ended meanwhile: refused as above.
                still_open(&campaign_in(tx, id).await?)?;
                let details = serde_json::json!({ "campaign": id, "facilities": waiting });
                let seq = append(tx, actor, "sync.campaign_remind", region, &details).await?;
                let at = now_us();
                for f in waiting {
                    sqlx::query(
                        "INSERT INTO sync_request_reminders (id, campaign, facility, at_us, sent_by) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(seq)
                    .bind(i64_of(id)?)
                    .bind(f)
                    .bind(at)
                    .bind(&actor.0)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(ReminderSent {
                    id: crate::sync::u64_of(seq),
                    at: ts_from_us(at)?,
                    by: actor.0.clone(),
                    facilities: waiting.clone(),
                })
            })
        })
        .await
    }
}
