//! OpenWEC's `Json` output format (ANSSI's Windows Event Collector, cea-sec/openwec,
//! `doc/formats.md`): one JSON object per event, the Windows event's XML already parsed, with
//! `System` at the top level (not under `Event`), plain values where evtx_dump has
//! `#attributes`, and OpenWEC's own `OpenWEC` object:
//!
//! ```json
//! {"System": {"Provider": {"Name": "…", "Guid": "{…}"}, "EventID": 4625, "Version": 0,
//!             "TimeCreated": "2026-12-07T08:00:00.1234567Z", "EventRecordID": 42,
//!             "Execution": {"ProcessID": 4, "ThreadID": 8}, "Channel": "Security",
//!             "Computer": "pc1.chu.test"},
//!  "EventData": {"TargetUserName": "bob", "IpAddress": "203.0.113.7", "Data": ["…"]},
//!  "UserData": "<LogFileCleared xmlns=\"…\"><SubjectUserName>bob</SubjectUserName>…",
//!  "RenderingInfo": {"Message": "…", "Level": "Information", "Culture": "en-US"},
//!  "OpenWEC": {"IpAddress": "192.0.2.10", "TimeReceived": "2026-12-07T09:00:01+01:00",
//!              "Principal": "PC1$@CHU.TEST", "Node": "wec1",
//!              "Subscription": {"Name": "security", "Uuid": "…", "Version": "…", "Uri": "/…"}}}
//! ```
//!
//! [`flatten_openwec`] gives the same Sigma field names as the evtx_dump and Winlogbeat shapes
//! (`EventID`, `Channel`, `Provider_Name`, `Computer`, `TimeCreated`, `EventRecordID`, the
//! EventData names), so a rule fires the same whatever collector carried the event. `UserData`
//! is the raw XML in this format: its leaf elements are read under their own names, as the
//! evtx shape flattens them. What OpenWEC adds keeps its own names, never shadowing an event's
//! field (a 4625's `IpAddress` is the attacker's, `OpenWEC_IpAddress` the forwarding client's):
//! `OpenWEC_IpAddress`, `OpenWEC_Principal`, `OpenWEC_TimeReceived`, `OpenWEC_Node`,
//! `OpenWEC_Subscription` (its name), `OpenWEC_SubscriptionUuid`, and `OpenWEC_Error` when
//! OpenWEC could not parse the event. `RenderingInfo`, `DebugData` and the binary sections are
//! not detection fields and are left out.

use crate::windows::{event_id, flatten_data};
use hygie_detect::{FieldValue, Fields};
use serde_json::Value;

/// Whether a JSON object is in OpenWEC's shape: a top-level `System` object naming an EventID.
pub(crate) fn is_openwec(system: Option<&Value>) -> bool {
    system.is_some_and(|s| s.get("EventID").is_some())
}

/// Flatten an OpenWEC `Json` event; None when the value does not have that shape.
pub fn flatten_openwec(doc: Value) -> Option<Fields> {
    let Value::Object(mut root) = doc else {
        return None;
    };
    let Some(Value::Object(system)) = root.remove("System") else {
        return None;
    };
    let mut out = Fields::new();
    for (k, v) in system {
        system_field(&mut out, k, v);
    }
    if let Some(v) = root.remove("EventData") {
        flatten_data(v, &mut out, 0);
    }
    match root.remove("UserData") {
        Some(Value::String(xml)) => user_data(&xml, &mut out),
        Some(v @ Value::Object(_)) => flatten_data(v, &mut out, 0),
        _ => {}
    }
    if let Some(Value::Object(wec)) = root.remove("OpenWEC") {
        openwec_fields(wec, &mut out);
    }
    Some(out)
}

/// One `System` child, named as the evtx shape names it.
fn system_field(out: &mut Fields, k: String, v: Value) {
    match (k.as_str(), &v) {
        ("Provider", Value::Object(p)) => {
            for (from, to) in [
                ("Name", "Provider_Name"),
                ("Guid", "Provider_Guid"),
                ("EventSourceName", "EventSourceName"),
            ] {
                if let Some(x) = p.get(from) {
                    out.insert_json(to, x.clone());
                }
            }
        }
        ("EventID", _) => out.insert_json("EventID", event_id(v)),
        // The evtx shape drops `<EventID Qualifiers=..>`'s attribute too.
        ("EventIDQualifiers", _) => {}
        ("Execution", Value::Object(e)) => {
            for name in ["ProcessID", "ThreadID"] {
                if let Some(x) = e.get(name) {
                    out.insert_json(name, x.clone());
                }
            }
        }
        ("Correlation", Value::Object(c)) => {
            if let Some(a) = c.get("ActivityID") {
                out.insert_json("ActivityID", a.clone());
            }
        }
        // Anything else (an object in another rendering…) stays whole, as the evtx shape does.
        _ => out.insert_json(k, v),
    }
}

/// `OpenWEC`'s object under `OpenWEC_…` names.
fn openwec_fields(mut wec: serde_json::Map<String, Value>, out: &mut Fields) {
    for name in ["IpAddress", "Principal", "TimeReceived", "Node"] {
        if let Some(v) = wec.remove(name) {
            out.insert_json(format!("OpenWEC_{name}"), v);
        }
    }
    if let Some(Value::Object(s)) = wec.remove("Subscription") {
        if let Some(n) = s.get("Name") {
            out.insert_json("OpenWEC_Subscription", n.clone());
        }
        if let Some(u) = s.get("Uuid") {
            out.insert_json("OpenWEC_SubscriptionUuid", u.clone());
        }
    }
    if let Some(Value::Object(e)) = wec.remove("Error") {
        let part = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
        out.insert(
            "OpenWEC_Error",
            FieldValue::Str(format!("{}: {}", part("Type"), part("Message"))),
        );
    }
}

/// The leaf elements of a `UserData` XML fragment under their local names (the first
/// occurrence wins, as for the evtx shape); XML that does not parse is kept whole under
/// `UserData`, never dropped.
fn user_data(xml: &str, out: &mut Fields) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut leaves: Vec<(String, String)> = Vec::new();
    // The element open now and its text, while it has no child.
    let mut open: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(s)) => {
                open = Some((
                    String::from_utf8_lossy(s.local_name().as_ref()).into_owned(),
                    String::new(),
                ));
            }
            Ok(Event::Empty(s)) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                leaves.push((name, String::new()));
                open = None;
            }
            Ok(Event::Text(t)) => {
                if let Some((_, text)) = &mut open {
                    match t.decode() {
                        Ok(s) => text.push_str(&unescape(&s)),
                        Err(_) => return keep_whole(xml, out),
                    }
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, text)) = &mut open {
                    let name = String::from_utf8_lossy(&r);
                    text.push_str(&unescape(&format!("&{name};")));
                }
            }
            Ok(Event::CData(c)) => {
                if let Some((_, text)) = &mut open {
                    text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Ok(Event::End(_)) => {
                if let Some(leaf) = open.take() {
                    leaves.push(leaf);
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return keep_whole(xml, out),
        }
    }
    for (name, text) in leaves {
        out.insert_absent(&name, FieldValue::Str(text));
    }
}

fn keep_whole(xml: &str, out: &mut Fields) {
    out.insert_absent("UserData", FieldValue::Str(xml.to_owned()));
}

/// The five XML entities and character references; anything else unchanged.
fn unescape(s: &str) -> String {
    quick_xml::escape::unescape(s)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openwec_event_flattens_to_sigma_names_and_keeps_its_own_fields() {
        let doc = json!({"System": {"Provider": {"Name": "Microsoft-Windows-Eventlog",
                "Guid": "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}"}, "EventID": 1102,
                "EventIDQualifiers": 0, "Level": 4, "Keywords": "0x4020000000000000",
                "TimeCreated": "2026-12-07T08:00:00.5Z", "EventRecordID": 77,
                "Correlation": {"ActivityID": "{a}"},
                "Execution": {"ProcessID": 1000, "ThreadID": 2000}, "Channel": "Security",
                "Computer": "dc1.chu.test"},
            "UserData": "<LogFileCleared xmlns=\"http://manifests.microsoft.com/win/2004/08/windows/eventlog\"><SubjectUserSid>S-1-5-21-1</SubjectUserSid><SubjectUserName>bob &amp; co</SubjectUserName><Empty/></LogFileCleared>",
            "RenderingInfo": {"Message": "The audit log was cleared.", "Culture": "en-US"},
            "OpenWEC": {"IpAddress": "192.0.2.10", "TimeReceived": "2026-12-07T09:00:01+01:00",
                "Principal": "DC1$@CHU.TEST", "Node": "wec1",
                "Subscription": {"Name": "security", "Uuid": "8B18D83D", "Version": "v", "Uri": "/s"}}});
        let f = flatten_openwec(doc).expect("shape").to_map();
        assert_eq!(f["EventID"], json!(1102));
        assert_eq!(f["Provider_Name"], json!("Microsoft-Windows-Eventlog"));
        assert_eq!(f["Computer"], json!("dc1.chu.test"));
        assert_eq!(f["TimeCreated"], json!("2026-12-07T08:00:00.5Z"));
        assert_eq!(f["EventRecordID"], json!(77));
        assert_eq!(f["ProcessID"], json!(1000));
        assert_eq!(f["ActivityID"], json!("{a}"));
        assert_eq!(f["SubjectUserName"], json!("bob & co"));
        assert_eq!(f["SubjectUserSid"], json!("S-1-5-21-1"));
        assert_eq!(f["Empty"], json!(""));
        assert_eq!(f["OpenWEC_IpAddress"], json!("192.0.2.10"));
        assert_eq!(f["OpenWEC_Subscription"], json!("security"));
        assert_eq!(f["OpenWEC_Principal"], json!("DC1$@CHU.TEST"));
        assert!(!f.contains_key("EventIDQualifiers"));
        assert!(!f.contains_key("Message"));
        assert!(!f.contains_key("LogFileCleared"));
    }

    #[test]
    fn user_data_that_is_not_xml_is_kept_whole() {
        let doc = json!({"System": {"EventID": "7", "Channel": "X"}, "UserData": "<a><b>1</a>",
            "OpenWEC": {"Error": {"Type": "Parse", "Message": "bad", "OriginalContent": "<x"}}});
        let f = flatten_openwec(doc).expect("shape").to_map();
        assert_eq!(f["EventID"], json!(7));
        assert_eq!(f["UserData"], json!("<a><b>1</a>"));
        assert_eq!(f["OpenWEC_Error"], json!("Parse: bad"));
        assert!(flatten_openwec(json!({"Event": {}})).is_none());
    }
}
