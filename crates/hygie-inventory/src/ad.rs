//! The computers of an Active Directory snapshot (the AD audit's model, from a live collection or
//! an LDIF export): one observation per enabled computer account, named by its `cn` (without the
//! `$`), with `operatingSystem` / `operatingSystemVersion` and, as the date it was seen, its last
//! logon (else its creation; else the import's time). Disabled accounts are not devices in use.
//!
//! **Domain controllers** are recognised from the directory itself, not only from the ports a scan
//! sees: a computer account with `SERVER_TRUST_ACCOUNT` (userAccountControl 0x2000), a read-only
//! DC's `PARTIAL_SECRETS_ACCOUNT` (0x4000000) or primary group 516/521 (`AdAccount::is_dc`), or
//! one placed under `OU=Domain Controllers` (where `dcpromo` puts them), is a server marked
//! `domain_controller` in the register: a sensitive server on the IS map.

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
            let dc = a.is_dc() || under_domain_controllers(&a.dn);
            let server = dc
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
                domain_controller: dc,
                ..Default::default()
            }
        })
        .collect()
}

/// Whether `dn` is in the `OU=Domain Controllers` container (its parent, or below it), in any
/// case and spacing.
fn under_domain_controllers(dn: &str) -> bool {
    dn.split(',').skip(1).any(|rdn| {
        rdn.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("ou")
                && v.trim().eq_ignore_ascii_case("domain controllers")
        })
    })
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

    #[test]
    fn domain_controllers_by_trust_account_or_container() {
        // DC-01: a server trust account (0x2000 + 0x80000 trusted for delegation); DC-02: only
        // its place under OU=Domain Controllers; SRV-APP: a member server; PC-01: a workstation.
        let ldif = "dn: DC=chu,DC=test\nobjectClass: domainDNS\n\n\
dn: CN=DC-01,OU=Sites,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: DC-01$\nuserAccountControl: 532480\noperatingSystem: Windows Server 2022 Standard\n\n\
dn: CN=DC-02,OU=Domain Controllers,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: DC-02$\nuserAccountControl: 4096\n\n\
dn: CN=SRV-APP,OU=Serveurs,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: SRV-APP$\nuserAccountControl: 4096\noperatingSystem: Windows Server 2019 Standard\n\n\
dn: CN=PC-01,OU=Postes,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: PC-01$\nuserAccountControl: 4096\noperatingSystem: Windows 11 Pro\n";
        let o = read(SourceKind::Ad, "ad.ldif", ldif.as_bytes()).unwrap();
        let got: Vec<(&str, bool, Option<crate::Category>)> = o
            .iter()
            .map(|o| {
                (
                    o.hostname.as_deref().unwrap(),
                    o.domain_controller,
                    o.category,
                )
            })
            .collect();
        use crate::Category::{Server, Workstation};
        assert_eq!(
            got,
            vec![
                ("DC-01", true, Some(Server)),
                ("DC-02", true, Some(Server)),
                ("PC-01", false, Some(Workstation)),
                ("SRV-APP", false, Some(Server)),
            ]
        );
        assert!(super::under_domain_controllers(
            "CN=X,ou = domain controllers ,DC=a"
        ));
        assert!(!super::under_domain_controllers(
            "OU=Domain Controllers,DC=a"
        ));
        assert!(!super::under_domain_controllers(
            "CN=X,OU=Domain Controllers Old,DC=a"
        ));
    }
}
