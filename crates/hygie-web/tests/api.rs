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
    let res = app
        .send(request(
            "GET",
            "/api/v1/facilities",
            &Cred::Bearer("hyg_nope".into()),
            None,
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 401);
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
    let m = body_string(app.send(get("/metrics")).await).await;
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
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let c = Cred::Cookie {
        cookie: cookie.clone(),
        csrf: csrf.clone(),
    };
    let json = |r: String| serde_json::from_str::<serde_json::Value>(&r).unwrap();

    let me = json(
        body_string(
            app.send(request("GET", "/api/v1/me", &c, None, vec![]))
                .await,
        )
        .await,
    );
    assert_eq!(me["actor"], "web:ciso");
    assert_eq!(me["csrf_token"], csrf.as_str());

    let f = json(
        body_string(
            app.send(request(
                "GET",
                &format!("/api/v1/facilities/{}", s.own),
                &c,
                None,
                vec![],
            ))
            .await,
        )
        .await,
    );
    assert_eq!(f["name"], "CH Own");

    let st = json(
        body_string(
            app.send(request(
                "GET",
                &format!("/api/v1/facilities/{}/status?as_of=2025-03-01", s.own),
                &c,
                None,
                vec![],
            ))
            .await,
        )
        .await,
    );
    assert_eq!(st["as_of"], "2025-03-01");
    assert_eq!(st["levels"].as_array().unwrap().len(), 3);
    let bad = app
        .send(request(
            "GET",
            &format!("/api/v1/facilities/{}/status?as_of=2025-02-30", s.own),
            &c,
            None,
            vec![],
        ))
        .await;
    assert_eq!(bad.status(), 400);

    // Declare: the status follows.
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
            &c,
            Some("application/json"),
            br#"{"status":"implemented","owner":"RSSI"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 201);
    let m = json(
        body_string(
            app.send(request(
                "GET",
                &format!("/api/v1/facilities/{}/measures/IAM-05", s.own),
                &c,
                None,
                vec![],
            ))
            .await,
        )
        .await,
    );
    assert_eq!(m["state"]["status"], "implemented");
    assert_eq!(m["history"].as_array().unwrap().len(), 1);
    assert_eq!(m["history"][0]["by"], "web:ciso");
    // not_applicable needs a justification.
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
            &c,
            Some("application/json"),
            br#"{"status":"not_applicable"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 400);
    // Unknown measure.
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/ZZZ-99/declarations", s.own),
            &c,
            Some("application/json"),
            br#"{"status":"implemented"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 404);

    // Evidence upload, list, download.
    let res = app
        .send(request(
            "POST",
            &format!(
                "/api/v1/facilities/{}/measures/IAM-05/evidence?file_name=../../etc/pass%22wd.txt",
                s.own
            ),
            &c,
            Some("application/octet-stream"),
            b"proof".to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 201);
    let item = json(body_string(res).await);
    assert_eq!(item["file_name"], "passwd.txt");
    let sha = item["sha256"].as_str().unwrap().to_owned();
    let list = json(
        body_string(
            app.send(request(
                "GET",
                &format!("/api/v1/facilities/{}/measures/IAM-05/evidence", s.own),
                &c,
                None,
                vec![],
            ))
            .await,
        )
        .await,
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
    let dl = app
        .send(request(
            "GET",
            &format!("/api/v1/facilities/{}/evidence/{sha}", s.own),
            &c,
            None,
            vec![],
        ))
        .await;
    assert_eq!(dl.status(), 200);
    assert!(
        dl.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(body_string(dl).await, "proof");
    let res = app
        .send(request(
            "POST",
            &format!(
                "/api/v1/facilities/{}/measures/IAM-05/evidence?file_name=x",
                s.own
            ),
            &c,
            Some("application/octet-stream"),
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 400, "empty file");

    // Region view limited to the own facility.
    let r = body_string(
        app.send(request(
            "GET",
            "/api/v1/regions/BRE/status",
            &c,
            None,
            vec![],
        ))
        .await,
    )
    .await;
    assert!(r.contains(s.own.as_str()) && !r.contains(s.other.as_str()));

    // Journal verification.
    let v = json(
        body_string(
            app.send(request("GET", "/api/v1/journal/verify", &c, None, vec![]))
                .await,
        )
        .await,
    );
    assert_eq!(v["intact"], true);

    // Tokens: create (secret once), use, list (no secret), revoke.
    let res = app
        .send(request(
            "POST",
            "/api/v1/tokens",
            &c,
            Some("application/json"),
            format!(
                r#"{{"name":"backup agent","facility":"{}","access":"read"}}"#,
                s.own
            )
            .into_bytes(),
        ))
        .await;
    assert_eq!(res.status(), 201);
    let t = json(body_string(res).await);
    let secret = t["token"].as_str().unwrap().to_owned();
    let id = t["id"].as_str().unwrap().to_owned();
    let tc = Cred::Bearer(secret.clone());
    assert_eq!(
        app.send(request(
            "GET",
            &format!("/api/v1/facilities/{}", s.own),
            &tc,
            None,
            vec![]
        ))
        .await
        .status(),
        200
    );
    // A read token cannot write.
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
            &tc,
            Some("application/json"),
            br#"{"status":"implemented"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 403);
    let list = body_string(
        app.send(request("GET", "/api/v1/tokens", &c, None, vec![]))
            .await,
    )
    .await;
    assert!(list.contains(&id) && !list.contains(&secret));
    let rows: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(rows.iter().all(|h| h != &secret) && rows.contains(&auth::digest(&secret)));
    let res = app
        .send(request(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            &c,
            None,
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.send(request(
            "GET",
            &format!("/api/v1/facilities/{}", s.own),
            &tc,
            None,
            vec![]
        ))
        .await
        .status(),
        401
    );

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
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
            &t,
            Some("application/json"),
            br#"{"status":"in_progress"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.status(), 201);
    let e = app.store.journal_entries(None, Some(1)).await.unwrap();
    assert!(
        e[0].actor.starts_with("token:") && e[0].actor.ends_with(":test"),
        "{}",
        e[0].actor
    );
    // Tokens do not open pages.
    let res = app
        .send(request(
            "GET",
            &format!("/facilities/{}", s.own),
            &t,
            None,
            vec![],
        ))
        .await;
    assert!(res.status().is_redirection());
}
