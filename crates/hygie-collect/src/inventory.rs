//! The facility's asset inventory, shared by the collectors: a CSV, or the computer accounts of
//! an Active Directory snapshot (JSON or LDIF, shapes documented below; the AD audit can write them).
//!
//! CSV columns (case-insensitive, `,` or `;`): `asset` (or `host`, `hostname`, `name`), and
//! optionally `critical` (yes/no), `kind` (workstation, server, ...), `os`, `os_version`,
//! `rpo_hours`, `oldest_missing_update` (date of the oldest update not installed), `enabled`.
//!
//! AD JSON: `{"computers": [{"name": "PC-001", "dNSHostName": "pc-001.chu.test",
//! "operatingSystem": "Windows 11 Enterprise", "operatingSystemVersion": "10.0 (22631)",
//! "enabled": true}]}` (a bare array is accepted too).
//!
//! LDIF: `ldapsearch -LLL '(objectClass=computer)' cn dNSHostName operatingSystem
//! operatingSystemVersion userAccountControl`: disabled accounts (UAC bit 2) are skipped.

use crate::input::{Table, host_key, parse_bool};
use crate::{CollectError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    pub name: String,
    pub critical: bool,
    pub kind: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub rpo_hours: Option<u32>,
    pub oldest_missing_update: Option<jiff::Timestamp>,
}

impl Asset {
    pub fn named(name: &str) -> Asset {
        Asset {
            name: name.to_owned(),
            critical: false,
            kind: None,
            os: None,
            os_version: None,
            rpo_hours: None,
            oldest_missing_update: None,
        }
    }
    pub fn key(&self) -> String {
        host_key(&self.name)
    }
}

/// Read an inventory, choosing the reader from the extension (`.csv`, `.json`, `.ldif`).
pub fn read(files: &dyn crate::Files, path: &Path) -> Result<Vec<Asset>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let assets = match ext.as_str() {
        "json" => from_ad_json(path, &crate::input::read(files, path)?)?,
        "ldif" | "ldf" => from_ldif(path, &crate::input::read(files, path)?)?,
        _ => from_csv(&Table::read(files, path)?)?,
    };
    let mut seen = std::collections::BTreeSet::new();
    for a in &assets {
        if !seen.insert(a.key()) {
            return Err(CollectError::at(
                path,
                None,
                format!("asset '{}' appears twice", a.name),
            ));
        }
    }
    Ok(assets)
}

pub fn from_csv(t: &Table) -> Result<Vec<Asset>> {
    const NAME: &[&str] = &["asset", "host", "hostname", "name", "computer"];
    t.require(NAME)?;
    let mut out = Vec::new();
    for row in &t.rows {
        if t.bool(row, &["enabled"])? == Some(false) {
            continue;
        }
        let rpo_hours = match t.get(row, &["rpo_hours", "rpo"]) {
            None => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                t.error(
                    row,
                    format!("column 'rpo_hours': '{v}' is not a number of hours"),
                )
            })?),
        };
        out.push(Asset {
            name: t.req(row, NAME)?.to_owned(),
            critical: t.bool(row, &["critical", "critique"])?.unwrap_or(false),
            kind: t.get(row, &["kind", "type", "role"]).map(str::to_owned),
            os: t
                .get(row, &["os", "operatingsystem", "operating_system"])
                .map(str::to_owned),
            os_version: t
                .get(row, &["os_version", "operatingsystemversion", "version"])
                .map(str::to_owned),
            rpo_hours,
            oldest_missing_update: t.ts(row, &["oldest_missing_update", "missing_update_since"])?,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct AdComputer {
    #[serde(alias = "cn", alias = "sAMAccountName")]
    name: String,
    #[serde(rename = "operatingSystem", default)]
    os: Option<String>,
    #[serde(rename = "operatingSystemVersion", default)]
    os_version: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    critical: bool,
}

fn yes() -> bool {
    true
}

pub fn from_ad_json(path: &Path, text: &str) -> Result<Vec<Asset>> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| CollectError::at(path, Some(e.line() as u64), e.to_string()))?;
    let items = match &v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => match o.get("computers") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(CollectError::at(
                    path,
                    None,
                    "'computers' must be an array of computers",
                ));
            }
        },
        _ => {
            return Err(CollectError::at(
                path,
                None,
                "expected {\"computers\": [...]} or an array",
            ));
        }
    };
    let mut list = Vec::new();
    for (i, c) in items.iter().enumerate() {
        list.push(
            AdComputer::deserialize(c)
                .map_err(|e| CollectError::at(path, None, format!("computer #{}: {e}", i + 1)))?,
        );
    }
    Ok(list
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| Asset {
            name: c.name.trim_end_matches('$').to_owned(),
            critical: c.critical,
            kind: None,
            os: c.os,
            os_version: c.os_version,
            rpo_hours: None,
            oldest_missing_update: None,
        })
        .collect())
}

/// One LDIF record: its first line and its attributes (lower-cased) with their values.
pub type LdifRecord = (u64, std::collections::BTreeMap<String, Vec<String>>);

/// LDIF records as (first line, attribute → values), attribute names lower-cased.
pub fn ldif_records(path: &Path, text: &str) -> Result<Vec<LdifRecord>> {
    let mut records = Vec::new();
    let mut cur: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut start = 0u64;
    let mut last: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            if !cur.is_empty() {
                records.push((start, std::mem::take(&mut cur)));
            }
            last = None;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            match last
                .as_ref()
                .and_then(|k| cur.get_mut(k))
                .and_then(|v| v.last_mut())
            {
                Some(v) => v.push_str(cont),
                None => {
                    return Err(CollectError::at(
                        path,
                        Some(n),
                        "continuation line without an attribute",
                    ));
                }
            }
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| CollectError::at(path, Some(n), "expected 'attribute: value'"))?;
        if cur.is_empty() {
            start = n;
        }
        let k = k.trim().to_ascii_lowercase();
        let v = v.strip_prefix(':').map_or(v, |b| b).trim().to_owned();
        cur.entry(k.clone()).or_default().push(v);
        last = Some(k);
    }
    if !cur.is_empty() {
        records.push((start, cur));
    }
    Ok(records)
}

pub fn from_ldif(path: &Path, text: &str) -> Result<Vec<Asset>> {
    let mut out = Vec::new();
    for (line, r) in ldif_records(path, text)? {
        let get = |k: &str| r.get(k).and_then(|v| v.first()).cloned();
        let classes = r.get("objectclass").cloned().unwrap_or_default();
        if !classes.is_empty() && !classes.iter().any(|c| c.eq_ignore_ascii_case("computer")) {
            continue;
        }
        if !r.contains_key("dn") && r.len() <= 1 {
            continue;
        }
        let Some(name) = get("cn")
            .or_else(|| get("name"))
            .or_else(|| get("samaccountname"))
        else {
            return Err(CollectError::at(
                path,
                Some(line),
                "computer record without cn",
            ));
        };
        if let Some(uac) = get("useraccountcontrol") {
            let uac: u32 = uac.parse().map_err(|_| {
                CollectError::at(
                    path,
                    Some(line),
                    format!("userAccountControl '{uac}' is not a number"),
                )
            })?;
            if uac & 2 != 0 {
                continue;
            }
        }
        let mut a = Asset::named(name.trim_end_matches('$'));
        a.os = get("operatingsystem");
        a.os_version = get("operatingsystemversion");
        a.critical = get("critical")
            .and_then(|v| parse_bool(&v))
            .unwrap_or(false);
        out.push(a);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldif_computers_skip_disabled_and_users() {
        let text = "dn: CN=PC-001,OU=Postes,DC=chu,DC=test\nobjectClass: top\nobjectClass: computer\ncn: PC-001\noperatingSystem: Windows 10 Pro\noperatingSystemVersion: 10.0 (19045)\nuserAccountControl: 4096\n\n\
dn: CN=PC-OLD,DC=chu,DC=test\nobjectClass: computer\ncn: PC-OLD\nuserAccountControl: 4098\n\n\
dn: CN=jdoe,DC=chu,DC=test\nobjectClass: user\ncn: jdoe\n";
        let a = from_ldif(Path::new("ad.ldif"), text).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, "PC-001");
        assert_eq!(a[0].os_version.as_deref(), Some("10.0 (19045)"));
    }

    #[test]
    fn ad_json_both_shapes() {
        let p = Path::new("ad.json");
        let a = from_ad_json(p, r#"{"computers":[{"name":"SRV$","operatingSystem":"Windows Server 2012 R2 Standard"},{"name":"X","enabled":false}]}"#).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, "SRV");
        let a = from_ad_json(p, r#"[{"cn":"PC"}]"#).unwrap();
        assert_eq!(a[0].name, "PC");
        let e = from_ad_json(p, "{\n\"computers\": 3}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ad.json: 'computers'"), "{e}");
        let e = from_ad_json(p, "{\n\"computers\": [\n{\"name\": 1}]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ad.json:3:"), "{e}");
        let e = from_ad_json(p, r#"[{"cn":"A"},{"operatingSystem":"x"}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("computer #2") && e.contains("name"), "{e}");
    }
}
