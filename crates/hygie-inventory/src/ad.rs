//! The computers of an Active Directory snapshot (the AD audit's model, from a live collection or
//! an LDIF export): one observation per enabled computer account, named by its `cn` (without the
//! `$`), with `operatingSystem` / `operatingSystemVersion` and, as the date it was seen, its last
//! logon (else its creation; else the import's time). Disabled accounts are not devices in use.

use crate::model::{Category, Observation, OperatingSystem, clean};
use hygie_ad::AdSnapshot;
use hygie_ad::model::AccountKind;

/// The enabled computers of `snapshot`, read from `file`.
pub fn observations(file: &str, snapshot: &AdSnapshot) -> Vec<Observation> {
    snapshot
        .accounts
        .iter()
        .filter(|a| a.kind == AccountKind::Computer && a.enabled())
        .map(|a| {
            let os = a.os.as_deref().and_then(clean).map(|name| OperatingSystem {
                name,
                version: a.os_version.as_deref().and_then(clean),
            });
            let server = a.is_dc()
                || os
                    .as_ref()
                    .is_some_and(|o| o.name.to_lowercase().contains("server"));
            Observation {
                origin: format!("{file}: {}", a.dn),
                seen: a.last_activity(),
                hostname: clean(a.name.trim_end_matches('$')),
                os,
                category: Some(if server {
                    Category::Server
                } else {
                    Category::Workstation
                }),
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{SourceKind, read};

    #[test]
    fn enabled_computers_of_an_ldif_export() {
        let ldif = "dn: DC=chu,DC=test\nobjectClass: domainDNS\n\n\
dn: CN=PC-01,OU=Postes,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: PC-01$\nuserAccountControl: 4096\noperatingSystem: Windows 10 Pro\noperatingSystemVersion: 10.0 (19045)\nlastLogonTimestamp: 134090208000000000\n\n\
dn: CN=PC-OLD,OU=Postes,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: PC-OLD$\nuserAccountControl: 4098\n\n\
dn: CN=alice,CN=Users,DC=chu,DC=test\nobjectClass: user\nsAMAccountName: alice\nuserAccountControl: 512\n";
        let o = read(SourceKind::Ad, "ad.ldif", ldif.as_bytes()).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].hostname.as_deref(), Some("PC-01"));
        let os = o[0].os.as_ref().unwrap();
        assert_eq!(
            (os.name.as_str(), os.version.as_deref()),
            ("Windows 10 Pro", Some("10.0 (19045)"))
        );
        assert!(o[0].seen.is_some());
        let e = read(
            SourceKind::Ad,
            "ad.ldif",
            b"dn: CN=x\nobjectClass: computer\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("ad.ldif: LDIF export:"), "{e}");
    }
}
