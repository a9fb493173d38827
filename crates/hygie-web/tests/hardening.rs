//! Issue 25's web findings: `/metrics` without authentication, framework errors in English plain
//! text, evidence names that break or disguise the download, the client address behind a
//! reverse proxy, and guesses spread over many addresses against one account.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hygie_store::{Binding, Role, TokenAccess};
use hygie_web::{Config, auth};
use std::net::SocketAddr;

const METRICS_TOKEN: &str = "a-metrics-token-of-forty-characters-----";

/// Issue 25: `/metrics` answered anyone. It now needs the metrics token or an API token an
/// administrator created; no token or an unknown one is 401, another valid token 403.
#[tokio::test]
async fn metrics_need_the_metrics_token_or_an_administrators_api_token() {
    let app = sqlite_app_with(Config {
        metrics_token_digest: Some(auth::digest(METRICS_TOKEN)),
        ..Config::default()
    })
    .await;
    let s = seed(&app).await;
    user(&app, "admin", Role::Administrator, Binding::Installation).await;
    facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let bearer = |t: &str| Cred::Bearer(t.to_owned());
    let res = app.send(get("/metrics")).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
    assert!(body_string(res).await.contains("\"error\""));
    let nope = get_as("/metrics", &bearer("not-the-token"));
    assert_eq!(app.status(nope).await, 401);
    let res = app.send(get_as("/metrics", &bearer(METRICS_TOKEN))).await;
    assert_eq!(res.status(), 200);
    assert!(
        body_string(res)
            .await
            .contains("hygie_connections_refused_total")
    );
    let admin = token_by(&app, &s.own, TokenAccess::Read, "web:admin").await;
    assert_eq!(app.status(get_as("/metrics", &bearer(&admin))).await, 200);
    for creator in ["web:ciso", "web:gone", "cli:root"] {
        let t = token_by(&app, &s.own, TokenAccess::Write, creator).await;
        assert_eq!(
            app.status(get_as("/metrics", &bearer(&t))).await,
            403,
            "{creator}"
        );
    }
    // A session is not enough either: the metrics are for scrapers.
    let u = user(&app, "admin2", Role::Administrator, Binding::Installation).await;
    let (cookie, _) = session(&app, &u).await;
    assert_eq!(app.status(get_with("/metrics", &cookie)).await, 401);
}

#[test]
fn the_metrics_token_file_is_private_and_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.token");
    std::fs::write(&file, format!("{METRICS_TOKEN}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |mode| std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode));
        set(0o644).unwrap();
        let e = hygie_web::metrics::token_digest_from_file(&file);
        assert!(e.is_err_and(|e| e.to_string().contains("chmod 600")));
        set(0o600).unwrap();
    }
    let d = hygie_web::metrics::token_digest_from_file(&file).unwrap();
    assert_eq!(d, auth::digest(METRICS_TOKEN));
    std::fs::write(&file, "short").unwrap();
    let e = hygie_web::metrics::token_digest_from_file(&file);
    assert!(e.is_err_and(|e| e.to_string().contains("too short")));
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body)).unwrap()
}

/// Issue 25: the framework's own refusals (body too large, malformed JSON, missing field, wrong
/// content type, unknown path or method) were axum's English plain text. They are now answered
/// like the application's errors, in the caller's language: JSON under `/api/`, a page
/// elsewhere.
#[tokio::test]
async fn framework_errors_are_answered_like_the_applications_own() {
    let app = sqlite_app_with(Config {
        max_upload_bytes: 1024,
        ..Config::default()
    })
    .await;
    let s = seed(&app).await;
    let u = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let fr = ("Accept-Language", "fr-FR,fr;q=0.9");
    let api = |body: &str, ct: Option<&str>, lang: (&'static str, &'static str)| {
        let mut h = vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", csrf.as_str()),
            lang,
        ];
        if let Some(ct) = ct {
            h.push(("Content-Type", ct));
        }
        request(
            "POST",
            &format!("/api/v1/facilities/{}/measures/IAM-05/declarations", s.own),
            &h,
            body.as_bytes().to_vec(),
        )
    };
    let json = Some("application/json");
    let en = ("Accept-Language", "en");
    let big = format!(
        r#"{{"status":"implemented","note":"{}"}}"#,
        "x".repeat(hygie_web::MAX_FORM_BYTES)
    );
    let cases = [
        (api("{", json, fr), 400, "La requête est mal formée."),
        (
            api(r#"{"status":"implemented"}"#, None, fr),
            415,
            "Type de contenu incorrect",
        ),
        (
            api(r#"{"owner":"RSSI"}"#, json, fr),
            422,
            "Un champ de la requête manque",
        ),
        (
            api(r#"{"status":5}"#, json, en),
            422,
            "A field of the request is missing",
        ),
        (
            api(&big, json, en),
            413,
            "forms and JSON take at most 64 KiB",
        ),
    ];
    for (req, status, text) in cases {
        let res = app.send(req).await;
        if res.status() != status {
            panic!("{text}: {} {}", res.status(), body_string(res).await);
        }
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let v: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
        assert!(v["error"].as_str().unwrap().contains(text), "{v}");
    }
    // The framework's own words stay available to API clients, as `detail`.
    let v = app.json(api(r#"{"owner":"RSSI"}"#, json, en)).await;
    assert!(v["detail"].as_str().unwrap().contains("status"), "{v}");
    // An upload above the limit.
    let up = request(
        "POST",
        &format!(
            "/api/v1/facilities/{}/measures/IAM-05/evidence?file_name=a.pdf",
            s.own
        ),
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), fr],
        vec![b'x'; 2048],
    );
    let res = app.send(up).await;
    assert_eq!(res.status(), 413);
    assert!(
        body_string(res)
            .await
            .contains("1 Kio pour un fichier de preuve")
    );
    // Pages: an HTML page in the browser's language.
    let page_cases = [
        (
            request("GET", "/nowhere", &[fr], vec![]),
            404,
            "Introuvable.",
        ),
        (
            request(
                "POST",
                "/login",
                &[fr, ("Content-Type", "application/x-www-form-urlencoded")],
                b"username=a".to_vec(),
            ),
            422,
            "Un champ de la requête manque",
        ),
        (
            request(
                "POST",
                "/login",
                &[fr, ("Content-Type", "text/plain")],
                b"x".to_vec(),
            ),
            415,
            "Type de contenu incorrect",
        ),
        (
            request("DELETE", "/healthz", &[("Accept-Language", "en")], vec![]),
            405,
            "This method is not allowed",
        ),
    ];
    for (req, status, text) in page_cases {
        let res = app.send(req).await;
        assert_eq!(res.status(), status, "{text}");
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        if status == 405 {
            assert_eq!(res.headers()[header::ALLOW], "GET,HEAD");
        }
        let html = body_string(res).await;
        assert!(html.contains(text), "{html}");
    }
    let res = app
        .send(request("GET", "/api/v1/nowhere", &[], vec![]))
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
}

/// Issue 25: evidence names were not escaped in `Content-Disposition`, and U+202E was accepted.
/// A download is an attachment named by an ASCII fallback and the exact UTF-8 name; a name that
/// could disguise itself is refused at upload, by the API and the page alike.
#[tokio::test]
async fn evidence_downloads_are_attachments_and_disguised_names_are_refused() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let t = Cred::Bearer(token(&app, &s.own, TokenAccess::Write).await);
    let upload = |name: &str| {
        request_with(
            "POST",
            &format!(
                "/api/v1/facilities/{}/measures/IAM-05/evidence?file_name={}",
                s.own,
                auth::percent_encode(name)
            ),
            &t,
            b"content".to_vec(),
        )
    };
    let res = app.send(upload("Relevé \"final\"; été.pdf")).await;
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    let sha = v["sha256"].as_str().unwrap().to_owned();
    let res = app
        .send(get_as(
            &format!("/api/v1/facilities/{}/evidence/{sha}", s.own),
            &t,
        ))
        .await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(
        h[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Relev_ _final_; _t_.pdf\"; filename*=UTF-8''Relev%C3%A9%20%22final%22%3B%20%C3%A9t%C3%A9.pdf"
    );
    assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    for bad in ["gpj.\u{202e}exe", "a\r\nb.pdf", "x\u{2066}.pdf"] {
        let res = app.send(upload(bad)).await;
        assert_eq!(res.status(), 400, "{bad:?}");
        let text = body_string(res).await;
        assert!(text.contains("U+") && text.contains("renommez"), "{text}");
    }
    // The page's multipart upload goes to the same store edge.
    let u = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gpj.\u{202e}exe\"\r\nContent-Type: application/octet-stream\r\n\r\nMZ\r\n--{boundary}--\r\n"
    );
    let req = request(
        "POST",
        &format!("/facilities/{}/measures/IAM-05/evidence", s.own),
        &[
            ("Cookie", &cookie),
            (
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        body.into_bytes(),
    );
    let res = app.send(req).await;
    assert_eq!(res.status(), 400);
    assert!(body_string(res).await.contains("U+202E"));
    let files = app.store.evidence(&s.own, None).await.unwrap();
    assert!(
        files
            .iter()
            .all(|e| !format!("{:?}", e.kind).contains("gpj")),
        "{files:?}"
    );
}

fn request_with(method: &str, uri: &str, cred: &Cred, body: Vec<u8>) -> Request<Body> {
    common::request(method, uri, cred, None, body)
}

/// A failed login for `username` from the TCP peer `peer`, with an `X-Forwarded-For` header when
/// given; its status.
async fn login_from(app: &App, peer: &str, forwarded: Option<&str>, username: &str) -> StatusCode {
    let form = app.send(get("/login")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let mut req = post_form(
        "/login",
        &format!("hygie_pre={pre}"),
        &[
            ("csrf", &pre),
            ("username", username),
            ("password", "wrong"),
        ],
    );
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    if let Some(f) = forwarded {
        req.headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    app.send(req).await.status()
}

/// Issue 25: behind a reverse proxy every user shared the proxy's budget, and trusting the
/// header from anyone would let each attempt claim a new address. `X-Forwarded-For` now names
/// the client only when the peer is a trusted proxy.
#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let app = sqlite_app_with(Config {
        trusted_proxies: vec![hygie_web::client::Cidr::parse("10.0.0.0/24").unwrap()],
        ..Config::default()
    })
    .await;
    let mut n = 0;
    let mut next_user = || {
        n += 1;
        format!("user{n}")
    };
    // Through the proxy, one client spends its own budget...
    let mut last = StatusCode::OK;
    for _ in 0..31 {
        last = login_from(&app, "10.0.0.5:40000", Some("198.51.100.1"), &next_user()).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // ... and another client behind the same proxy still has its own.
    let other = login_from(&app, "10.0.0.5:40001", Some("198.51.100.2"), &next_user()).await;
    assert_eq!(other, StatusCode::UNAUTHORIZED);
    // A client that is not a proxy cannot pick a new address for each attempt.
    let mut last = StatusCode::OK;
    for i in 0..31 {
        let claimed = format!("192.0.2.{i}");
        last = login_from(&app, "203.0.113.9:5555", Some(&claimed), &next_user()).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

/// Issue 25: a guess spread over many addresses against one account met only the per-address
/// budget. Each account now has its own (10 a minute), whatever the addresses, for passwords and
/// second-factor codes together; other accounts are not affected.
#[tokio::test]
async fn a_guess_spread_over_many_addresses_is_slowed_per_account() {
    let app = sqlite_app_with(Config {
        // No lock from wrong codes here: only the rate limit is under test.
        totp_backoff: hygie_store::Backoff {
            failures_per_lock: 1000,
            first: jiff::SignedDuration::from_mins(1),
            longest: jiff::SignedDuration::from_mins(1),
        },
        ..Config::default()
    })
    .await;
    let s = seed(&app).await;
    let mut statuses = Vec::new();
    for i in 0..11 {
        statuses.push(login_from(&app, &format!("192.0.2.{i}:5555"), None, "alice").await);
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    // The same address may still try another account.
    let bob = login_from(&app, "192.0.2.10:5555", None, "bob").await;
    assert_eq!(bob, StatusCode::UNAUTHORIZED);

    // Second-factor codes count against the account too.
    let u = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    let seed_b32 = "JBSWY3DPEHPK3PXPJBSWY3DP";
    app.store.set_pending_totp(u.id, seed_b32).await.unwrap();
    app.store
        .confirm_totp(u.id, &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    let form = app.send(get("/login")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let res = app
        .send(post_form(
            "/login",
            &format!("hygie_pre={pre}"),
            &[("csrf", &pre), ("username", "dpo"), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/login/totp");
    let pending = format!(
        "hygie_session={}",
        set_cookie_value(&res, "hygie_session").unwrap()
    );
    let page = body_string(app.send(get_with("/login/totp", &pending)).await).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let mut statuses = Vec::new();
    for i in 0..11 {
        let mut req = post_form(
            "/login/totp",
            &pending,
            &[("csrf", &csrf), ("code", "000000")],
        );
        let peer: SocketAddr = format!("198.51.100.{i}:5555").parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        statuses.push(app.send(req).await.status());
    }
    // The correct password gave its attempt back: ten wrong codes, then the eleventh is over
    // the account's budget.
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
}

/// Token creation counts against the creator's account: a stolen session cannot mint tokens in
/// bulk.
#[tokio::test]
async fn token_creation_is_limited_per_account() {
    let (app, s, cookie, csrf) = signed_in("ciso", Role::Ciso).await;
    let c = Cred::Cookie { cookie, csrf };
    let body = format!(
        r#"{{"name":"agent","facility":"{}","access":"read"}}"#,
        s.own
    );
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(app.status(post_json("/api/v1/tokens", &c, &body)).await);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
}

/// Issue 25 ("installation-wide sequence numbers tell a facility-bound user how busy the others
/// are"): a facility's CISO sees the journal's verdict with the count of their own entries and
/// no sequence numbers; an installation-wide administrator sees both.
#[tokio::test]
async fn a_bound_user_sees_neither_the_installations_entry_count_nor_its_sequence_numbers() {
    let (app, s, cookie, csrf) = signed_in("ciso", Role::Ciso).await;
    let actor = hygie_store::Actor("test".into());
    let m = hygie_core::MeasureId::parse("IAM-05").unwrap();
    for i in 0..25 {
        let status = if i % 2 == 0 {
            hygie_core::DeclaredStatus::Implemented
        } else {
            hygie_core::DeclaredStatus::InProgress
        };
        app.store
            .declare(&s.other, &m, &status, None, None, &actor)
            .await
            .unwrap();
    }
    let total = app.store.journal_entries(None, None).await.unwrap().len();
    let own = app
        .store
        .journal_count_of(hygie_store::Facilities::These(std::slice::from_ref(&s.own)))
        .await
        .unwrap();
    assert!(own > 0 && own + 25 <= total, "own {own}, total {total}");

    let c = Cred::Cookie {
        cookie: cookie.clone(),
        csrf,
    };
    let v = app.json(get_as("/api/v1/journal/verify", &c)).await;
    assert_eq!(v["intact"], true);
    assert_eq!(v["entries"], own, "{v}");
    let page = body_string(app.send(get_with("/journal", &cookie)).await).await;
    assert!(page.contains(&format!("({own} ")), "own count missing");
    assert!(
        !page.contains(&format!("({total} ")),
        "installation count shown"
    );
    assert!(!page.contains("<th>#</th>"), "sequence numbers shown");

    let admin = user(&app, "root", Role::Administrator, Binding::Installation).await;
    let (admin_cookie, _) = session(&app, &admin).await;
    let total = app.store.journal_entries(None, None).await.unwrap().len();
    let page = body_string(app.send(get_with("/journal", &admin_cookie)).await).await;
    assert!(page.contains(&format!("({total} ")), "total missing");
    assert!(page.contains("<th>#</th>"));
}
