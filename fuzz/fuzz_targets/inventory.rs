//! The inventory as `hygie inventory import` runs it: each file read by the source its name
//! starts with (`==> fusion….xml <==`: FusionInventory / GLPI Agent, `ocs…`: OCS Inventory,
//! `nmap…`: an nmap XML scan, `ad…`: an AD LDIF export, `csv…`: the documented CSV; the first
//! file is FusionInventory's), merged into one register as successive imports merge, then the
//! inventory's rules over it.
#![no_main]

use hygie_collect::patching::EolTable;
use hygie_inventory::rules::{self, Policy};
use hygie_inventory::{Register, SourceKind};
use std::sync::OnceLock;

fn eol() -> &'static Option<EolTable> {
    static EOL: OnceLock<Option<EolTable>> = OnceLock::new();
    EOL.get_or_init(|| EolTable::bundled().ok())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(eol) = eol() else {
        return;
    };
    let now = hygie_fuzz::now();
    let mut register = Register::new(Vec::new());
    for (name, bytes) in hygie_fuzz::split(data, "fusion.xml") {
        let kind = match () {
            _ if name.starts_with("fusion") => SourceKind::FusionInventory,
            _ if name.starts_with("ocs") => SourceKind::Ocs,
            _ if name.starts_with("nmap") => SourceKind::Nmap,
            _ if name.starts_with("ad") => SourceKind::Ad,
            _ if name.starts_with("csv") => SourceKind::Csv,
            _ => continue,
        };
        let Ok(observations) = hygie_inventory::read(kind, &name, bytes) else {
            continue;
        };
        for o in observations {
            register.absorb(kind, o, now);
        }
    }
    let assets = register.into_assets();
    let policy = Policy { max_age_days: 30 };
    let evaluation = rules::evaluate(&assets, eol, policy, now);
    let _ = rules::summary(&assets, policy);
    let _ = serde_json::to_string(&evaluation.findings);
});
