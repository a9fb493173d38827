//! Flattening Windows events to the field names SigmaHQ rules use:
//! `EventID`, `Channel`, `Provider_Name`, `Computer`, `TimeCreated`,
//! `EventRecordID` and the EventData / UserData keys.

use hygie_detect::{FieldValue, Fields};
use serde_json::Value;

/// `{"#text": x}` -> x; anything else unchanged.
fn text(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("#text") => m.remove("#text").unwrap_or(Value::Null),
        other => other,
    }
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("#attributes")?.get(name)
}

/// EventID as a number when it is one (the `#text` of `<EventID Qualifiers=..>`).
pub(crate) fn event_id(v: Value) -> Value {
    match text(v) {
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(s),
        },
        other => other,
    }
}

fn insert_absent(out: &mut Fields, k: &str, v: Value) {
    out.insert_absent(k, FieldValue::from_json(v));
}

/// Leaf values of EventData / UserData under their own names; the first
/// occurrence of a name wins. Unnamed `Data` elements stay under `Data`.
pub(crate) fn flatten_data(v: Value, out: &mut Fields, depth: usize) {
    let Value::Object(m) = v else {
        if !v.is_null() {
            insert_absent(out, "Data", v);
        }
        return;
    };
    for (k, v) in m {
        data_field(out, k, v, depth);
    }
}

/// Flatten an evtx / evtx_dump JSON record (`{"Event": {"System": ..}}`).
/// Returns None when the value does not have that shape.
pub fn flatten_evtx_json(record: Value) -> Option<Fields> {
    let Value::Object(mut root) = record else {
        return None;
    };
    let Some(Value::Object(mut event)) = root.remove("Event") else {
        return None;
    };
    let mut out = Fields::new();
    if let Some(Value::Object(system)) = event.remove("System") {
        for (k, v) in system {
            system_field(&mut out, k, v);
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(v) = event.remove(section) {
            flatten_data(v, &mut out, 0);
        }
    }
    Some(out)
}

/// Apply one `System` child to the flattened event (same names as
/// [`flatten_evtx_json`]).
fn system_field(out: &mut Fields, k: String, v: Value) {
    match k.as_str() {
        "Provider" => {
            if let Some(n) = attr(&v, "Name") {
                out.insert_json("Provider_Name", n.clone());
            }
            if let Some(g) = attr(&v, "Guid") {
                out.insert_json("Provider_Guid", g.clone());
            }
            if let Some(s) = attr(&v, "EventSourceName") {
                out.insert_json("EventSourceName", s.clone());
            }
        }
        "EventID" => {
            out.insert_json("EventID", event_id(v));
        }
        "TimeCreated" => {
            if let Some(t) = attr(&v, "SystemTime") {
                out.insert_json("TimeCreated", t.clone());
            }
        }
        "Execution" => {
            if let Some(p) = attr(&v, "ProcessID") {
                out.insert_json("ProcessID", p.clone());
            }
            if let Some(t) = attr(&v, "ThreadID") {
                out.insert_json("ThreadID", t.clone());
            }
        }
        "Security" => {
            if let Some(u) = attr(&v, "UserID") {
                out.insert_json("UserID", u.clone());
            }
        }
        "Correlation" => {
            if let Some(a) = attr(&v, "ActivityID") {
                out.insert_json("ActivityID", a.clone());
            }
        }
        _ => {
            out.insert_json(k, text(v));
        }
    }
}

/// One named child of EventData / UserData (see [`flatten_data`]).
fn data_field(out: &mut Fields, k: String, v: Value, depth: usize) {
    if k == "#attributes" {
        return;
    }
    if k == "#text" {
        insert_absent(out, "Data", v);
        return;
    }
    match v {
        Value::Object(ref inner) if depth < 8 && !inner.contains_key("#text") => {
            flatten_data(v, out, depth + 1)
        }
        other => {
            let v = text(other);
            // Defender and a few other providers name data with spaces
            // ("Threat Name"); SigmaHQ rules use the name without them.
            if k.contains(' ') {
                insert_absent(out, &k.replace(' ', ""), v.clone());
            }
            insert_absent(out, &k, v)
        }
    }
}

/// Flatten one record rendered as JSON by the `evtx` crate straight from its
/// bytes, without building the nested document first: the `System`,
/// `EventData` and `UserData` children are streamed into the flat map.
/// Gives the same map as `flatten_evtx_json(serde_json::from_slice(bytes))`;
/// `Ok(None)` when the record has no `Event` object.
pub fn flatten_evtx_json_bytes(bytes: &[u8]) -> serde_json::Result<Option<Fields>> {
    use serde::de::DeserializeSeed;
    let mut out = Fields::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let found = stream::Root(&mut out).deserialize(&mut de)?;
    de.end()?;
    Ok(found.then_some(out))
}

mod stream {
    //! serde seeds that walk a rendered record once, writing flat fields.
    use super::{data_field, insert_absent, system_field};
    use hygie_detect::Fields;
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;
    use std::fmt;

    /// `DeserializeSeed` for a seed that is also its own visitor, for any input.
    macro_rules! seed_visits_itself {
        ($seed:ident, $value:ty) => {
            impl<'de> DeserializeSeed<'de> for $seed<'_> {
                type Value = $value;
                fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                    d.deserialize_any(self)
                }
            }
        };
    }

    /// Visitor methods for any value other than the object looked for: it is skipped, and the
    /// visitor answers `false` (not found).
    macro_rules! not_the_object {
        () => {
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<bool, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(false)
            }
            fn visit_str<E>(self, _: &str) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_unit<E>(self) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
                Ok(false)
            }
        };
    }

    /// `{"Event": {...}}`; yields whether an `Event` object was seen.
    pub(super) struct Root<'a>(pub &'a mut Fields);

    seed_visits_itself!(Root, bool);

    impl<'de> Visitor<'de> for Root<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an EVTX record object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
            let mut found = false;
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if k == "Event" && !found {
                    found = m.next_value_seed(Event(&mut *self.0))?;
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
        not_the_object!();
    }

    /// The `Event` object: `System` first, then the data sections.
    struct Event<'a>(&'a mut Fields);

    seed_visits_itself!(Event, bool);

    impl<'de> Visitor<'de> for Event<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an Event object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
            // Same precedence as the tree flattener: System, then EventData,
            // then UserData. Records render System first and rarely carry
            // UserData, so only EventData after System is streamed; any other
            // section is kept and applied at the end, in that order.
            let mut system_seen = false;
            let mut event_data_seen = false;
            let mut later: Vec<(bool, Value)> = Vec::new();
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                match k.as_ref() {
                    "System" if !system_seen => {
                        system_seen = true;
                        m.next_value_seed(System(&mut *self.0))?;
                    }
                    "EventData" if system_seen && !event_data_seen => {
                        event_data_seen = true;
                        m.next_value_seed(Data(&mut *self.0))?;
                    }
                    "EventData" | "UserData" => {
                        later.push((k == "UserData", m.next_value::<Value>()?));
                    }
                    _ => {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
            }
            later.sort_by_key(|(user, _)| *user);
            for (_, v) in later {
                super::flatten_data(v, self.0, 0);
            }
            Ok(true)
        }
        not_the_object!();
    }

    struct System<'a>(&'a mut Fields);

    impl<'de> DeserializeSeed<'de> for System<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            if let Value::Object(m) = Value::deserialize(d)? {
                for (k, v) in m {
                    system_field(self.0, k, v);
                }
            }
            Ok(())
        }
    }

    /// EventData / UserData at depth 0.
    struct Data<'a>(&'a mut Fields);

    seed_visits_itself!(Data, ());

    impl<'de> Visitor<'de> for Data<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("event data")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            while let Some(k) = m.next_key::<String>()? {
                if k == "#attributes" {
                    m.next_value::<IgnoredAny>()?;
                    continue;
                }
                let v = m.next_value::<Value>()?;
                data_field(self.0, k, v, 0);
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<(), A::Error> {
            let v = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(s))?;
            insert_absent(self.0, "Data", v);
            Ok(())
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            insert_absent(self.0, "Data", Value::String(v.to_owned()));
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_bool<E>(self, v: bool) -> Result<(), E> {
            insert_absent(self.0, "Data", Value::Bool(v));
            Ok(())
        }
        fn visit_i64<E>(self, v: i64) -> Result<(), E> {
            insert_absent(self.0, "Data", Value::from(v));
            Ok(())
        }
        fn visit_u64<E>(self, v: u64) -> Result<(), E> {
            insert_absent(self.0, "Data", Value::from(v));
            Ok(())
        }
        fn visit_f64<E>(self, v: f64) -> Result<(), E> {
            insert_absent(self.0, "Data", Value::from(v));
            Ok(())
        }
    }
}

/// Flatten a Winlogbeat / Elastic Common Schema document
/// (`{"winlog": {"channel", "event_id", "event_data": ..}, "@timestamp"}`).
pub fn flatten_winlogbeat(doc: Value) -> Option<Fields> {
    let Value::Object(mut root) = doc else {
        return None;
    };
    let Some(Value::Object(mut winlog)) = root.remove("winlog") else {
        return None;
    };
    let mut out = Fields::new();
    for (from, to) in [
        ("channel", "Channel"),
        ("provider_name", "Provider_Name"),
        ("provider_guid", "Provider_Guid"),
        ("computer_name", "Computer"),
        ("record_id", "EventRecordID"),
        ("task", "Task"),
        ("opcode", "Opcode"),
        ("version", "Version"),
    ] {
        if let Some(v) = winlog.remove(from) {
            out.insert_json(to, v);
        }
    }
    if let Some(v) = winlog.remove("event_id") {
        out.insert_json("EventID", event_id(v));
    } else if let Some(code) = root.get("event").and_then(|e| e.get("code")).cloned() {
        out.insert_json("EventID", event_id(code));
    }
    if let Some(t) = root.remove("@timestamp") {
        out.insert_json("TimeCreated", t);
    }
    if !out.contains_key("Computer")
        && let Some(h) = root.get("host").and_then(|h| h.get("name")).cloned()
    {
        out.insert_json("Computer", h);
    }
    for section in ["event_data", "user_data"] {
        if let Some(v) = winlog.remove(section) {
            flatten_data(v, &mut out, 0);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evtx_record_flattens_to_sigma_names() {
        let rec = json!({"Event": {"#attributes": {"xmlns": "x"}, "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{g}"}},
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
            "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}},
            "EventRecordID": 42, "Channel": "Security", "Computer": "PC1",
            "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}}},
            "EventData": {"NewProcessName": "C:\\w.exe", "CommandLine": "w", "Threat Name": "EICAR"},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "y"}, "SubjectUserName": "bob"}}}});
        let f = flatten_evtx_json(rec).expect("shape").to_map();
        assert_eq!(f["EventID"], json!(4688));
        assert_eq!(f["Channel"], json!("Security"));
        assert_eq!(
            f["Provider_Name"],
            json!("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(f["Computer"], json!("PC1"));
        assert_eq!(f["TimeCreated"], json!("2025-01-01T00:00:00Z"));
        assert_eq!(f["EventRecordID"], json!(42));
        assert_eq!(f["NewProcessName"], json!("C:\\w.exe"));
        assert_eq!(f["SubjectUserName"], json!("bob"));
        assert_eq!(f["ThreatName"], json!("EICAR"));
        assert_eq!(f["Threat Name"], json!("EICAR"));
        assert_eq!(f["ProcessID"], json!(4));
        assert!(!f.contains_key("xmlns"));
    }

    #[test]
    fn unnamed_data_goes_to_data() {
        let rec = json!({"Event": {"System": {"EventID": 400, "Channel": "Windows PowerShell"},
            "EventData": {"Data": {"#text": ["Available", "None", "HostApplication=powershell"]}}}});
        let f = flatten_evtx_json(rec).expect("shape").to_map();
        assert_eq!(
            f["Data"],
            json!(["Available", "None", "HostApplication=powershell"])
        );
    }

    #[test]
    fn winlogbeat_flattens_to_sigma_names() {
        let doc = json!({"@timestamp": "2025-01-01T00:00:00Z", "host": {"name": "pc1"},
            "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
            "provider_name": "Microsoft-Windows-Sysmon", "computer_name": "PC1.chu.test", "record_id": 7,
            "event_data": {"Image": "C:\\a.exe", "CommandLine": "a"}}});
        let f = flatten_winlogbeat(doc).expect("shape").to_map();
        assert_eq!(f["EventID"], json!(1));
        assert_eq!(f["Channel"], json!("Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(f["Computer"], json!("PC1.chu.test"));
        assert_eq!(f["Image"], json!("C:\\a.exe"));
        assert_eq!(f["TimeCreated"], json!("2025-01-01T00:00:00Z"));
        assert!(flatten_winlogbeat(json!({"a": 1})).is_none());
    }
}
