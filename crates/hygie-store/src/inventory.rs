//! The asset register of each facility (issue 21): the merged assets with their sources and
//! software, and the history of imports and sightings.
//!
//! An import is one transaction: the register as merged in memory (`hygie_inventory::Register`)
//! replaces the stored one, the import and each sighting are appended, the journal gets one
//! `inventory.import` entry with the counts, and the check run evaluating the new register is
//! recorded beside it, so a crash keeps all of it or none. Rows are written in batches of
//! multi-row `INSERT`s (a facility's register holds millions of software rows). Migrations 1200.

use crate::batch::{Value, insert_into};
use crate::journal::{Actor, append};
use crate::plan::checks::insert_check_run;
use crate::rows::ensure_facility;
use crate::{Result, Store, StoreError, now_us, ts_from_us};
use hygie_core::{CheckRun, Finess};
use hygie_inventory::{
    Asset, Category, MatchKey, OperatingSystem, Port, Sighting, Software, SourceKind,
};
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

impl Store {
    /// Replace the facility's register with `assets`, append the import and its sightings, and
    /// record `run` (the evaluation of `assets`), in one journalled transaction. Returns the
    /// import's id.
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
        let mut asset_rows = Vec::with_capacity(assets.len());
        let mut source_rows = Vec::new();
        let mut software_rows = Vec::new();
        for a in assets {
            asset_rows.push(vec![
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
            ]);
            for (k, t) in &a.sources {
                source_rows.push(vec![
                    Value::Text(facility.as_str().to_owned()),
                    int(a.id),
                    Value::Text(k.as_str().to_owned()),
                    Value::I64(t.as_microsecond()),
                ]);
            }
            for (k, list) in &a.software {
                for (i, s) in list.iter().enumerate() {
                    software_rows.push(vec![
                        Value::Text(facility.as_str().to_owned()),
                        int(a.id),
                        Value::Text(k.as_str().to_owned()),
                        int(i as u64),
                        Value::Text(s.name.clone()),
                        Value::OptText(s.version.clone()),
                        Value::OptText(s.vendor.clone()),
                    ]);
                }
            }
        }
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
        let (asset_rows, source_rows, software_rows, sighting_rows, files) = (
            &asset_rows,
            &source_rows,
            &software_rows,
            &sighting_rows,
            &files,
        );
        let conflicts: usize = import.sightings.iter().map(|s| s.conflicts.len()).sum();
        self.write(|tx| {
            Box::pin(async move {
                ensure_facility(tx, facility).await?;
                for table in [
                    "inventory_software",
                    "inventory_asset_sources",
                    "inventory_assets",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE facility = $1"))
                        .bind(facility.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
                insert_into(tx, "inventory_assets", &[
                        "facility", "id", "hostname", "category", "os_name", "os_version",
                        "serial", "manufacturer", "model", "owner", "zone", "macs", "ips",
                        "ports", "described_by", "first_seen_us", "last_seen_us",
                    ], asset_rows, "")
                .await?;
                insert_into(tx, "inventory_asset_sources", &["facility", "asset_id", "source", "last_seen_us"], source_rows, "")
                .await?;
                insert_into(tx, "inventory_software", &["facility", "asset_id", "source", "seq", "name", "version", "vendor"], software_rows, "")
                .await?;
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
                    "observations": import.sightings.len(), "assets": asset_rows.len(),
                    "new_assets": import.new_assets, "software": software_rows.len(),
                    "conflicts": conflicts, "scanned": import.scanned,
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

    /// The facility's register, assets by id, with their sources and software.
    pub async fn inventory(&self, facility: &Finess) -> Result<Vec<Asset>> {
        let key = facility.as_str();
        let mut sources: HashMap<i64, BTreeMap<SourceKind, jiff::Timestamp>> = HashMap::new();
        for r in sqlx::query("SELECT asset_id, source, last_seen_us FROM inventory_asset_sources WHERE facility = $1")
            .bind(key)
            .fetch_all(&self.pool)
            .await?
        {
            let s: String = r.try_get("source")?;
            sources
                .entry(r.try_get("asset_id")?)
                .or_default()
                .insert(source(&s)?, ts_from_us(r.try_get("last_seen_us")?)?);
        }
        let mut software: HashMap<i64, BTreeMap<SourceKind, Vec<Software>>> = HashMap::new();
        for r in sqlx::query("SELECT asset_id, source, name, version, vendor FROM inventory_software WHERE facility = $1 ORDER BY asset_id, source, seq")
            .bind(key)
            .fetch_all(&self.pool)
            .await?
        {
            let s: String = r.try_get("source")?;
            software
                .entry(r.try_get("asset_id")?)
                .or_default()
                .entry(source(&s)?)
                .or_default()
                .push(Software {
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    vendor: r.try_get("vendor")?,
                });
        }
        self.rows_of(
            "SELECT id, hostname, category, os_name, os_version, serial, manufacturer, model, owner, zone, macs, ips, ports, described_by, first_seen_us, last_seen_us FROM inventory_assets WHERE facility = $1 ORDER BY id",
            key,
            |r| {
                let id: i64 = r.try_get("id")?;
                let category: String = r.try_get("category")?;
                let os_name: Option<String> = r.try_get("os_name")?;
                let described: String = r.try_get("described_by")?;
                let macs: String = r.try_get("macs")?;
                let ips: String = r.try_get("ips")?;
                let ports: String = r.try_get("ports")?;
                Ok(Asset {
                    id: u64::try_from(id).map_err(corrupt)?,
                    hostname: r.try_get("hostname")?,
                    category: Category::parse(&category)
                        .ok_or_else(|| corrupt(format!("asset category '{category}'")))?,
                    os: os_name.map(|name| -> Result<OperatingSystem> {
                        Ok(OperatingSystem {
                            name,
                            version: r.try_get("os_version")?,
                        })
                    }).transpose()?,
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
                    sources: sources.get(&id).cloned().unwrap_or_default(),
                    described_by: source(&described)?,
                    software: software.get(&id).cloned().unwrap_or_default(),
                })
            },
        )
        .await
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
