//! An EBIOS RM risk register as `hygie risk import` reads it (measures checked against the
//! bundled catalogue), then the ratings, the untraced measures and the review rule of
//! `hygie risk list` and `hygie risk check`.
#![no_main]

use hygie_core::{Catalog, EffectiveStatus, MeasureId};
use hygie_governance::risk;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| hygie_catalog::bundled().expect("the bundled catalogue loads"))
}

/// Every measure with a status, all statuses taken in turn.
fn statuses() -> &'static BTreeMap<MeasureId, EffectiveStatus> {
    static STATUSES: OnceLock<BTreeMap<MeasureId, EffectiveStatus>> = OnceLock::new();
    STATUSES.get_or_init(|| {
        use EffectiveStatus::*;
        let all = [
            Failing,
            Verified,
            Implemented,
            Expired,
            InProgress,
            NotStarted,
            NotApplicable,
        ];
        catalog()
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), all[i % all.len()]))
            .collect()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(text) = hygie_fuzz::text(data) else {
        return;
    };
    let catalog = catalog();
    let register = match risk::parse_register("register.toml", text, |m| {
        catalog.measures.iter().any(|x| &x.id == m)
    }) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let rated = risk::rate(&register, statuses());
    let _ = serde_json::to_value(&rated);
    let _ = risk::untraced_measures(&register, catalog.measures.iter().map(|m| &m.id));
    let today = hygie_fuzz::today();
    let _ = risk::review_finding(Some(&register), Some(today), today);
    let _ = risk::review_finding(Some(&register), None, today);
});
