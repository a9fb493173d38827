//! OpenWEC's `Json` output reads as the same event as the evtx_dump rendering of the same
//! Windows event: the same flat fields (plus OpenWEC's own, under `OpenWEC_…`), and the same
//! SigmaHQ rules fire on both, from files (batch) and through the JSON TCP listener (stream).
//! The events are written here in each shape (OpenWEC's per its `doc/formats.md`): a failed
//! logon (4625) from a public address, a NewCredentials logon (4624, EventData only, no
//! UserData) and a Sysmon process creation (event 1) of `whoami /all`.

use hygie_detect::alert::Pushed;
use hygie_detect::{Alert, Detector, Mapping, load_paths};
use hygie_logs::batch::{Progress, run};
use hygie_logs::spool::{MIN_MAX_BYTES, Spool, SpoolConfig};
use hygie_logs::stream::{
    AlertSink, BoxFuture, Checkpoint, Ingest, IngestConfig, ListenSpec, bind,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// SigmaHQ rules (shared data) that the three events trigger, by rule id.
const FAILED_LOGON_PUBLIC: &str = "f88e112a-21aa-44bd-9b01-6ee2a2bbbed1";
const NEW_CREDENTIALS: &str = "def8b624-e08f-4ae1-8612-1ba21190da6b";
const WHOAMI_ALL: &str = "c248c896-e412-4279-8c15-1c558067b6fa";

fn rule_files() -> Option<Vec<PathBuf>> {
    let root = hygie_testkit::shared_data()?.join("sigma/rules/windows");
    Some(vec![
        root.join("builtin/security/account_management/win_security_susp_failed_logon_source.yml"),
        root.join("builtin/security/account_management/win_security_susp_logon_newcredentials.yml"),
        root.join("process_creation/proc_creation_win_whoami_all_execution.yml"),
    ])
}

fn detector(files: &[PathBuf]) -> Detector {
    let mapping = Mapping::builtin().expect("mapping");
    let load = load_paths(files, &mapping);
    assert!(load.refused.is_empty(), "{:?}", load.refused);
    assert_eq!(load.rules.len(), 3);
    Detector::new(mapping, load.rules)
}

/// One Windows event: its System values and EventData.
struct Win {
    provider: &'static str,
    guid: &'static str,
    id: u32,
    record: u64,
    time: &'static str,
    channel: &'static str,
    computer: &'static str,
    data: Value,
}

fn events() -> Vec<Win> {
    vec![
        Win {
            provider: "Microsoft-Windows-Security-Auditing",
            guid: "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            id: 4625,
            record: 901,
            time: "2026-12-07T07:58:01.1234567Z",
            channel: "Security",
            computer: "srv-rdp.chu-exemple.test",
            data: json!({"SubjectUserSid": "S-1-0-0", "TargetUserName": "administrateur",
                "TargetDomainName": "CHU", "Status": "0xc000006d", "SubStatus": "0xc000006a",
                "LogonType": "10", "LogonProcessName": "User32",
                "AuthenticationPackageName": "Negotiate", "WorkstationName": "KALI",
                "IpAddress": "203.0.113.66", "IpPort": "51514"}),
        },
        Win {
            provider: "Microsoft-Windows-Security-Auditing",
            guid: "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            id: 4624,
            record: 902,
            time: "2026-12-07T07:59:12.5000000Z",
            channel: "Security",
            computer: "pc-urgences-04.chu-exemple.test",
            data: json!({"SubjectUserSid": "S-1-5-21-1-1-1-1104", "SubjectUserName": "infirmier",
                "SubjectDomainName": "CHU", "SubjectLogonId": "0x3e7",
                "TargetUserSid": "S-1-5-21-1-1-1-1104", "TargetUserName": "infirmier",
                "TargetDomainName": "CHU", "LogonType": "9", "LogonProcessName": "seclogo",
                "AuthenticationPackageName": "Negotiate", "WorkstationName": "-",
                "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
                "ProcessName": "C:\\Windows\\System32\\svchost.exe",
                "IpAddress": "::1", "IpPort": "0"}),
        },
        Win {
            provider: "Microsoft-Windows-Sysmon",
            guid: "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            id: 1,
            record: 903,
            time: "2026-12-07T08:00:30.0000000Z",
            channel: "Microsoft-Windows-Sysmon/Operational",
            computer: "pc-urgences-04.chu-exemple.test",
            data: json!({"RuleName": "-", "UtcTime": "2026-12-07 08:00:30.000",
                "ProcessGuid": "{5a1b2c3d-0000-0000-0000-000000000001}", "ProcessId": "4242",
                "Image": "C:\\Windows\\System32\\whoami.exe", "OriginalFileName": "whoami.exe",
                "CommandLine": "whoami /all", "CurrentDirectory": "C:\\Users\\infirmier\\",
                "User": "CHU\\infirmier", "IntegrityLevel": "Medium",
                "ParentImage": "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine": "cmd.exe"}),
        },
    ]
}

/// As evtx_dump renders it: under `Event`, attributes under `#attributes`.
fn evtx_shape(w: &Win) -> Value {
    json!({"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": w.provider, "Guid": w.guid}},
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": w.id},
            "Version": 2, "Level": 0, "Task": 12544, "Opcode": 0,
            "Keywords": "0x8010000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": w.time}},
            "EventRecordID": w.record,
            "Correlation": {"#attributes": {"ActivityID": "{8f3a9d1e-0000-0000-0000-000000000000}"}},
            "Execution": {"#attributes": {"ProcessID": 672, "ThreadID": 5120}},
            "Channel": w.channel, "Computer": w.computer, "Security": null},
        "EventData": w.data}})
}

/// As OpenWEC's `Json` format writes it: `System` at the top, plain values, rendering
/// information and OpenWEC's own object.
fn openwec_shape(w: &Win) -> Value {
    json!({"System": {
            "Provider": {"Name": w.provider, "Guid": w.guid},
            "EventID": w.id, "EventIDQualifiers": 0,
            "Version": 2, "Level": 0, "Task": 12544, "Opcode": 0,
            "Keywords": "0x8010000000000000",
            "TimeCreated": w.time, "EventRecordID": w.record,
            "Correlation": {"ActivityID": "{8f3a9d1e-0000-0000-0000-000000000000}"},
            "Execution": {"ProcessID": 672, "ThreadID": 5120},
            "Channel": w.channel, "Computer": w.computer},
        "EventData": w.data,
        "RenderingInfo": {"Message": "An account failed to log on.", "Level": "Information",
            "Task": "Logon", "Opcode": "Info", "Channel": "Security",
            "Provider": "Microsoft Windows security auditing.", "Keywords": ["Audit Failure"],
            "Culture": "fr-FR"},
        "OpenWEC": {"IpAddress": "10.20.30.40", "TimeReceived": "2026-12-07T09:00:03.331+01:00",
            "Principal": "PC-URGENCES-04$@CHU-EXEMPLE.TEST", "Node": "wec-1",
            "Subscription": {"Uuid": "8B18D83D-2964-4F35-AC3B-6F4E6FFA727B",
                "Version": "AD0D118F-31EF-4111-A0CA-D87249747278", "Name": "securite",
                "Uri": "/wec/securite"}}})
}

fn source() -> Arc<str> {
    Arc::from("t")
}

#[test]
fn openwec_events_flatten_as_their_evtx_rendering_plus_openwec_fields() {
    for w in events() {
        let evtx = hygie_logs::json_to_event(evtx_shape(&w), &source(), 1).expect("evtx");
        let line = openwec_shape(&w).to_string();
        let wec = hygie_logs::read::json_text_to_event(&line, &source(), 1)
            .expect("json")
            .expect("an event");
        assert_eq!(wec.kind, evtx.kind);
        assert_eq!(wec.host(), Some(w.computer.to_owned()));
        let mut wec_fields = wec.fields.to_map();
        let own: BTreeMap<String, Value> = wec_fields
            .iter()
            .filter(|(k, _)| k.starts_with("OpenWEC_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        wec_fields.retain(|k, _| !k.starts_with("OpenWEC_"));
        let mut evtx_fields = evtx.fields.to_map();
        // evtx_dump renders the empty `<Security/>`; OpenWEC leaves it out.
        evtx_fields.remove("Security");
        assert_eq!(wec_fields, evtx_fields, "event {}", w.id);
        assert_eq!(own["OpenWEC_IpAddress"], json!("10.20.30.40"));
        assert_eq!(own["OpenWEC_Subscription"], json!("securite"));
        assert_eq!(
            own["OpenWEC_Principal"],
            json!("PC-URGENCES-04$@CHU-EXEMPLE.TEST")
        );
        assert_eq!(own.len(), 6, "{own:?}");
    }
}

/// The alerts of a batch run over one file: (rule id, host, count), sorted.
fn batch(det: &Detector, file: &Path) -> Vec<(String, Option<String>, u64)> {
    let (files, errors) = hygie_logs::list_log_files(&[file.to_path_buf()]);
    assert!(errors.is_empty(), "{errors:?}");
    let mut alerts: Vec<Alert> = Vec::new();
    let s = run(
        det,
        "750000001",
        &files,
        1,
        300,
        &Progress::default(),
        &mut |a| alerts.push(a),
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.events, 3);
    let mut out: Vec<_> = alerts
        .into_iter()
        .map(|a| (a.rule_id, a.host, a.count))
        .collect();
    out.sort();
    out
}

fn expected() -> Vec<(String, Option<String>, u64)> {
    let mut v = vec![
        (
            FAILED_LOGON_PUBLIC.to_owned(),
            Some("srv-rdp.chu-exemple.test".to_owned()),
            1,
        ),
        (
            NEW_CREDENTIALS.to_owned(),
            Some("pc-urgences-04.chu-exemple.test".to_owned()),
            1,
        ),
        (
            WHOAMI_ALL.to_owned(),
            Some("pc-urgences-04.chu-exemple.test".to_owned()),
            1,
        ),
    ];
    v.sort();
    v
}

fn jsonl(values: impl Iterator<Item = Value>) -> String {
    values.map(|v| format!("{v}\n")).collect()
}

#[test]
fn the_same_sigma_rules_fire_on_openwec_files_and_evtx_json_files() {
    let Some(rules) = rule_files() else { return };
    let det = detector(&rules);
    let dir = tempfile::tempdir().expect("tmp");
    let evtx = dir.path().join("evtx.jsonl");
    std::fs::write(&evtx, jsonl(events().iter().map(evtx_shape))).expect("write");
    // OpenWEC's Files output names files as its path template says, here `…/messages`.
    let wec = dir.path().join("messages");
    std::fs::write(&wec, jsonl(events().iter().map(openwec_shape))).expect("write");
    assert_eq!(batch(&det, &evtx), expected());
    assert_eq!(batch(&det, &wec), expected());

    // The rule's filters read the event's fields, never OpenWEC's: the same failed logon from
    // a private address fires on neither shape, though OpenWEC's client address is private.
    let mut local = events().remove(0);
    local.data["IpAddress"] = json!("10.1.2.3");
    let (one_evtx, one_wec) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&one_evtx, jsonl(std::iter::once(evtx_shape(&local)))).expect("write");
    std::fs::write(&one_wec, jsonl(std::iter::once(openwec_shape(&local)))).expect("write");
    for f in [one_evtx, one_wec] {
        let (files, _) = hygie_logs::list_log_files(&[f]);
        let mut n = 0;
        let s = run(
            &det,
            "750000001",
            &files,
            1,
            300,
            &Progress::default(),
            &mut |_| n += 1,
        );
        assert_eq!((s.events, n), (1, 0));
    }
}

#[derive(Clone, Default)]
struct MemSink(Arc<Mutex<Vec<Pushed>>>);

impl AlertSink for MemSink {
    fn deliver<'a>(
        &'a mut self,
        updates: &'a [Pushed],
        _checkpoint: &'a Checkpoint,
    ) -> BoxFuture<'a, Result<(), String>> {
        if let Ok(mut v) = self.0.lock() {
            v.extend(updates.iter().cloned());
        }
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openwec_over_the_json_tcp_listener_fires_the_same_rules() {
    let Some(rules) = rule_files() else { return };
    tokio::time::timeout(Duration::from_secs(60), async {
        let spec: ListenSpec = "json+tcp://127.0.0.1:0".parse().expect("spec");
        let src = bind(&spec).await.expect("bind");
        let addr = src.local_addr().expect("addr");
        let dir = tempfile::tempdir().expect("tmp");
        let spool = Spool::open(SpoolConfig::new(
            dir.path().join("spool"),
            MIN_MAX_BYTES * 4,
        ))
        .expect("spool");
        let sink = MemSink::default();
        let ingest = Ingest::start(
            Arc::new(detector(&rules)),
            vec![src],
            Box::new(sink.clone()),
            IngestConfig {
                queue_batches: 4,
                workers: 1,
                window_secs: 300,
                ..IngestConfig::default()
            },
            spool,
        )
        .await
        .expect("start");
        // As OpenWEC's Tcp output sends: one JSON document per line on one connection.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(jsonl(events().iter().map(openwec_shape)).as_bytes())
            .await
            .expect("write");
        tcp.shutdown().await.expect("close");
        drop(tcp);
        while ingest.stats.snapshot().accepted < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stats = ingest.shutdown().await.expect("shutdown");
        assert_eq!(stats.evaluated, 3);
        let mut got: Vec<_> = sink
            .0
            .lock()
            .expect("sink")
            .iter()
            .map(|p| match p {
                Pushed::Opened(a) | Pushed::Repeated(a) => {
                    (a.rule_id.clone(), a.host.clone(), a.count)
                }
            })
            .collect();
        got.sort();
        assert_eq!(got, expected());
    })
    .await
    .expect("bounded");
}
