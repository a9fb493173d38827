//! Evidence: files stored content-addressed by SHA-256 (in the database, so that every `hygie
//! serve` instance sees them), or links.

use crate::journal::{Actor, WriteTx, append};
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use hygie_core::{DeclaredStatus, EvidenceLink, Finess, MeasureId};
use sha2::{Digest, Sha256};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceKind {
    File {
        sha256: String,
        file_name: String,
        size: i64,
    },
    Link {
        url: String,
        /// What the link shows, when given.
        title: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceItem {
    pub seq: i64,
    pub measure: MeasureId,
    #[serde(flatten)]
    pub kind: EvidenceKind,
    pub added_at: jiff::Timestamp,
    pub added_by: String,
}

impl Store {
    /// Store a file as evidence for a measure; identical content is kept once. A name that
    /// could disguise itself (control or text-direction characters) is refused, whoever sends it.
    pub async fn add_evidence_file(
        &self,
        facility: &Finess,
        measure: &MeasureId,
        file_name: &str,
        content: &[u8],
        actor: &Actor,
    ) -> Result<EvidenceItem> {
        self.add_evidence_file_declaring(facility, measure, file_name, content, None, actor)
            .await
    }

    /// [`Self::add_evidence_file`] and, when `declare` is given, a declaration of the measure
    /// (status and note) in the same transaction: an upload that also marks the measure done
    /// is kept whole or not at all.
    pub async fn add_evidence_file_declaring(
        &self,
        facility: &Finess,
        measure: &MeasureId,
        file_name: &str,
        content: &[u8],
        declare: Option<(&DeclaredStatus, &str)>,
        actor: &Actor,
    ) -> Result<EvidenceItem> {
        hygie_core::check_file_name("file_name", file_name)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if let Some((status, note)) = declare {
            status
                .check_texts(None, Some(note))
                .map_err(|e| StoreError::Invalid(format!("{}: {}", e.field, e.message)))?;
        }
        let sha = hex::encode(Sha256::digest(content));
        let sha = &sha;
        let size = i64::try_from(content.len())
            .map_err(|_| StoreError::Corrupt("file too large".into()))?;
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                already_attached(tx, facility, measure, sha).await?;
                keep_blob(tx, sha, size, content).await?;
                let details =
                    serde_json::json!({ "file_name": file_name, "sha256": sha, "size": size });
                let kind = EvidenceKind::File {
                    sha256: sha.clone(),
                    file_name: file_name.to_owned(),
                    size,
                };
                let item = record_evidence(tx, facility, measure, kind, details, actor).await?;
                if let Some((status, note)) = declare {
                    let at = jiff::Timestamp::now();
                    crate::plan::facilities::insert_declaration(
                        tx,
                        facility,
                        measure,
                        status,
                        None,
                        Some(note),
                        actor,
                        at,
                    )
                    .await?;
                }
                Ok(item)
            })
        })
        .await
    }

    /// Record a link (to a document management system, a ticket...) as evidence, checked again
    /// here (`EvidenceLink::parse`) whichever front end sends it.
    pub async fn add_evidence_link(
        &self,
        facility: &Finess,
        measure: &MeasureId,
        link: &EvidenceLink,
        actor: &Actor,
    ) -> Result<EvidenceItem> {
        let link = EvidenceLink::parse(&link.url, link.title.as_deref().unwrap_or("")).map_err(
            |errors| {
                let parts: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message.en))
                    .collect();
                StoreError::Invalid(parts.join("; "))
            },
        )?;
        let link = &link;
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let details = serde_json::json!({ "url": link.url, "title": link.title });
                let kind = EvidenceKind::Link {
                    url: link.url.clone(),
                    title: link.title.clone(),
                };
                record_evidence(tx, facility, measure, kind, details, actor).await
            })
        })
        .await
    }

    /// Evidence of a facility, for one measure or all.
    pub async fn evidence(
        &self,
        facility: &Finess,
        measure: Option<&MeasureId>,
    ) -> Result<Vec<EvidenceItem>> {
        self.measure_rows_of(
            "SELECT seq, measure, kind, sha256, file_name, size, url, title, at_us, actor FROM evidence \
             WHERE facility = $1 AND ($2 = '' OR measure = $2) ORDER BY seq",
            facility,
            measure,
            |r| {
                let kind: String = r.try_get("kind")?;
                let kind = match kind.as_str() {
                    "file" => EvidenceKind::File {
                        sha256: r
                            .try_get::<Option<String>, _>("sha256")?
                            .unwrap_or_default(),
                        file_name: r
                            .try_get::<Option<String>, _>("file_name")?
                            .unwrap_or_default(),
                        size: r.try_get::<Option<i64>, _>("size")?.unwrap_or_default(),
                    },
                    "link" => EvidenceKind::Link {
                        url: r.try_get::<Option<String>, _>("url")?.unwrap_or_default(),
                        title: r.try_get::<Option<String>, _>("title")?,
                    },
                    other => return Err(StoreError::Corrupt(format!("evidence kind '{other}'"))),
                };
                let measure: String = r.try_get("measure")?;
                Ok(EvidenceItem {
                    seq: r.try_get("seq")?,
                    measure: MeasureId::parse(&measure)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    kind,
                    added_at: ts_from_us(r.try_get("at_us")?)?,
                    added_by: r.try_get("actor")?,
                })
            },
        )
        .await
    }

    /// The content of an evidence file, checked against its hash.
    pub async fn evidence_content(&self, sha256: &str) -> Result<Vec<u8>> {
        let content: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT content FROM evidence_blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        let content =
            content.ok_or_else(|| StoreError::NotFound(format!("evidence file {sha256}")))?;
        if hex::encode(Sha256::digest(&content)) != sha256 {
            return Err(StoreError::Corrupt(format!(
                "evidence file {sha256} does not match its hash"
            )));
        }
        Ok(content)
    }
}

/// Journal an evidence item (`evidence.add`, whose sequence number becomes its id) and store it.
async fn record_evidence(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    measure: &MeasureId,
    kind: EvidenceKind,
    details: serde_json::Value,
    actor: &Actor,
) -> Result<EvidenceItem> {
    let seq = append(
        tx,
        actor,
        "evidence.add",
        &format!("{facility}/{measure}"),
        &details,
    )
    .await?;
    let at = now_us();
    let (tag, sha256, file_name, size, url, title) = match &kind {
        EvidenceKind::File {
            sha256,
            file_name,
            size,
        } => (
            "file",
            Some(sha256.clone()),
            Some(file_name.clone()),
            Some(*size),
            None,
            None,
        ),
        EvidenceKind::Link { url, title } => {
            ("link", None, None, None, Some(url.clone()), title.clone())
        }
    };
    sqlx::query("INSERT INTO evidence (seq, facility, measure, kind, sha256, file_name, size, url, title, at_us, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(seq)
        .bind(facility.as_str())
        .bind(measure.as_str())
        .bind(tag)
        .bind(sha256)
        .bind(file_name)
        .bind(size)
        .bind(url)
        .bind(title)
        .bind(at)
        .bind(&actor.0)
        .execute(&mut **tx)
        .await?;
    Ok(EvidenceItem {
        seq,
        measure: measure.clone(),
        kind,
        added_at: ts_from_us(at)?,
        added_by: actor.0.clone(),
    })
}

/// Refuse a file whose content is already attached to `measure` at `facility`: listed twice it
/// would prove nothing more (`StoreError::AlreadyAttached` names the one kept).
async fn already_attached(
    tx: &mut WriteTx<'_>,
    facility: &Finess,
    measure: &MeasureId,
    sha: &str,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT file_name, at_us, actor FROM evidence \
         WHERE facility = $1 AND measure = $2 AND kind = 'file' AND sha256 = $3 ORDER BY seq LIMIT 1",
    )
    .bind(facility.as_str())
    .bind(measure.as_str())
    .bind(sha)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(()),
        Some(r) => Err(StoreError::AlreadyAttached(Box::new(crate::AttachedFile {
            measure: measure.to_string(),
            file_name: r
                .try_get::<Option<String>, _>("file_name")?
                .unwrap_or_default(),
            added_at: ts_from_us(r.try_get("at_us")?)?,
            added_by: r.try_get("actor")?,
        }))),
    }
}

/// Keep `content` under its SHA-256 in `evidence_blobs`, once (identical content is stored once,
/// whichever measure or incident refers to it).
pub(crate) async fn keep_blob(
    tx: &mut crate::journal::WriteTx<'_>,
    sha: &str,
    size: i64,
    content: &[u8],
) -> Result<()> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT sha256 FROM evidence_blobs WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(&mut **tx)
            .await?;
    if known.is_none() {
        sqlx::query("INSERT INTO evidence_blobs (sha256, size, content) VALUES ($1, $2, $3)")
            .bind(sha)
            .bind(size)
            .bind(content.to_vec())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
