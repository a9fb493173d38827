//! FusionInventory / GLPI Agent and OCS Inventory NG XML: one `<REQUEST><CONTENT>` document per
//! machine, sections (`HARDWARE`, `OPERATINGSYSTEM`, `BIOS`, `NETWORKS`, `SOFTWARES`...) of
//! upper-case fields. Both agents share the layout (FusionInventory grew out of OCS); they differ in
//! where the operating system and the date are:
//!
//! - FusionInventory: `OPERATINGSYSTEM/FULL_NAME` and `VERSION` (else `HARDWARE/OSNAME` and
//!   `OSVERSION`); the date is `ACCESSLOG/LOGDATE`, local time at `OPERATINGSYSTEM/TIMEZONE/OFFSET`
//!   (Europe/Paris when absent);
//! - OCS: `HARDWARE/OSNAME` and `OSVERSION`; the date is the end of `DEVICEID`
//!   (`host-YYYY-MM-DD-HH-MM-SS`, Europe/Paris local time), else the import's time.
//!
//! Interfaces that are not the device's own (loopback, `VIRTUALDEV` 1, container bridges, veth,
//! tunnels) are left out, so that their MAC addresses do not join unrelated assets.

use crate::model::{
    Category, Observation, OperatingSystem, Software, clean, normalise_mac, normalise_serial,
};
use crate::xml::{Visit, walk};
use crate::{InventoryError, SourceKind};
use std::collections::BTreeMap;

type Section = BTreeMap<String, String>;

/// Read one agent inventory (`kind` is FusionInventory or OCS).
pub fn read(kind: SourceKind, file: &str, bytes: &[u8]) -> Result<Observation, InventoryError> {
    let mut obs = Observation {
        origin: file.to_owned(),
        software: Some(Vec::new()),
        ..Default::default()
    };
    let mut section: Section = Section::new();
    let mut hardware: Option<Section> = None;
    let mut os: Option<Section> = None;
    let mut tz_offset: Option<String> = None;
    let mut logdate: Option<String> = None;
    let mut deviceid: Option<String> = None;
    let mut content = false;
    walk(file, bytes, |v| {
        match v {
            Visit::Open(s) => {
                if s.len() == 1 && s[0].name != "REQUEST" {
                    return Err(format!(
                        "not a {} inventory: the root element is <{}>, expected <REQUEST>",
                        label(kind),
                        s[0].name
                    ));
                }
                if s.len() == 2 && s[1].name == "CONTENT" {
                    content = true;
                }
                if s.len() == 3 {
                    section.clear();
                }
            }
            Visit::Close(s) => match s.len() {
                2 if s[1].name == "DEVICEID" => deviceid = clean(&s[1].text),
                4 if s[1].name == "CONTENT" => {
                    section.insert(s[3].name.clone(), s[3].text.trim().to_owned());
                }
                5 if s[2].name == "OPERATINGSYSTEM"
                    && s[3].name == "TIMEZONE"
                    && s[4].name == "OFFSET" =>
                {
                    tz_offset = clean(&s[4].text);
                }
                3 if s[1].name == "CONTENT" => {
                    let sec = std::mem::take(&mut section);
                    match s[2].name.as_str() {
                        "HARDWARE" => hardware = Some(sec),
                        "OPERATINGSYSTEM" => os = Some(sec),
                        "ACCESSLOG" => logdate = sec.get("LOGDATE").and_then(|d| clean(d)),
                        "BIOS" => {
                            obs.serial = sec.get("SSN").and_then(|s| normalise_serial(s));
                            obs.manufacturer = sec
                                .get("SMANUFACTURER")
                                .or(sec.get("MMANUFACTURER"))
                                .and_then(|s| clean(s));
                            obs.model = sec.get("SMODEL").and_then(|s| clean(s));
                        }
                        "NETWORKS" => network(&sec, &mut obs),
                        "SOFTWARES" => {
                            let name = sec
                                .get("NAME")
                                .and_then(|s| clean(s))
                                .ok_or_else(|| "<SOFTWARES> without a <NAME>".to_owned())?;
                            // OCS names multi-arch Debian packages `name:arch` (dpkg's
                            // binary:Package); a Debian package name never holds a colon.
                            let name =
                                match (sec.get("FROM").map(String::as_str), name.split_once(':')) {
                                    (Some("deb"), Some((n, _))) => n.to_owned(),
                                    _ => name,
                                };
                            if let Some(list) = obs.software.as_mut() {
                                list.push(Software {
                                    name,
                                    version: sec.get("VERSION").and_then(|s| clean(s)),
                                    vendor: sec.get("PUBLISHER").and_then(|s| clean(s)),
                                });
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            },
        }
        Ok(())
    })?;
    if !content {
        return Err(InventoryError::at(file, None, "no <CONTENT> in <REQUEST>"));
    }
    let hw = hardware
        .ok_or_else(|| InventoryError::at(file, None, "no <HARDWARE> section in <CONTENT>"))?;
    obs.hostname = hw.get("NAME").and_then(|s| clean(s));
    if obs.hostname.is_none() {
        return Err(InventoryError::at(file, None, "<HARDWARE> has no <NAME>"));
    }
    let from_os = os.as_ref().and_then(|o| {
        let name = o
            .get("FULL_NAME")
            .or(o.get("NAME"))
            .and_then(|s| clean(s))?;
        Some(OperatingSystem {
            name,
            version: o.get("VERSION").and_then(|s| clean(s)),
        })
    });
    let from_hw = hw
        .get("OSNAME")
        .and_then(|s| clean(s))
        .map(|name| OperatingSystem {
            name,
            version: hw.get("OSVERSION").and_then(|s| clean(s)),
        });
    obs.os = match kind {
        SourceKind::Ocs => from_hw.or(from_os),
        _ => from_os.or(from_hw),
    };
    if obs.ips.is_empty()
        && let Some(ip) = hw.get("IPADDR")
    {
        obs.ips = ip
            .split('/')
            .filter_map(clean)
            .filter(|i| i != "127.0.0.1")
            .collect();
    }
    obs.category = Some(match &obs.os {
        Some(o) if o.name.to_lowercase().contains("server") => Category::Server,
        _ => Category::Workstation,
    });
    obs.seen = match kind {
        SourceKind::Ocs => deviceid.as_deref().and_then(ocs_device_date),
        _ => logdate
            .as_deref()
            .and_then(|d| local_time(d, tz_offset.as_deref())),
    };
    if let Some(list) = obs.software.as_mut() {
        list.sort();
        list.dedup();
    }
    obs.macs.sort();
    obs.macs.dedup();
    obs.ips.sort();
    obs.ips.dedup();
    Ok(obs)
}

fn label(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Ocs => "OCS Inventory",
        _ => "FusionInventory / GLPI Agent",
    }
}

/// Interface names that are not a device's own network card.
const NOT_OWN: &[&str] = &[
    "lo", "docker", "veth", "br-", "virbr", "ifb", "tun", "tap", "dummy", "vnet", "cni", "flannel",
    "wg",
];

fn network(sec: &Section, obs: &mut Observation) {
    let name = sec.get("DESCRIPTION").map(String::as_str).unwrap_or("");
    let virtual_dev = sec.get("VIRTUALDEV").is_some_and(|v| v == "1");
    let loopback = sec.get("TYPE").is_some_and(|t| t == "loopback");
    if virtual_dev || loopback || NOT_OWN.iter().any(|p| name.starts_with(p)) {
        return;
    }
    if let Some(m) = sec.get("MACADDR").and_then(|m| normalise_mac(m)) {
        obs.macs.push(m);
    }
    if let Some(ip) = sec.get("IPADDRESS").and_then(|s| clean(s)) {
        obs.ips.push(ip);
    }
}

/// `2026-12-06 21:33:04` at `+0100` (or Europe/Paris when the offset is unknown).
fn local_time(d: &str, offset: Option<&str>) -> Option<jiff::Timestamp> {
    let dt: jiff::civil::DateTime = d.trim().replace(' ', "T").parse().ok()?;
    match offset.and_then(parse_offset) {
        Some(o) => o.to_timestamp(dt).ok(),
        None => dt.in_tz("Europe/Paris").ok().map(|z| z.timestamp()),
    }
}

fn parse_offset(s: &str) -> Option<jiff::tz::Offset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// `vm-2026-12-06-21-33-05` → 2026-12-06 21:33:05, Europe/Paris.
fn ocs_device_date(id: &str) -> Option<jiff::Timestamp> {
    let parts: Vec<&str> = id.rsplitn(7, '-').collect();
    if parts.len() < 7 {
        return None;
    }
    let n: Vec<i32> = parts[..6]
        .iter()
        .rev()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let dt = jiff::civil::DateTime::new(
        i16::try_from(n[0]).ok()?,
        i8::try_from(n[1]).ok()?,
        i8::try_from(n[2]).ok()?,
        i8::try_from(n[3]).ok()?,
        i8::try_from(n[4]).ok()?,
        i8::try_from(n[5]).ok()?,
        0,
    )
    .ok()?;
    dt.in_tz("Europe/Paris").ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FI: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<REQUEST>
  <CONTENT>
    <ACCESSLOG><LOGDATE>2026-12-06 21:33:04</LOGDATE></ACCESSLOG>
    <BIOS><SSN>CZ-1234</SSN><SMANUFACTURER>HP</SMANUFACTURER><SMODEL>EliteDesk</SMODEL></BIOS>
    <HARDWARE><NAME>PC-ADM-01</NAME><OSNAME>ignored</OSNAME></HARDWARE>
    <NETWORKS><DESCRIPTION>lo</DESCRIPTION><MACADDR>00:00:00:00:00:00</MACADDR><TYPE>loopback</TYPE></NETWORKS>
    <NETWORKS><DESCRIPTION>eth0</DESCRIPTION><IPADDRESS>10.1.2.3</IPADDRESS><MACADDR>02:FC:00:00:00:01</MACADDR></NETWORKS>
    <NETWORKS><DESCRIPTION>docker0</DESCRIPTION><MACADDR>02:42:ac:11:00:02</MACADDR></NETWORKS>
    <OPERATINGSYSTEM><FULL_NAME>Debian GNU/Linux 12 (bookworm)</FULL_NAME><VERSION>12.11</VERSION>
      <TIMEZONE><NAME>CET</NAME><OFFSET>+0100</OFFSET></TIMEZONE></OPERATINGSYSTEM>
    <SOFTWARES><NAME>openssl</NAME><PUBLISHER>Debian</PUBLISHER><VERSION>3.0.17-1~deb12u2</VERSION></SOFTWARES>
    <SOFTWARES><NAME>bash</NAME><VERSION>5.2.15-2+b8</VERSION></SOFTWARES>
    <SOFTWARES><FROM>deb</FROM><NAME>libc6:amd64</NAME><VERSION>2.36-9+deb12u10</VERSION></SOFTWARES>
  </CONTENT>
  <DEVICEID>PC-ADM-01-2026-12-06-21-33-04</DEVICEID>
  <QUERY>INVENTORY</QUERY>
</REQUEST>"#;

    #[test]
    fn fusioninventory_fields() {
        let o = read(SourceKind::FusionInventory, "fi.xml", FI.as_bytes()).unwrap();
        assert_eq!(o.hostname.as_deref(), Some("PC-ADM-01"));
        assert_eq!(o.macs, ["02:fc:00:00:00:01"]);
        assert_eq!(o.ips, ["10.1.2.3"]);
        assert_eq!(o.serial.as_deref(), Some("CZ-1234"));
        let os = o.os.unwrap();
        assert_eq!(os.name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os.version.as_deref(), Some("12.11"));
        let sw = o.software.unwrap();
        assert_eq!(sw.len(), 3);
        assert_eq!(sw[1].name, "libc6");
        assert_eq!(sw[2].name, "openssl");
        assert_eq!(sw[2].vendor.as_deref(), Some("Debian"));
        assert_eq!(o.seen, "2026-12-06T20:33:04Z".parse().ok());
    }

    #[test]
    fn ocs_reads_the_hardware_os_and_the_device_date() {
        let x = FI
            .replace("<OPERATINGSYSTEM>", "<X>")
            .replace("</OPERATINGSYSTEM>", "</X>")
            .replace(
                "<OSNAME>ignored</OSNAME>",
                "<OSNAME>Debian GNU/Linux 12</OSNAME><OSVERSION>12</OSVERSION>",
            );
        let o = read(SourceKind::Ocs, "o.ocs", x.as_bytes()).unwrap();
        assert_eq!(
            o.os.as_ref().map(|o| o.name.as_str()),
            Some("Debian GNU/Linux 12")
        );
        assert_eq!(o.seen, "2026-12-06T20:33:04Z".parse().ok());
    }

    #[test]
    fn bad_inventories_are_refused_with_file_and_line() {
        let e = read(SourceKind::Ocs, "n.xml", b"<nmaprun>\n</nmaprun>")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("n.xml:1:") && e.contains("<REQUEST>"), "{e}");
        let cut = &FI[..FI.find("<SOFTWARES><NAME>bash").unwrap() + 20];
        let e = read(SourceKind::FusionInventory, "cut.xml", cut.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cut.xml:") && e.contains("truncated"), "{e}");
        let e = read(
            SourceKind::FusionInventory,
            "h.xml",
            b"<REQUEST><CONTENT><BIOS/></CONTENT></REQUEST>",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("HARDWARE"), "{e}");
        let bad = FI.replace("<NAME>bash</NAME>", "");
        let e = read(SourceKind::FusionInventory, "s.xml", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.xml:13:") && e.contains("<SOFTWARES>"),
            "{e}"
        );
    }
}
