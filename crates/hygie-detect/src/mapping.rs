//! Log-source resolution: which Sigma `logsource` an event satisfies.
//!
//! The tables live in `mappings/*.yml` (data, embedded at build time and
//! replaceable at run time). Resolution fails closed: an event only gets the
//! product, services and categories the tables give it, so a rule for another
//! product, or for a category the tables do not know, never sees the event.

use crate::event::{EventKind, LogEvent};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Built-in Windows table.
pub const WINDOWS_YAML: &str = include_str!("../mappings/windows.yml");
/// Built-in syslog table.
pub const SYSLOG_YAML: &str = include_str!("../mappings/syslog.yml");

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file {file}: {message}")]
    Yaml { file: String, message: String },
    #[error("mapping file {file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsFile {
    product: String,
    #[serde(default)]
    foreign_channels: BTreeMap<String, String>,
    #[serde(default)]
    forwarded_channels: Vec<String>,
    services: BTreeMap<String, ServiceDef>,
    categories: BTreeMap<String, Vec<CategorySource>>,
    #[serde(default)]
    field_maps: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceDef {
    channels: Vec<String>,
    #[serde(default)]
    providers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategorySource {
    service: String,
    event_ids: Vec<i64>,
    #[serde(default)]
    field_map: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogFile {
    default_product: String,
    #[serde(default)]
    always: Vec<String>,
    #[serde(default)]
    products: Vec<SyslogProduct>,
    #[serde(default)]
    services: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogProduct {
    product: String,
    marker: String,
    #[serde(default)]
    services: Vec<String>,
}

/// The log source an event satisfies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventSource {
    pub product: Option<String>,
    pub services: Vec<String>,
    /// Category with the field map under which rules of that category are
    /// evaluated for this event (None: the rule's own field names).
    pub categories: Vec<(String, Option<String>)>,
}

/// A rule's log source, lower-cased, as used to group rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl RuleSource {
    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }
}

/// (service, event id) -> the categories it belongs to, each with its field map.
type CategoryIndex = HashMap<(String, i64), Vec<(String, Option<String>)>>;

/// Resolved mapping tables.
#[derive(Debug, Clone)]
pub struct Mapping {
    windows_product: String,
    foreign_channels: HashMap<String, String>,
    forwarded: HashSet<String>,
    /// channel -> services
    by_channel: HashMap<String, Vec<String>>,
    /// provider -> services (for forwarded events)
    by_provider: HashMap<String, Vec<String>>,
    /// (service, event id) -> categories with field map
    categories: CategoryIndex,
    /// category -> field maps it can be evaluated under
    category_maps: HashMap<String, Vec<String>>,
    field_maps: HashMap<String, HashMap<String, String>>,
    windows_services: HashSet<String>,
    windows_categories: HashSet<String>,
    syslog_default: String,
    syslog_always: Vec<String>,
    syslog_products: Vec<(String, String, Vec<String>)>,
    syslog_services: HashMap<String, Vec<String>>,
}

impl Mapping {
    /// The tables shipped in `crates/hygie-detect/mappings`.
    pub fn builtin() -> Result<Self, MappingError> {
        Self::from_yaml(WINDOWS_YAML, SYSLOG_YAML)
    }

    /// Parse and validate both tables.
    pub fn from_yaml(windows: &str, syslog: &str) -> Result<Self, MappingError> {
        let w: WindowsFile = yaml_serde::from_str(windows).map_err(|e| MappingError::Yaml {
            file: "windows.yml".into(),
            message: e.to_string(),
        })?;
        let s: SyslogFile = yaml_serde::from_str(syslog).map_err(|e| MappingError::Yaml {
            file: "syslog.yml".into(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| MappingError::Invalid {
            file: "windows.yml".into(),
            message,
        };
        let mut by_channel: HashMap<String, Vec<String>> = HashMap::new();
        let mut by_provider: HashMap<String, Vec<String>> = HashMap::new();
        for (name, def) in &w.services {
            if def.channels.is_empty() {
                return Err(invalid(format!("service {name} lists no channel")));
            }
            for c in &def.channels {
                by_channel.entry(c.clone()).or_default().push(name.clone());
            }
            for p in &def.providers {
                by_provider.entry(p.clone()).or_default().push(name.clone());
            }
        }
        let mut categories: CategoryIndex = HashMap::new();
        let mut category_maps: HashMap<String, Vec<String>> = HashMap::new();
        for (cat, sources) in &w.categories {
            if sources.is_empty() {
                return Err(invalid(format!("category {cat} lists no source")));
            }
            for src in sources {
                if !w.services.contains_key(&src.service) {
                    return Err(invalid(format!(
                        "category {cat} refers to unknown service {}",
                        src.service
                    )));
                }
                if src.event_ids.is_empty() {
                    return Err(invalid(format!(
                        "category {cat} / service {} lists no EventID",
                        src.service
                    )));
                }
                if let Some(fm) = &src.field_map {
                    if !w.field_maps.contains_key(fm) {
                        return Err(invalid(format!(
                            "category {cat} refers to unknown field map {fm}"
                        )));
                    }
                    let maps = category_maps.entry(cat.clone()).or_default();
                    if !maps.contains(fm) {
                        maps.push(fm.clone());
                    }
                }
                for id in &src.event_ids {
                    categories
                        .entry((src.service.clone(), *id))
                        .or_default()
                        .push((cat.clone(), src.field_map.clone()));
                }
            }
        }
        let field_maps = w
            .field_maps
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_iter().collect()))
            .collect();
        let syslog_services = s
            .services
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Ok(Mapping {
            windows_product: w.product.to_ascii_lowercase(),
            foreign_channels: w.foreign_channels.into_iter().collect(),
            forwarded: w.forwarded_channels.into_iter().collect(),
            by_channel,
            by_provider,
            categories,
            category_maps,
            field_maps,
            windows_services: w.services.keys().cloned().collect(),
            windows_categories: w.categories.keys().cloned().collect(),
            syslog_default: s.default_product.to_ascii_lowercase(),
            syslog_always: s.always,
            syslog_products: s
                .products
                .into_iter()
                .map(|p| (p.product.to_ascii_lowercase(), p.marker, p.services))
                .collect(),
            syslog_services,
        })
    }

    /// Field maps a category's rules must also be compiled under.
    pub fn field_maps_for(&self, category: &str) -> &[String] {
        self.category_maps
            .get(category)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A named field map (rule field -> event field).
    pub fn field_map(&self, name: &str) -> Option<&HashMap<String, String>> {
        self.field_maps.get(name)
    }

    /// Whether a Windows rule's logsource can ever be satisfied by the tables
    /// (false means the rule is loaded but will never fire on Windows events).
    pub fn windows_rule_routable(&self, rs: &RuleSource) -> bool {
        rs.product.as_deref() == Some(self.windows_product.as_str())
            && rs
                .category
                .as_ref()
                .is_none_or(|c| self.windows_categories.contains(c))
            && rs
                .service
                .as_ref()
                .is_none_or(|s| self.windows_services.contains(s))
    }

    /// The log source `event` satisfies.
    pub fn resolve(&self, event: &LogEvent) -> EventSource {
        match event.kind {
            EventKind::Windows => {
                let channel = event.get_str("Channel");
                let provider = event.get_str("Provider_Name");
                self.resolve_windows(
                    channel.as_deref().unwrap_or(""),
                    provider.as_deref().unwrap_or(""),
                    event.event_id(),
                )
            }
            EventKind::Syslog => {
                let app = event.get_str("appname");
                let msg = event.get_str("message");
                self.resolve_syslog(app.as_deref().unwrap_or(""), msg.as_deref().unwrap_or(""))
            }
            EventKind::Json => resolve_explicit(&event.fields),
        }
    }

    /// Windows resolution from Channel, Provider_Name and EventID.
    pub fn resolve_windows(
        &self,
        channel: &str,
        provider: &str,
        event_id: Option<i64>,
    ) -> EventSource {
        if let Some(p) = self.foreign_channels.get(channel) {
            return EventSource {
                product: Some(p.to_ascii_lowercase()),
                ..EventSource::default()
            };
        }
        let services: Vec<String> = match self.by_channel.get(channel) {
            Some(s) => s.clone(),
            None if channel.is_empty() || self.forwarded.contains(channel) => {
                self.by_provider.get(provider).cloned().unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut categories = Vec::new();
        if let Some(id) = event_id {
            for s in &services {
                if let Some(cats) = self.categories.get(&(s.clone(), id)) {
                    categories.extend(cats.iter().cloned());
                }
            }
        }
        EventSource {
            product: Some(self.windows_product.clone()),
            services,
            categories,
        }
    }

    /// Syslog resolution from the APP-NAME / TAG and the message.
    pub fn resolve_syslog(&self, app: &str, message: &str) -> EventSource {
        for (product, marker, services) in &self.syslog_products {
            if message.contains(marker.as_str()) {
                return EventSource {
                    product: Some(product.clone()),
                    services: services.clone(),
                    categories: Vec::new(),
                };
            }
        }
        let mut services = self.syslog_always.clone();
        if let Some(s) = self.syslog_services.get(&app.to_ascii_lowercase()) {
            for x in s {
                if !services.contains(x) {
                    services.push(x.clone());
                }
            }
        }
        EventSource {
            product: Some(self.syslog_default.clone()),
            services,
            categories: Vec::new(),
        }
    }
}

/// A generic JSON event says what it is through a `logsource` object
/// (`{"logsource": {"product": "...", "service": "...", "category": "..."}}`).
/// Without one it satisfies no rule.
fn resolve_explicit(fields: &crate::fields::Fields) -> EventSource {
    let Some(crate::fields::FieldValue::Json(ls)) = fields.get("logsource") else {
        return EventSource::default();
    };
    let Some(ls) = ls.as_object() else {
        return EventSource::default();
    };
    let get = |k: &str| {
        ls.get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.to_ascii_lowercase())
    };
    EventSource {
        product: get("product"),
        services: get("service").into_iter().collect(),
        categories: get("category").into_iter().map(|c| (c, None)).collect(),
    }
}

/// Whether a group of rules with log source `rule` and field map `map`
/// applies to an event with source `ev`. Fails closed: an empty rule
/// logsource, or an event with no product, matches nothing.
pub fn applies(rule: &RuleSource, map: Option<&str>, ev: &EventSource) -> bool {
    if rule.is_empty() {
        return false;
    }
    let Some(ev_product) = ev.product.as_deref() else {
        return false;
    };
    if let Some(p) = &rule.product
        && p != ev_product
    {
        return false;
    }
    if let Some(s) = &rule.service
        && !ev.services.iter().any(|x| x == s)
    {
        return false;
    }
    match &rule.category {
        Some(c) => ev
            .categories
            .iter()
            .any(|(ec, em)| ec == c && em.as_deref() == map),
        None => map.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Mapping {
        Mapping::builtin().expect("builtin mapping tables are valid")
    }

    fn rs(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> RuleSource {
        RuleSource {
            product: p.map(Into::into),
            category: c.map(Into::into),
            service: s.map(Into::into),
        }
    }

    #[test]
    fn builtin_tables_parse_and_validate() {
        let m = m();
        assert!(m.field_map("security_4688").is_some());
        assert_eq!(m.field_maps_for("process_creation"), ["security_4688"]);
        assert!(m.field_maps_for("image_load").is_empty());
    }

    #[test]
    fn unknown_service_reference_is_rejected() {
        let bad = "product: windows\nservices: {}\ncategories:\n  process_creation: [{service: nope, event_ids: [1]}]\n";
        let err = Mapping::from_yaml(bad, SYSLOG_YAML).expect_err("must refuse");
        assert!(err.to_string().contains("unknown service nope"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let bad = "product: windows\nservices: {}\ncategories: {}\nextra: 1\n";
        assert!(Mapping::from_yaml(bad, SYSLOG_YAML).is_err());
    }

    #[test]
    fn windows_table_routes() {
        let m = m();
        // ((channel, provider), eid, rule source, field map, expected)
        const SYSMON: (&str, &str) = (
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
        );
        const SECURITY: (&str, &str) = ("Security", "Microsoft-Windows-Security-Auditing");
        let process_creation = || rs(Some("windows"), Some("process_creation"), None);
        #[allow(clippy::type_complexity)]
        let cases: &[((&str, &str), i64, RuleSource, Option<&str>, bool)] = &[
            (SYSMON, 1, process_creation(), None, true),
            (SYSMON, 1, process_creation(), Some("security_4688"), false),
            (SYSMON, 7, process_creation(), None, false),
            (
                SECURITY,
                4688,
                process_creation(),
                Some("security_4688"),
                true,
            ),
            (SECURITY, 4688, process_creation(), None, false),
            (
                SECURITY,
                4625,
                rs(Some("windows"), None, Some("security")),
                None,
                true,
            ),
            (
                SECURITY,
                4625,
                rs(Some("windows"), None, Some("system")),
                None,
                false,
            ),
            // Forwarded events resolve through the provider.
            (
                ("ForwardedEvents", "Microsoft-Windows-Sysmon"),
                1,
                process_creation(),
                None,
                true,
            ),
            // Fail closed: linux / network / empty / unknown category.
            (
                SYSMON,
                1,
                rs(Some("linux"), Some("process_creation"), None),
                None,
                false,
            ),
            (SYSMON, 1, rs(Some("cisco"), None, Some("aaa")), None, false),
            (SYSMON, 1, rs(None, Some("firewall"), None), None, false),
            (SYSMON, 1, rs(None, None, None), None, false),
            (
                SECURITY,
                4688,
                rs(Some("windows"), Some("file_access"), None),
                None,
                false,
            ),
            // Product-only rule sees every Windows event.
            (
                ("Application", "X"),
                1,
                rs(Some("windows"), None, None),
                None,
                true,
            ),
            // Sysmon for Linux is product linux.
            (
                ("Linux-Sysmon/Operational", "Linux-Sysmon"),
                1,
                process_creation(),
                None,
                false,
            ),
            (
                (
                    "Microsoft-Windows-PowerShell/Operational",
                    "Microsoft-Windows-PowerShell",
                ),
                4104,
                rs(Some("windows"), Some("ps_script"), None),
                None,
                true,
            ),
            (
                (
                    "Microsoft-Windows-Windows Defender/Operational",
                    "Microsoft-Windows-Windows Defender",
                ),
                1116,
                rs(None, Some("antivirus"), None),
                None,
                true,
            ),
        ];
        for ((ch, pr), id, rule, map, want) in cases {
            let ev = m.resolve_windows(ch, pr, Some(*id));
            assert_eq!(
                applies(rule, *map, &ev),
                *want,
                "{ch} {pr} {id} {rule:?} {map:?} -> {ev:?}"
            );
        }
    }

    #[test]
    fn syslog_table_routes() {
        let m = m();
        let ev = m.resolve_syslog("sshd", "Failed password for root");
        assert!(applies(&rs(Some("linux"), None, Some("sshd")), None, &ev));
        assert!(applies(&rs(Some("linux"), None, Some("auth")), None, &ev));
        assert!(applies(&rs(Some("linux"), None, None), None, &ev));
        assert!(!applies(
            &rs(Some("windows"), None, Some("security")),
            None,
            &ev
        ));
        let cisco = m.resolve_syslog(
            "",
            "6705: Feb 17: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin logged command:no dot1x",
        );
        assert!(applies(&rs(Some("cisco"), None, Some("aaa")), None, &cisco));
        assert!(!applies(&rs(Some("linux"), None, None), None, &cisco));
    }
}
