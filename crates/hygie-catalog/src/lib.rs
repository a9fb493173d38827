//! The measure catalogue: TOML files under the repository's `catalog/` (see `catalog/README.md`),
//! loaded into `hygie_core::Catalog` after a lint that collects every problem at once.
//!
//! Architecture invariant: a `Catalog` only exists once the lint found no error, so the rest of
//! Hygie can trust that every reference resolves.
//! The `*_with_rules` loaders also lint `check_rules` and `auto_pending` against the rules they
//! are given ([`rules`]); `hygie-checks` gives them every registered rule.
//!
//! What the lint guarantees: every source reference resolves, every 2016 plan item maps to a
//! measure, and a measure's plan level and deadline derive from the plan entries it cites (never
//! typed twice). Errors name the file and the line (TOML spans), all of them at once. `build.rs`
//! bundles the files into the binary, which carries the catalogue it was built with (and lints
//! it when loading, like any other).
//! To add a measure: a TOML entry in `catalog/measures/`; a new field: the loader, the lint and
//! `catalog/README.md`.

use hygie_core::catalog::Group;
use hygie_core::{
    Catalog, FacilityKind, Framework, FrameworkEntry, Localized, Measure, MeasureId, RuleDef,
    SourceRef,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

pub mod rules;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// One problem found in the catalogue, located at a file and (when known) a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CatalogError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem of a catalogue that did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the catalogue has {} error(s):\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct CatalogErrors(pub Vec<CatalogError>);

/// Figures a lint reports about a catalogue that loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintSummary {
    pub version: String,
    pub measures: usize,
    pub frameworks: usize,
    pub entries: usize,
    pub entries_out_of_scope: usize,
    pub unconfirmed_measures: usize,
}

/// The catalogue compiled into this build. The test suite proves it lints clean, so failing here
/// would mean a broken build, not bad user input.
pub fn bundled() -> Result<Catalog, CatalogErrors> {
    load_files(bundled_files())
}

fn bundled_files() -> Vec<(String, String)> {
    bundled::FILES
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

/// Load a catalogue folder from disk (for editing and linting the data).
pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogErrors> {
    load_files(read_dir_files(dir)?)
}

fn read_dir_files(dir: &Path) -> Result<Vec<(String, String)>, CatalogErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    read_tree(dir, dir, &mut files, &mut errors);
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(CatalogErrors(errors))
    }
}

fn read_tree(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, String)>,
    errors: &mut Vec<CatalogError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(CatalogError {
                file: dir.display().to_string(),
                line: None,
                message: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            read_tree(root, &p, files, errors);
        } else if p.extension().is_some_and(|x| x == "toml") {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            match std::fs::read_to_string(&p) {
                Ok(c) => files.push((rel, c)),
                Err(e) => errors.push(CatalogError {
                    file: p.display().to_string(),
                    line: None,
                    message: format!("cannot read file: {e}"),
                }),
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    version: String,
    group: Vec<Spanned<RawGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: String,
    title: Localized,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrameworks {
    framework: Vec<Spanned<RawFramework>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    id: String,
    name: Localized,
    citation: String,
    url: Option<String>,
    unconfirmed: Option<String>,
    #[serde(default)]
    entry: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(rename = "ref")]
    reference: String,
    title: Localized,
    level: Option<u8>,
    unconfirmed: Option<String>,
    out_of_scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasures {
    measure: Vec<Spanned<RawMeasure>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    id: String,
    title: Localized,
    description: Localized,
    sources: Vec<Spanned<RawSource>>,
    applies_to: Option<Vec<String>>,
    #[serde(default)]
    nis2_only: bool,
    principles: Vec<String>,
    verification: String,
    evidence: Vec<Localized>,
    recurrence_months: Option<u8>,
    /// Why the recurrence period is Hygie's recommendation rather than a text's requirement.
    recurrence_recommended: Option<Localized>,
    #[serde(default)]
    check_rules: Vec<String>,
    auto_pending: Option<Localized>,
    unconfirmed: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    framework: String,
    #[serde(rename = "ref")]
    reference: String,
}

struct Ctx {
    errors: Vec<CatalogError>,
}

impl Ctx {
    fn err(
        &mut self,
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let line = span.map(|s| line_of(text, s.start));
        self.errors.push(CatalogError {
            file: format!("catalog/{file}"),
            line,
            message: message.into(),
        });
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.bytes().filter(|&b| b == b'\n').count() + 1)
}

fn parse<T: serde::de::DeserializeOwned>(ctx: &mut Ctx, file: &str, text: &str) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = e.message().to_owned();
            ctx.err(file, text, e.span(), msg);
            None
        }
    }
}

fn check_localized(
    ctx: &mut Ctx,
    file: &str,
    text: &str,
    span: &Range<usize>,
    what: &str,
    l: &Localized,
) {
    if l.en.trim().is_empty() || l.fr.trim().is_empty() {
        ctx.err(
            file,
            text,
            Some(span.clone()),
            format!("{what} needs both 'en' and 'fr' text"),
        );
    }
}

/// Load and lint a catalogue given as `(path relative to catalog/, content)` pairs.
pub fn load_files(files: Vec<(String, String)>) -> Result<Catalog, CatalogErrors> {
    load(files, None)
}

/// [`load_files`], and lint `check_rules` and `auto_pending` against every registered rule
/// (both ways, see [`rules`]).
pub fn load_files_with_rules(
    files: Vec<(String, String)>,
    registered: &[&RuleDef],
) -> Result<Catalog, CatalogErrors> {
    load(files, Some(registered))
}

/// [`bundled`], linted against every registered rule.
pub fn bundled_with_rules(registered: &[&RuleDef]) -> Result<Catalog, CatalogErrors> {
    load_files_with_rules(bundled_files(), registered)
}

/// [`load_dir`], linted against every registered rule.
pub fn load_dir_with_rules(dir: &Path, registered: &[&RuleDef]) -> Result<Catalog, CatalogErrors> {
    load(read_dir_files(dir)?, Some(registered))
}

fn load(
    files: Vec<(String, String)>,
    registered: Option<&[&RuleDef]>,
) -> Result<Catalog, CatalogErrors> {
    let mut ctx = Ctx { errors: Vec::new() };
    let find = |name: &str| files.iter().find(|(p, _)| p == name);

    let Some((_, root_text)) = find("catalog.toml") else {
        return Err(CatalogErrors(vec![CatalogError {
            file: "catalog/catalog.toml".into(),
            line: None,
            message: "missing".into(),
        }]));
    };
    let Some((_, fw_text)) = find("frameworks.toml") else {
        return Err(CatalogErrors(vec![CatalogError {
            file: "catalog/frameworks.toml".into(),
            line: None,
            message: "missing".into(),
        }]));
    };
    let root: Option<RawRoot> = parse(&mut ctx, "catalog.toml", root_text);
    let fws: Option<RawFrameworks> = parse(&mut ctx, "frameworks.toml", fw_text);

    // Groups.
    let mut groups = Vec::new();
    let mut version = String::new();
    if let Some(root) = root {
        version = root.version.trim().to_owned();
        if version.is_empty() {
            ctx.err("catalog.toml", root_text, None, "version must not be empty");
        }
        let mut seen = BTreeSet::new();
        for g in root.group {
            let span = g.span();
            let g = g.into_inner();
            if !(2..=4).contains(&g.id.len()) || !g.id.bytes().all(|b| b.is_ascii_uppercase()) {
                ctx.err(
                    "catalog.toml",
                    root_text,
                    Some(span.clone()),
                    format!("group id '{}' must be 2-4 capital letters", g.id),
                );
            }
            if !seen.insert(g.id.clone()) {
                ctx.err(
                    "catalog.toml",
                    root_text,
                    Some(span.clone()),
                    format!("group '{}' defined twice", g.id),
                );
            }
            check_localized(
                &mut ctx,
                "catalog.toml",
                root_text,
                &span,
                &format!("group {} title", g.id),
                &g.title,
            );
            groups.push(Group {
                id: g.id,
                title: g.title,
            });
        }
    }

    // Frameworks and their entries, with where each entry is defined.
    let mut frameworks = Vec::new();
    let mut entry_spans: BTreeMap<(String, String), Range<usize>> = BTreeMap::new();
    if let Some(fws) = fws {
        let mut seen = BTreeSet::new();
        for f in fws.framework {
            let span = f.span();
            let f = f.into_inner();
            if f.id.trim().is_empty() || !seen.insert(f.id.clone()) {
                ctx.err(
                    "frameworks.toml",
                    fw_text,
                    Some(span.clone()),
                    format!("framework id '{}' is empty or defined twice", f.id),
                );
            }
            check_localized(
                &mut ctx,
                "frameworks.toml",
                fw_text,
                &span,
                &format!("framework {} name", f.id),
                &f.name,
            );
            let mut entries = Vec::new();
            for e in f.entry {
                let espan = e.span();
                let e = e.into_inner();
                let key = (f.id.clone(), e.reference.clone());
                if entry_spans.insert(key, espan.clone()).is_some() {
                    ctx.err(
                        "frameworks.toml",
                        fw_text,
                        Some(espan.clone()),
                        format!("entry {} {} defined twice", f.id, e.reference),
                    );
                }
                check_localized(
                    &mut ctx,
                    "frameworks.toml",
                    fw_text,
                    &espan,
                    &format!("entry {} {} title", f.id, e.reference),
                    &e.title,
                );
                let is_plan = f.id == "PAS16";
                match e.level {
                    Some(1..=3) if is_plan => {}
                    None if !is_plan => {}
                    _ if is_plan => ctx.err(
                        "frameworks.toml",
                        fw_text,
                        Some(espan.clone()),
                        format!("PAS16 entry {} needs a level 1, 2 or 3", e.reference),
                    ),
                    _ => ctx.err(
                        "frameworks.toml",
                        fw_text,
                        Some(espan.clone()),
                        format!(
                            "entry {} {}: only PAS16 entries have a level",
                            f.id, e.reference
                        ),
                    ),
                }
                if e.out_of_scope
                    .as_deref()
                    .is_some_and(|r| r.trim().is_empty())
                {
                    ctx.err(
                        "frameworks.toml",
                        fw_text,
                        Some(espan.clone()),
                        format!(
                            "entry {} {}: out_of_scope needs its reason",
                            f.id, e.reference
                        ),
                    );
                }
                entries.push(FrameworkEntry {
                    reference: e.reference,
                    title: e.title,
                    level: e.level,
                    unconfirmed: e.unconfirmed,
                    out_of_scope: e.out_of_scope,
                });
            }
            frameworks.push(Framework {
                id: f.id,
                name: f.name,
                citation: f.citation,
                url: f.url,
                unconfirmed: f.unconfirmed,
                entries,
            });
        }
    }
    let entry = |fw: &str, r: &str| -> Option<(&Framework, &FrameworkEntry)> {
        frameworks
            .iter()
            .find(|f| f.id == fw)
            .and_then(|f| f.entries.iter().find(|e| e.reference == r).map(|e| (f, e)))
    };

    // Measures, group file by group file.
    let group_ids: BTreeSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let mut measures: Vec<Measure> = Vec::new();
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut measure_files: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("measures/"))
        .collect();
    measure_files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen_ids = BTreeMap::new();
    let mut places = BTreeMap::new();
    for (path, text) in measure_files {
        let Some(raw) = parse::<RawMeasures>(&mut ctx, path, text) else {
            continue;
        };
        for m in raw.measure {
            let span = m.span();
            let m = m.into_inner();
            let id = match MeasureId::parse(&m.id) {
                Ok(id) => id,
                Err(e) => {
                    ctx.err(path, text, Some(span), e.to_string());
                    continue;
                }
            };
            if !group_ids.contains(id.group()) {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!(
                        "measure {id}: group '{}' is not in catalog.toml",
                        id.group()
                    ),
                );
            }
            places.insert(
                id.clone(),
                rules::Place {
                    file: format!("catalog/{path}"),
                    line: line_of(text, span.start),
                },
            );
            if let Some(l) = &m.auto_pending {
                check_localized(
                    &mut ctx,
                    path,
                    text,
                    &span,
                    &format!("measure {id} auto_pending"),
                    l,
                );
            }
            if let Some(prev) = seen_ids.insert(id.clone(), path.clone()) {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id} is defined twice (also in catalog/{prev})"),
                );
            }
            check_localized(
                &mut ctx,
                path,
                text,
                &span,
                &format!("measure {id} title"),
                &m.title,
            );
            check_localized(
                &mut ctx,
                path,
                text,
                &span,
                &format!("measure {id} description"),
                &m.description,
            );
            if m.sources.is_empty() {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id} cites no source"),
                );
            }
            let mut sources = Vec::new();
            let mut level: Option<u8> = None;
            let mut unconfirmed = m.unconfirmed.clone();
            for s in m.sources {
                let sspan = s.span();
                let s = s.into_inner();
                match entry(&s.framework, &s.reference) {
                    None => ctx.err(
                        path,
                        text,
                        Some(sspan),
                        format!(
                            "measure {id} cites {} {}, which frameworks.toml does not define",
                            s.framework, s.reference
                        ),
                    ),
                    Some((f, e)) => {
                        if let Some(l) = e.level {
                            level = Some(level.map_or(l, |x| x.min(l)));
                        }
                        if unconfirmed.is_none()
                            && let Some(why) = e.unconfirmed.as_ref().or(f.unconfirmed.as_ref())
                        {
                            unconfirmed = Some(format!("{} {}: {why}", f.id, e.reference));
                        }
                        if e.out_of_scope.is_some() {
                            ctx.err(
                                path,
                                text,
                                Some(sspan),
                                format!(
                                    "measure {id} cites {} {}, which is marked out of scope",
                                    s.framework, s.reference
                                ),
                            );
                        }
                        covered.insert((s.framework.clone(), s.reference.clone()));
                    }
                }
                sources.push(SourceRef {
                    framework: s.framework,
                    reference: s.reference,
                });
            }
            let applies_to = match m.applies_to {
                None => FacilityKind::ALL.to_vec(),
                Some(kinds) => {
                    let mut out = Vec::new();
                    for k in kinds {
                        match k.parse::<FacilityKind>() {
                            Ok(k) => out.push(k),
                            Err(e) => ctx.err(
                                path,
                                text,
                                Some(span.clone()),
                                format!("measure {id}: applies_to: {}", e.message),
                            ),
                        }
                    }
                    if out.is_empty() {
                        ctx.err(
                            path,
                            text,
                            Some(span.clone()),
                            format!("measure {id}: applies_to is empty (omit it for every kind)"),
                        );
                    }
                    out
                }
            };
            let mut principles = Vec::new();
            for p in &m.principles {
                match p.parse() {
                    Ok(p) => principles.push(p),
                    Err(e) => ctx.err(path, text, Some(span.clone()), format!("measure {id}: {e}")),
                }
            }
            if principles.is_empty() {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id} serves no PGSSI-S principle"),
                );
            }
            let verification = match m.verification.parse() {
                Ok(v) => v,
                Err(e) => {
                    ctx.err(path, text, Some(span.clone()), format!("measure {id}: {e}"));
                    hygie_core::Verification::Declarative
                }
            };
            if m.evidence.is_empty() {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id} names no evidence"),
                );
            }
            for (i, ev) in m.evidence.iter().enumerate() {
                check_localized(
                    &mut ctx,
                    path,
                    text,
                    &span,
                    &format!("measure {id} evidence {}", i + 1),
                    ev,
                );
            }
            if m.recurrence_months == Some(0) {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id}: recurrence_months must be at least 1"),
                );
            }
            if m.recurrence_recommended.is_some() && m.recurrence_months.is_none() {
                ctx.err(
                    path,
                    text,
                    Some(span.clone()),
                    format!("measure {id}: recurrence_recommended needs recurrence_months"),
                );
            }
            if let Some(r) = &m.recurrence_recommended {
                check_localized(
                    &mut ctx,
                    path,
                    text,
                    &span,
                    &format!("measure {id} recurrence_recommended"),
                    r,
                );
            }
            measures.push(Measure {
                id,
                group: String::new(),
                title: m.title,
                description: m.description,
                sources,
                level,
                deadline_months: level.map(|l| l * 6),
                applies_to,
                nis2_only: m.nis2_only,
                principles,
                verification,
                evidence: m.evidence,
                recurrence_months: m.recurrence_months,
                recurrence_recommended: m.recurrence_recommended,
                check_rules: m.check_rules,
                auto_pending: m.auto_pending,
                unconfirmed,
            });
        }
    }
    for m in &mut measures {
        m.group = m.id.group().to_owned();
    }

    // Coverage: every entry is covered by a measure or explicitly out of scope, not both.
    for f in &frameworks {
        for e in &f.entries {
            let key = (f.id.clone(), e.reference.clone());
            let span = entry_spans.get(&key).cloned();
            let is_covered = covered.contains(&key);
            match (is_covered, e.out_of_scope.is_some()) {
                (false, false) if f.id == "PAS16" => ctx.err(
                    "frameworks.toml",
                    fw_text,
                    span,
                    format!("2016 plan item {} maps to no measure", e.reference),
                ),
                (false, false) => ctx.err(
                    "frameworks.toml",
                    fw_text,
                    span,
                    format!(
                        "entry {} {} is covered by no measure and not marked out_of_scope",
                        f.id, e.reference
                    ),
                ),
                _ => {}
            }
        }
    }
    if let Some(registered) = registered {
        ctx.errors
            .extend(rules::lint(&measures, &places, registered));
    }
    for g in &groups {
        if !measures.iter().any(|m| m.group == g.id) {
            ctx.errors.push(CatalogError {
                file: "catalog/catalog.toml".into(),
                line: None,
                message: format!("group {} has no measure", g.id),
            });
        }
    }

    if ctx.errors.is_empty() {
        // Display order: the groups' order, then the id.
        let order: BTreeMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i))
            .collect();
        measures.sort_by(|a, b| {
            (order.get(a.group.as_str()), &a.id).cmp(&(order.get(b.group.as_str()), &b.id))
        });
        Ok(Catalog::new(version, groups, frameworks, measures))
    } else {
        Err(CatalogErrors(ctx.errors))
    }
}

/// Figures about a loaded catalogue, for `hygie catalog lint`.
pub fn summary(c: &Catalog) -> LintSummary {
    LintSummary {
        version: c.version.clone(),
        measures: c.measures.len(),
        frameworks: c.frameworks.len(),
        entries: c.frameworks.iter().map(|f| f.entries.len()).sum(),
        entries_out_of_scope: c
            .frameworks
            .iter()
            .flat_map(|f| &f.entries)
            .filter(|e| e.out_of_scope.is_some())
            .count(),
        unconfirmed_measures: c
            .measures
            .iter()
            .filter(|m| m.unconfirmed.is_some())
            .count(),
    }
}

#[cfg(test)]
mod tests;
