//! The vulnerability feeds of this instance (issue 21): each import of a CISA KEV catalogue, of
//! NVD CVE API 2.0 files or of CERT-FR advisories (`vuln_feeds`, with the feed's own version and
//! date), and the compact records matching reads (`vuln_records`; CERT-FR's in
//! `vuln_advisories`, one per advisory). A KEV import replaces the catalogue (it is published
//! whole); an NVD import adds or updates its CVEs, so yearly files and API pages add up; a
//! CERT-FR import adds or replaces its advisories (the latest import of a revised advisory
//! wins). One journalled transaction per import (`vuln.import`), so a failed import stores
//! nothing. Records are written in multi-row batches and read back as a stream. Migrations
//! 1700, 2600.

use crate::batch::{Value, insert_into};
use crate::journal::{Actor, append};
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use futures_util::TryStreamExt;
use hygie_vuln::{Advisory, CveRecord, FeedKind, KevEntry};
use sqlx::Row;
use std::collections::HashMap;

/// One import of a feed, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VulnFeed {
    pub id: String,
    pub kind: FeedKind,
    /// KEV's catalogVersion, NVD's format version, CERT-FR's `json`.
    pub version: String,
    /// The feed's own date (KEV's dateReleased, NVD's timestamp, CERT-FR's latest revision; the
    /// latest of the files).
    pub released: Option<String>,
    pub files: Vec<String>,
    pub records: i64,
    pub imported: jiff::Timestamp,
}

/// The records of one import.
pub enum FeedRecords<'a> {
    Kev(&'a [KevEntry]),
    Nvd(&'a [CveRecord]),
    CertFr(&'a [Advisory]),
}

fn corrupt(m: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(m.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(corrupt)
}

impl Store {
    /// Store one import of a feed with its records, journalled. Returns the import's id.
    pub async fn import_vuln_feed(
        &self,
        kind: FeedKind,
        version: &str,
        released: Option<&str>,
        files: &[String],
        records: FeedRecords<'_>,
        actor: &Actor,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let table = match records {
            FeedRecords::CertFr(_) => "vuln_advisories",
            _ => "vuln_records",
        };
        match records {
            FeedRecords::Kev(list) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for k in list {
                    let row = vec![
                        Value::Text(kind.as_str().to_owned()),
                        Value::Text(k.cve.clone()),
                        Value::Text(json(k)?),
                        Value::Text(id.clone()),
                    ];
                    match seen.get(k.cve.as_str()) {
                        Some(&i) => rows[i] = row,
                        None => {
                            seen.insert(&k.cve, rows.len());
                            rows.push(row);
                        }
                    }
                }
            }
            FeedRecords::Nvd(list) => {
                // The same CVE in two files (overlapping API pages): the latest modified wins.
                let mut latest: HashMap<&str, &CveRecord> = HashMap::new();
                for c in list {
                    let e = latest.entry(&c.id).or_insert(c);
                    if c.last_modified >= e.last_modified {
                        *e = c;
                    }
                }
                let mut ids: Vec<&&str> = latest.keys().collect();
                ids.sort();
                for cve in ids {
                    let c = latest[*cve];
                    rows.push(vec![
                        Value::Text(kind.as_str().to_owned()),
                        Value::Text(c.id.clone()),
                        Value::Text(json(c)?),
                        Value::Text(id.clone()),
                    ]);
                }
            }
            FeedRecords::CertFr(list) => {
                // The same advisory twice (two downloads of a revised one): the latest revision.
                let mut latest: HashMap<&str, &Advisory> = HashMap::new();
                for a in list {
                    let e = latest.entry(&a.reference).or_insert(a);
                    if a.last_revision >= e.last_revision {
                        *e = a;
                    }
                }
                let mut refs: Vec<&&str> = latest.keys().collect();
                refs.sort();
                for r in refs {
                    let a = latest[*r];
                    rows.push(vec![
                        Value::Text(a.reference.clone()),
                        Value::Text(a.kind.as_str().to_owned()),
                        Value::Text(a.title.clone()),
                        Value::OptText(a.last_revision.clone()),
                        Value::Text(json(a)?),
                        Value::Text(id.clone()),
                    ]);
                }
            }
        }
        let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let files_json = json(&files)?;
        let (id, rows, files_json) = (&id, &rows, &files_json);
        self.write(|tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO vuln_feeds (id, kind, version, released, files, records, imported_us) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id.as_str())
                    .bind(kind.as_str())
                    .bind(version)
                    .bind(released.map(str::to_owned))
                    .bind(files_json.as_str())
                    .bind(count)
                    .bind(now_us())
                    .execute(&mut **tx)
                    .await?;
                if kind == FeedKind::Kev {
                    sqlx::query("DELETE FROM vuln_records WHERE kind = $1")
                        .bind(kind.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
                if table == "vuln_advisories" {
                    insert_into(
                        tx,
                        table,
                        &["reference", "kind", "title", "last_revision", "record", "feed_id"],
                        rows,
                        "ON CONFLICT (reference) DO UPDATE SET kind = excluded.kind, title = excluded.title, last_revision = excluded.last_revision, record = excluded.record, feed_id = excluded.feed_id",
                    )
                    .await?;
                } else {
                    insert_into(
                        tx,
                        table,
                        &["kind", "cve", "record", "feed_id"],
                        rows,
                        "ON CONFLICT (kind, cve) DO UPDATE SET record = excluded.record, feed_id = excluded.feed_id",
                    )
                    .await?;
                }
                let details = serde_json::json!({
                    "import": id, "feed": kind.as_str(), "version": version,
                    "released": released, "files": files, "records": count,
                });
                append(tx, actor, "vuln.import", &format!("vuln/{}", kind.as_str()), &details)
                    .await?;
                Ok(id.clone())
            })
        })
        .await
    }

    /// Every feed import, oldest first.
    pub async fn vuln_feeds(&self) -> Result<Vec<VulnFeed>> {
        let rows = sqlx::query("SELECT id, kind, version, released, files, records, imported_us FROM vuln_feeds ORDER BY imported_us, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let k: String = r.try_get("kind")?;
                let f: String = r.try_get("files")?;
                Ok(VulnFeed {
                    id: r.try_get("id")?,
                    kind: FeedKind::parse(&k).ok_or_else(|| corrupt(format!("feed kind '{k}'")))?,
                    version: r.try_get("version")?,
                    released: r.try_get("released")?,
                    files: serde_json::from_str(&f).map_err(corrupt)?,
                    records: r.try_get("records")?,
                    imported: ts_from_us(r.try_get("imported_us")?)?,
                })
            })
            .collect()
    }

    async fn vuln_records<T: serde::de::DeserializeOwned>(&self, kind: FeedKind) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each_vuln_record(kind, |r| out.push(r)).await?;
        Ok(out)
    }

    /// Each stored record of a feed, parsed and handed over as it is read (none held here).
    async fn each_vuln_record<T: serde::de::DeserializeOwned>(
        &self,
        kind: FeedKind,
        mut f: impl FnMut(T),
    ) -> Result<usize> {
        let mut n = 0;
        let mut rows = sqlx::query("SELECT cve, record FROM vuln_records WHERE kind = $1")
            .bind(kind.as_str())
            .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            let record: String = r.try_get("record")?;
            f(serde_json::from_str(&record).map_err(|e| {
                let cve: String = r.try_get("cve").unwrap_or_default();
                corrupt(format!("vulnerability record {cve}: {e}"))
            })?);
            n += 1;
        }
        Ok(n)
    }

    /// Each stored NVD record, as it is read: for an index made without holding the feed
    /// ([`hygie_vuln::IndexBuilder`]). Returns how many.
    pub async fn each_vuln_nvd(&self, f: impl FnMut(CveRecord)) -> Result<usize> {
        self.each_vuln_record(FeedKind::Nvd, f).await
    }

    /// The KEV catalogue stored.
    pub async fn vuln_kev(&self) -> Result<Vec<KevEntry>> {
        self.vuln_records(FeedKind::Kev).await
    }

    /// The NVD records stored.
    pub async fn vuln_nvd(&self) -> Result<Vec<CveRecord>> {
        self.vuln_records(FeedKind::Nvd).await
    }

    /// The CERT-FR advisories stored, by reference.
    pub async fn vuln_certfr(&self) -> Result<Vec<Advisory>> {
        let mut out = Vec::new();
        let mut rows =
            sqlx::query("SELECT reference, record FROM vuln_advisories ORDER BY reference")
                .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            let record: String = r.try_get("record")?;
            out.push(serde_json::from_str(&record).map_err(|e| {
                let reference: String = r.try_get("reference").unwrap_or_default();
                corrupt(format!("CERT-FR advisory {reference}: {e}"))
            })?);
        }
        Ok(out)
    }
}
