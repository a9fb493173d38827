//! The web pages and exports render through hygie-report: a facility name from a declaration is
//! escaped in pages and neutralised in the region CSV.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_core::{Facility, FacilityKind, Finess, Nis2Status, Region};
use hygie_store::{Actor, Binding, Role};

const NAME: &str = "=HYPERLINK(\"http://x\")<b>";

#[tokio::test]
async fn a_formula_name_is_neutralised_in_the_region_csv_and_escaped_in_pages() {
    let app = sqlite_app().await;
    let f = Facility {
        id: Finess::with_check_digit("35000199").unwrap(),
        legal_entity: None,
        name: NAME.into(),
        kind: FacilityKind::Hospital,
        region: Region::parse("BRE").unwrap(),
        nis2: Nis2Status::Essential,
        plan_start: jiff::civil::date(2025, 1, 1),
    };
    app.store
        .add_facility(&f, false, &Actor("test".into()))
        .await
        .unwrap();
    let region = Region::parse("BRE").unwrap();
    let u = user(
        &app,
        "ars",
        Role::RegionalOfficer,
        Binding::Region { region },
    )
    .await;
    let (cookie, _) = session(&app, &u).await;

    let r = app.send(get_with("/regions/BRE/export.csv", &cookie)).await;
    assert_eq!(r.status(), 200);
    let csv = body_string(r).await;
    let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert_eq!(&rows[0][1], format!("'{NAME}"));
    assert!(
        rows[0][rows[0].len() - 1].parse::<f64>().is_ok(),
        "score stays a number"
    );

    let r = app.send(get_with("/regions/BRE", &cookie)).await;
    assert_eq!(r.status(), 200);
    let html = body_string(r).await;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;") && !html.contains("<b>\""),
        "{html}"
    );
    app.cleanup().await;
}
