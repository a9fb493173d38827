//! What one source says about one device ([`Observation`]), before merging.

use serde::{Deserialize, Serialize};

/// The kind of source an observation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// FusionInventory or GLPI Agent XML inventory (`fusioninventory-inventory`).
    FusionInventory,
    /// OCS Inventory NG XML (`ocsinventory-agent --local`).
    Ocs,
    /// An nmap XML scan (`nmap -oX`).
    Nmap,
    /// The computer accounts of an Active Directory snapshot.
    Ad,
    /// The documented CSV (a biomedical engineering export, a spreadsheet).
    Csv,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        SourceKind::FusionInventory,
        SourceKind::Ocs,
        SourceKind::Nmap,
        SourceKind::Ad,
        SourceKind::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::FusionInventory => "fusioninventory",
            SourceKind::Ocs => "ocs",
            SourceKind::Nmap => "nmap",
            SourceKind::Ad => "ad",
            SourceKind::Csv => "csv",
        }
    }

    /// `fusioninventory` (or `glpi`), `ocs`, `nmap`, `ad`, `csv`.
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fusioninventory" | "fusion" | "glpi" | "glpi-agent" => {
                Some(SourceKind::FusionInventory)
            }
            "ocs" | "ocsinventory" => Some(SourceKind::Ocs),
            "nmap" => Some(SourceKind::Nmap),
            "ad" => Some(SourceKind::Ad),
            "csv" => Some(SourceKind::Csv),
            _ => None,
        }
    }

    /// An inventory agent running on the device itself (hardware and software).
    pub fn is_agent(self) -> bool {
        matches!(self, SourceKind::FusionInventory | SourceKind::Ocs)
    }

    /// A source that inventories the device (an agent, or the facility's own declared list), as
    /// opposed to one that only sees it (a scan, a directory account).
    pub fn is_inventory(self) -> bool {
        self.is_agent() || self == SourceKind::Csv
    }

    /// Which source's description of a device is preferred when two differ: what runs on the
    /// device, then the directory, then the declared list, then what a scan guesses.
    pub fn rank(self) -> u8 {
        match self {
            SourceKind::FusionInventory | SourceKind::Ocs => 4,
            SourceKind::Ad => 3,
            SourceKind::Csv => 2,
            SourceKind::Nmap => 1,
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a device is, for the register's filters and the medical-device rules.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Workstation,
    Server,
    Network,
    Printer,
    /// A connected medical device (by the scan's device type, its vendor or the facility's list).
    Medical,
    #[default]
    Unknown,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Workstation,
        Category::Server,
        Category::Network,
        Category::Printer,
        Category::Medical,
        Category::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Workstation => "workstation",
            Category::Server => "server",
            Category::Network => "network",
            Category::Printer => "printer",
            Category::Medical => "medical",
            Category::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        match s.trim().to_lowercase().as_str() {
            "workstation" | "poste" | "desktop" | "laptop" | "pc" => Some(Category::Workstation),
            "server" | "serveur" => Some(Category::Server),
            "network" | "réseau" | "reseau" | "switch" | "router" | "firewall" => {
                Some(Category::Network)
            }
            "printer" | "imprimante" => Some(Category::Printer),
            "medical" | "médical" | "biomedical" | "biomédical" | "dm" | "medical device" => {
                Some(Category::Medical)
            }
            "unknown" | "inconnu" | "" => Some(Category::Unknown),
            _ => None,
        }
    }
}

/// An installed software package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Software {
    pub name: String,
    pub version: Option<String>,
    pub vendor: Option<String>,
}

/// An operating system as a source names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatingSystem {
    pub name: String,
    pub version: Option<String>,
}

/// An open port a scan found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Port {
    pub protocol: String,
    pub port: u16,
    pub service: Option<String>,
}

/// One device as one source saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Observation {
    /// Where in the input: `file` or `file:line`.
    pub origin: String,
    /// When the source saw it (the agent's date, the scan's time, the last logon); `None`: the
    /// import's time.
    pub seen: Option<jiff::Timestamp>,
    pub hostname: Option<String>,
    /// MAC addresses, lower case, colon separated.
    pub macs: Vec<String>,
    pub serial: Option<String>,
    pub ips: Vec<String>,
    pub os: Option<OperatingSystem>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// What the source says the device is, when it says.
    pub category: Option<Category>,
    /// The scan's device type or the MAC vendor, used to recognise medical devices.
    pub hints: Vec<String>,
    pub ports: Vec<Port>,
    /// The directory says it is a domain controller (a server trust account, or under
    /// `OU=Domain Controllers`); only the AD source says so.
    pub domain_controller: bool,
    /// `None`: the source does not report software (a scan, the directory).
    pub software: Option<Vec<Software>>,
    pub owner: Option<String>,
    pub zone: Option<String>,
}

/// A MAC address in one spelling (`aa:bb:cc:dd:ee:ff`), or `None` for what identifies no device
/// (all zeros, broadcast, not six bytes).
pub fn normalise_mac(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let seps = s.chars().filter(|c| !c.is_ascii_hexdigit()).count();
    if hex.len() != 12 || seps > 5 {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    if hex == "000000000000" || hex == "ffffffffffff" {
        return None;
    }
    let parts: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(parts.join(":"))
}

/// A serial number that identifies a device: trimmed, upper case; `None` for the placeholders
/// firmware leaves ("To be filled by O.E.M.", "Default string", zeros...).
pub fn normalise_serial(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_uppercase();
    let placeholder = t.is_empty()
        || t.chars().all(|c| c == '0' || c == ' ' || c == '-')
        || [
            "TO BE FILLED",
            "DEFAULT STRING",
            "SYSTEM SERIAL NUMBER",
            "NOT SPECIFIED",
            "NOT APPLICABLE",
            "N/A",
            "NONE",
            "UNKNOWN",
            "0123456789",
            "CHASSIS SERIAL NUMBER",
        ]
        .iter()
        .any(|p| t.starts_with(p));
    (!placeholder).then_some(t)
}

/// A host name as a merge key: lower case, first DNS label, no trailing `$` (PC-01$ of the
/// directory, pc-01.chu.local of the DNS and PC-01 of an agent are one name).
pub fn host_key(s: &str) -> Option<String> {
    let k = hygie_collect::input::host_key(s);
    (!k.is_empty()).then_some(k)
}

/// A trimmed, non-empty value.
pub fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_serials_and_names_normalise() {
        assert_eq!(
            normalise_mac("02-FC-00-00-00-01").as_deref(),
            Some("02:fc:00:00:00:01")
        );
        assert_eq!(normalise_mac("00:00:00:00:00:00"), None);
        assert_eq!(normalise_mac("02:fc:00"), None);
        assert_eq!(normalise_serial(" To be filled by O.E.M. "), None);
        assert_eq!(normalise_serial("0000000"), None);
        assert_eq!(normalise_serial("cz1234").as_deref(), Some("CZ1234"));
        assert_eq!(host_key("PC-01$").as_deref(), Some("pc-01"));
        assert_eq!(host_key("pc-01.chu.local").as_deref(), Some("pc-01"));
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Some(k));
        }
    }
}
