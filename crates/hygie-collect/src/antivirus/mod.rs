//! Antivirus / EDR: the inventory (CSV or AD snapshot) reconciled with an AV/EDR export.
//!
//! AV CSV columns: `host`, `product`, `engine_version`, `signature_version`, `signature_date`,
//! `realtime` (yes/no). ClamAV hosts: `--clamav HOST=FILE` where FILE is the output of
//! `sigtool --info daily.cvd` (or the `.cvd`/`.cld` database itself, whose header holds the date).

use crate::input::{Table, host_key, hours_since};
use crate::inventory::{self, Asset};
use crate::{CollectError, Collector, Evaluation, Files, Registration, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The source of its rules and check runs, and the collector's name.
const SOURCE: &str = "antivirus";

pub static COVERAGE: RuleDef = RuleDef::new(
    "AV-COVERAGE",
    SOURCE,
    Severity::High,
    Text::new(
        "Hosts of the inventory without antivirus or EDR",
        "Postes de l'inventaire sans antivirus ni EDR",
    ),
    &["END-01"],
);
pub static SIGNATURES: RuleDef = RuleDef::new(
    "AV-SIGNATURES",
    SOURCE,
    Severity::High,
    Text::new(
        "Antivirus signatures older than 24 hours (PGSSI-S: updated at least daily)",
        "Signatures antivirales de plus de 24 heures (PGSSI-S : mise à jour au moins quotidienne)",
    ),
    &["END-01"],
);
pub static REALTIME: RuleDef = RuleDef::new(
    "AV-REALTIME",
    SOURCE,
    Severity::High,
    Text::new(
        "Real-time protection turned off",
        "Protection en temps réel désactivée",
    ),
    &["END-01"],
);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Antivirus/EDR: coverage of the inventory, signature age, real-time protection",
        fr: "Antivirus/EDR : couverture de l'inventaire, âge des signatures, protection temps réel",
    },
    rules: &[&COVERAGE, &SIGNATURES, &REALTIME],
};

#[derive(Debug, Clone, Default)]
pub struct AvInputs {
    pub inventory: PathBuf,
    pub av_csv: Vec<PathBuf>,
    /// (host, `sigtool --info` output or CVD file)
    pub clamav: Vec<(String, PathBuf)>,
    pub max_signature_age_hours: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvRecord {
    pub host: String,
    pub product: String,
    pub engine_version: Option<String>,
    pub signature_version: Option<String>,
    pub signature_date: Option<jiff::Timestamp>,
    pub realtime: Option<bool>,
    pub origin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvEvidence {
    pub assets: Vec<Asset>,
    pub records: Vec<AvRecord>,
    pub max_signature_age_hours: u32,
}

pub fn parse_av_csv(t: &Table) -> Result<Vec<AvRecord>> {
    const HOST: &[&str] = &["host", "hostname", "computer", "device", "asset"];
    t.require(HOST)?;
    let mut out = Vec::new();
    for row in &t.rows {
        out.push(AvRecord {
            host: t.req(row, HOST)?.to_owned(),
            product: t
                .get(row, &["product", "av", "edr"])
                .unwrap_or("")
                .to_owned(),
            engine_version: t.get(row, &["engine_version", "engine"]).map(str::to_owned),
            signature_version: t
                .get(row, &["signature_version", "signatures", "definitions"])
                .map(str::to_owned),
            signature_date: t.ts(row, &["signature_date", "definitions_date", "last_update"])?,
            realtime: t.bool(
                row,
                &["realtime", "real_time", "real_time_protection", "rtp"],
            )?,
            origin: format!("{}:{}", t.path.display(), row.line),
        });
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A ClamAV date: `21 Nov 2026 08:23 -0500` (sigtool) or `21 Nov 2026 08-23 -0500` (CVD header).
fn clam_date(s: &str) -> Option<jiff::Timestamp> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [d, m, y, hm, off] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS
        .iter()
        .position(|x| m.to_ascii_lowercase().starts_with(x))?
        + 1;
    let (h, mi) = hm.split_once([':', '-'])?;
    // ±HHMM: anything else (a huge number, 60 minutes) is not a date; checked before the
    // arithmetic, which would overflow on a ten-digit "offset".
    let off: i32 = off.parse().ok()?;
    if off.unsigned_abs() > 2359 || off.unsigned_abs() % 100 >= 60 {
        return None;
    }
    let offset = jiff::tz::Offset::from_seconds((off / 100) * 3600 + (off % 100) * 60).ok()?;
    let dt = jiff::civil::DateTime::new(
        y.parse().ok()?,
        i8::try_from(month).ok()?,
        d.parse().ok()?,
        h.parse().ok()?,
        mi.parse().ok()?,
        0,
        0,
    )
    .ok()?;
    offset.to_timestamp(dt).ok()
}

/// The database date and version from `sigtool --info` output or a CVD/CLD file's 512-byte header.
pub fn parse_clamav(path: &Path, bytes: &[u8]) -> Result<(jiff::Timestamp, Option<String>)> {
    if bytes.starts_with(b"ClamAV-VDB:") {
        let header = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
        let f: Vec<&str> = header.split(':').collect();
        let date = f
            .get(1)
            .and_then(|d| clam_date(d))
            .ok_or_else(|| CollectError::at(path, Some(1), "CVD header without a build date"))?;
        return Ok((date, f.get(2).map(|v| (*v).to_owned())));
    }
    let text = String::from_utf8_lossy(bytes);
    let mut date = None;
    let mut version = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(v) = line.strip_prefix("Build time:") {
            date = Some(clam_date(v.trim()).ok_or_else(|| {
                CollectError::at(
                    path,
                    Some(i as u64 + 1),
                    format!("'{}' is not a ClamAV date", v.trim()),
                )
            })?);
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim().to_owned());
        }
    }
    date.map(|d| (d, version)).ok_or_else(|| {
        CollectError::at(
            path,
            None,
            "no 'Build time:' line: not `sigtool --info` output nor a CVD file",
        )
    })
}

pub struct Antivirus;

impl Collector for Antivirus {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = AvInputs;
    type Evidence = AvEvidence;

    fn parse(&self, i: &AvInputs, files: &dyn Files) -> Result<AvEvidence> {
        let assets = inventory::read(files, &i.inventory)?;
        let mut records = Vec::new();
        for p in &i.av_csv {
            records.extend(parse_av_csv(&Table::read(files, p)?)?);
        }
        for (host, p) in &i.clamav {
            let bytes = files.read_bytes(p)?;
            let (date, version) = parse_clamav(p, &bytes)?;
            records.push(AvRecord {
                host: host.clone(),
                product: "ClamAV".into(),
                engine_version: None,
                signature_version: version,
                signature_date: Some(date),
                realtime: None,
                origin: p.display().to_string(),
            });
        }
        Ok(AvEvidence {
            assets,
            records,
            max_signature_age_hours: i.max_signature_age_hours,
        })
    }

    fn evaluate(&self, e: &AvEvidence, now: jiff::Timestamp) -> Evaluation {
        let mut by_host: BTreeMap<String, Vec<&AvRecord>> = BTreeMap::new();
        for r in &e.records {
            by_host.entry(host_key(&r.host)).or_default().push(r);
        }
        let uncovered: Vec<String> = e
            .assets
            .iter()
            .filter(|a| !by_host.contains_key(&a.key()))
            .map(|a| a.name.clone())
            .collect();
        let covered = e.assets.len() - uncovered.len();
        let limit = i64::from(e.max_signature_age_hours);
        let mut stale = Vec::new();
        let mut rt_off = Vec::new();
        for a in &e.assets {
            let Some(recs) = by_host.get(&a.key()) else {
                continue;
            };
            // The freshest signature date among the host's products counts.
            match recs.iter().filter_map(|r| r.signature_date).max() {
                None => stale.push(format!("{}: no signature date", a.name)),
                Some(t) if hours_since(now, t) > limit => stale.push(format!(
                    "{}: signatures of {} ({} h old)",
                    a.name,
                    t.strftime("%Y-%m-%d %H:%M UTC"),
                    hours_since(now, t)
                )),
                Some(_) => {}
            }
            if recs.iter().any(|r| r.realtime == Some(false))
                && !recs.iter().any(|r| r.realtime == Some(true))
            {
                rt_off.push(format!(
                    "{}: real-time protection off ({})",
                    a.name, recs[0].product
                ));
            }
        }
        let ratio = if e.assets.is_empty() {
            1.0
        } else {
            covered as f64 / e.assets.len() as f64
        };
        Evaluation {
            findings: vec![
                COVERAGE.finding(uncovered),
                SIGNATURES.finding(stale),
                REALTIME.finding(rt_off),
            ],
            not_evaluated: vec![],
            summary: serde_json::json!({
                "hosts": e.assets.len(),
                "covered": covered,
                "coverage": (ratio * 1000.0).round() / 10.0,
                "max_signature_age_hours": e.max_signature_age_hours,
                "av_hosts_not_in_inventory": by_host.keys().filter(|k| !e.assets.iter().any(|a| &a.key() == *k)).collect::<Vec<_>>(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamav_dates_from_sigtool_and_cvd_header() {
        let p = Path::new("daily.info");
        let out = "File: daily.cvd\nBuild time: 21 Nov 2026 08:23 -0500\nVersion: 27465\nSignatures: 2071316\n";
        let (d, v) = parse_clamav(p, out.as_bytes()).unwrap();
        assert_eq!(
            d,
            "2026-11-21T13:23:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert_eq!(v.as_deref(), Some("27465"));
        let mut cvd =
            b"ClamAV-VDB:21 Nov 2026 08-23 -0500:27465:2071316:90:x:y:builder:1763731380".to_vec();
        cvd.resize(512, b' ');
        assert_eq!(parse_clamav(p, &cvd).unwrap().0, d);
        let e = parse_clamav(p, b"File: x\nBuild time: yesterday\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("daily.info:2:"), "{e}");
    }

    /// Found by the fuzzer (collect_antivirus): an offset of ten digits overflowed the
    /// conversion to seconds and panicked.
    #[test]
    fn an_out_of_range_offset_is_not_a_date() {
        let p = Path::new("daily.info");
        for off in ["+2147483647", "-2147483648", "999999999", "+0160", "2400"] {
            let out = format!("Build time: 21 Nov 2026 08:23 {off}\n");
            let e = parse_clamav(p, out.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with("daily.info:1:"), "{off}: {e}");
        }
        let out = "Build time: 21 Nov 2026 08:23 +2359\n";
        assert!(parse_clamav(p, out.as_bytes()).is_ok());
    }
}
