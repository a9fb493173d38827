//! Every page in French (issue 18): an administrator of the installation walks every page a
//! seeded installation links to (facilities, measures, audits with a real AD run, alerts,
//! incidents and their drafts, the catalogue, regions, the journal, users, error pages) under
//! `?lang=fr`; the test fails on any English-only string of the known offenders and on any raw
//! enum value (a snake_case token) in the text a reader sees (`<code>` is identifiers, not text).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_store::{Binding, Role};
use hygie_testkit::french::{english_in, visible};
use std::collections::{BTreeSet, VecDeque};

/// Pages walked at most (the seeded installation has far fewer).
const MAX_PAGES: usize = 400;

/// Local links of a page (`href="/..."`), without fragments; downloads and logout left out.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.split('#').next().unwrap_or(h).replace("&amp;", "&"))
        .filter(|h| {
            !h.starts_with("/api/")
                && !h.contains("/evidence/")
                && !h.ends_with(".csv")
                && !h.starts_with("/logout")
        })
        .collect()
}

fn with_fr(path: &str) -> String {
    if path.contains('?') {
        format!("{path}&lang=fr")
    } else {
        format!("{path}?lang=fr")
    }
}

async fn seeded() -> (App, String, Vec<String>) {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    // Declarations of every kind on the own facility, so statuses show in all their forms.
    let actor = hygie_store::Actor("test".into());
    for (m, st) in [
        ("IAM-05", hygie_core::DeclaredStatus::Implemented),
        ("IAM-06", hygie_core::DeclaredStatus::InProgress),
    ] {
        let m = hygie_core::MeasureId::parse(m).unwrap();
        app.store
            .declare(&s.own, &m, &st, None, None, &actor)
            .await
            .unwrap();
    }
    // A real AD run with registered rules, through the audit's own code.
    let snap =
        hygie_ad::snapshot_from_ldif(std::io::Cursor::new(include_bytes!("data/chu-test.ldif")))
            .unwrap();
    let now = jiff::Timestamp::now();
    let a =
        hygie_ad::report::audit_run(&snap, &hygie_ad::AuditConfig::default(), now, None, "ldif");
    let run = hygie_core::CheckRun::of("run-ad-fr".into(), "ad", now, &a.findings);
    app.store
        .record_check_run(&s.own, &run, &a.summary, &actor)
        .await
        .unwrap();
    let admin = user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (cookie, _) = session(&app, &admin).await;
    // Pages no link leads to from the home page: error pages and the alert filtered lists.
    let extra = vec![
        format!("/facilities/{}/audits/no-such-run", s.own),
        format!("/facilities/{}/measures/NOPE-99", s.own),
        "/facilities/350009999".to_owned(),
        format!("/facilities/{}/alerts?status=new", s.own),
        format!(
            "/facilities/{}/incidents/{}/drafts/cnil",
            s.own, s.incidents[0]
        ),
    ];
    (app, cookie, extra)
}

#[tokio::test]
async fn every_page_under_lang_fr_is_in_french() {
    let (app, cookie, extra) = seeded().await;
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from(vec!["/".to_owned()]);
    queue.extend(extra);
    let mut failures = Vec::new();
    let mut walked = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || walked >= MAX_PAGES {
            continue;
        }
        walked += 1;
        let r = app.send(get_with(with_fr(&path), &cookie)).await;
        let status = r.status();
        if status.is_redirection() {
            if let Some(to) = r.headers().get("location").and_then(|l| l.to_str().ok()) {
                queue.push_back(to.to_owned());
            }
            continue;
        }
        let html = body_string(r).await;
        if !html.contains("<html") {
            continue;
        }
        let found = english_in(&visible(&html));
        if !found.is_empty() {
            failures.push(format!("{path} ({status}): {}", found.join(", ")));
        }
        for l in links(&html) {
            // Filters and pages of a list are the same page again.
            let bare = l.split('?').next().unwrap_or(&l).to_owned();
            if !seen.contains(&bare) {
                queue.push_back(bare);
            }
        }
    }
    assert!(walked > 20, "only {walked} pages walked");
    assert!(
        failures.is_empty(),
        "{} of {walked} pages show English or raw values under ?lang=fr:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The checker itself catches what it must (a test that can fail).
#[test]
fn the_checker_finds_english_and_raw_values() {
    let page = "<p>Statut : implemented · 2 d · NIS 2: essential</p><style>.high{}</style><span title=\"Overdue\">x</span><td>in_progress</td><code>login_failed</code>";
    let found = english_in(&visible(page));
    for want in [
        "'implemented'",
        "a duration in days written 'd'",
        "'NIS 2: essential'",
        "'Overdue'",
        "raw value 'in_progress'",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "{want} not in {found:?}"
        );
    }
    assert!(
        !found.iter().any(|f| f.starts_with("'high'")),
        "CSS is not text"
    );
    assert!(
        !found.iter().any(|f| f.contains("login_failed")),
        "code is not text"
    );
    assert!(english_in(&visible("<p>Mise en œuvre · 2 j · entité essentielle</p>")).is_empty());
}
