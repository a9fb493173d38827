//! A session's CSRF token is not in the store: it is derived from the session's id, which only
//! the browser holds, so a read of the database (the `sessions` table keeps the id's digest)
//! gives no token that a forged request could carry.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_store::Role;
use hygie_web::auth;
use sqlx::{Column, Row};

/// Every value of the `sessions` table, as text.
async fn sessions_table(app: &App) -> Vec<String> {
    let rows = sqlx::query("SELECT * FROM sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let mut values = Vec::new();
    for r in &rows {
        for c in r.columns() {
            let i = c.ordinal();
            if let Ok(s) = r.try_get::<String, _>(i) {
                values.push(s);
            } else if let Ok(n) = r.try_get::<i64, _>(i) {
                values.push(n.to_string());
            }
        }
    }
    values
}

async fn csrf_tokens_are_not_stored(app: App) {
    let s = seed(&app).await;
    facility_user(&app, "it", Role::ItStaff, &s.own).await;
    // A real login (IT staff have no second factor): the session the server itself creates.
    let res = login(&app, "it", PASSWORD, None).await;
    let id = set_cookie_value(&res, hygie_web::SESSION_COOKIE).unwrap();
    let cookie = format!("{}={id}", hygie_web::SESSION_COOKIE);
    let me = app.json(get_with("/api/v1/me", &cookie)).await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 64);
    let table = sessions_table(&app).await;
    assert!(table.contains(&auth::digest(&id)), "the table was read");
    assert!(
        !table.iter().any(|v| v.contains(&csrf)),
        "the CSRF token is stored in clear"
    );
    // The token works; what a reader of the table could compute from it does not.
    let uri = format!("/api/v1/facilities/{}/measures/IAM-04/declarations", s.own);
    let body = r#"{"status":"in_progress"}"#;
    for (token, want) in [
        (auth::csrf_token(&auth::digest(&id)), 403),
        (auth::digest(&id), 403),
        (csrf.clone(), 201),
    ] {
        let cred = Cred::Cookie {
            cookie: cookie.clone(),
            csrf: token,
        };
        assert_eq!(app.status(post_json(&uri, &cred, body)).await, want);
    }
    app.cleanup().await;
}

#[tokio::test]
async fn csrf_tokens_are_not_stored_sqlite() {
    csrf_tokens_are_not_stored(sqlite_app().await).await;
}

#[tokio::test]
async fn csrf_tokens_are_not_stored_postgres() {
    let Some(app) = pg_app().await else { return };
    csrf_tokens_are_not_stored(app).await;
}
