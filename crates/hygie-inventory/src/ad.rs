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
