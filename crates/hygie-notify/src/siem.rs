//! Forwarding alerts to a SIEM as they are stored (`--forward` of `hygie detect`, `hygie ingest`
//! and `hygie detect-worker`): the receivers' addresses, the syslog message and the JSON body.
//! Pure: the binary's adapter (`hygie-cli`'s `forward`) holds the queues and the connections.
//!
//! ## Receivers ([`Receiver::parse`])
//!
//! - `syslog+tcp://HOST:PORT`: RFC 5424 messages over TCP, octet-counting framing (RFC 6587
//!   §3.4.1: the message's length in bytes, a space, the message);
//! - `syslog+tls://HOST:PORT`: the same inside TLS (RFC 5425), the server checked against the
//!   given CA file or the system's roots;
//! - `https://HOST[:PORT]/PATH` (or `http://` towards loopback only): one `POST` of JSON per
//!   alert, signed as the webhooks are when a secret is given ([`crate::webhook`]).
//!
//! ## The syslog message ([`syslog_message`])
//!
//! ```text
//! <SEVERITY+32>1 2026-12-07T08:00:00.123456Z hygie-host hygie - alert [hygie@32473
//!  id="…" rule="…" level="high" facility="750712184" host="pc1.chu.test" count="3"
//!  first="…" last="…"] \u{feff}Hygie alert: <rule title> (level high) on pc1.chu.test, 3 matches
//! ```
//!
//! Facility `auth` (4); the severity follows the level (critical 2, high 3, medium 4, low 5,
//! informational 6). HOSTNAME is the machine running Hygie; the alert's host is in the
//! structured data. `32473` is the private enterprise number RFC 5612 reserves for
//! documentation, as Hygie has none. The text is English (what SIEM analysts search), after the
//! UTF-8 byte order mark RFC 5424 asks for. The matched fields (user names…) are not sent:
//! the SIEM has the events.
//!
//! ## The JSON body ([`json_body`])
//!
//! The webhooks' envelope (`id`, `type` = `alert.stored`, `facility`, `created`, `data`), `data`
//! holding the alert's id, rule, title, level, host, first and last times, count and tags. An
//! alert forwarded again (more matches, another batch) keeps its id: the SIEM keeps the last.

use hygie_core::Alert;
use jiff::Timestamp;

/// The `type` of the JSON body and the `Hygie-Event` header of a forwarded alert.
pub const EVENT_TYPE: &str = "alert.stored";

/// The structured data's id (RFC 5612's documentation enterprise number).
pub const SD_ID: &str = "hygie@32473";

/// A `--forward` value that is not a receiver; English and French.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--forward {given}: {en} / {fr}")]
pub struct ReceiverError {
    pub given: String,
    pub en: &'static str,
    pub fr: &'static str,
}

/// Where alerts are forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receiver {
    /// RFC 5424 over TCP, in TLS when `tls`.
    Syslog { host: String, port: u16, tls: bool },
    /// JSON `POST`s.
    Http(http::Uri),
}

impl Receiver {
    /// Parse a `--forward` value.
    pub fn parse(given: &str) -> Result<Receiver, ReceiverError> {
        let fail = |en, fr| ReceiverError {
            given: given.to_owned(),
            en,
            fr,
        };
        let syslog = [("syslog+tcp://", false), ("syslog+tls://", true)]
            .into_iter()
            .find_map(|(p, tls)| given.strip_prefix(p).map(|rest| (rest, tls)));
        if let Some((rest, tls)) = syslog {
            let rest = rest.trim_end_matches('/');
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| {
                fail(
                    "expected syslog+tcp://HOST:PORT or syslog+tls://HOST:PORT",
                    "attendu syslog+tcp://HÔTE:PORT ou syslog+tls://HÔTE:PORT",
                )
            })?;
            let port: u16 =
                port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                    fail("the port must be 1 to 65535", "le port va de 1 à 65535")
                })?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || host.contains(['/', '@', ' ']) {
                return Err(fail(
                    "a host name or address is needed",
                    "il faut un nom d'hôte ou une adresse",
                ));
            }
            return Ok(Receiver::Syslog {
                host: host.to_owned(),
                port,
                tls,
            });
        }
        let uri: http::Uri = given.parse().map_err(|_| {
            fail(
                "expected syslog+tcp://, syslog+tls:// or https:// followed by an address",
                "attendu syslog+tcp://, syslog+tls:// ou https:// suivi d'une adresse",
            )
        })?;
        let host = uri.host().unwrap_or_default();
        match uri.scheme_str() {
            Some("https") if !host.is_empty() => Ok(Receiver::Http(uri)),
            Some("http") if is_loopback(host) => Ok(Receiver::Http(uri)),
            Some("http") => Err(fail(
                "plain http only towards loopback: use https",
                "http en clair seulement vers la boucle locale : utiliser https",
            )),
            _ => Err(fail(
                "expected syslog+tcp://, syslog+tls:// or https://",
                "attendu syslog+tcp://, syslog+tls:// ou https://",
            )),
        }
    }

    /// How logs and counters name it: scheme, host and port, never a path's query (a token).
    pub fn label(&self) -> String {
        match self {
            Receiver::Syslog { host, port, tls } => {
                let scheme = if *tls { "syslog+tls" } else { "syslog+tcp" };
                if host.contains(':') {
                    format!("{scheme}://[{host}]:{port}")
                } else {
                    format!("{scheme}://{host}:{port}")
                }
            }
            Receiver::Http(uri) => format!(
                "{}://{}{}",
                uri.scheme_str().unwrap_or("https"),
                uri.authority().map(|a| a.as_str()).unwrap_or_default(),
                uri.path()
            ),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The syslog severity of an alert level (RFC 5424 table 2).
pub fn severity(level: &str) -> u8 {
    match level.to_ascii_lowercase().as_str() {
        "critical" => 2,
        "high" => 3,
        "medium" => 4,
        "low" => 5,
        _ => 6,
    }
}

/// Facility `auth` (security/authorization messages).
const FACILITY_AUTH: u8 = 4;

/// An RFC 5424 header field (HOSTNAME…): printable ASCII without spaces, at most `max`
/// characters; `-` when nothing is left.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() { "-".into() } else { v }
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3); control
/// characters become spaces.
fn param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One RFC 5424 message for an alert of `facility`, sent by `hostname` at `now`.
pub fn syslog_message(facility: &str, a: &Alert, hostname: &str, now: Timestamp) -> String {
    let pri = FACILITY_AUTH * 8 + severity(&a.level);
    // TIME-SECFRAC has at most six digits.
    let time = now
        .round(jiff::Unit::Microsecond)
        .unwrap_or(now)
        .to_string();
    let host = a.host.as_deref().unwrap_or("-");
    let mut sd = format!(
        "[{SD_ID} id=\"{}\" rule=\"{}\" level=\"{}\" facility=\"{}\" host=\"{}\" count=\"{}\"",
        param(&a.id),
        param(&a.rule_id),
        param(&a.level),
        param(facility),
        param(host),
        a.count
    );
    for (k, v) in [("first", &a.time), ("last", &a.last_time)] {
        if let Some(v) = v {
            sd.push_str(&format!(" {k}=\"{}\"", param(v)));
        }
    }
    sd.push(']');
    let title: String = a
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let matches = if a.count == 1 { "match" } else { "matches" };
    format!(
        "<{pri}>1 {time} {} hygie - alert {sd} \u{feff}Hygie alert: {title} (level {}) on {host}, {} {matches}",
        header_field(hostname, 255),
        a.level,
        a.count
    )
}

/// RFC 6587 octet counting: the length in bytes, a space, the message.
pub fn octet_counted(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

/// The JSON body posted for an alert (compact, keys in a fixed order).
pub fn json_body(facility: &str, a: &Alert, now: Timestamp) -> String {
    serde_json::json!({
        "id": format!("alert/{}", a.id),
        "type": EVENT_TYPE,
        "facility": facility,
        "created": now.to_string(),
        "data": {
            "alert": a.id,
            "rule": a.rule_id,
            "title": a.title,
            "level": a.level,
            "host": a.host,
            "first": a.time,
            "last": a.last_time,
            "count": a.count,
            "tags": a.tags,
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            id: "a1b2".into(),
            rule_id: "r-1".into(),
            title: "Whoami \"all\"\nexecution".into(),
            level: "high".into(),
            tags: vec!["attack.discovery".into()],
            time: Some("2026-12-07T08:00:00Z".into()),
            last_time: Some("2026-12-07T08:01:00Z".into()),
            host: Some("pc]1".into()),
            record_id: 1,
            source: "x".into(),
            fields: vec![("User".into(), "CHU\\bob".into())],
            count: 2,
        }
    }

    #[test]
    fn receivers_parse_and_name_themselves_without_the_query() {
        assert_eq!(
            Receiver::parse("syslog+tcp://siem.chu.test:6514").expect("ok"),
            Receiver::Syslog {
                host: "siem.chu.test".into(),
                port: 6514,
                tls: false
            }
        );
        let tls = Receiver::parse("syslog+tls://[::1]:6514").expect("ok");
        assert_eq!(tls.label(), "syslog+tls://[::1]:6514");
        let h = Receiver::parse("https://siem.chu.test/in?token=s3cret").expect("ok");
        assert_eq!(h.label(), "https://siem.chu.test/in");
        assert!(Receiver::parse("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "http://siem.chu.test/x",
            "syslog+tcp://siem",
            "syslog+tcp://siem:0",
            "syslog+udp://siem:514",
            "ftp://x",
            "siem:514",
        ] {
            let e = Receiver::parse(bad).expect_err(bad);
            assert!(e.to_string().contains(" / "), "{e}");
        }
    }

    #[test]
    fn the_syslog_message_is_rfc5424_with_escaped_structured_data() {
        let now: Timestamp = "2026-12-07T08:02:03.123456789Z".parse().expect("ts");
        let m = syslog_message("750712184", &alert(), "hygie 1", now);
        assert_eq!(
            m,
            "<35>1 2026-12-07T08:02:03.123457Z hygie1 hygie - alert [hygie@32473 id=\"a1b2\" \
             rule=\"r-1\" level=\"high\" facility=\"750712184\" host=\"pc\\]1\" count=\"2\" \
             first=\"2026-12-07T08:00:00Z\" last=\"2026-12-07T08:01:00Z\"] \u{feff}Hygie alert: \
             Whoami \"all\" execution (level high) on pc]1, 2 matches"
        );
        assert!(!m.contains("bob"), "matched fields are not sent");
        let framed = octet_counted("é");
        assert_eq!(framed, b"2 \xc3\xa9");
        assert_eq!(severity("critical"), 2);
        assert_eq!(severity("informational"), 6);
    }

    #[test]
    fn the_json_body_has_the_webhooks_envelope() {
        let now: Timestamp = "2026-12-07T08:02:03Z".parse().expect("ts");
        let v: serde_json::Value =
            serde_json::from_str(&json_body("750712184", &alert(), now)).expect("json");
        assert_eq!(v["id"], "alert/a1b2");
        assert_eq!(v["type"], EVENT_TYPE);
        assert_eq!(v["data"]["host"], "pc]1");
        assert_eq!(v["data"]["count"], 2);
        assert!(v["data"].get("fields").is_none());
    }
}
