//! Passkeys end to end: Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
//! domain, reached through chromedriver's `goog/cdp/execute`: CTAP2, internal transport,
//! resident keys and user verification), Hygie's server on `http://localhost` (the one plain
//! address browsers allow WebAuthn on; a relying party id cannot be an IP address).
//!
//! A CISO enrols TOTP at the first login, registers a passkey from "My passkeys", signs out,
//! signs in with the password and the passkey as the second factor, then with the passkey
//! alone; removes it, and the passkey sign-in is refused; registers again, and an administrator
//! removes the user's passkeys (the recovery), after which only the password and TOTP open the
//! account. The journal has the registrations, removals and logins by method, never key
//! material. Without chromium: fails when CI=true, else SKIP.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use hygie_store::{Binding, Role};
use serde_json::{Value, json};

/// A DevTools command through chromedriver.
async fn cdp(b: &Browser, cmd: &str, params: Value) -> Value {
    b.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({ "cmd": cmd, "params": params })),
    )
    .await
}

/// The credentials the virtual authenticator holds.
async fn held(b: &Browser, authenticator: &str) -> Vec<Value> {
    cdp(
        b,
        "WebAuthn.getCredentials",
        json!({ "authenticatorId": authenticator }),
    )
    .await["credentials"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_register_sign_in_and_removal_in_chromium() {
    if chromium_missing() {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");
    let passkeys = hygie_web::passkey::Passkeys::new(&base).unwrap();
    let app = sqlite_app_with(hygie_web::Config {
        passkeys: Some(std::sync::Arc::new(passkeys)),
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    let own = Binding::Facilities {
        facilities: vec![s.own.clone()],
    };
    user(&app, "amartin", Role::Ciso, own).await;
    let boss = user(&app, "boss", Role::Administrator, Binding::Installation).await;
    let (b, _, mut driver, _profile) = start_on(&app, listener).await;

    cdp(&b, "WebAuthn.enable", json!({ "enableUI": false })).await;
    let authenticator = cdp(
        &b,
        "WebAuthn.addVirtualAuthenticator",
        json!({ "options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
            "automaticPresenceSimulation": true,
        } }),
    )
    .await["authenticatorId"]
        .as_str()
        .unwrap()
        .to_owned();

    let password_login = || {
        let b = &b;
        let base = &base;
        async move {
            b.go(&format!("{base}/login")).await;
            b.type_in("#username", "amartin").await;
            b.type_in("#password", PASSWORD).await;
            b.click("#login").await;
        }
    };
    let now = jiff::Timestamp::now().as_second();

    // First login: a CISO enrols TOTP.
    password_login().await;
    let secret = b.wait_text("#totp-secret", "").await;
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;

    // Register a passkey from "My passkeys".
    b.go(&format!("{base}/account/passkeys")).await;
    b.wait_text("#no-passkeys", "No passkey").await;
    b.type_in("#passkey-name", "office laptop").await;
    b.click("#add-passkey").await;
    b.wait_text("#passkey-start", "Create the passkey").await;
    b.screenshot("passkeys-01-create").await;
    b.click("#passkey-start").await;
    b.wait_text("#passkeys .passkey-name", "office laptop")
        .await;
    b.screenshot("passkeys-02-registered").await;
    let creds = held(&b, &authenticator).await;
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(creds[0]["isResidentCredential"], true, "{creds:?}");
    let counter_after_registration = creds[0]["signCount"].as_u64().unwrap();
    b.click("#logout").await;
    b.wait_text("h1", "Log in").await;

    // The password, then the passkey instead of a TOTP code.
    password_login().await;
    b.wait_text("#use-passkey", "Use a passkey instead").await;
    b.click("#use-passkey").await;
    b.wait_text("#passkey-start", "Use my passkey").await;
    b.click("#passkey-start").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("passkeys-03-second-factor").await;
    b.click("#logout").await;
    b.wait_text("h1", "Log in").await;

    // No password at all: "Sign in with a passkey".
    b.click("#passwordless").await;
    b.wait_text("#passkey-start", "Use my passkey").await;
    b.click("#passkey-start").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("passkeys-04-passwordless").await;
    let creds = held(&b, &authenticator).await;
    assert!(
        creds[0]["signCount"].as_u64().unwrap() > counter_after_registration,
        "the signature counter moved: {creds:?}"
    );
    let stored = app
        .store
        .passkeys_of(app.store.user_named("amartin").await.unwrap().id)
        .await
        .unwrap();
    assert!(stored[0].info.last_used.is_some());

    // Removed, the passkey opens nothing any more (the authenticator still holds it).
    b.go(&format!("{base}/account/passkeys")).await;
    b.click(".remove-passkey").await;
    b.wait_text("#no-passkeys", "No passkey").await;
    b.click("#logout").await;
    b.wait_text("h1", "Log in").await;
    b.click("#passwordless").await;
    b.wait_text("#passkey-start", "Use my passkey").await;
    b.click("#passkey-start").await;
    let refusal = b.wait_text("#login-error", "passkey failed").await;
    assert!(refusal.contains("not registered (any more)"), "{refusal}");
    b.screenshot("passkeys-05-refused").await;
    // And the login asks for the TOTP code again, with no passkey offered.
    password_login().await;
    b.wait_text("#code", "").await;
    assert!(!b.wait_text("main", "").await.contains("Use a passkey"));

    // Registered again (a new credential on the same authenticator), then lost: the
    // administrator removes the user's passkeys.
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now + 30))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;
    b.go(&format!("{base}/account/passkeys")).await;
    b.type_in("#passkey-name", "phone").await;
    b.click("#add-passkey").await;
    b.wait_text("#passkey-start", "Create the passkey").await;
    b.click("#passkey-start").await;
    b.wait_text("#passkeys .passkey-name", "phone").await;
    let amartin = app.store.user_named("amartin").await.unwrap();
    let (cookie, csrf) = session(&app, &boss).await;
    let list = body_string(app.send(get_with("/admin/users", &cookie)).await).await;
    let row = list.split("id=\"user-amartin\"").nth(1).unwrap();
    assert!(
        row.split("</tr>")
            .next()
            .unwrap()
            .contains("<td class=\"passkey-count\">1</td>"),
        "{row}"
    );
    let page = body_string(
        app.send(get_with(format!("/admin/users/{}", amartin.id), &cookie))
            .await,
    )
    .await;
    assert!(page.contains("id=\"remove-passkeys\""), "{page}");
    assert!(page.contains("(phone)"), "{page}");
    let res = app
        .send(post_form(
            format!("/admin/users/{}/remove-passkeys", amartin.id),
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.store.passkey_count(amartin.id).await.unwrap(), 0);
    // The user's session ended with the recovery.
    b.go(&format!("{base}/account/passkeys")).await;
    b.wait_text("h1", "Log in").await;
    b.click("#passwordless").await;
    b.wait_text("#passkey-start", "Use my passkey").await;
    b.click("#passkey-start").await;
    b.wait_text("#login-error", "passkey failed").await;

    // The journal: who registered and removed what, and how each login was proved.
    let journal = app.store.journal_entries(None, None).await.unwrap();
    let of = |action: &str| {
        journal
            .iter()
            .filter(|e| e.action == action && e.subject == "amartin")
            .map(|e| (e.actor.clone(), e.details.clone()))
            .collect::<Vec<_>>()
    };
    let registered = of("passkey.registered");
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert!(registered[0].1.contains("office laptop"));
    let removed = of("passkey.removed");
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert_eq!(removed[0].0, "web:amartin");
    assert_eq!(removed[1].0, "web:boss");
    assert!(
        removed[1].1.contains("\"names\":[\"phone\"]"),
        "{removed:?}"
    );
    let logins: Vec<String> = of("auth.login").into_iter().map(|(_, d)| d).collect();
    assert!(
        logins
            .iter()
            .any(|d| d.contains("\"method\":\"local\"")
                && d.contains("\"second_factor\":\"passkey\"")),
        "{logins:?}"
    );
    assert!(
        logins.iter().any(|d| d.contains("\"method\":\"passkey\"")),
        "{logins:?}"
    );
    // Public key material never reaches the journal.
    let creds = held(&b, &authenticator).await;
    for c in &creds {
        let id = c["credentialId"].as_str().unwrap();
        for e in &journal {
            assert!(!e.details.contains(id), "a credential id in the journal");
        }
    }
    assert!(journal.iter().all(|e| !e.details.contains("public")));

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

/// Without a public address, passkeys are off: no button, the pages say so, the routes are
/// "not found"; the page script is served as a first-party file the CSP allows.
#[tokio::test]
async fn passkeys_are_off_without_a_public_address() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let login = body_string(app.send(get("/login")).await).await;
    assert!(!login.contains("passwordless"));
    assert_eq!(app.status(get("/login/passwordless")).await, 404);
    let u = user(
        &app,
        "amartin",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let (cookie, csrf) = session(&app, &u).await;
    let page = body_string(app.send(get_with("/account/passkeys", &cookie)).await).await;
    assert!(page.contains("id=\"passkeys-off\""), "{page}");
    let res = app
        .send(post_form(
            "/account/passkeys",
            &cookie,
            &[("csrf", &csrf), ("name", "laptop")],
        ))
        .await;
    assert_eq!(res.status(), 404);
    let script = app.send(get("/static/passkeys.js")).await;
    assert_eq!(script.status(), 200);
    let csp = script.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline'; script")
            && !csp.contains("script-src 'self' 'unsafe-inline'")
    );
    assert!(body_string(script).await.contains("navigator.credentials"));
    app.cleanup().await;
}
