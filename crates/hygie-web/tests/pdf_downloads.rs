//! Issue 24: the PDF twins of the pages (facility report, incident file, breach register,
//! regional synthesis, an audit run's report, an agency's campaign report), authorised exactly
//! like their pages: own facility, another facility of
//! the region, a facility of another region, read-only accounts and API tokens. Allowed
//! downloads are real PDFs printed by Chromium whose `pdftotext` holds the facility's name; a
//! server without Chromium answers a 503 page in the reader's language. The webhook deliveries
//! page is checked alongside (journal readers; a facility's officers for their facility).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::header;
use common::*;
use hygie_store::{Binding, Role, TokenAccess};

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pdf");
    std::fs::write(&p, bytes).unwrap();
    hygie_testkit::pdf::text(&p)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Own,
    Other,
    Far,
}

/// The downloads: which one, its path (with {f}, {r}, {inc}, {run}, {camp}), and the page it
/// twins.
const ROUTES: [(&str, &str, &str); 6] = [
    ("report", "/facilities/{f}/report.pdf", "/facilities/{f}"),
    (
        "incident",
        "/facilities/{f}/incidents/{inc}/file.pdf",
        "/facilities/{f}/incidents/{inc}",
    ),
    (
        "register",
        "/facilities/{f}/register.pdf",
        "/facilities/{f}/incidents",
    ),
    ("region", "/regions/{r}/report.pdf", "/regions/{r}"),
    (
        "audit",
        "/facilities/{f}/audits/{run}/report.pdf",
        "/facilities/{f}/audits/{run}",
    ),
    (
        "campaign",
        "/regions/{r}/requests/{camp}/report.pdf",
        "/regions/{r}/requests/{camp}",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_downloads_are_authorised_like_their_pages() {
    if !hygie_testkit::pdf::tools() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    // One region-wide campaign of the agency in each region (BCK-06 by a date).
    let mut campaigns = std::collections::HashMap::new();
    for region in ["BRE", "IDF"] {
        let input = hygie_sync::CampaignInput::parse(
            region,
            "region",
            &["BCK-06".into()],
            "2099-03-31",
            "Test de restauration",
            "Restore test",
        )
        .unwrap();
        let c = app
            .store
            .create_request_campaign(&input, &hygie_store::Actor("test".into()))
            .await
            .unwrap();
        campaigns.insert(region, c.id.to_string());
    }
    let bre = || Binding::Region {
        region: hygie_core::Region::parse("BRE").unwrap(),
    };
    let own = || Binding::Facilities {
        facilities: vec![s.own.clone()],
    };
    let mut principals: Vec<(&str, Cred)> = Vec::new();
    for (name, role, binding) in [
        ("ciso", Role::Ciso, own()),
        ("ambassador", Role::Ambassador, own()),
        ("officer", Role::RegionalOfficer, bre()),
    ] {
        let u = user(&app, name, role, binding).await;
        let (cookie, csrf) = session(&app, &u).await;
        principals.push((name, Cred::Cookie { cookie, csrf }));
    }
    principals.push((
        "token_read",
        Cred::Bearer(token(&app, &s.own, TokenAccess::Read).await),
    ));
    let targets = [
        (
            Target::Own,
            &s.own,
            &s.incidents[0],
            &s.runs[0],
            "BRE",
            "CH Own",
        ),
        (
            Target::Other,
            &s.other,
            &s.incidents[1],
            &s.runs[1],
            "BRE",
            "CH Other",
        ),
        (
            Target::Far,
            &s.far,
            &s.incidents[2],
            &s.runs[2],
            "IDF",
            "CH Far",
        ),
    ];
    let mut failures = Vec::new();
    let mut printed = 0;
    for (who, cred) in &principals {
        for (t, f, inc, run, region, name) in targets {
            for (what, pdf, page) in ROUTES {
                let fill = |p: &str| {
                    p.replace("{f}", f.as_str())
                        .replace("{inc}", inc)
                        .replace("{run}", run)
                        .replace("{r}", region)
                        .replace("{camp}", &campaigns[region])
                };
                // The page decides: the download must answer as it does.
                let page_ok = app
                    .send(get_as(&fill(page), cred))
                    .await
                    .status()
                    .is_success();
                let res = app.send(get_as(&fill(pdf), cred)).await;
                let status = res.status();
                if page_ok != status.is_success() {
                    failures.push(format!(
                        "{who} {what} on {t:?}: page {} but download {status}",
                        if page_ok { "allowed" } else { "refused" }
                    ));
                    continue;
                }
                if !page_ok {
                    let code = status.as_u16();
                    if !(matches!(code, 401 | 403 | 404) || status.is_redirection()) {
                        failures.push(format!("{who} {what} on {t:?}: refused with {status}"));
                    }
                    continue;
                }
                let ct = res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let cd = res
                    .headers()
                    .get(header::CONTENT_DISPOSITION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                    .await
                    .unwrap();
                printed += 1;
                if ct != "application/pdf" || !cd.starts_with("attachment;") || !cd.contains(".pdf")
                {
                    failures.push(format!("{who} {what} on {t:?}: headers {ct} / {cd}"));
                    continue;
                }
                let text = pdf_text(&body);
                let squeezed: String = text.split_whitespace().collect();
                // The region's synthesis names the facilities of the region the caller sees
                // (the own one at least in BRE); the incident file names its facility by FINESS
                // in its header; the others, by name.
                let name = match what {
                    "region" if region == "BRE" => "CH Own",
                    "incident" => f.as_str(),
                    _ => name,
                };
                if !squeezed.contains(&name.replace(' ', "")) {
                    failures.push(format!("{who} {what} on {t:?}: no '{name}' in {text}"));
                }
                if t != Target::Far && what == "region" && text.contains("CH Far") {
                    failures.push(format!("{who} region on {t:?}: another region's facility"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The matrix is not vacuous: read-only and region-bound accounts got PDFs, the token none.
    assert!(printed >= 10, "{printed} PDFs");
}

#[tokio::test]
async fn without_chromium_the_download_says_so_in_the_readers_language() {
    let app = sqlite_app_with(hygie_web::Config {
        chromium: Some("/nonexistent/chromium".into()),
        ..hygie_web::Config::default()
    })
    .await;
    let s = seed(&app).await;
    let u = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, _) = session(&app, &u).await;
    for (lang, want) in [
        ("en", "Chromium is not installed"),
        ("fr", "Chromium n&#39;est pas installé"),
    ] {
        let res = app
            .send(get_with(
                format!("/facilities/{}/report.pdf?lang={lang}", s.own),
                &cookie,
            ))
            .await;
        assert_eq!(res.status(), 503);
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with("text/html"), "{ct}");
        let html = body_string(res).await;
        assert!(html.contains(want), "{html}");
    }
    // Out of scope stays "not found", Chromium or not.
    let res = app
        .send(get_with(
            format!("/facilities/{}/report.pdf", s.far),
            &cookie,
        ))
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_deliveries_page_shows_failures_to_those_who_read_the_journal() {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    // The seed's incidents are webhook events; an endpoint with room for one delivery fails
    // the others at once ("queue full").
    let ep = hygie_notify::webhook::Endpoint {
        name: "siem".into(),
        url: "https://siem.example/hook".parse().unwrap(),
        facility: None,
        secret_file: "/dev/null".into(),
        ca_cert: None,
        events: vec![],
        max_attempts: 3,
        backoff: jiff::SignedDuration::from_secs(30),
        queue_limit: 1,
    };
    let (queued, dropped) = app
        .store
        .plan_deliveries(&[ep], &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    assert_eq!((queued, dropped), (1, 2));

    let admin = user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (cookie, _) = session(&app, &admin).await;
    let html = body_string(
        app.send(get_with("/admin/webhooks?failed=1&lang=fr", &cookie))
            .await,
    )
    .await;
    assert!(html.contains("file d&#39;attente pleine"), "{html}");
    assert!(html.contains("non planifié"), "{html}");
    assert!(html.contains("en échec"), "{html}");
    assert_eq!(
        html.matches("class=\"delivery failed\"").count(),
        2,
        "{html}"
    );
    // With `serve --notify-every`, the page shows the next pass and the next digests.
    app.state
        .metrics()
        .reminders_next_run
        .store(1_796_623_200, std::sync::atomic::Ordering::Relaxed);
    app.state
        .metrics()
        .digests_next_run
        .store(1_796_623_200 + 3600, std::sync::atomic::Ordering::Relaxed);
    let en = body_string(app.send(get_with("/admin/webhooks?lang=en", &cookie)).await).await;
    assert!(
        en.contains("<span id=\"next-pass\">2026-12-07 07:00</span>"),
        "{en}"
    );
    assert!(
        en.contains("<span id=\"next-digests\">2026-12-07 08:00</span>"),
        "{en}"
    );

    // A facility's CISO sees their facility's, not another's, nor every facility's page.
    let ciso = facility_user(&app, "ciso", Role::Ciso, &s.own).await;
    let (cookie, _) = session(&app, &ciso).await;
    let res = app
        .send(get_with(format!("/facilities/{}/webhooks", s.own), &cookie))
        .await;
    assert_eq!(res.status(), 200);
    let html = body_string(res).await;
    assert!(!html.contains(s.far.as_str()), "{html}");
    assert_eq!(
        app.send(get_with(format!("/facilities/{}/webhooks", s.far), &cookie))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.send(get_with("/admin/webhooks", &cookie))
            .await
            .status(),
        403
    );
    // An ambassador does not read the journal.
    let amb = facility_user(&app, "amb", Role::Ambassador, &s.own).await;
    let (cookie, _) = session(&app, &amb).await;
    assert_eq!(
        app.send(get_with(format!("/facilities/{}/webhooks", s.own), &cookie))
            .await
            .status(),
        403
    );
}
