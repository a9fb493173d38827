//! The documented CSV, for what no agent or scan reports (a biomedical engineering export, the
//! list of network gear): read with the collectors' tolerant table reader (`,` or `;`, headers in
//! any case, `#` comments, errors naming file and line). Columns, one of each alias:
//!
//! | column | aliases | meaning |
//! | --- | --- | --- |
//! | `hostname` | `host`, `name`, `asset` | the device's name |
//! | `mac` | `mac_address`, `macs` | MAC addresses, several separated by spaces, `,` `;` `\|` |
//! | `serial` | `serial_number`, `numero_serie` | the serial number |
//! | `ip` | `ips`, `ip_address` | IP addresses |
//! | `category` | `type`, `kind` | workstation, server, network, printer, medical, unknown |
//! | `os` | `operating_system` | the operating system's name |
//! | `os_version` | | its version |
//! | `manufacturer` | `vendor`, `fabricant` | the maker |
//! | `model` | `modele` | the model |
//! | `owner` | `responsable` | who answers for it |
//! | `zone` | `location`, `localisation` | its network zone or place |
//! | `seen` | `last_seen`, `date` | when the list saw it (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], RFC 3339) |
//!
//! Every row needs a hostname, a MAC or a serial (what the register merges on).

use crate::InventoryError;
use crate::model::{
    Category, Observation, OperatingSystem, clean, normalise_mac, normalise_serial,
};
use hygie_collect::input::{Table, list};
use std::path::Path;

const NAME: &[&str] = &["hostname", "host", "name", "asset"];
const MAC: &[&str] = &["mac", "mac_address", "macs"];
const SERIAL: &[&str] = &["serial", "serial_number", "numero_serie"];

/// Read the CSV `text` of `file`.
pub fn read(file: &str, text: &str) -> Result<Vec<Observation>, InventoryError> {
    let t = Table::parse(Path::new(file), text)?;
    if !(t.has(NAME) || t.has(MAC) || t.has(SERIAL)) {
        t.require(NAME)?;
    }
    let mut out = Vec::new();
    for row in &t.rows {
        let mut macs = Vec::new();
        for m in t.get(row, MAC).map(list).unwrap_or_default() {
            macs.push(normalise_mac(&m).ok_or_else(|| {
                t.error(row, format!("column 'mac': '{m}' is not a MAC address"))
            })?);
        }
        let category = match t.get(row, &["category", "type", "kind"]) {
            None => None,
            Some(c) => Some(Category::parse(c).ok_or_else(|| {
                t.error(
                    row,
                    format!(
                        "column 'category': '{c}' is not one of workstation, server, network, printer, medical, unknown"
                    ),
                )
            })?),
        };
        let mut ips = Vec::new();
        for ip in t
            .get(row, &["ip", "ips", "ip_address"])
            .map(list)
            .unwrap_or_default()
        {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| t.error(row, format!("column 'ip': '{ip}' is not an IP address")))?;
            ips.push(ip);
        }
        let o = Observation {
            origin: format!("{file}:{}", row.line),
            seen: t.ts(row, &["seen", "last_seen", "date"])?,
            hostname: t.get(row, NAME).and_then(clean),
            macs,
            serial: t.get(row, SERIAL).and_then(normalise_serial),
            ips,
            os: t
                .get(row, &["os", "operating_system"])
                .and_then(clean)
                .map(|name| OperatingSystem {
                    name,
                    version: t.get(row, &["os_version"]).and_then(clean),
                }),
            manufacturer: t
                .get(row, &["manufacturer", "vendor", "fabricant"])
                .and_then(clean),
            model: t.get(row, &["model", "modele"]).and_then(clean),
            category,
            owner: t.get(row, &["owner", "responsable"]).and_then(clean),
            zone: t
                .get(row, &["zone", "location", "localisation"])
                .and_then(clean),
            ..Default::default()
        };
        if o.hostname.is_none() && o.macs.is_empty() && o.serial.is_none() {
            return Err(t
                .error(
                    row,
                    "a row needs a hostname, a MAC address or a serial number",
                )
                .into());
        }
        out.push(o);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_errors() {
        let o = read(
            "dm.csv",
            "hostname;mac;category;owner;zone\npompe-12;02-AA-00-00-00-12;médical;Biomédical;Réa\n",
        )
        .unwrap();
        assert_eq!(o[0].macs, ["02:aa:00:00:00:12"]);
        assert_eq!(o[0].category, Some(Category::Medical));
        assert_eq!(o[0].origin, "dm.csv:2");
        let e = read("dm.csv", "hostname,category\na,toaster\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dm.csv:2:") && e.contains("category"), "{e}");
        let e = read("dm.csv", "hostname,mac\na,zz\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dm.csv:2:") && e.contains("mac"), "{e}");
        let e = read("dm.csv", "owner\nx\n").unwrap_err().to_string();
        assert!(e.contains("missing column 'hostname'"), "{e}");
    }
}
