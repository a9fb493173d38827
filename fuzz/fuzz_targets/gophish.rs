//! A GoPhish campaign export as `hygie phishing import` reads it (`==> results.csv <==`,
//! `events.csv`, `api.json`, in any combination; merged as the command merges them), an
//! optional scanner filter (`==> scanner.toml <==`, as `--scanner-config`), then the
//! pseudonymisation and the metrics of `hygie phishing report`.
#![no_main]

use hygie_governance::phishing::{self, RawCampaign, ScannerFilter};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut raw = RawCampaign::default();
    let mut filter = ScannerFilter::default();
    for (name, bytes) in hygie_fuzz::split(data, "results.csv") {
        let Some(text) = hygie_fuzz::text(bytes) else {
            return;
        };
        let part = match name.as_str() {
            "api.json" => phishing::parse_api_json(&name, text),
            "results.csv" => phishing::parse_results_csv(&name, text),
            "events.csv" => phishing::parse_events_csv(&name, text),
            "scanner.toml" => {
                match toml::from_str::<ScannerFilter>(text) {
                    Ok(f) => filter = f,
                    Err(_) => return,
                }
                if filter.validate().is_err() {
                    return;
                }
                continue;
            }
            _ => continue,
        };
        match part {
            Ok(p) => raw = phishing::merge(raw, p),
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    }
    let _ = (&raw.name, &raw.source_id);
    let (targets, events) = phishing::pseudonymise(raw, b"fuzz key", |_email, position| {
        position.map(str::to_owned)
    });
    let metrics = phishing::campaign_metrics(&targets, &events, &filter, 5);
    let _ = serde_json::to_value(&metrics);
    let outcomes = phishing::outcomes(&targets, &events, &filter);
    for o in &outcomes {
        // `hygie phishing export --named` shows unmatched targets by their pseudonym's start.
        let _ = o.key.get(..16);
    }
    let _ = phishing::repeat_clickers(&[outcomes.clone(), outcomes], 5);
});
