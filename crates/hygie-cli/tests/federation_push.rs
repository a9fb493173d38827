//! Federation online (issue 19): two real instances on loopback. The facility runs on SQLite;
//! the region is `hygie serve` on PostgreSQL over HTTPS, its certificate signed by a test CA
//! made here with the openssl command. The facility enrols, pushes (`hygie sync push`), and the
//! region computes the facility's score exactly as the facility does; a changed declaration
//! travels in the next push (incremental); a push with nothing new sends nothing; a push with a
//! wrong token is refused (exit 2) and the package it made is sent again, byte for byte, by the
//! next push; a package the region already had is "already imported" and acknowledged; a
//! tampered package and a package of another facility are refused with their reason, the
//! region's tables untouched each time; a push through an HTTP CONNECT proxy (`HTTPS_PROXY`, a
//! small proxy in the test) goes through it, one whose host is in `NO_PROXY` does not, and one that
//! asks for credentials is crossed with those of `HTTPS_PROXY`'s address (and refused without
//! them, the password never shown). Finally `hygie serve --sync-to` at the facility pushes
//! on its schedule, its next run on /metrics.
//!
//! PostgreSQL comes from `HYGIE_TEST_POSTGRES_URL` (the testkit skips loudly without it, and
//! fails under `CI=true`).

#![allow(clippy::unwrap_used)]

mod common;

use common::federation::Federation;
use common::{BOUND, FINESS, Hygie, free_port, serve};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// POST `body` to the region's package endpoint with `token`, over TLS trusting `ca` only;
/// the status and the JSON answer.
fn post_package(port: u16, ca: &Path, token: &str, body: &[u8]) -> (u16, Value) {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST /api/v1/sync/packages HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    s.flush().unwrap();
    let mut raw = Vec::new();
    // The server may end TLS without close_notify after `Connection: close`.
    let _ = s.read_to_end(&mut raw);
    let r = hygie_testkit::http::parse(&raw).unwrap();
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// A minimal HTTP CONNECT proxy on loopback (as Squid answers one): it records each CONNECT
/// line, dials the target and copies bytes both ways. With `required`, it asks for that
/// `Proxy-Authorization` value and answers 407 without it (the line is then recorded with
/// "407 " before it). Its port and the lines seen.
fn connect_proxy(required: Option<String>) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && client.read_exact(&mut b).is_ok() {
                head.push(b[0]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let line = text.lines().next().unwrap_or_default().to_owned();
            let given = text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("proxy-authorization")
                    .then(|| v.trim().to_owned())
            });
            if let Some(r) = &required
                && given.as_ref() != Some(r)
            {
                log.lock().unwrap().push(format!("407 {line}"));
                let _ = client.write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"chu\"\r\nContent-Length: 0\r\n\r\n",
                );
                continue;
            }
            log.lock().unwrap().push(line.clone());
            let target = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let Ok(upstream) = TcpStream::connect(target.replace("localhost", "127.0.0.1")) else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                continue;
            };
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let (mut c1, mut u1) = (client, upstream);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut u1);
                let _ = u1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut u2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, seen)
}

#[test]
fn a_facility_pushes_to_a_postgresql_region_over_https() {
    // Enrolment: the facility's key, then the push token of that enrolment (a 0600 file).
    let Some(fed) = Federation::new() else {
        return;
    };
    let day = common::today();
    let (facility, region) = (&fed.facility, &fed.region);
    let (ca, cert, token_file) = (&fed.ca, &fed.cert, &fed.token_file);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = std::fs::read_to_string(token_file)
        .unwrap()
        .trim()
        .to_owned();
    // A second file is never overwritten.
    region.run(
        &[
            "region",
            "push-token",
            "--finess",
            FINESS,
            "-o",
            token_file.to_str().unwrap(),
        ],
        2,
    );

    let port = free_port();
    let _region_server = fed.serve_region(port);

    // First push: package 1, imported; the region's status equals the facility's own.
    let r = fed.push(port, 0);
    assert_eq!(r["outcome"], "pushed", "{r}");
    assert_eq!(r["sent"][0]["sequence"], 1, "{r}");
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    let own = common::measure_statuses(facility, FINESS, &day);
    assert_eq!(common::measure_statuses(region, FINESS, &day), own);
    let rs = region.json(&["region", "status", "DEMO", "--as-of", &day], 0);
    let row = rs["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == FINESS)
        .cloned()
        .unwrap();
    assert_eq!(row["score"].as_f64().unwrap(), own.0);
    assert!(row["last_report"].as_str().is_some(), "{row}");

    // Nothing new: nothing sent, the region unchanged.
    let before = common::store_dump(region);
    let r = fed.push(port, 0);
    assert_eq!(r["outcome"], "up_to_date", "{r}");
    assert_eq!(r["sent"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(common::store_dump(region), before);

    // Incremental: one declaration changes; package 2 brings it and only it.
    let (measure, _) = own
        .1
        .iter()
        .find(|(_, s)| s == "implemented")
        .cloned()
        .unwrap();
    let set = |m: &str, s: &str| {
        facility.run(
            &["assess", "set", FINESS, m, "--status", s, "--owner", "RSSI"],
            0,
        )
    };
    set(&measure, "not_started");
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["sequence"], 2, "{r}");
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    let own2 = common::measure_statuses(facility, FINESS, &day);
    assert!(own2.0 < own.0, "the score fell: {} -> {}", own.0, own2.0);
    assert_eq!(common::measure_statuses(region, FINESS, &day), own2);

    // A wrong token: refused (exit 2), the region unchanged; package 3, already numbered, is
    // sent again byte for byte by the next push with the right token.
    set(&measure, "in_progress");
    let wrong = facility.file("wrong.token", "hyp_0123456789abcdef0123456789abcdef\n");
    let before = common::store_dump(region);
    let out = common::run(
        facility.cmd().args([
            "sync",
            "push",
            "--facility",
            FINESS,
            "--to",
            &format!("https://localhost:{port}"),
            "--token-file",
            wrong.to_str().unwrap(),
            "--ca-cert",
            ca.to_str().unwrap(),
        ]),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("push token") && err.contains("jeton d'envoi"),
        "{err}"
    );
    assert_eq!(
        common::store_dump(region),
        before,
        "a wrong token changed the region"
    );
    // The region's certificate must chain to the CA given: the system's roots do not know it.
    facility.run(
        &[
            "sync",
            "push",
            "--facility",
            FINESS,
            "--to",
            &format!("https://localhost:{port}"),
            "--token-file",
            token_file.to_str().unwrap(),
            "--ca-cert",
            cert.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(common::store_dump(region), before);
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["sequence"], 3, "{r}");
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert_eq!(r["sent"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        common::measure_statuses(region, FINESS, &day),
        common::measure_statuses(facility, FINESS, &day)
    );

    // A package carried by hand and imported at the region, then pushed: "already imported",
    // acknowledged, and nothing more to send afterwards.
    set(&measure, "implemented");
    let p4 = facility.path().join("p4.hygie");
    facility.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "-o",
            p4.to_str().unwrap(),
        ],
        0,
    );
    region.json(&["sync", "import", p4.to_str().unwrap()], 0);
    // A lost package is re-issued with the same bytes and hash.
    let r4 = facility.path().join("p4-again.hygie");
    let again = facility.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "--resend",
            "4",
            "-o",
            r4.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(again["sequence"], 4, "{again}");
    assert_eq!(std::fs::read(&r4).unwrap(), std::fs::read(&p4).unwrap());
    facility.run(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "--resend",
            "99",
            "-o",
            r4.to_str().unwrap(),
        ],
        3,
    );
    let r = fed.push(port, 0);
    assert_eq!(r["sent"][0]["sequence"], 4, "{r}");
    assert_eq!(r["sent"][0]["outcome"], "already_imported", "{r}");
    assert_eq!(fed.push(port, 0)["outcome"], "up_to_date");

    // Behind a proxy: HTTPS_PROXY is honoured (CONNECT, TLS end to end), NO_PROXY bypasses it.
    let (proxy, seen) = connect_proxy(None);
    set(&measure, "in_progress");
    let via = |no_proxy: &str| {
        let out = common::run(
            facility
                .cmd()
                .env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"))
                .env("NO_PROXY", no_proxy)
                .args([
                    "sync",
                    "push",
                    "--facility",
                    FINESS,
                    "--to",
                    &format!("https://localhost:{port}"),
                    "--token-file",
                    token_file.to_str().unwrap(),
                    "--ca-cert",
                    ca.to_str().unwrap(),
                    "--format",
                    "json",
                ]),
            0,
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let r = via("example.org");
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert_eq!(
        *seen.lock().unwrap(),
        [format!("CONNECT localhost:{port} HTTP/1.1")]
    );
    set(&measure, "implemented");
    let r = via("localhost");
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "NO_PROXY=localhost went through the proxy"
    );
    // A proxy that asks for credentials: without them (or with a wrong password) it answers
    // 407, the push fails with the proxy named and no password shown; with them, it goes.
    // base64 of `chu\jdupont:s@cret` (the user and password %-escaped in the address).
    let (proxy, seen) = connect_proxy(Some("Basic Y2h1XGpkdXBvbnQ6c0BjcmV0".into()));
    let with = |userinfo: &str, code: i32| {
        common::run(
            facility
                .cmd()
                .env("HTTPS_PROXY", format!("http://{userinfo}127.0.0.1:{proxy}"))
                .args([
                    "sync",
                    "push",
                    "--facility",
                    FINESS,
                    "--to",
                    &format!("https://localhost:{port}"),
                    "--token-file",
                    token_file.to_str().unwrap(),
                    "--ca-cert",
                    ca.to_str().unwrap(),
                    "--format",
                    "json",
                ]),
            code,
        )
    };
    set(&measure, "in_progress");
    let out = with("", 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("407"), "{err}");
    let out = with("chu%5Cjdupont:wrong-pass@", 2);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("407") && !all.contains("wrong-pass"), "{all}");
    let out = with("chu%5Cjdupont:s%40cret@", 0);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["sent"][0]["outcome"], "imported", "{r}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s%40cret"));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            format!("407 CONNECT localhost:{port} HTTP/1.1"),
            format!("407 CONNECT localhost:{port} HTTP/1.1"),
            format!("CONNECT localhost:{port} HTTP/1.1"),
        ]
    );

    // Straight at the endpoint: a tampered package, a package of another facility with this
    // facility's token, and no token, each refused with its reason; the region unchanged.
    set(&measure, "not_started");
    let p5 = facility.path().join("p5.hygie");
    facility.json(
        &[
            "sync",
            "export",
            "--facility",
            FINESS,
            "-o",
            p5.to_str().unwrap(),
        ],
        0,
    );
    let mut tampered = std::fs::read(&p5).unwrap();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x01;
    let before = common::store_dump(region);
    let (code, v) = post_package(port, ca, &token, &tampered);
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["outcome"], "refused", "{v}");
    assert!(
        ["unreadable", "bad_signature", "malformed"].contains(&v["code"].as_str().unwrap()),
        "{v}"
    );
    assert!(!v["reason"]["en"].as_str().unwrap().is_empty(), "{v}");
    assert!(!v["reason"]["fr"].as_str().unwrap().is_empty(), "{v}");
    let other = common::finess("35000002");
    let p_other = facility.path().join("other.hygie");
    facility.json(
        &[
            "sync",
            "export",
            "--facility",
            &other,
            "-o",
            p_other.to_str().unwrap(),
        ],
        0,
    );
    let (code, v) = post_package(port, ca, &token, &std::fs::read(&p_other).unwrap());
    assert_eq!(code, 403, "{v}");
    assert_eq!(v["code"], "other_facility", "{v}");
    let (code, _) = post_package(port, ca, "hyp_nothing", &std::fs::read(&p5).unwrap());
    assert_eq!(code, 401);
    assert_eq!(
        common::store_dump(region),
        before,
        "a refused package changed the region"
    );
    // The untampered package 5 goes through.
    let (code, v) = post_package(port, ca, &token, &std::fs::read(&p5).unwrap());
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["outcome"], "imported", "{v}");

    // Scheduled: the facility's server pushes at once, then every --sync-every minutes; its
    // next run is on /metrics.
    set(&measure, "in_progress");
    let metrics_token = facility.file("metrics.token", "0123456789abcdef0123456789abcdef0123\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&metrics_token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let fport = free_port();
    let _facility_server = serve(
        facility,
        fport,
        &[
            "--sync-to",
            &format!("https://localhost:{port}"),
            "--sync-facility",
            FINESS,
            "--sync-token-file",
            token_file.to_str().unwrap(),
            "--sync-ca-cert",
            ca.to_str().unwrap(),
            "--sync-every",
            "60",
            "--metrics-token-file",
            metrics_token.to_str().unwrap(),
        ],
    );
    let deadline = Instant::now() + BOUND;
    let target = common::measure_statuses(facility, FINESS, &day);
    loop {
        // Package 5 was imported by hand above: the scheduled push resends it (already
        // imported), then sends package 6 with the new declaration.
        if common::measure_statuses(region, FINESS, &day) == target {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduled push did not reach the region"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = hygie_testkit::http::exchange(
        &format!("127.0.0.1:{fport}"),
        "GET",
        "/metrics",
        &[(
            "Authorization",
            "Bearer 0123456789abcdef0123456789abcdef0123",
        )],
        "",
    )
    .unwrap();
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    let next: u64 = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("hygie_sync_next_run_timestamp_seconds "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let now = jiff::Timestamp::now().as_second() as u64;
    assert!(
        next > now && next <= now + 3600,
        "next run {next}, now {now}"
    );
}

/// Run one SQL statement on a store behind the binary's back.
fn sql(t: &Hygie, statement: &'static str) {
    let url = t.database_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        })
    })
    .join()
    .unwrap()
}

/// The region's oversight: one facility reported 40 days ago (late beyond 30 days), one today,
/// one never; the late list names each overdue measure with its facility and days, sorts three
/// ways and exports to CSV through the one writer.
#[test]
fn the_region_lists_why_facilities_are_late_and_exports_it() {
    let region = Hygie::sqlite();
    let facility = Hygie::sqlite();
    facility.run(&["demo"], 0);
    let clinic = common::finess("35000002");
    let pk = facility.json(&["identity", "show"], 0)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    for f in [FINESS, clinic.as_str()] {
        region.json(&["region", "enrol", "--finess", f, "--key", &pk], 0);
        let p = facility.path().join(format!("{f}.hygie"));
        facility.json(
            &["sync", "export", "--facility", f, "-o", p.to_str().unwrap()],
            0,
        );
        region.json(&["sync", "import", p.to_str().unwrap()], 0);
    }
    // The CHU's report is 40 days old.
    sql(
        &region,
        "UPDATE sync_imports SET imported_us = imported_us - 3456000000000 WHERE facility = '350000014'",
    );
    let never = common::finess("35000009");
    region.run(
        &[
            "facility",
            "add",
            "--finess",
            &never,
            "--name",
            "CH Silencieux",
            "--kind",
            "hospital",
            "--region",
            "DEMO",
            "--plan-start",
            "2025-01-01",
        ],
        0,
    );

    let o = region.json(&["region", "reports", "DEMO"], 0);
    assert_eq!(o["late_after_days"], 30);
    let row = |o: &Value, f: &str| {
        o["facilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["facility"] == f)
            .cloned()
            .unwrap_or_else(|| panic!("{f} not in {o}"))
    };
    let chu = row(&o, FINESS);
    assert_eq!(chu["freshness"]["state"], "late", "{chu}");
    assert_eq!(chu["freshness"]["age_days"], 40, "{chu}");
    assert_eq!(row(&o, &clinic)["freshness"]["state"], "fresh");
    assert_eq!(row(&o, &never)["freshness"]["state"], "never");
    // The CHU's password policy is declared but a check fails it: neither verified nor
    // declared-only; its other implemented measures are declared only (no check verifies them).
    let declared: Vec<&str> = chu["declared_only"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        !declared.is_empty() && !declared.contains(&"IAM-04"),
        "{chu}"
    );
    assert!(chu["verified"].as_array().unwrap().is_empty(), "{chu}");
    // Why facilities are late: most days first, each with its facility.
    let late = o["late"].as_array().unwrap();
    assert!(!late.is_empty(), "{o}");
    let days: Vec<i64> = late
        .iter()
        .map(|m| m["days_late"].as_i64().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
    assert!(days.iter().all(|d| *d > 0));
    let chu_late = late.iter().filter(|m| m["facility"] == FINESS).count();
    assert_eq!(chu_late as u64, chu["late"].as_u64().unwrap());
    // A longer limit: the CHU is on time.
    let o60 = region.json(&["region", "reports", "DEMO", "--late-after", "60"], 0);
    assert_eq!(row(&o60, FINESS)["freshness"]["state"], "fresh");
    // By facility.
    let by_f = region.json(&["region", "reports", "DEMO", "--sort", "facility"], 0);
    let fs: Vec<String> = by_f["late"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["facility"].as_str().unwrap().to_owned())
        .collect();
    assert!(fs.windows(2).all(|w| w[0] <= w[1]), "{fs:?}");
    region.run(&["region", "reports", "DEMO", "--sort", "name"], 2);
    // The CSV: the same rows, in the same order, through the one writer.
    let text = region.stdout(
        &[
            "region", "reports", "DEMO", "--format", "csv", "--lang", "fr",
        ],
        0,
    );
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "finess",
            "facility",
            "measure",
            "title",
            "level",
            "days_late",
            "last_report"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), late.len());
    for (r, m) in rows.iter().zip(late) {
        assert_eq!(r[0], *m["facility"].as_str().unwrap());
        assert_eq!(r[2], *m["measure"].as_str().unwrap());
        assert_eq!(r[3], *m["title"]["fr"].as_str().unwrap());
        assert_eq!(r[5], m["days_late"].to_string());
    }
    // The text report, in French.
    let table = region.stdout(&["region", "reports", "DEMO", "--lang", "fr"], 0);
    assert!(
        table.contains("Pourquoi des établissements sont en retard")
            && table.contains("jamais transmis")
            && table.contains("en retard (40 j)"),
        "{table}"
    );
}

/// The region behind a load balancer: two `hygie serve` processes on one PostgreSQL. The same
/// package posted to both at once is stored once (one answer `imported`, the other
/// `already_imported`), round after round, and the region ends with each package once, in
/// sequence, and the facility's own status.
#[test]
fn two_region_servers_on_one_postgresql_store_each_package_once() {
    let Some(fed) = Federation::new() else {
        return;
    };
    let day = common::today();
    let (facility, region, ca, token_file) = (&fed.facility, &fed.region, &fed.ca, &fed.token_file);
    let token = std::fs::read_to_string(token_file)
        .unwrap()
        .trim()
        .to_owned();
    let (a, b) = (free_port(), free_port());
    let _server_a = fed.serve_region(a);
    let _server_b = fed.serve_region(b);

    let measures: Vec<String> = common::measure_statuses(facility, FINESS, &day)
        .1
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    const ROUNDS: usize = 4;
    for (round, measure) in measures.iter().take(ROUNDS).enumerate() {
        if round > 0 {
            facility.run(
                &[
                    "assess",
                    "set",
                    FINESS,
                    measure,
                    "--status",
                    "in_progress",
                    "--owner",
                    "RSSI",
                ],
                0,
            );
        }
        let file = facility.path().join(format!("package-{round}.gz"));
        facility.run(
            &[
                "sync",
                "export",
                "--facility",
                FINESS,
                "-o",
                file.to_str().unwrap(),
            ],
            0,
        );
        let bytes = std::fs::read(&file).unwrap();
        let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
            let to_a = s.spawn(|| post_package(a, ca, &token, &bytes));
            let to_b = s.spawn(|| post_package(b, ca, &token, &bytes));
            vec![to_a.join().unwrap(), to_b.join().unwrap()]
        });
        let mut outcomes: Vec<String> = answers
            .iter()
            .map(|(code, v)| {
                assert_eq!(*code, 200, "round {round}: {v}");
                v["outcome"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["already_imported", "imported"],
            "round {round}: {answers:?}"
        );
    }
    let imports = common::store_dump(region)
        .into_iter()
        .find(|(t, _)| t == "sync_imports")
        .map(|(_, n)| n);
    assert_eq!(imports, Some(ROUNDS as i64));
    assert_eq!(
        common::measure_statuses(region, FINESS, &day),
        common::measure_statuses(facility, FINESS, &day)
    );
}
