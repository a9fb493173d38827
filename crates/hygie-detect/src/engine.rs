//! The detector: rules grouped by log source, each group one RSigma engine;
//! an event is evaluated only by the groups its resolved log source satisfies.

use crate::event::{EventKind, LogEvent};
use crate::mapping::{EventSource, Mapping, RuleSource, applies};
use crate::rules::LoadedRule;
use rsigma_eval::{Engine, JsonEvent};
use std::collections::HashMap;
use std::sync::Arc;

/// A rule that matched one event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleMatch {
    pub rule_id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    /// (field, value) pairs that made the rule match.
    pub fields: Vec<(String, String)>,
}

struct Group {
    source: RuleSource,
    field_map: Option<String>,
    engine: Engine,
}

/// Compiled rule set plus the log-source mapping.
pub struct Detector {
    mapping: Mapping,
    groups: Vec<Group>,
    rules: usize,
    routable: usize,
}

/// Per-worker cache of resolved routes (log source -> groups).
#[derive(Default, Clone)]
pub struct RouteCache {
    routes: HashMap<String, Arc<[usize]>>,
    key: String,
}

impl Detector {
    /// Build from loaded rules.
    pub fn new(mapping: Mapping, rules: Vec<LoadedRule>) -> Self {
        let count = rules.len();
        let routable = rules.iter().filter(|r| r.routable).count();
        let mut by_key: HashMap<(RuleSource, Option<String>), Vec<rsigma_eval::CompiledRule>> =
            HashMap::new();
        for r in rules {
            for (fm, c) in r.variants {
                by_key
                    .entry((r.source.clone(), Some(fm)))
                    .or_default()
                    .push(c);
            }
            by_key.entry((r.source, None)).or_default().push(r.compiled);
        }
        let mut keys: Vec<_> = by_key.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let groups = keys
            .into_iter()
            .map(|((source, field_map), compiled)| {
                let mut engine = Engine::new();
                engine.extend_compiled_rules(compiled);
                Group {
                    source,
                    field_map,
                    engine,
                }
            })
            .collect();
        Detector {
            mapping,
            groups,
            rules: count,
            routable,
        }
    }

    /// Number of rules loaded.
    pub fn rule_count(&self) -> usize {
        self.rules
    }

    /// Number of loaded rules whose log source the mapping can route to.
    pub fn routable_count(&self) -> usize {
        self.routable
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    fn groups_for(&self, src: &EventSource) -> Arc<[usize]> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| applies(&g.source, g.field_map.as_deref(), src))
            .map(|(i, _)| i)
            .collect()
    }

    fn route(&self, event: &LogEvent, cache: &mut RouteCache) -> Arc<[usize]> {
        // Windows routes depend only on channel, provider and EventID; cache them.
        if event.kind == EventKind::Windows {
            cache.key.clear();
            for k in ["Channel", "Provider_Name"] {
                if let Some(v) = event.get_str(k) {
                    cache.key.push_str(&v);
                }
                cache.key.push('\u{1f}');
            }
            if let Some(id) = event.event_id() {
                cache.key.push_str(&id.to_string());
            }
            if let Some(r) = cache.routes.get(cache.key.as_str()) {
                return r.clone();
            }
            let r = self.groups_for(&self.mapping.resolve(event));
            if cache.routes.len() > 100_000 {
                cache.routes.clear();
            }
            cache.routes.insert(cache.key.clone(), r.clone());
            return r;
        }
        self.groups_for(&self.mapping.resolve(event))
    }

    /// Every rule `event` matches.
    pub fn evaluate(&self, event: &LogEvent, cache: &mut RouteCache) -> Vec<RuleMatch> {
        let route = self.route(event, cache);
        if route.is_empty() {
            return Vec::new();
        }
        let ev = JsonEvent::borrow(&event.fields);
        let mut out = Vec::new();
        for &g in route.iter() {
            let Some(group) = self.groups.get(g) else {
                continue;
            };
            for m in group.engine.evaluate(&ev) {
                let fields = m
                    .as_detection()
                    .map(|d| {
                        d.matched_fields
                            .iter()
                            .map(|f| {
                                let v = match &f.value {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (f.field.clone(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(RuleMatch {
                    rule_id: m
                        .header
                        .rule_id
                        .clone()
                        .unwrap_or_else(|| m.header.rule_title.clone()),
                    title: m.header.rule_title.clone(),
                    level: m
                        .header
                        .level
                        .map(|l| l.as_str().to_string())
                        .unwrap_or_else(|| "medium".into()),
                    tags: m.header.tags.clone(),
                    fields,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;
    use crate::rules::load_text;
    use serde_json::json;
    use std::path::Path;

    const RULES: &str = r#"
title: Whoami
id: r-whoami
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
level: high
tags: [attack.discovery, attack.t1033]
---
title: Linux whoami keyword
id: r-linux
logsource: {product: linux}
detection:
  keywords: ['whoami']
  condition: keywords
level: low
---
title: Network keyword
id: r-net
logsource: {category: firewall}
detection:
  keywords: ['whoami']
  condition: keywords
level: low
"#;

    fn detector() -> Detector {
        let m = Mapping::builtin().expect("mapping");
        let (rules, refused) = load_text(Path::new("t.yml"), RULES, &m);
        assert!(refused.is_empty(), "{refused:?}");
        Detector::new(m, rules)
    }

    fn win(fields: serde_json::Value) -> LogEvent {
        let serde_json::Value::Object(map) = fields else {
            panic!("object expected")
        };
        LogEvent::new(
            EventKind::Windows,
            map,
            Origin {
                source: "t".into(),
                record: 1,
            },
        )
    }

    #[test]
    fn sysmon_and_4688_both_match_and_other_products_never_do() {
        let d = detector();
        let mut cache = RouteCache::default();
        let sysmon = win(
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami"}),
        );
        let ids: Vec<_> = d
            .evaluate(&sysmon, &mut cache)
            .into_iter()
            .map(|m| m.rule_id)
            .collect();
        assert_eq!(ids, ["r-whoami"]);
        let sec = win(
            json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami"}),
        );
        let m = d.evaluate(&sec, &mut cache);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule_id, "r-whoami");
        assert_eq!(m[0].level, "high");
        assert!(m[0].tags.contains(&"attack.t1033".to_string()));
        // Cached route gives the same answer.
        assert_eq!(d.evaluate(&sec, &mut cache).len(), 1);
        // A 4688 whose image is elsewhere does not match.
        let other = win(
            json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x.exe", "CommandLine": "whoami"}),
        );
        assert!(d.evaluate(&other, &mut cache).is_empty());
    }
}
