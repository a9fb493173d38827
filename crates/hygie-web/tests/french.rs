//! Every page in French (issue 18): an administrator of the installation walks every page a
//! seeded installation links to (facilities, measures, audits with a real AD run, alerts,
//! incidents and their drafts, the catalogue, regions, the journal, users, error pages) under
//! `?lang=fr`; the test fails on any English-only string of the known offenders and on any raw
//! enum value (a snake_case token) in the text a reader sees (`<code>` is identifiers, not text).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_store::{Binding, Role};
use std::collections::{BTreeSet, VecDeque};

/// Words and phrases that gave English away in French pages (issue 18's walk-through).
const OFFENDERS: &[&str] = &[
    "Overdue",
    "high",
    "medium",
    "critical",
    "implemented",
    "in progress",
    "not started",
    "failed",
    "passed",
    "NIS 2: essential",
    "essential",
    "GDPR",
    "--justification",
    "Not found",
    "not found",
    "Forbidden",
    "forbidden",
    "Error",
    "days",
    "late by",
];

/// Pages walked at most (the seeded installation has far fewer).
const MAX_PAGES: usize = 400;

/// The text a reader sees: tags, styles and entities' markup removed; attribute values that
/// people read (title, aria-label, placeholder) kept.
fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        // A style block is CSS, not text; code is identifiers shown as they are typed or
        // logged (ANSSI control points, event names, the journal's stored JSON details).
        if tail.starts_with("<style") {
            rest = tail.find("</style>").map_or("", |j| &tail[j + 8..]);
            continue;
        }
        if tail.starts_with("<code") {
            rest = tail.find("</code>").map_or("", |j| &tail[j + 7..]);
            continue;
        }
        let end = tail.find('>').map_or(tail.len(), |j| j + 1);
        let tag = &tail[..end];
        for attr in ["title=\"", "aria-label=\"", "placeholder=\""] {
            if let Some(a) = tag.find(attr) {
                let v = &tag[a + attr.len()..];
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                out.push(' ');
            }
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out.replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

/// A duration in English days ("2 d", "3 d 4 h"): a number, a space, a lone "d" (not the "d" of a
/// reference such as NIS 2's "23.4.d").
fn english_days(flat: &str) -> Option<String> {
    let b = flat.as_bytes();
    for (i, _) in flat.match_indices(" d") {
        let after = b.get(i + 2).copied();
        let lone = after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'.');
        let digits = flat[..i]
            .bytes()
            .rev()
            .take_while(u8::is_ascii_digit)
            .count();
        let before = flat[..i - digits].bytes().last();
        if lone && digits > 0 && before.is_none_or(|c| c == b' ') {
            return Some(flat[i - digits..i + 2].to_owned());
        }
    }
    None
}

/// Where `needle` first shows in `text`: a few words around it, to find its source.
fn around(text: &str, needle: &str) -> String {
    let Some(i) = text.find(needle) else {
        return String::new();
    };
    let start = text[..i].char_indices().rev().nth(30).map_or(0, |(j, _)| j);
    let end = text[i..]
        .char_indices()
        .nth(needle.chars().count() + 30)
        .map_or(text.len(), |(j, _)| i + j);
    let snippet: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(" in \"…{snippet}…\"")
}

/// The offenders and raw enum values found in a page's visible text.
fn english_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    for o in OFFENDERS {
        let hit = if o.contains(' ') || o.contains(':') || o.starts_with('-') {
            text.contains(o)
        } else {
            words.contains(o)
        };
        if hit {
            found.push(format!("'{o}'{}", around(text, o)));
        }
    }
    // A duration in English days ("2 d"; "3 h 05 min" reads the same in French).
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(at) = english_days(&flat) {
        found.push(format!(
            "a duration in days written 'd'{}",
            around(&flat, &at)
        ));
    }
    for w in &words {
        let raw = w.contains('_')
            && !w.starts_with('_')
            && !w.ends_with('_')
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit());
        if raw {
            found.push(format!("raw value '{w}'"));
        }
    }
    found
}

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
