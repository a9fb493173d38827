//! What the store benchmarks share: their facility, their alert, the measures they declare.

use hygie_core::{Alert, Facility, FacilityKind, Finess, MeasureId, Nis2Status, Region};

/// A hospital of Brittany; `first8`: the FINESS number without its check digit.
pub fn facility(first8: &str, name: &str) -> Facility {
    Facility {
        id: Finess::with_check_digit(first8).expect("finess"),
        legal_entity: None,
        name: name.into(),
        kind: FacilityKind::Hospital,
        region: Region::parse("BRE").expect("region"),
        nis2: Nis2Status::Essential,
        plan_start: "2025-01-01".parse().expect("date"),
    }
}

/// A high-level alert of one rule on `host`.
pub fn alert(id: String, host: String, record_id: u64, count: u64) -> Alert {
    Alert {
        id,
        rule_id: "sigma-bench".into(),
        title: "Bench".into(),
        level: "high".into(),
        tags: vec!["attack.t1033".into()],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: Some("2026-01-05T10:04:00Z".into()),
        host: Some(host),
        record_id,
        source: "tcp://127.0.0.1:5000".into(),
        fields: vec![("Image".into(), "C:\\Windows\\System32\\whoami.exe".into())],
        count,
    }
}

/// Four measures of the bundled catalogue.
pub fn measures() -> Vec<MeasureId> {
    ["GOV-05", "BCK-06", "IAM-04", "END-01"]
        .iter()
        .map(|m| MeasureId::parse(m).expect("measure"))
        .collect()
}
