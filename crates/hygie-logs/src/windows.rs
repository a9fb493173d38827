//! Flattening Windows events to the field names SigmaHQ rules use:
//! `EventID`, `Channel`, `Provider_Name`, `Computer`, `TimeCreated`,
//! `EventRecordID` and the EventData / UserData keys.

use serde_json::{Map, Value};

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
fn event_id(v: Value) -> Value {
    match text(v) {
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(s),
        },
        other => other,
    }
}

fn insert_absent(out: &mut Map<String, Value>, k: &str, v: Value) {
    if !out.contains_key(k) {
        out.insert(k.to_string(), v);
    }
}

/// Leaf values of EventData / UserData under their own names; the first
/// occurrence of a name wins. Unnamed `Data` elements stay under `Data`.
fn flatten_data(v: Value, out: &mut Map<String, Value>, depth: usize) {
    let Value::Object(m) = v else {
        if !v.is_null() {
            insert_absent(out, "Data", v);
        }
        return;
    };
    for (k, v) in m {
        if k == "#attributes" {
            continue;
        }
        if k == "#text" {
            insert_absent(out, "Data", v);
            continue;
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
}

/// Flatten an evtx / evtx_dump JSON record (`{"Event": {"System": ..}}`).
/// Returns None when the value does not have that shape.
pub fn flatten_evtx_json(record: Value) -> Option<Map<String, Value>> {
    let Value::Object(mut root) = record else {
        return None;
    };
    let Some(Value::Object(mut event)) = root.remove("Event") else {
        return None;
    };
    let mut out = Map::new();
    if let Some(Value::Object(system)) = event.remove("System") {
        for (k, v) in system {
            match k.as_str() {
                "Provider" => {
                    if let Some(n) = attr(&v, "Name") {
                        out.insert("Provider_Name".into(), n.clone());
                    }
                    if let Some(g) = attr(&v, "Guid") {
                        out.insert("Provider_Guid".into(), g.clone());
                    }
                    if let Some(s) = attr(&v, "EventSourceName") {
                        out.insert("EventSourceName".into(), s.clone());
                    }
                }
                "EventID" => {
                    out.insert("EventID".into(), event_id(v));
                }
                "TimeCreated" => {
                    if let Some(t) = attr(&v, "SystemTime") {
                        out.insert("TimeCreated".into(), t.clone());
                    }
                }
                "Execution" => {
                    if let Some(p) = attr(&v, "ProcessID") {
                        out.insert("ProcessID".into(), p.clone());
                    }
                    if let Some(t) = attr(&v, "ThreadID") {
                        out.insert("ThreadID".into(), t.clone());
                    }
                }
                "Security" => {
                    if let Some(u) = attr(&v, "UserID") {
                        out.insert("UserID".into(), u.clone());
                    }
                }
                "Correlation" => {
                    if let Some(a) = attr(&v, "ActivityID") {
                        out.insert("ActivityID".into(), a.clone());
                    }
                }
                _ => {
                    out.insert(k, text(v));
                }
            }
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(v) = event.remove(section) {
            flatten_data(v, &mut out, 0);
        }
    }
    Some(out)
}

/// Flatten a Winlogbeat / Elastic Common Schema document
/// (`{"winlog": {"channel", "event_id", "event_data": ..}, "@timestamp"}`).
pub fn flatten_winlogbeat(doc: Value) -> Option<Map<String, Value>> {
    let Value::Object(mut root) = doc else {
        return None;
    };
    let Some(Value::Object(mut winlog)) = root.remove("winlog") else {
        return None;
    };
    let mut out = Map::new();
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
            out.insert(to.into(), v);
        }
    }
    if let Some(v) = winlog.remove("event_id") {
        out.insert("EventID".into(), event_id(v));
    } else if let Some(code) = root.get("event").and_then(|e| e.get("code")).cloned() {
        out.insert("EventID".into(), event_id(code));
    }
    if let Some(t) = root.remove("@timestamp") {
        out.insert("TimeCreated".into(), t);
    }
    if !out.contains_key("Computer")
        && let Some(h) = root.get("host").and_then(|h| h.get("name")).cloned()
    {
        out.insert("Computer".into(), h);
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
        let f = flatten_evtx_json(rec).expect("shape");
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
        let f = flatten_evtx_json(rec).expect("shape");
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
        let f = flatten_winlogbeat(doc).expect("shape");
        assert_eq!(f["EventID"], json!(1));
        assert_eq!(f["Channel"], json!("Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(f["Computer"], json!("PC1.chu.test"));
        assert_eq!(f["Image"], json!("C:\\a.exe"));
        assert_eq!(f["TimeCreated"], json!("2025-01-01T00:00:00Z"));
        assert!(flatten_winlogbeat(json!({"a": 1})).is_none());
    }
}
