//! Detection scaled out on NATS JetStream (issue 20), on a real `nats-server` this test starts
//! on its own port (never the one on 4222): `hygie ingest --publish` takes 100,000 Windows
//! logon events over TCP and publishes them; two `hygie detect-worker`s share the durable
//! consumer on one PostgreSQL store; one is killed with SIGKILL mid-stream and started again;
//! once the consumer has nothing pending, the alerts (ids, counts, first and last times,
//! representatives) equal those of a batch `hygie detect` of the same events into another
//! store: every event evaluated, every alert exactly once. And the dead-letter path.
//!
//! The NATS helpers are in `common::nats`. The correlators: `nats_correlation.rs`.

mod common;

use common::nats::{
    FAILED_LOGON, STREAM, event_messages, pending, rt, start_nats, start_nats_with,
    start_publisher, start_publisher_with, start_worker, start_worker_with, stored,
};
use common::{FINESS, HOSPITAL, Hygie, alerts};
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Events of the stream.
const EVENTS: usize = 100_000;
const HOSTS: [&str; 5] = [
    "DC01",
    "pc-1.chu.local",
    "pc-2.chu.local",
    "SRV-PACS",
    "pc-3",
];

const RDP_LOGON: &str = "title: Remote interactive logon
id: 8d4f3b2a-4624-4b7e-9c1d-000000004624
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
    LogonType: 10
  condition: selection
level: medium
";

/// Event `i`: one second after the previous one, on one of five hosts; even ones failed
/// logons, odd ones logons (remote interactive one time in two).
fn event(i: usize) -> String {
    let t = jiff::Timestamp::from_second(1_735_689_600 + i as i64).expect("time");
    let mut e = json!({
        "Channel": "Security",
        "Computer": HOSTS[i % HOSTS.len()],
        "EventRecordID": i + 1,
        "TimeCreated": t.to_string(),
        "TargetUserName": format!("user{}", i % 37),
    });
    if i.is_multiple_of(2) {
        e["EventID"] = 4625.into();
    } else {
        e["EventID"] = 4624.into();
        e["LogonType"] = if i % 4 == 1 { 10 } else { 3 }.into();
    }
    format!("{e}\n")
}

fn write_rules(h: &Hygie) -> PathBuf {
    std::fs::create_dir_all(h.path().join("rules")).expect("rules folder");
    h.file("rules/failed-logon.yml", FAILED_LOGON);
    h.file("rules/rdp-logon.yml", RDP_LOGON);
    h.path().join("rules")
}

#[test]
fn two_workers_one_killed_store_every_alert_exactly_once() {
    let Some(nats) = start_nats() else { return };
    let Some(h) = Hygie::postgres() else { return };
    h.add(&HOSPITAL);
    let rules = write_rules(&h);

    // Publish: the events over one TCP connection to `ingest --publish`.
    let started = Instant::now();
    let (publisher, addr) = start_publisher(&h, &nats.url);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    let text: String = (0..EVENTS).map(event).collect();
    tcp.write_all(text.as_bytes()).expect("send");
    tcp.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored(&nats.url) < EVENTS as u64 {
        assert!(
            Instant::now() < deadline,
            "JetStream did not store every event"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = publisher.stop();
    assert_eq!(published["accepted"], EVENTS as u64, "{published}");
    assert_eq!(published["failed"], 0, "{published}");
    // A burst over one connection: the events of a host come several to a message.
    let messages = event_messages(&nats.url);
    eprintln!(
        "published {EVENTS} events in {messages} messages in {:?}",
        started.elapsed()
    );
    assert!(messages < EVENTS as u64 / 10, "{messages} messages");

    // Two workers; the first killed once a quarter of the stream is acknowledged, then restarted.
    let evaluating = Instant::now();
    let first = start_worker(&h, &nats.url, &rules);
    let second = start_worker(&h, &nats.url, &rules);
    let deadline = Instant::now() + Duration::from_secs(300);
    // Once a quarter of the messages are acknowledged (the workers hold the next ones).
    loop {
        let (waiting, held) = pending(&nats.url);
        if waiting + held as u64 <= messages * 3 / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the workers took nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = first.kill9();
    let at_kill = pending(&nats.url);
    eprintln!("killed a worker with {at_kill:?} pending: {log}");
    assert!(
        at_kill.0 + at_kill.1 as u64 > 0,
        "killed after the whole stream was acknowledged"
    );
    let first = start_worker(&h, &nats.url, &rules);
    let deadline = Instant::now() + Duration::from_secs(300);
    while pending(&nats.url) != (0, 0) {
        assert!(
            Instant::now() < deadline,
            "messages still pending: {:?}",
            pending(&nats.url)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let a = first.stop();
    let b = second.stop();
    eprintln!("evaluated in {:?}; workers {a} {b}", evaluating.elapsed());
    let acknowledged =
        a["acknowledged"].as_u64().expect("n") + b["acknowledged"].as_u64().expect("n");
    assert!(acknowledged > 0);
    let redelivered = a["redelivered"].as_u64().expect("n") + b["redelivered"].as_u64().expect("n");
    assert!(
        redelivered > 0,
        "the killed worker's batch in hand was delivered again"
    );
    assert_eq!(a["dead"], 0);
    assert_eq!(b["dead"], 0);
    let got = alerts(&h);
    h.run(&["journal", "verify"], 0);

    // The batch run of the same events into another store.
    let batch = Hygie::sqlite();
    batch.add(&HOSPITAL);
    let batch_rules = write_rules(&batch);
    let logs = batch.file("events.jsonl", &text);
    common::detect_into(&batch, &batch_rules, &logs);
    let expected = alerts(&batch);
    let matches: u64 = expected.values().map(|a| a.0).sum();
    // Every even event and one odd event in two match.
    assert_eq!(matches, (EVENTS / 2 + EVENTS / 4) as u64);
    let counted: u64 = got.values().map(|a| a.0).sum();
    assert_eq!(counted, matches, "every matching event counted once");
    let differ: Vec<_> = expected
        .iter()
        .filter(|(id, a)| got.get(*id) != Some(a))
        .take(5)
        .collect();
    assert!(
        got.len() == expected.len() && differ.is_empty(),
        "{} alerts from the workers, {} from the batch; first differences: {differ:?}",
        got.len(),
        expected.len()
    );
}

#[test]
fn an_unreadable_message_goes_to_the_dead_letter_and_the_rest_is_evaluated() {
    let Some(nats) = start_nats() else { return };
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let rules = write_rules(&h);
    let subject = format!("hygie.events.{FINESS}.DC01");
    let url = nats.url.clone();
    let subject_ = subject.clone();
    rt().block_on(async move {
        let js = hygie_logs::nats::worker::context(&url, STREAM)
            .await
            .expect("connect");
        // No Hygie-Payload header: not something `ingest --publish` wrote.
        js.publish(subject_.clone(), "{\"EventID\": 4625}".into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
    // And one good event through the publisher.
    let (publisher, addr) = start_publisher(&h, &nats.url);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(event(0).as_bytes()).expect("send");
    drop(tcp);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&nats.url) < 2 {
        assert!(Instant::now() < deadline, "the event was not published");
        std::thread::sleep(Duration::from_millis(50));
    }
    publisher.stop();
    // The worker forwards the alert it stores to a syslog receiver (`--forward`).
    let siem = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let siem_url = format!("syslog+tcp://{}", siem.local_addr().expect("addr"));
    let received = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Ok((mut conn, _)) = siem.accept() {
            let _ = std::io::Read::read_to_end(&mut conn, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let worker = start_worker_with(&h, &nats.url, &rules, &["--forward", &siem_url]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(&nats.url) != (0, 0) {
        assert!(Instant::now() < deadline, "messages still pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = worker.stop();
    assert_eq!(stats["dead"], 1, "{stats}");
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().expect("alert").0, 1);
    let forwarded = received.join().expect("receiver");
    let id = got.keys().next().expect("alert id");
    assert_eq!(forwarded.matches("[hygie@32473 ").count(), 1, "{forwarded}");
    assert!(
        forwarded.contains(&format!("id=\"{id}\"")) && forwarded.contains("count=\"1\""),
        "{forwarded}"
    );
    // The dead letter: the payload as published, the reason and where it came from.
    let ([reason, origin], payload) = last_dead_letter(
        &nats.url,
        [
            hygie_logs::nats::DEAD_REASON_HEADER,
            hygie_logs::nats::DEAD_SUBJECT_HEADER,
        ],
    );
    assert!(reason.contains("Hygie-Payload"), "{reason}");
    assert_eq!(origin, subject);
    assert_eq!(payload, "{\"EventID\": 4625}");
}

/// The facility's last dead letter: the values of `headers` (empty when absent) and its
/// payload.
fn last_dead_letter<const N: usize>(url: &str, headers: [&str; N]) -> ([String; N], String) {
    rt().block_on(async move {
        let js = hygie_logs::nats::worker::context(url, STREAM)
            .await
            .expect("connect");
        let stream = js.get_stream(STREAM).await.expect("stream");
        let m = stream
            .get_last_raw_message_by_subject(&format!("hygie.dead.{FINESS}"))
            .await
            .expect("a dead letter");
        let values = headers.map(|n| {
            m.headers
                .get(n)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        });
        (values, String::from_utf8_lossy(&m.payload).into_owned())
    })
}

/// A message of three events whose second is not JSON (as a publisher of another version
/// might write): the two others are evaluated into their alert, the second goes alone to the
/// dead letter with its position, line and reason, and the message is acknowledged.
#[test]
fn an_unreadable_event_of_a_message_goes_alone_to_the_dead_letter() {
    let Some(nats) = start_nats() else { return };
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let rules = write_rules(&h);
    let url = nats.url.clone();
    let body = format!("{}\nnot json\n{}", event(0).trim(), event(10).trim());
    rt().block_on(async move {
        let js = hygie_logs::nats::worker::context(&url, STREAM)
            .await
            .expect("connect");
        let mut headers = hygie_logs::nats::HeaderMap::new();
        headers.insert(hygie_logs::nats::PAYLOAD_HEADER, "json");
        headers.insert(hygie_logs::nats::SOURCE_HEADER, "tcp://10.0.0.9:41000");
        headers.insert(hygie_logs::nats::LINES_HEADER, "1,2,11");
        js.publish_with_headers(format!("hygie.events.{FINESS}.DC01"), headers, body.into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
    assert_eq!(stored(&nats.url), 3);
    let worker = start_worker(&h, &nats.url, &rules);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(&nats.url) != (0, 0) {
        assert!(Instant::now() < deadline, "messages still pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = worker.stop();
    assert_eq!(stats["dead"], 1, "{stats}");
    assert_eq!(stats["events"], 2, "{stats}");
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got.values().next().expect("alert").0, 2);
    let ([index, line], payload) = last_dead_letter(
        &nats.url,
        [
            hygie_logs::nats::DEAD_INDEX_HEADER,
            hygie_logs::nats::LINE_HEADER,
        ],
    );
    assert_eq!((index.as_str(), line.as_str()), ("1", "2"));
    assert_eq!(payload, "not json");
}

/// `--nats-ca`: the publisher and a worker reach a nats-server that requires TLS (certificate
/// from the test CA, on its own port), the event published is evaluated and its alert stored;
/// without the CA file the worker cannot connect (the system's roots do not know the test CA).
#[test]
fn publisher_and_worker_reach_a_tls_nats_server_with_its_ca_file() {
    let certs = tempfile::tempdir().expect("tmp");
    let (ca, cert, key) = common::test_ca(certs.path());
    let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
    let Some(nats) = start_nats_with(&["--tls", "--tlscert", cert, "--tlskey", key]) else {
        return;
    };
    let url = nats.url.replace("nats://127.0.0.1", "tls://localhost");
    let ca = ca.to_str().expect("path");
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let rules = write_rules(&h);

    let refused = h.run(
        &[
            "detect-worker",
            "--nats",
            &url,
            "--stream",
            STREAM,
            "--facility",
            FINESS,
            "--rules",
            rules.to_str().expect("path"),
        ],
        1,
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot connect to NATS"), "{err}");

    let (publisher, addr) = start_publisher_with(&h, &url, &["--nats-ca", ca]);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(event(0).as_bytes()).expect("send");
    drop(tcp);
    let worker = start_worker_with(&h, &url, &rules, &["--nats-ca", ca]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while alerts(&h).is_empty() {
        assert!(Instant::now() < deadline, "no alert stored over TLS");
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = publisher.stop();
    assert_eq!(published["accepted"], 1, "{published}");
    let stats = worker.stop();
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().expect("alert").0, 1);
}
