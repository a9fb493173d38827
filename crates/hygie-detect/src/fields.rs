//! The fields of one event: a flat, ordered list of (name, value) pairs, read by RSigma through
//! its [`Event`] trait.
//!
//! Why not `serde_json::Value`: the `evtx` crate turns on serde_json's `preserve_order`, so every
//! object is an `IndexMap` hashed with SipHash, and each event paid for a hash table it used a
//! few dozen times. Here a field is found by comparing a 32-bit hash of its name in a short
//! vector (a Windows event has 10 to 40 fields), and a JSON line is read straight into the list
//! ([`Fields::from_json_str`]). Values that are not scalars (arrays, nested objects) stay JSON and
//! are reached through RSigma's own dot-path walker, so `a.b` and `a[0]` keep their meaning.

use rsigma_eval::JsonEvent;
use rsigma_eval::event::{Event, EventValue};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// One field's value: the scalars Sigma compares, or any other JSON kept as it came.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// Arrays, objects, and integers beyond `i64`.
    Json(Box<Value>),
}

impl FieldValue {
    pub fn from_json(v: Value) -> FieldValue {
        match v {
            Value::String(s) => FieldValue::Str(s),
            Value::Bool(b) => FieldValue::Bool(b),
            Value::Null => FieldValue::Null,
            Value::Number(n) => number(n),
            other => FieldValue::Json(Box::new(other)),
        }
    }

    pub fn into_json(self) -> Value {
        match self {
            FieldValue::Str(s) => Value::String(s),
            FieldValue::Json(v) => *v,
            other => other.to_json(),
        }
    }

    /// The value as JSON (a copy).
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Str(s) => Value::String(s.clone()),
            FieldValue::Int(n) => Value::from(*n),
            FieldValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Null => Value::Null,
            FieldValue::Json(v) => (**v).clone(),
        }
    }

    /// Strings as they are, numbers and booleans in their JSON form; `None` for null, arrays
    /// and objects.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            FieldValue::Str(s) => Some(Cow::Borrowed(s)),
            FieldValue::Int(n) => Some(Cow::Owned(n.to_string())),
            FieldValue::Float(f) => Some(Cow::Owned(
                Number::from_f64(*f).map_or_else(|| f.to_string(), |n| n.to_string()),
            )),
            FieldValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            FieldValue::Json(v) => match &**v {
                Value::Number(n) => Some(Cow::Owned(n.to_string())),
                _ => None,
            },
            FieldValue::Null => None,
        }
    }

    fn event_value(&self) -> EventValue<'_> {
        match self {
            FieldValue::Str(s) => EventValue::Str(Cow::Borrowed(s)),
            FieldValue::Int(n) => EventValue::Int(*n),
            FieldValue::Float(f) => EventValue::Float(*f),
            FieldValue::Bool(b) => EventValue::Bool(*b),
            FieldValue::Null => EventValue::Null,
            FieldValue::Json(v) => EventValue::from(&**v),
        }
    }
}

fn number(n: Number) -> FieldValue {
    if let Some(i) = n.as_i64() {
        FieldValue::Int(i)
    } else if n.is_f64() {
        FieldValue::Float(n.as_f64().unwrap_or(f64::NAN))
    } else {
        FieldValue::Json(Box::new(Value::Number(n)))
    }
}

/// A fixed seed: the hashes never leave the process, and a seed from the OS would make every
/// event pay for reading it.
const KEY_HASH: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x0048_7967_6965);

fn key_hash(name: &str) -> u32 {
    KEY_HASH.hash_one(name) as u32
}

/// The fields of one event, in the order they were read. A name appears once: setting it again
/// replaces its value in place, as a JSON object does.
#[derive(Debug, Default)]
pub struct Fields {
    names: Vec<String>,
    values: Vec<FieldValue>,
    /// `key_hash` of each name.
    hashes: Vec<u32>,
    /// Open-addressing table over the names: entry index + 1, 0 for free; its length is a power
    /// of two at least twice the number of fields, so that a name that is not there (most of
    /// RSigma's probes) is known after a slot or two.
    table: Vec<u32>,
    /// Whether some value is an array or an object (dot paths may then reach into it).
    nested: bool,
    /// The whole event as JSON, built on the first dot-path lookup into a nested value.
    json: OnceLock<Value>,
}

impl Clone for Fields {
    fn clone(&self) -> Self {
        Fields {
            names: self.names.clone(),
            values: self.values.clone(),
            hashes: self.hashes.clone(),
            table: self.table.clone(),
            nested: self.nested,
            json: OnceLock::new(),
        }
    }
}

/// As JSON objects compare: the same names with the same values, in any order.
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn with_capacity(n: usize) -> Fields {
        Fields {
            names: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            table: vec![0; (n * 2).next_power_of_two().max(16)],
            ..Fields::default()
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn position_hashed(&self, name: &str, h: u32) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut at = h as usize & mask;
        loop {
            let i = self.table[at].checked_sub(1)? as usize;
            if self.hashes[i] == h && self.names[i] == name {
                return Some(i);
            }
            at = (at + 1) & mask;
        }
    }

    /// Appends a field known not to be there yet.
    fn push(&mut self, name: String, value: FieldValue, h: u32) {
        if matches!(value, FieldValue::Json(_)) {
            self.nested = true;
        }
        self.names.push(name);
        self.values.push(value);
        self.hashes.push(h);
        if self.names.len() * 2 > self.table.len() {
            self.table = vec![0; (self.names.len() * 2).next_power_of_two().max(16)];
            for i in 0..self.hashes.len() {
                self.place(i);
            }
        } else {
            self.place(self.names.len() - 1);
        }
    }

    fn place(&mut self, i: usize) {
        let mask = self.table.len() - 1;
        let mut at = self.hashes[i] as usize & mask;
        while self.table[at] != 0 {
            at = (at + 1) & mask;
        }
        // Fields beyond u32::MAX would not fit in memory first.
        self.table[at] = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.position_hashed(name, key_hash(name))
    }

    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.position(name).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut FieldValue> {
        self.position(name).map(|i| &mut self.values[i])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name`, replacing its value where it already is.
    pub fn insert(&mut self, name: impl Into<String> + AsRef<str>, value: FieldValue) {
        let h = key_hash(name.as_ref());
        match self.position_hashed(name.as_ref(), h) {
            Some(i) => {
                self.nested |= matches!(value, FieldValue::Json(_));
                self.values[i] = value;
            }
            None => self.push(name.into(), value, h),
        }
        if self.json.get().is_some() {
            self.json = OnceLock::new();
        }
    }

    /// Sets `name` only when it is not there yet.
    pub fn insert_absent(&mut self, name: &str, value: FieldValue) {
        if !self.contains_key(name) {
            self.insert(name, value);
        }
    }

    pub fn insert_json(&mut self, name: impl Into<String> + AsRef<str>, value: Value) {
        self.insert(name, FieldValue::from_json(value));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter())
    }

    /// The fields as a JSON object (a copy, in order).
    pub fn to_json(&self) -> Value {
        Value::Object(self.to_map())
    }

    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect()
    }

    /// The fields as a JSON object, moved rather than copied.
    pub fn into_map(self) -> Map<String, Value> {
        self.names
            .into_iter()
            .zip(self.values)
            .map(|(k, v)| (k, v.into_json()))
            .collect()
    }

    pub fn from_map(map: Map<String, Value>) -> Fields {
        let mut f = Fields::with_capacity(map.len());
        for (k, v) in map {
            // A map's keys are distinct: no need to look for an earlier one.
            let h = key_hash(&k);
            f.push(k, FieldValue::from_json(v), h);
        }
        f
    }

    /// Reads one JSON text into fields. `Ok(None)` when it is valid JSON but not an object.
    pub fn from_json_str(text: &str) -> serde_json::Result<Option<Fields>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = de::Deserializer::deserialize_any(&mut de, TopLevel)?;
        de.end()?;
        Ok(fields)
    }

    fn nested_json(&self) -> &Value {
        self.json.get_or_init(|| self.to_json())
    }
}

impl serde::Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            match v {
                FieldValue::Str(x) => m.serialize_entry(k, x)?,
                FieldValue::Int(x) => m.serialize_entry(k, x)?,
                FieldValue::Float(x) => m.serialize_entry(k, x)?,
                FieldValue::Bool(x) => m.serialize_entry(k, x)?,
                FieldValue::Null => m.serialize_entry(k, &())?,
                FieldValue::Json(x) => m.serialize_entry(k, x)?,
            }
        }
        m.end()
    }
}

/// The top of a JSON text: an object becomes fields, anything else `None`.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Option<Fields>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::with_capacity(m.size_hint().unwrap_or(32));
        while let Some(name) = m.next_key::<Cow<'de, str>>()? {
            let value = m.next_value_seed(Scalar)?;
            fields.insert(name.into_owned(), value);
        }
        Ok(Some(fields))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One field's value: scalars read directly, arrays and objects as JSON.
struct Scalar;

impl<'de> DeserializeSeed<'de> for Scalar {
    type Value = FieldValue;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar {
    type Value = FieldValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<FieldValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => FieldValue::Int(i),
            Err(_) => FieldValue::Json(Box::new(Value::from(v))),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Float(v))
    }
    fn visit_unit<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, s: A) -> Result<FieldValue, A::Error> {
        let v = serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(s))?;
        Ok(FieldValue::Json(Box::new(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<FieldValue, A::Error> {
        let v = serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(m))?;
        Ok(FieldValue::Json(Box::new(v)))
    }
}

/// A value found inside nested JSON, detached from the temporary walker that found it.
fn detach(v: EventValue<'_>) -> EventValue<'static> {
    match v {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.into_owned())),
        EventValue::Int(n) => EventValue::Int(n),
        EventValue::Float(f) => EventValue::Float(f),
        EventValue::Bool(b) => EventValue::Bool(b),
        EventValue::Null => EventValue::Null,
        EventValue::Array(a) => EventValue::Array(a.into_iter().map(detach).collect()),
        EventValue::Map(m) => EventValue::Map(
            m.into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), detach(v)))
                .collect(),
        ),
    }
}

fn visit_json_strings(v: &Value, visit: &mut dyn FnMut(&str), depth: usize) {
    if depth == 0 {
        return;
    }
    match v {
        Value::String(s) => visit(s),
        Value::Array(a) => a
            .iter()
            .for_each(|x| visit_json_strings(x, visit, depth - 1)),
        Value::Object(m) => m
            .values()
            .for_each(|x| visit_json_strings(x, visit, depth - 1)),
        _ => {}
    }
}

/// RSigma's own bound on nesting for keyword search.
const MAX_DEPTH: usize = 64;

impl Event for Fields {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(v) = self.get(path) {
            return Some(v.event_value());
        }
        // A dot path can only reach into an array or an object; RSigma walks it the way it
        // walks any JSON event.
        if self.nested && (path.contains('.') || path.contains('[') || path.contains('\\')) {
            return JsonEvent::borrow(self.nested_json())
                .get_field(path)
                .map(detach);
        }
        None
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        self.visit_string_values(&mut |s| found = found || pred(s));
        found
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        for v in &self.values {
            match v {
                FieldValue::Str(s) => out.push(Cow::Borrowed(s.as_str())),
                FieldValue::Json(j) => {
                    visit_json_strings(j, &mut |s| out.push(Cow::Owned(s.to_owned())), MAX_DEPTH)
                }
                _ => {}
            }
        }
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        for v in &self.values {
            match v {
                FieldValue::Str(s) => visit(s),
                FieldValue::Json(j) => visit_json_strings(j, visit, MAX_DEPTH - 1),
                _ => {}
            }
        }
    }

    fn to_json(&self) -> Value {
        Fields::to_json(self)
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        if self.nested {
            return JsonEvent::borrow(self.nested_json())
                .field_keys()
                .into_iter()
                .map(|k| Cow::Owned(k.into_owned()))
                .collect();
        }
        self.names
            .iter()
            .map(|k| Cow::Borrowed(k.as_str()))
            .collect()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(
            self.names
                .iter()
                .map(|k| Cow::Borrowed(k.as_str()))
                .collect(),
        )
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.names.iter().for_each(|k| visit(k));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"EventID": 4688, "Channel": "Security", "CommandLine": "whoami /all",
            "Ratio": 0.5, "Elevated": true, "Parent": null, "Big": 18446744073709551615u64,
            "Data": ["a", "b"], "actor": {"id": "u1", "roles": [{"name": "admin"}]}})
    }

    /// Whatever RSigma's JSON event answers, the fields answer the same.
    #[test]
    fn lookups_agree_with_rsigmas_json_event() {
        let doc = sample();
        let fields = Fields::from_json_str(&doc.to_string())
            .expect("json")
            .expect("object");
        assert_eq!(
            fields,
            Fields::from_map(doc.as_object().expect("obj").clone())
        );
        let mut reordered = Fields::new();
        for (k, v) in fields.iter().collect::<Vec<_>>().into_iter().rev() {
            reordered.insert(k, v.clone());
        }
        assert_eq!(fields, reordered);
        reordered.insert("Channel", FieldValue::Str("System".into()));
        assert_ne!(fields, reordered);
        let reference = JsonEvent::borrow(&doc);
        for path in [
            "EventID",
            "Channel",
            "CommandLine",
            "Ratio",
            "Elevated",
            "Parent",
            "Big",
            "Data",
            "Data[1]",
            "actor",
            "actor.id",
            "actor.roles.name",
            "actor.roles[0].name",
            "actor.missing",
            "missing",
            "Channel.x",
            "",
            ".",
            "a\\.b",
        ] {
            assert_eq!(
                Event::get_field(&fields, path),
                reference.get_field(path),
                "path {path:?}"
            );
        }
        let mut ours = Vec::new();
        fields.visit_string_values(&mut |s| ours.push(s.to_string()));
        let mut theirs = Vec::new();
        reference.visit_string_values(&mut |s| theirs.push(s.to_string()));
        assert_eq!(ours, theirs);
        assert_eq!(fields.all_string_values(), reference.all_string_values(),);
        assert_eq!(fields.field_keys(), reference.field_keys());
        assert_eq!(fields.top_level_keys(), reference.top_level_keys());
        assert_eq!(Event::to_json(&fields), doc);
        assert_eq!(Value::Object(fields.clone().into_map()), doc);
        assert!(fields.any_string_value(&|s| s == "admin"));
        assert!(!fields.any_string_value(&|s| s == "nobody"));
    }

    #[test]
    fn a_repeated_name_keeps_its_place_and_the_last_value() {
        let f = Fields::from_json_str(r#"{"a": 1, "b": 2, "a": "x"}"#)
            .expect("json")
            .expect("object");
        let got: Vec<(&str, Value)> = f.iter().map(|(k, v)| (k, v.to_json())).collect();
        assert_eq!(got, vec![("a", json!("x")), ("b", json!(2))]);
        let via_serde: Value = serde_json::from_str(r#"{"a": 1, "b": 2, "a": "x"}"#).expect("json");
        assert_eq!(f.to_json(), via_serde);
    }

    #[test]
    fn many_fields_are_all_found_as_the_table_grows() {
        let mut f = Fields::new();
        for i in 0..2000 {
            f.insert(format!("field{i}"), FieldValue::Int(i));
            assert_eq!(f.get(&format!("field{i}")), Some(&FieldValue::Int(i)));
        }
        for i in 0..2000 {
            assert_eq!(
                f.get(&format!("field{i}")),
                Some(&FieldValue::Int(i)),
                "{i}"
            );
            assert!(!f.contains_key(&format!("absent{i}")));
        }
        f.insert("field7", FieldValue::Null);
        assert_eq!(f.len(), 2000);
        assert_eq!(f.get("field7"), Some(&FieldValue::Null));
        let text = serde_json::to_string(&f).expect("serialize");
        assert_eq!(Fields::from_json_str(&text).expect("json"), Some(f));
    }

    #[test]
    fn non_objects_and_bad_json() {
        for text in ["[1, 2]", "\"s\"", "3", "null", "true"] {
            assert_eq!(Fields::from_json_str(text).expect("valid"), None, "{text}");
        }
        for text in ["{", "{\"a\": }", "{} x", "{\"a\": 1,}"] {
            assert!(Fields::from_json_str(text).is_err(), "{text}");
        }
        // Nesting deep enough to exhaust a thread's stack is refused, not followed.
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Fields::from_json_str(&deep).is_err());
    }

    #[test]
    fn insert_absent_and_text() {
        let mut f = Fields::new();
        f.insert("EventID", FieldValue::Int(1));
        f.insert_absent("EventID", FieldValue::Int(2));
        f.insert_absent("Data", FieldValue::Str("d".into()));
        assert_eq!(f.get("EventID"), Some(&FieldValue::Int(1)));
        assert_eq!(
            f.get("Data").and_then(FieldValue::as_text).as_deref(),
            Some("d")
        );
        assert_eq!(FieldValue::Bool(true).as_text().as_deref(), Some("true"));
        assert_eq!(FieldValue::Null.as_text(), None);
        assert_eq!(
            serde_json::to_value(&f).expect("serialize"),
            json!({"EventID": 1, "Data": "d"})
        );
    }
}
