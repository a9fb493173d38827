//! Browser end-to-end test in a real headless Debian Chromium driven through chromedriver's
//! WebDriver HTTP API (the harness in tests/common/browser.rs): log in with password and TOTP
//! enrolment, upload an evidence file and see the level progress change, switch language, open an
//! incident and see its obligations and a notification draft; triage alerts, open an incident
//! from two of them, record the CNIL sending and see its clock stop, close the incident; upload
//! an AD LDIF export, see its findings and the measure turn failing; an
//! administrator enrols TOTP from the key the page shows (kept after a wrong code, beside its QR
//! code), registers a facility (a refused FINESS comes back on the form with what was typed),
//! and adds an evidence link.
//! Screenshots go to target/e2e-screenshots. Without chromium: fails when CI=true, else SKIP.
#![allow(clippy::unwrap_used, clippy::collapsible_if, clippy::nonminimal_bool)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use hygie_store::{Binding, Role};

/// "3/12" → (3, 12)
fn progress(s: &str) -> (usize, usize) {
    let frac = s
        .split_whitespace()
        .find(|w| w.contains('/'))
        .unwrap_or_else(|| panic!("no progress in '{s}'"));
    let (a, b) = frac.split_once('/').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_totp_upload_evidence_and_switch_language() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "rssi",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let (b, base, mut driver, profile) = start(&app).await;
    let port = b.port;

    // Password, then TOTP enrolment (mandatory for a CISO).
    b.go(&format!("{base}/login")).await;
    b.screenshot("01-login").await;
    b.type_in("#username", "rssi").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    b.screenshot("02-totp-enrolment").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    // A CISO of one facility lands on its dashboard.
    b.wait_text("h2", "Plan levels").await;
    let before = progress(&b.text("#level-1 .progress").await);
    b.screenshot("03-dashboard").await;

    // Upload an evidence file to a level-1 measure not done yet, declaring it implemented.
    let m = undone_level_one(&app.status_today(&s.own).await);
    let file = profile.path().join("charte-informatique.pdf");
    std::fs::write(&file, b"%PDF-1.4 charte").unwrap();
    b.go(&format!("{base}/facilities/{}/measures/{m}", s.own))
        .await;
    b.type_in("#file", &file.display().to_string()).await;
    b.click("#mark-implemented").await;
    b.click("#upload").await;
    b.wait_text("#evidence", "charte-informatique.pdf").await;
    b.screenshot("04-measure-with-evidence").await;
    b.go(&format!("{base}/facilities/{}", s.own)).await;
    let after = progress(&b.text("#level-1 .progress").await);
    assert_eq!(
        after,
        (before.0 + 1, before.1),
        "level 1 progress did not move"
    );
    b.screenshot("05-dashboard-progress").await;

    // Switch to French: the same page comes back in French, and stays so.
    b.click("#switch-lang").await;
    b.wait_text("h2", "Paliers du plan").await;
    b.screenshot("06-dashboard-fr").await;
    b.go(&format!("{base}/catalog")).await;
    b.wait_text("h1", "Catalogue des mesures").await;

    // Open the facility's incident: its obligations with their clocks, then a notification draft.
    b.go(&format!(
        "{base}/facilities/{}/incidents/{}",
        s.own, s.incidents[0]
    ))
    .await;
    b.wait_text("#obligation-cnil", "CNIL").await;
    assert!(
        !b.text("#obligation-cnil .clock").await.is_empty(),
        "time left shown"
    );
    b.screenshot("07-incident-obligations").await;
    b.go(&format!(
        "{base}/facilities/{}/incidents/{}/drafts/cnil",
        s.own, s.incidents[0]
    ))
    .await;
    b.wait_text("#draft", "Destinataire").await;
    b.screenshot("08-notification-draft").await;

    let _ = http(port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_triage_alerts_open_an_incident_send_to_the_cnil_and_close() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "soc",
        Role::ItStaff,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let alerts: Vec<hygie_core::Alert> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| hygie_core::Alert {
            id: (*id).into(),
            rule_id: "proc_creation_win_whoami".into(),
            title: "Whoami execution".into(),
            level: "medium".into(),
            tags: vec!["attack.discovery".into(), "attack.t1033".into()],
            time: Some("2026-01-05T10:00:00Z".into()),
            last_time: None,
            host: Some(format!("pc-{id}")),
            record_id: 7,
            source: "Security.evtx".into(),
            fields: vec![("Image".into(), "C:\\Windows\\System32\\whoami.exe".into())],
            count: 1,
        })
        .collect();
    app.store
        .record_alerts(&s.own, &alerts, &hygie_store::Actor("test".into()))
        .await
        .unwrap();
    let (b, base, mut driver, _profile) = start(&app).await;
    let f = &s.own;

    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "soc").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    b.wait_text("body", "soc").await;

    // Triage: w3 is a false positive, with its reason.
    b.go(&format!("{base}/facilities/{f}/alerts/w3")).await;
    b.wait_text("#alert-fields", "whoami.exe").await;
    b.click("#triage-status option[value=false_positive]").await;
    b.type_in("#triage-reason", "inventory script").await;
    b.screenshot("10-alert-triage").await;
    b.click("#triage").await;
    b.wait_text("#alert-status", "false positive").await;

    // Select w1 and w2 in the list and open an incident from them.
    b.go(&format!("{base}/facilities/{f}/alerts")).await;
    b.wait_text("#alerts", "Whoami execution").await;
    b.click("#select-w1").await;
    b.click("#select-w2").await;
    b.screenshot("11-alerts-selected").await;
    b.click("#open-incident").await;
    b.wait_text("#linked-alerts", "pc-w2").await;
    b.screenshot("12-incident-from-alerts").await;

    // Personal data at risk: the CNIL's 72 hours start; record the sending, the clock stops.
    b.click("#breach option[value=risk]").await;
    b.click("#update-facts").await;
    b.wait_text("#obligation-cnil", "CNIL").await;
    assert!(
        !b.text("#obligation-cnil .clock").await.is_empty(),
        "the CNIL clock runs"
    );
    b.click("#sending-duty option[value=cnil]").await;
    b.type_in("#sending-channel", "CNIL online service").await;
    b.type_in("#sending-text", "Notification of a personal data breach")
        .await;
    b.click("#record-sending").await;
    b.wait_text("#obligation-cnil", "sent").await;
    assert_eq!(
        b.text("#obligation-cnil .clock").await,
        "",
        "the CNIL clock stopped"
    );
    let timeline = b.wait_text("#timeline", "CNIL online service").await;
    assert!(
        timeline.contains("personal_data_breach") && !timeline.contains("description"),
        "only the changed fact is named: {timeline}"
    );
    b.screenshot("13-cnil-sent").await;

    // Close with a justification for the duties left.
    b.type_in("#close-justification", "CERT Santé informed by phone")
        .await;
    b.click("#close").await;
    b.wait_text("#closure", "CERT Santé informed by phone")
        .await;
    b.screenshot("14-incident-closed").await;

    // The alert names its incident.
    b.go(&format!("{base}/facilities/{f}/alerts/w1")).await;
    b.wait_text("#alert-incident", "INC-").await;

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_enrol_totp_add_a_facility_and_an_evidence_link() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    seed(&app).await;
    user(&app, "admin", Role::Administrator, Binding::Installation).await;
    let (b, base, mut driver, _profile) = start(&app).await;

    // Enrolment: the key is on the page as text and as a QR code; a wrong code keeps it there.
    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "admin").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    b.find("#totp-qr").await;
    b.screenshot("20-totp-qr").await;
    let now = jiff::Timestamp::now().as_second();
    let code = hygie_web::auth::totp_code(&secret, now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_in("#code", wrong).await;
    b.click("#verify").await;
    b.wait_text("#login-error", "Wrong").await;
    assert_eq!(b.text("#totp-secret").await, secret, "the key stays");
    b.find("#totp-qr").await;
    b.screenshot("21-totp-wrong-code-keeps-the-key").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    b.wait_text("body", "Register a facility").await;

    // Register a facility: a wrong check digit is refused beside the field, the input kept.
    b.click("#facility-new").await;
    b.wait_text("#facility-form", "FINESS").await;
    b.type_in("#finess", "750712185").await;
    b.type_in("#name", "CH Exemple e2e").await;
    b.click("#kind option[value=clinic]").await;
    b.click("#region option[value=IDF]").await;
    b.click("#nis2 option[value=important]").await;
    b.type_in("#plan_start", "2026-01-15").await;
    b.click("#facility-save").await;
    b.wait_text("#error-finess", "check digit").await;
    assert_eq!(b.value("#name").await, "CH Exemple e2e", "input kept");
    assert_eq!(b.value("#plan_start").await, "2026-01-15", "input kept");
    b.screenshot("22-facility-refused").await;
    b.clear("#finess").await;
    b.type_in("#finess", "750712184").await;
    b.click("#facility-save").await;
    b.wait_text("h2", "Plan levels").await;
    b.wait_text("body", "CH Exemple e2e").await;
    b.screenshot("23-facility-added").await;
    let f = hygie_core::Finess::parse("750712184").unwrap();
    let stored = app.store.facility(&f).await.unwrap();
    assert_eq!(
        (stored.kind, stored.nis2),
        (
            hygie_core::FacilityKind::Clinic,
            hygie_core::Nis2Status::Important
        )
    );

    // An evidence link on one of its measures.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-04"))
        .await;
    b.type_in("#link-url", "https://ged.chu-exemple.fr/doc/42")
        .await;
    b.type_in("#link-title", "Charte informatique signée").await;
    b.click("#add-link").await;
    b.wait_text("#evidence", "Charte informatique signée").await;
    b.screenshot("24-evidence-link").await;
    let items = app.store.evidence(&f, None).await.unwrap();
    assert!(
        items.iter().any(|e| e.added_by == "web:admin"
            && e.kind
                == hygie_store::EvidenceKind::Link {
                    url: "https://ged.chu-exemple.fr/doc/42".into(),
                    title: Some("Charte informatique signée".into()),
                }),
        "{items:?}"
    );

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

/// Issue 18: a CISO uploads an AD LDIF export in the browser, sees the findings in words with
/// the ANSSI level, and the measure the failed rule verifies turns failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_audit_an_ldif_export_and_see_the_measure_change() {
    if chromium_missing() {
        return;
    }
    let app = sqlite_app().await;
    let s = seed(&app).await;
    user(
        &app,
        "rssi",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![s.own.clone()],
        },
    )
    .await;
    let (b, base, mut driver, profile) = start(&app).await;
    let f = &s.own;

    // Password, then TOTP enrolment (mandatory for a CISO).
    b.go(&format!("{base}/login")).await;
    b.type_in("#username", "rssi").await;
    b.type_in("#password", PASSWORD).await;
    b.click("#login").await;
    let secret = b.wait_text("#totp-secret", "").await;
    let code = hygie_web::auth::totp_code(&secret, jiff::Timestamp::now().as_second());
    b.type_in("#code", &code).await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;

    // IAM-07 is not failing before the audit.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-07"))
        .await;
    let before = b.wait_text("#measure-status", "").await;
    assert!(!before.contains("failing"), "{before}");

    // Upload the export from the audits page.
    let file = profile.path().join("chu-test.ldif");
    std::fs::write(&file, include_str!("data/chu-test.ldif")).unwrap();
    b.go(&format!("{base}/facilities/{f}/audits")).await;
    b.wait_text("#audit-upload", "NT-hash dumps are never sent")
        .await;
    b.type_in("#export-file", &file.display().to_string()).await;
    b.screenshot("30-audit-upload").await;
    b.click("#run-audit").await;
    let findings = b
        .wait_text(
            "table.findings",
            "Accounts allowed reversible password storage",
        )
        .await;
    assert!(
        findings.contains("alice") && findings.contains("IAM-07"),
        "{findings}"
    );
    assert!(b.text("#ad-scores").await.contains("ANSSI level"));
    assert_eq!(b.text("#audit-target").await, "chu.test");
    b.screenshot("31-audit-run-findings").await;

    // The measure the rule verifies is failing now.
    b.go(&format!("{base}/facilities/{f}/measures/IAM-07"))
        .await;
    b.wait_text("#measure-status", "failing").await;
    b.screenshot("32-measure-failing").await;
    // And the dashboard counts it among the failing checks, with the latest audit.
    b.go(&format!("{base}/facilities/{f}")).await;
    b.wait_text("#latest-audits", "chu.test").await;
    assert!(b.text("#failing").await.contains("IAM-07"));
    b.screenshot("33-dashboard-what-to-do").await;

    let _ = http(b.port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}
