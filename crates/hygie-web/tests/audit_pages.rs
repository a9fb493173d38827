//! Audits in the browser (issue 18), on SQLite and PostgreSQL: a CISO uploads an AD LDIF export,
//! the server audits it as `hygie audit ad --ldif` does and records the run; the run page shows
//! the findings in words (titles, severity, remediation, references, measures), the ANSSI level
//! and category scores, what changed since the previous run and the chart of the runs; the
//! measure the rule verifies changes status; the list groups the runs by audit and domain; the
//! dashboard says what to do next. Other roles cannot upload; a bad file changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hygie_store::{Binding, Role};

const LDIF: &str = include_str!("data/chu-test.ldif");
const LDIF_FIXED: &str = include_str!("data/chu-test-fixed.ldif");

/// The upload form's request: CSRF token, kind of export and the file.
fn upload(
    f: &hygie_core::Finess,
    cookie: &str,
    csrf: &str,
    kind: &str,
    file: &str,
) -> Request<Body> {
    let b = "XbOuNdArYh11";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.ldif\"\r\nContent-Type: text/plain\r\n\r\n{file}\r\n--{b}--\r\n"
    );
    Request::post(format!("/facilities/{f}/audits"))
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap()
}

/// The measure's effective status today, from the store.
async fn status_of(app: &App, f: &hygie_core::Finess, m: &str) -> hygie_core::EffectiveStatus {
    let st = app.status_today(f).await;
    st.measures
        .iter()
        .find(|x| x.id.as_str() == m)
        .unwrap()
        .status
}

async fn upload_flow(app: &App) {
    let s = seed(app).await;
    let f = &s.own;
    let ciso = facility_user(app, "ciso", Role::Ciso, f).await;
    let (cookie, csrf) = session(app, &ciso).await;
    let page = |path: String| {
        let cookie = cookie.clone();
        async move { body_string(app.send(get_with(path, &cookie)).await).await }
    };
    // The list offers the form to the CISO and says the NT-hash dumps stay local.
    let list = page(format!("/facilities/{f}/audits?lang=fr")).await;
    assert!(list.contains("id=\"audit-upload\""), "{list}");
    assert!(list.contains("empreintes NT ne sont jamais envoyées"));
    assert_ne!(
        status_of(app, f, "IAM-07").await,
        hygie_core::EffectiveStatus::Failing
    );

    // First upload: a run of source `ad`, its page in French with the rule in words.
    let r = app.send(upload(f, &cookie, &csrf, "ad-ldif", LDIF)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("/facilities/{f}/audits/")), "{to}");
    let run = page(format!("{to}?lang=fr")).await;
    assert!(
        run.contains("Comptes autorisés au stockage réversible"),
        "{run}"
    );
    assert!(run.contains("Niveau ANSSI"), "AD scores");
    assert!(
        run.contains("Politique de mots de passe"),
        "category scores"
    );
    assert!(
        run.contains("Pourquoi et comment corriger"),
        "rationale and remediation"
    );
    assert!(
        run.contains("ANSSI ") && run.contains("PingCastle "),
        "references"
    );
    assert!(run.contains(&format!("href=\"/facilities/{f}/measures/IAM-07\"")));
    assert!(
        run.contains("id=\"audit-target\">chu.test<"),
        "domain named"
    );
    assert!(run.contains("class=\"sev\">moyenne<"), "severity in words");
    assert!(!run.contains(">medium<"));
    assert!(run.contains("Première exécution de cet audit"));
    assert!(run.contains("<svg id=\"trend\""), "chart of the runs");
    assert_eq!(
        status_of(app, f, "IAM-07").await,
        hygie_core::EffectiveStatus::Failing,
        "the run feeds the status"
    );
    let runs = app.store.check_run_list(f).await.unwrap();
    let new = runs.iter().find(|r| to.ends_with(&r.id)).unwrap();
    assert_eq!(new.target.as_deref(), Some("chu.test"));
    let journal = app
        .store
        .journal_entries(Some(f.as_str()), None)
        .await
        .unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.action == "check.run" && e.actor == "web:ciso"),
        "journalled as the CISO"
    );

    // Second upload, alice fixed: the page counts one fixed pair and lists the rule among those
    // passed; the list groups the two runs under the domain.
    let r = app
        .send(upload(f, &cookie, &csrf, "ad-ldif", LDIF_FIXED))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let run = page(format!("{to}?lang=en")).await;
    assert!(run.contains("id=\"changes-fixed\">1<"), "{run}");
    assert!(run.contains("id=\"changes-new\">0<"));
    assert!(run.contains("ACC-03 : alice"), "the fixed pair named");
    let passed = &run[run.find("id=\"passed\"").unwrap()..];
    assert!(passed.contains("ACC-03 — Accounts allowed reversible password storage"));
    let list = page(format!("/facilities/{f}/audits?lang=en")).await;
    assert!(
        list.contains("Active Directory — chu.test (2 runs)"),
        "grouped by audit and domain: {list}"
    );
    assert!(
        list.contains("Active Directory (1 runs)"),
        "the seed's run, no domain"
    );

    // The dashboard's latest audits name the domain and the change.
    let home = page(format!("/facilities/{f}?lang=fr")).await;
    assert!(home.contains("id=\"latest-audits\""));
    assert!(home.contains("Active Directory — chu.test"));
    assert!(home.contains("depuis l&#39;exécution précédente"), "{home}");

    // A bad file: a clear error naming the file and line, nothing recorded.
    let before = app.store.check_run_list(f).await.unwrap().len();
    let r = app
        .send(upload(
            f,
            &cookie,
            &csrf,
            "ad-ldif",
            "version: 1\n\nnot ldif at all\n",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let msg = body_string(r).await;
    assert!(msg.contains("export.ldif") && msg.contains("line"), "{msg}");
    // NT-hash dumps are never audited by the server.
    let r = app
        .send(upload(
            f,
            &cookie,
            &csrf,
            "passwords",
            "alice:1105:aad3b435:31d6cfe0:::",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_string(r).await.contains("NT"));
    assert_eq!(app.store.check_run_list(f).await.unwrap().len(), before);

    // Only the facility's CISO or an administrator runs an audit: not the DPO, not IT staff,
    // not another facility's CISO; nothing is recorded.
    for (name, role, fac) in [
        ("dpo2", Role::Dpo, f.clone()),
        ("it2", Role::ItStaff, f.clone()),
        ("ciso2", Role::Ciso, s.other.clone()),
    ] {
        let u = user(
            app,
            name,
            role,
            Binding::Facilities {
                facilities: vec![fac],
            },
        )
        .await;
        let (cookie, csrf) = session(app, &u).await;
        let r = app.send(upload(f, &cookie, &csrf, "ad-ldif", LDIF)).await;
        assert!(
            matches!(r.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{name}: {}",
            r.status()
        );
        let list = body_string(
            app.send(get_with(format!("/facilities/{f}/audits"), &cookie))
                .await,
        )
        .await;
        assert!(!list.contains("id=\"audit-upload\""), "{name} sees no form");
    }
    assert_eq!(app.store.check_run_list(f).await.unwrap().len(), before);
}

#[tokio::test]
async fn a_ciso_audits_an_ldif_export_in_the_browser_on_sqlite() {
    let app = sqlite_app().await;
    upload_flow(&app).await;
}

#[tokio::test]
async fn a_ciso_audits_an_ldif_export_in_the_browser_on_postgres() {
    let Some(app) = pg_app().await else { return };
    upload_flow(&app).await;
    app.cleanup().await;
}

/// An export larger than the upload limit gets the clear 413 page, and nothing is recorded.
#[tokio::test]
async fn an_export_over_the_limit_is_refused_clearly() {
    let app = sqlite_app_with(hygie_web::Config {
        max_upload_bytes: 4096,
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    let ciso = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, csrf) = session(&app, &ciso).await;
    let big = format!("{LDIF}{}", "# padding\n".repeat(1000));
    let r = app
        .send(upload(&s.own, &cookie, &csrf, "ad-ldif", &big))
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.store.check_run_list(&s.own).await.unwrap().len(), 1);
}

/// A multipart body of `kind` with files, each `(role, file name, content)`.
fn upload_files(
    f: &hygie_core::Finess,
    cookie: &str,
    csrf: &str,
    kind: &str,
    files: &[(&str, &str, &str)],
) -> Request<Body> {
    let b = "XbOuNdArYh12";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n"
    );
    for (role, name, content) in files {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{role}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{b}--\r\n"));
    Request::post(format!("/facilities/{f}/audits"))
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap()
}

/// The collectors' exports in the browser: the Wi-Fi configuration of an access point is
/// audited by the server as `hygie audit wifi --hostapd` does, the run feeds the measure's
/// status; a file in the wrong role or unreadable is refused naming it, and nothing is recorded.
#[tokio::test]
async fn a_ciso_audits_a_wifi_configuration_in_the_browser() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let f = &s.own;
    let ciso = facility_user(&app, "ciso", Role::Ciso, f).await;
    let (cookie, csrf) = session(&app, &ciso).await;
    let list = body_string(
        app.send(get_with(format!("/facilities/{f}/audits?lang=fr"), &cookie))
            .await,
    )
    .await;
    for kind in ["backups", "antivirus", "patching", "network", "wifi", "mfa"] {
        assert!(
            list.contains(&format!("id=\"upload-{kind}\"")),
            "{kind}: {list}"
        );
    }
    assert!(list.contains("Wi-Fi : configurations des bornes"), "{list}");
    let before = app.store.check_run_list(f).await.unwrap().len();

    // Refusals first: a file of another role, then a zone model that is not YAML.
    let r = app
        .send(upload_files(
            f,
            &cookie,
            &csrf,
            "wifi",
            &[("inventory", "hosts.csv", "host\nPC1\n")],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_string(r)
            .await
            .contains("inventory: not a file of a wifi export")
    );
    let r = app
        .send(upload_files(
            f,
            &cookie,
            &csrf,
            "network",
            &[("zones", "C:\\exports\\zones.yml", "zones: [unclosed")],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refusal = body_string(r).await;
    assert!(
        refusal.contains("zones/1-zones.yml"),
        "the file is named: {refusal}"
    );
    assert_eq!(app.store.check_run_list(f).await.unwrap().len(), before);

    // WEP on the guest network: the run of source `wifi`, its failed rules and their measures.
    let hostapd = "interface=wlan0\nssid=Invites\nwep_key0=0123456789\nauth_algs=1\n";
    let r = app
        .send(upload_files(
            f,
            &cookie,
            &csrf,
            "wifi",
            &[("hostapd", "ap1.conf", hostapd)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let runs = app.store.check_run_list(f).await.unwrap();
    assert_eq!(runs.len(), before + 1);
    let run = runs.iter().find(|r| to.ends_with(&r.id)).unwrap();
    assert_eq!(run.source, "wifi");
    let recorded = app.store.check_runs(f, Some("wifi")).await.unwrap();
    let recorded = recorded.iter().find(|r| r.id == run.id).unwrap();
    let failed: Vec<_> = recorded
        .results
        .iter()
        .filter(|r| r.outcome == hygie_core::RuleOutcome::Fail && !r.measures.is_empty())
        .collect();
    assert!(!failed.is_empty(), "WEP fails");
    let page = body_string(app.send(get_with(to.clone(), &cookie)).await).await;
    assert!(page.contains(failed[0].rule.as_str()), "{page}");
    let measure = failed[0].measures[0].as_str().to_owned();
    assert_eq!(
        status_of(&app, f, &measure).await,
        hygie_core::EffectiveStatus::Failing,
        "the run feeds {measure}'s status"
    );
}
