//! The security tests of logging in and of changing things: CSRF, session fixation, lockout,
//! TOTP enrolment and replay, throttling, bootstrap, TOTP seeds sealed at rest.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hygie_store::Role;
use hygie_web::auth;

#[tokio::test]
async fn csrf_missing_or_wrong_is_refused_and_changes_nothing() {
    let (app, s, cookie, csrf) = signed_in("ciso", Role::Ciso).await;
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
    let secret_of = |html: &str| {
        html.split("id=\"totp-secret\">")
            .nth(1)
            .unwrap_or_else(|| panic!("no key on the page: {html}"))
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    let secret = secret_of(&html);
    // The key is drawn as a QR code of its otpauth URI, inline, without script.
    assert!(html.contains("<svg") && html.contains("id=\"totp-qr\""));
    assert!(html.contains(&format!("secret={secret}")));
    assert!(!html.contains("<script"));
    let now = jiff::Timestamp::now().as_second();
    let code = auth::totp_code(&secret, now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = post_code(&app, "/login/enroll", &enroll, wrong).await;
    assert_eq!(res.status(), 401);
    // A wrong code keeps the same key on the page, with its QR code.
    let again = body_string(res).await;
    assert_eq!(secret_of(&again), secret);
    assert!(again.contains("id=\"totp-qr\""));
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
    let csrf = csrf_field(&html);
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
        last = login_attempt_from(&app, addr).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

/// A failed login from `addr`, as the listener reports the client's address; its status. Each
/// attempt names another account, so that only the address's budget is counted.
async fn login_attempt_from(app: &App, addr: std::net::SocketAddr) -> StatusCode {
    static ATTEMPT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = ATTEMPT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let form = app.send(get("/login")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let mut req = post_form(
        "/login",
        &format!("hygie_pre={pre}"),
        &[
            ("csrf", &pre),
            ("username", &format!("x{n}")),
            ("password", "y"),
        ],
    );
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    app.send(req).await.status()
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

/// A known TOTP seed (base32).
const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";

/// An app with a DPO ("dpo") whose second factor is already enrolled with `seed` (stored as
/// given: in clear, as versions before sealing kept it).
async fn dpo_with_totp(seed_b32: &str) -> (App, hygie_store::User) {
    // Lockouts only: the per-account rate limit, which would refuse the attempts first, has its
    // own test (hardening.rs).
    let app = sqlite_app_with(hygie_web::Config {
        account_attempts_per_minute: 1000,
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    let u = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    app.store.set_pending_totp(u.id, seed_b32).await.unwrap();
    app.store
        .confirm_totp(u.id, &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    (app, u)
}

/// A TOTP seed stored in clear by an earlier version still opens the login, and is sealed then.
#[tokio::test]
async fn a_seed_stored_in_clear_is_sealed_at_its_next_use() {
    let (app, _) = dpo_with_totp(SEED).await;
    let seed_b32 = SEED;
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

/// Issue 25: a correct password used to reset the only failure counter, so a password holder got
/// four code guesses per login without end. The second factor now counts wrong codes apart; the
/// password does not reset that count, and the fifth wrong code locks the second factor.
#[tokio::test]
async fn a_correct_password_does_not_reset_the_count_of_wrong_codes() {
    let (app, u) = dpo_with_totp(SEED).await;
    let seed_b32 = SEED;
    let now = jiff::Timestamp::now().as_second();
    // A code valid at no step within the window (two steps either way).
    let valid: Vec<String> = (-2..=2)
        .map(|k| auth::totp_code(seed_b32, now + 30 * k))
        .collect();
    let wrong = (0..1000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap();
    let mut refused = 0;
    for _round in 0..4 {
        let res = login(&app, "dpo", PASSWORD, None).await;
        assert_eq!(res.headers()[header::LOCATION], "/login/totp");
        let pending = set_cookie_value(&res, "hygie_session").unwrap();
        for _ in 0..4 {
            let page = app
                .send(get_with("/login/totp", &format!("hygie_session={pending}")))
                .await;
            if page.status() != 200 {
                break; // the lock ended the pending session
            }
            let csrf = csrf_field(&body_string(page).await);
            let r = app
                .send(post_form(
                    "/login/totp",
                    &format!("hygie_session={pending}"),
                    &[("csrf", &csrf), ("code", &wrong)],
                ))
                .await;
            assert_eq!(r.status(), 401);
            refused += 1;
        }
    }
    assert!(refused >= 5, "{refused} wrong codes tried");
    let cred = app.store.credentials(u.id).await.unwrap();
    assert!(
        cred.totp_locked_until > jiff::Timestamp::now(),
        "wrong codes across password logins lock the second factor"
    );
    // The right code, after a correct password, is refused while the lock lasts.
    let res = login(&app, "dpo", PASSWORD, None).await;
    let pending = set_cookie_value(&res, "hygie_session").unwrap();
    let code = auth::totp_code(seed_b32, jiff::Timestamp::now().as_second());
    let res = post_code(&app, "/login/totp", &pending, &code).await;
    assert_ne!(res.status(), 303, "a locked second factor let a code in");
    let lockouts = app
        .store
        .journal_entries(None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "auth.totp_lockout" && e.subject == "dpo")
        .count();
    assert_eq!(lockouts, 1);
}

/// Issue 25: the 25 MiB upload limit applied to the anonymous login and setup forms, so forty
/// concurrent 24 MiB logins took the server from 28 to 386 MB. A form body is now limited to
/// `MAX_FORM_BYTES`, whether its length is declared or it comes in chunks.
#[tokio::test]
async fn anonymous_forms_refuse_large_bodies() {
    let app = sqlite_app().await;
    seed(&app).await;
    let big = format!(
        "csrf=x&username=u&password={}",
        "a".repeat(hygie_web::MAX_FORM_BYTES)
    );
    for path in ["/login", "/setup"] {
        let declared = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        assert_eq!(app.send(declared).await.status(), 413, "{path}, declared");
        let undeclared = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(big.clone()))
            .unwrap();
        assert_eq!(app.send(undeclared).await.status(), 413, "{path}, chunked");
    }
    // A password longer than any the policy accepts is refused without being hashed.
    assert!(!auth::verify_password(
        &"a".repeat(10_000),
        auth::dummy_hash()
    ));
}

/// Issue 25: the login throttle was keyed on the full address, so a host with an IPv6 /64 had
/// unlimited attempts. Addresses of one /64 now share the budget; another /64 has its own.
#[tokio::test]
async fn login_attempts_from_one_ipv6_64_share_the_budget() {
    let app = sqlite_app().await;
    let attempt = |addr| login_attempt_from(&app, addr);
    let mut last = StatusCode::OK;
    for i in 0..31u16 {
        // A new address of the same /64 for every attempt.
        let addr = format!("[2001:db8:1:2:{i:x}::7]:5555").parse().unwrap();
        last = attempt(addr).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let other = "[2001:db8:1:3::7]:5555".parse().unwrap();
    assert_ne!(attempt(other).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        hygie_web::throttle_key("::ffff:192.0.2.7".parse().unwrap()),
        "192.0.2.7".parse::<std::net::IpAddr>().unwrap()
    );
}

/// Issue 25: sessions lasted an absolute 8 hours whatever the activity, and ended rows were
/// never removed. A session now ends after 30 minutes unused, a request moves that end (up to
/// 8 hours after login), and ended sessions are purged at the next login.
#[tokio::test]
async fn sessions_end_when_idle_within_their_longest_life() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let res = login(&app, "it", PASSWORD, None).await;
    assert_eq!(res.status(), 303);
    let session = set_cookie_value(&res, "hygie_session").unwrap();
    let hash = auth::digest(&session);
    let now_us = || jiff::Timestamp::now().as_microsecond();
    let column = |name: &'static str| {
        let (app, hash) = (&app, hash.clone());
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT {name} FROM sessions WHERE id_hash = $1"))
                .bind(hash)
                .fetch_one(app.store.pool())
                .await
                .unwrap()
        }
    };
    let set = |sql: String| {
        let (app, hash) = (&app, hash.clone());
        async move {
            sqlx::query(&sql)
                .bind(hash)
                .execute(app.store.pool())
                .await
                .unwrap();
        }
    };
    let minutes_left = |expires: i64| (expires - now_us()) / 60_000_000;
    // After login: 30 minutes, not 8 hours.
    assert!((29..=30).contains(&minutes_left(column("expires_us").await)));
    // Used after 29 idle minutes: the end moves back to 30 minutes from now.
    set(format!(
        "UPDATE sessions SET expires_us = {} WHERE id_hash = $1",
        now_us() + 60_000_000
    ))
    .await;
    assert_eq!(me_status(&app, &session).await, 200);
    assert!((29..=30).contains(&minutes_left(column("expires_us").await)));
    // Near the end of its longest life, a request does not extend it past 8 hours after login.
    let created = now_us() - 8 * 3_600_000_000 + 120_000_000;
    set(format!(
        "UPDATE sessions SET created_us = {created}, expires_us = {} WHERE id_hash = $1",
        now_us() + 60_000_000
    ))
    .await;
    assert_eq!(me_status(&app, &session).await, 200);
    assert!(minutes_left(column("expires_us").await) <= 2);
    // Unused past its end: refused, then purged by the next login.
    set("UPDATE sessions SET expires_us = 1 WHERE id_hash = $1".into()).await;
    assert_eq!(me_status(&app, &session).await, 401);
    login(&app, "it", PASSWORD, None).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id_hash = $1")
        .bind(&hash)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "an ended session is purged");
}

#[tokio::test]
async fn an_enrolment_started_again_has_a_new_key_and_the_old_one_opens_nothing() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    facility_user(&app, "dpo2", Role::Dpo, &s.own).await;
    let res = login(&app, "dpo2", PASSWORD, None).await;
    assert_eq!(res.headers()[header::LOCATION], "/login/enroll");
    let enroll = set_cookie_value(&res, "hygie_session").unwrap();
    let cookie = format!("hygie_session={enroll}");
    let key = |html: &str| {
        html.split("id=\"totp-secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    let html = body_string(app.send(get_with("/login/enroll", &cookie)).await).await;
    let first = key(&html);
    // The same key on every visit until it is confirmed or replaced.
    let html = body_string(app.send(get_with("/login/enroll", &cookie)).await).await;
    assert_eq!(key(&html), first);
    // Without the CSRF token, nothing changes.
    let res = app
        .send(post_form("/login/enroll/new", &cookie, &[("csrf", "nope")]))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .send(post_form(
            "/login/enroll/new",
            &cookie,
            &[("csrf", &csrf_field(&html))],
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[header::LOCATION], "/login/enroll");
    let html = body_string(app.send(get_with("/login/enroll", &cookie)).await).await;
    let second = key(&html);
    assert_ne!(second, first);
    let now = jiff::Timestamp::now().as_second();
    let old = auth::totp_code(&first, now);
    if old != auth::totp_code(&second, now) {
        let res = post_code(&app, "/login/enroll", &enroll, &old).await;
        assert_eq!(res.status(), 401, "the replaced key opens nothing");
    }
    let res = post_code(
        &app,
        "/login/enroll",
        &enroll,
        &auth::totp_code(&second, now),
    )
    .await;
    assert_eq!(res.status(), 303);
}
