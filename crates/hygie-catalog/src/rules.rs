//! The catalogue against the registered rules, both ways: every id in a measure's `check_rules`
//! names a registered rule that verifies that measure, every registered rule's measures exist and
//! list it, and every measure verified automatically is verified by a rule or says in
//! `auto_pending` why not yet. The registry itself lives above the audits (`hygie-checks`); this
//! crate only reads the definitions it is given.

use crate::CatalogError;
use hygie_core::{Measure, MeasureId, RuleDef, Verification, is_rule_id};
use std::collections::{BTreeMap, BTreeSet};

/// Where a measure is defined.
#[derive(Debug, Clone)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

/// Every problem between the measures (defined at `places`) and the registered rules.
pub fn lint(
    measures: &[Measure],
    places: &BTreeMap<MeasureId, Place>,
    registered: &[&RuleDef],
) -> Vec<CatalogError> {
    let mut out = Vec::new();
    let at = |m: &Measure, message: String| CatalogError {
        file: places.get(&m.id).map_or_else(
            || format!("catalog/measures/{}.toml", m.group),
            |p| p.file.clone(),
        ),
        line: places.get(&m.id).map(|p| p.line),
        message: format!("measure {}: {message}", m.id),
    };
    let mut ids = BTreeSet::new();
    for r in registered {
        if !is_rule_id(r.id) || !ids.insert(r.id) {
            out.push(CatalogError {
                file: format!("rule {} ({})", r.id, r.source),
                line: None,
                message: "the id is registered twice or does not follow the scheme PREFIX-NAME"
                    .into(),
            });
        }
    }
    let find = |id: &str| registered.iter().find(|r| r.id == id);
    for m in measures {
        for r in &m.check_rules {
            match find(r) {
                None => out.push(at(m, format!("check_rules names unknown rule '{r}'"))),
                Some(def) if !def.measures.contains(&m.id.as_str()) => out.push(at(
                    m,
                    format!(
                        "rule '{r}' does not verify this measure (it verifies {})",
                        def.measures.join(", ")
                    ),
                )),
                Some(_) => {}
            }
        }
        let pending = m.auto_pending.is_some();
        match (m.verification, m.check_rules.is_empty(), pending) {
            (Verification::Auto, true, false) => out.push(at(
                m,
                "verified automatically, but no rule in check_rules and no auto_pending saying why \
                 not yet"
                    .into(),
            )),
            (Verification::Auto, false, true) => out.push(at(
                m,
                "auto_pending is stale: check_rules already names rules that verify it".into(),
            )),
            (v, _, true) if v != Verification::Auto => out.push(at(
                m,
                format!("auto_pending only applies to verification = \"auto\" (not \"{}\")", v.as_str()),
            )),
            _ => {}
        }
    }
    for r in registered {
        if r.measures.is_empty() {
            out.push(CatalogError {
                file: format!("rule {} ({})", r.id, r.source),
                line: None,
                message: "verifies no measure".into(),
            });
        }
        for mid in r.measures {
            match measures.iter().find(|m| m.id.as_str() == *mid) {
                None => out.push(CatalogError {
                    file: "catalog/measures".into(),
                    line: None,
                    message: format!(
                        "rule '{}' ({}) verifies unknown measure {mid}",
                        r.id, r.source
                    ),
                }),
                Some(m) if !m.check_rules.iter().any(|c| c == r.id) => out.push(at(
                    m,
                    format!(
                        "check_rules lacks '{}' ({}), which verifies it",
                        r.id, r.source
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    out
}
