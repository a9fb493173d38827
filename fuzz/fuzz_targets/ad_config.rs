//! The AD audit's thresholds file (`hygie audit ad --config FILE`), then the audit of a fixed
//! snapshot with those thresholds: extreme values must not break a rule.
#![no_main]

use hygie_ad::{AdSnapshot, AuditConfig, audit, snapshot_from_ldif};
use std::sync::OnceLock;

fn snapshot() -> &'static AdSnapshot {
    static SNAPSHOT: OnceLock<AdSnapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        snapshot_from_ldif(&include_bytes!("../corpus/ad_ldif/rich.ldif")[..])
            .expect("the seed export reads")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(text) = hygie_fuzz::text(data) else {
        return;
    };
    let config = match AuditConfig::from_toml("config.toml", text) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let report = audit(snapshot(), &config, hygie_fuzz::now());
    let _ = report.rule_findings();
    let _ = serde_json::to_value(&report);
});
