//! The web app as a daily workspace (issue 18), on SQLite and PostgreSQL: registering and
//! changing facilities (pages and API, refusals on the form with the input kept, in French and
//! English), the user form's least-privilege default and bindings from lists, the journal's
//! filters, keyset pages and readable times, evidence links and files attached twice.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hygie_core::{Finess, Region};
use hygie_store::{Binding, Role};

/// A form POST in a language (`Accept-Language`).
fn post_in(uri: &str, cookie: &str, lang: &str, fields: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(fields)))
        .unwrap()
}

fn get_in(uri: &str, cookie: &str, lang: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::empty())
        .unwrap()
}

/// An officer of region BRE, with a session: (cookie, csrf).
async fn officer(app: &App) -> (String, String) {
    let u = user(
        app,
        "officer",
        Role::RegionalOfficer,
        Binding::Region {
            region: Region::parse("BRE").unwrap(),
        },
    )
    .await;
    session(app, &u).await
}

async fn facilities_in_forms(app: &App) {
    let s = seed(app).await;
    let (cookie, csrf) = officer(app).await;
    // The form offers the officer's region only; a CISO does not get it.
    let r = app.send(get_in("/facilities/new", &cookie, "en")).await;
    assert_eq!(r.status(), 200);
    let html = body_string(r).await;
    assert!(html.contains("value=\"BRE\"") && !html.contains("value=\"IDF\""));
    let ciso = facility_user(app, "ciso", Role::Ciso, &s.own).await;
    let (ciso_cookie, ciso_csrf) = session(app, &ciso).await;
    assert_eq!(
        app.status(get_with("/facilities/new", &ciso_cookie)).await,
        403
    );

    let new = Finess::with_check_digit("35000900").unwrap().to_string();
    let wrong_key = format!("{}{}", &new[..8], (new.as_bytes()[8] - b'0' + 1) % 10);
    let form = |finess: &str, region: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("finess".to_owned(), finess.to_owned()),
            ("name".to_owned(), "Clinique <Armor>".to_owned()),
            ("kind".to_owned(), "clinic".to_owned()),
            ("region".to_owned(), region.to_owned()),
            ("nis2".to_owned(), "important".to_owned()),
            ("plan_start".to_owned(), "2026-03-01".to_owned()),
        ]
    };
    let pairs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let send = |fields: Vec<(String, String)>, lang: &'static str| {
        let cookie = cookie.clone();
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.send(post_in("/facilities/new", &cookie, lang, &f))
                .await
        }
    };
    // A wrong check digit: refused beside the field, in the reader's language, input kept.
    for (lang, words) in [("en", "check digit"), ("fr", "clé de contrôle")] {
        let r = send(pairs(&form(&wrong_key, "BRE")), lang).await;
        assert_eq!(r.status(), 400);
        let html = body_string(r).await;
        assert!(
            html.contains("id=\"error-finess\"") && html.contains(words),
            "{lang}: {html}"
        );
        assert!(
            html.contains("value=\"Clinique &lt;Armor&gt;\""),
            "input kept, escaped"
        );
        assert!(html.contains("value=\"2026-03-01\""));
    }
    // A département outside the region chosen.
    let r = send(pairs(&form(&new, "NOR")), "fr").await;
    assert_eq!(r.status(), 400);
    assert!(body_string(r).await.contains("pas dans la région"));
    // Another region than the officer's: forbidden, whatever the fields.
    let far_new = Finess::with_check_digit("75000900").unwrap().to_string();
    assert_eq!(
        send(pairs(&form(&far_new, "IDF")), "en").await.status(),
        403
    );
    // Registered.
    let r = send(pairs(&form(&new, "BRE")), "en").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], format!("/facilities/{new}"));
    let id = Finess::parse(&new).unwrap();
    let f = app.store.facility(&id).await.unwrap();
    assert_eq!(f.name, "Clinique <Armor>");
    assert_eq!(f.nis2, hygie_core::Nis2Status::Important);
    // Again: already registered, said on the form.
    let r = send(pairs(&form(&new, "BRE")), "fr").await;
    assert_eq!(r.status(), 400);
    assert!(body_string(r).await.contains("déjà enregistré"));

    // The edit form holds the record; a change is journalled with what changed.
    let r = app
        .send(get_in(&format!("/facilities/{new}/edit"), &cookie, "en"))
        .await;
    assert_eq!(r.status(), 200);
    let html = body_string(r).await;
    assert!(
        html.contains("value=\"clinic\" selected") && html.contains("value=\"important\" selected")
    );
    let mut edit = form("ignored", "BRE");
    edit.retain(|(k, _)| k != "finess");
    edit.retain(|(k, _)| k != "nis2");
    edit.push(("nis2".into(), "essential".into()));
    let f2: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = app
        .send(post_in(
            &format!("/facilities/{new}/edit"),
            &cookie,
            "en",
            &f2,
        ))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.store.facility(&id).await.unwrap().nis2,
        hygie_core::Nis2Status::Essential
    );
    let entries = app.store.journal_entries(Some(&new), None).await.unwrap();
    let last = entries.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("facility.update", "web:officer")
    );
    let details: serde_json::Value = serde_json::from_str(&last.details).unwrap();
    assert_eq!(details["nis2"]["from"], "important");
    assert_eq!(details["nis2"]["to"], "essential");
    assert!(details.get("name").is_none(), "only what changed");
    // Moving it to a region outside the officer's: refused (its FINESS stays in Brittany).
    let mut moved = edit.clone();
    moved.retain(|(k, _)| k != "region");
    moved.push(("region".into(), "IDF".into()));
    let f3: Vec<(&str, &str)> = moved
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app
        .send(post_in(
            &format!("/facilities/{new}/edit"),
            &cookie,
            "en",
            &f3,
        ))
        .await;
    assert_eq!(r.status(), 400);
    // The CISO may not change a facility, even their own.
    let r = app
        .send(post_form(
            format!("/facilities/{}/edit", s.own),
            &ciso_cookie,
            &[("csrf", &ciso_csrf), ("name", "x")],
        ))
        .await;
    assert_eq!(r.status(), 403);

    // The API twin: the same parse, the same scope.
    let cred = Cred::Cookie {
        cookie: cookie.clone(),
        csrf: csrf.clone(),
    };
    let body = format!(
        r#"{{"finess":"{}","name":"Labo","kind":"biology_lab","region":"BRE","plan_start":"2026-01-01"}}"#,
        Finess::with_check_digit("35000901").unwrap()
    );
    let r = app
        .send(post_json("/api/v1/facilities", &cred, &body))
        .await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = serde_json::from_str(&body_string(r).await).unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["nis2"].as_str()),
        (Some("biology_lab"), Some("unknown"))
    );
    let r = app
        .send(post_json("/api/v1/facilities", &cred, &body))
        .await;
    assert_eq!(r.status(), 409);
    let bad =
        r#"{"finess":"350009015","name":"","kind":"zoo","region":"BRE","plan_start":"2026-02-30"}"#;
    let r = app.send(post_json("/api/v1/facilities", &cred, bad)).await;
    assert_eq!(r.status(), 400);
    let msg = body_string(r).await;
    for field in ["name", "kind", "plan_start"] {
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let patch = |uri: String, json: &str| {
        request(
            "PATCH",
            &uri,
            &cred,
            Some("application/json"),
            json.as_bytes().to_vec(),
        )
    };
    let r = app
        .send(patch(
            format!("/api/v1/facilities/{new}"),
            r#"{"name":"Clinique d'Armor"}"#,
        ))
        .await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&body_string(r).await).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["nis2"].as_str()),
        (Some("Clinique d'Armor"), Some("essential"))
    );
    let r = app
        .send(patch(
            format!("/api/v1/facilities/{}", s.far),
            r#"{"name":"x"}"#,
        ))
        .await;
    assert_eq!(r.status(), 404, "outside the region: not found");
    // Every change is in the journal, whose chain holds.
    assert!(matches!(
        app.store.verify_journal().await.unwrap(),
        hygie_store::JournalCheck::Intact { .. }
    ));
}

#[tokio::test]
async fn facilities_in_forms_sqlite() {
    facilities_in_forms(&sqlite_app().await).await;
}

#[tokio::test]
async fn facilities_in_forms_postgres() {
    let Some(app) = pg_app().await else { return };
    facilities_in_forms(&app).await;
    app.cleanup().await;
}

async fn user_form(app: &App) {
    let s = seed(app).await;
    let admin = user(app, "adm", Role::Administrator, Binding::Installation).await;
    let (cookie, csrf) = session(app, &admin).await;
    let html = body_string(app.send(get_in("/admin/users", &cookie, "en")).await).await;
    // The least privilege first; bindings from lists of what exists.
    assert!(
        html.contains("<option value=\"ambassador\" selected>"),
        "{html}"
    );
    assert_eq!(html.matches(" selected>").count(), 1, "one default only");
    assert!(html.contains(&format!("<option value=\"{}\">", s.own)));
    assert!(html.contains("<option value=\"BRE\">"));
    // Refused (no binding chosen): said on the form, what was typed kept but the password.
    let r = app
        .send(post_in(
            "/admin/users",
            &cookie,
            "fr",
            &[
                ("csrf", &csrf),
                ("username", "nouvelle"),
                ("display_name", "Nouvelle Personne"),
                ("role", "dpo"),
                ("region", ""),
                ("password", "a long password here"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 400);
    let html = body_string(r).await;
    assert!(html.contains("Choisissez soit une région"), "{html}");
    assert!(
        html.contains("value=\"nouvelle\"") && html.contains("<option value=\"dpo\" selected>")
    );
    assert!(!html.contains("a long password here"));
    // Two facilities chosen in the list.
    let r = app
        .send(post_form(
            "/admin/users",
            &cookie,
            &[
                ("csrf", &csrf),
                ("username", "nouvelle"),
                ("display_name", "Nouvelle Personne"),
                ("role", "dpo"),
                ("region", ""),
                ("facilities", s.own.as_str()),
                ("facilities", s.other.as_str()),
                ("password", "a long password here"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 303);
    let users = app
        .store
        .users_within(&Binding::Installation)
        .await
        .unwrap();
    let u = users.iter().find(|u| u.username == "nouvelle").unwrap();
    assert_eq!(
        u.binding,
        Binding::Facilities {
            facilities: vec![s.own.clone(), s.other.clone()]
        }
    );
}

#[tokio::test]
async fn user_form_sqlite() {
    user_form(&sqlite_app().await).await;
}

#[tokio::test]
async fn user_form_postgres() {
    let Some(app) = pg_app().await else { return };
    user_form(&app).await;
    app.cleanup().await;
}

/// The `href` of the link with this id.
fn link(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let before = &html[..start];
    let href = before.rfind("href=\"")?;
    Some(before[href + 6..].split('"').next()?.replace("&amp;", "&"))
}

async fn journal_pages(app: &App) {
    let s = seed(app).await;
    let actor = hygie_store::Actor("cli:batch".into());
    let m = hygie_core::MeasureId::parse("IAM-04").unwrap();
    for i in 0..130 {
        let f = if i % 2 == 0 { &s.own } else { &s.other };
        app.store
            .declare(
                f,
                &m,
                &hygie_core::DeclaredStatus::InProgress,
                Some(&format!("owner {i}")),
                None,
                &actor,
            )
            .await
            .unwrap();
    }
    let (cookie, _) = officer(app).await;
    let r = app
        .send(get_in("/journal?actor=cli:batch", &cookie, "fr"))
        .await;
    assert_eq!(r.status(), 200);
    let html = body_string(r).await;
    // A page of 100, newest first; times in Paris with their offset, to the second.
    assert_eq!(html.matches("<td class=\"when\">").count(), 100);
    assert!(html.contains("Heures en Europe/Paris"));
    let first = html.split("<td class=\"when\">").nth(1).unwrap();
    let when = first.split('<').next().unwrap();
    assert_eq!(when.len(), "2026-12-06 19:23:41 +01:00".len(), "{when}");
    assert!(
        when.ends_with("+01:00") || when.ends_with("+02:00"),
        "{when}"
    );
    assert!(
        !when.contains('.') && !when.contains('T'),
        "no raw RFC 3339: {when}"
    );
    // Details as fields, not JSON.
    assert!(
        html.contains("<dt><code>owner</code></dt><dd class=\"raw\"><code>owner 129</code></dd>"),
        "newest first"
    );
    assert!(!html.contains("{&quot;"), "no raw JSON");
    // The officer is bound to a region: no sequence number, the cursor is sealed.
    assert!(!html.contains("<th>#</th>"));
    let older = link(&html, "journal-older").expect("an older page");
    assert!(
        older.contains("actor=cli%3Abatch") && older.contains("before=v1:"),
        "{older}"
    );
    assert!(link(&html, "journal-newer").is_none());
    let html = body_string(app.send(get_in(&older, &cookie, "en")).await).await;
    assert_eq!(html.matches("<td class=\"when\">").count(), 30);
    assert!(html.contains("<dd class=\"raw\"><code>owner 0</code></dd>"));
    assert!(link(&html, "journal-older").is_none());
    let newer = link(&html, "journal-newer").expect("a newer page");
    let html = body_string(app.send(get_in(&newer, &cookie, "en")).await).await;
    assert_eq!(html.matches("<td class=\"when\">").count(), 100);
    assert!(html.contains("<dd class=\"raw\"><code>owner 129</code></dd>"));
    // A forged cursor, or one sealed for another user, opens nothing.
    let r = app.send(get_in("/journal?before=12", &cookie, "en")).await;
    assert_eq!(r.status(), 400);
    let adm = user(app, "adm", Role::Administrator, Binding::Installation).await;
    let (adm_cookie, _) = session(app, &adm).await;
    assert_eq!(app.status(get_with(&older, &adm_cookie)).await, 400);
    // Filters: a facility, an action family, a period; refused ones said in the page.
    let html = body_string(
        app.send(get_in(
            &format!("/journal?facility={}&action=assessment.", s.own),
            &cookie,
            "en",
        ))
        .await,
    )
    .await;
    assert_eq!(html.matches("<td class=\"when\">").count(), 65);
    let html = body_string(
        app.send(get_in(
            "/journal?actor=cli:batch&to=2000-01-01",
            &cookie,
            "en",
        ))
        .await,
    )
    .await;
    assert_eq!(html.matches("<td class=\"when\">").count(), 0);
    let r = app
        .send(get_in("/journal?from=2026-02-30", &cookie, "fr"))
        .await;
    assert_eq!(r.status(), 400);
    assert!(body_string(r).await.contains("pas une date"));
    // The installation's administrator sees sequence numbers, and the zone chosen.
    let html = body_string(
        app.send(get_in(
            "/journal?actor=cli:batch&tz=Indian/Reunion",
            &adm_cookie,
            "en",
        ))
        .await,
    )
    .await;
    assert!(html.contains("<th>#</th>") && html.contains("Times in Indian/Reunion"));
    assert!(html.contains("+04:00"));
    // Nothing of the far region for the officer, whatever the filter.
    let html = body_string(
        app.send(get_in(
            &format!("/journal?facility={}", s.far),
            &cookie,
            "en",
        ))
        .await,
    )
    .await;
    assert_eq!(html.matches("<td class=\"when\">").count(), 0);
}

#[tokio::test]
async fn journal_pages_sqlite() {
    journal_pages(&sqlite_app().await).await;
}

#[tokio::test]
async fn journal_pages_postgres() {
    let Some(app) = pg_app().await else { return };
    journal_pages(&app).await;
    app.cleanup().await;
}

/// A multipart upload of `content` as `name` to a measure page.
fn upload(
    uri: &str,
    cookie: &str,
    csrf: &str,
    name: &str,
    content: &[u8],
    lang: &str,
) -> Request<Body> {
    let boundary = "XbOuNdArY";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

async fn evidence_links_and_twice(app: &App) {
    let s = seed(app).await;
    let u = facility_user(app, "rssi", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(app, &u).await;
    let page = format!("/facilities/{}/measures/IAM-05", s.own);
    let m = hygie_core::MeasureId::parse("IAM-05").unwrap();
    // A file, then the same content under another name: said, not listed twice.
    let r = app
        .send(upload(
            &format!("{page}/evidence"),
            &cookie,
            &csrf,
            "charte.pdf",
            b"%PDF charte",
            "en",
        ))
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .send(upload(
            &format!("{page}/evidence"),
            &cookie,
            &csrf,
            "copie.pdf",
            b"%PDF charte",
            "fr",
        ))
        .await;
    assert_eq!(r.status(), 409);
    let html = body_string(r).await;
    assert!(
        html.contains("déjà joint") && html.contains("charte.pdf"),
        "{html}"
    );
    assert_eq!(app.store.evidence(&s.own, Some(&m)).await.unwrap().len(), 1);
    // The API says so too (409).
    let cred = Cred::Cookie {
        cookie: cookie.clone(),
        csrf: csrf.clone(),
    };
    let r = app
        .send(request(
            "POST",
            &format!(
                "/api/v1/facilities/{}/measures/IAM-05/evidence?file_name=x.pdf",
                s.own
            ),
            &cred,
            Some("application/octet-stream"),
            b"%PDF charte".to_vec(),
        ))
        .await;
    assert_eq!(r.status(), 409);
    // A link: refused fields come back with what was typed; a good one is listed with its title.
    let r = app
        .send(post_in(
            &format!("{page}/links"),
            &cookie,
            "fr",
            &[
                ("csrf", &csrf),
                ("url", "javascript:alert(1)"),
                ("title", "Charte"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 400);
    let html = body_string(r).await;
    assert!(
        html.contains("id=\"error-url\"") && html.contains("adresse web"),
        "{html}"
    );
    assert!(html.contains("value=\"Charte\""));
    let r = app
        .send(post_in(
            &format!("{page}/links"),
            &cookie,
            "en",
            &[
                ("csrf", &csrf),
                ("url", "https://ged.example/doc/7"),
                ("title", "Charte signée"),
            ],
        ))
        .await;
    assert_eq!(r.status(), 303);
    let html = body_string(app.send(get_in(&page, &cookie, "en")).await).await;
    assert!(html.contains("href=\"https://ged.example/doc/7\"") && html.contains("Charte signée"));
    let v = app
        .json(post_json(
            &format!("/api/v1/facilities/{}/measures/IAM-05/links", s.own),
            &cred,
            r#"{"url":"https://ticket.example/42"}"#,
        ))
        .await;
    assert_eq!(
        (v["kind"].as_str(), v["url"].as_str()),
        (Some("link"), Some("https://ticket.example/42"))
    );
    let r = app
        .send(post_json(
            &format!("/api/v1/facilities/{}/measures/IAM-05/links", s.own),
            &cred,
            r#"{"url":"file:///etc/passwd"}"#,
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(app.store.evidence(&s.own, Some(&m)).await.unwrap().len(), 3);
}

#[tokio::test]
async fn evidence_links_and_files_attached_twice_sqlite() {
    evidence_links_and_twice(&sqlite_app().await).await;
}

#[tokio::test]
async fn evidence_links_and_files_attached_twice_postgres() {
    let Some(app) = pg_app().await else { return };
    evidence_links_and_twice(&app).await;
    app.cleanup().await;
}

#[tokio::test]
async fn an_evidence_file_over_the_limit_is_refused_in_words() {
    let app = sqlite_app_with(hygie_web::Config {
        max_upload_bytes: 1024,
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    let u = facility_user(&app, "rssi", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    let page = format!("/facilities/{}/measures/IAM-05", s.own);
    let html = body_string(app.send(get_in(&page, &cookie, "fr")).await).await;
    assert!(html.contains("au plus 1 Kio"), "the limit is on the form");
    for (lang, words) in [
        ("en", "larger than the limit of 1 KiB"),
        ("fr", "dépasse la limite de 1 Kio"),
    ] {
        let r = app
            .send(upload(
                &format!("{page}/evidence"),
                &cookie,
                &csrf,
                "big.pdf",
                &[b'x'; 4096],
                lang,
            ))
            .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let html = body_string(r).await;
        assert!(html.contains(words), "{lang}: {html}");
    }
}
