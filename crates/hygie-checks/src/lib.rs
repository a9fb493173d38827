//! The registry of every automated rule: the AD rules, the password checks, every collector's
//! rules, the governance rules, the inventory rules and the vulnerability rule, each a `hygie_core::RuleDef`, in one list.
//!
//! Architecture invariant: an audit's rules are registered here as soon as its crate defines
//! them, and the bundled catalogue lints clean against this list both ways (every rule's measures
//! list it in `check_rules`; every automatic measure is verified by a rule or says why not yet).
//! To add an audit: depend on its crate and chain its rules in [`rules`].
//!
//! The list is read by `hygie checks list`, by the web's audits pages (titles, remediation) and
//! by the catalogue lint (`hygie_catalog::rules::lint`, pure, errors with file and line); a
//! measure not yet verifiable says why in its bilingual `auto_pending` field. The tests below
//! keep the registry honest: ids are unique and follow the scheme, every rule has both titles
//! and at least one measure, and [`bundled_catalog`] lints clean both ways.

use hygie_catalog::CatalogErrors;
use hygie_core::{Catalog, RuleDef};
use std::path::Path;

/// Every registered rule: AD, passwords, collectors (in their registration order), governance,
/// inventory.
pub fn rules() -> Vec<&'static RuleDef> {
    let ad = hygie_ad::rules::RULES.iter().map(|r| &r.def);
    let passwords = hygie_passwords::CHECKS.iter();
    let collectors = hygie_collect::COLLECTORS
        .iter()
        .flat_map(|c| c.rules.iter().copied());
    let governance = hygie_governance::rules::RULES.iter().copied();
    let inventory = hygie_inventory::rules::RULES.iter().copied();
    let vuln = hygie_vuln::rules::RULES.iter().copied();
    ad.chain(passwords)
        .chain(collectors)
        .chain(governance)
        .chain(inventory)
        .chain(vuln)
        .collect()
}

/// The sources of the registered rules (`ad`, `passwords`, each collector, `governance`...), each
/// once, in registration order: what `hygie checks list --source` accepts.
pub fn sources() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in rules() {
        if !out.contains(&r.source) {
            out.push(r.source);
        }
    }
    out
}

/// One registered rule by id (case-insensitive).
pub fn rule(id: &str) -> Option<&'static RuleDef> {
    rules().into_iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// The bundled catalogue, linted against every registered rule.
pub fn bundled_catalog() -> Result<Catalog, CatalogErrors> {
    hygie_catalog::bundled_with_rules(&rules())
}

/// A catalogue folder, linted against every registered rule.
pub fn catalog_dir(dir: &Path) -> Result<Catalog, CatalogErrors> {
    hygie_catalog::load_dir_with_rules(dir, &rules())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_follow_the_scheme() {
        let all = rules();
        let ids: BTreeSet<&str> = all.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), all.len(), "duplicate rule ids");
        for r in &all {
            assert!(
                hygie_core::is_rule_id(r.id),
                "{} does not follow PREFIX-NAME",
                r.id
            );
        }
        assert!(all.iter().filter(|r| r.source == "ad").count() >= 69);
        // Every audit has rules in the registry, and `sources` names each once.
        assert_eq!(
            sources(),
            [
                "ad",
                "passwords",
                "backups",
                "antivirus",
                "patching",
                "network",
                "wifi",
                "mfa",
                "governance",
                "risk",
                "inventory",
                "vuln",
            ]
        );
    }

    #[test]
    fn every_rule_has_both_titles_and_a_valid_measure() {
        for r in rules() {
            assert!(
                !r.title.en.trim().is_empty() && !r.title.fr.trim().is_empty(),
                "{} lacks a title",
                r.id
            );
            assert!(!r.measures.is_empty(), "{} verifies no measure", r.id);
            assert_eq!(
                r.measure_ids().len(),
                r.measures.len(),
                "{}: bad measure id",
                r.id
            );
            for t in [r.rationale, r.remediation].into_iter().flatten() {
                assert!(
                    !t.en.trim().is_empty() && !t.fr.trim().is_empty(),
                    "{}",
                    r.id
                );
            }
        }
    }

    #[test]
    fn the_bundled_catalogue_passes_the_two_way_lint() {
        if let Err(e) = bundled_catalog() {
            panic!("{e}");
        }
    }

    #[test]
    fn the_lint_names_file_and_line_both_ways() {
        let broken = RuleDef::new(
            "ZZ-TEST",
            "test",
            hygie_core::Severity::Low,
            hygie_core::Text::new("t", "t"),
            &["IAM-04"],
        );
        let mut all = rules();
        all.push(&broken);
        let e = hygie_catalog::bundled_with_rules(&all).expect_err("unlisted rule");
        let err =
            e.0.iter()
                .find(|e| e.message.contains("ZZ-TEST"))
                .expect("names the rule");
        assert_eq!(err.file, "catalog/measures/IAM.toml");
        assert!(err.line.is_some_and(|l| l > 1), "{err}");

        // A measure verified automatically that no rule verifies, without a reason, is refused.
        let mut fewer = rules();
        fewer.retain(|r| r.source != "backups");
        let e = hygie_catalog::bundled_with_rules(&fewer).expect_err("stale check_rules");
        assert!(
            e.0.iter()
                .any(|e| e.message.contains("unknown rule 'BCK-RPO'")),
            "{e}"
        );
    }
}
