//! Issue 22: every view that shows a plan level, a due date or an overdue count derived from a
//! fact not confirmed from the primary text shows the flag with its explanation: the report
//! layer's CLI table, JSON, Markdown, HTML and region CSV, and the web's facility and region
//! pages and CSV export.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::*;
use hygie_core::Lang;

#[tokio::test]
async fn every_view_of_levels_and_due_dates_carries_the_unconfirmed_flag() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let catalog = hygie_catalog::bundled().unwrap();
    let today = hygie_web::api::today();
    let st = app
        .store
        .facility_status(&catalog, &s.own, today)
        .await
        .unwrap();
    let region = app
        .store
        .region_status(&catalog, hygie_core::Region::parse("BRE").unwrap(), today)
        .await
        .unwrap();
    // The bundled catalogue's plan levels all rest on the 2016 annex, not yet confirmed.
    assert!(st.levels.iter().all(|l| l.unconfirmed), "{:?}", st.levels);
    assert!(region.has_unconfirmed_level());

    for lang in [Lang::En, Lang::Fr] {
        for (view, text) in [
            ("status table", hygie_report::status_text(&st, lang)),
            ("status markdown", hygie_report::status_markdown(&st, lang)),
            ("status html", hygie_report::status_html(&st, lang)),
            ("region table", hygie_report::region_text(&region, lang)),
            (
                "region markdown",
                hygie_report::region_markdown(&region, lang),
            ),
            ("region html", hygie_report::region_html(&region, lang)),
        ] {
            assert!(
                text.contains("[?]"),
                "{view} ({lang:?}) has no flag: {text}"
            );
            let explained = match lang {
                Lang::En => "not yet confirmed from the primary text",
                Lang::Fr => "pas encore confirmés par le texte primaire",
            };
            assert!(
                text.contains(explained),
                "{view} ({lang:?}) does not explain the flag"
            );
        }
    }
    let j = serde_json::to_value(&st).unwrap();
    assert!(
        j["levels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["unconfirmed"] == true)
    );
    let j = serde_json::to_value(&region).unwrap();
    let row = &j["facilities"][0];
    assert!(
        row["levels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["unconfirmed"] == true)
    );
    assert!(
        row["unconfirmed"]["en"]
            .as_str()
            .is_some_and(|t| t.contains("not confirmed"))
    );
    assert!(
        row["unconfirmed"]["fr"]
            .as_str()
            .is_some_and(|t| t.contains("non confirmé"))
    );
    for columns in [
        hygie_report::RegionColumns::Summary,
        hygie_report::RegionColumns::WithLevelOverdue,
    ] {
        let csv = hygie_report::region_csv(&region, columns);
        let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let col = rdr
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "unconfirmed_levels")
            .expect("unconfirmed_levels column");
        for r in rdr.records() {
            assert_eq!(&r.unwrap()[col], "1 2 3");
        }
    }

    // The web pages.
    let (_, cookie, _) = dpo_of_both(&app, &s).await;
    for (path, lang, explained) in [
        (
            format!("/facilities/{}", s.own),
            "en",
            "not yet confirmed from the primary text",
        ),
        (
            format!("/facilities/{}", s.own),
            "fr",
            "pas encore confirmés par le texte primaire",
        ),
        (
            "/regions/BRE".to_owned(),
            "en",
            "not yet confirmed from the primary text",
        ),
        (
            "/regions/BRE".to_owned(),
            "fr",
            "pas encore confirmés par le texte primaire",
        ),
    ] {
        let r = app
            .send(
                Request::get(path.clone())
                    .header(header::COOKIE, cookie.clone())
                    .header(header::ACCEPT_LANGUAGE, lang)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), 200, "{path}");
        let html = body_string(r).await;
        assert!(
            html.contains("[?]") && html.contains("id=\"unconfirmed-note\""),
            "{path}"
        );
        assert!(html.contains(explained), "{path} ({lang})");
    }
    let r = app
        .send(
            Request::get("/regions/BRE/export.csv")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let csv = body_string(r).await;
    assert!(
        csv.lines().next().unwrap().contains("unconfirmed_levels"),
        "{csv}"
    );
    assert!(csv.lines().nth(1).unwrap().contains("1 2 3"), "{csv}");
}

#[tokio::test]
async fn an_expired_renewal_says_when_its_period_is_hygies_recommendation() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let catalog = hygie_catalog::bundled().unwrap();
    let today = hygie_web::api::today();
    let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 800);
    for id in ["GOV-06", "IAM-06"] {
        app.store
            .declare_at(
                &s.own,
                &hygie_core::MeasureId::parse(id).unwrap(),
                &hygie_core::DeclaredStatus::Implemented,
                None,
                None,
                &hygie_store::Actor("test".into()),
                long_ago,
            )
            .await
            .unwrap();
    }
    let st = app
        .store
        .facility_status(&catalog, &s.own, today)
        .await
        .unwrap();
    let gov06 = st
        .measures
        .iter()
        .find(|m| m.id.as_str() == "GOV-06")
        .unwrap();
    assert_eq!(gov06.status, hygie_core::EffectiveStatus::Expired);
    let why = gov06.reason.as_ref().unwrap();
    assert!(
        why.en
            .contains("Hygie's recommendation, not a text's requirement"),
        "{why:?}"
    );
    assert!(why.fr.contains("recommandation de Hygie"), "{why:?}");
    let text = hygie_report::status_text(&st, Lang::En);
    assert!(text.contains("Hygie's recommendation"), "{text}");
}
