//! Alerts and incidents as a workflow through the JSON API and the pages (issue 18), on SQLite
//! and PostgreSQL: with a write token, open an incident from alert ids, see it on the alert,
//! record the CNIL sending (its obligation becomes `sent`), close with a justification; the
//! alerts list's filters and pages; triage; a read token never writes; a refused form keeps
//! what was typed.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::header;
use common::*;
use hygie_store::{Actor, Role, TokenAccess};

fn alert(id: &str, level: &str, host: &str) -> hygie_core::Alert {
    hygie_core::Alert {
        id: id.into(),
        rule_id: format!("rule-{level}"),
        title: format!("Suspicious {level} activity"),
        level: level.into(),
        tags: vec!["attack.t1059".into(), "attack.execution".into()],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: None,
        host: Some(host.into()),
        record_id: 42,
        source: "Security.evtx".into(),
        fields: vec![("CommandLine".into(), "whoami /all".into())],
        count: 3,
    }
}

async fn workflow(app: &App) {
    let s = seed(app).await;
    let f = &s.own;
    let batch: Vec<_> = (0..5)
        .map(|i| {
            let level = if i < 3 { "critical" } else { "low" };
            alert(&format!("w{i}"), level, &format!("pc{i}"))
        })
        .collect();
    app.store
        .record_alerts(f, &batch, &Actor("test".into()))
        .await
        .unwrap();
    let write = Cred::Bearer(token(app, f, TokenAccess::Write).await);
    let read = Cred::Bearer(token(app, f, TokenAccess::Read).await);

    // Filters and keyset pages: three critical alerts, two per page, the next page in `Link`.
    let base = format!("/api/v1/facilities/{f}/alerts");
    let res = app
        .send(get_as(&format!("{base}?level=critical&limit=2"), &read))
        .await;
    assert_eq!(res.status(), 200);
    let link = res.headers()[header::LINK].to_str().unwrap().to_owned();
    let first: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(first.as_array().unwrap().len(), 2);
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        next.contains("level=critical") && next.contains("after="),
        "{link}"
    );
    let res = app.send(get_as(&next, &read)).await;
    assert!(!res.headers().contains_key(header::LINK));
    let second: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    let mut ids: Vec<String> = first
        .as_array()
        .unwrap()
        .iter()
        .chain(second.as_array().unwrap())
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["w0", "w1", "w2"]);
    assert_eq!(
        app.status(get_as(&format!("{base}?status=nonsense"), &read))
            .await,
        400
    );

    // Triage: a read token may not; a false positive needs a reason.
    let triage = format!("{base}/w3/triage");
    assert_eq!(
        app.status(post_json(&triage, &read, r#"{"status":"acknowledged"}"#))
            .await,
        403
    );
    assert_eq!(
        app.status(post_json(&triage, &write, r#"{"status":"false_positive"}"#))
            .await,
        400
    );
    let fp = app
        .json(post_json(
            &triage,
            &write,
            r#"{"status":"false_positive","reason":"backup script"}"#,
        ))
        .await;
    assert_eq!(fp["status"], "false_positive");
    assert_eq!(fp["status_reason"], "backup script");
    assert!(fp["status_by"].as_str().unwrap().starts_with("token:"));

    // The issue's walk: open from two alerts, the alert shows the incident, CNIL sent, close.
    let incidents = format!("/api/v1/facilities/{f}/incidents");
    assert_eq!(
        app.status(post_json(&incidents, &read, r#"{"alerts":["w0"]}"#))
            .await,
        403
    );
    assert_eq!(
        app.status(post_json(
            &incidents,
            &write,
            &format!(r#"{{"alerts":["w0","alert-{}"]}}"#, s.other)
        ))
        .await,
        404,
        "another facility's alert"
    );
    let res = app
        .send(post_json(
            &incidents,
            &write,
            r#"{"alerts":["w0","w1"],"personal_data_breach":"risk"}"#,
        ))
        .await;
    assert_eq!(res.status(), 201);
    let opened: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    let inc = opened["incident"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["alerts"], serde_json::json!(["w0", "w1"]));
    assert_eq!(
        opened["facts"]["affected_systems"],
        serde_json::json!(["pc0", "pc1"])
    );
    let shown = app.json(get_as(&format!("{base}/w0"), &read)).await;
    assert_eq!(shown["alert"]["incident"], inc.as_str());
    assert_eq!(shown["alert"]["status"], "incident");
    assert_eq!(shown["incident"]["id"], inc.as_str());
    // A linked alert is triaged by its incident.
    assert_eq!(
        app.status(post_json(
            &format!("{base}/w0/triage"),
            &write,
            r#"{"status":"acknowledged"}"#
        ))
        .await,
        400
    );

    let one = format!("{incidents}/{inc}");
    let before = app.json(get_as(&one, &read)).await;
    let cnil = |v: &serde_json::Value| {
        v["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["duty"] == "cnil")
            .cloned()
            .unwrap()
    };
    assert_eq!(cnil(&before)["status"], "due");
    let res = app
        .send(post_json(
            &format!("{one}/sendings"),
            &write,
            r#"{"duty":"cnil","text":"Notification CNIL n° 1","channel":"portal","reference":"CNIL-42"}"#,
        ))
        .await;
    assert_eq!(res.status(), 201);
    let after = app.json(get_as(&one, &read)).await;
    let o = cnil(&after);
    assert_eq!(o["status"], "sent");
    assert!(o["sent_at"].is_string(), "{o}");
    assert_eq!(after["sendings"][0]["channel"], "portal");
    let kept = app.store.incident_sendings(&inc).await.unwrap();
    assert_eq!(kept[0].snapshot, "Notification CNIL n° 1");
    // Sent twice as an initial notification: refused, named.
    let again = app
        .send(post_json(
            &format!("{one}/sendings"),
            &write,
            r#"{"duty":"cnil"}"#,
        ))
        .await;
    assert_eq!(again.status(), 400);

    // Facts: a change is journalled; nothing to change is refused.
    let upd = app
        .json(post_json(
            &format!("{one}/facts"),
            &write,
            r#"{"description":"Two hosts ran discovery commands","status":"contained"}"#,
        ))
        .await;
    assert_eq!(upd["incident"]["status"], "contained");
    assert_eq!(
        app.status(post_json(&format!("{one}/facts"), &write, "{}"))
            .await,
        400
    );

    // Closing: unmet obligations need a justification.
    assert_eq!(
        app.status(post_json(&format!("{one}/close"), &write, "{}"))
            .await,
        400
    );
    let closed = app
        .json(post_json(
            &format!("{one}/close"),
            &write,
            r#"{"justification":"handled with the CERT Santé by phone"}"#,
        ))
        .await;
    assert_eq!(closed["incident"]["status"], "closed");
    assert_eq!(
        closed["closure"]["justification"],
        "handled with the CERT Santé by phone"
    );
    // Every step is in the intact journal.
    let actions: Vec<String> = app
        .store
        .journal_entries(Some(&hygie_store::incident_subject(&inc)), None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "incident.open",
            "incident.notify",
            "incident.update",
            "incident.close"
        ]
    );
    assert!(matches!(
        app.store.verify_journal().await.unwrap(),
        hygie_store::JournalCheck::Intact { .. }
    ));
}

#[tokio::test]
async fn the_incident_workflow_through_the_api_on_sqlite() {
    let app = sqlite_app().await;
    workflow(&app).await;
}

#[tokio::test]
async fn the_incident_workflow_through_the_api_on_postgres() {
    let Some(app) = pg_app().await else { return };
    workflow(&app).await;
    app.cleanup().await;
}

/// The pages: a refused form comes back with its message and what was typed; the alerts
/// page colours by severity, names each alert's status, and offers the forms only to writers.
#[tokio::test]
async fn pages_keep_a_refused_form_and_show_the_workflow() {
    let (app, s, cookie, csrf) = signed_in("ciso", Role::Ciso).await;
    let f = &s.own;
    let page = body_string(
        app.send(get_with(format!("/facilities/{f}/alerts?lang=fr"), &cookie))
            .await,
    )
    .await;
    assert!(page.contains("sev-high"), "{page}");
    assert!(page.contains("nouvelle") || page.contains("new"), "{page}");
    assert!(page.contains("id=\"open-incident\""));
    // No alert ticked: the page comes back with the message and the title typed.
    let res = app
        .send(post_form(
            format!("/facilities/{f}/alerts/open-incident"),
            &cookie,
            &[("csrf", &csrf), ("title", "Typed title")],
        ))
        .await;
    assert_eq!(res.status(), 400);
    let html = body_string(res).await;
    assert!(html.contains("id=\"form-error\""), "{html}");
    assert!(html.contains("Typed title"));
    // A false positive without its reason: refused on the alert's page, the choice kept.
    let alert = format!("alert-{f}");
    let res = app
        .send(post_form(
            format!("/facilities/{f}/alerts/{alert}/triage"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("status", "false_positive"),
                ("reason", ""),
            ],
        ))
        .await;
    assert_eq!(res.status(), 400);
    let html = body_string(res).await;
    assert!(
        html.contains("<option value=\"false_positive\" selected>"),
        "{html}"
    );
    // Open from the alert, then a refused closing keeps the justification field's page.
    let res = app
        .send(post_form(
            format!("/facilities/{f}/alerts/open-incident"),
            &cookie,
            &[("csrf", &csrf), ("alert", &alert)],
        ))
        .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let html = body_string(app.send(get_with(&to, &cookie)).await).await;
    assert!(html.contains("id=\"timeline\""));
    assert!(html.contains(&format!("/facilities/{f}/alerts/{alert}")));
    let res = app
        .send(post_form(
            format!("{to}/sendings"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("duty", "cnil"),
                ("sent_at", "yesterday"),
                ("channel", "kept channel"),
            ],
        ))
        .await;
    assert_eq!(res.status(), 400);
    let html = body_string(res).await;
    assert!(
        html.contains("kept channel") && html.contains("id=\"form-error\""),
        "{html}"
    );
    // An auditor reads the same pages without any form.
    let auditor = facility_user(&app, "aud", Role::Auditor, f).await;
    let (acookie, _) = session(&app, &auditor).await;
    let html = body_string(app.send(get_with(&to, &acookie)).await).await;
    assert!(!html.contains("id=\"close-form\""));
    assert!(html.contains("http-equiv=\"refresh\""));
}
