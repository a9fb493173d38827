//! The merged register: one [`Asset`] per device, built by [`Register::absorb`]ing observations
//! (the merge key and the conflict policy are in the crate's documentation).

use crate::medical::{Makers, medical_hint};
use crate::model::{Category, Observation, OperatingSystem, Port, Software, SourceKind, host_key};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One device of the facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Stable within the facility: 1, 2, ... in order of discovery.
    pub id: u64,
    pub hostname: Option<String>,
    pub category: Category,
    pub os: Option<OperatingSystem>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub owner: Option<String>,
    pub zone: Option<String>,
    pub macs: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub ports: BTreeSet<Port>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The last sighting by each kind of source.
    pub sources: BTreeMap<SourceKind, Timestamp>,
    /// The source whose description (name, operating system, maker, category) is kept.
    pub described_by: SourceKind,
    /// Installed software, as the latest inventory of each agent kind lists it.
    pub software: BTreeMap<SourceKind, Vec<Software>>,
    /// A domain controller by the directory's word (the AD snapshot's latest import); the IS
    /// map also recognises one by its open ports.
    pub domain_controller: bool,
}

impl Asset {
    /// A label for findings and lists: the name, else the first IP, else the first MAC.
    pub fn label(&self) -> String {
        self.hostname
            .clone()
            .or_else(|| self.ips.iter().next().cloned())
            .or_else(|| self.macs.iter().next().cloned())
            .unwrap_or_else(|| format!("#{}", self.id))
    }

    /// Whether an agent or the facility's list inventories it (not only a scan or the directory).
    pub fn inventoried(&self) -> bool {
        self.sources.keys().any(|k| k.is_inventory())
    }

    /// The last sighting by a source of this kind of kinds.
    pub fn last_by(&self, pick: impl Fn(SourceKind) -> bool) -> Option<Timestamp> {
        self.sources
            .iter()
            .filter(|(k, _)| pick(**k))
            .map(|(_, t)| *t)
            .max()
    }

    /// Every software entry, all agents together, each (name, version, vendor) once.
    pub fn all_software(&self) -> Vec<&Software> {
        let mut v: Vec<&Software> = self.software.values().flatten().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether `needle` (an id, a host name, a MAC or an IP) names this asset.
    pub fn is_named(&self, needle: &str) -> bool {
        let n = needle.trim();
        n.parse::<u64>().ok() == Some(self.id)
            || self.hostname.as_deref().and_then(host_key) == host_key(n) && self.hostname.is_some()
            || crate::model::normalise_mac(n).is_some_and(|m| self.macs.contains(&m))
            || self.ips.contains(n)
    }
}

/// Which key joined an observation to its asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKey {
    Mac,
    Serial,
    Hostname,
    Ip,
    /// No key matched: a new asset.
    New,
}

impl MatchKey {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKey::Mac => "mac",
            MatchKey::Serial => "serial",
            MatchKey::Hostname => "hostname",
            MatchKey::Ip => "ip",
            MatchKey::New => "new",
        }
    }

    pub fn parse(s: &str) -> Option<MatchKey> {
        [
            MatchKey::Mac,
            MatchKey::Serial,
            MatchKey::Hostname,
            MatchKey::Ip,
            MatchKey::New,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A disagreement between an observation and the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub asset: u64,
    pub origin: String,
    pub message: String,
}

/// One observation absorbed: where it went and what it contradicted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sighting {
    pub asset: u64,
    pub source: SourceKind,
    pub origin: String,
    pub seen: Timestamp,
    pub matched_by: MatchKey,
    pub conflicts: Vec<String>,
}

/// The register of one facility, with its merge indexes.
#[derive(Debug, Clone, Default)]
pub struct Register {
    assets: Vec<Asset>,
    by_mac: HashMap<String, usize>,
    by_serial: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    by_ip: HashMap<String, usize>,
    makers: Option<Makers>,
}

impl Register {
    /// A register holding `assets` (as stored), ready to absorb more.
    pub fn new(mut assets: Vec<Asset>) -> Register {
        assets.sort_by_key(|a| a.id);
        let mut r = Register {
            assets,
            makers: Some(Makers::bundled()),
            ..Default::default()
        };
        for i in 0..r.assets.len() {
            r.index(i);
        }
        r
    }

    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    pub fn into_assets(self) -> Vec<Asset> {
        self.assets
    }

    fn index(&mut self, i: usize) {
        let a = &self.assets[i];
        for m in &a.macs {
            self.by_mac.entry(m.clone()).or_insert(i);
        }
        if let Some(s) = &a.serial {
            self.by_serial.entry(s.clone()).or_insert(i);
        }
        if let Some(k) = a.hostname.as_deref().and_then(host_key) {
            self.by_name.entry(k).or_insert(i);
        }
        for ip in &a.ips {
            // The latest holder of an address wins: addresses move (DHCP).
            self.by_ip.insert(ip.clone(), i);
        }
    }

    /// Merge one observation of `source`, seen at `now` when it does not say when.
    pub fn absorb(&mut self, source: SourceKind, o: Observation, now: Timestamp) -> Sighting {
        let seen = o.seen.unwrap_or(now);
        let name = o.hostname.as_deref().and_then(host_key);
        let by_mac = o.macs.iter().find_map(|m| self.by_mac.get(m).copied());
        let by_serial = o
            .serial
            .as_ref()
            .and_then(|s| self.by_serial.get(s).copied());
        let by_name = name.as_ref().and_then(|n| self.by_name.get(n).copied());
        let by_ip = if o.macs.is_empty() && o.serial.is_none() && name.is_none() {
            o.ips.iter().find_map(|ip| self.by_ip.get(ip).copied())
        } else {
            None
        };
        let (found, matched_by) = match (by_mac, by_serial, by_name, by_ip) {
            (Some(i), ..) => (Some(i), MatchKey::Mac),
            (None, Some(i), ..) => (Some(i), MatchKey::Serial),
            (None, None, Some(i), _) => (Some(i), MatchKey::Hostname),
            (None, None, None, Some(i)) => (Some(i), MatchKey::Ip),
            _ => (None, MatchKey::New),
        };
        let mut conflicts = Vec::new();
        let i = match found {
            Some(i) => {
                let a = &self.assets[i];
                for (other, what) in [(by_serial, "serial number"), (by_name, "host name")] {
                    if let Some(j) = other
                        && j != i
                    {
                        conflicts.push(format!(
                            "its {what} belongs to asset #{} ({}); kept on asset #{} ({}) matched by {}",
                            self.assets[j].id,
                            self.assets[j].label(),
                            a.id,
                            a.label(),
                            matched_by.as_str()
                        ));
                    }
                }
                if let (Some(s), Some(old)) = (&o.serial, &a.serial)
                    && s != old
                {
                    conflicts.push(format!(
                        "serial number {s} differs from {old} of asset #{}",
                        a.id
                    ));
                }
                if let (Some(n), Some(old)) = (&name, a.hostname.as_deref().and_then(host_key))
                    && *n != old
                {
                    conflicts.push(format!(
                        "named {} here, {} in the register (asset #{})",
                        o.hostname.as_deref().unwrap_or_default(),
                        a.hostname.as_deref().unwrap_or_default(),
                        a.id
                    ));
                }
                i
            }
            None => {
                let id = self.assets.iter().map(|a| a.id).max().unwrap_or(0) + 1;
                self.assets.push(Asset {
                    id,
                    hostname: None,
                    category: Category::Unknown,
                    os: None,
                    serial: None,
                    manufacturer: None,
                    model: None,
                    owner: None,
                    zone: None,
                    macs: BTreeSet::new(),
                    ips: BTreeSet::new(),
                    ports: BTreeSet::new(),
                    first_seen: seen,
                    last_seen: seen,
                    sources: BTreeMap::new(),
                    described_by: source,
                    software: BTreeMap::new(),
                    domain_controller: false,
                });
                self.assets.len() - 1
            }
        };
        let medical = o.category == Some(Category::Medical)
            || medical_hint(&o)
            || self.makers.as_ref().is_some_and(|m| m.of(&o).is_some());
        let a = &mut self.assets[i];
        let newer_of_kind = a.sources.get(&source).is_none_or(|t| seen >= *t);
        let describes = matched_by == MatchKey::New || source.rank() >= a.described_by.rank();
        let fill = |slot: &mut Option<String>, v: Option<String>| {
            if v.is_some() && (describes || slot.is_none()) {
                *slot = v;
            }
        };
        // A name never changes on a lower-ranked source's word (a scan's PTR record).
        fill(&mut a.hostname, o.hostname);
        fill(&mut a.serial, o.serial);
        fill(&mut a.manufacturer, o.manufacturer);
        fill(&mut a.model, o.model);
        if o.os.is_some() && (describes || a.os.is_none()) {
            a.os = o.os;
        }
        if o.owner.is_some() {
            a.owner = o.owner;
        }
        if o.zone.is_some() {
            a.zone = o.zone;
        }
        if medical {
            a.category = Category::Medical;
        } else if let Some(c) = o.category
            && a.category != Category::Medical
            && (describes || a.category == Category::Unknown)
        {
            a.category = c;
        }
        if describes {
            a.described_by = source;
        }
        a.macs.extend(o.macs);
        a.ips.extend(o.ips);
        if source == SourceKind::Nmap && newer_of_kind {
            // The latest scan says which ports are open now.
            a.ports = o.ports.into_iter().collect();
        }
        if source == SourceKind::Ad && newer_of_kind {
            // The directory's latest snapshot says what the account is now (a demoted DC is not).
            a.domain_controller = o.domain_controller;
        }
        if let Some(list) = o.software
            && newer_of_kind
        {
            a.software.insert(source, list);
        }
        a.first_seen = a.first_seen.min(seen);
        a.last_seen = a.last_seen.max(seen);
        let e = a.sources.entry(source).or_insert(seen);
        *e = (*e).max(seen);
        let id = a.id;
        self.index(i);
        Sighting {
            asset: id,
            source,
            origin: o.origin,
            seen,
            matched_by,
            conflicts,
        }
    }

    /// The conflicts of `sightings`, one per message.
    pub fn conflicts(sightings: &[Sighting]) -> Vec<Conflict> {
        sightings
            .iter()
            .flat_map(|s| {
                s.conflicts.iter().map(|m| Conflict {
                    asset: s.asset,
                    origin: s.origin.clone(),
                    message: m.clone(),
                })
            })
            .collect()
    }

    /// An asset by id, host name, MAC or IP address.
    pub fn find(&self, needle: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.is_named(needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn obs(name: Option<&str>, macs: &[&str], serial: Option<&str>) -> Observation {
        Observation {
            origin: "t".into(),
            hostname: name.map(str::to_owned),
            macs: macs.iter().map(|m| (*m).to_owned()).collect(),
            serial: serial.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn one_device_seen_by_three_sources_is_one_asset() {
        let now = ts("2026-12-01T10:00:00Z");
        let mut r = Register::new(Vec::new());
        let mut agent = obs(Some("PC-01"), &["02:00:00:00:00:01"], Some("CZ1"));
        agent.os = Some(OperatingSystem {
            name: "Windows 11 Pro".into(),
            version: Some("10.0 (22631)".into()),
        });
        agent.software = Some(vec![Software {
            name: "7-Zip".into(),
            version: Some("23.01".into()),
            vendor: None,
        }]);
        agent.seen = Some(ts("2026-11-20T08:00:00Z"));
        let s = r.absorb(SourceKind::FusionInventory, agent, now);
        assert_eq!((s.asset, s.matched_by), (1, MatchKey::New));
        // The scan sees the MAC and a PTR name with a domain, and guesses another OS.
        let mut scan = obs(Some("pc-01.chu.local"), &["02:00:00:00:00:01"], None);
        scan.os = Some(OperatingSystem {
            name: "Microsoft Windows 10".into(),
            version: None,
        });
        scan.ips = vec!["10.0.0.5".into()];
        let s = r.absorb(SourceKind::Nmap, scan, now);
        assert_eq!((s.asset, s.matched_by), (1, MatchKey::Mac));
        assert!(s.conflicts.is_empty(), "{:?}", s.conflicts);
        // The directory knows it by name only.
        let s = r.absorb(SourceKind::Ad, obs(Some("PC-01$"), &[], None), now);
        assert_eq!((s.asset, s.matched_by), (1, MatchKey::Hostname));
        let a = &r.assets()[0];
        assert_eq!(r.assets().len(), 1);
        assert_eq!(a.hostname.as_deref(), Some("PC-01"));
        assert_eq!(a.os.as_ref().unwrap().name, "Windows 11 Pro");
        assert_eq!(a.ips.len(), 1);
        assert_eq!(a.first_seen, ts("2026-11-20T08:00:00Z"));
        assert_eq!(a.last_seen, now);
        assert_eq!(a.sources.len(), 3);
        assert!(a.inventoried());
        assert_eq!(r.find("10.0.0.5").map(|a| a.id), Some(1));
        assert_eq!(r.find("pc-01").map(|a| a.id), Some(1));
    }

    #[test]
    fn conflicts_are_reported_and_assets_never_fused() {
        let now = ts("2026-12-01T10:00:00Z");
        let mut r = Register::new(Vec::new());
        r.absorb(
            SourceKind::Csv,
            obs(Some("A"), &["02:00:00:00:00:0a"], Some("S1")),
            now,
        );
        r.absorb(
            SourceKind::Csv,
            obs(Some("B"), &["02:00:00:00:00:0b"], None),
            now,
        );
        // A's MAC, B's name, another serial.
        let s = r.absorb(
            SourceKind::Nmap,
            obs(Some("b"), &["02:00:00:00:00:0a"], Some("S2")),
            now,
        );
        assert_eq!((s.asset, s.matched_by), (1, MatchKey::Mac));
        assert_eq!(s.conflicts.len(), 3, "{:?}", s.conflicts);
        assert!(
            s.conflicts
                .iter()
                .any(|c| c.contains("belongs to asset #2"))
        );
        assert_eq!(r.assets().len(), 2);
        // The scan ranks below the CSV: the name stays.
        assert_eq!(r.assets()[0].hostname.as_deref(), Some("A"));
        assert_eq!(Register::conflicts(&[s]).len(), 3);
    }

    #[test]
    fn medical_devices_are_a_sticky_category_and_ip_joins_only_keyless_hosts() {
        let now = ts("2026-12-01T10:00:00Z");
        let mut r = Register::new(Vec::new());
        let mut dm = obs(None, &["00:10:5d:00:00:01"], None);
        dm.ips = vec!["10.1.0.9".into()];
        dm.category = Some(Category::Network);
        r.absorb(SourceKind::Nmap, dm, now);
        assert_eq!(r.assets()[0].category, Category::Medical);
        let mut again = obs(Some("pousse-seringue"), &["00:10:5d:00:00:01"], None);
        again.category = Some(Category::Workstation);
        r.absorb(SourceKind::Csv, again, now);
        assert_eq!(r.assets()[0].category, Category::Medical);
        let mut routed = obs(None, &[], None);
        routed.ips = vec!["10.1.0.9".into()];
        assert_eq!(
            r.absorb(SourceKind::Nmap, routed, now).matched_by,
            MatchKey::Ip
        );
        let mut other = obs(Some("x"), &[], None);
        other.ips = vec!["10.1.0.9".into()];
        assert_eq!(
            r.absorb(SourceKind::Nmap, other, now).matched_by,
            MatchKey::New
        );
    }
}
