//! A directory entry as read from LDAP or LDIF, before interpretation: a DN and attribute values
//! as bytes. Both the live collector and the LDIF reader produce these, and one builder turns them
//! into the snapshot, so the two modes cannot diverge.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEntry {
    pub dn: String,
    /// Lower-case attribute name (options such as `;binary` removed) → values.
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl RawEntry {
    pub fn new(dn: impl Into<String>) -> Self {
        Self {
            dn: dn.into(),
            attrs: BTreeMap::new(),
        }
    }

    pub fn push(&mut self, name: &str, value: Vec<u8>) {
        let name = normalize_attr(name);
        self.attrs.entry(name).or_default().push(value);
    }

    /// Builder-style helper for fixtures: `RawEntry::new(dn).with("cn", "x")`.
    pub fn with(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.push(name, value.as_ref().to_vec());
        self
    }

    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).first().map(Vec::as_slice)
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.first(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        !self.values(name).is_empty()
    }

    pub fn has_value(&self, name: &str, value: &str) -> bool {
        self.values(name)
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value.as_bytes()))
    }
}

fn normalize_attr(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.strip_suffix(";binary") {
        Some(base) => base.to_string(),
        None => lower,
    }
}
