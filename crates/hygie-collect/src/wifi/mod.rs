//! Wi-Fi: `hostapd.conf` files (every `bss=` section is a network) and a generic controller CSV.
//!
//! Controller CSV columns: `ssid`, `security` (open, wep, wpa-psk, wpa2-psk, wpa2-enterprise,
//! wpa3-sae, wpa3-enterprise, wpa2/wpa3-...), `cipher` (ccmp, tkip...), `wps` (yes/no),
//! `pmf` (disabled/optional/required), `usage` (internal/guest), `zone` (a zone of the model).
//! A network is a guest network when its usage says so, when a guest zone lists its SSID, or when
//! its SSID reads like one (guest, invité, visiteur, public, patient). With a zone model, a guest
//! SSID must land in a guest zone; with firewall configurations too, that zone must be isolated:
//! every path the segmentation engine finds from it to an internal zone is reported.

use crate::input::{Table, parse_bool};
use crate::network::model::{Kind, ZoneModel};
use crate::{CollectError, Collector, Evaluation, Files, NotEvaluated, Registration, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The source of its rules and check runs, and the collector's name.
const SOURCE: &str = "wifi";

pub static ENTERPRISE: RuleDef = RuleDef::new(
    "WIFI-INTERNAL-ENTERPRISE",
    SOURCE,
    Severity::High,
    Text::new(
        "Internal SSID not protected by WPA2/WPA3-Enterprise (802.1X)",
        "SSID interne non protégé par WPA2/WPA3-Entreprise (802.1X)",
    ),
    &["NET-02"],
);
pub static WEAK: RuleDef = RuleDef::new(
    "WIFI-WEAK-SECURITY",
    SOURCE,
    Severity::Critical,
    Text::new(
        "Open, WEP, WPA (v1) or TKIP network",
        "Réseau ouvert, WEP, WPA (v1) ou TKIP",
    ),
    &["NET-02"],
);
pub static WPS: RuleDef = RuleDef::new(
    "WIFI-WPS",
    SOURCE,
    Severity::High,
    Text::new("WPS enabled", "WPS activé"),
    &["NET-02"],
);
pub static PMF: RuleDef = RuleDef::new(
    "WIFI-PMF",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Protected management frames (802.11w) off",
        "Trames de gestion protégées (802.11w) désactivées",
    ),
    &["NET-02"],
);
pub static GUEST_ZONE: RuleDef = RuleDef::new(
    "WIFI-GUEST-ZONE",
    SOURCE,
    Severity::High,
    Text::new(
        "Guest SSID not mapped to an isolated guest zone",
        "SSID invités non rattaché à une zone invités isolée",
    ),
    &["NET-02", "NET-01"],
);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Wi-Fi: 802.1X on internal SSIDs, weak security, WPS, PMF, guest isolation",
        fr: "Wi-Fi : 802.1X sur les SSID internes, sécurité faible, WPS, PMF, isolement des invités",
    },
    rules: &[&ENTERPRISE, &WEAK, &WPS, &PMF, &GUEST_ZONE],
};

#[derive(Debug, Clone, Default, Serialize)]
pub struct WifiNet {
    pub ssid: String,
    pub origin: String,
    pub usage: Option<String>,
    pub enterprise: bool,
    pub open: bool,
    pub wep: bool,
    pub wpa1: bool,
    pub tkip: bool,
    pub wps: bool,
    /// `Some(false)` when off, `None` when unknown.
    pub pmf: Option<bool>,
    pub zone: Option<String>,
    /// hostapd interface and bridge, to map on zone interfaces.
    pub interfaces: Vec<String>,
}

/// Parse one hostapd.conf: the first network is the `interface=`, each `bss=` starts another.
pub fn parse_hostapd(path: &Path, text: &str) -> Result<Vec<WifiNet>> {
    #[derive(Default)]
    struct Sec {
        line: u64,
        kv: Vec<(String, String)>,
    }
    let mut secs = vec![Sec {
        line: 1,
        ..Default::default()
    }];
    for (i, raw) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            CollectError::at(path, Some(n), format!("expected key=value, found '{line}'"))
        })?;
        if k == "bss" {
            secs.push(Sec {
                line: n,
                ..Default::default()
            });
        }
        if let Some(s) = secs.last_mut() {
            s.kv.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut out = Vec::new();
    for s in secs {
        let get = |k: &str| {
            s.kv.iter()
                .rev()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.as_str())
        };
        let ssid = match (get("ssid"), get("ssid2")) {
            (Some(v), _) => v.to_owned(),
            (None, Some(v)) => v.trim_start_matches('P').trim_matches('"').to_owned(),
            (None, None) => {
                if s.kv.is_empty() {
                    continue;
                }
                return Err(CollectError::at(path, Some(s.line), "network without ssid"));
            }
        };
        let num = |k: &str| -> Result<u32> {
            match get(k) {
                None => Ok(0),
                Some(v) => v.parse().map_err(|_| {
                    CollectError::at(path, Some(s.line), format!("{k}={v} is not a number"))
                }),
            }
        };
        let wpa = num("wpa")?;
        let mgmt = get("wpa_key_mgmt")
            .unwrap_or(if wpa > 0 { "WPA-PSK" } else { "" })
            .to_ascii_uppercase();
        let ciphers = format!(
            "{} {}",
            get("wpa_pairwise").unwrap_or(""),
            get("rsn_pairwise").unwrap_or("")
        )
        .to_ascii_uppercase();
        let wep = (0..4).any(|i| get(&format!("wep_key{i}")).is_some());
        let dot1x = num("ieee8021x")? == 1;
        let enterprise = wpa > 0 && mgmt.split_whitespace().any(|m| m.contains("EAP"));
        let mut interfaces = Vec::new();
        for k in ["bss", "interface", "bridge"] {
            if let Some(v) = get(k) {
                interfaces.push(v.to_owned());
            }
        }
        out.push(WifiNet {
            ssid,
            origin: format!("{}:{}", path.display(), s.line),
            usage: None,
            enterprise,
            open: wpa == 0 && !wep && !dot1x,
            wep,
            wpa1: wpa & 1 == 1,
            tkip: wpa > 0
                && (ciphers.contains("TKIP") || (wpa & 1 == 1 && ciphers.trim().is_empty())),
            wps: num("wps_state")? > 0,
            pmf: Some(num("ieee80211w")? > 0),
            zone: None,
            interfaces,
        });
    }
    Ok(out)
}

pub fn parse_controller_csv(t: &Table) -> Result<Vec<WifiNet>> {
    t.require(&["ssid"])?;
    t.require(&["security", "auth", "authentication"])?;
    let mut out = Vec::new();
    for row in &t.rows {
        let sec = t
            .req(row, &["security", "auth", "authentication"])?
            .to_ascii_lowercase();
        let cipher = t
            .get(row, &["cipher", "encryption"])
            .unwrap_or("")
            .to_ascii_lowercase();
        let known = [
            "open",
            "none",
            "wep",
            "wpa",
            "owe",
            "enterprise",
            "802.1x",
            "psk",
            "sae",
            "personal",
        ];
        if !known.iter().any(|k| sec.contains(k)) {
            return Err(t.error(row, format!("security '{sec}' not understood")));
        }
        let pmf = match t.get(row, &["pmf", "802.11w", "80211w", "mfp"]) {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "required" | "optional" | "capable" => true,
                "disabled" => false,
                other => parse_bool(other).ok_or_else(|| {
                    t.error(row, format!("pmf '{v}' is not disabled/optional/required"))
                })?,
            }),
        };
        let wpa1 = sec.split(['/', ' ', '-', '+']).any(|w| w == "wpa")
            || sec.starts_with("wpa-")
            || sec == "wpa";
        out.push(WifiNet {
            ssid: t.req(row, &["ssid"])?.to_owned(),
            origin: format!("{}:{}", t.path.display(), row.line),
            usage: t
                .get(row, &["usage", "role", "purpose"])
                .map(str::to_ascii_lowercase),
            enterprise: sec.contains("enterprise") || sec.contains("802.1x") || sec.contains("eap"),
            open: sec == "open" || sec == "none" || sec == "owe",
            wep: sec.contains("wep"),
            wpa1,
            tkip: cipher.contains("tkip"),
            wps: t.bool(row, &["wps"])?.unwrap_or(false),
            pmf,
            zone: t.get(row, &["zone", "vlan_zone"]).map(str::to_owned),
            interfaces: vec![],
        });
    }
    Ok(out)
}

const GUEST_WORDS: [&str; 6] = ["guest", "invit", "visit", "public", "patient", "hotspot"];

#[derive(Debug, Clone, Default)]
pub struct WifiInputs {
    pub hostapd: Vec<PathBuf>,
    pub controller_csv: Vec<PathBuf>,
    pub zones: Option<PathBuf>,
    /// Firewall configurations (read as by the network collector; its `zones` is ignored).
    pub firewalls: Option<crate::network::NetInputs>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WifiEvidence {
    pub networks: Vec<WifiNet>,
    pub zones: Option<ZoneModel>,
    pub firewalls: Vec<crate::network::firewall::Firewall>,
}

impl WifiEvidence {
    fn guest_zone_of(&self, n: &WifiNet) -> Option<usize> {
        let z = self.zones.as_ref()?;
        if let Some(name) = &n.zone {
            return z.by_name(name);
        }
        z.zones
            .iter()
            .position(|zone| zone.ssids.iter().any(|s| s == &n.ssid))
            .or_else(|| {
                z.zones
                    .iter()
                    .position(|zone| zone.interfaces.iter().any(|i| n.interfaces.contains(i)))
            })
    }

    pub fn is_guest(&self, n: &WifiNet) -> bool {
        if let Some(u) = &n.usage {
            return u.contains("guest") || u.contains("invit") || u.contains("public");
        }
        if let Some(z) = &self.zones
            && z.zones
                .iter()
                .any(|zone| zone.kind == Kind::Guest && zone.ssids.contains(&n.ssid))
        {
            return true;
        }
        let s = n.ssid.to_lowercase();
        GUEST_WORDS.iter().any(|w| s.contains(w))
    }
}

pub struct Wifi;

impl Collector for Wifi {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = WifiInputs;
    type Evidence = WifiEvidence;

    fn parse(&self, i: &WifiInputs, files: &dyn Files) -> Result<WifiEvidence> {
        let mut networks = Vec::new();
        for p in &i.hostapd {
            networks.extend(parse_hostapd(p, &crate::input::read(files, p)?)?);
        }
        for p in &i.controller_csv {
            networks.extend(parse_controller_csv(&Table::read(files, p)?)?);
        }
        if networks.is_empty() {
            return Err(CollectError::Usage(
                "no Wi-Fi network read: give --hostapd or --controller-csv".into(),
            ));
        }
        let zones = match &i.zones {
            Some(p) => Some(ZoneModel::read(files, p)?),
            None => None,
        };
        let firewalls = match (&i.firewalls, &zones) {
            (Some(f), Some(z)) => crate::network::read_firewalls(files, f, z)?,
            (Some(f), None)
                if !(f.nft.is_empty() && f.iptables.is_empty() && f.csv_rules.is_empty()) =>
            {
                return Err(CollectError::Usage(
                    "firewall configurations need the zone model (--zones)".into(),
                ));
            }
            _ => vec![],
        };
        Ok(WifiEvidence {
            networks,
            zones,
            firewalls,
        })
    }

    fn evaluate(&self, e: &WifiEvidence, _now: jiff::Timestamp) -> Evaluation {
        let label = |n: &WifiNet| format!("{} ({})", n.ssid, n.origin);
        let mut ent = Vec::new();
        let mut weak = Vec::new();
        let mut wps = Vec::new();
        let mut pmf = Vec::new();
        let mut guest = Vec::new();
        // Paths out of guest zones to internal ones, per firewall: computed once.
        let mut leaks: Vec<crate::network::Violation> = Vec::new();
        if let Some(z) = &e.zones {
            for fw in &e.firewalls {
                let cells = crate::network::reach::cells(z, fw);
                leaks.extend(
                    crate::network::violations(z, fw, &cells)
                        .into_iter()
                        .filter(|v| v.rule == crate::network::model::GUEST.id),
                );
            }
        }
        for n in &e.networks {
            let is_guest = e.is_guest(n);
            if !is_guest && !n.enterprise {
                ent.push(label(n));
            }
            let mut why = Vec::new();
            if n.open {
                why.push("open");
            }
            if n.wep {
                why.push("WEP");
            }
            if n.wpa1 {
                why.push("WPA v1");
            }
            if n.tkip {
                why.push("TKIP");
            }
            if !why.is_empty() {
                weak.push(format!("{}: {}", label(n), why.join(", ")));
            }
            if n.wps {
                wps.push(label(n));
            }
            if n.pmf == Some(false) && !n.open && !n.wep {
                pmf.push(label(n));
            }
            if is_guest && let Some(z) = &e.zones {
                match e.guest_zone_of(n) {
                    None => guest.push(format!("{}: not mapped to any zone", label(n))),
                    Some(i) if z.zones[i].kind != Kind::Guest => guest.push(format!(
                        "{}: mapped to zone '{}' of kind {:?}",
                        label(n),
                        z.zones[i].name,
                        z.zones[i].kind
                    )),
                    Some(i) => {
                        for v in leaks.iter().filter(|v| v.from == z.zones[i].name) {
                            guest.push(format!(
                                "{}: zone '{}' not isolated: {} → {}: {} allowed by {}",
                                label(n),
                                v.from,
                                v.from,
                                v.to,
                                v.services.join(" "),
                                v.by.join(" + ")
                            ));
                        }
                    }
                }
            }
        }
        let mut findings = vec![
            ENTERPRISE.finding(ent),
            WEAK.finding(weak),
            WPS.finding(wps),
            PMF.finding(pmf),
        ];
        let mut not_evaluated = Vec::new();
        if e.zones.is_some() {
            findings.push(GUEST_ZONE.finding(guest));
        } else {
            not_evaluated.push(NotEvaluated {
                rule: GUEST_ZONE.id.into(),
                reason: "no zone model given (--zones)".into(),
            });
        }
        Evaluation {
            findings,
            not_evaluated,
            summary: serde_json::json!({
                "networks": e.networks.iter().map(|n| serde_json::json!({
                    "ssid": n.ssid, "origin": n.origin, "guest": e.is_guest(n), "enterprise": n.enterprise,
                })).collect::<Vec<_>>(),
            }),
        }
    }
}
