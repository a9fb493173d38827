//! The asset register of each facility (issue 21): the merged assets with their sources and
//! software, and the history of imports and sightings.
//!
//! An import is one transaction: the register as merged in memory (`hygie_inventory::Register`)
//! becomes the stored one, the import and each sighting are appended, the journal gets one
//! `inventory.import` entry with the counts (and what was written), and the check run evaluating
//! the new register is recorded beside it, so a crash keeps all of it or none.
//!
//! **Written by difference.** A facility's register holds millions of software rows, and an
//! agent's import changes one asset: each stored asset keeps two digests (its row with its
//! sources; its software lists: migration 2600), the import compares them with the new
//! register's and rewrites only the new or changed assets' rows, only the new or changed
//! software lists, and deletes the assets that are gone. Rows are made while they are written,
//! one multi-row `INSERT`'s worth at a time (`batch::Batch`), so memory does not grow with
//! the register. Figures: `benches/register.rs`, BENCHMARKS.md. Migrations 1200, 2600.

use crate::batch::{Batch, Value, insert_into};
use crate::journal::{Actor, append};
use crate::plan::checks::insert_check_run;
use crate::rows::ensure_facility;
use crate::{Backend, Result, Store, StoreError, now_us, ts_from_us};
use futures_util::TryStreamExt;
use hygie_core::{CheckRun, Finess};
use hygie_inventory::{
    Asset, Category, MatchKey, OperatingSystem, Port, Sighting, Software, SourceKind,
};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One import, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InventoryImport {
    pub id: String,
    pub source: SourceKind,
    pub files: Vec<String>,
    pub imported: jiff::Timestamp,
    pub observations: i64,
    pub new_assets: i64,
}

/// One stored sighting of an asset, with its import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SightingRecord {
    pub import_id: String,
    pub imported: jiff::Timestamp,
    #[serde(flatten)]
    pub sighting: Sighting,
}

/// What an import writes besides the register.
pub struct ImportRecord<'a> {
    pub source: SourceKind,
    pub files: &'a [String],
    pub sightings: &'a [Sighting],
    pub new_assets: usize,
    /// The ranges an nmap import was asked to scan (`nmap::Scan::targets`); empty otherwise.
    pub scanned: &'a [String],
}

fn corrupt(m: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(m.to_string())
}

fn source(s: &str) -> Result<SourceKind> {
    SourceKind::parse(s).ok_or_else(|| corrupt(format!("inventory source '{s}'")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(corrupt)
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(format!("{what}: {e}")))
}

fn int(v: u64) -> Value {
    Value::I64(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The columns of `inventory_assets` an import writes, in [`asset_row`]'s order.
const ASSET_COLUMNS: [&str; 20] = [
    "facility",
    "id",
    "hostname",
    "category",
    "os_name",
    "os_version",
    "serial",
    "manufacturer",
    "model",
    "owner",
    "zone",
    "macs",
    "ips",
    "ports",
    "described_by",
    "first_seen_us",
    "last_seen_us",
    "domain_controller",
    "digest",
    "software_digest",
];

/// What an import compares with the stored register: the digest of an asset's row with its
/// sources, and of its software lists (SHA-256 of every field, each length-prefixed so that no
/// two different assets share the bytes hashed).
struct Digests {
    row: String,
    software: String,
}

fn feed<S: AsRef<str>>(h: &mut Sha256, field: Option<S>) {
    match field {
        // A length that no text has, for "none".
        None => h.update(u64::MAX.to_le_bytes()),
        Some(t) => {
            let t = t.as_ref();
            h.update((t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        }
    }
}

/// The asset's row as written (without the digests) and the digests.
fn asset_values(facility: &Finess, a: &Asset) -> Result<(Vec<Value>, Digests)> {
    let mut row = vec![
        Value::Text(facility.as_str().to_owned()),
        int(a.id),
        Value::OptText(a.hostname.clone()),
        Value::Text(a.category.as_str().to_owned()),
        Value::OptText(a.os.as_ref().map(|o| o.name.clone())),
        Value::OptText(a.os.as_ref().and_then(|o| o.version.clone())),
        Value::OptText(a.serial.clone()),
        Value::OptText(a.manufacturer.clone()),
        Value::OptText(a.model.clone()),
        Value::OptText(a.owner.clone()),
        Value::OptText(a.zone.clone()),
        Value::Text(json(&a.macs)?),
        Value::Text(json(&a.ips)?),
        Value::Text(json(&a.ports)?),
        Value::Text(a.described_by.as_str().to_owned()),
        Value::I64(a.first_seen.as_microsecond()),
        Value::I64(a.last_seen.as_microsecond()),
        Value::I64(i64::from(a.domain_controller)),
    ];
    let mut h = Sha256::new();
    for v in &row {
        match v {
            Value::Text(t) => feed(&mut h, Some(t)),
            Value::OptText(t) => feed(&mut h, t.as_deref()),
            Value::I64(n) => feed(&mut h, Some(&n.to_string())),
            Value::OptI64(n) => feed(&mut h, n.map(|n| n.to_string()).as_deref()),
        }
    }
    for (k, t) in &a.sources {
        feed(&mut h, Some(k.as_str()));
        feed(&mut h, Some(&t.as_microsecond().to_string()));
    }
    let row_digest = hex::encode(h.finalize());
    let mut h = Sha256::new();
    for (k, list) in &a.software {
        feed(&mut h, Some(k.as_str()));
        h.update((list.len() as u64).to_le_bytes());
        for s in list {
            feed(&mut h, Some(&s.name));
            feed(&mut h, s.version.as_deref());
            feed(&mut h, s.vendor.as_deref());
        }
    }
    let digests = Digests {
        row: row_digest,
        software: hex::encode(h.finalize()),
    };
    row.push(Value::Text(digests.row.clone()));
    row.push(Value::Text(digests.software.clone()));
    Ok((row, digests))
}

/// `DELETE FROM table WHERE facility = $1 AND column IN (ids)`, in statements of at most
/// [`DELETE_IDS`] ids.
async fn delete_ids(
    tx: &mut crate::journal::WriteTx<'_>,
    table: &str,
    column: &str,
    facility: &Finess,
    ids: &[i64],
) -> Result<()> {
    for chunk in ids.chunks(DELETE_IDS) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "DELETE FROM {table} WHERE facility = $1 AND {column} IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(facility.as_str());
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Ids per `DELETE … IN (…)`: under SQLite's cheap-binding range (see `batch`).
const DELETE_IDS: usize = 100;

/// What an import changes in the stored register.
#[derive(Default)]
struct Changes {
    /// Assets whose row (or sources) is written: new or changed (indexes into the import's list).
    rows: Vec<usize>,
    /// Assets whose software is written: new or changed.
    software: Vec<usize>,
    /// Stored rows to delete first: the changed and the gone assets' ids.
    delete_rows: Vec<i64>,
    delete_software: Vec<i64>,
}

impl Store {
    /// Make the facility's register `assets`, append the import and its sightings, and record
    /// `run` (the evaluation of `assets`), in one journalled transaction. Returns the import's id.
    ///
    /// Only what changed is written: each asset's digests are compared with the stored ones, and
    /// only new or changed assets' rows, and only new or changed software lists, are rewritten
    /// (an agent's import touches one asset of thousands); assets no longer in `assets` are
    /// deleted. Rows are made as they are written, one statement's worth at a time
    /// (`batch::Batch`), never all at once.
    pub async fn import_inventory(
        &self,
        facility: &Finess,
        assets: &[Asset],
        import: &ImportRecord<'_>,
        run: Option<(&CheckRun, &serde_json::Value)>,
        actor: &Actor,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let id = &id;
        let digests: Vec<Digests> = assets
            .iter()
            .map(|a| asset_values(facility, a).map(|(_, d)| d))
            .collect::<Result<_>>()?;
        let mut sighting_rows = Vec::with_capacity(import.sightings.len());
        for (i, s) in import.sightings.iter().enumerate() {
            sighting_rows.push(vec![
                Value::Text(id.clone()),
                int(i as u64),
                Value::Text(facility.as_str().to_owned()),
                int(s.asset),
                Value::Text(s.source.as_str().to_owned()),
                Value::Text(s.origin.clone()),
                Value::I64(s.seen.as_microsecond()),
                Value::Text(s.matched_by.as_str().to_owned()),
                Value::Text(json(&s.conflicts)?),
            ]);
        }
        let files = json(&import.files)?;
        let (digests, sighting_rows, files) = (&digests, &sighting_rows, &files);
        let conflicts: usize = import.sightings.iter().map(|s| s.conflicts.len()).sum();
        let software_total: usize = assets
            .iter()
            .map(|a| a.software.values().map(Vec::len).sum::<usize>())
            .sum();
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                let mut stored: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
                {
                    let mut rows = sqlx::query(
                        "SELECT id, digest, software_digest FROM inventory_assets WHERE facility = $1",
                    )
                    .bind(facility.as_str())
                    .fetch(&mut **tx);
                    while let Some(r) = rows.try_next().await? {
                        stored.insert(
                            r.try_get("id")?,
                            (r.try_get("digest")?, r.try_get("software_digest")?),
                        );
                    }
                }
                let mut c = Changes::default();
                for (i, (a, d)) in assets.iter().zip(digests).enumerate() {
                    let key = i64::try_from(a.id).map_err(corrupt)?;
                    match stored.remove(&key) {
                        None => {
                            c.rows.push(i);
                            c.software.push(i);
                        }
                        Some((row, software)) => {
                            if row.as_deref() != Some(d.row.as_str()) {
                                c.rows.push(i);
                                c.delete_rows.push(key);
                            }
                            if software.as_deref() != Some(d.software.as_str()) {
                                c.software.push(i);
                                c.delete_software.push(key);
                            }
                        }
                    }
                }
                // What is left was not in the import: gone from the register.
                let gone: Vec<i64> = stored.into_keys().collect();
                c.delete_rows.extend(&gone);
                c.delete_software.extend(&gone);
                delete_ids(tx, "inventory_software", "asset_id", facility, &c.delete_software)
                    .await?;
                delete_ids(tx, "inventory_asset_sources", "asset_id", facility, &c.delete_rows)
                    .await?;
                delete_ids(tx, "inventory_assets", "id", facility, &c.delete_rows).await?;
                let mut rows = Batch::new(tx, "inventory_assets", &ASSET_COLUMNS);
                for &i in &c.rows {
                    rows.push(tx, asset_values(facility, &assets[i])?.0).await?;
                }
                rows.finish(tx).await?;
                let mut rows = Batch::new(
                    tx,
                    "inventory_asset_sources",
                    &["facility", "asset_id", "source", "last_seen_us"],
                );
                for &i in &c.rows {
                    let a = &assets[i];
                    for (k, t) in &a.sources {
                        let row = vec![
                            Value::Text(facility.as_str().to_owned()),
                            int(a.id),
                            Value::Text(k.as_str().to_owned()),
                            Value::I64(t.as_microsecond()),
                        ];
                        rows.push(tx, row).await?;
                    }
                }
                rows.finish(tx).await?;
                let mut software_written = 0usize;
                let mut rows = Batch::new(
                    tx,
                    "inventory_software",
                    &["facility", "asset_id", "source", "seq", "name", "version", "vendor"],
                );
                for &i in &c.software {
                    let a = &assets[i];
                    for (k, list) in &a.software {
                        for (n, s) in list.iter().enumerate() {
                            let row = vec![
                                Value::Text(facility.as_str().to_owned()),
                                int(a.id),
                                Value::Text(k.as_str().to_owned()),
                                int(n as u64),
                                Value::Text(s.name.clone()),
                                Value::OptText(s.version.clone()),
                                Value::OptText(s.vendor.clone()),
                            ];
                            rows.push(tx, row).await?;
                            software_written += 1;
                        }
                    }
                }
                rows.finish(tx).await?;
                sqlx::query("INSERT INTO inventory_imports (id, facility, source, files, imported_us, observations, new_assets) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id.as_str())
                    .bind(facility.as_str())
                    .bind(import.source.as_str())
                    .bind(files.as_str())
                    .bind(now_us())
                    .bind(i64::try_from(import.sightings.len()).unwrap_or(i64::MAX))
                    .bind(i64::try_from(import.new_assets).unwrap_or(i64::MAX))
                    .execute(&mut **tx)
                    .await?;
                insert_into(tx, "inventory_sightings", &[
                        "import_id", "seq", "facility", "asset_id", "source", "origin",
                        "seen_us", "matched_by", "conflicts",
                    ], sighting_rows, "")
                .await?;
                for (i, cidr) in import.scanned.iter().enumerate() {
                    sqlx::query("INSERT INTO inventory_scan_ranges (import_id, seq, facility, cidr) VALUES ($1, $2, $3, $4)")
                        .bind(id.as_str())
                        .bind(i64::try_from(i).unwrap_or(i64::MAX))
                        .bind(facility.as_str())
                        .bind(cidr.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
                let details = serde_json::json!({
                    "import": id, "source": import.source.as_str(), "files": import.files,
                    "observations": import.sightings.len(), "assets": assets.len(),
                    "new_assets": import.new_assets, "software": software_total,
                    "conflicts": conflicts, "scanned": import.scanned,
                    "written": {
                        "assets": c.rows.len(), "software_of": c.software.len(),
                        "software": software_written, "removed": gone.len(),
                    },
                });
                append(tx, actor, "inventory.import", facility.as_str(), &details).await?;
                if let Some((run, summary)) = run {
                    insert_check_run(tx, facility, run, summary, actor).await?;
                }
                Ok(id.clone())
            })
        })
        .await
    }

    /// The facility's register, assets by id, with their sources and software. Rows are read
    /// as a stream and each asset takes its lists (nothing is held twice: a register of
    /// millions of software rows is read in about its own size).
    pub async fn inventory(&self, facility: &Finess) -> Result<Vec<Asset>> {
        let key = facility.as_str();
        let mut sources: HashMap<i64, BTreeMap<SourceKind, jiff::Timestamp>> = HashMap::new();
        {
            let mut rows = sqlx::query("SELECT asset_id, source, last_seen_us FROM inventory_asset_sources WHERE facility = $1")
                .bind(key)
                .fetch(&self.pool);
            while let Some(r) = rows.try_next().await? {
                let s: String = r.try_get("source")?;
                sources
                    .entry(r.try_get("asset_id")?)
                    .or_default()
                    .insert(source(&s)?, ts_from_us(r.try_get("last_seen_us")?)?);
            }
        }
        // One row per asset and source, its list as a JSON array in order: a register's
        // millions of software rows cost one row's hand-over each from the driver (the
        // connection's thread, the `Any` row), most of a read-back's time; aggregated in the
        // database they are a hundred times fewer. (The one backend-specific read here.)
        let lists = match self.backend {
            Backend::Sqlite => {
                "SELECT asset_id, source, json_group_array(json_array(name, version, vendor) ORDER BY seq) AS list FROM inventory_software WHERE facility = $1 GROUP BY asset_id, source"
            }
            Backend::Postgres => {
                "SELECT asset_id, source, json_agg(json_build_array(name, version, vendor) ORDER BY seq)::text AS list FROM inventory_software WHERE facility = $1 GROUP BY asset_id, source"
            }
        };
        let mut software: HashMap<i64, BTreeMap<SourceKind, Vec<Software>>> = HashMap::new();
        {
            let mut rows = sqlx::query(lists).bind(key).fetch(&self.pool);
            while let Some(r) = rows.try_next().await? {
                let s: String = r.try_get("source")?;
                let list: String = r.try_get("list")?;
                let list = from_json::<Vec<(String, Option<String>, Option<String>)>>(
                    "inventory_software",
                    &list,
                )?;
                software.entry(r.try_get("asset_id")?).or_default().insert(
                    source(&s)?,
                    list.into_iter()
                        .map(|(name, version, vendor)| Software {
                            name,
                            version,
                            vendor,
                        })
                        .collect(),
                );
            }
        }
        let mut out = Vec::new();
        let mut rows = sqlx::query("SELECT id, hostname, category, os_name, os_version, serial, manufacturer, model, owner, zone, macs, ips, ports, described_by, first_seen_us, last_seen_us, domain_controller FROM inventory_assets WHERE facility = $1 ORDER BY id")
            .bind(key)
            .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            let id: i64 = r.try_get("id")?;
            let category: String = r.try_get("category")?;
            let os_name: Option<String> = r.try_get("os_name")?;
            let described: String = r.try_get("described_by")?;
            let macs: String = r.try_get("macs")?;
            let ips: String = r.try_get("ips")?;
            let ports: String = r.try_get("ports")?;
            let dc: i64 = r.try_get("domain_controller")?;
            out.push(Asset {
                id: u64::try_from(id).map_err(corrupt)?,
                hostname: r.try_get("hostname")?,
                category: Category::parse(&category)
                    .ok_or_else(|| corrupt(format!("asset category '{category}'")))?,
                os: os_name
                    .map(|name| -> Result<OperatingSystem> {
                        Ok(OperatingSystem {
                            name,
                            version: r.try_get("os_version")?,
                        })
                    })
                    .transpose()?,
                serial: r.try_get("serial")?,
                manufacturer: r.try_get("manufacturer")?,
                model: r.try_get("model")?,
                owner: r.try_get("owner")?,
                zone: r.try_get("zone")?,
                macs: from_json::<BTreeSet<String>>("macs", &macs)?,
                ips: from_json::<BTreeSet<String>>("ips", &ips)?,
                ports: from_json::<BTreeSet<Port>>("ports", &ports)?,
                first_seen: ts_from_us(r.try_get("first_seen_us")?)?,
                last_seen: ts_from_us(r.try_get("last_seen_us")?)?,
                sources: sources.remove(&id).unwrap_or_default(),
                described_by: source(&described)?,
                software: software.remove(&id).unwrap_or_default(),
                domain_controller: dc != 0,
            });
        }
        Ok(out)
    }

    /// Every sighting of one asset, oldest first, with its import.
    pub async fn inventory_sightings(
        &self,
        facility: &Finess,
        asset: u64,
    ) -> Result<Vec<SightingRecord>> {
        let rows = sqlx::query("SELECT s.import_id, i.imported_us, s.asset_id, s.source, s.origin, s.seen_us, s.matched_by, s.conflicts FROM inventory_sightings s JOIN inventory_imports i ON i.id = s.import_id WHERE s.facility = $1 AND s.asset_id = $2 ORDER BY s.seen_us, i.imported_us, s.seq")
            .bind(facility.as_str())
            .bind(i64::try_from(asset).map_err(corrupt)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("source")?;
                let m: String = r.try_get("matched_by")?;
                let c: String = r.try_get("conflicts")?;
                let a: i64 = r.try_get("asset_id")?;
                Ok(SightingRecord {
                    import_id: r.try_get("import_id")?,
                    imported: ts_from_us(r.try_get("imported_us")?)?,
                    sighting: Sighting {
                        asset: u64::try_from(a).map_err(corrupt)?,
                        source: source(&s)?,
                        origin: r.try_get("origin")?,
                        seen: ts_from_us(r.try_get("seen_us")?)?,
                        matched_by: MatchKey::parse(&m)
                            .ok_or_else(|| corrupt(format!("match key '{m}'")))?,
                        conflicts: from_json("conflicts", &c)?,
                    },
                })
            })
            .collect()
    }

    /// The facility's imports, oldest first.
    pub async fn inventory_imports(&self, facility: &Finess) -> Result<Vec<InventoryImport>> {
        self.rows_of(
            "SELECT id, source, files, imported_us, observations, new_assets FROM inventory_imports WHERE facility = $1 ORDER BY imported_us, id",
            facility.as_str(),
            |r| {
                let s: String = r.try_get("source")?;
                let f: String = r.try_get("files")?;
                Ok(InventoryImport {
                    id: r.try_get("id")?,
                    source: source(&s)?,
                    files: from_json("files", &f)?,
                    imported: ts_from_us(r.try_get("imported_us")?)?,
                    observations: r.try_get("observations")?,
                    new_assets: r.try_get("new_assets")?,
                })
            },
        )
        .await
    }
}
