//! API tests for every endpoint: anonymous callers refused, the OpenAPI document kept in step
//! with the router, health and metrics with the security headers, reads and writes with a
//! session and with tokens.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{StatusCode, header};
use common::*;
use hygie_store::{Role, TokenAccess};
use hygie_web::auth;

#[tokio::test]
async fn anonymous_callers_get_401_on_every_api_route_and_the_openapi_document_lists_them() {
    let app = sqlite_app().await;
    let doc = app.send(get("/api/v1/openapi.json")).await;
    assert_eq!(doc.status(), 200);
    let doc: serde_json::Value = serde_json::from_str(&body_string(doc).await).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in hygie_web::api::ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not documented"
        );
        if *path == "/api/v1/openapi.json" {
            continue;
        }
        let uri = path
            .replace("{finess}", "350001019")
            .replace("{measure}", "IAM-04")
            .replace("{sha256}", "00")
            .replace("{region}", "BRE")
            .replace("{id}", "x");
        let res = app
            .send(request(
                &method.to_uppercase(),
                &uri,
                &Cred::None,
                Some("application/json"),
                b"{}".to_vec(),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    // Every documented operation is routed (the list is complete).
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, hygie_web::api::ROUTES.len());
    // A wrong token is no better than none.
    let nope = Cred::Bearer("hyg_nope".into());
    assert_eq!(app.status(get_as("/api/v1/facilities", &nope)).await, 401);
}

#[tokio::test]
async fn health_metrics_and_security_headers() {
    let app = sqlite_app().await;
    let res = app.send(get("/healthz")).await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let _ = app.send(get("/api/v1/facilities")).await;
    // The metrics are read with an administrator's API token (tests/hardening.rs has the rest).
    let s = seed(&app).await;
    user(
        &app,
        "admin",
        Role::Administrator,
        hygie_store::Binding::Installation,
    )
    .await;
    let admin = Cred::Bearer(token_by(&app, &s.own, TokenAccess::Read, "web:admin").await);
    let m = body_string(app.send(get_as("/metrics", &admin)).await).await;
    assert!(
        m.contains("hygie_http_requests_total{route=\"api\",status=\"4xx\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("hygie_http_request_duration_seconds_count{route=\"ops\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn api_endpoints_read_and_write_with_a_ciso_session_and_tokens() {
    let (app, s, cookie, csrf) = signed_in("ciso", Role::Ciso).await;
    let c = Cred::Cookie {
        cookie: cookie.clone(),
        csrf: csrf.clone(),
    };
    let own = format!("/api/v1/facilities/{}", s.own);

    let me = app.json(get_as("/api/v1/me", &c)).await;
    assert_eq!(me["actor"], "web:ciso");
    assert_eq!(me["csrf_token"], csrf.as_str());

    let f = app.json(get_as(&own, &c)).await;
    assert_eq!(f["name"], "CH Own");

    let st = app
        .json(get_as(&format!("{own}/status?as_of=2025-03-01"), &c))
        .await;
    assert_eq!(st["as_of"], "2025-03-01");
    assert_eq!(st["levels"].as_array().unwrap().len(), 3);
    let bad = get_as(&format!("{own}/status?as_of=2025-02-30"), &c);
    assert_eq!(app.status(bad).await, 400);

    // Declare: the status follows.
    let declare = |measure: &str, json: &str| {
        post_json(&format!("{own}/measures/{measure}/declarations"), &c, json)
    };
    let res = declare("IAM-05", r#"{"status":"implemented","owner":"RSSI"}"#);
    assert_eq!(app.status(res).await, 201);
    let m = app
        .json(get_as(&format!("{own}/measures/IAM-05"), &c))
        .await;
    assert_eq!(m["state"]["status"], "implemented");
    assert_eq!(m["history"].as_array().unwrap().len(), 1);
    assert_eq!(m["history"][0]["by"], "web:ciso");
    for (measure, json, status, why) in [
        (
            "IAM-05",
            r#"{"status":"not_applicable"}"#,
            400,
            "not_applicable needs a justification",
        ),
        (
            "ZZZ-99",
            r#"{"status":"implemented"}"#,
            404,
            "unknown measure",
        ),
    ] {
        assert_eq!(app.status(declare(measure, json)).await, status, "{why}");
    }

    // Evidence upload, list, download.
    let upload = |file_name: &str, body: &[u8]| {
        request(
            "POST",
            &format!("{own}/measures/IAM-05/evidence?file_name={file_name}"),
            &c,
            Some("application/octet-stream"),
            body.to_vec(),
        )
    };
    let res = app.send(upload("../../etc/pass%22wd.txt", b"proof")).await;
    assert_eq!(res.status(), 201);
    let item: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    // The path is dropped; a quote is kept (the download header escapes it).
    assert_eq!(item["file_name"], "pass\"wd.txt");
    let sha = item["sha256"].as_str().unwrap().to_owned();
    let list = app
        .json(get_as(&format!("{own}/measures/IAM-05/evidence"), &c))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let dl = app.send(get_as(&format!("{own}/evidence/{sha}"), &c)).await;
    assert_eq!(dl.status(), 200);
    assert!(
        dl.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(body_string(dl).await, "proof");
    assert_eq!(app.status(upload("x", b"")).await, 400, "empty file");

    // Region view limited to the own facility.
    let r = body_string(app.send(get_as("/api/v1/regions/BRE/status", &c)).await).await;
    assert!(r.contains(s.own.as_str()) && !r.contains(s.other.as_str()));

    // Journal verification.
    let v = app.json(get_as("/api/v1/journal/verify", &c)).await;
    assert_eq!(v["intact"], true);

    // Tokens: create (secret once), use, list (no secret), revoke.
    let res = app
        .send(post_json(
            "/api/v1/tokens",
            &c,
            &format!(
                r#"{{"name":"backup agent","facility":"{}","access":"read"}}"#,
                s.own
            ),
        ))
        .await;
    assert_eq!(res.status(), 201);
    let t: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    let secret = t["token"].as_str().unwrap().to_owned();
    let id = t["id"].as_str().unwrap().to_owned();
    let tc = Cred::Bearer(secret.clone());
    assert_eq!(app.status(get_as(&own, &tc)).await, 200);
    // A read token cannot write.
    let res = post_json(
        &format!("{own}/measures/IAM-05/declarations"),
        &tc,
        r#"{"status":"implemented"}"#,
    );
    assert_eq!(app.status(res).await, 403);
    let list = body_string(app.send(get_as("/api/v1/tokens", &c)).await).await;
    assert!(list.contains(&id) && !list.contains(&secret));
    let rows: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(rows.iter().all(|h| h != &secret) && rows.contains(&auth::digest(&secret)));
    let revoke = request("DELETE", &format!("/api/v1/tokens/{id}"), &c, None, vec![]);
    assert_eq!(app.status(revoke).await, 204);
    assert_eq!(app.status(get_as(&own, &tc)).await, 401);

    // Every change above is journalled under the user.
    let actions: Vec<(String, String)> = app
        .store
        .journal_entries(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    for a in [
        "assessment.set",
        "evidence.add",
        "token.create",
        "token.revoke",
    ] {
        assert!(
            actions.contains(&("web:ciso".to_owned(), a.to_owned())),
            "{a} not journalled: {actions:?}"
        );
    }
}

#[tokio::test]
async fn write_token_writes_and_is_journalled_as_token() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let t = Cred::Bearer(token(&app, &s.own, TokenAccess::Write).await);
    let res = post_json(
        &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
        &t,
        r#"{"status":"in_progress"}"#,
    );
    assert_eq!(app.status(res).await, 201);
    let e = app.store.journal_entries(None, Some(1)).await.unwrap();
    assert!(
        e[0].actor.starts_with("token:") && e[0].actor.ends_with(":test"),
        "{}",
        e[0].actor
    );
    // Tokens do not open pages.
    let res = app
        .send(get_as(&format!("/facilities/{}", s.own), &t))
        .await;
    assert!(res.status().is_redirection());
}
