//! The detector: rules grouped by log source, each group one RSigma engine;
//! an event is evaluated only by the groups its resolved log source satisfies.
//!
//! A group's engine (RSigma's candidate index, whose Aho-Corasick automata are
//! most of the cost of loading SigmaHQ) is built the first time an event is
//! routed to it: a batch run over one kind of log never pays for the hundreds
//! of groups its events cannot reach, and the groups it does reach are built
//! by whichever worker needs them first, in parallel with the others' work.

use crate::correlate::{Correlations, LoadedCorrelation};
use crate::event::{EventKind, LogEvent};
use crate::mapping::{EventSource, Mapping, RuleSource, applies};
use crate::rules::{LoadedRule, Refusal, compile};
use rsigma_eval::Engine;
use rsigma_parser::SigmaRule;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

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

/// A parsed rule waiting in its group; `variant` when it is a rule renamed
/// through a field map (its original is reported, not the copy).
struct Pending {
    file: PathBuf,
    rule: Arc<SigmaRule>,
    variant: bool,
}

struct Group {
    source: RuleSource,
    field_map: Option<String>,
    /// The group's rules until its engine is built (then empty).
    pending: Mutex<Vec<Pending>>,
    engine: OnceLock<Engine>,
}

/// Groups of at least this many rules are compiled on two threads.
const PARALLEL_COMPILE: usize = 256;

/// Compile pending rules: (compiled, refusals of originals that failed).
fn compile_all(pending: Vec<Pending>) -> (Vec<rsigma_eval::CompiledRule>, Vec<Refusal>) {
    let mut compiled = Vec::with_capacity(pending.len());
    let mut refused = Vec::new();
    for p in pending {
        match compile(&p.file, &p.rule) {
            Ok(c) => compiled.push(c),
            // A renamed copy that does not compile is simply not evaluated on
            // the mapped events; its original still is.
            Err(_) if p.variant => {}
            Err(r) => refused.push(r),
        }
    }
    (compiled, refused)
}

/// A poisoned lock only means another worker panicked while holding it; the
/// data (a rule list, refusals) is still whole.
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Group {
    fn engine(&self, refusals: &Mutex<Vec<Refusal>>) -> &Engine {
        self.engine.get_or_init(|| {
            let mut pending = std::mem::take(&mut *locked(&self.pending));
            // A big group (SigmaHQ's process_creation: about 1,200 rules) is
            // compiled on two threads: the other workers are often waiting
            // for this very group. A plain thread, not rayon: a rayon worker
            // here could steal a task that waits on this same `OnceLock`.
            let (compiled, refused) = if pending.len() >= PARALLEL_COMPILE {
                let second = pending.split_off(pending.len() / 2);
                std::thread::scope(|scope| {
                    let helper = scope.spawn(|| compile_all(second));
                    let (mut c, mut r) = compile_all(pending);
                    // A panic in the helper is passed on, as it would have
                    // been had this thread compiled those rules itself.
                    let (c2, r2) = helper
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e));
                    c.extend(c2);
                    r.extend(r2);
                    (c, r)
                })
            } else {
                compile_all(pending)
            };
            if !refused.is_empty() {
                locked(refusals).extend(refused);
            }
            let mut engine = Engine::new();
            engine.extend_compiled_rules(compiled);
            engine
        })
    }
}

/// Compiled rule set plus the log-source mapping.
pub struct Detector {
    mapping: Mapping,
    groups: Vec<Group>,
    rules: usize,
    routable: usize,
    /// Rules that failed to compile when their group was first needed.
    refused: Mutex<Vec<Refusal>>,
    correlations: Correlations,
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
        let mut by_key: HashMap<(RuleSource, Option<String>), Vec<Pending>> = HashMap::new();
        for r in rules {
            for (fm, rule) in r.variants {
                by_key
                    .entry((r.source.clone(), Some(fm)))
                    .or_default()
                    .push(Pending {
                        file: r.file.clone(),
                        rule,
                        variant: true,
                    });
            }
            by_key.entry((r.source, None)).or_default().push(Pending {
                file: r.file,
                rule: r.rule,
                variant: false,
            });
        }
        let mut keys: Vec<_> = by_key.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let groups = keys
            .into_iter()
            .map(|((source, field_map), compiled)| Group {
                source,
                field_map,
                pending: Mutex::new(compiled),
                engine: OnceLock::new(),
            })
            .collect();
        Detector {
            mapping,
            groups,
            rules: count,
            routable,
            refused: Mutex::new(Vec::new()),
            correlations: Correlations::default(),
        }
    }

    /// Evaluate these correlation rules too (see [`crate::correlate`]).
    pub fn with_correlations(mut self, correlations: Vec<LoadedCorrelation>) -> Self {
        self.correlations = Correlations::new(correlations);
        self
    }

    /// The correlation rules loaded (none unless [`Self::with_correlations`]).
    pub fn correlations(&self) -> &Correlations {
        &self.correlations
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

    /// Build every group's engine now, on every core (rayon), instead of at
    /// the first event each group sees: for a long-running listener, so that
    /// no event waits for an index build.
    pub fn prepare_all(&self) {
        use rayon::prelude::*;
        self.groups.par_iter().for_each(|g| {
            g.engine(&self.refused);
        });
    }

    /// Rules that did not compile, among the groups built so far (every group
    /// after [`Detector::prepare_all`]), sorted by file and rule.
    pub fn compile_refusals(&self) -> Vec<Refusal> {
        let mut r = locked(&self.refused).clone();
        r.sort_by(|a, b| (&a.file, &a.rule).cmp(&(&b.file, &b.rule)));
        r
    }

    /// Number of rule groups, and how many have their engine built.
    pub fn groups_built(&self) -> (usize, usize) {
        let built = self
            .groups
            .iter()
            .filter(|g| g.engine.get().is_some())
            .count();
        (self.groups.len(), built)
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
        let ev = &event.fields;
        let mut out = Vec::new();
        for &g in route.iter() {
            let Some(group) = self.groups.get(g) else {
                continue;
            };
            for m in group.engine(&self.refused).evaluate(ev) {
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

    /// The testkit's whoami rule (`t-whoami`), then two keyword rules of other products.
    fn rules() -> String {
        format!("{}---\n{OTHER_PRODUCTS}", hygie_testkit::WHOAMI_RULE)
    }

    const OTHER_PRODUCTS: &str = r#"
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
        let crate::RuleLoad { rules, refused, .. } = load_text(Path::new("t.yml"), &rules(), &m);
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

    /// A Sysmon process creation of `image`.
    fn sysmon_process(image: &str) -> LogEvent {
        let mut e = hygie_testkit::sysmon_process("pc1", image);
        e["Provider_Name"] = "Microsoft-Windows-Sysmon".into();
        e["CommandLine"] = "whoami".into();
        win(e)
    }

    fn rule_ids(d: &Detector, event: &LogEvent, cache: &mut RouteCache) -> Vec<String> {
        d.evaluate(event, cache)
            .into_iter()
            .map(|m| m.rule_id)
            .collect()
    }

    /// A process_creation rule that parses but whose regex does not compile.
    fn broken_rule(id: &str) -> String {
        format!(
            "title: Bad regex\nid: {id}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    CommandLine|re: '(unclosed'\n  condition: sel\n"
        )
    }

    #[test]
    fn sysmon_and_4688_both_match_and_other_products_never_do() {
        let d = detector();
        let mut cache = RouteCache::default();
        let sysmon = sysmon_process(hygie_testkit::WHOAMI);
        assert_eq!(rule_ids(&d, &sysmon, &mut cache), ["t-whoami"]);
        let sec = win(
            json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami"}),
        );
        let m = d.evaluate(&sec, &mut cache);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule_id, "t-whoami");
        assert_eq!(m[0].level, "high");
        assert!(m[0].tags.contains(&"attack.t1033".to_string()));
        // Cached route gives the same answer.
        assert_eq!(d.evaluate(&sec, &mut cache).len(), 1);
        // Only the groups these events reached were compiled.
        let (groups, built) = d.groups_built();
        assert!(built < groups, "{built} of {groups}");
        // A 4688 whose image is elsewhere does not match.
        let other = win(
            json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x.exe", "CommandLine": "whoami"}),
        );
        assert!(d.evaluate(&other, &mut cache).is_empty());
    }

    #[test]
    fn groups_compile_when_first_reached_and_report_rules_that_do_not_compile() {
        let m = Mapping::builtin().expect("mapping");
        let text = format!("{}---\n{}", rules(), broken_rule("r-bad"));
        let crate::RuleLoad { rules, refused, .. } = load_text(Path::new("t.yml"), &text, &m);
        assert!(refused.is_empty(), "{refused:?}");
        let d = Detector::new(m, rules);
        assert_eq!(d.groups_built().1, 0, "nothing is compiled before an event");
        assert!(d.compile_refusals().is_empty());
        let mut cache = RouteCache::default();
        let sysmon = sysmon_process(hygie_testkit::WHOAMI);
        assert_eq!(
            rule_ids(&d, &sysmon, &mut cache),
            ["t-whoami"],
            "the broken rule does not stop its group"
        );
        let refusals = d.compile_refusals();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].rule.as_deref(), Some("r-bad"));
        assert_eq!(refusals[0].file, Path::new("t.yml"));
        // Building every group reports the broken rule once, not per variant.
        d.prepare_all();
        let (groups, built) = d.groups_built();
        assert_eq!(built, groups);
        assert_eq!(d.compile_refusals().len(), 1);
    }

    #[test]
    fn a_big_group_compiled_on_two_threads_keeps_every_rule_and_refusal() {
        // One broken rule in each half: the first and the last.
        let mut text = format!("{}---\n", broken_rule("r-bad-a"));
        for i in 0..(PARALLEL_COMPILE + 44) {
            text.push_str(&format!(
                "title: Tool {i}\nid: r-{i}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    Image|endswith: '\\tool{i}.exe'\n  condition: sel\n---\n"
            ));
        }
        text.push_str(&broken_rule("r-bad-b"));
        let m = Mapping::builtin().expect("mapping");
        let crate::RuleLoad { rules, refused, .. } = load_text(Path::new("big.yml"), &text, &m);
        assert!(refused.is_empty(), "{refused:?}");
        let d = Detector::new(m, rules);
        let mut cache = RouteCache::default();
        for i in [0, PARALLEL_COMPILE / 2, PARALLEL_COMPILE + 43] {
            let ev = sysmon_process(&format!("C:\\x\\tool{i}.exe"));
            assert_eq!(rule_ids(&d, &ev, &mut cache), [format!("r-{i}")]);
        }
        let mut bad: Vec<_> = d
            .compile_refusals()
            .into_iter()
            .filter_map(|r| r.rule)
            .collect();
        bad.sort();
        assert_eq!(bad, ["r-bad-a", "r-bad-b"]);
    }
}
