//! A collector run from uploaded files: what the web app's upload form sends (the kind of
//! export and each file under the role it plays) becomes the collector's inputs, read from
//! memory, with the command line's default options. Pure: nothing touches the disk, so the
//! server keeps no copy of an export.
//!
//! Each file is held under the path `ROLE/N-NAME`, which is also what an error names
//! (`inventory/1-hosts.csv:12: …`), so the person who uploaded it recognises their file.

use crate::input::InMemory;
use crate::{CollectError, Report, Result, antivirus, backups, mfa, network, patching, wifi};
use std::path::PathBuf;

/// One uploaded file: the form field it came in (its role), its name, its bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub role: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A kind of export the server audits, with the roles its files may play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The form's value and the collector's name.
    pub name: &'static str,
    /// (role, required, several allowed)
    pub roles: &'static [(&'static str, bool, bool)],
}

/// The collectors the server runs from uploads. The password audit is not among them: NT-hash
/// dumps never leave the CISO's machine.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "backups",
        roles: &[
            ("inventory", true, false),
            ("restic", false, true),
            ("borg", false, true),
            ("csv", false, true),
        ],
    },
    Kind {
        name: "antivirus",
        roles: &[("inventory", true, false), ("av_csv", false, true)],
    },
    Kind {
        name: "patching",
        roles: &[("inventory", true, false)],
    },
    Kind {
        name: "network",
        roles: &[
            ("zones", true, false),
            ("nft", false, true),
            ("iptables", false, true),
            ("ipset", false, true),
            ("rules_csv", false, true),
            ("flows", false, true),
        ],
    },
    Kind {
        name: "wifi",
        roles: &[
            ("hostapd", false, true),
            ("controller_csv", false, true),
            ("zones", false, false),
            ("nft", false, true),
            ("iptables", false, true),
            ("ipset", false, true),
        ],
    },
    Kind {
        name: "mfa",
        roles: &[
            ("required", false, false),
            ("groups", false, false),
            ("idp", false, true),
        ],
    },
];

/// The kind named `name`, if the server audits it.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The uploaded files sorted by role, each under its path in memory.
struct Sorted {
    files: InMemory,
    by_role: Vec<(String, PathBuf)>,
}

impl Sorted {
    fn all(&self, role: &str) -> Vec<PathBuf> {
        self.by_role
            .iter()
            .filter(|(r, _)| r == role)
            .map(|(_, p)| p.clone())
            .collect()
    }

    fn one(&self, role: &str) -> Option<PathBuf> {
        self.all(role).into_iter().next()
    }

    fn required(&self, role: &str) -> Result<PathBuf> {
        self.one(role).ok_or_else(|| {
            CollectError::Usage(format!(
                "{role}: this export needs the file / ce type d'export demande ce fichier"
            ))
        })
    }
}

fn sort(kind: &Kind, uploads: Vec<Upload>) -> Result<Sorted> {
    let mut files = InMemory::default();
    let mut by_role = Vec::new();
    for (n, u) in uploads.into_iter().enumerate() {
        let Some(&(_, _, several)) = kind.roles.iter().find(|(r, _, _)| *r == u.role) else {
            return Err(CollectError::Usage(format!(
                "{}: not a file of a {} export / pas un fichier d'un export {}",
                u.role, kind.name, kind.name
            )));
        };
        if !several && by_role.iter().any(|(r, _)| *r == u.role) {
            return Err(CollectError::Usage(format!(
                "{}: one file only / un seul fichier",
                u.role
            )));
        }
        // The name as the browser sent it, without any folder: it only labels the file.
        let name: String = u
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        let path = PathBuf::from(format!("{}/{}-{}", u.role, n + 1, name));
        files.0.insert(path.clone(), u.bytes);
        by_role.push((u.role, path));
    }
    Ok(Sorted { files, by_role })
}

/// Run the collector of `kind` over `uploads`, as of `now`, with the command line's default
/// options. Errors name the role and file at fault.
pub fn run(kind: &Kind, uploads: Vec<Upload>, now: jiff::Timestamp) -> Result<Report> {
    let s = sort(kind, uploads)?;
    let firewalls = |zones: PathBuf| {
        let mut i = network::NetInputs::new(zones);
        i.nft = s.all("nft");
        i.iptables = s.all("iptables");
        i.ipsets = s.all("ipset");
        i
    };
    match kind.name {
        "backups" => {
            let mut i = backups::BackupInputs::new(s.required("inventory")?);
            i.restic = s.all("restic").into_iter().map(|p| (None, p)).collect();
            i.borg = s.all("borg").into_iter().map(|p| (None, p)).collect();
            i.csv = s.all("csv");
            crate::run_from(&backups::Backups, &i, &s.files, now)
        }
        "antivirus" => {
            let i = antivirus::AvInputs {
                inventory: s.required("inventory")?,
                av_csv: s.all("av_csv"),
                clamav: Vec::new(),
                max_signature_age_hours: 24,
            };
            crate::run_from(&antivirus::Antivirus, &i, &s.files, now)
        }
        "patching" => {
            let i = patching::PatchInputs {
                inventory: s.required("inventory")?,
                eol_table: None,
                warn_months: 6,
                max_update_age_days: None,
            };
            crate::run_from(&patching::Patching, &i, &s.files, now)
        }
        "network" => {
            let mut i = firewalls(s.required("zones")?);
            i.csv_rules = s.all("rules_csv");
            i.flows = s.all("flows");
            crate::run_from(&network::Network, &i, &s.files, now)
        }
        "wifi" => {
            let any_firewall = ["nft", "iptables"].iter().any(|r| s.one(r).is_some());
            let i = wifi::WifiInputs {
                hostapd: s.all("hostapd"),
                controller_csv: s.all("controller_csv"),
                zones: s.one("zones"),
                firewalls: any_firewall.then(|| firewalls(PathBuf::new())),
            };
            crate::run_from(&wifi::Wifi, &i, &s.files, now)
        }
        "mfa" => {
            let i = mfa::MfaInputs {
                required_csv: s.one("required"),
                groups_csv: s.one("groups"),
                privileged_groups: mfa::DEFAULT_PRIVILEGED_GROUPS
                    .iter()
                    .map(|g| (*g).to_owned())
                    .collect(),
                remote_groups: Vec::new(),
                patient_record_groups: Vec::new(),
                idp_csv: s.all("idp"),
                mfa_groups: Vec::new(),
                min_coverage: 100.0,
            };
            crate::run_from(&mfa::Mfa, &i, &s.files, now)
        }
        other => Err(CollectError::Usage(format!(
            "{other}: not an export the server audits / pas un export audité par le serveur"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(role: &str, name: &str, text: &str) -> Upload {
        Upload {
            role: role.into(),
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const HOSTAPD_WEP: &str = "interface=wlan0\nssid=Invites\nwep_key0=0123456789\nauth_algs=1\n";

    #[test]
    fn a_wifi_upload_runs_the_collector_from_memory() {
        let k = kind("wifi").unwrap();
        let r = run(
            k,
            vec![up("hostapd", "C:\\conf\\ap1.conf", HOSTAPD_WEP)],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(r.collector, "wifi");
        assert!(r.failed().count() > 0, "WEP fails: {:?}", r.findings);
    }

    #[test]
    fn roles_are_checked_and_errors_name_the_file() {
        let k = kind("backups").unwrap();
        let e = run(k, vec![], jiff::Timestamp::UNIX_EPOCH).unwrap_err();
        assert!(e.to_string().starts_with("inventory:"), "{e}");
        let e = run(
            k,
            vec![up("hostapd", "a.conf", "")],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("not a file of a backups export"),
            "{e}"
        );
        let e = run(
            kind("patching").unwrap(),
            vec![up("inventory", "a.csv", "x"), up("inventory", "b.csv", "y")],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        assert!(e.to_string().contains("one file only"), "{e}");
        let e = run(
            kind("patching").unwrap(),
            vec![up("inventory", "../../hosts.csv", "\u{0}\u{ff}garbage")],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("inventory/1-hosts.csv"), "{e}");
    }
}
