//! A Sigma rule file, loaded and compiled as `hygie rules check` does, then run by a detector
//! over a few events of each log source, as `hygie detect` would.
#![no_main]

use hygie_detect::{Detector, LogEvent, check_compiles, load_text};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Events of the log sources rules name: Windows process creation and security, Linux sshd,
/// flat JSON.
fn events() -> &'static [LogEvent] {
    static EVENTS: OnceLock<Vec<LogEvent>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let source: Arc<str> = Arc::from("events");
        let mut out = Vec::new();
        for (n, line) in [
            r#"{"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon", "Computer": "ws01", "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /all", "ParentImage": "C:\\Windows\\System32\\cmd.exe", "User": "CHU\\alice", "TimeCreated": "2025-03-01T08:15:00Z"}"#,
            r#"{"EventID": "4688", "Channel": "Security", "Computer": "ws02", "NewProcessName": "C:\\Windows\\System32\\net.exe", "CommandLine": "net user /domain", "TimeCreated": "2025-03-01T08:16:00Z"}"#,
            r#"{"EventID": "4625", "Channel": "Security", "Computer": "dc01", "TargetUserName": "administrator", "LogonType": "3", "IpAddress": "10.0.0.9", "Status": "0xc000006d"}"#,
            r#"{"Event": {"System": {"EventID": 4624, "Channel": "Security", "Computer": "dc01"}, "EventData": {"LogonType": "10", "TargetUserName": "bob"}}}"#,
            r#"{"msg": "GET /admin HTTP/1.1", "status": 403, "src_ip": "192.0.2.7", "nested": {"a": [1, 2, {"b": null}]}}"#,
        ]
        .iter()
        .enumerate()
        {
            if let Ok(Some(e)) = hygie_logs::read::json_text_to_event(line, &source, n as u64) {
                out.push(e);
            }
        }
        for (n, line) in [
            "<38>Mar  1 08:15:00 srv01 sshd[812]: Failed password for root from 203.0.113.5 port 52200 ssh2",
            "<86>1 2025-03-01T08:15:01Z srv01 sudo 901 - - alice : TTY=pts/0 ; COMMAND=/bin/bash",
            "<189>Mar  1 08:15:02 rtr01 %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin]",
        ]
        .iter()
        .enumerate()
        {
            if let Ok(e) = hygie_logs::parse_line(line, &source, n as u64) {
                out.push(e);
            }
        }
        out
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(text) = hygie_fuzz::text(data) else {
        return;
    };
    let mapping = hygie_fuzz::mapping();
    let mut load = load_text(Path::new("fuzz.yml"), text, &mapping);
    check_compiles(&mut load);
    for r in &load.rules {
        let _ = (r.name(), mapping.windows_rule_routable(&r.source));
    }
    let detector = Detector::new(mapping, load.rules).with_correlations(load.correlations);
    hygie_fuzz::detect(&detector, events());
    let _ = detector.compile_refusals();
});
