//! Governance, training, phishing campaigns and the risk register (issue 9).
//!
//! Every write is one transaction with its journal entry; an import either lands whole or not at
//! all. Journal details hold counts and ids, never a person's e-mail or anything from GoPhish's
//! `details` field (which the parser already dropped).

use crate::journal::{Actor, WriteTx, append};
use crate::plan::checks::insert_check_run;
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use hygie_core::{CheckRun, Finess};
use hygie_governance::org::{Assignment, Person, Role};
use hygie_governance::phishing::{Event, EventKind, Stage, Target};
use hygie_governance::risk::Register;
use hygie_governance::training::{Session, SessionKind};
use jiff::civil::Date;
use sqlx::Row;

/// A stored role assignment with its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleRecord {
    pub id: String,
    #[serde(flatten)]
    pub assignment: Assignment,
}

/// A stored phishing campaign (without its targets and events).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CampaignRecord {
    pub id: String,
    pub source_id: Option<String>,
    pub name: String,
    pub launched: Option<jiff::Timestamp>,
    pub imported: jiff::Timestamp,
    pub formats: String,
}

/// A review of the risk register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RiskReview {
    pub id: String,
    pub date: Date,
    pub reviewer: String,
    pub note: Option<String>,
}

fn corrupt(m: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(m.to_string())
}

fn date(s: &str) -> Result<Date> {
    s.parse::<Date>()
        .map_err(|e| corrupt(format!("date '{s}': {e}")))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    /// Replace the facility's people register with `people` (the file is the full list).
    pub async fn replace_people(
        &self,
        facility: &Finess,
        people: &[Person],
        source: &str,
        actor: &Actor,
    ) -> Result<usize> {
        self.write(|tx| {
            Box::pin(async move {
                clear_register(tx, facility, "gov_people").await?;
                for p in people {
                    sqlx::query("INSERT INTO gov_people (facility, id, name, function, department, reports_to, email) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(facility.as_str())
                        .bind(&p.id)
                        .bind(&p.name)
                        .bind(p.function.clone())
                        .bind(p.department.clone())
                        .bind(p.reports_to.clone())
                        .bind(p.email.clone())
                        .execute(&mut **tx)
                        .await?;
                }
                let details = serde_json::json!({ "source": source, "people": people.len() });
                append(tx, actor, "people.import", facility.as_str(), &details).await?;
                Ok(people.len())
            })
        })
        .await
    }

    pub async fn people(&self, facility: &Finess) -> Result<Vec<Person>> {
        self.rows_of(
            "SELECT id, name, function, department, reports_to, email FROM gov_people WHERE facility = $1 ORDER BY id",
            facility.as_str(),
            |r| {
                Ok(Person {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    function: r.try_get("function")?,
                    department: r.try_get("department")?,
                    reports_to: r.try_get("reports_to")?,
                    email: r.try_get("email")?,
                })
            },
        )
        .await
    }

    /// Add role assignments (all or none).
    pub async fn add_roles(
        &self,
        facility: &Finess,
        roles: &[Assignment],
        actor: &Actor,
    ) -> Result<Vec<String>> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let mut ids = Vec::with_capacity(roles.len());
                for a in roles {
                    let id = new_id();
                    sqlx::query("INSERT INTO gov_roles (id, facility, role, person, department, start_date, end_date, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(&id)
                        .bind(facility.as_str())
                        .bind(a.role.as_str())
                        .bind(&a.person)
                        .bind(a.department.clone())
                        .bind(a.start.to_string())
                        .bind(a.end.map(|d| d.to_string()))
                        .bind(now_us())
                        .execute(&mut **tx)
                        .await?;
                    let details = serde_json::json!({ "id": id, "role": a.role.as_str(), "person": a.person, "department": a.department,
                        "start": a.start.to_string(), "end": a.end.map(|d| d.to_string()) });
                    append(tx, actor, "role.assign", facility.as_str(), &details).await?;
                    ids.push(id);
                }
                Ok(ids)
            })
        })
        .await
    }

    /// Set the end date of an assignment.
    pub async fn end_role(
        &self,
        facility: &Finess,
        id: &str,
        end: Date,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let start: Option<String> = sqlx::query_scalar(
                    "SELECT start_date FROM gov_roles WHERE id = $1 AND facility = $2",
                )
                .bind(id)
                .bind(facility.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                let start =
                    start.ok_or_else(|| StoreError::NotFound(format!("role assignment {id}")))?;
                if end < date(&start)? {
                    return Err(StoreError::Conflict(format!(
                        "role assignment {id} starts on {start}, after {end}"
                    )));
                }
                sqlx::query("UPDATE gov_roles SET end_date = $1 WHERE id = $2")
                    .bind(end.to_string())
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({ "id": id, "end": end.to_string() });
                append(tx, actor, "role.end", facility.as_str(), &details).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn roles(&self, facility: &Finess) -> Result<Vec<RoleRecord>> {
        self.rows_of(
            "SELECT id, role, person, department, start_date, end_date FROM gov_roles WHERE facility = $1 ORDER BY role, start_date, id",
            facility.as_str(),
            |r| {
                let role: String = r.try_get("role")?;
                let start: String = r.try_get("start_date")?;
                let end: Option<String> = r.try_get("end_date")?;
                Ok(RoleRecord {
                    id: r.try_get("id")?,
                    assignment: Assignment {
                        role: role.parse::<Role>().map_err(corrupt)?,
                        person: r.try_get("person")?,
                        department: r.try_get("department")?,
                        start: date(&start)?,
                        end: end.as_deref().map(date).transpose()?,
                    },
                })
            },
        )
        .await
    }

    /// Record a training session with its attendees.
    pub async fn add_session(
        &self,
        facility: &Finess,
        s: &Session,
        actor: &Actor,
    ) -> Result<String> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let id = if s.id.is_empty() {
                    new_id()
                } else {
                    s.id.clone()
                };
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT id FROM gov_sessions WHERE id = $1")
                        .bind(&id)
                        .fetch_optional(&mut **tx)
                        .await?;
                if exists.is_some() {
                    return Err(StoreError::Conflict(format!("training session {id}")));
                }
                sqlx::query("INSERT INTO gov_sessions (id, facility, date, trainer, kind, title) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&id)
                    .bind(facility.as_str())
                    .bind(s.date.to_string())
                    .bind(&s.trainer)
                    .bind(s.kind.as_str())
                    .bind(&s.title)
                    .execute(&mut **tx)
                    .await?;
                for a in &s.attendees {
                    sqlx::query("INSERT INTO gov_attendance (session_id, person) VALUES ($1, $2)")
                        .bind(&id)
                        .bind(a)
                        .execute(&mut **tx)
                        .await?;
                }
                let details = serde_json::json!({ "id": id, "date": s.date.to_string(), "kind": s.kind.as_str(), "trainer": s.trainer, "attendees": s.attendees.len() });
                append(tx, actor, "training.add", facility.as_str(), &details).await?;
                Ok(id)
            })
        })
        .await
    }

    pub async fn sessions(&self, facility: &Finess) -> Result<Vec<Session>> {
        let rows = sqlx::query("SELECT id, date, trainer, kind, title FROM gov_sessions WHERE facility = $1 ORDER BY date, id")
            .bind(facility.as_str())
            .fetch_all(&self.pool)
            .await?;
        let att = sqlx::query("SELECT a.session_id, a.person FROM gov_attendance a JOIN gov_sessions s ON s.id = a.session_id WHERE s.facility = $1 ORDER BY a.session_id, a.person")
            .bind(facility.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut by_session: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for r in att {
            by_session
                .entry(r.try_get("session_id")?)
                .or_default()
                .push(r.try_get("person")?);
        }
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let d: String = r.try_get("date")?;
                let kind: String = r.try_get("kind")?;
                Ok(Session {
                    attendees: by_session.remove(&id).unwrap_or_default(),
                    id,
                    date: date(&d)?,
                    trainer: r.try_get("trainer")?,
                    kind: kind.parse::<SessionKind>().map_err(corrupt)?,
                    title: r.try_get("title")?,
                })
            })
            .collect()
    }

    /// The facility's pseudonymisation key for phishing targets, created on first use.
    pub async fn phishing_key(&self, facility: &Finess) -> Result<Vec<u8>> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let k: Option<String> =
                    sqlx::query_scalar("SELECT phishing_key FROM gov_keys WHERE facility = $1")
                        .bind(facility.as_str())
                        .fetch_optional(&mut **tx)
                        .await?;
                let k = match k {
                    Some(k) => k,
                    None => {
                        let k = format!(
                            "{}{}",
                            uuid::Uuid::new_v4().simple(),
                            uuid::Uuid::new_v4().simple()
                        );
                        sqlx::query(
                            "INSERT INTO gov_keys (facility, phishing_key) VALUES ($1, $2)",
                        )
                        .bind(facility.as_str())
                        .bind(&k)
                        .execute(&mut **tx)
                        .await?;
                        k
                    }
                };
                hex::decode(&k).map_err(|e| corrupt(format!("phishing key: {e}")))
            })
        })
        .await
    }

    /// Store an imported campaign (pseudonymised targets and events) in one transaction.
    /// A campaign with the same GoPhish id is refused unless `replace`.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_campaign(
        &self,
        facility: &Finess,
        source_id: Option<&str>,
        name: &str,
        formats: &str,
        targets: &[Target],
        events: &[Event],
        replace: bool,
        actor: &Actor,
    ) -> Result<String> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                if let Some(sid) = source_id {
                    let old: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM phishing_campaigns WHERE facility = $1 AND source_id = $2",
                    )
                    .bind(facility.as_str())
                    .bind(sid)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some(old) = old {
                        if !replace {
                            return Err(StoreError::Conflict(format!(
                                "phishing campaign {sid} (use --replace)"
                            )));
                        }
                        for t in ["phishing_events", "phishing_targets"] {
                            sqlx::query(&format!("DELETE FROM {t} WHERE campaign_id = $1"))
                                .bind(&old)
                                .execute(&mut **tx)
                                .await?;
                        }
                        sqlx::query("DELETE FROM phishing_campaigns WHERE id = $1")
                            .bind(&old)
                            .execute(&mut **tx)
                            .await?;
                    }
                }
                let id = new_id();
                let launched = targets
                    .iter()
                    .filter_map(|t| t.send_at)
                    .chain(events.iter().map(|e| e.at))
                    .min();
                sqlx::query("INSERT INTO phishing_campaigns (id, facility, source_id, name, launched_us, imported_us, formats) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&id)
                    .bind(facility.as_str())
                    .bind(source_id.map(str::to_owned))
                    .bind(name)
                    .bind(launched.map(|t| t.as_microsecond()))
                    .bind(now_us())
                    .bind(formats)
                    .execute(&mut **tx)
                    .await?;
                for t in targets {
                    sqlx::query("INSERT INTO phishing_targets (campaign_id, key, department, stage, reported, send_us) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&id)
                        .bind(&t.key)
                        .bind(&t.department)
                        .bind(t.stage.as_str())
                        .bind(i64::from(t.reported))
                        .bind(t.send_at.map(|s| s.as_microsecond()))
                        .execute(&mut **tx)
                        .await?;
                }
                for (i, e) in events.iter().enumerate() {
                    sqlx::query("INSERT INTO phishing_events (campaign_id, seq, key, at_us, kind, user_agent, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(&id)
                        .bind(i as i64)
                        .bind(&e.key)
                        .bind(e.at.as_microsecond())
                        .bind(e.kind.as_str())
                        .bind(e.user_agent.clone())
                        .bind(e.ip.clone())
                        .execute(&mut **tx)
                        .await?;
                }
                let details = serde_json::json!({ "id": id, "source_id": source_id, "name": name, "formats": formats,
                    "targets": targets.len(), "events": events.len(), "replace": replace });
                append(tx, actor, "phishing.import", facility.as_str(), &details).await?;
                Ok(id)
            })
        })
        .await
    }

    /// Campaigns of a facility, oldest launch first.
    pub async fn campaigns(&self, facility: &Finess) -> Result<Vec<CampaignRecord>> {
        self.rows_of(
            "SELECT id, source_id, name, launched_us, imported_us, formats FROM phishing_campaigns WHERE facility = $1 ORDER BY launched_us, imported_us, id",
            facility.as_str(),
            |r| {
                let l: Option<i64> = r.try_get("launched_us")?;
                Ok(CampaignRecord {
                    id: r.try_get("id")?,
                    source_id: r.try_get("source_id")?,
                    name: r.try_get("name")?,
                    launched: l.map(ts_from_us).transpose()?,
                    imported: ts_from_us(r.try_get("imported_us")?)?,
                    formats: r.try_get("formats")?,
                })
            },
        )
        .await
    }

    /// The targets and events of one campaign.
    pub async fn campaign_data(&self, campaign: &str) -> Result<(Vec<Target>, Vec<Event>)> {
        let targets = self.rows_of(
            "SELECT key, department, stage, reported, send_us FROM phishing_targets WHERE campaign_id = $1 ORDER BY key",
            campaign,
            |r| {
                let stage: String = r.try_get("stage")?;
                let send: Option<i64> = r.try_get("send_us")?;
                Ok(Target {
                    key: r.try_get("key")?,
                    department: r.try_get("department")?,
                    stage: Stage::parse(&stage)
                        .ok_or_else(|| corrupt(format!("stage '{stage}'")))?,
                    reported: r.try_get::<i64, _>("reported")? != 0,
                    send_at: send.map(ts_from_us).transpose()?,
                })
            },
        );
        let events = self.rows_of(
            "SELECT key, at_us, kind, user_agent, ip FROM phishing_events WHERE campaign_id = $1 ORDER BY seq",
            campaign,
            |r| {
                let kind: String = r.try_get("kind")?;
                Ok(Event {
                    key: r.try_get("key")?,
                    at: ts_from_us(r.try_get("at_us")?)?,
                    kind: EventKind::parse(&kind)
                        .ok_or_else(|| corrupt(format!("event kind '{kind}'")))?,
                    user_agent: r.try_get("user_agent")?,
                    ip: r.try_get("ip")?,
                })
            },
        );
        Ok((targets.await?, events.await?))
    }

    /// Replace the facility's risk register (journalled with its scenario count); a `reviewed`
    /// date in the file is recorded as a review.
    pub async fn import_register(
        &self,
        facility: &Finess,
        register: &Register,
        source: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.import_register_with_run(facility, register, source, None, actor)
            .await
    }

    /// [`Self::import_register`] and, when given, the check run (with its summary) that
    /// evaluates the imported register, in one transaction: an import is never visible without
    /// its evaluation.
    pub async fn import_register_with_run(
        &self,
        facility: &Finess,
        register: &Register,
        source: &str,
        run: Option<(&CheckRun, &serde_json::Value)>,
        actor: &Actor,
    ) -> Result<()> {
        let content = serde_json::to_string(register).map_err(corrupt)?;
        let content = &content;
        self.write(|tx| {
            Box::pin(async move {
                clear_register(tx, facility, "risk_registers").await?;
                sqlx::query(
                    "INSERT INTO risk_registers (facility, content, imported_us) VALUES ($1, $2, $3)",
                )
                .bind(facility.as_str())
                .bind(content)
                .bind(now_us())
                .execute(&mut **tx)
                .await?;
                let details = serde_json::json!({ "source": source, "scenarios": register.scenarios.len(),
                    "feared_events": register.feared_events.len(), "reviewed": register.reviewed.map(|d| d.to_string()) });
                append(tx, actor, "risk.import", facility.as_str(), &details).await?;
                if let Some(d) = register.reviewed {
                    insert_review(
                        tx,
                        facility,
                        d,
                        &actor.0,
                        Some("date of the imported register"),
                        actor,
                    )
                    .await?;
                }
                if let Some((run, summary)) = run {
                    insert_check_run(tx, facility, run, summary, actor).await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn register(&self, facility: &Finess) -> Result<Option<Register>> {
        let c: Option<String> =
            sqlx::query_scalar("SELECT content FROM risk_registers WHERE facility = $1")
                .bind(facility.as_str())
                .fetch_optional(&self.pool)
                .await?;
        c.map(|c| serde_json::from_str(&c).map_err(|e| corrupt(format!("risk register: {e}"))))
            .transpose()
    }

    pub async fn review_register(
        &self,
        facility: &Finess,
        on: Date,
        reviewer: &str,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<String> {
        self.review_register_with_run(facility, on, reviewer, note, None, actor)
            .await
    }

    /// [`Self::review_register`] and, when given, the check run that evaluates the register
    /// after this review, in one transaction.
    pub async fn review_register_with_run(
        &self,
        facility: &Finess,
        on: Date,
        reviewer: &str,
        note: Option<&str>,
        run: Option<(&CheckRun, &serde_json::Value)>,
        actor: &Actor,
    ) -> Result<String> {
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let id = insert_review(tx, facility, on, reviewer, note, actor).await?;
                if let Some((run, summary)) = run {
                    insert_check_run(tx, facility, run, summary, actor).await?;
                }
                Ok(id)
            })
        })
        .await
    }

    pub async fn register_reviews(&self, facility: &Finess) -> Result<Vec<RiskReview>> {
        self.rows_of(
            "SELECT id, date, reviewer, note FROM risk_reviews WHERE facility = $1 ORDER BY date, at_us",
            facility.as_str(),
            |r| {
                let d: String = r.try_get("date")?;
                Ok(RiskReview {
                    id: r.try_get("id")?,
                    date: date(&d)?,
                    reviewer: r.try_get("reviewer")?,
                    note: r.try_get("note")?,
                })
            },
        )
        .await
    }
}

/// The start of an import that replaces a facility's whole register (the file is the full list):
/// the facility must exist, and its rows in `table` go.
async fn clear_register(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    table: &'static str,
) -> Result<()> {
    ensure_facility(tx, facility).await?;
    sqlx::query(&format!("DELETE FROM {table} WHERE facility = $1"))
        .bind(facility.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_review(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    on: Date,
    reviewer: &str,
    note: Option<&str>,
    actor: &Actor,
) -> Result<String> {
    let id = new_id();
    sqlx::query("INSERT INTO risk_reviews (id, facility, date, reviewer, note, at_us) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(facility.as_str())
        .bind(on.to_string())
        .bind(reviewer)
        .bind(note.map(str::to_owned))
        .bind(now_us())
        .execute(&mut **tx)
        .await?;
    let details = serde_json::json!({ "id": id, "date": on.to_string(), "reviewer": reviewer });
    append(tx, actor, "risk.review", facility.as_str(), &details).await?;
    Ok(id)
}
