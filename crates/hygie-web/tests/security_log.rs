//! The security event log (issue 25): every refused authentication or authorisation is logged
//! at warn with a stable event name, the user when known, the class of the client's address and
//! the route; never a password, a code, a token, a cookie or a CSRF token. The test captures
//! every log line of every level while it drives the app.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_store::{Actor, Role, TokenAccess};
use hygie_web::auth;
use std::sync::{Arc, Mutex};

/// Every line the app logs while the guard lives (this thread: the test's runtime).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn start(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    /// The warn lines of one security event.
    fn events(&self, name: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains(&format!("event=\"{name}\"")))
            .map(str::to_owned)
            .collect()
    }
}

fn one_with(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

#[tokio::test]
async fn refusals_are_logged_with_their_event_and_no_secret() {
    let log = Captured::default();
    let _guard = log.start();
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let mut secrets: Vec<String> = vec![PASSWORD.into()];
    facility_user(&app, "it", Role::ItStaff, &s.own).await;

    // A wrong password of a known user; a password typed in the username field.
    let wrong = "a wrong password 1!";
    secrets.push(wrong.into());
    login(&app, "it", wrong, None).await;
    let typed = "MySecretTypedAsUsername42";
    secrets.push(typed.into());
    login(&app, typed, wrong, None).await;
    let failed = log.events("login_failed");
    assert!(
        one_with(
            &failed,
            &[
                "user=\"it\"",
                "route=\"/login\"",
                "reason=\"wrong_password\""
            ]
        ),
        "{failed:?}"
    );
    assert!(
        one_with(&failed, &["reason=\"unknown_user\""]),
        "{failed:?}"
    );
    // Five in a row lock the account.
    for _ in 0..4 {
        login(&app, "it", wrong, None).await;
    }
    assert!(one_with(&log.events("account_locked"), &["user=\"it\""]));

    // A CSRF token missing from a form; an action the role may not do.
    let ciso = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &ciso).await;
    secrets.push(cookie.trim_start_matches("hygie_session=").to_owned());
    secrets.push(csrf.clone());
    let path = format!("/facilities/{}/measures/IAM-05/declare", s.own);
    let r = app
        .send(post_form(
            &path,
            &cookie,
            &[("csrf", "forged"), ("status", "implemented")],
        ))
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        one_with(
            &log.events("csrf_rejected"),
            &["user=\"ciso\"", &format!("route=\"{path}\"")]
        ),
        "{}",
        log.text()
    );
    assert_eq!(app.status(get_with("/admin/users", &cookie)).await, 403);
    assert!(one_with(
        &log.events("access_denied"),
        &["user=\"ciso\"", "route=\"/admin/users\""]
    ));

    // An unknown bearer token, then an expired one.
    let forged = format!("hyg_{}", auth::random_hex(32).unwrap());
    secrets.push(forged.clone());
    let bearer = Cred::Bearer(forged);
    assert_eq!(app.status(get_as("/api/v1/facilities", &bearer)).await, 401);
    let real = token(&app, &s.own, TokenAccess::Read).await;
    secrets.push(real.clone());
    sqlx::query("UPDATE api_tokens SET expires_us = 1")
        .execute(app.store.pool())
        .await
        .unwrap();
    let expired = Cred::Bearer(real);
    assert_eq!(
        app.status(get_as("/api/v1/facilities", &expired)).await,
        401
    );
    let refused = log.events("token_refused");
    assert!(one_with(&refused, &["reason=\"unknown\""]), "{refused:?}");
    assert!(one_with(&refused, &["reason=\"expired\"", "user=\"token:"]));

    // A wrong second-factor code.
    let dpo = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    let seed_b32 = "JBSWY3DPEHPK3PXPJBSWY3DP";
    secrets.push(seed_b32.into());
    app.store.set_pending_totp(dpo.id, seed_b32).await.unwrap();
    app.store
        .confirm_totp(dpo.id, &Actor("test".into()))
        .await
        .unwrap();
    let r = login(&app, "dpo", PASSWORD, None).await;
    let pending = set_cookie_value(&r, "hygie_session").unwrap();
    secrets.push(pending.clone());
    let now = jiff::Timestamp::now().as_second();
    let valid: Vec<String> = (-2..=2)
        .map(|k| auth::totp_code(seed_b32, now + 30 * k))
        .collect();
    let code = (0..1000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap();
    let r = post_code(&app, "/login/totp", &pending, &code).await;
    assert_eq!(r.status(), 401);
    assert!(one_with(
        &log.events("totp_failed"),
        &["user=\"dpo\"", "route=\"/login/totp\""]
    ));

    // Too many attempts from one address: the event names the address's class, not the address.
    let addr: std::net::SocketAddr = "198.51.100.77:4000".parse().unwrap();
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
        app.send(req).await;
    }
    let throttled = log.events("login_throttled");
    assert!(
        one_with(&throttled, &["client=\"198.51.100.0/24\""]),
        "{throttled:?}"
    );
    assert!(!log.text().contains("198.51.100.77"));

    // A first-run setup with a wrong token.
    let fresh = sqlite_app().await;
    let bootstrap = fresh.state.bootstrap_token().await.unwrap().unwrap();
    secrets.push(bootstrap);
    let form = fresh.send(get("/setup")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let r = fresh
        .send(post_form(
            "/setup",
            &format!("hygie_pre={pre}"),
            &[
                ("csrf", &pre),
                ("token", "not the token"),
                ("username", "admin"),
                ("display_name", "Admin"),
                ("password", "a long admin password"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert!(one_with(
        &log.events("setup_refused"),
        &["route=\"/setup\""]
    ));

    let text = log.text();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret} logged");
    }
    assert!(!text.contains("a long admin password"));
}
