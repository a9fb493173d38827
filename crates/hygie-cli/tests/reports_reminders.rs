//! Issue 24 end to end: PDF reports printed by headless Chromium (read back with `pdftotext`)
//! and e-mail reminders sent to a real SMTP server on loopback (Python's aiosmtpd, started by
//! the test on a free port, writing what it receives to a maildir).
//!
//! Chromium, `pdftotext` and aiosmtpd are installed by scripts/test.sh; without them a test
//! prints SKIP, or fails under CI=true.

mod common;

use common::smtp::{SmtpServer, header};
use common::{HOSPITAL, Hygie};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The text with its whitespace runs made one space: a table cell's text wraps in a PDF.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text without any whitespace, to find an id a narrow cell broke.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect()
}

fn ago(hours: i64) -> String {
    (Timestamp::now() - SignedDuration::from_hours(hours)).to_string()
}

/// The test hospital with a DPO (French) and a CISO (English web account) in its register.
fn hospital_with_roles(env: &Hygie) {
    env.add(&HOSPITAL);
    let people = env.file(
        "people.csv",
        "id,name,function,department,reports_to,email\n\
         dpo1,Denise Poulain,DPO,Direction,,dpo@ch-test.example\n\
         ciso1,Charles Smith,RSSI,Direction,,ciso@ch-test.example\n",
    );
    env.run(
        &[
            "people",
            "import",
            "--facility",
            common::FINESS,
            people.to_str().unwrap_or_default(),
        ],
        0,
    );
    for (role, person) in [
        ("dpo", "dpo1"),
        ("ciso", "ciso1"),
        ("incident-referent", "ciso1"),
    ] {
        env.run(
            &[
                "roles",
                "assign",
                "--facility",
                common::FINESS,
                "--role",
                role,
                "--person",
                person,
                "--start",
                "2025-01-01",
            ],
            0,
        );
    }
}

/// Open a serious personal-data breach (CERT Santé and CNIL duties) the facility became aware
/// of at `awareness`; its id.
fn breach(env: &Hygie, awareness: &str) -> String {
    let v = env.json(
        &[
            "incident",
            "open",
            "--facility",
            common::FINESS,
            "--title",
            "Fuite de données patients",
            "--awareness",
            awareness,
            "--personal-data-breach",
            "risk",
            "--serious",
            "--impact",
            "health_data",
        ],
        0,
    );
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn status_pdf_has_the_facility_its_score_and_numbered_pages() {
    if !hygie_testkit::pdf::tools() {
        return;
    }
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    let id = breach(&env, &ago(80));
    let score = env.json(&["status", common::FINESS], 0)["score"]
        .as_f64()
        .unwrap_or(-1.0);
    let out = env.path().join("status.pdf");
    env.run(
        &[
            "status",
            common::FINESS,
            "--format",
            "pdf",
            "-o",
            out.to_str().unwrap_or_default(),
        ],
        0,
    );
    let text = hygie_testkit::pdf::text(&out);
    assert!(text.contains("CH Test"), "{text}");
    assert!(text.contains("Executive summary"), "{text}");
    assert!(text.contains(&format!("{score:.1}%")), "{text}");
    assert!(text.contains("page 1 / "), "{text}");
    assert!(text.contains("CONFIDENTIAL"), "{text}");
    // The open incident is on the summary page, with its late CNIL notification.
    let summary = text.split('\u{c}').next().unwrap_or_default();
    assert!(squeezed(summary).contains(&id), "{summary}");
    assert!(
        squeezed(summary).contains("Personal-databreachnotification"),
        "{summary}"
    );
    let pages = text.matches('\u{c}').count();
    assert!(
        text.contains(&format!("page {pages} / {pages}")),
        "{pages} pages: {text}"
    );

    // In French, from the same templates.
    let fr = env.path().join("etat.pdf");
    env.run(
        &[
            "status",
            common::FINESS,
            "--lang",
            "fr",
            "--format",
            "pdf",
            "-o",
            fr.to_str().unwrap_or_default(),
        ],
        0,
    );
    let text = hygie_testkit::pdf::text(&fr);
    assert!(text.contains("Synthèse pour la direction"), "{text}");
    assert!(text.contains("CONFIDENTIEL"), "{text}");
    assert!(text.contains("Palier atteint"), "{text}");
}

#[test]
fn incident_pdf_lists_the_obligations_and_what_was_sent() {
    if !hygie_testkit::pdf::tools() {
        return;
    }
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    let id = breach(&env, &ago(10));
    env.run(
        &[
            "incident",
            "notify",
            &id,
            "--duty",
            "cnil",
            "--reference",
            "CNIL-REF-4242",
            "--channel",
            "portal",
        ],
        0,
    );
    let out = env.path().join("incident.pdf");
    env.run(
        &[
            "incident",
            "export",
            &id,
            "--format",
            "pdf",
            "-o",
            out.to_str().unwrap_or_default(),
        ],
        0,
    );
    let text = hygie_testkit::pdf::text(&out);
    let words = flat(&text);
    assert!(squeezed(&text).contains(&id), "{text}");
    assert!(words.contains("Report to CERT Santé"), "{text}");
    assert!(
        words.contains("Personal-data breach notification to the CNIL"),
        "{text}"
    );
    assert!(squeezed(&text).contains("CNIL-REF-4242"), "{text}");
    assert!(text.contains("page 1 / "), "{text}");

    // Bad output: no Chromium where HYGIE_CHROMIUM points; the error says what is missing.
    let err = common::stderr(
        env.cmd()
            .env("HYGIE_CHROMIUM", "/nonexistent/chromium")
            .args(["incident", "export", &id, "--format", "pdf", "-o"])
            .arg(env.path().join("x.pdf")),
        1,
    );
    assert!(err.contains("HYGIE_CHROMIUM"), "{err}");
    assert!(!env.path().join("x.pdf").exists());
}

#[test]
fn dry_run_lists_the_cnil_reminder_for_the_dpo() {
    let env = Hygie::sqlite();
    hospital_with_roles(&env);
    let t: Timestamp = "2026-11-22T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let aware = (t - SignedDuration::from_hours(70)).to_string();
    let id = breach(&env, &aware);
    let v = env.json(
        &["notify", "run", "--dry-run", "--as-of", &t.to_string()],
        0,
    );
    let reminders = v["reminders"].as_array().cloned().unwrap_or_default();
    let cnil: Vec<&Value> = reminders.iter().filter(|r| r["duty"] == "cnil").collect();
    assert_eq!(cnil.len(), 1, "{v:#}");
    let r = cnil[0];
    assert_eq!(r["incident"], id.as_str());
    assert_eq!(r["slot"], "4h");
    assert_eq!(r["outcome"], "due");
    assert_eq!(r["roles"], serde_json::json!(["dpo"]));
    assert_eq!(r["recipients"][0]["role"], "dpo");
    assert_eq!(r["recipients"][0]["email"], "dpo@ch-test.example");
    // The health-sector report goes to the CISO and the incident referent (one person here).
    let cert = reminders.iter().find(|r| r["duty"] == "cert_sante");
    assert_eq!(
        cert.map(|c| c["recipients"][0]["role"].clone()),
        Some("ciso".into()),
        "{v:#}"
    );
    // A dry run records nothing.
    assert_eq!(env.json(&["notify", "list"], 0), serde_json::json!([]));
}

/// Make `ciso1`'s web account read English; the DPO has none and reads the default (French).
fn ciso_reads_english(env: &Hygie) {
    let pw = env.file("pw", "a long enough passphrase 2026\n");
    env.run(
        &[
            "users",
            "add",
            "--username",
            "ciso1",
            "--name",
            "Charles Smith",
            "--role",
            "ciso",
            "--facilities",
            common::FINESS,
            "--password-file",
            pw.to_str().unwrap_or_default(),
        ],
        0,
    );
    let url = env.database_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&url).await.expect("connect");
        sqlx::query("UPDATE users SET lang = 'en' WHERE username = 'ciso1'")
            .execute(&mut c)
            .await
            .expect("update");
    });
}

#[test]
fn a_reminder_is_sent_once_to_the_right_role_in_their_language() {
    for env in Hygie::each() {
        // A server per backend: its maildir holds this run's messages only.
        let dir = tempfile::tempdir().expect("temp dir");
        let Some(smtp) = SmtpServer::start(dir.path()) else {
            return;
        };
        let env = env.in_lang("fr");
        hospital_with_roles(&env);
        ciso_reads_english(&env);
        // The CNIL's 72 h end in 2 h: the DPO's 4 h reminder.
        let id = breach(&env, &ago(70));
        let mut args: Vec<String> = vec!["notify".into(), "run".into()];
        args.extend(smtp.args());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = env.json(&a, 0);
        let all = smtp.messages();
        let new: Vec<&String> = all.iter().collect();
        // The DPO's CNIL reminder (the breach register's, also the DPO's, is another one).
        let to_dpo: Vec<&&String> = new
            .iter()
            .filter(|m| header(m, "To").contains("dpo@ch-test.example"))
            .filter(|m| header(m, "Subject").contains("CNIL"))
            .collect();
        assert_eq!(to_dpo.len(), 1, "{}: {v:#}", env.backend());
        let subject = header(to_dpo[0], "Subject");
        assert!(
            subject.starts_with(
                "[Hygie] Rappel : Notification de violation de données à la CNIL dans "
            ),
            "{subject}"
        );
        assert!(subject.contains(&id), "{subject}");
        // The CISO's reminders (CERT Santé, late) are in English.
        let to_ciso: Vec<String> = new
            .iter()
            .filter(|m| header(m, "To").contains("ciso@ch-test.example"))
            .map(|m| header(m, "Subject"))
            .collect();
        assert!(!to_ciso.is_empty(), "{v:#}");
        assert!(
            to_ciso.iter().all(|s| s.starts_with("[Hygie] ")),
            "{to_ciso:?}"
        );
        assert!(
            to_ciso
                .iter()
                .any(|s| s.contains("LATE: Report to CERT Santé")),
            "{to_ciso:?}"
        );
        // Each message is journalled with its role, subject and digest; never its body.
        let journal = env.stdout(
            &["journal", "list", "--limit", "500", "--format", "json"],
            0,
        );
        assert!(journal.contains("notify.sent"), "{journal}");
        assert!(
            journal.contains("\\\"role\\\":\\\"dpo\\\"") || journal.contains("\"role\":\"dpo\""),
            "{journal}"
        );
        assert!(
            !journal.contains("hygie incident draft"),
            "the body is not journalled"
        );

        // Run again (a restart): nothing is sent twice.
        let sent = smtp.messages().len();
        let again = env.json(&a, 0);
        assert_eq!(smtp.messages().len(), sent, "{again:#}");
        let outcomes: Vec<&Value> = again["reminders"]
            .as_array()
            .map(|r| r.iter().map(|x| &x["outcome"]).collect())
            .unwrap_or_default();
        assert!(outcomes.iter().all(|o| *o == "already_sent"), "{again:#}");
    }
}

#[test]
fn two_processes_on_one_postgresql_send_each_reminder_once() {
    let Some(env) = Hygie::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(smtp) = SmtpServer::start(dir.path()) else {
        return;
    };
    hospital_with_roles(&env);
    breach(&env, &ago(70));
    let mut args: Vec<String> = vec!["notify".into(), "run".into()];
    args.extend(smtp.args());
    let children: Vec<Child> = (0..2)
        .map(|_| {
            env.cmd()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("hygie starts")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("hygie ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = env.json(&["notify", "list"], 0);
    let sent: Vec<&Value> = list
        .as_array()
        .map(|l| l.iter().filter(|s| s["state"] == "sent").collect())
        .unwrap_or_default();
    let expected: i64 = sent
        .iter()
        .map(|s| s["messages"].as_i64().unwrap_or(0))
        .sum();
    assert!(expected > 0, "{list:#}");
    assert_eq!(
        i64::try_from(smtp.messages().len()).unwrap_or(-1),
        expected,
        "{list:#}"
    );
    // This week's digest (Monday 07:00 by default: its slot is always in the past week) went
    // out once to the CISO.
    let digests = smtp
        .messages()
        .iter()
        .filter(|m| {
            let s = header(m, "Subject");
            s.contains("Weekly digest") || s.contains("Synthèse hebdomadaire")
        })
        .count();
    assert_eq!(digests, 1, "{list:#}");
}

/// A hospital's relay whose certificate comes from the hospital's own CA, over STARTTLS:
/// refused without `--smtp-ca-cert` (nothing sent, the reminder released for the next pass),
/// delivered with it.
#[test]
fn starttls_to_a_relay_certified_by_the_hospitals_own_ca() {
    let env = Hygie::sqlite();
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = common::test_ca(dir.path());
    let Some(smtp) = SmtpServer::start_tls(dir.path(), &cert, &key) else {
        return;
    };
    hospital_with_roles(&env);
    breach(&env, &ago(70));
    let port = smtp.port.to_string();
    let run = |ca: Option<&Path>, code: i32| {
        let mut args = vec![
            "notify",
            "run",
            "--smtp-host",
            "localhost",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "starttls",
            "--smtp-from",
            "Hygie <hygie@ch-test.example>",
        ];
        let ca = ca.map(|c| c.display().to_string());
        if let Some(c) = &ca {
            args.extend(["--smtp-ca-cert", c.as_str()]);
        }
        env.json(&args, code)
    };
    // The system's roots do not know the hospital's CA: every sending fails, nothing arrives.
    let refused = run(None, 1);
    assert!(smtp.messages().is_empty(), "{refused:#}");
    let outcomes: Vec<&Value> = refused["reminders"]
        .as_array()
        .map(|r| r.iter().map(|r| &r["outcome"]).collect())
        .unwrap_or_default();
    assert!(!outcomes.is_empty(), "{refused:#}");
    assert!(outcomes.iter().all(|o| *o == "failed"), "{refused:#}");
    // With the CA the same reminders go out, once, over TLS.
    let sent = run(Some(&ca), 0);
    let to_dpo = smtp
        .messages()
        .iter()
        .filter(|m| header(m, "To").contains("dpo@ch-test.example"))
        .filter(|m| header(m, "Subject").contains("CNIL"))
        .count();
    assert_eq!(to_dpo, 1, "{sent:#}");
    // A CA file that is not a certificate is named.
    let bad = env.file("not-a-ca.pem", "not a certificate\n");
    let err = env.stderr(
        &[
            "notify",
            "run",
            "--smtp-host",
            "localhost",
            "--smtp-port",
            &port,
            "--smtp-from",
            "Hygie <hygie@ch-test.example>",
            "--smtp-ca-cert",
            bad.to_str().unwrap_or_default(),
        ],
        2,
    );
    assert!(err.contains("not-a-ca.pem"), "{err}");
}

/// Run one SQL statement on the test's database (to date a declaration in the past, which no
/// command does: a declaration is made now).
fn sql(env: &Hygie, statement: &str) {
    let url = env.database_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&url).await.expect("connect");
        sqlx::query(statement)
            .execute(&mut c)
            .await
            .expect("statement");
    });
}

/// GOV-05 (renewed every 12 months) declared implemented 11 months and about 23 days ago: one
/// 7-day reminder to the CISO (the default owner), in the CISO's language (English), sent once.
#[test]
fn a_measure_about_to_expire_reminds_the_ciso_once_in_their_language() {
    for env in Hygie::each() {
        let dir = tempfile::tempdir().expect("temp dir");
        let Some(smtp) = SmtpServer::start(dir.path()) else {
            return;
        };
        let env = env.in_lang("fr");
        hospital_with_roles(&env);
        ciso_reads_english(&env);
        env.run(
            &[
                "assess",
                "set",
                common::FINESS,
                "GOV-05",
                "--status",
                "implemented",
            ],
            0,
        );
        // Expires in 6 days and 23 hours whatever today's month lengths: 12 months back from
        // there is 11 months and 22 to 24 days ago.
        let expires = Timestamp::now() + SignedDuration::from_hours(24 * 7 - 1);
        let at = expires
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_sub(jiff::Span::new().months(12))
            .expect("a year back")
            .timestamp();
        sql(
            &env,
            &format!(
                "UPDATE declarations SET at_us = {} WHERE measure = 'GOV-05'",
                at.as_microsecond()
            ),
        );
        let dry = env.json(&["notify", "run", "--dry-run"], 0);
        let planned: Vec<&Value> = dry["reminders"]
            .as_array()
            .map(|r| r.iter().filter(|x| x["kind"] == "renewal").collect())
            .unwrap_or_default();
        assert_eq!(planned.len(), 1, "{dry:#}");
        assert_eq!(planned[0]["slot"], "7d", "{dry:#}");
        assert_eq!(planned[0]["measure"], "GOV-05", "{dry:#}");
        assert_eq!(planned[0]["outcome"], "due", "{dry:#}");

        let mut args: Vec<String> = vec!["notify".into(), "run".into()];
        args.extend(smtp.args());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = env.json(&a, 0);
        let renewals = |m: &&String| header(m, "Subject").contains("GOV-05");
        let all = smtp.messages();
        let sent: Vec<&String> = all.iter().filter(renewals).collect();
        assert_eq!(sent.len(), 1, "{}: {v:#}", env.backend());
        assert!(header(sent[0], "To").contains("ciso@ch-test.example"));
        let subject = header(sent[0], "Subject");
        assert!(
            subject.starts_with("[Hygie] Reminder: measure GOV-05 to renew within "),
            "{subject}"
        );
        let journal = env.stdout(
            &["journal", "list", "--limit", "500", "--format", "json"],
            0,
        );
        assert!(journal.contains("reminder/renewal/"), "{journal}");

        // Again: nothing more.
        let again = env.json(&a, 0);
        assert_eq!(
            smtp.messages().iter().filter(renewals).count(),
            1,
            "{again:#}"
        );
        let outcome: Vec<&Value> = again["reminders"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter(|x| x["kind"] == "renewal")
                    .map(|x| &x["outcome"])
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(outcome, vec!["already_sent"], "{again:#}");
    }
}

/// `hygie audit ad --format pdf`: the HTML report printed, with the domain, the rules' titles
/// and the footer of the other PDFs.
#[test]
fn ad_audit_pdf_has_the_domain_a_rule_and_the_footer() {
    if !hygie_testkit::pdf::tools() {
        return;
    }
    use base64::Engine as _;
    let sid = |s: &str| {
        base64::engine::general_purpose::STANDARD.encode(
            hygie_ad::sid::Sid::parse(s)
                .map(|x| x.to_bytes())
                .unwrap_or_default(),
        )
    };
    let env = Hygie::sqlite();
    env.add(&HOSPITAL);
    let d = "S-1-5-21-7-8-9";
    let ldif = env.file(
        "ad.ldif",
        &format!(
            "version: 1\n\n\
             dn: DC=chu,DC=test\nobjectClass: top\nobjectClass: domain\nobjectClass: domainDNS\nobjectSid:: {}\nminPwdLength: 7\npwdProperties: 0\npwdHistoryLength: 24\nmaxPwdAge: -77760000000000\nlockoutThreshold: 0\nms-DS-MachineAccountQuota: 10\nmsDS-Behavior-Version: 7\n\n\
             dn: CN=alice,CN=Users,DC=chu,DC=test\nobjectClass: top\nobjectClass: person\nobjectClass: user\nsAMAccountName: alice\nobjectSid:: {}\nuserAccountControl: 66176\nprimaryGroupID: 513\nwhenCreated: 20261101000000.0Z\n",
            sid(d),
            sid(&format!("{d}-1105")),
        ),
    );
    let ldif = ldif.to_str().unwrap_or_default();
    let json = env.json(
        &["audit", "ad", "--facility", common::FINESS, "--ldif", ldif],
        5,
    );
    let title = json["findings"][0]["title"]["en"]
        .as_str()
        .unwrap_or("no title")
        .to_owned();
    let domain = json["domain"].as_str().unwrap_or("no domain").to_owned();
    let out = env.path().join("ad.pdf");
    env.run(
        &[
            "audit",
            "ad",
            "--facility",
            common::FINESS,
            "--ldif",
            ldif,
            "--format",
            "pdf",
            "--out",
            out.to_str().unwrap_or_default(),
        ],
        5,
    );
    let text = hygie_testkit::pdf::text(&out);
    let words = flat(&text);
    assert!(
        squeezed(&text).contains(&squeezed(&domain)),
        "{domain}: {text}"
    );
    assert!(words.contains(&flat(&title)), "{title}: {text}");
    assert!(text.contains("CH Test"), "{text}");
    assert!(text.contains("page 1 / "), "{text}");
    assert!(text.contains("CONFIDENTIAL"), "{text}");
}

/// A digest schedule whose slot of this week has passed: today's weekday (Paris) at 00:00.
fn digest_today() -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").expect("Paris");
    let day = match Timestamp::now().to_zoned(tz).weekday() {
        jiff::civil::Weekday::Monday => "monday",
        jiff::civil::Weekday::Tuesday => "tuesday",
        jiff::civil::Weekday::Wednesday => "wednesday",
        jiff::civil::Weekday::Thursday => "thursday",
        jiff::civil::Weekday::Friday => "friday",
        jiff::civil::Weekday::Saturday => "saturday",
        jiff::civil::Weekday::Sunday => "sunday",
    };
    format!("{day} 00:00")
}

fn of_kind<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
    v["reminders"]
        .as_array()
        .map(|r| r.iter().filter(|x| x["kind"] == kind).collect())
        .unwrap_or_default()
}

/// The weekly digests (the facility's to its CISO in English, the region's to its officer in
/// French) and the reminder of an ARS request due tomorrow: each sent once, journalled
/// without its body; a second run sends nothing.
#[test]
fn weekly_digests_and_request_reminders_are_sent_once() {
    for env in Hygie::each() {
        let dir = tempfile::tempdir().expect("temp dir");
        let Some(smtp) = SmtpServer::start(dir.path()) else {
            return;
        };
        let env = env.in_lang("fr");
        hospital_with_roles(&env);
        ciso_reads_english(&env);
        let incident = breach(&env, &ago(70));
        let today: jiff::civil::Date = common::today().parse().expect("today");
        let tomorrow = today.tomorrow().expect("tomorrow").to_string();
        common::receive_request(&env, &tomorrow);
        let officers = env.file(
            "officers.toml",
            "[[officer]]\nregion = \"BRE\"\nname = \"Odile Martin\"\nemail = \"officer@ars-bretagne.example\"\nlang = \"fr\"\n",
        );
        let at = digest_today();
        let settings = [
            "--digest-at",
            at.as_str(),
            "--region-officers",
            officers.to_str().unwrap_or_default(),
        ];

        // What would be sent: one digest per facility and per region, one request reminder.
        let mut dry_args = vec!["notify", "run", "--dry-run"];
        dry_args.extend(settings);
        let dry = env.json(&dry_args, 0);
        let digests = of_kind(&dry, "digest");
        assert_eq!(digests.len(), 2, "{dry:#}");
        let fac = digests.iter().find(|d| d["facility"] == common::FINESS);
        let fac = fac.expect("the facility's digest");
        assert_eq!(fac["outcome"], "due", "{dry:#}");
        assert_eq!(fac["summary"]["incidents"], 1, "{dry:#}");
        assert_eq!(fac["summary"]["requests"], 1, "{dry:#}");
        assert_eq!(fac["recipients"][0]["role"], "ciso", "{dry:#}");
        let requests = of_kind(&dry, "request");
        assert_eq!(requests.len(), 1, "{dry:#}");
        assert_eq!(requests[0]["slot"], "1d", "{dry:#}");
        assert_eq!(requests[0]["due"], tomorrow.as_str(), "{dry:#}");
        let mut off = vec!["notify", "run", "--dry-run", "--digest-at", "off"];
        off.extend(&settings[2..]);
        assert!(of_kind(&env.json(&off, 0), "digest").is_empty());

        let mut args: Vec<String> = vec!["notify".into(), "run".into()];
        args.extend(smtp.args());
        args.extend(settings.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = env.json(&a, 0);
        let all = smtp.messages();
        let to = |who: &str, subject: &str| -> Vec<&String> {
            all.iter()
                .filter(|m| header(m, "To").contains(who))
                .filter(|m| header(m, "Subject").contains(subject))
                .collect()
        };
        let digest = to("ciso@ch-test.example", "Weekly digest");
        assert_eq!(digest.len(), 1, "{}: {v:#}", env.backend());
        assert!(
            header(digest[0], "Subject").contains(common::FINESS),
            "{}",
            header(digest[0], "Subject")
        );
        let text = common::smtp::body(digest[0]);
        for part in [
            "CH Test",
            "Level reached:",
            incident.as_str(),
            "Open incidents (1)",
            "LATE: Report to CERT Santé",
            "ARS requests to answer (1)",
            "BCK-06",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        // The DPO (French) receives no digest: it is the CISO's.
        assert!(to("dpo@ch-test.example", "Synthèse").is_empty());
        assert!(to("dpo@ch-test.example", "digest").is_empty());
        let reminder = to("ciso@ch-test.example", "ARS request");
        assert_eq!(reminder.len(), 1, "{v:#}");
        assert!(
            header(reminder[0], "Subject").contains("due in 1 day(s)"),
            "{}",
            header(reminder[0], "Subject")
        );
        let region = to("officer@ars-bretagne.example", "Synthèse régionale");
        assert_eq!(region.len(), 1, "{v:#}");
        let text = common::smtp::body(region[0]);
        assert!(text.contains("Campagnes (1)"), "{text}");
        assert!(text.contains("1 sollicités"), "{text}");
        assert!(text.contains("CH Test"), "{text}");
        let journal = env.stdout(
            &["journal", "list", "--limit", "500", "--format", "json"],
            0,
        );
        assert!(journal.contains("reminder/digest/"), "{journal}");
        assert!(journal.contains("reminder/request/"), "{journal}");
        assert!(journal.contains("region_officer"), "{journal}");
        assert!(
            !journal.contains("Level reached"),
            "the body is not journalled"
        );

        // A restart: nothing is sent twice.
        let sent = smtp.messages().len();
        let again = env.json(&a, 0);
        assert_eq!(smtp.messages().len(), sent, "{again:#}");
        for kind in ["digest", "request"] {
            let outcomes: Vec<&Value> = of_kind(&again, kind)
                .iter()
                .map(|x| &x["outcome"])
                .collect();
            assert_eq!(outcomes.len(), if kind == "digest" { 2 } else { 1 });
            assert!(outcomes.iter().all(|o| *o == "already_sent"), "{again:#}");
        }
    }
}

/// A schedule that is not a weekday and a time is refused, naming the flag; nothing is sent.
#[test]
fn a_bad_digest_schedule_is_refused() {
    let env = Hygie::sqlite();
    let err = env.stderr(
        &["notify", "run", "--dry-run", "--digest-at", "funday 7h"],
        2,
    );
    assert!(err.contains("--digest-at"), "{err}");
    let bad = env.file(
        "officers.toml",
        "[[officer]]\nregion = \"BRE\"\nname = \"O\"\nemail = \"nobody\"\n",
    );
    let err = env.stderr(
        &[
            "notify",
            "run",
            "--dry-run",
            "--region-officers",
            bad.to_str().unwrap_or_default(),
        ],
        2,
    );
    assert!(
        err.contains("officers.toml") && err.contains("officer[0].email"),
        "{err}"
    );
}

/// Two `hygie serve --notify-every 1` on one PostgreSQL, then one of them restarted: this
/// week's digest reaches the CISO once; the next digests' pass is on /metrics.
#[test]
fn two_servers_and_a_restart_send_the_weekly_digest_once() {
    let Some(env) = Hygie::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(smtp) = SmtpServer::start(dir.path()) else {
        return;
    };
    hospital_with_roles(&env);
    let token = env.file("metrics.token", "0123456789abcdef0123456789abcdef0123\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut args = smtp.args();
    args.extend(
        [
            "--notify-every",
            "1",
            "--metrics-token-file",
            token.to_str().unwrap_or_default(),
        ]
        .map(String::from),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let digests = || {
        smtp.messages()
            .iter()
            .filter(|m| {
                let s = header(m, "Subject");
                s.contains("Weekly digest") || s.contains("Synthèse hebdomadaire")
            })
            .count()
    };
    let sent = || {
        env.json(&["notify", "list"], 0)
            .as_array()
            .map(|l| {
                l.iter()
                    .filter(|s| {
                        s["state"] == "sent"
                            && s["key"].as_str().is_some_and(|k| k.starts_with("digest/"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    let p1 = common::free_port();
    let s1 = common::serve(&env, p1, &a);
    let s2 = common::serve(&env, common::free_port(), &a);
    wait_for("the digest was not sent", &|| sent() == 1 && digests() == 1);
    let metrics = hygie_testkit::http::exchange(
        &format!("127.0.0.1:{p1}"),
        "GET",
        "/metrics",
        &[(
            "Authorization",
            "Bearer 0123456789abcdef0123456789abcdef0123",
        )],
        "",
    )
    .expect("metrics");
    let next: i64 = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("hygie_digests_next_run_timestamp_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let now = Timestamp::now().as_second();
    assert!(
        next > now && next <= now + 7 * 86_400 + 120,
        "{}",
        metrics.body
    );
    // Both servers have made their first pass by now (at start); a restart makes another.
    drop(s1);
    let p3 = common::free_port();
    let _s3 = common::serve(&env, p3, &a);
    let passes = || {
        hygie_testkit::http::exchange(
            &format!("127.0.0.1:{p3}"),
            "GET",
            "/metrics",
            &[(
                "Authorization",
                "Bearer 0123456789abcdef0123456789abcdef0123",
            )],
            "",
        )
        .map(|m| {
            m.body
                .contains("hygie_reminders_next_run_timestamp_seconds 1")
        })
        .unwrap_or(false)
    };
    wait_for("the restarted server made no pass", &passes);
    std::thread::sleep(Duration::from_secs(2));
    drop(s2);
    assert_eq!(digests(), 1);
    assert_eq!(sent(), 1);
}
