//! Signed webhooks: what Hygie posts to a receiver when a reminder falls due, an incident is
//! opened or a critical alert is recorded, how it is signed, and how a receiver checks it.
//!
//! ## The delivery
//!
//! `POST` to the endpoint's URL, `Content-Type: application/json`, with the headers:
//!
//! - `Hygie-Event`: the event type (`reminder.window`, `reminder.late`, `incident.opened`,
//!   `alert.critical`, `renewal.window`, `renewal.expired`);
//! - `Hygie-Delivery`: the event's id, the same on every retry (a receiver drops the repeats);
//! - `Hygie-Timestamp`: the sending time, Unix seconds (a new one on each attempt);
//! - `Hygie-Signature`: `v1=` and the lower-case hex HMAC-SHA256, keyed by the endpoint's
//!   secret, of `TIMESTAMP.BODY` (the timestamp header, a dot, then the body's bytes exactly).
//!
//! The body ([`Event::body`]) names the facility by FINESS and things by their ids and times,
//! never a person, an incident's title or a host name:
//!
//! ```json
//! {"id":"reminder/INC-750712184-00001/cnil/4h","type":"reminder.window",
//!  "facility":"750712184","created":"2026-12-07T09:00:00Z",
//!  "data":{"incident":"INC-750712184-00001","duty":"cnil","slot":"4h",
//!          "due":"2026-12-07T13:00:00+01:00[Europe/Paris]"}}
//! ```
//!
//! ## Checking a delivery (the receiver)
//!
//! Recompute the HMAC over `TIMESTAMP.BODY`, compare in constant time, and refuse a timestamp
//! more than five minutes away from the receiver's clock ([`REPLAY_WINDOW`]): a captured
//! delivery replayed later is refused even though its signature is right. [`verify`] is that
//! logic; in Python:
//!
//! ```python
//! import hmac, hashlib, time
//! def verify(secret: bytes, timestamp: str, signature: str, body: bytes) -> bool:
//!     if abs(time.time() - int(timestamp)) > 300:
//!         return False                      # outside the replay window
//!     mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
//!     return hmac.compare_digest("v1=" + mac, signature)
//! ```
//!
//! ## Retries
//!
//! An attempt succeeds on a 2xx answer. Otherwise the next one waits [`backoff`]: the
//! endpoint's base delay doubled at each attempt (capped at a day), up to its `max_attempts`;
//! then the delivery is failed and shown as such in the web app.
//!
//! Pure: the configuration is parsed from text, the caller reads the files and the clock.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use sha2::Sha256;

/// How far a delivery's timestamp may be from the receiver's clock: five minutes.
pub const REPLAY_WINDOW: SignedDuration = SignedDuration::from_secs(300);

/// The header names.
pub const HEADER_EVENT: &str = "Hygie-Event";
pub const HEADER_DELIVERY: &str = "Hygie-Delivery";
pub const HEADER_TIMESTAMP: &str = "Hygie-Timestamp";
pub const HEADER_SIGNATURE: &str = "Hygie-Signature";

/// Longest wait between two attempts.
const MAX_BACKOFF: SignedDuration = SignedDuration::from_hours(24);

/// A configuration error: the file, the field and what is wrong, in English and French.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {field}: {en} / {fr}")]
pub struct ConfigError {
    pub file: String,
    pub field: String,
    pub en: String,
    pub fr: String,
}

/// One receiver, as checked at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its name: in the journal and on the deliveries page.
    pub name: String,
    pub url: http::Uri,
    /// Only this facility's events; every facility's when `None`.
    pub facility: Option<hygie_core::Finess>,
    /// The file holding the secret (read by the caller, never stored).
    pub secret_file: std::path::PathBuf,
    /// The CA certificates (PEM) this endpoint's `https` certificate is checked against
    /// instead of the system's roots (a hospital's own CA); read by the caller at start.
    pub ca_cert: Option<std::path::PathBuf>,
    /// Event types sent; all when empty.
    pub events: Vec<EventType>,
    pub max_attempts: u32,
    pub backoff: SignedDuration,
    /// At most this many deliveries waiting for this endpoint; further events are failed
    /// at once ("queue full") rather than growing the queue without end.
    pub queue_limit: u32,
}

impl Endpoint {
    /// Whether this endpoint takes `kind` events of `facility`.
    pub fn wants(&self, kind: EventType, facility: &str) -> bool {
        (self.events.is_empty() || self.events.contains(&kind))
            && self
                .facility
                .as_ref()
                .is_none_or(|f| f.as_str() == facility)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    endpoint: Vec<EndpointShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointShape {
    name: String,
    url: String,
    facility: Option<String>,
    secret_file: std::path::PathBuf,
    ca_cert: Option<std::path::PathBuf>,
    #[serde(default)]
    events: Vec<String>,
    max_attempts: Option<u32>,
    backoff_seconds: Option<u64>,
    queue_limit: Option<u32>,
}

/// Parse and check the webhooks file (`[[endpoint]]` tables; the README shows one). `file`
/// names it in errors; a relative `secret_file` is taken from the file's directory.
pub fn parse_config(file: &std::path::Path, text: &str) -> Result<Vec<Endpoint>, ConfigError> {
    let fname = file.display().to_string();
    let err = |field: String, en: String, fr: String| ConfigError {
        file: fname.clone(),
        field,
        en,
        fr,
    };
    let shape: FileShape = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        err(
            line.map_or_else(|| "(file)".into(), |l| format!("line {l}")),
            e.message().to_owned(),
            format!("fichier TOML invalide : {}", e.message()),
        )
    })?;
    let dir = file.parent().unwrap_or(std::path::Path::new("."));
    let mut out: Vec<Endpoint> = Vec::new();
    for (i, e) in shape.endpoint.into_iter().enumerate() {
        let at = |f: &str| format!("endpoint[{i}].{f}");
        let name = e.name.trim().to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(err(
                at("name"),
                format!("'{name}': use letters, digits, '-', '_' or '.'"),
                format!("« {name} » : lettres, chiffres, « - », « _ » ou « . »"),
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(err(
                at("name"),
                format!("'{name}' is used twice"),
                format!("« {name} » est utilisé deux fois"),
            ));
        }
        let url = check_url(&e.url).map_err(|(en, fr)| {
            err(
                at("url"),
                format!("'{}': {en}", e.url),
                format!("« {} » : {fr}", e.url),
            )
        })?;
        let facility = e
            .facility
            .as_deref()
            .map(hygie_core::Finess::parse)
            .transpose()
            .map_err(|x| err(at("facility"), x.to_string(), x.to_string()))?;
        let mut events = Vec::new();
        for (j, s) in e.events.iter().enumerate() {
            let k = EventType::parse(s).ok_or_else(|| {
                err(
                    at(&format!("events[{j}]")),
                    format!("'{s}' is not one of {}", EventType::names()),
                    format!("« {s} » n'est pas l'un de {}", EventType::names()),
                )
            })?;
            events.push(k);
        }
        let max_attempts = e.max_attempts.unwrap_or(8);
        if !(1..=50).contains(&max_attempts) {
            return Err(err(
                at("max_attempts"),
                format!("{max_attempts}: between 1 and 50"),
                format!("{max_attempts} : entre 1 et 50"),
            ));
        }
        let backoff_secs = e.backoff_seconds.unwrap_or(30);
        if backoff_secs > 86_400 {
            return Err(err(
                at("backoff_seconds"),
                format!("{backoff_secs}: at most 86400 (a day)"),
                format!("{backoff_secs} : au plus 86400 (un jour)"),
            ));
        }
        let queue_limit = e.queue_limit.unwrap_or(1000);
        if queue_limit == 0 {
            return Err(err(
                at("queue_limit"),
                "0: at least 1".into(),
                "0 : au moins 1".into(),
            ));
        }
        let secret_file = if e.secret_file.is_absolute() {
            e.secret_file
        } else {
            dir.join(e.secret_file)
        };
        if e.ca_cert.is_some() && url.scheme_str() != Some("https") {
            return Err(err(
                at("ca_cert"),
                "a CA file only applies to an https url".into(),
                "un fichier d'AC ne s'applique qu'à une url https".into(),
            ));
        }
        let ca_cert = e
            .ca_cert
            .map(|p| if p.is_absolute() { p } else { dir.join(p) });
        out.push(Endpoint {
            name,
            url,
            facility,
            secret_file,
            ca_cert,
            events,
            max_attempts,
            backoff: SignedDuration::from_secs(i64::try_from(backoff_secs).unwrap_or(86_400)),
            queue_limit,
        });
    }
    if out.is_empty() {
        return Err(err(
            "endpoint".into(),
            "no [[endpoint]] table".into(),
            "aucune table [[endpoint]]".into(),
        ));
    }
    Ok(out)
}

/// An `https` URL, or `http` to a loopback address (a receiver on the same machine, the
/// tests): anything else would carry the events in clear over a network.
fn check_url(s: &str) -> Result<http::Uri, (String, String)> {
    let uri: http::Uri = s
        .parse()
        .map_err(|e| (format!("not a URL ({e})"), format!("pas une URL ({e})")))?;
    let host = uri
        .host()
        .ok_or_else(|| ("no host".to_owned(), "pas d'hôte".to_owned()))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err((
            "http only towards a loopback address (127.0.0.1, ::1, localhost); use https".into(),
            "http seulement vers une adresse de bouclage (127.0.0.1, ::1, localhost) ; utilisez https".into(),
        )),
        _ => Err(("the URL must start with https://".into(), "l'URL doit commencer par https://".into())),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An obligation entered a window before its deadline.
    ReminderWindow,
    /// An obligation is late.
    ReminderLate,
    IncidentOpened,
    /// An alert of level `critical` was recorded.
    AlertCritical,
    /// A recurring measure's declaration expires within a window (`crate::renewal`).
    RenewalWindow,
    /// A recurring measure's declaration has expired.
    RenewalExpired,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::ReminderWindow,
        EventType::ReminderLate,
        EventType::IncidentOpened,
        EventType::AlertCritical,
        EventType::RenewalWindow,
        EventType::RenewalExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ReminderWindow => "reminder.window",
            EventType::ReminderLate => "reminder.late",
            EventType::IncidentOpened => "incident.opened",
            EventType::AlertCritical => "alert.critical",
            EventType::RenewalWindow => "renewal.window",
            EventType::RenewalExpired => "renewal.expired",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    fn names() -> String {
        EventType::ALL.map(EventType::as_str).join(", ")
    }
}

/// One event to deliver: its id (the same on every retry and every endpoint), type, facility,
/// time and data (ids and times only).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: EventType,
    pub facility: String,
    pub created: Timestamp,
    pub data: serde_json::Value,
}

impl Event {
    /// The reminder event of `r` (the same identity as the e-mail's: `reminder/KEY`).
    pub fn reminder(r: &crate::Reminder<'_>, now: Timestamp) -> Event {
        let kind = match r.slot {
            crate::Slot::Late => EventType::ReminderLate,
            crate::Slot::Before(_) => EventType::ReminderWindow,
        };
        Event {
            id: format!("reminder/{}", r.key()),
            kind,
            facility: r.incident.facts.facility.clone(),
            created: now,
            data: serde_json::json!({
                "incident": r.incident.id,
                "duty": r.obligation.duty.as_str(),
                "slot": r.slot.label(),
                "due": r.obligation.due.as_ref().map(hygie_incident::clock::rfc3339),
            }),
        }
    }

    /// The renewal event of `r` (the same identity as the e-mail's: `reminder/KEY`): the
    /// measure, the slot, the declaration's date and its expiry (not its owner).
    pub fn renewal(r: &crate::renewal::Renewal, now: Timestamp) -> Event {
        let kind = match r.slot {
            crate::renewal::RenewalSlot::Expired => EventType::RenewalExpired,
            crate::renewal::RenewalSlot::Before(_) => EventType::RenewalWindow,
        };
        Event {
            id: format!("reminder/{}", r.key()),
            kind,
            facility: r.facility.clone(),
            created: now,
            data: serde_json::json!({
                "measure": r.measure.as_str(),
                "slot": r.slot.label(),
                "declared_at": r.declared_at.to_string(),
                "expires": r.expires.to_string(),
            }),
        }
    }

    /// A new incident: its id, awareness time, whether personal data are breached, and the
    /// duties it owes with their deadlines (not its title nor its facts, which may name people).
    pub fn incident_opened(inc: &hygie_incident::Incident, now: Timestamp) -> Event {
        let duties: Vec<_> = inc
            .obligations(now)
            .unwrap_or_default()
            .iter()
            .filter(|o| o.due.is_some())
            .map(|o| {
                serde_json::json!({
                    "duty": o.duty.as_str(),
                    "status": o.status.as_str(),
                    "due": o.due.as_ref().map(hygie_incident::clock::rfc3339),
                })
            })
            .collect();
        Event {
            id: format!("incident/{}", inc.id),
            kind: EventType::IncidentOpened,
            facility: inc.facts.facility.clone(),
            created: now,
            data: serde_json::json!({
                "incident": inc.id,
                "awareness": hygie_incident::clock::rfc3339(&inc.facts.awareness),
                "personal_data_breach": inc.facts.personal_data_breach.as_str(),
                "obligations": duties,
            }),
        }
    }

    /// A new alert of level `critical`, `None` for another level: its id, rule, first and last
    /// event times and count (not its host, title or fields, which may name people).
    pub fn critical_alert(facility: &str, a: &hygie_core::Alert, now: Timestamp) -> Option<Event> {
        if !a.level.eq_ignore_ascii_case("critical") {
            return None;
        }
        Some(Event {
            id: format!("alert/{}", a.id),
            kind: EventType::AlertCritical,
            facility: facility.to_owned(),
            created: now,
            data: serde_json::json!({
                "alert": a.id,
                "rule": a.rule_id,
                "level": a.level,
                "first": a.time,
                "last": a.last_time,
                "count": a.count,
            }),
        })
    }

    /// The body posted: compact JSON, keys in a fixed order.
    pub fn body(&self) -> String {
        serde_json::json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "facility": self.facility,
            "created": self.created.to_string(),
            "data": self.data,
        })
        .to_string()
    }
}

/// `v1=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, &timestamp.to_string(), body))
    )
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The timestamp header is not a number.
    BadTimestamp,
    /// Further than [`REPLAY_WINDOW`] from `now`: a replay, or a clock far off.
    OutsideWindow,
    /// The signature does not match the body and timestamp under the secret.
    BadSignature,
}

/// The receiver's check, as documented above: the signature over `timestamp.body`, compared
/// in constant time, and the timestamp within [`REPLAY_WINDOW`] of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<(), Refused> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refused::BadTimestamp)?;
    if (now.as_second() - ts).abs() > REPLAY_WINDOW.as_secs() {
        return Err(Refused::OutsideWindow);
    }
    let hex = signature.strip_prefix("v1=").ok_or(Refused::BadSignature)?;
    let given = hex::decode(hex).map_err(|_| Refused::BadSignature)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| Refused::BadSignature)?;
    m.update(timestamp.trim().as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&given).map_err(|_| Refused::BadSignature)
}

/// The wait after the `attempt`-th failed attempt (1-based): `base` × 2^(attempt−1), at most
/// a day.
pub fn backoff(base: SignedDuration, attempt: u32) -> SignedDuration {
    let factor = 1i64 << attempt.saturating_sub(1).min(20);
    let secs = base.as_secs().saturating_mul(factor);
    SignedDuration::from_secs(secs).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn one(text: &str) -> Result<Vec<Endpoint>, ConfigError> {
        parse_config(Path::new("/etc/hygie/webhooks.toml"), text)
    }

    #[test]
    fn a_signed_delivery_verifies_and_a_replay_does_not() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let body = br#"{"id":"x"}"#;
        let sig = sign(b"s3cret", now.as_second(), body);
        let ts = now.as_second().to_string();
        assert_eq!(verify(b"s3cret", &ts, &sig, body, now), Ok(()));
        assert_eq!(
            verify(b"other", &ts, &sig, body, now),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify(b"s3cret", &ts, &sig, br#"{"id":"y"}"#, now),
            Err(Refused::BadSignature)
        );
        let later = now + SignedDuration::from_secs(301);
        assert_eq!(
            verify(b"s3cret", &ts, &sig, body, later),
            Err(Refused::OutsideWindow)
        );
        assert_eq!(
            verify(b"s3cret", "soon", &sig, body, now),
            Err(Refused::BadTimestamp)
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_day() {
        let b = SignedDuration::from_secs(30);
        assert_eq!(backoff(b, 1).as_secs(), 30);
        assert_eq!(backoff(b, 2).as_secs(), 60);
        assert_eq!(backoff(b, 4).as_secs(), 240);
        assert_eq!(backoff(b, 40), MAX_BACKOFF);
    }

    #[test]
    fn the_file_is_checked_field_by_field() {
        let ok = one(
            "[[endpoint]]\nname = \"siem\"\nurl = \"https://siem.example/hook\"\nsecret_file = \"siem.secret\"\nfacility = \"750712184\"\nevents = [\"incident.opened\"]\n",
        )
        .unwrap();
        assert_eq!(ok[0].secret_file, Path::new("/etc/hygie/siem.secret"));
        assert_eq!(ok[0].ca_cert, None);
        let with_ca = one("[[endpoint]]\nname = \"x\"\nurl = \"https://a/h\"\nsecret_file = \"s\"\nca_cert = \"ca.pem\"\n").unwrap();
        assert_eq!(
            with_ca[0].ca_cert.as_deref(),
            Some(Path::new("/etc/hygie/ca.pem"))
        );
        let e = one("[[endpoint]]\nname = \"l\"\nurl = \"http://127.0.0.1:9/h\"\nsecret_file = \"s\"\nca_cert = \"ca.pem\"\n").unwrap_err();
        assert_eq!(e.field, "endpoint[0].ca_cert");
        assert!(ok[0].wants(EventType::IncidentOpened, "750712184"));
        assert!(!ok[0].wants(EventType::AlertCritical, "750712184"));
        assert!(!ok[0].wants(EventType::IncidentOpened, "130786049"));
        assert!(
            one(
                "[[endpoint]]\nname = \"l\"\nurl = \"http://127.0.0.1:9/h\"\nsecret_file = \"s\"\n"
            )
            .is_ok()
        );
        let e = one(
            "[[endpoint]]\nname = \"x\"\nurl = \"http://siem.example/h\"\nsecret_file = \"s\"\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "endpoint[0].url");
        assert!(
            e.to_string()
                .starts_with("/etc/hygie/webhooks.toml: endpoint[0].url:")
        );
        let e = one("[[endpoint]]\nname = \"x\"\nurl = \"https://a/h\"\nsecret_file = \"s\"\nevents = [\"everything\"]\n").unwrap_err();
        assert_eq!(e.field, "endpoint[0].events[0]");
        let e = one("[[endpoint]]\nname = \"x\"\nurl = \"https://a/h\"\n").unwrap_err();
        assert!(e.en.contains("secret_file"), "{e}");
        let e = one("[[endpoint]]\nname = \"x\"\nurl = \"https://a/h\"\nsecret_file = \"s\"\nmax_attempts = 0\n").unwrap_err();
        assert_eq!(e.field, "endpoint[0].max_attempts");
        assert!(one("").is_err());
    }
}
