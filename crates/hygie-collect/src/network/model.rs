//! The zone model (YAML) and the flow policy: defaults from PGSSI-S 4.2.2 and the ANSSI guide,
//! adjusted by the facility's own `allow`/`deny` pairs.
//!
//! ```yaml
//! zones:
//!   - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16], interfaces: [vlan10]}
//!   - {name: pacs, kind: imaging, cidrs: [10.20.0.0/24]}
//!   - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16], ssids: [CHU-Invites]}
//!   - {name: internet, kind: internet}      # no cidrs: every public address outside the other zones
//! policy:
//!   allow: [{from: biomedical, to: servers}] # zone names or kinds: exempts a default-forbidden pair
//!   deny:  [{from: clinical, to: partners, reason: "no direct partner access"}]
//! ```

use super::addr::{Set, parse_range};
use crate::{CollectError, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Clinical,
    Biomedical,
    Imaging,
    Servers,
    Admin,
    Guest,
    Partners,
    Internet,
    Dmz,
    Other,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(
            match s
                .trim()
                .to_ascii_lowercase()
                .replace(['-', ' '], "_")
                .as_str()
            {
                "clinical" | "workstations" | "clinical_workstations" | "users" => Kind::Clinical,
                "biomedical" | "biomed" | "medical_devices" => Kind::Biomedical,
                "imaging" | "pacs" | "imaging_pacs" => Kind::Imaging,
                "servers" | "server" | "datacenter" => Kind::Servers,
                "admin" | "administration" | "management" => Kind::Admin,
                "guest" | "guest_wifi" | "guests" | "visitors" => Kind::Guest,
                "partners" | "partner" | "third_party" => Kind::Partners,
                "internet" | "wan" => Kind::Internet,
                "dmz" => Kind::Dmz,
                "other" => Kind::Other,
                _ => return None,
            },
        )
    }
}

pub static GUEST: RuleDef = RuleDef::new(
    "NET-GUEST-ISOLATION",
    super::SOURCE,
    Severity::Critical,
    Text::new(
        "Guest network can reach internal zones",
        "Le réseau invités atteint des zones internes",
    ),
    &["NET-01", "NET-02"],
);
pub static INTERNET: RuleDef = RuleDef::new(
    "NET-INTERNET-DMZ",
    super::SOURCE,
    Severity::Critical,
    Text::new(
        "Internet reaches internal zones other than through the DMZ",
        "Internet atteint des zones internes sans passer par la DMZ",
    ),
    &["NET-01", "NET-04"],
);
pub static ADMIN: RuleDef = RuleDef::new(
    "NET-ADMIN-ISOLATION",
    super::SOURCE,
    Severity::High,
    Text::new(
        "Administration network reachable from outside itself",
        "Réseau d'administration joignable depuis l'extérieur de lui-même",
    ),
    &["ADM-02"],
);
pub static ADMIN_INTERNET: RuleDef = RuleDef::new(
    "NET-ADMIN-NO-INTERNET",
    super::SOURCE,
    Severity::High,
    Text::new(
        "Administration network can reach the Internet",
        "Le réseau d'administration accède à Internet",
    ),
    &["ADM-01"],
);
pub static BIOMED: RuleDef = RuleDef::new(
    "NET-BIOMED-ISOLATION",
    super::SOURCE,
    Severity::High,
    Text::new(
        "Biomedical devices not isolated",
        "Dispositifs biomédicaux non isolés",
    ),
    &["NET-01"],
);
pub static CUSTOM: RuleDef = RuleDef::new(
    "NET-POLICY-DENY",
    super::SOURCE,
    Severity::High,
    Text::new(
        "Flow forbidden by the facility's own policy is allowed",
        "Flux interdit par la politique de l'établissement autorisé",
    ),
    &["NET-01"],
);

/// The segmentation rules, in report order.
pub static POLICY_RULES: [&RuleDef; 6] =
    [&GUEST, &INTERNET, &ADMIN, &ADMIN_INTERNET, &BIOMED, &CUSTOM];

const INTERNAL: [Kind; 6] = [
    Kind::Clinical,
    Kind::Biomedical,
    Kind::Imaging,
    Kind::Servers,
    Kind::Admin,
    Kind::Partners,
];

/// The default policy: which rules forbid a flow from one kind of zone to another.
pub fn default_forbidden(from: Kind, to: Kind) -> Vec<&'static RuleDef> {
    use Kind::*;
    let mut out = Vec::new();
    if from == to {
        return out;
    }
    if from == Guest && INTERNAL.contains(&to) {
        out.push(&GUEST);
    }
    if from == Internet && to != Dmz {
        out.push(&INTERNET);
    }
    if to == Admin && from != Admin {
        out.push(&ADMIN);
    }
    if from == Admin && to == Internet {
        out.push(&ADMIN_INTERNET);
    }
    let biomed_peers = [Clinical, Guest, Internet, Partners, Dmz];
    if (from == Biomedical && biomed_peers.contains(&to))
        || (to == Biomedical && biomed_peers.contains(&from))
    {
        out.push(&BIOMED);
    }
    out
}

/// Private, shared, loopback, link-local, multicast and reserved ranges: never the implicit Internet.
pub const SPECIAL: [&str; 15] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/3",
    "::/127",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
    "::/96",
    "64:ff9b::/96",
    "2001:db8::/32",
];

#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub name: String,
    pub kind: Kind,
    /// The CIDRs as declared (empty for the implicit Internet), kept in the run's summary so
    /// the IS map can place assets in zones later (hygie-inventory's `map`).
    pub cidrs: Vec<String>,
    pub set: Set,
    pub interfaces: Vec<String>,
    pub ssids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneModel {
    pub zones: Vec<Zone>,
    pub allow: Vec<Pair>,
    pub deny: Vec<Pair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    zones: Vec<RawZone>,
    #[serde(default)]
    policy: RawPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: String,
    kind: String,
    #[serde(default)]
    cidrs: Vec<String>,
    #[serde(default)]
    interfaces: Vec<String>,
    #[serde(default)]
    ssids: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    allow: Vec<RawPair>,
    #[serde(default)]
    deny: Vec<RawPair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    from: String,
    to: String,
    #[serde(default)]
    reason: Option<String>,
}

impl ZoneModel {
    pub fn read(files: &dyn crate::Files, path: &Path) -> Result<ZoneModel> {
        ZoneModel::parse(path, &crate::input::read(files, path)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ZoneModel> {
        let raw: RawModel = serde_saphyr::from_str(text)
            .map_err(|e| CollectError::at(path, None, format!("zone model: {e}")))?;
        let err = |m: String| CollectError::at(path, None, m);
        let zones = Self::zones_of(
            raw.zones
                .into_iter()
                .map(|z| (z.name, z.kind, z.cidrs, z.interfaces, z.ssids))
                .collect(),
        )
        .map_err(err)?;
        let pair = |p: RawPair| -> Result<Pair> {
            for side in [&p.from, &p.to] {
                if !zones.iter().any(|z| &z.name == side) && Kind::parse(side).is_none() {
                    return Err(err(format!(
                        "policy: '{side}' is neither a zone nor a kind"
                    )));
                }
            }
            Ok(Pair {
                from: p.from,
                to: p.to,
                reason: p.reason,
            })
        };
        let allow = raw
            .policy
            .allow
            .into_iter()
            .map(pair)
            .collect::<Result<_>>()?;
        let deny = raw
            .policy
            .deny
            .into_iter()
            .map(pair)
            .collect::<Result<_>>()?;
        Ok(ZoneModel { zones, allow, deny })
    }

    /// The zones as a run's summary keeps them (name, kind, declared CIDRs): the same checks
    /// and the same implicit Internet as the YAML, without its policy.
    pub fn from_declared(
        zones: Vec<(String, String, Vec<String>)>,
    ) -> std::result::Result<ZoneModel, String> {
        Ok(ZoneModel {
            zones: Self::zones_of(
                zones
                    .into_iter()
                    .map(|(n, k, c)| (n, k, c, vec![], vec![]))
                    .collect(),
            )?,
            allow: vec![],
            deny: vec![],
        })
    }

    #[allow(clippy::type_complexity)]
    fn zones_of(
        raw: Vec<(String, String, Vec<String>, Vec<String>, Vec<String>)>,
    ) -> std::result::Result<Vec<Zone>, String> {
        let err = |m: String| m;
        let mut zones = Vec::new();
        let mut outside = None;
        for (name, kind_text, cidrs, interfaces, ssids) in raw {
            let kind = Kind::parse(&kind_text).ok_or_else(|| {
                err(format!(
                    "zone '{}': kind '{}' is not clinical, biomedical, imaging, servers, admin, guest, partners, internet, dmz or other",
                    name, kind_text
                ))
            })?;
            if zones.iter().any(|x: &Zone| x.name == name) {
                return Err(err(format!("zone '{}' declared twice", name)));
            }
            let mut r = Vec::new();
            for c in &cidrs {
                r.push(
                    parse_range(c)
                        .ok_or_else(|| err(format!("zone '{}': '{c}' is not a CIDR", name)))?,
                );
            }
            if r.is_empty() {
                if kind != Kind::Internet {
                    return Err(err(format!(
                        "zone '{}' has no cidrs (only the internet zone may omit them)",
                        name
                    )));
                }
                if outside.is_some() {
                    return Err(err("only one zone may omit its cidrs".into()));
                }
                outside = Some(zones.len());
            }
            zones.push(Zone {
                name,
                kind,
                set: Set::from_ranges(r),
                cidrs,
                interfaces,
                ssids,
            });
        }
        if zones.is_empty() {
            return Err(err("no zones".into()));
        }
        if let Some(i) = outside {
            // Undeclared private and special ranges belong to no zone: they are not the Internet.
            let special = Set::from_ranges(SPECIAL.iter().filter_map(|c| parse_range(c)).collect());
            let inside = zones.iter().fold(special, |acc, z| acc.union(&z.set));
            zones[i].set = inside.complement_in(&Set::all());
        }
        Ok(zones)
    }

    /// The zone holding an address: the most specific one when zones nest.
    pub fn zone_of(&self, ip: u128) -> Option<usize> {
        self.zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.set.contains(ip))
            .min_by_key(|(_, z)| z.set.size())
            .map(|(i, _)| i)
    }

    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.zones.iter().position(|z| z.name == name)
    }

    fn side(&self, side: &str, z: &Zone) -> bool {
        side == z.name || (self.by_name(side).is_none() && Kind::parse(side) == Some(z.kind))
    }

    /// The rules a flow from zone `a` to zone `b` breaks (empty: allowed).
    pub fn forbidden(&self, a: usize, b: usize) -> Vec<&'static RuleDef> {
        let (za, zb) = (&self.zones[a], &self.zones[b]);
        if a == b {
            return vec![];
        }
        if self
            .allow
            .iter()
            .any(|p| self.side(&p.from, za) && self.side(&p.to, zb))
        {
            return vec![];
        }
        let mut out = default_forbidden(za.kind, zb.kind);
        if self
            .deny
            .iter()
            .any(|p| self.side(&p.from, za) && self.side(&p.to, zb))
        {
            out.push(&CUSTOM);
        }
        out
    }
}
