//! Syslog lines (RFC 3164 and RFC 5424) to events.

use hygie_detect::{EventKind, LogEvent, Origin};
use serde_json::{Map, Value};
use std::sync::Arc;
use syslog_loose::{ProcId, Variant};

/// Why a syslog line was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyslogError {
    #[error("empty line")]
    Empty,
    #[error("line is {0} bytes, longer than the 64 KiB limit")]
    TooLong(usize),
    #[error("line contains a NUL byte")]
    Nul,
}

/// Longest line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// Parse one syslog line. RFC 5424 and RFC 3164 are both accepted; a line
/// that follows neither keeps its whole text as `message`.
pub fn parse_line(line: &str, source: &Arc<str>, record: u64) -> Result<LogEvent, SyslogError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(SyslogError::Empty);
    }
    if line.len() > MAX_LINE {
        return Err(SyslogError::TooLong(line.len()));
    }
    if line.contains('\0') {
        return Err(SyslogError::Nul);
    }
    let msg = syslog_loose::parse_message(line, Variant::Either);
    let mut f = Map::new();
    f.insert(
        "protocol".into(),
        Value::from(match msg.protocol {
            syslog_loose::Protocol::RFC5424(_) => "rfc5424",
            syslog_loose::Protocol::RFC3164 => "rfc3164",
        }),
    );
    if let Some(fac) = msg.facility {
        f.insert("facility".into(), Value::from(fac.as_str()));
    }
    if let Some(sev) = msg.severity {
        f.insert("severity".into(), Value::from(sev.as_str()));
    }
    if let Some(ts) = msg.timestamp {
        f.insert("timestamp".into(), Value::from(ts.to_rfc3339()));
    }
    if let Some(h) = msg.hostname {
        f.insert("hostname".into(), Value::from(h));
    }
    if let Some(a) = msg.appname {
        f.insert("appname".into(), Value::from(a));
    }
    match msg.procid {
        Some(ProcId::PID(p)) => {
            f.insert("procid".into(), Value::from(p));
        }
        Some(ProcId::Name(n)) => {
            f.insert("procid".into(), Value::from(n));
        }
        None => {}
    }
    if let Some(m) = msg.msgid {
        f.insert("msgid".into(), Value::from(m));
    }
    for el in &msg.structured_data {
        for (k, v) in &el.params {
            f.insert(format!("{}.{}", el.id, k), Value::from(*v));
        }
    }
    f.insert("message".into(), Value::from(msg.msg));
    Ok(LogEvent::new(
        EventKind::Syslog,
        f,
        Origin {
            source: source.clone(),
            record,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Arc<str> {
        Arc::from("test")
    }

    #[test]
    fn rfc5424_fields() {
        let l = r#"<34>1 2025-10-11T22:14:15.003Z srv1.chu.test sshd 4321 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] Failed password for root from 10.0.0.1"#;
        let e = parse_line(l, &src(), 1).expect("parses");
        assert_eq!(e.get_str("protocol").as_deref(), Some("rfc5424"));
        assert_eq!(e.get_str("facility").as_deref(), Some("auth"));
        assert_eq!(e.get_str("severity").as_deref(), Some("crit"));
        assert_eq!(e.get_str("hostname").as_deref(), Some("srv1.chu.test"));
        assert_eq!(e.get_str("appname").as_deref(), Some("sshd"));
        assert_eq!(e.get_str("procid").as_deref(), Some("4321"));
        assert_eq!(e.get_str("msgid").as_deref(), Some("ID47"));
        assert_eq!(e.get_str("exampleSDID@32473.iut").as_deref(), Some("3"));
        assert_eq!(
            e.get_str("message").as_deref(),
            Some("Failed password for root from 10.0.0.1")
        );
        assert_eq!(e.host().as_deref(), Some("srv1.chu.test"));
        assert!(
            e.time()
                .is_some_and(|t| t.starts_with("2025-10-11T22:14:15"))
        );
    }

    #[test]
    fn rfc3164_fields() {
        let l = "<38>Oct 11 22:14:15 srv2 sudo[812]: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash";
        let e = parse_line(l, &src(), 2).expect("parses");
        assert_eq!(e.get_str("protocol").as_deref(), Some("rfc3164"));
        assert_eq!(e.get_str("hostname").as_deref(), Some("srv2"));
        assert_eq!(e.get_str("appname").as_deref(), Some("sudo"));
        assert_eq!(e.get_str("procid").as_deref(), Some("812"));
        assert!(
            e.get_str("message")
                .is_some_and(|m| m.contains("COMMAND=/bin/bash"))
        );
        assert_eq!(e.origin.record, 2);
    }

    #[test]
    fn malformed_lines() {
        // Rejected outright.
        assert_eq!(parse_line("", &src(), 1).err(), Some(SyslogError::Empty));
        assert_eq!(
            parse_line("   \r\n", &src(), 1).err(),
            Some(SyslogError::Empty)
        );
        assert_eq!(parse_line("a\0b", &src(), 1).err(), Some(SyslogError::Nul));
        let long = "x".repeat(MAX_LINE + 1);
        assert_eq!(
            parse_line(&long, &src(), 1).err(),
            Some(SyslogError::TooLong(MAX_LINE + 1))
        );
        // Neither RFC: kept, whole text searchable as the message.
        for l in [
            "<999>garbage without structure",
            "<34>1 not-a-date host app - - - text",
            "no priority, no date: just words",
            "<13>",
        ] {
            let e = parse_line(l, &src(), 1).expect("loose parse keeps the line");
            assert!(e.get_str("message").is_some(), "{l}");
        }
        let e = parse_line("no priority, no date: just words", &src(), 1).expect("kept");
        assert!(
            e.get_str("message")
                .is_some_and(|m| m.contains("just words"))
        );
    }

    #[test]
    fn cisco_line_from_regression_set_shape() {
        let l = "172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control";
        let e = parse_line(l, &src(), 1).expect("parses");
        assert!(
            e.get_str("message")
                .is_some_and(|m| m.contains("%PARSER-5-CFGLOG_LOGGEDCMD"))
        );
    }
}
