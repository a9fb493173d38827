//! Dashboard load benchmark (issue 7): seeds a region of N facilities (default 1,000) × the full
//! catalogue with a year of declaration history and monthly check runs, serves the app on
//! loopback, and loads the regional dashboard and a facility dashboard with `wrk` running as a
//! second process. Prints p50/p99 and requests/s per backend. With alerts (issue 18, default
//! 1,000,000; `HYGIE_BENCH_ALERTS=0` skips them), it also loads the SOC's pages: the alerts list
//! with a filter, an alert detail, an incident and an audit run.
//!
//!   cargo bench -p hygie-web --bench dashboards
//!   HYGIE_BENCH_FACILITIES=1000 HYGIE_BENCH_SECONDS=10 HYGIE_BENCH_BACKENDS=sqlite,postgres
//!   HYGIE_BENCH_CONNECTIONS=8 (wrk's connections; 1 for instruction counts under callgrind)
//!   HYGIE_BENCH_PAGES=region,facility,alerts,alert,incident,audit (the pages loaded; one alone
//!   to count its instructions)
//!   HYGIE_BENCH_ALERTS=1000000 (a quarter of them on the benchmarked facility, the rest spread)
//!   HYGIE_TEST_POSTGRES_URL=postgres://root@127.0.0.1:5432/test (admin database; a fresh one is created)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hygie_core::{Facility, FacilityKind, Finess, Nis2Status, Region};
use hygie_store::{Actor, Binding, NewUser, Role, SessionStage, Store};
use hygie_web::{AppState, Config, auth};
use std::time::Instant;

fn env_or(k: &str, d: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| d.to_owned())
}

/// A small deterministic generator (no rand dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

async fn seed(store: &Store, n: usize) -> Vec<Finess> {
    let catalog = hygie_catalog::bundled().unwrap();
    let actor = Actor("bench".into());
    let region = Region::parse("BRE").unwrap();
    let deps = ["22", "29", "35", "56"];
    let kinds = FacilityKind::ALL;
    let today = hygie_web::api::today();
    let mut rng = Lcg(7);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Finess::with_check_digit(&format!("{}{:06}", deps[i % 4], 100_000 + i)).unwrap();
        let f = Facility {
            id: id.clone(),
            legal_entity: None,
            name: format!("Bench facility {i}"),
            kind: kinds[i % kinds.len()],
            region,
            nis2: if i % 3 == 0 {
                Nis2Status::Essential
            } else {
                Nis2Status::Important
            },
            plan_start: today
                .saturating_sub(jiff::Span::new().months(6 + (i % 18) as i64))
                .first_of_month(),
        };
        store.add_facility(&f, false, &actor).await.unwrap();
        ids.push(id);
    }
    // A year of history, inserted in bulk (the journal is not what the dashboards read).
    let now = jiff::Timestamp::now().as_microsecond();
    let year = 365 * 24 * 3600 * 1_000_000i64;
    let mut rows: Vec<(i64, String, String, &'static str, i64)> = Vec::new();
    let mut seq = 1_000_000_000i64;
    for (i, id) in ids.iter().enumerate() {
        let kind = kinds[i % kinds.len()];
        for m in catalog
            .measures
            .iter()
            .filter(|m| m.applies(kind, Nis2Status::Essential))
        {
            let start = now - year + (rng.below(300) as i64) * 24 * 3600 * 1_000_000;
            if rng.below(10) < 8 {
                seq += 1;
                rows.push((seq, id.to_string(), m.id.to_string(), "in_progress", start));
                if rng.below(10) < 6 {
                    seq += 1;
                    let done = start + (rng.below(60) as i64 + 1) * 24 * 3600 * 1_000_000;
                    rows.push((
                        seq,
                        id.to_string(),
                        m.id.to_string(),
                        "implemented",
                        done.min(now - 1),
                    ));
                }
            }
        }
    }
    let mut tx = store.pool().begin().await.unwrap();
    for chunk in rows.chunks(400) {
        let mut sql = String::from(
            "INSERT INTO declarations (seq, facility, measure, status, justification, owner, note, at_us, actor) VALUES ",
        );
        for k in 0..chunk.len() {
            let b = k * 5;
            sql.push_str(&format!(
                "{}(${}, ${}, ${}, ${}, NULL, 'RSSI', NULL, ${}, 'bench')",
                if k > 0 { "," } else { "" },
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            ));
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.0)
                .bind(r.1.clone())
                .bind(r.2.clone())
                .bind(r.3)
                .bind(r.4);
        }
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Monthly automated audits of a few measures.
    let audited = ["IAM-04", "IAM-05", "IAM-06", "BCK-02", "END-01"];
    let mut tx = store.pool().begin().await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        for month in 0..12i64 {
            let run = format!("bench-{i}-{month}");
            let at = now - year + month * (year / 12);
            sqlx::query("INSERT INTO check_runs (id, facility, source, at_us, summary) VALUES ($1, $2, 'ad', $3, '{}')")
                .bind(&run).bind(id.to_string()).bind(at).execute(&mut *tx).await.unwrap();
            for (k, m) in audited.iter().enumerate() {
                let outcome = if rng.below(4) == 0 { "fail" } else { "pass" };
                sqlx::query("INSERT INTO check_results (run_id, rule, severity, outcome, measures, objects) VALUES ($1, $2, 'high', $3, $4, '[]')")
                    .bind(&run).bind(format!("R{k}")).bind(outcome).bind(format!("[\"{m}\"]")).execute(&mut *tx).await.unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    println!(
        "  seeded {n} facilities, {} declarations, {} check runs",
        rows.len(),
        n * 12
    );
    ids
}

/// Alerts inserted in bulk: a quarter on `hot` (the facility whose pages are loaded), the rest
/// spread over the others; levels, hosts and rules skewed as a SOC sees them; 90 days of
/// creation times. Returns an alert id of `hot` at the level the list filters on.
async fn seed_alerts(store: &Store, ids: &[Finess], hot: &Finess, total: usize) -> String {
    const LEVELS: [(&str, u64); 5] = [
        ("informational", 40),
        ("low", 25),
        ("medium", 20),
        ("high", 12),
        ("critical", 3),
    ];
    let mut rng = Lcg(11);
    let now = jiff::Timestamp::now().as_microsecond();
    let span = 90 * 24 * 3600 * 1_000_000i64;
    let mut probe = String::new();
    let mut tx = store.pool().begin().await.unwrap();
    let cols = 14;
    let chunk = 500;
    let mut done = 0;
    while done < total {
        let rows = chunk.min(total - done);
        let mut sql = String::from(
            "INSERT INTO alerts (id, facility, rule_id, title, level, tags, event_time, last_time, host, record_id, source, fields, count, incident, created_us, updated_us) VALUES ",
        );
        for k in 0..rows {
            let b = k * cols;
            sql.push_str(if k > 0 { ",(" } else { "(" });
            for c in 1..=13 {
                sql.push_str(&format!("${},", b + c));
            }
            sql.push_str(&format!("NULL, ${}, ${})", b + 14, b + 14));
        }
        let mut q = sqlx::query(&sql);
        for k in 0..rows {
            let i = done + k;
            let facility = if i % 4 == 0 {
                hot.clone()
            } else {
                ids[rng.below(ids.len() as u64) as usize].clone()
            };
            let mut pick = rng.below(100);
            let level = LEVELS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or("low", |(l, _)| l);
            let rule = rng.below(300);
            let host = rng.below(200);
            let created = now - span + (rng.below(span as u64 / 1_000_000) as i64) * 1_000_000;
            let id = format!("{:032x}", (i as u128) * 0x9e37_79b9_7f4a_7c15 + 1);
            if probe.is_empty() && facility == *hot && level == "high" {
                probe = id.clone();
            }
            let time = jiff::Timestamp::from_microsecond(created)
                .unwrap()
                .to_string();
            q = q
                .bind(id)
                .bind(facility.to_string())
                .bind(format!("rule-{rule}"))
                .bind(format!("Suspicious activity {rule}"))
                .bind(level)
                .bind(r#"["attack.t1059","attack.execution"]"#)
                .bind(time.clone())
                .bind(time)
                .bind(format!("HOST-{host:03}"))
                .bind(i as i64)
                .bind("Security.evtx")
                .bind(r#"[["Image","C:\\Windows\\System32\\cmd.exe"],["User","SVC-BACKUP"]]"#)
                .bind(1 + rng.below(5) as i64)
                .bind(created);
        }
        q.execute(&mut *tx).await.unwrap();
        done += rows;
    }
    tx.commit().await.unwrap();
    assert!(
        !probe.is_empty(),
        "no high alert on the benchmarked facility"
    );
    probe
}

async fn session_for(store: &Store, name: &str, role: Role, binding: Binding) -> String {
    let u = store
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: name.into(),
                role,
                binding,
                password_hash: "x".into(),
                lang: None,
            },
            &Actor("bench".into()),
        )
        .await
        .unwrap();
    let id = auth::random_hex(32).unwrap();
    let exp = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap();
    store
        .create_session(&auth::digest(&id), u.id, SessionStage::Full, exp, "")
        .await
        .unwrap();
    format!("{}={id}", hygie_web::SESSION_COOKIE)
}

/// Run wrk against a URL; returns (p50 ms, p99 ms, requests/s).
fn wrk(url: &str, cookie: &str, seconds: &str) -> (f64, f64, f64) {
    // One connection makes the request sequence deterministic (for instruction counts under
    // `valgrind --tool=callgrind`); eight load the server as several users do.
    let connections: u32 = env_or("HYGIE_BENCH_CONNECTIONS", "8").parse().unwrap_or(8);
    let out = std::process::Command::new("wrk")
        .args([
            &format!("-t{}", connections.clamp(1, 2)),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-H",
            &format!("Cookie: {cookie}"),
            url,
        ])
        .output()
        .expect("wrk is needed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let ms = |v: &str| -> f64 {
        let v = v.trim();
        if let Some(x) = v.strip_suffix("us") {
            x.parse::<f64>().unwrap_or(f64::NAN) / 1000.0
        } else if let Some(x) = v.strip_suffix("ms") {
            x.parse().unwrap_or(f64::NAN)
        } else if let Some(x) = v.strip_suffix('s') {
            x.parse::<f64>().unwrap_or(f64::NAN) * 1000.0
        } else {
            f64::NAN
        }
    };
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(ms))
            .unwrap_or(f64::NAN)
    };
    let rps = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("Requests/sec:")
                .map(|x| x.trim().parse().unwrap_or(f64::NAN))
        })
        .unwrap_or(f64::NAN);
    if text.contains("Non-2xx") {
        panic!("wrk saw errors:\n{text}");
    }
    (pct("50%"), pct("99%"), rps)
}

async fn bench(backend: &str, n: usize, seconds: &str) {
    let (_dir, store, pg) = match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&hygie_store::sqlite_url_in(dir.path()))
                .await
                .unwrap();
            (Some(dir), store, None)
        }
        _ => {
            use sqlx::Connection;
            let admin_url = hygie_testkit::postgres_admin_url();
            let mut admin = sqlx::postgres::PgConnection::connect(&admin_url)
                .await
                .expect("PostgreSQL reachable");
            let db = format!("hygie_bench_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {db}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let base = admin_url.rsplit_once('/').unwrap().0.to_owned();
            (
                None,
                Store::open(&format!("{base}/{db}")).await.unwrap(),
                Some((admin_url, db)),
            )
        }
    };
    println!(
        "{backend}: (load average {})",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let t = Instant::now();
    let ids = seed(&store, n).await;
    println!("  seeding took {:.1} s", t.elapsed().as_secs_f64());
    let officer = session_for(
        &store,
        "officer",
        Role::RegionalOfficer,
        Binding::Region {
            region: Region::parse("BRE").unwrap(),
        },
    )
    .await;
    let ciso = session_for(
        &store,
        "ciso",
        Role::Ciso,
        Binding::Facilities {
            facilities: vec![ids[n / 2].clone()],
        },
    )
    .await;
    let state = AppState::new(
        store.clone(),
        hygie_catalog::bundled().unwrap(),
        Config::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server `hygie serve` runs, with its limits (the load generator's connections are
    // well under the cap).
    tokio::spawn(async move {
        let limits = hygie_web::server::Limits::default();
        hygie_web::server::serve(listener, state, None, limits, std::future::pending())
            .await
            .unwrap();
    });
    let region_url = format!("http://{addr}/regions/BRE");
    let facility_url = format!("http://{addr}/facilities/{}", ids[n / 2]);
    // The seed wrote rows directly: build the precomputed views as a bulk load must.
    let t = Instant::now();
    store.rebuild_views().await.unwrap();
    println!(
        "  rebuilding the views took {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let catalog = hygie_catalog::bundled().unwrap();
    let bre = Region::parse("BRE").unwrap();
    let today = hygie_web::api::today();
    let t = Instant::now();
    let replayed = store
        .region_status_from_history(&catalog, bre, today)
        .await
        .unwrap();
    println!(
        "  regional view replayed from the whole history: {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let first = store.region_status(&catalog, bre, today).await.unwrap();
    println!(
        "  first regional view (every summary recomputed from the current facts): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(
        first, replayed,
        "the precomputed view equals the replayed one"
    );
    // Which pages to load (both by default); one alone isolates its cost under callgrind.
    let pages = env_or(
        "HYGIE_BENCH_PAGES",
        "region,facility,alerts,alert,incident,audit",
    );
    let (region_on, facility_on) = (pages.contains("region"), pages.contains("facility"));
    let mut first_loads = Vec::new();
    if region_on {
        first_loads.push((&region_url, &officer));
    }
    if facility_on {
        first_loads.push((&facility_url, &ciso));
    }
    // First page loads compute and keep the trend points of the facility page.
    for (url, cookie) in first_loads {
        let t = Instant::now();
        let out = std::process::Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-H",
                &format!("Cookie: {cookie}"),
                url,
            ])
            .status()
            .expect("curl is needed");
        assert!(out.success(), "{url} answered with an error");
        println!(
            "  first load {url}: {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let load = |on: bool, url: &String, cookie: &String| {
        let (u, c, s) = (url.clone(), cookie.clone(), seconds.to_owned());
        async move {
            if !on {
                return (f64::NAN, f64::NAN, f64::NAN);
            }
            tokio::task::spawn_blocking(move || wrk(&u, &c, &s))
                .await
                .unwrap()
        }
    };
    let (rp50, rp99, rrps) = load(region_on, &region_url, &officer).await;
    let (fp50, fp99, frps) = load(facility_on, &facility_url, &ciso).await;
    println!(
        "  | {backend} | regional dashboard ({n} facilities) | p50 {rp50:.1} ms | p99 {rp99:.1} ms | {rrps:.0} req/s |"
    );
    println!(
        "  | {backend} | facility dashboard (with 13-point trend) | p50 {fp50:.1} ms | p99 {fp99:.1} ms | {frps:.0} req/s |"
    );
    // The SOC's pages over a million alerts (issue 18), as the facility's CISO.
    let alerts: usize = env_or("HYGIE_BENCH_ALERTS", "1000000")
        .parse()
        .unwrap_or(1_000_000);
    let soc_pages = ["alerts", "alert", "incident", "audit"];
    if alerts > 0 && soc_pages.iter().any(|p| pages.contains(p)) {
        let hot = &ids[n / 2];
        let t = Instant::now();
        let probe = seed_alerts(&store, &ids, hot, alerts).await;
        println!(
            "  seeded {alerts} alerts in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let page = store
            .alert_page(
                hot,
                &hygie_store::AlertQuery {
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let input = hygie_incident::FactsInput {
            awareness: Some(jiff::Timestamp::now().to_string()),
            personal_data_breach: Some("risk".into()),
            alert_ids: page.alerts.iter().map(|a| a.alert.id.clone()).collect(),
            ..Default::default()
        };
        let incident = store
            .open_incident(hot, input, jiff::Timestamp::now(), &Actor("bench".into()))
            .await
            .unwrap();
        let base = format!("http://{addr}/facilities/{hot}");
        let urls = [
            (
                "alerts",
                format!("{base}/alerts?level=high"),
                "alerts list, level=high",
            ),
            ("alert", format!("{base}/alerts/{probe}"), "alert detail"),
            (
                "incident",
                format!("{base}/incidents/{}", incident.id),
                "incident (2 alerts linked)",
            ),
            (
                "audit",
                format!("{base}/audits/bench-{}-11", n / 2),
                "audit run",
            ),
        ];
        for (key, url, label) in urls {
            if !pages.contains(key) {
                continue;
            }
            let (p50, p99, rps) = load(true, &url, &ciso).await;
            println!(
                "  | {backend} | {label} ({alerts} alerts) | p50 {p50:.1} ms | p99 {p99:.1} ms | {rps:.0} req/s |"
            );
        }
    }
    // One write, then the regional view again: only that facility's summary is recomputed.
    let measure = hygie_core::MeasureId::parse("IAM-04").unwrap();
    store
        .declare(
            &ids[0],
            &measure,
            &hygie_core::DeclaredStatus::Implemented,
            None,
            None,
            &Actor("bench".into()),
        )
        .await
        .unwrap();
    let t = Instant::now();
    let after = store.region_status(&catalog, bre, today).await.unwrap();
    println!(
        "  regional view after one declaration (one summary recomputed): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(
        after,
        store
            .region_status_from_history(&catalog, bre, today)
            .await
            .unwrap()
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average at the end: {}", load.trim());
    store.close().await;
    if let Some((admin_url, db)) = pg {
        use sqlx::Connection;
        if let Ok(mut c) = sqlx::postgres::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let n: usize = env_or("HYGIE_BENCH_FACILITIES", "1000")
        .parse()
        .unwrap_or(1000);
    let seconds = env_or("HYGIE_BENCH_SECONDS", "10");
    let backends = env_or("HYGIE_BENCH_BACKENDS", "sqlite,postgres");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for b in backends.split(',') {
            bench(b.trim(), n, &seconds).await;
        }
    });
}
