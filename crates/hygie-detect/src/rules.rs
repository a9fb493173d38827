//! Loading Sigma rule trees: every file is parsed, every refusal is collected
//! with its file and reason (the loader never stops at the first error).
//!
//! Compiling a rule (its regexes and Aho-Corasick sets) costs as much as
//! parsing it, and a detection run only ever reaches the rules of the log
//! sources its events have; so loading stops at the parsed rule, the detector
//! compiles a group of rules when an event first needs it, and
//! [`check_compiles`] compiles a whole tree for `hygie rules check`.

use crate::correlate::LoadedCorrelation;
use crate::mapping::{Mapping, RuleSource};
use rsigma_eval::CompiledRule;
use rsigma_parser::{Detection, Modifier, SigmaRule};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A rule file that was not loaded, or a rule inside it, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub file: PathBuf,
    /// Rule title (or id) when the document got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub reason: String,
}

/// A parsed rule with its log source and the variants renamed through the
/// mapping's field maps (compiled later, see [`LoadedRule::compile`]).
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub file: PathBuf,
    pub source: RuleSource,
    pub rule: Arc<SigmaRule>,
    /// (field map name, rule with renamed fields).
    pub variants: Vec<(String, Arc<SigmaRule>)>,
    /// Whether the mapping can route any event to this rule.
    pub routable: bool,
}

impl LoadedRule {
    /// Rule id, or its title when it has none.
    pub fn name(&self) -> &str {
        self.rule.id.as_deref().unwrap_or(&self.rule.title)
    }

    /// The refusal for a rule that does not compile.
    pub fn compile(&self) -> Result<CompiledRule, Refusal> {
        compile(&self.file, &self.rule)
    }
}

/// Compile one parsed rule; a failure is the rule's refusal.
pub fn compile(file: &Path, rule: &SigmaRule) -> Result<CompiledRule, Refusal> {
    rsigma_eval::compile_rule(rule).map_err(|e| Refusal {
        file: file.to_path_buf(),
        rule: Some(rule.id.clone().unwrap_or_else(|| rule.title.clone())),
        reason: format!("compile error: {e}"),
    })
}

/// Compile every loaded rule (on every core) and move those that fail to the
/// refusals, in file order: what `hygie rules check` reports.
pub fn check_compiles(load: &mut RuleLoad) {
    use rayon::prelude::*;
    let failed: Vec<Option<Refusal>> = load.rules.par_iter().map(|r| r.compile().err()).collect();
    let mut failed = failed.into_iter();
    let mut refusals = Vec::new();
    load.rules.retain(|_| match failed.next().flatten() {
        Some(refusal) => {
            refusals.push(refusal);
            false
        }
        None => true,
    });
    load.refused.extend(refusals);
    // A correlation referring to a rule just refused is refused too.
    resolve_correlations(load);
}

/// Outcome of loading one or more rule folders.
#[derive(Debug, Default)]
pub struct RuleLoad {
    pub rules: Vec<LoadedRule>,
    /// Correlation rules, their references resolved to loaded rules' ids.
    pub correlations: Vec<LoadedCorrelation>,
    pub refused: Vec<Refusal>,
}

/// List rule files (`.yml`/`.yaml`) under each path, sorted; a path that is a
/// file is taken as is. Unreadable paths become refusals.
pub fn list_rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Refusal>) {
    let mut files = Vec::new();
    let mut refused = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
            continue;
        }
        walk(p, &mut files, &mut refused);
    }
    (files, refused)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, refused: &mut Vec<Refusal>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            refused.push(Refusal {
                file: dir.to_path_buf(),
                rule: None,
                reason: format!("cannot read directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, files, refused);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            files.push(p);
        }
    }
}

/// Parse the rules in `text` (the content of `file`), correlations resolved against the
/// rules of the same text.
pub fn load_text(file: &Path, text: &str, mapping: &Mapping) -> RuleLoad {
    let (rules, correlations, refused) = parse_text(file, text, mapping);
    let mut load = RuleLoad {
        rules,
        correlations,
        refused,
    };
    resolve_correlations(&mut load);
    load
}

fn parse_text(
    file: &Path,
    text: &str,
    mapping: &Mapping,
) -> (Vec<LoadedRule>, Vec<LoadedCorrelation>, Vec<Refusal>) {
    let mut out = Vec::new();
    let mut correlations = Vec::new();
    let mut refused = Vec::new();
    let refuse = |rule: Option<String>, reason: String| Refusal {
        file: file.to_path_buf(),
        rule,
        reason,
    };
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            refused.push(refuse(None, format!("parse error: {e}")));
            return (out, correlations, refused);
        }
    };
    for e in &collection.errors {
        refused.push(refuse(None, format!("parse error: {e}")));
    }
    for c in collection.correlations {
        correlations.push(LoadedCorrelation {
            file: file.to_path_buf(),
            rule: c,
        });
    }
    for f in &collection.filters {
        refused.push(refuse(
            Some(f.title.clone()),
            "Sigma filter documents are not applied by Hygie yet".into(),
        ));
    }
    for rule in collection.rules {
        let name = Some(rule.id.clone().unwrap_or_else(|| rule.title.clone()));
        let source = rule_source(&rule);
        if source.is_empty() {
            refused.push(refuse(
                name,
                "logsource has no product, category or service: it would match every event".into(),
            ));
            continue;
        }
        if let Err(reason) = windash_within_bounds(&rule) {
            refused.push(refuse(name, reason));
            continue;
        }
        if rule.detection.timeframe.is_some() {
            refused.push(refuse(
                name,
                "deprecated aggregation (timeframe / count) is not supported; use a correlation rule"
                    .into(),
            ));
            continue;
        }
        let mut variants = Vec::new();
        if let Some(cat) = &source.category {
            for fm in mapping.field_maps_for(cat) {
                let Some(map) = mapping.field_map(fm) else {
                    continue;
                };
                if let Some(renamed) = remap_rule(&rule, map) {
                    variants.push((fm.clone(), Arc::new(renamed)));
                }
            }
        }
        let routable =
            source.product.as_deref() != Some("windows") || mapping.windows_rule_routable(&source);
        out.push(LoadedRule {
            file: file.to_path_buf(),
            source,
            rule: Arc::new(rule),
            variants,
            routable,
        });
    }
    (out, correlations, refused)
}

/// Resolve every correlation's references (`rules`, alias mappings) to the loaded rules' ids:
/// a rule named by its `name` becomes its id (or its title when it has none), which is what a
/// match carries. A correlation referring to no loaded rule or correlation, or that RSigma does
/// not compile, is refused, and so are those referring to it.
pub fn resolve_correlations(load: &mut RuleLoad) {
    let mut by_ref: HashMap<String, String> = HashMap::new();
    for r in &load.rules {
        let key = r.name().to_owned();
        if let Some(n) = &r.rule.name {
            by_ref.entry(n.clone()).or_insert_with(|| key.clone());
        }
        by_ref.insert(key.clone(), key);
    }
    let mut kept: Vec<LoadedCorrelation> = std::mem::take(&mut load.correlations);
    loop {
        let mut known = by_ref.clone();
        for c in &kept {
            for k in [&c.rule.id, &c.rule.name].into_iter().flatten() {
                known.insert(k.clone(), k.clone());
            }
        }
        let before = kept.len();
        let mut next = Vec::with_capacity(kept.len());
        for mut c in kept {
            let (file, name) = (c.file.clone(), c.name().to_owned());
            let refuse = |reason: String| Refusal {
                file,
                rule: Some(name),
                reason,
            };
            temporal_default(&mut c.rule);
            match resolve_refs(&mut c.rule, &known) {
                Err(missing) => load.refused.push(refuse(format!(
                    "correlation refers to rule '{missing}', which is not loaded"
                ))),
                Ok(()) => match rsigma_eval::correlation::compile_correlation(&c.rule) {
                    Err(e) => load.refused.push(refuse(format!("compile error: {e}"))),
                    Ok(_) => next.push(c),
                },
            }
        }
        kept = next;
        if kept.len() == before {
            break;
        }
    }
    load.correlations = kept;
}

/// Sigma's `temporal` without a condition means every referenced rule within the timespan;
/// RSigma 0.23's parser reads it as `gte: 1` (one of them: no correlation at all), so that
/// reading is made the specification's. A `gte: 1` written out has the same pointless meaning
/// and is read the same way.
fn temporal_default(rule: &mut rsigma_parser::CorrelationRule) {
    use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationType};
    if rule.correlation_type != CorrelationType::Temporal {
        return;
    }
    if let CorrelationCondition::Threshold {
        predicates,
        field: None,
        ..
    } = &mut rule.condition
        && predicates.as_slice() == [(ConditionOperator::Gte, 1)]
    {
        let all = u64::try_from(rule.rules.len()).unwrap_or(u64::MAX);
        *predicates = vec![(ConditionOperator::Gte, all)];
    }
}

/// Rewrite a correlation's references through `known` (reference -> id); the first unknown
/// reference is the error.
fn resolve_refs(
    rule: &mut rsigma_parser::CorrelationRule,
    known: &HashMap<String, String>,
) -> Result<(), String> {
    for r in &mut rule.rules {
        *r = known.get(r.as_str()).ok_or_else(|| r.clone())?.clone();
    }
    for alias in &mut rule.aliases {
        alias.mapping = std::mem::take(&mut alias.mapping)
            .into_iter()
            .map(|(r, field)| match known.get(&r) {
                Some(id) => Ok((id.clone(), field)),
                None => Err(r),
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

/// Load every rule under `paths` (in parallel). Duplicate rule ids are refused
/// after the first one (in path order).
pub fn load_paths(paths: &[PathBuf], mapping: &Mapping) -> RuleLoad {
    use rayon::prelude::*;
    let (files, mut refused) = list_rule_files(paths);
    let per_file: Vec<(Vec<LoadedRule>, Vec<LoadedCorrelation>, Vec<Refusal>)> = files
        .par_iter()
        .map(|f| match std::fs::read_to_string(f) {
            Ok(text) => parse_text(f, &text, mapping),
            Err(e) => (
                Vec::new(),
                Vec::new(),
                vec![Refusal {
                    file: f.clone(),
                    rule: None,
                    reason: format!("cannot read file: {e}"),
                }],
            ),
        })
        .collect();
    let mut rules = Vec::new();
    let mut correlations = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for (loaded, corrs, refusals) in per_file {
        refused.extend(refusals);
        correlations.extend(corrs);
        for r in loaded {
            if let Some(id) = &r.rule.id {
                if let Some(first) = seen.get(id) {
                    refused.push(Refusal {
                        file: r.file.clone(),
                        rule: Some(id.clone()),
                        reason: format!(
                            "duplicate rule id (already loaded from {})",
                            first.display()
                        ),
                    });
                    continue;
                }
                seen.insert(id.clone(), r.file.clone());
            }
            rules.push(r);
        }
    }
    let mut load = RuleLoad {
        rules,
        correlations,
        refused,
    };
    resolve_correlations(&mut load);
    load
}

/// Dashes a `windash` value may hold. The modifier turns every dash into five characters, so a
/// value with *n* dashes becomes 5^*n* needles, and RSigma's own bound (8 dashes: 390,625
/// needles) still lets one short rule take minutes to compile (found by fuzzing: a 1.4 KB rule
/// with six dashes in one value took 107 s). SigmaHQ's rules hold at most two dashes in a
/// `windash` value; four (625 needles) leaves room for hand-written rules.
pub const MAX_WINDASH_DASHES: usize = 4;

/// Needles the `windash` values of one rule may expand to in all.
pub const MAX_WINDASH_NEEDLES: u64 = 20_000;

/// Refuse a rule whose `windash` values would expand past [`MAX_WINDASH_DASHES`] in one value
/// or [`MAX_WINDASH_NEEDLES`] in all, naming the field.
fn windash_within_bounds(rule: &SigmaRule) -> Result<(), String> {
    fn walk(det: &Detection, total: &mut u64) -> Result<(), String> {
        match det {
            Detection::AllOf(items) => {
                for item in items {
                    if !item.field.modifiers.contains(&Modifier::WindAsh) {
                        continue;
                    }
                    let field = item.field.name.as_deref().unwrap_or("(keywords)");
                    for value in &item.values {
                        let rsigma_parser::SigmaValue::String(s) = value else {
                            continue;
                        };
                        let dashes = s.original.matches('-').count();
                        if dashes > MAX_WINDASH_DASHES {
                            return Err(format!(
                                "field '{field}': a windash value with {dashes} dashes would \
                                 expand to 5^{dashes} patterns (at most {MAX_WINDASH_DASHES} \
                                 dashes per value)"
                            ));
                        }
                        // dashes <= 4, so 5^dashes fits.
                        *total = total.saturating_add(5u64.pow(dashes as u32));
                        if *total > MAX_WINDASH_NEEDLES {
                            return Err(format!(
                                "field '{field}': the rule's windash values expand to more than \
                                 {MAX_WINDASH_NEEDLES} patterns"
                            ));
                        }
                    }
                }
                Ok(())
            }
            Detection::AnyOf(ds) | Detection::And(ds) => ds.iter().try_for_each(|d| walk(d, total)),
            Detection::ArrayMatch { body, .. } => walk(body, total),
            Detection::Conditional { named, .. } => named.values().try_for_each(|d| walk(d, total)),
            Detection::Keywords(_) => Ok(()),
        }
    }
    let mut total = 0;
    rule.detection
        .named
        .values()
        .try_for_each(|d| walk(d, &mut total))
}

/// The rule's log source, lower-cased.
pub fn rule_source(rule: &SigmaRule) -> RuleSource {
    let low = |s: &Option<String>| {
        s.as_ref()
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    };
    RuleSource {
        product: low(&rule.logsource.product),
        category: low(&rule.logsource.category),
        service: low(&rule.logsource.service),
    }
}

/// A copy of `rule` with every field renamed through `map`, or None when the
/// rule uses a field the map does not list (or a construct that names fields
/// in values: `fieldref`, array blocks).
pub fn remap_rule(rule: &SigmaRule, map: &HashMap<String, String>) -> Option<SigmaRule> {
    let mut r = rule.clone();
    for det in r.detection.named.values_mut() {
        if !remap_detection(det, map) {
            return None;
        }
    }
    Some(r)
}

fn remap_detection(det: &mut Detection, map: &HashMap<String, String>) -> bool {
    match det {
        Detection::AllOf(items) => items.iter_mut().all(|item| {
            if item.field.modifiers.contains(&Modifier::FieldRef) {
                return false;
            }
            match &item.field.name {
                None => true,
                Some(name) => match map.get(name) {
                    Some(to) => {
                        item.field.name = Some(to.clone());
                        true
                    }
                    None => false,
                },
            }
        }),
        Detection::AnyOf(ds) | Detection::And(ds) => ds.iter_mut().all(|d| remap_detection(d, map)),
        Detection::Keywords(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC: &str = r#"
title: Whoami
id: 11111111-1111-1111-1111-111111111111
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
    CommandLine|contains: '/all'
  condition: sel
level: high
"#;

    const PROC_HASH: &str = r#"
title: Hash
id: 22222222-2222-2222-2222-222222222222
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\x.exe'
  filter:
    OriginalFileName: 'x.exe'
  condition: sel and not filter
level: high
"#;

    #[test]
    fn variants_only_when_every_field_maps() {
        let m = Mapping::builtin().expect("mapping");
        let RuleLoad {
            rules: r, refused, ..
        } = load_text(Path::new("a.yml"), PROC, &m);
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].variants.len(), 1);
        assert_eq!(r[0].variants[0].0, "security_4688");
        let RuleLoad { rules: r, .. } = load_text(Path::new("b.yml"), PROC_HASH, &m);
        assert!(
            r[0].variants.is_empty(),
            "OriginalFileName has no 4688 equivalent"
        );
    }

    fn windash_rule(values: &[&str]) -> String {
        let list: String = values.iter().map(|v| format!("      - '{v}'\n")).collect();
        format!(
            "title: Windash\nid: windash-1\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    CommandLine|contains|windash:\n{list}  condition: sel\n"
        )
    }

    #[test]
    fn a_windash_value_that_would_explode_is_refused_with_its_field() {
        let m = Mapping::builtin().expect("mapping");
        // The fuzzer's case: six dashes in one value (15,625 patterns; minutes to compile).
        let text = windash_rule(&[" -E us 2017-02-12 2022-10-09 credential-access"]);
        let load = load_text(Path::new("w.yml"), &text, &m);
        assert!(load.rules.is_empty());
        assert_eq!(load.refused.len(), 1, "{:?}", load.refused);
        let reason = &load.refused[0].reason;
        assert!(
            reason.contains("CommandLine") && reason.contains("6 dashes"),
            "{reason}"
        );

        // Within the bound per value, but too many values in all.
        let many = vec![" -a -b -c -d"; 40];
        let load = load_text(Path::new("w.yml"), &windash_rule(&many), &m);
        assert_eq!(load.refused.len(), 1, "{:?}", load.refused);
        assert!(
            load.refused[0].reason.contains("20000"),
            "{:?}",
            load.refused
        );

        // SigmaHQ's usual shape loads and compiles.
        let load = load_text(
            Path::new("w.yml"),
            &windash_rule(&[" -enc ", " -e -p "]),
            &m,
        );
        assert!(load.refused.is_empty(), "{:?}", load.refused);
        assert!(load.rules[0].compile().is_ok());
    }

    #[test]
    fn refusals_carry_file_and_reason_and_loading_continues() {
        let m = Mapping::builtin().expect("mapping");
        let text = format!(
            "{PROC}---\ntitle: Broken\nlogsource: {{product: windows}}\ndetection:\n  sel:\n    a|nosuchmodifier: 1\n  condition: sel\n---\ntitle: NoSource\nlogsource: {{definition: x}}\ndetection:\n  sel: {{a: 1}}\n  condition: sel\n"
        );
        let RuleLoad {
            rules: r, refused, ..
        } = load_text(Path::new("multi.yml"), &text, &m);
        assert_eq!(r.len(), 1, "the valid rule still loads");
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().all(|x| x.file == Path::new("multi.yml")));
        assert!(
            refused.iter().any(|x| x.reason.contains("logsource")),
            "{refused:?}"
        );
        let RuleLoad {
            rules: r, refused, ..
        } = load_text(Path::new("bad.yml"), "title: [unclosed", &m);
        assert!(r.is_empty());
        assert_eq!(refused.len(), 1);
        assert!(refused[0].reason.contains("parse error"));
    }

    #[test]
    fn a_rule_that_parses_but_does_not_compile_is_refused_by_the_check() {
        let m = Mapping::builtin().expect("mapping");
        let text = format!(
            "{PROC}---\ntitle: Bad regex\nid: bad-regex\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    CommandLine|re: '(unclosed'\n  condition: sel\n"
        );
        let mut load = load_text(Path::new("re.yml"), &text, &m);
        assert!(
            load.refused.is_empty(),
            "parsing alone accepts it: {:?}",
            load.refused
        );
        assert_eq!(load.rules.len(), 2);
        check_compiles(&mut load);
        assert_eq!(load.rules.len(), 1);
        assert_eq!(load.rules[0].name(), "11111111-1111-1111-1111-111111111111");
        assert_eq!(load.refused.len(), 1, "{:?}", load.refused);
        assert_eq!(load.refused[0].rule.as_deref(), Some("bad-regex"));
        assert_eq!(load.refused[0].file, Path::new("re.yml"));
        assert!(load.refused[0].reason.starts_with("compile error"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yml"), PROC).expect("write");
        std::fs::write(dir.path().join("b.yml"), PROC).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        let m = Mapping::builtin().expect("mapping");
        let load = load_paths(&[dir.path().to_path_buf(), dir.path().join("missing")], &m);
        assert_eq!(load.rules.len(), 1);
        assert_eq!(load.refused.len(), 2, "{:?}", load.refused);
        assert!(
            load.refused
                .iter()
                .any(|r| r.reason.contains("duplicate rule id"))
        );
        assert!(
            load.refused
                .iter()
                .any(|r| r.reason.contains("cannot read directory"))
        );
    }
}
