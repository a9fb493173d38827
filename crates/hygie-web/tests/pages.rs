//! Pages and the flows behind them: the user's language, the evidence upload, user
//! administration within a binding, audits, alerts, incidents and their drafts.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::*;
use hygie_store::{Binding, Role};

#[tokio::test]
async fn pages_render_in_the_users_language_and_switch() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let (_, cookie, csrf) = dpo_of_both(&app, &s).await;
    let page = |path: String, lang: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let r = app
                .send(
                    Request::get(path)
                        .header(header::COOKIE, cookie)
                        .header(header::ACCEPT_LANGUAGE, lang)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            (r.status(), body_string(r).await)
        }
    };
    let (st, html) = page(format!("/facilities/{}", s.own), "fr-FR,fr;q=0.9").await;
    assert_eq!(st, 200);
    assert!(
        html.contains("Paliers du plan") && html.contains("<svg id=\"trend\""),
        "browser default FR"
    );
    assert!(!html.contains("<script"));
    let (_, html) = page(format!("/facilities/{}", s.own), "en").await;
    assert!(html.contains("Plan levels"));
    // Switch to French for good.
    let req = post_form("/lang", &cookie, &[("csrf", &csrf), ("lang", "fr")]);
    assert_eq!(app.send(req).await.status(), 303);
    let (_, html) = page(format!("/facilities/{}", s.own), "en").await;
    assert!(
        html.contains("Paliers du plan"),
        "user choice beats the browser"
    );
    // Home lists both facilities; measure, catalogue, region, journal pages render.
    let (_, html) = page("/".into(), "en").await;
    assert!(
        html.contains(s.own.as_str())
            && html.contains(s.other.as_str())
            && !html.contains(s.far.as_str())
    );
    for p in [
        format!("/facilities/{}/measures/IAM-04", s.own),
        "/catalog".into(),
        "/catalog/IAM-04".into(),
        "/regions/BRE".into(),
        "/regions/BRE?kind=hospital&dep=35".into(),
        "/regions/BRE/reports".into(),
        "/regions/BRE/reports?late_after=5&sort=facility".into(),
        "/journal".into(),
    ] {
        let (st, html) = page(p.clone(), "en").await;
        assert_eq!(st, 200, "{p}");
        assert!(html.contains("</html>"));
    }
    let (_, csv) = page("/regions/BRE/export.csv".into(), "en").await;
    assert!(csv.starts_with("finess,name,kind"));
    assert_eq!(csv.lines().count(), 3);
    let (_, csv) = page("/regions/BRE/export.csv?kind=clinic".into(), "en").await;
    assert_eq!(csv.lines().count(), 1, "filter by kind");
    // The facilities' reports: none was ever imported here, so each is "never reported".
    let (_, html) = page("/regions/BRE/reports".into(), "fr").await;
    assert!(
        html.contains("jamais transmis")
            && html.contains("Pourquoi des établissements sont en retard"),
        "{html}"
    );
    let (_, csv) = page("/regions/BRE/late.csv?sort=measure".into(), "en").await;
    assert!(
        csv.starts_with("finess,facility,measure,title,level,days_late,last_report"),
        "{csv}"
    );
    let (st, _) = page("/regions/BRE/reports?late_after=zero".into(), "en").await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn evidence_upload_form_changes_level_progress() {
    let (app, s, cookie, csrf) = signed_in("it", Role::ItStaff).await;
    let before = app.status_today(&s.own).await;
    let m = undone_level_one(&before);
    let evidence_before = app.store.evidence(&s.own, Some(&m)).await.unwrap().len();
    let boundary = "XbOuNdArY";
    // Larger than any form may be (hygie_web::MAX_FORM_BYTES): uploads have their own limit.
    let pdf = format!("%PDF-1.4 test{}", " ".repeat(200 * 1024));
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"implemented\"\r\n\r\n1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"charte.pdf\"\r\nContent-Type: application/pdf\r\n\r\n{pdf}\r\n--{boundary}--\r\n"
    );
    let req = Request::post(format!("/facilities/{}/measures/{m}/evidence", s.own))
        .header(header::COOKIE, &cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(req).await.status(), 303);
    let after = app.status_today(&s.own).await;
    assert_eq!(after.levels[0].done, before.levels[0].done + 1);
    let ev = app.store.evidence(&s.own, Some(&m)).await.unwrap();
    assert_eq!(ev.len(), evidence_before + 1);
    assert_eq!(ev.last().unwrap().added_by, "web:it");
}

#[tokio::test]
async fn administrators_create_users_only_within_their_binding() {
    let (app, s, cookie, csrf) = signed_in("adm", Role::Administrator).await;
    let create = |fac: String, role: &'static str| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let app = &app;
        async move {
            let req = post_form(
                "/admin/users",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("username", &format!("u{}", fac.len() + role.len())),
                    ("display_name", "U"),
                    ("role", role),
                    ("facilities", &fac),
                    ("password", "a long password here"),
                ],
            );
            app.send(req).await.status()
        }
    };
    assert_eq!(create(s.far.to_string(), "ciso").await, 403);
    assert_eq!(create(s.own.to_string(), "ciso").await, 303);
    let users = app
        .store
        .users_within(&Binding::Installation)
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
}

/// Audits with their findings, alerts, incidents with their clocks and the drafts of their
/// notifications: API and pages, in both languages.
#[tokio::test]
async fn audits_alerts_incidents_and_drafts() {
    let (app, s, cookie, csrf) = signed_in("rssi", Role::Ciso).await;
    let cred = Cred::Cookie { cookie, csrf };
    let fetch = |path: String| {
        let cred = cred.clone();
        let app = &app;
        async move {
            let res = app
                .send(request("GET", &path, &cred, None, Vec::new()))
                .await;
            assert_eq!(res.status(), 200, "{path}");
            body_string(res).await
        }
    };
    let json = |t: String| -> serde_json::Value { serde_json::from_str(&t).unwrap() };

    // Audits: the list counts the failed rule; the run shows the finding and its objects.
    let list = json(fetch(format!("/api/v1/facilities/{}/audits", s.own)).await);
    assert_eq!(list[0]["id"], s.runs[0].as_str());
    assert_eq!(
        (list[0]["rules"].as_i64(), list[0]["failed"].as_i64()),
        (Some(1), Some(1))
    );
    let run = json(fetch(format!("/api/v1/facilities/{}/audits/{}", s.own, s.runs[0])).await);
    assert_eq!(run["results"][0]["outcome"], "fail");
    assert_eq!(
        run["results"][0]["objects"][0],
        format!("krbtgt of {}", s.own)
    );
    let page = fetch(format!("/facilities/{}/audits/{}", s.own, s.runs[0])).await;
    assert!(page.contains("AD-KRBTGT-AGE") && page.contains("id=\"findings-count\">1<"));

    // Alerts.
    let alerts = json(fetch(format!("/api/v1/facilities/{}/alerts", s.own)).await);
    assert_eq!(alerts[0]["id"], format!("alert-{}", s.own));
    let page = fetch(format!("/facilities/{}/alerts", s.own)).await;
    assert!(page.contains(&format!("Suspicious logon at {}", s.own)));

    // Incidents: the CNIL clock runs (72 h from awareness), with time left.
    let incidents = json(fetch(format!("/api/v1/facilities/{}/incidents", s.own)).await);
    assert_eq!(incidents[0]["id"], s.incidents[0].as_str());
    assert!(incidents[0]["unmet"].as_i64().unwrap() > 0);
    let left = incidents[0]["next_due"]["remaining_seconds"]
        .as_i64()
        .unwrap();
    assert!(left > 0 && left <= 72 * 3600, "{left}");
    // The CNIL obligation of the facility's incident, in a language.
    let cnil_in = |lang: &'static str| {
        let url = format!(
            "/api/v1/facilities/{}/incidents/{}?lang={lang}",
            s.own, s.incidents[0]
        );
        let fetch = &fetch;
        async move {
            let inc = json(fetch(url).await);
            inc["obligations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["duty"] == "cnil")
                .unwrap()
                .clone()
        }
    };
    let cnil = cnil_in("en").await;
    assert_eq!(cnil["required"], true);
    assert!(
        cnil["reason"]
            .as_str()
            .unwrap()
            .contains("CNIL within 72 h"),
        "{cnil}"
    );
    // The reasons and labels follow the language asked.
    let cnil_fr = cnil_in("fr").await;
    assert!(
        cnil_fr["reason"]
            .as_str()
            .unwrap()
            .contains("CNIL sous 72 h"),
        "{cnil_fr}"
    );
    let remaining = cnil["remaining_seconds"].as_i64().unwrap();
    assert!(
        remaining > 71 * 3600 && remaining <= 72 * 3600,
        "{remaining}"
    );
    let page = fetch(format!(
        "/facilities/{}/incidents/{}",
        s.own, s.incidents[0]
    ))
    .await;
    assert!(
        page.contains("id=\"obligation-cnil\"") && page.contains("2 d 23 h"),
        "{page}"
    );
    // A writer's page holds the workflow's forms: no reload that would lose their input (a
    // read-only page reloads its clocks: tests/incident_workflow.rs).
    assert!(
        page.contains("id=\"sending-form\"") && !page.contains("http-equiv=\"refresh\""),
        "forms, no reload"
    );

    // Drafts in both languages.
    let en = json(
        fetch(format!(
            "/api/v1/facilities/{}/incidents/{}/drafts/cnil?lang=en",
            s.own, s.incidents[0]
        ))
        .await,
    );
    let fr = json(
        fetch(format!(
            "/api/v1/facilities/{}/incidents/{}/drafts/cnil?lang=fr",
            s.own, s.incidents[0]
        ))
        .await,
    );
    assert_eq!(
        (en["lang"].as_str(), fr["lang"].as_str()),
        (Some("en"), Some("fr"))
    );
    assert_ne!(en["title"], fr["title"]);
    let page = fetch(format!(
        "/facilities/{}/incidents/{}/drafts/cnil?lang=fr",
        s.own, s.incidents[0]
    ))
    .await;
    assert!(page.contains("id=\"draft\"") && page.contains("Destinataire"));
    let unknown = app
        .send(request(
            "GET",
            &format!(
                "/api/v1/facilities/{}/incidents/{}/drafts/nope",
                s.own, s.incidents[0]
            ),
            &cred,
            None,
            Vec::new(),
        ))
        .await;
    assert_eq!(unknown.status(), 404);
}
