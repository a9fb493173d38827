//! The lifecycle of accounts from the web (issue 25): an administrator disables, enables,
//! deletes, resets a password or a second factor, unlocks and ends sessions (pages and API,
//! every form CSRF-checked), a user sees and ends their own sessions, API tokens expire and
//! follow their creator, and the last administrator stays.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{StatusCode, header};
use common::*;
use hygie_store::{Actor, Binding, Role, User};
use hygie_web::auth;

/// An app with an installation administrator ("admin") signed in: the app, the seed, the
/// administrator, and their session as credentials.
async fn with_admin() -> (App, Seed, User, Cred) {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let admin = user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (cookie, csrf) = session(&app, &admin).await;
    (app, s, admin, Cred::Cookie { cookie, csrf })
}

fn cookie_of(c: &Cred) -> (&str, &str) {
    match c {
        Cred::Cookie { cookie, csrf } => (cookie, csrf),
        _ => unreachable!(),
    }
}

/// A form POST of an administrator's action on a user (with the session's CSRF token).
async fn act(app: &App, admin: &Cred, path: &str) -> axum::http::Response<axum::body::Body> {
    let (cookie, csrf) = cookie_of(admin);
    app.send(post_form(path, cookie, &[("csrf", csrf)])).await
}

async fn me(app: &App, cred: &Cred) -> StatusCode {
    app.status(get_as("/api/v1/me", cred)).await
}

/// A TOTP seed stored for `u` and confirmed, so that the login asks for a code.
async fn enrolled(app: &App, u: &User, seed_b32: &str) {
    app.store.set_pending_totp(u.id, seed_b32).await.unwrap();
    app.store
        .confirm_totp(u.id, &Actor("test".into()))
        .await
        .unwrap();
}

const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_loses_sessions_and_tokens() {
    let (app, s, _, admin) = with_admin().await;
    let ciso = facility_user(&app, "rssi", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &ciso).await;
    let ciso_cred = Cred::Cookie { cookie, csrf };
    let body = format!(
        r#"{{"name":"agent","facility":"{}","access":"read"}}"#,
        s.own
    );
    let made = app
        .json(post_json("/api/v1/tokens", &ciso_cred, &body))
        .await;
    let token = Cred::Bearer(made["token"].as_str().unwrap().to_owned());
    assert_eq!(me(&app, &token).await, 200);

    let r = act(&app, &admin, &format!("/admin/users/{}/disable", ciso.id)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(me(&app, &ciso_cred).await, 401, "the session ended");
    assert_eq!(
        me(&app, &token).await,
        401,
        "the token went with its creator"
    );
    assert_eq!(login(&app, "rssi", PASSWORD, None).await.status(), 401);
    // The list says so, in the administrator's language.
    let (cookie, _) = cookie_of(&admin);
    let list = body_string(app.send(get_with("/admin/users", cookie)).await).await;
    assert!(list.contains("disabled"), "{list}");
    let api = app.json(get_as("/api/v1/users", &admin)).await;
    let row = api
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "rssi")
        .unwrap();
    assert_eq!(row["status"], "disabled");

    let r = act(&app, &admin, &format!("/admin/users/{}/enable", ciso.id)).await;
    assert_eq!(r.status(), 303);
    let r = login(&app, "rssi", PASSWORD, None).await;
    assert_eq!(r.status(), 303, "enabled again");
    assert_eq!(me(&app, &token).await, 401, "a revoked token stays revoked");
    let journal = app.store.journal_entries(None, None).await.unwrap();
    for action in ["user.disable", "user.enable"] {
        assert!(
            journal
                .iter()
                .any(|e| e.action == action && e.actor == "web:admin" && e.subject == "rssi"),
            "{action}"
        );
    }
}

#[tokio::test]
async fn a_reset_password_is_shown_once_and_changed_at_the_next_login() {
    let (app, s, _, admin) = with_admin().await;
    let it = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let r = act(
        &app,
        &admin,
        &format!("/admin/users/{}/reset-password", it.id),
    )
    .await;
    assert_eq!(r.status(), 200);
    let page = body_string(r).await;
    let temporary = page
        .split("id=\"temporary-password\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(temporary.len() >= 12, "{temporary}");
    assert_eq!(login(&app, "it", PASSWORD, None).await.status(), 401);
    let r = login(&app, "it", &temporary, None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/login/password");
    let pending = set_cookie_value(&r, "hygie_session").unwrap();
    let pending_cookie = format!("hygie_session={pending}");
    assert_eq!(
        me(
            &app,
            &Cred::Cookie {
                cookie: pending_cookie.clone(),
                csrf: String::new()
            }
        )
        .await,
        401,
        "nothing opens before the new password"
    );
    let form = body_string(app.send(get_with("/login/password", &pending_cookie)).await).await;
    let csrf = csrf_field(&form);
    let change = |password: &str, repeat: &str| {
        post_form(
            "/login/password",
            &pending_cookie,
            &[("csrf", &csrf), ("password", password), ("repeat", repeat)],
        )
    };
    let new = "my own new passphrase 2026";
    assert_eq!(
        app.status(change(new, "something else entirely")).await,
        400
    );
    assert_eq!(app.status(change(&temporary, &temporary)).await, 400);
    assert_eq!(app.status(change("short", "short")).await, 400);
    let r = app.send(change(new, new)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/");
    let full = set_cookie_value(&r, "hygie_session").unwrap();
    assert_eq!(
        me(
            &app,
            &Cred::Cookie {
                cookie: format!("hygie_session={full}"),
                csrf: String::new()
            }
        )
        .await,
        200
    );
    assert_eq!(login(&app, "it", &temporary, None).await.status(), 401);
    let r = login(&app, "it", new, None).await;
    assert_eq!(r.headers()[header::LOCATION], "/", "no longer temporary");
    let journal = app.store.journal_entries(None, None).await.unwrap();
    assert!(
        journal.iter().any(|e| e.action == "user.password_reset"
            && e.actor == "web:admin"
            && e.subject == "it")
    );
    assert!(
        journal
            .iter()
            .any(|e| e.action == "user.password_change" && e.subject == "it")
    );
    for e in &journal {
        assert!(!e.details.contains(&temporary) && !e.details.contains(new));
    }
}

/// A user with a second factor proves it before choosing a password: the temporary password
/// alone changes nothing.
#[tokio::test]
async fn the_second_factor_comes_before_the_new_password() {
    let (app, s, _, admin) = with_admin().await;
    let dpo = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    enrolled(&app, &dpo, SEED).await;
    let r = app
        .json(request(
            "POST",
            &format!("/api/v1/users/{}/reset-password", dpo.id),
            &admin,
            None,
            vec![],
        ))
        .await;
    let temporary = r["temporary_password"].as_str().unwrap().to_owned();
    let r = login(&app, "dpo", &temporary, None).await;
    assert_eq!(r.headers()[header::LOCATION], "/login/totp");
    let pending = set_cookie_value(&r, "hygie_session").unwrap();
    assert_eq!(
        app.status(get_with(
            "/login/password",
            &format!("hygie_session={pending}")
        ))
        .await,
        303,
        "no password form before the code"
    );
    let code = auth::totp_code(SEED, jiff::Timestamp::now().as_second());
    let r = post_code(&app, "/login/totp", &pending, &code).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/login/password");
}

#[tokio::test]
async fn a_second_factor_reset_asks_for_a_new_enrolment() {
    let (app, s, _, admin) = with_admin().await;
    let dpo = facility_user(&app, "dpo", Role::Dpo, &s.own).await;
    enrolled(&app, &dpo, SEED).await;
    let r = login(&app, "dpo", PASSWORD, None).await;
    assert_eq!(r.headers()[header::LOCATION], "/login/totp");
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/users/{}/reset-totp", dpo.id),
            &admin,
            None,
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(v["totp_enrolled"], false);
    let r = login(&app, "dpo", PASSWORD, None).await;
    assert_eq!(r.headers()[header::LOCATION], "/login/enroll");
}

#[tokio::test]
async fn unlock_lifts_a_lock_at_once() {
    let (app, s, _, admin) = with_admin().await;
    let it = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    for _ in 0..5 {
        login(&app, "it", "a wrong password!!", None).await;
    }
    assert_eq!(login(&app, "it", PASSWORD, None).await.status(), 401);
    let v = app
        .json(get_as(&format!("/api/v1/users/{}", it.id), &admin))
        .await;
    assert_eq!(v["user"]["status"], "locked", "{v}");
    assert!(v["user"]["locked_until"].is_string(), "{v}");
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/users/{}/unlock", it.id),
            &admin,
            None,
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(login(&app, "it", PASSWORD, None).await.status(), 303);
}

#[tokio::test]
async fn users_see_and_end_their_sessions_and_administrators_end_anyone_s() {
    let (app, s, _, admin) = with_admin().await;
    let it = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let mut creds = Vec::new();
    for _ in 0..3 {
        let (cookie, csrf) = session(&app, &it).await;
        creds.push((cookie, csrf));
    }
    let (cookie, csrf) = creds[0].clone();
    let page = body_string(app.send(get_with("/account/sessions", &cookie)).await).await;
    assert_eq!(page.matches("class=\"session\"").count(), 3, "{page}");
    assert_eq!(page.matches("id=\"current-session\"").count(), 1);
    for (c, _) in &creds {
        let id = c.trim_start_matches("hygie_session=");
        assert!(!page.contains(id) && !page.contains(&auth::digest(id)));
    }
    let r = app
        .send(post_form(
            "/account/sessions/end-others",
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status(), 303);
    let mine = Cred::Cookie {
        cookie: cookie.clone(),
        csrf: csrf.clone(),
    };
    assert_eq!(me(&app, &mine).await, 200);
    for (c, t) in &creds[1..] {
        let other = Cred::Cookie {
            cookie: c.clone(),
            csrf: t.clone(),
        };
        assert_eq!(me(&app, &other).await, 401);
    }
    let list = app.json(get_as("/api/v1/me/sessions", &mine)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["current"], true);
    // An administrator's view, then all of them ended.
    let v = app
        .json(get_as(&format!("/api/v1/users/{}", it.id), &admin))
        .await;
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    let r = act(
        &app,
        &admin,
        &format!("/admin/users/{}/end-sessions", it.id),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(me(&app, &mine).await, 401);
    let journal = app.store.journal_entries(None, None).await.unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.action == "user.sessions_end" && e.actor == "web:it")
    );
    assert!(
        journal
            .iter()
            .any(|e| e.action == "user.sessions_end" && e.actor == "web:admin")
    );
}

#[tokio::test]
async fn a_deletion_is_confirmed_by_the_username() {
    let (app, s, _, admin) = with_admin().await;
    let it = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let (cookie, csrf) = cookie_of(&admin);
    let path = format!("/admin/users/{}/delete", it.id);
    let page = body_string(app.send(get_with(&path, cookie)).await).await;
    assert!(page.contains("name=\"confirm\""), "{page}");
    let r = app
        .send(post_form(
            &path,
            cookie,
            &[("csrf", csrf), ("confirm", "nope")],
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert!(app.store.user(it.id).await.is_ok());
    let r = app
        .send(post_form(
            &path,
            cookie,
            &[("csrf", csrf), ("confirm", "it")],
        ))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.status(get_as(&format!("/api/v1/users/{}", it.id), &admin))
            .await,
        404
    );
    assert_eq!(login(&app, "it", PASSWORD, None).await.status(), 401);
    let journal = app.store.journal_entries(None, None).await.unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.action == "user.delete" && e.actor == "web:admin" && e.subject == "it")
    );
    // The API deletes too.
    let other = facility_user(&app, "other", Role::Auditor, &s.own).await;
    let res = app
        .send(request(
            "DELETE",
            &format!("/api/v1/users/{}", other.id),
            &admin,
            None,
            vec![],
        ))
        .await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn the_last_administrator_stays() {
    let (app, _, me_admin, admin) = with_admin().await;
    for path in [
        format!("/api/v1/users/{}/disable", me_admin.id),
        format!("/api/v1/users/{}", me_admin.id),
    ] {
        let method = if path.ends_with("disable") {
            "POST"
        } else {
            "DELETE"
        };
        let res = app.send(request(method, &path, &admin, None, vec![])).await;
        assert_eq!(res.status(), 409, "{method} {path}");
    }
    let r = act(
        &app,
        &admin,
        &format!("/admin/users/{}/disable", me_admin.id),
    )
    .await;
    assert_eq!(r.status(), 409);
    let page = body_string(r).await;
    assert!(page.contains("last enabled administrator"), "{page}");
    let (cookie, csrf) = cookie_of(&admin);
    let fr = app
        .send(post_form(
            "/lang",
            cookie,
            &[("csrf", csrf), ("lang", "fr")],
        ))
        .await;
    assert_eq!(fr.status(), 303);
    let r = act(
        &app,
        &admin,
        &format!("/admin/users/{}/disable", me_admin.id),
    )
    .await;
    let page = body_string(r).await;
    assert!(page.contains("dernier administrateur"), "{page}");
    assert!(!app.store.user(me_admin.id).await.unwrap().disabled);
}

#[tokio::test]
async fn lifecycle_forms_need_the_csrf_token() {
    let (app, s, _, admin) = with_admin().await;
    let it = facility_user(&app, "it", Role::ItStaff, &s.own).await;
    let (cookie, _) = cookie_of(&admin);
    for action in [
        "disable",
        "enable",
        "unlock",
        "reset-totp",
        "reset-password",
        "end-sessions",
        "delete",
    ] {
        let path = format!("/admin/users/{}/{action}", it.id);
        let r = app
            .send(post_form(
                &path,
                cookie,
                &[("csrf", "wrong"), ("confirm", "it")],
            ))
            .await;
        assert_eq!(r.status(), 403, "{action}");
        if action == "delete" {
            continue;
        }
        let res = app
            .send(request(
                "POST",
                &format!("/api/v1/users/{}/{action}", it.id),
                &Cred::Cookie {
                    cookie: cookie.to_owned(),
                    csrf: "wrong".into(),
                },
                None,
                vec![],
            ))
            .await;
        assert_eq!(res.status(), 403, "{action}");
    }
    let after = app.store.user(it.id).await.unwrap();
    assert!(!after.disabled && !after.must_change_password);
}

#[tokio::test]
async fn tokens_expire_and_show_their_creator_and_last_use() {
    let (app, s, _, admin) = with_admin().await;
    let make = |days: &str| {
        post_json(
            "/api/v1/tokens",
            &admin,
            &format!(
                r#"{{"name":"agent","facility":"{}","access":"read","expires_in_days":{days}}}"#,
                s.own
            ),
        )
    };
    for days in ["0", "366", "-3"] {
        assert_eq!(app.status(make(days)).await, 400, "{days} days");
    }
    let made = app.json(make("30")).await;
    let expires: jiff::Timestamp = made["expires_at"].as_str().unwrap().parse().unwrap();
    let days = expires.duration_since(jiff::Timestamp::now()).as_hours() / 24;
    assert!((29..=30).contains(&days), "{days}");
    let bearer = Cred::Bearer(made["token"].as_str().unwrap().to_owned());
    assert_eq!(me(&app, &bearer).await, 200);
    let list = app.json(get_as("/api/v1/tokens", &admin)).await;
    let t = &list[0];
    assert_eq!(t["created_by"], "web:admin");
    assert!(
        t["expires_at"].is_string() && t["last_used_at"].is_string(),
        "{t}"
    );
    // Without a lifetime: 90 days.
    let default = app
        .json(post_json(
            "/api/v1/tokens",
            &admin,
            &format!(r#"{{"name":"b","facility":"{}","access":"read"}}"#, s.own),
        ))
        .await;
    let expires: jiff::Timestamp = default["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (expires.duration_since(jiff::Timestamp::now()).as_hours() + 1) / 24,
        90
    );
    // Past its end it opens nothing.
    sqlx::query("UPDATE api_tokens SET expires_us = 1 WHERE id = $1")
        .bind(made["id"].as_str().unwrap())
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(me(&app, &bearer).await, 401);
    // The page shows the lifetime field and the columns.
    let (cookie, csrf) = cookie_of(&admin);
    let page = body_string(app.send(get_with("/tokens", cookie)).await).await;
    assert!(page.contains("name=\"expires_in_days\""), "{page}");
    assert!(page.contains("value=\"90\"") && page.contains("max=\"365\""));
    assert!(page.contains("web:admin"));
    let r = app
        .send(post_form(
            "/tokens",
            cookie,
            &[
                ("csrf", csrf),
                ("name", "page"),
                ("facility", s.own.as_str()),
                ("access", "read"),
                ("expires_in_days", "7"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 200);
    let all = app.store.tokens(None).await.unwrap();
    let page_token = all.iter().find(|t| t.name == "page").unwrap();
    assert_eq!(
        page_token
            .expires_at
            .duration_since(page_token.created_at)
            .as_hours(),
        7 * 24
    );
}

#[tokio::test]
async fn the_security_events_page_lists_account_events_by_user() {
    let (app, s, _, admin) = with_admin().await;
    facility_user(&app, "it", Role::ItStaff, &s.own).await;
    facility_user(&app, "other", Role::ItStaff, &s.own).await;
    for _ in 0..5 {
        login(&app, "it", "a wrong password!!", None).await;
    }
    login(&app, "other", PASSWORD, None).await;
    let (cookie, _) = cookie_of(&admin);
    let page = body_string(app.send(get_with("/admin/security?user=it", cookie)).await).await;
    assert!(page.contains("auth.lockout"), "{page}");
    assert!(!page.contains("auth.login"), "{page}");
    let all = body_string(app.send(get_with("/admin/security", cookie)).await).await;
    assert!(all.contains("auth.lockout") && all.contains("auth.login"));
    let api = app
        .json(get_as("/api/v1/security-events?user=other", &admin))
        .await;
    let actions: Vec<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"auth.login") && !actions.contains(&"auth.lockout"));
}

/// Accounts, groups and memberships this test adds to the shared Samba DC, removed on drop.
struct DirectorySeed {
    sam: std::path::PathBuf,
    dns: Vec<String>,
}

impl Drop for DirectorySeed {
    fn drop(&mut self) {
        for dn in self.dns.iter().rev() {
            let _ = std::process::Command::new("ldbdel")
                .arg("-H")
                .arg(&self.sam)
                .arg(dn)
                .output();
        }
    }
}

fn ldb(sam: &std::path::Path, tool: &str, ldif: &str) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), ldif).unwrap();
    let out = std::process::Command::new(tool)
        .arg("-H")
        .arg(sam)
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Directory login against the project's Samba DC (issue 23): a user in a group nested in a
/// mapped group gets the mapped role and facility and the second-factor rules of that role; a
/// user in no mapped group is refused (and the refusal journalled); wrong passwords are refused
/// and counted by the account's lock; a user taken out of the group loses the role at the next
/// login; an administrator cannot reset a directory account's password. Never a password in the
/// journal.
#[tokio::test]
async fn directory_users_sign_in_with_their_groups_and_their_failures_lock() {
    use base64::Engine as _;
    let Some(dc) = hygie_testkit::SambaDc::from_env() else {
        return;
    };
    let tls_name = hygie_ad::collect::certificate_names(&dc.certificate())
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let n = std::process::id() as u64 ^ jiff::Timestamp::now().as_nanosecond() as u64;
    let p: String = (0..5)
        .map(|i| (b'a' + ((n >> (i * 5)) % 26) as u8) as char)
        .collect();
    let p = format!("dl{p}");
    let base = &dc.base;
    let dn = |name: &str| format!("CN={p}{name},CN=Users,{base}");
    const PW: &str = "Dir-Login-2026!secret";
    let unicode_pwd = base64::engine::general_purpose::STANDARD.encode(
        format!("\"{PW}\"")
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let mut seed_ldif = String::new();
    for u in ["ann", "bob"] {
        seed_ldif.push_str(&format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: {p}{u}\nuserPrincipalName: {p}{u}@chu.test\ndisplayName: {p} {u} (directory)\nunicodePwd:: {unicode_pwd}\nuserAccountControl: 512\n\n",
            dn(u)
        ));
    }
    // ann is in `nest`, itself a member of the mapped `rssi`; bob only in `misc`.
    for (g, member) in [("nest", "ann"), ("rssi", "nest"), ("misc", "bob")] {
        seed_ldif.push_str(&format!(
            "dn: {}\nobjectClass: group\nsAMAccountName: {p}{g}\nmember: {}\n\n",
            dn(g),
            dn(member)
        ));
    }
    let _seed = DirectorySeed {
        sam: dc.sam(),
        dns: ["ann", "bob", "nest", "rssi", "misc"]
            .iter()
            .map(|x| dn(x))
            .collect(),
    };
    ldb(&dc.sam(), "ldbadd", &seed_ldif);

    let own = hygie_core::Finess::with_check_digit("35000101").unwrap();
    let config = format!(
        "url = \"{url}\"\nca_cert = \"{ca}\"\ntls_server_name = \"{tls_name}\"\nbase_dn = \"{base}\"\nupn_suffix = \"chu.test\"\n\
         [[map]]\ngroup = \"{rssi}\"\nrole = \"ciso\"\nfacilities = [\"{own}\"]\n",
        url = dc.url,
        ca = dc.ca.display(),
        rssi = dn("rssi").to_uppercase(),
        own = own.as_str(),
    );
    let directory = hygie_web::directory::DirectoryLogin::parse(&config).unwrap();
    let app = sqlite_app_with(hygie_web::Config {
        directory: Some(std::sync::Arc::new(directory)),
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    assert_eq!(s.own, own);

    // ann, through the nested group: a facility CISO of `own`, asked to set up a second factor.
    let ann = format!("{p}ann");
    let res = login(&app, &ann.to_uppercase(), PW, None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[header::LOCATION], "/login/enroll");
    let u = app.store.user_named(&ann).await.unwrap();
    assert_eq!(u.role, Role::Ciso);
    assert_eq!(
        u.binding,
        Binding::Facilities {
            facilities: vec![own.clone()]
        }
    );
    assert_eq!(u.sign_in, hygie_store::SignIn::Directory);
    assert_eq!(u.display_name, format!("{p} ann (directory)"));
    // The UPN form names the same account.
    let res = login(&app, &format!("{ann}@chu.test"), PW, None).await;
    assert_eq!(res.status(), 303);

    // bob: the directory knows him, the mapping does not.
    let bob = format!("{p}bob");
    let res = login(&app, &bob, PW, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = body_string(res).await;
    assert!(html.contains("no group that gives access"), "{html}");
    assert!(app.store.user_named(&bob).await.is_err(), "no account made");

    // Wrong passwords: refused, then the account's lock refuses even the right one.
    for _ in 0..5 {
        let res = login(&app, &ann, "not-the-password-1", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, &ann, PW, None).await.status(), 401);
    let u = app.store.user_named(&ann).await.unwrap();
    assert_eq!(u.status(), "locked");
    assert!(login(&app, &bob, "", None).await.status().is_client_error());

    // Unlocked, then taken out of the nested group: no role any more.
    let admin = user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (cookie, csrf) = session(&app, &admin).await;
    let admin = Cred::Cookie { cookie, csrf };
    let res = app
        .send(request(
            "POST",
            &format!("/api/v1/users/{}/reset-password", u.id),
            &admin,
            None,
            vec![],
        ))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "the directory's password"
    );
    let res = act(&app, &admin, &format!("/admin/users/{}/unlock", u.id)).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    ldb(
        &dc.sam(),
        "ldbmodify",
        &format!(
            "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n",
            dn("nest"),
            dn("ann")
        ),
    );
    assert_eq!(login(&app, &ann, PW, None).await.status(), 403);

    let journal = app.store.journal_entries(None, None).await.unwrap();
    let of = |action: &str, who: &str| {
        journal
            .iter()
            .filter(|e| e.action == action && e.subject == who)
            .count()
    };
    assert_eq!(of("auth.directory_mapping", &ann), 2, "each accepted bind");
    let first = journal
        .iter()
        .find(|e| e.action == "auth.directory_mapping" && e.subject == ann)
        .unwrap();
    assert!(
        first.details.contains("\"role\":\"ciso\"")
            && first
                .details
                .to_lowercase()
                .contains(&dn("rssi").to_lowercase()),
        "{}",
        first.details
    );
    assert_eq!(of("auth.login_refused", &bob), 1);
    assert_eq!(of("auth.login_refused", &ann), 1);
    assert_eq!(of("auth.lockout", &ann), 1);
    assert!(journal.iter().all(|e| !e.details.contains(PW)));
}
