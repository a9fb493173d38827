//! Directory login: the configuration `hygie serve --directory-login FILE` reads, and the
//! mapping from a directory account's groups to a Hygie role and binding.
//!
//! The mapping is a list read in order; the first entry whose group the account is in (directly
//! or through nested groups) decides, so an administrator lists the most specific groups first.
//! An account in no mapped group is refused (and the refusal journalled). Every entry is checked
//! when the server starts (role, binding allowed for the role, facilities and regions well
//! formed), so that a mistake stops `serve` with the file and entry named, never a login later.
//!
//! ```toml
//! url = "ldaps://dc1.chu.test"      # ldaps://, or ldap:// with starttls = true
//! ca_cert = "/etc/hygie/ad-ca.pem"  # else the system's roots
//! tls_server_name = "dc1.chu.test"  # when the URL's host is not the certificate's name
//! base_dn = "DC=chu,DC=test"        # else the domain's naming context
//! upn_suffix = "chu.test"           # users type `jdupont` or `jdupont@chu.test`
//! timeout_seconds = 10
//!
//! [[map]]
//! group = "CN=GG-Hygie-RSSI,OU=Groupes,DC=chu,DC=test"
//! role = "ciso"
//! facilities = ["750712184"]
//!
//! [[map]]
//! group = "CN=GG-ARS-Referents,OU=Groupes,DC=chu,DC=test"
//! role = "regional_officer"
//! region = "11"
//! ```

use crate::mapping::{Mapping, decide};
use hygie_ad::collect::LdapOptions;
use hygie_ad::login::{Directory, same_dn};
use hygie_core::Finess;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The directory login of a `hygie serve`.
#[derive(Debug, Clone)]
pub struct DirectoryLogin {
    pub directory: Directory,
    pub maps: Vec<Mapping>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DirectoryConfigError {
    pub path: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    url: String,
    ca_cert: Option<PathBuf>,
    tls_server_name: Option<String>,
    #[serde(default)]
    starttls: bool,
    base_dn: Option<String>,
    upn_suffix: String,
    timeout_seconds: Option<u64>,
    #[serde(default)]
    map: Vec<MapForm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapForm {
    group: String,
    role: String,
    #[serde(default)]
    facilities: Vec<String>,
    region: Option<String>,
}

impl DirectoryLogin {
    /// Read and check a configuration file.
    pub fn load(path: &Path) -> Result<Self, DirectoryConfigError> {
        let err = |message: String| DirectoryConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    /// Check a configuration's text; the error names the field or the `[[map]]` entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let f: FileForm = toml::from_str(text).map_err(|e| e.to_string())?;
        if !(f.url.starts_with("ldaps://") || f.url.starts_with("ldap://") && f.starttls) {
            return Err(format!(
                "url '{}': use ldaps://, or ldap:// with starttls = true (a password never travels in clear) / utilisez ldaps://, ou ldap:// avec starttls = true",
                f.url
            ));
        }
        let suffix = f.upn_suffix.trim();
        if suffix.is_empty() || suffix.contains('@') {
            return Err(
                "upn_suffix: a domain name such as chu.test / un nom de domaine tel que chu.test"
                    .into(),
            );
        }
        if f.map.is_empty() {
            return Err("no [[map]] entry: no directory account could sign in / aucune entrée [[map]] : aucun compte de l'annuaire ne pourrait se connecter".into());
        }
        let mut maps = Vec::with_capacity(f.map.len());
        for (i, m) in f.map.iter().enumerate() {
            let at = |msg: String| format!("[[map]] entry {} (group '{}'): {msg}", i + 1, m.group);
            if !m.group.contains('=') {
                return Err(at("the group must be a distinguished name (CN=...,DC=...) / le groupe doit être un nom distinctif".into()));
            }
            maps.push(
                Mapping::parse(&m.group, &m.role, &m.facilities, m.region.as_deref())
                    .map_err(at)?,
            );
        }
        let mut connection = LdapOptions::new(&f.url, "", hygie_ad::collect::Password::from(""));
        connection.ca_cert = f.ca_cert;
        connection.tls_server_name = f.tls_server_name;
        connection.starttls = f.starttls;
        connection.base_dn = f.base_dn;
        if let Some(s) = f.timeout_seconds {
            connection.timeout = std::time::Duration::from_secs(s.clamp(1, 60));
        }
        Ok(DirectoryLogin {
            directory: Directory {
                connection,
                upn_suffix: suffix.to_owned(),
            },
            maps,
        })
    }

    /// The mapping that decides for an account in `groups` (distinguished names), if any.
    pub fn decide(&self, groups: &[String]) -> Option<&Mapping> {
        decide(&self.maps, groups, same_dn)
    }

    /// Every facility the mapping names (the server checks they exist before serving).
    pub fn facilities(&self) -> impl Iterator<Item = &Finess> {
        crate::mapping::facilities(&self.maps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hygie_store::Role;

    const OK: &str = r#"
url = "ldaps://127.0.0.1:636"
tls_server_name = "dc1.chu.test"
upn_suffix = "chu.test"
[[map]]
group = "CN=GG-Hygie-RSSI,OU=Groupes,DC=chu,DC=test"
role = "ciso"
facilities = ["750712184"]
[[map]]
group = "CN=GG-ARS,DC=chu,DC=test"
role = "regional_officer"
region = "11"
"#;

    #[test]
    fn the_first_matching_group_decides() {
        let d = DirectoryLogin::parse(OK).unwrap();
        let both = vec![
            "cn=gg-ars,dc=chu,dc=test".to_string(),
            "CN=GG-Hygie-RSSI, OU=Groupes,DC=chu,DC=test".to_string(),
        ];
        assert_eq!(d.decide(&both).unwrap().role, Role::Ciso);
        assert_eq!(d.decide(&both[..1]).unwrap().role, Role::RegionalOfficer);
        assert!(d.decide(&["CN=Other,DC=chu,DC=test".to_string()]).is_none());
        assert!(d.decide(&[]).is_none());
    }

    #[test]
    fn mistakes_are_refused_with_their_entry() {
        let bad = |from: &str, to: &str| DirectoryLogin::parse(&OK.replace(from, to)).unwrap_err();
        assert!(bad("ldaps://127.0.0.1:636", "ldap://127.0.0.1").contains("starttls"));
        let e = bad("role = \"ciso\"", "role = \"boss\"");
        assert!(e.contains("entry 1") && e.contains("boss"), "{e}");
        let e = bad("region = \"11\"", "facilities = [\"750712184\"]");
        assert!(e.contains("entry 2") && e.contains("region"), "{e}");
        let e = bad("750712184", "12");
        assert!(e.contains("entry 1"), "{e}");
        assert!(bad("upn_suffix", "upn_sufix").contains("upn_sufix"));
        let e = DirectoryLogin::parse(OK.split("[[map]]").next().unwrap()).unwrap_err();
        assert!(e.contains("[[map]]"), "{e}");
    }
}
