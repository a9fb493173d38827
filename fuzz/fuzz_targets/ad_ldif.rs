//! An LDIF export read as `hygie audit ad --ldif FILE` reads it, with optional thresholds
//! (`==> config.toml <==`, as `--config`), then the audit and its three renderings.
#![no_main]

use hygie_ad::{AuditConfig, audit, snapshot_from_ldif};
use hygie_core::Lang;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "export.ldif");
    let mut config = AuditConfig::default();
    for (name, bytes) in &files {
        if name == "config.toml" {
            let Some(text) = hygie_fuzz::text(bytes) else {
                return;
            };
            match AuditConfig::from_toml(name, text) {
                Ok(c) => config = c,
                Err(e) => {
                    let _ = e.to_string();
                    return;
                }
            }
        }
    }
    let Some((_, ldif)) = files.iter().find(|(n, _)| n == "export.ldif") else {
        return;
    };
    let snapshot = match snapshot_from_ldif(std::io::Cursor::new(ldif)) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let report = audit(&snapshot, &config, hygie_fuzz::now());
    let _ = report.rule_findings();
    let _ = serde_json::to_value(&report);
    let _ = hygie_ad::report::render_table(&report, Lang::En);
    let _ = hygie_ad::report::render_html(&report, Lang::Fr);
});
