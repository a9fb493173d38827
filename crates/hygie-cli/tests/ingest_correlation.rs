//! Issue 20: Sigma correlation rules in the spooled `hygie ingest`, with the rules Hygie ships
//! (`rules/windows`). Failed logons sent over TCP give the brute-force alert batch `hygie detect`
//! gives on the same lines (same id, count, times); and an ingest killed with SIGKILL between
//! the parts of an attack neither forgets the hits before the kill (their state is committed
//! with the spool checkpoint) nor alerts again for hits the alert already covers.

mod common;

use common::nats::{Running, rt, spawn_listening};
use common::{Alerts, FINESS, HOSPITAL, Hygie, alerts, spool_end};
use hygie_logs::correlation::SETTLE;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The shipped rules: brute force (more than 10 failed logons for one account from one
/// address in a minute), password spraying, one account on many hosts.
fn shipped_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/windows")
}

/// The brute-force correlation's id in `rules/windows/correlation/brute-force-account.yml`.
const BRUTE_FORCE: &str = "2f0c9a41-8e6b-4d17-a3c5-6b1e9d4f7a02";

/// A failed logon (4625, no status: not password spraying) of `user` from `ip` on DC01,
/// `second` seconds after 2026-02-01 03:00:00 UTC, record `record`.
fn failed_logon(record: usize, second: usize, user: &str, ip: &str) -> String {
    let t = jiff::Timestamp::from_second(1_769_914_800 + second as i64).expect("time");
    format!(
        "{{\"EventID\":4625,\"Channel\":\"Security\",\"Computer\":\"DC01\",\"TimeCreated\":\"{t}\",\"EventRecordID\":{record},\"TargetUserName\":\"{user}\",\"IpAddress\":\"{ip}\",\"LogonType\":3}}\n"
    )
}

/// dr.martin's failures `from..to` from 10.1.2.3, two seconds apart (the 11th at second 20),
/// each followed by one of the front desk's account (a failure a minute: never a brute force).
fn attack(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            let mut s = failed_logon(2 * i, 2 * i, "dr.martin", "10.1.2.3");
            if i % 30 == 0 {
                s.push_str(&failed_logon(2 * i + 1, 2 * i + 1, "accueil", "10.1.2.9"));
            }
            s
        })
        .collect()
}

fn start(h: &Hygie, spool: &Path) -> (Running, SocketAddr) {
    let mut cmd = h.cmd();
    cmd.args(["ingest", "--listen", "json+tcp://127.0.0.1:0", "--rules"])
        .arg(shipped_rules())
        .args(["--facility", FINESS, "--workers", "2", "--format", "json"])
        .arg("--spool-dir")
        .arg(spool);
    spawn_listening(cmd)
}

fn send(addr: SocketAddr, lines: &str) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(lines.as_bytes()).expect("send");
    tcp.shutdown(std::net::Shutdown::Write).expect("shutdown");
}

/// The position of the spool checkpoint the store holds (the test's only spool), 0 if none.
fn committed(h: &Hygie) -> u64 {
    let url = h.database_url();
    rt().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.expect("store");
        let p: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM ingest_checkpoints")
            .fetch_one(&pool)
            .await
            .expect("checkpoint");
        pool.close().await;
        p.map_or(0, |p| u64::try_from(p).expect("position"))
    })
}

/// Wait until the spool grew past `before` (the lines just sent: one connection, fewer than a
/// batch, so one record) and the store committed a checkpoint at its end; the end.
fn wait_committed(h: &Hygie, spool: &Path, before: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let end = spool_end(spool);
        if end > before && committed(h) == end {
            return end;
        }
        assert!(
            Instant::now() < deadline,
            "spool at {end} (was {before}), checkpoint at {}",
            committed(h)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What batch `hygie detect` stores from `lines`, on a store of its own.
fn batch(lines: &str) -> Alerts {
    let b = Hygie::sqlite();
    b.add(&HOSPITAL);
    let logs = b.file("events.jsonl", lines);
    common::detect_into(&b, &shipped_rules(), &logs);
    alerts(&b)
}

fn rules_of(h: &Hygie) -> Vec<String> {
    h.json(&["alerts", "list", "--facility", FINESS], 0)
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["rule_id"].as_str().expect("rule").to_owned())
        .collect()
}

#[test]
fn twenty_failed_logons_over_tcp_are_the_one_brute_force_alert_of_batch() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let lines = attack(0, 20);
    let (run, addr) = start(&h, &h.path().join("spool"));
    send(addr, &lines);
    // A quiet stream alerts once its hits settled, without waiting for the stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    while alerts(&h).is_empty() {
        assert!(Instant::now() < deadline, "no correlation alert stored");
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats = run.stop();
    assert_eq!(stats["evaluated"], 21, "{stats}");
    let got = alerts(&h);
    assert_eq!(rules_of(&h), [BRUTE_FORCE]);
    assert_eq!(got.values().next().expect("alert").0, 11, "{got:?}");
    assert_eq!(got, batch(&lines), "streaming equals batch");
    h.run(&["journal", "verify"], 0);
}

/// Ten failures (no alert), SIGKILL once their checkpoint is committed; ten more (the alert,
/// which needs the ten before the kill), SIGKILL once it is stored; eleven more within the
/// minute the alert suppresses (alone, they would alert again); then a clean stop: the one
/// alert batch gives on all the lines.
#[test]
fn a_brute_force_split_by_kill_9_alerts_once_as_batch() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let spool = h.path().join("spool");
    let parts = [attack(0, 10), attack(10, 20), attack(20, 31)];

    let (run, addr) = start(&h, &spool);
    send(addr, &parts[0]);
    let end = wait_committed(&h, &spool, 0);
    // Past the settling time the ten hits are folded into the engine, and that state committed.
    std::thread::sleep(SETTLE * 2);
    eprintln!("first kill: {}", run.kill9());
    assert!(alerts(&h).is_empty(), "ten failures are no brute force");

    let (run, addr) = start(&h, &spool);
    send(addr, &parts[1]);
    let end = wait_committed(&h, &spool, end);
    let deadline = Instant::now() + Duration::from_secs(60);
    while alerts(&h).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the hits before the kill were forgotten: no alert"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("second kill: {}", run.kill9());
    let at_kill = alerts(&h);
    assert_eq!(at_kill.len(), 1, "{at_kill:?}");

    let (run, addr) = start(&h, &spool);
    send(addr, &parts[2]);
    wait_committed(&h, &spool, end);
    std::thread::sleep(SETTLE * 2);
    let stats = run.stop();
    assert_eq!(
        stats["replayed"], 0,
        "every record was checkpointed: {stats}"
    );
    let got = alerts(&h);
    assert_eq!(
        got, at_kill,
        "the alert suppresses the minute after it: not two"
    );
    let all: String = parts.concat();
    assert_eq!(got, batch(&all), "streaming equals batch, once");
    assert_eq!(rules_of(&h), [BRUTE_FORCE]);
    h.run(&["journal", "verify"], 0);
}
