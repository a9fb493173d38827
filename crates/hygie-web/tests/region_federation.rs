//! The region's federation pages on both backends (issue 19): the serious incidents and late
//! notifications the facilities' packages bring (`/regions/R/incidents`, filtered, its CSV, the
//! counts on the region's matrix), and a campaign's buttons (remind, close, withdraw: CSRF
//! checked, regional officers and administrators only, an ended campaign refused with its
//! reason and unchanged).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use hygie_store::{Actor, Binding, Role};
use hygie_sync::{CampaignInput, Identity, ObligationRecord};

/// Import into the region a package of `seed.own` whose obligations are `obligations` (the
/// seed's facility and region stand for the facility's instance here).
async fn import_obligations(app: &App, s: &Seed, obligations: Vec<ObligationRecord>) {
    let actor = Actor("test".into());
    let key = Identity::from_seed(&[9; 32]);
    app.store
        .enrol_key(&s.own, &key.public_key(), &actor)
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    let snap = app.store.sync_snapshot(&s.own, now).await.unwrap();
    let mut facts = snap.facts.clone();
    facts.obligations = obligations;
    let package = hygie_sync::Package {
        finess: s.own.to_string(),
        sequence: 1,
        previous_hash: None,
        journal_head: snap.journal_head.clone(),
        created_at: now.to_string(),
        catalog_version: "test".into(),
        facts,
        rotation: None,
    };
    let sealed = hygie_sync::seal(&package, &key).unwrap();
    let opened = hygie_sync::open(&sealed.bytes).unwrap();
    let checked = opened.package.check("sync:test").unwrap();
    app.store
        .import_package(&opened, &checked, sealed.bytes.len() as u64)
        .await
        .unwrap();
}

fn at(hours: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours)).to_string()
}

async fn incidents_pages(app: App) {
    let s = seed(&app).await;
    import_obligations(
        &app,
        &s,
        vec![
            ObligationRecord {
                incident: "INC-LATE".into(),
                duty: "cert_sante".into(),
                status: "due".into(),
                due: Some(at(-30)),
                sent: None,
                late: false,
            },
            ObligationRecord {
                incident: "INC-LATE".into(),
                duty: "cnil".into(),
                status: "due".into(),
                due: Some(at(40)),
                sent: None,
                late: false,
            },
        ],
    )
    .await;
    let officer = user(
        &app,
        "officer",
        Role::RegionalOfficer,
        Binding::Region {
            region: hygie_core::Region::parse("BRE").unwrap(),
        },
    )
    .await;
    let (cookie, _) = session(&app, &officer).await;
    let page = |uri: &str| get_with(uri, &cookie);
    let r = app.send(page("/regions/BRE/incidents?lang=en")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_string(r).await;
    assert!(html.contains(r#"id="late-notifications">1<"#), "{html}");
    assert!(html.contains(r#"id="open-serious">1<"#), "{html}");
    // Late first: the CERT Santé report, 30 hours late (two started days), then the CNIL's.
    let late = html
        .find(r#"data-duty="cert_sante" data-state="late""#)
        .unwrap();
    let due = html.find(r#"data-duty="cnil" data-state="due""#).unwrap();
    assert!(late < due, "{html}");
    assert!(html.contains("Report to CERT Santé (ANS)"), "{html}");
    let only_late = body_string(app.send(page("/regions/BRE/incidents?late=1")).await).await;
    assert!(!only_late.contains(r#"data-duty="cnil""#), "{only_late}");
    assert!(
        only_late.contains(r#"data-duty="cert_sante""#),
        "{only_late}"
    );
    let by_duty = body_string(
        app.send(page("/regions/BRE/incidents?duty=cnil&dep=35"))
            .await,
    )
    .await;
    assert!(!by_duty.contains(r#"data-duty="cert_sante""#), "{by_duty}");
    let elsewhere = body_string(app.send(page("/regions/BRE/incidents?dep=29")).await).await;
    assert!(elsewhere.contains(r#"id="incidents-none""#), "{elsewhere}");
    assert_eq!(
        app.status(page("/regions/BRE/incidents?duty=bogus")).await,
        StatusCode::BAD_REQUEST
    );
    let fr = body_string(app.send(page("/regions/BRE/incidents?lang=fr")).await).await;
    assert!(fr.contains("signalements en retard") && fr.contains("Signalement au CERT Santé"));
    // The CSV: the one writer, the page's filter, late first.
    let r = app.send(page("/regions/BRE/incidents.csv?late=1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = body_string(r).await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "finess,facility,departement,incident,serious,duty,duty_label,state,due,sent,days_late"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("{},CH Own,35,INC-LATE,yes,cert_sante,", s.own))
            && row.contains(",late,"),
        "{row}"
    );
    assert!(row.ends_with(",2"), "{row}");
    assert_eq!(lines.next(), None, "{csv}");
    // The region's dashboard counts them and links to the list.
    let matrix = body_string(app.send(page("/regions/BRE")).await).await;
    assert!(matrix.contains(r#"id="incidents-link""#), "{matrix}");
    assert!(matrix.contains(r#"id="late-notifications">1<"#), "{matrix}");
    // Another region's officer sees none of it.
    let far = user(
        &app,
        "far",
        Role::RegionalOfficer,
        Binding::Region {
            region: hygie_core::Region::parse("IDF").unwrap(),
        },
    )
    .await;
    let (far_cookie, _) = session(&app, &far).await;
    assert_eq!(
        app.status(get_with("/regions/BRE/incidents", &far_cookie))
            .await,
        StatusCode::NOT_FOUND
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_regions_incidents_and_late_notifications_sqlite() {
    incidents_pages(sqlite_app().await).await;
}

#[tokio::test]
async fn the_regions_incidents_and_late_notifications_postgres() {
    if let Some(app) = pg_app().await {
        incidents_pages(app).await;
    }
}

async fn campaign_buttons(app: App) {
    let s = seed(&app).await;
    let officer = user(
        &app,
        "officer",
        Role::RegionalOfficer,
        Binding::Region {
            region: hygie_core::Region::parse("BRE").unwrap(),
        },
    )
    .await;
    let (cookie, csrf) = session(&app, &officer).await;
    let input = CampaignInput::parse(
        "BRE",
        "region",
        &["BCK-06".into()],
        "2099-03-31",
        "Test de restauration",
        "Restore test",
    )
    .unwrap();
    let c = app
        .store
        .create_request_campaign(&input, &Actor("web:officer".into()))
        .await
        .unwrap();
    let base = format!("/regions/BRE/requests/{}", c.id);
    let page = body_string(app.send(get_with(&base, &cookie)).await).await;
    assert!(page.contains(r#"id="campaign-remind""#), "{page}");
    assert!(page.contains(r#"data-status="open""#), "{page}");
    // Without the CSRF token: refused, nothing recorded.
    let r = app
        .send(post_form(format!("{base}/remind"), &cookie, &[]))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.store
            .request_campaign(c.id)
            .await
            .unwrap()
            .reminders
            .is_empty()
    );
    // A facility's CISO cannot chase the agency's campaign.
    let ciso = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (ciso_cookie, ciso_csrf) = session(&app, &ciso).await;
    let r = app
        .send(post_form(
            format!("{base}/close"),
            &ciso_cookie,
            &[("csrf", &ciso_csrf)],
        ))
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(
        app.store.request_campaign(c.id).await.unwrap().status(),
        "open"
    );
    // Reminded: both facilities of Brittany had not answered.
    let r = app
        .send(post_form(
            format!("{base}/remind"),
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = body_string(app.send(get_with(format!("{base}?lang=fr"), &cookie)).await).await;
    assert!(page.contains(r#"id="reminder-count">1<"#), "{page}");
    assert!(page.contains("Relances envoyées"), "{page}");
    let shown = app.store.request_campaign(c.id).await.unwrap();
    assert_eq!(shown.reminders[0].facilities.len(), 2);
    assert_eq!(shown.reminders[0].by, "web:officer");
    // Closed, then withdrawing is refused with its reason, the campaign unchanged.
    let r = app
        .send(post_form(
            format!("{base}/close"),
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let closed = app.store.request_campaign(c.id).await.unwrap();
    assert_eq!(closed.closed_by.as_deref(), Some("web:officer"));
    let r = app
        .send(post_form(
            format!("{base}/withdraw"),
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let page = body_string(r).await;
    assert!(page.contains(r#"id="campaign-error""#), "{page}");
    assert!(page.contains(r#"data-status="closed""#), "{page}");
    assert!(!page.contains(r#"id="campaign-remind""#), "{page}");
    assert_eq!(app.store.request_campaign(c.id).await.unwrap(), closed);
    app.cleanup().await;
}

#[tokio::test]
async fn a_campaign_is_chased_and_closed_from_its_page_sqlite() {
    campaign_buttons(sqlite_app().await).await;
}

#[tokio::test]
async fn a_campaign_is_chased_and_closed_from_its_page_postgres() {
    if let Some(app) = pg_app().await {
        campaign_buttons(app).await;
    }
}
