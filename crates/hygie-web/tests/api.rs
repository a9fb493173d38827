//! API tests for every endpoint, and the security tests: CSRF, session fixation, lockout, TOTP
//! replay, throttling, bootstrap, headers, OpenAPI kept in step with the router.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hygie_store::{Binding, Role, TokenAccess};
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

#[tokio::test]
async fn csrf_missing_or_wrong_is_refused_and_changes_nothing() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let path = format!("/facilities/{}/measures/IAM-05/declare", s.own);
    let bodies = [
        form_body(&[("status", "implemented")]),
        form_body(&[("csrf", "wrong"), ("status", "implemented")]),
        form_body(&[("csrf", ""), ("status", "implemented")]),
    ];
    for b in bodies {
        let req = Request::post(&path)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(b))
            .unwrap();
        assert_eq!(app.send(req).await.status(), 403);
    }
    // API with a cookie but without the header, or a wrong one.
    for h in [None, Some("wrong")] {
        let mut req = Request::post(format!(
            "/api/v1/facilities/{}/measures/IAM-05/declarations",
            s.own
        ))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json");
        if let Some(h) = h {
            req = req.header("x-csrf-token", h);
        }
        assert_eq!(
            app.send(req.body(Body::from(r#"{"status":"implemented"}"#)).unwrap())
                .await
                .status(),
            403
        );
    }
    // Logout and language switch need it too.
    let req = Request::post("/logout")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf=nope"))
        .unwrap();
    assert_eq!(app.send(req).await.status(), 403);
    assert!(
        app.store
            .declaration_history(&s.own, None)
            .await
            .unwrap()
            .is_empty()
    );
    // The right token works.
    let req = post_form(
        &path,
        &cookie,
        &[("csrf", &csrf), ("status", "implemented")],
    );
    assert_eq!(app.send(req).await.status(), 303);
    assert_eq!(
        app.store
            .declaration_history(&s.own, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // The login form's own double-submit token.
    let req = post_form(
        "/login",
        "hygie_pre=aaaa",
        &[
            ("csrf", "bbbb"),
            ("username", "ciso"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(app.send(req).await.status(), 403);
}

/// Fetch the login form and post credentials; returns the response.
async fn login(
    app: &App,
    username: &str,
    password: &str,
    extra_cookie: Option<&str>,
) -> axum::http::Response<Body> {
    let form = app.send(get("/login")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let mut cookie = format!("hygie_pre={pre}");
    if let Some(c) = extra_cookie {
        cookie.push_str("; ");
        cookie.push_str(c);
    }
    let req = post_form(
        "/login",
        &cookie,
        &[
            ("csrf", &pre),
            ("username", username),
            ("password", password),
        ],
    );
    app.send(req).await
}

async fn post_code(app: &App, path: &str, session: &str, code: &str) -> axum::http::Response<Body> {
    let page = app
        .send(get_with(path, &format!("hygie_session={session}")))
        .await;
    assert_eq!(page.status(), 200, "{path}");
    let html = body_string(page).await;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let req = post_form(
        path,
        &format!("hygie_session={session}"),
        &[("csrf", &csrf), ("code", code)],
    );
    app.send(req).await
}

async fn me_status(app: &App, session: &str) -> StatusCode {
    app.send(get_with("/api/v1/me", &format!("hygie_session={session}")))
        .await
        .status()
}

#[tokio::test]
async fn login_with_totp_enrolment_rotates_the_session_and_refuses_replay() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    facility_user(&app, "rssi", Role::Ciso, &s.own).await;

    // Session fixation: a session id planted before login is never the one that gets in.
    let planted = "a".repeat(64);
    let res = login(
        &app,
        "rssi",
        PASSWORD,
        Some(&format!("hygie_session={planted}")),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[header::LOCATION], "/login/enroll");
    let enroll = set_cookie_value(&res, "hygie_session").unwrap();
    assert_ne!(enroll, planted);
    let cookie_line = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("hygie_session="))
        .unwrap();
    assert!(cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"));
    // Half-logged-in sessions open nothing.
    assert_eq!(me_status(&app, &enroll).await, 401);

    // Enrolment shows the seed; a wrong code is refused.
    let page = app
        .send(get_with(
            "/login/enroll",
            &format!("hygie_session={enroll}"),
        ))
        .await;
    let html = body_string(page).await;
    let secret = html
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let now = jiff::Timestamp::now().as_second();
    let code = auth::totp_code(&secret, now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        post_code(&app, "/login/enroll", &enroll, wrong)
            .await
            .status(),
        401
    );
    let res = post_code(&app, "/login/enroll", &enroll, &code).await;
    assert_eq!(res.status(), 303);
    let full = set_cookie_value(&res, "hygie_session").unwrap();
    assert_ne!(
        full, enroll,
        "the session id rotates when the second factor is proved"
    );
    assert_eq!(me_status(&app, &full).await, 200);
    assert_eq!(me_status(&app, &enroll).await, 401);
    assert_eq!(me_status(&app, &planted).await, 401);
    // Only digests in the store.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(!ids.contains(&full) && ids.contains(&auth::digest(&full)));
    // The TOTP seed is sealed at rest: the column holds neither the seed nor its letters in any case.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE username = 'rssi'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let stored = stored.expect("a seed is stored");
    assert!(stored.starts_with("v1:"), "sealed format: {stored}");
    assert!(!stored.to_uppercase().contains(&secret.to_uppercase()));
    assert!(!stored.contains(&secret[..8]) && !stored.to_uppercase().contains(&secret[..8]));

    // Log in again: TOTP step now; the same code (same time step) is a replay.
    let res = login(&app, "rssi", PASSWORD, None).await;
    assert_eq!(res.headers()[header::LOCATION], "/login/totp");
    let pending = set_cookie_value(&res, "hygie_session").unwrap();
    assert_eq!(
        post_code(&app, "/login/totp", &pending, &code)
            .await
            .status(),
        401,
        "replayed code accepted"
    );
    assert_eq!(me_status(&app, &pending).await, 401);
    // The next time step's code is accepted.
    let next = auth::totp_code(&secret, now + 30);
    let res = post_code(&app, "/login/totp", &pending, &next).await;
    assert_eq!(res.status(), 303);
    let full2 = set_cookie_value(&res, "hygie_session").unwrap();
    assert_eq!(me_status(&app, &full2).await, 200);
    let journal = app.store.journal_entries(None, None).await.unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.action == "user.totp_enrol" && e.subject == "rssi")
    );
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.action == "auth.login" && e.subject == "rssi")
            .count(),
        2
    );

    // Logout ends the session.
    let html = body_string(
        app.send(get_with("/catalog", &format!("hygie_session={full2}")))
            .await,
    )
    .await;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let req = post_form(
        "/logout",
        &format!("hygie_session={full2}"),
        &[("csrf", &csrf)],
    );
    assert_eq!(app.send(req).await.status(), 303);
    assert_eq!(me_status(&app, &full2).await, 401);
}

#[tokio::test]
async fn lockout_after_repeated_failures_even_with_the_right_password() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    facility_user(&app, "it", Role::ItStaff, &s.own).await;
    // IT staff have no mandatory TOTP: a right password logs in at once.
    let ok = login(&app, "it", PASSWORD, None).await;
    assert_eq!(ok.headers()[header::LOCATION], "/");
    for _ in 0..5 {
        let r = login(&app, "it", "wrong password 123", None).await;
        assert_eq!(r.status(), 401);
        assert!(set_cookie_value(&r, "hygie_session").is_none());
    }
    let r = login(&app, "it", PASSWORD, None).await;
    assert_eq!(r.status(), 401, "locked account let in");
    assert!(set_cookie_value(&r, "hygie_session").is_none());
    assert!(
        app.store
            .journal_entries(None, None)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "auth.lockout" && e.subject == "it")
    );
    // Unknown users get the same answer.
    assert_eq!(login(&app, "nobody", PASSWORD, None).await.status(), 401);
}

#[tokio::test]
async fn login_attempts_are_throttled_per_address() {
    let app = sqlite_app().await;
    let addr: std::net::SocketAddr = "192.0.2.7:5555".parse().unwrap();
    let mut last = StatusCode::OK;
    for _ in 0..31 {
        let form = app.send(get("/login")).await;
        let pre = set_cookie_value(&form, "hygie_pre").unwrap();
        let mut req = post_form(
            "/login",
            &format!("hygie_pre={pre}"),
            &[("csrf", &pre), ("username", "x"), ("password", "y")],
        );
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        last = app.send(req).await.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn bootstrap_token_creates_the_first_administrator_once() {
    let app = sqlite_app().await;
    let token = app.state.bootstrap_token().await.unwrap().unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM bootstrap")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![auth::digest(&token)],
        "only the digest is stored"
    );
    let setup = |tok: String, pw: &'static str| {
        let app = &app;
        async move {
            let form = app.send(get("/setup")).await;
            if form.status() != 200 {
                return form.status();
            }
            let pre = set_cookie_value(&form, "hygie_pre").unwrap();
            let req = post_form(
                "/setup",
                &format!("hygie_pre={pre}"),
                &[
                    ("csrf", &pre),
                    ("token", &tok),
                    ("username", "admin"),
                    ("display_name", "Admin"),
                    ("password", pw),
                ],
            );
            app.send(req).await.status()
        }
    };
    assert_eq!(setup("wrong".into(), "a long admin password").await, 400);
    assert_eq!(setup(token.clone(), "short").await, 400, "password policy");
    assert_eq!(setup(token.clone(), "a long admin password").await, 303);
    assert_eq!(app.store.user_count().await.unwrap(), 1);
    assert_eq!(
        setup(token.clone(), "a long admin password").await,
        404,
        "setup is closed"
    );
    assert!(app.state.bootstrap_token().await.unwrap().is_none());
    // The administrator must enrol TOTP at first login.
    let r = login(&app, "admin", "a long admin password", None).await;
    assert_eq!(r.headers()[header::LOCATION], "/login/enroll");
}

#[tokio::test]
async fn pages_render_in_the_users_language_and_switch() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = user(
        &app,
        "dpo",
        Role::Dpo,
        Binding::Facilities {
            facilities: vec![s.own.clone(), s.other.clone()],
        },
    )
    .await;
    let (cookie, csrf) = session(&app, &u).await;
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
}

#[tokio::test]
async fn evidence_upload_form_changes_level_progress() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let catalog = hygie_catalog::bundled().unwrap();
    let today = hygie_web::api::today();
    let before = app
        .store
        .facility_status(&catalog, &s.own, today)
        .await
        .unwrap();
    let m = before
        .measures
        .iter()
        .find(|m| {
            // Not one a failing check holds down (the seed fails a rule of IAM-04).
            m.level == Some(1)
                && !m.status.is_done()
                && m.status != hygie_core::EffectiveStatus::Failing
        })
        .unwrap()
        .id
        .clone();
    let evidence_before = app.store.evidence(&s.own, Some(&m)).await.unwrap().len();
    let boundary = "XbOuNdArY";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"implemented\"\r\n\r\n1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"charte.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 test\r\n--{boundary}--\r\n"
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
    let after = app
        .store
        .facility_status(&catalog, &s.own, today)
        .await
        .unwrap();
    assert_eq!(after.levels[0].done, before.levels[0].done + 1);
    let ev = app.store.evidence(&s.own, Some(&m)).await.unwrap();
    assert_eq!(ev.len(), evidence_before + 1);
    assert_eq!(ev.last().unwrap().added_by, "web:it");
}

#[tokio::test]
async fn administrators_create_users_only_within_their_binding() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let admin = facility_user(&app, "adm", Role::Administrator, &s.own).await;
    let (cookie, csrf) = session(&app, &admin).await;
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
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, "rssi", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
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
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "the clocks refresh"
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

/// A TOTP seed stored in clear by an earlier version still opens the login, and is sealed then.
#[tokio::test]
async fn a_seed_stored_in_clear_is_sealed_at_its_next_use() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    let seed_b32 = "JBSWY3DPEHPK3PXPJBSWY3DP";
    app.store.set_pending_totp(u.id, seed_b32).await.unwrap();
    app.store
        .confirm_totp(u.id, &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    let res = login(&app, "dpo", PASSWORD, None).await;
    assert_eq!(res.headers()[header::LOCATION], "/login/totp");
    let pending = set_cookie_value(&res, "hygie_session").unwrap();
    let code = auth::totp_code(seed_b32, jiff::Timestamp::now().as_second());
    let res = post_code(&app, "/login/totp", &pending, &code).await;
    assert_eq!(res.status(), 303, "the clear seed still verifies");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE username = 'dpo'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let stored = stored.unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains(seed_b32),
        "{stored}"
    );
}
