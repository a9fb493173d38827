//! Federation requests (hygie-sync `request`): on the region's instance, the agency's campaigns
//! and their requests, one per facility targeted, expanded when the campaign is made (so a
//! facility registered later is not asked after the fact); on a facility's, the region keys it
//! trusts and the requests it received.
//!
//! Each request's state is computed, never stored: `hygie_sync::answer_state` over the facts the
//! store holds for the requested measures (declarations, evidence attached here and evidence
//! metadata from packages), the same code on both sides, so the facility sees what the region
//! will see once its next package is in. Tables `sync_campaigns`, `sync_requests`,
//! `sync_region_keys`, `sync_received_requests`, migrations 1600; a campaign's end and its
//! reminders (`sync_campaign_life`), migration 2000, travel down in the same file: a request
//! already received is updated when the agency closed, withdrew or chased it since.

use crate::journal::{Actor, WriteTx, append};
use crate::rows::{ensure_facility, row_to_facility};
use crate::sync::u64_of;
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use hygie_core::{Finess, Localized, MeasureId, Region};
use hygie_sync::{
    AnswerState, CampaignInput, MeasureFacts, OpenedRequests, PublicKey, Request, RequestBundle,
    RequestRecord,
};
use sqlx::Row;

/// A campaign of the agency, with the facilities it asked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestCampaign {
    pub id: u64,
    pub region: String,
    /// `facility:FINESS`, `kind:KIND`, `departement:CODE` or `region`.
    pub target: String,
    pub measures: Vec<MeasureId>,
    pub due: jiff::civil::Date,
    pub message: Localized,
    pub created_at: jiff::Timestamp,
    pub created_by: String,
    pub facilities: Vec<String>,
    /// Closed (no more answers expected): when and by whom.
    pub closed_at: Option<jiff::Timestamp>,
    pub closed_by: Option<String>,
    /// Withdrawn (cancelled, no longer due): when and by whom.
    pub withdrawn_at: Option<jiff::Timestamp>,
    pub withdrawn_by: Option<String>,
    /// The reminders sent, oldest first.
    pub reminders: Vec<ReminderSent>,
}

/// One reminder of a campaign: when, by whom, how many facilities it chased.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReminderSent {
    pub id: u64,
    pub at: jiff::Timestamp,
    pub by: String,
    pub facilities: Vec<String>,
}

impl RequestCampaign {
    /// `open`, `closed` or `withdrawn`.
    pub fn status(&self) -> &'static str {
        if self.withdrawn_at.is_some() {
            "withdrawn"
        } else if self.closed_at.is_some() {
            "closed"
        } else {
            "open"
        }
    }

    /// The status for people, with when and by whom it ended.
    pub fn status_label(&self) -> Localized {
        let by = |at: &Option<jiff::Timestamp>, who: &Option<String>| {
            format!(
                "{} ({})",
                at.map(|t| t.to_string()).unwrap_or_default(),
                who.as_deref().unwrap_or("")
            )
        };
        match self.status() {
            "withdrawn" => {
                let w = by(&self.withdrawn_at, &self.withdrawn_by);
                Localized::new(format!("withdrawn on {w}"), format!("retirée le {w}"))
            }
            "closed" => {
                let c = by(&self.closed_at, &self.closed_by);
                Localized::new(format!("closed on {c}"), format!("close le {c}"))
            }
            _ => Localized::new("open", "ouverte"),
        }
    }

    /// The request one facility of this campaign receives (its last reminder given).
    pub fn request(&self, reminded_at: Option<jiff::Timestamp>) -> Request {
        Request {
            campaign: self.id,
            measures: self.measures.clone(),
            due: self.due,
            message: self.message.clone(),
            created_at: self.created_at,
            closed_at: self.closed_at,
            withdrawn_at: self.withdrawn_at,
            reminded_at,
        }
    }

    /// The last reminder that chased `facility`, and how many did.
    pub fn reminded(&self, facility: &str) -> (Option<jiff::Timestamp>, usize) {
        let mine: Vec<_> = self
            .reminders
            .iter()
            .filter(|r| r.facilities.iter().any(|f| f == facility))
            .collect();
        (mine.iter().map(|r| r.at).max(), mine.len())
    }
}

/// One facility's request of a campaign and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestStatus {
    pub facility: String,
    pub name: String,
    pub state: AnswerState,
    pub answered_at: Option<jiff::Timestamp>,
    /// When the facility last reported (its last package imported), if ever.
    pub last_report: Option<jiff::Timestamp>,
    /// The last reminder sent to it, and how many it was sent.
    pub reminded_at: Option<jiff::Timestamp>,
    pub reminders: usize,
}

/// A request as the facility received it, with its state on the facility's own facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceivedRequest {
    pub region: String,
    #[serde(flatten)]
    pub request: Request,
    pub received_at: jiff::Timestamp,
    pub state: AnswerState,
    pub answered_at: Option<jiff::Timestamp>,
}

/// A region key a facility trusts for requests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustedRegion {
    pub region: String,
    pub public_key: String,
    pub fingerprint: String,
    pub trusted_at: jiff::Timestamp,
}

/// What receiving a requests file did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestsReceived {
    pub facility: String,
    pub region: String,
    pub fingerprint: String,
    pub requests: usize,
    pub new: usize,
    /// Requests already received that the agency closed, withdrew or chased since.
    pub updated: usize,
}

fn measures_text(m: &[MeasureId]) -> String {
    m.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn measures_of(text: &str) -> Result<Vec<MeasureId>> {
    text.split(',')
        .map(|m| MeasureId::parse(m).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}

fn date_of(text: &str) -> Result<jiff::civil::Date> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date '{text}': {e}")))
}

pub(crate) fn campaign_of(
    r: &sqlx::any::AnyRow,
    facilities: Vec<String>,
) -> Result<RequestCampaign> {
    let at = |c: &str| -> Result<Option<jiff::Timestamp>> {
        r.try_get::<Option<i64>, _>(c)?.map(ts_from_us).transpose()
    };
    Ok(RequestCampaign {
        closed_at: at("closed_us")?,
        closed_by: r.try_get("closed_by")?,
        withdrawn_at: at("withdrawn_us")?,
        withdrawn_by: r.try_get("withdrawn_by")?,
        reminders: Vec::new(),
        id: u64_of(r.try_get("id")?),
        region: r.try_get("region")?,
        target: r.try_get("target")?,
        measures: measures_of(&r.try_get::<String, _>("measures")?)?,
        due: date_of(&r.try_get::<String, _>("due")?)?,
        message: Localized::new(
            r.try_get::<String, _>("message_en")?,
            r.try_get::<String, _>("message_fr")?,
        ),
        created_at: ts_from_us(r.try_get("created_us")?)?,
        created_by: r.try_get("created_by")?,
        facilities,
    })
}

pub(crate) const CAMPAIGN_COLUMNS: &str = "id, region, target, measures, due, message_en, message_fr, \
     created_us, created_by, closed_us, closed_by, withdrawn_us, withdrawn_by";

impl Store {
    /// Make a campaign: one request per facility of the region the target includes (none is an
    /// error: a campaign that asks nobody is a mistake), journalled as `sync.campaign`.
    pub async fn create_request_campaign(
        &self,
        input: &CampaignInput,
        actor: &Actor,
    ) -> Result<RequestCampaign> {
        self.write(|tx| {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT finess, legal_entity, name, kind, region, nis2, plan_start FROM facilities \
                     WHERE region = $1 ORDER BY finess",
                )
                .bind(input.region.code())
                .fetch_all(&mut **tx)
                .await?;
                let mut facilities = Vec::new();
                for r in &rows {
                    let f = row_to_facility(r)?;
                    if input.target.includes(&f) {
                        facilities.push(f.id.to_string());
                    }
                }
                if facilities.is_empty() {
                    return Err(StoreError::NotFound(format!(
                        "a facility of region {} for target {} / aucun établissement ciblé",
                        input.region.code(),
                        input.target.code()
                    )));
                }
                let details = serde_json::json!({
                    "target": input.target.code(), "measures": measures_text(&input.measures),
                    "due": input.due.to_string(), "facilities": facilities,
                });
                let id = append(tx, actor, "sync.campaign", input.region.code(), &details).await?;
                let created = now_us();
                sqlx::query(
                    "INSERT INTO sync_campaigns (id, region, target, measures, due, message_en, message_fr, \
                     created_us, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(input.region.code())
                .bind(input.target.code())
                .bind(measures_text(&input.measures))
                .bind(input.due.to_string())
                .bind(&input.message.en)
                .bind(&input.message.fr)
                .bind(created)
                .bind(&actor.0)
                .execute(&mut **tx)
                .await?;
                for f in &facilities {
                    sqlx::query("INSERT INTO sync_requests (campaign, facility) VALUES ($1, $2)")
                        .bind(id)
                        .bind(f)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(RequestCampaign {
                    id: u64_of(id),
                    region: input.region.code().to_owned(),
                    target: input.target.code(),
                    measures: input.measures.clone(),
                    due: input.due,
                    message: input.message.clone(),
                    created_at: ts_from_us(created)?,
                    created_by: actor.0.clone(),
                    facilities: facilities.clone(),
                    closed_at: None,
                    closed_by: None,
                    withdrawn_at: None,
                    withdrawn_by: None,
                    reminders: Vec::new(),
                })
            })
        })
        .await
    }

    /// The campaigns of a region, newest first.
    pub async fn request_campaigns(&self, region: Region) -> Result<Vec<RequestCampaign>> {
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM sync_campaigns WHERE region = $1 ORDER BY id DESC"
        ))
        .bind(region.code())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id = r.try_get("id")?;
            let facilities = self.campaign_facilities(id).await?;
            let mut c = campaign_of(r, facilities)?;
            c.reminders = self.campaign_reminders(id).await?;
            out.push(c);
        }
        Ok(out)
    }

    /// The reminders of a campaign, oldest first, each with the facilities it chased.
    pub(crate) async fn campaign_reminders(&self, campaign: i64) -> Result<Vec<ReminderSent>> {
        let rows = sqlx::query(
            "SELECT id, facility, at_us, sent_by FROM sync_request_reminders WHERE campaign = $1 \
             ORDER BY id, facility",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<ReminderSent> = Vec::new();
        for r in &rows {
            let id = u64_of(r.try_get("id")?);
            let facility: String = r.try_get("facility")?;
            match out.last_mut() {
                Some(last) if last.id == id => last.facilities.push(facility),
                _ => out.push(ReminderSent {
                    id,
                    at: ts_from_us(r.try_get("at_us")?)?,
                    by: r.try_get("sent_by")?,
                    facilities: vec![facility],
                }),
            }
        }
        Ok(out)
    }

    async fn campaign_facilities(&self, id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT facility FROM sync_requests WHERE campaign = $1 ORDER BY facility",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One campaign.
    pub async fn request_campaign(&self, id: u64) -> Result<RequestCampaign> {
        let key = crate::sync::i64_of(id)?;
        let r = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM sync_campaigns WHERE id = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
        let mut c = campaign_of(&r, self.campaign_facilities(key).await?)?;
        c.reminders = self.campaign_reminders(key).await?;
        Ok(c)
    }

    /// Each facility's request of a campaign and its state at `now`, from the facts imported.
    pub async fn request_campaign_states(
        &self,
        campaign: &RequestCampaign,
        now: jiff::Timestamp,
    ) -> Result<Vec<RequestStatus>> {
        let region =
            Region::parse(&campaign.region).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let last = self.last_reports(region).await?;
        let mut out = Vec::new();
        for f in &campaign.facilities {
            let id = Finess::parse(f).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let name = self.facility(&id).await?.name;
            let facts = self.measure_facts(&id, &campaign.measures).await?;
            let (state, answered_at) = campaign.request(None).state(&facts, now);
            let (reminded_at, reminders) = campaign.reminded(f);
            out.push(RequestStatus {
                facility: f.clone(),
                name,
                state,
                answered_at,
                last_report: last.get(f).copied(),
                reminded_at,
                reminders,
            });
        }
        Ok(out)
    }

    /// The requests file's content for one facility: every request of the region's campaigns
    /// that asked it, oldest first.
    pub async fn requests_for(
        &self,
        facility: &Finess,
        issued_at: jiff::Timestamp,
    ) -> Result<RequestBundle> {
        let f = self.facility(facility).await?;
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM sync_campaigns WHERE id IN \
             (SELECT campaign FROM sync_requests WHERE facility = $1) ORDER BY id"
        ))
        .bind(facility.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut requests = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut c = campaign_of(r, Vec::new())?;
            c.reminders = self.campaign_reminders(r.try_get("id")?).await?;
            let (reminded_at, _) = c.reminded(facility.as_str());
            requests.push(RequestRecord::of(&c.request(reminded_at)));
        }
        Ok(RequestBundle {
            finess: facility.to_string(),
            region: f.region.code().to_owned(),
            issued_at: issued_at.to_string(),
            requests,
        })
    }

    /// When each requested measure of `facility` was declared and evidenced: declarations, the
    /// evidence attached in this store and the evidence metadata packages brought.
    pub async fn measure_facts(
        &self,
        facility: &Finess,
        measures: &[MeasureId],
    ) -> Result<Vec<MeasureFacts>> {
        let mut out = Vec::new();
        for m in measures {
            let times = |sql: &'static str| {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(facility.as_str())
                    .bind(m.to_string())
                    .fetch_all(&self.pool)
            };
            let declared =
                times("SELECT at_us FROM declarations WHERE facility = $1 AND measure = $2")
                    .await?;
            let mut evidenced =
                times("SELECT at_us FROM evidence WHERE facility = $1 AND measure = $2").await?;
            evidenced.extend(
                times("SELECT at_us FROM sync_evidence WHERE facility = $1 AND measure = $2")
                    .await?,
            );
            let ts = |v: Vec<i64>| v.into_iter().map(ts_from_us).collect::<Result<Vec<_>>>();
            out.push(MeasureFacts {
                declared: ts(declared)?,
                evidenced: ts(evidenced)?,
            });
        }
        Ok(out)
    }

    /// Trust `key` as the key region `region` signs its requests with (facility side).
    /// Journalled as `sync.trust_region`; the same key twice is a conflict.
    pub async fn trust_region_key(
        &self,
        region: Region,
        key: &PublicKey,
        actor: &Actor,
    ) -> Result<TrustedRegion> {
        self.write(|tx| {
            Box::pin(async move {
                let known: Option<String> = sqlx::query_scalar(
                    "SELECT region FROM sync_region_keys WHERE public_key = $1",
                )
                .bind(key.hex())
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(r) = known {
                    return Err(StoreError::Conflict(format!(
                        "key {} (trusted for region {r})",
                        key.fingerprint()
                    )));
                }
                let details = serde_json::json!({ "public_key": key.hex(), "fingerprint": key.fingerprint() });
                let seq = append(tx, actor, "sync.trust_region", region.code(), &details).await?;
                let at = now_us();
                sqlx::query(
                    "INSERT INTO sync_region_keys (id, region, public_key, trusted_us) VALUES ($1, $2, $3, $4)",
                )
                .bind(seq)
                .bind(region.code())
                .bind(key.hex())
                .bind(at)
                .execute(&mut **tx)
                .await?;
                Ok(TrustedRegion {
                    region: region.code().to_owned(),
                    public_key: key.hex(),
                    fingerprint: key.fingerprint(),
                    trusted_at: ts_from_us(at)?,
                })
            })
        })
        .await
    }

    /// The region keys this instance trusts, in the order recorded.
    pub async fn trusted_regions(&self) -> Result<Vec<TrustedRegion>> {
        let rows =
            sqlx::query("SELECT region, public_key, trusted_us FROM sync_region_keys ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let public_key: String = r.try_get("public_key")?;
                let key = PublicKey::parse(&public_key)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(TrustedRegion {
                    region: r.try_get("region")?,
                    fingerprint: key.fingerprint(),
                    public_key,
                    trusted_at: ts_from_us(r.try_get("trusted_us")?)?,
                })
            })
            .collect()
    }

    /// Keep the requests of a file `hygie_sync::open_requests` accepted (signature, trusted
    /// key, addressee). A request already received is kept as it was; the file's region must
    /// be the one its key is trusted for. Journalled as `sync.requests` when anything is new.
    pub async fn receive_requests(
        &self,
        facility: &Finess,
        opened: &OpenedRequests,
        actor: &Actor,
    ) -> Result<RequestsReceived> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let region: Option<String> = sqlx::query_scalar(
                    "SELECT region FROM sync_region_keys WHERE public_key = $1",
                )
                .bind(opened.public_key.hex())
                .fetch_optional(&mut **tx)
                .await?;
                if region.as_deref() != Some(opened.region.as_str()) {
                    return Err(hygie_sync::Refusal::UntrustedRegion {
                        fingerprint: opened.public_key.fingerprint(),
                    }
                    .into());
                }
                let mut report = RequestsReceived {
                    facility: facility.to_string(),
                    region: opened.region.clone(),
                    fingerprint: opened.public_key.fingerprint(),
                    requests: opened.requests.len(),
                    new: 0,
                    updated: 0,
                };
                // New requests are kept as they came; of a known one, only what the agency
                // changed since (closed, withdrawn, reminded) is updated.
                let mut new = Vec::new();
                let mut changed = Vec::new();
                for r in &opened.requests {
                    let campaign = crate::sync::i64_of(r.campaign)?;
                    let known = sqlx::query(
                        "SELECT closed_us, withdrawn_us, reminded_us FROM sync_received_requests \
                         WHERE facility = $1 AND region = $2 AND campaign = $3",
                    )
                    .bind(facility.as_str())
                    .bind(&opened.region)
                    .bind(campaign)
                    .fetch_optional(&mut **tx)
                    .await?;
                    let Some(k) = known else {
                        new.push((campaign, r));
                        continue;
                    };
                    let life = |r: &Request| {
                        [r.closed_at, r.withdrawn_at, r.reminded_at].map(|t| t.map(|t| t.as_microsecond()))
                    };
                    let stored: [Option<i64>; 3] = [
                        k.try_get("closed_us")?,
                        k.try_get("withdrawn_us")?,
                        k.try_get("reminded_us")?,
                    ];
                    if stored != life(r) {
                        changed.push((campaign, life(r)));
                    }
                }
                if new.is_empty() && changed.is_empty() {
                    return Ok(report);
                }
                let details = serde_json::json!({
                    "region": opened.region, "fingerprint": opened.public_key.fingerprint(),
                    "campaigns": new.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                    "updated": changed.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                });
                append(tx, actor, "sync.requests", facility.as_str(), &details).await?;
                let at = now_us();
                for (campaign, r) in &new {
                    insert_received(tx, facility, &opened.region, *campaign, r, at).await?;
                }
                for (campaign, [closed, withdrawn, reminded]) in &changed {
                    sqlx::query(
                        "UPDATE sync_received_requests SET closed_us = $4, withdrawn_us = $5, reminded_us = $6 \
                         WHERE facility = $1 AND region = $2 AND campaign = $3",
                    )
                    .bind(facility.as_str())
                    .bind(&opened.region)
                    .bind(*campaign)
                    .bind(*closed)
                    .bind(*withdrawn)
                    .bind(*reminded)
                    .execute(&mut **tx)
                    .await?;
                }
                report.new = new.len();
                report.updated = changed.len();
                Ok(report)
            })
        })
        .await
    }

    /// The requests a facility received, soonest due first, each with its state on the
    /// facility's own facts at `now`.
    pub async fn received_requests(
        &self,
        facility: &Finess,
        now: jiff::Timestamp,
    ) -> Result<Vec<ReceivedRequest>> {
        let rows = sqlx::query(
            "SELECT region, campaign, measures, due, message_en, message_fr, created_us, received_us, \
             closed_us, withdrawn_us, reminded_us \
             FROM sync_received_requests WHERE facility = $1 ORDER BY due, campaign",
        )
        .bind(facility.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let at = |c: &str| -> Result<Option<jiff::Timestamp>> {
                r.try_get::<Option<i64>, _>(c)?.map(ts_from_us).transpose()
            };
            let request = Request {
                campaign: u64_of(r.try_get("campaign")?),
                measures: measures_of(&r.try_get::<String, _>("measures")?)?,
                due: date_of(&r.try_get::<String, _>("due")?)?,
                message: Localized::new(
                    r.try_get::<String, _>("message_en")?,
                    r.try_get::<String, _>("message_fr")?,
                ),
                created_at: ts_from_us(r.try_get("created_us")?)?,
                closed_at: at("closed_us")?,
                withdrawn_at: at("withdrawn_us")?,
                reminded_at: at("reminded_us")?,
            };
            let facts = self.measure_facts(facility, &request.measures).await?;
            let (state, answered_at) = request.state(&facts, now);
            out.push(ReceivedRequest {
                region: r.try_get("region")?,
                request,
                received_at: ts_from_us(r.try_get("received_us")?)?,
                state,
                answered_at,
            });
        }
        Ok(out)
    }
}

async fn insert_received(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    region: &str,
    campaign: i64,
    r: &Request,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_received_requests (facility, region, campaign, measures, due, message_en, \
         message_fr, created_us, received_us, closed_us, withdrawn_us, reminded_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(facility.as_str())
    .bind(region)
    .bind(campaign)
    .bind(measures_text(&r.measures))
    .bind(r.due.to_string())
    .bind(&r.message.en)
    .bind(&r.message.fr)
    .bind(r.created_at.as_microsecond())
    .bind(at)
    .bind(r.closed_at.map(|t| t.as_microsecond()))
    .bind(r.withdrawn_at.map(|t| t.as_microsecond()))
    .bind(r.reminded_at.map(|t| t.as_microsecond()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
