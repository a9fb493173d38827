use super::*;

fn files() -> Vec<(String, String)> {
    bundled_files()
}

fn with(path: &str, edit: impl Fn(&str) -> String) -> Vec<(String, String)> {
    let mut fs = files();
    let f = fs.iter_mut().find(|(p, _)| p == path).expect("file exists");
    let edited = edit(&f.1);
    assert_ne!(edited, f.1, "the edit must change {path}");
    f.1 = edited;
    fs
}

fn errors(fs: Vec<(String, String)>) -> Vec<CatalogError> {
    load_files(fs)
        .expect_err("the edited catalogue must not load")
        .0
}

#[test]
fn issue_22_frameworks_and_recommended_periods() {
    let c = bundled().unwrap_or_else(|e| panic!("{e}"));
    for id in ["PSSIMCAS", "PSSIE"] {
        let f = c.framework(id).expect("framework");
        assert!(f.entries.iter().all(|e| e.out_of_scope.is_some()), "{id}");
    }
    let nis2 = c.framework("NIS2").expect("NIS2");
    assert!(nis2.entries.iter().any(|e| e.reference == "23.4.e"));
    for id in ["GOV-06", "IAM-06"] {
        let m = c
            .measure(&MeasureId::parse(id).expect("id"))
            .expect("measure");
        assert!(m.recurrence_recommended.is_some(), "{id}");
    }
    // A recommended period needs a period.
    let errs = errors(with("measures/IAM.toml", |t| {
        t.replacen("recurrence_months = 1\n", "", 1)
    }));
    assert!(
        errs.iter().any(|e| e
            .to_string()
            .contains("recurrence_recommended needs recurrence_months")),
        "{errs:?}"
    );
}

#[test]
fn bundled_catalogue_is_consistent_and_complete() {
    let c = bundled().unwrap_or_else(|e| panic!("{e}"));
    assert!(c.measures.len() >= 70, "{} measures", c.measures.len());
    // Every 2016 plan item maps to a measure, which carries its level and deadline.
    let plan = c.framework("PAS16").expect("the 2016 plan is a framework");
    for e in &plan.entries {
        let level = e.level.expect("PAS16 entries have a level");
        let citing: Vec<_> = c
            .measures
            .iter()
            .filter(|m| {
                m.sources
                    .iter()
                    .any(|s| s.framework == "PAS16" && s.reference == e.reference)
            })
            .collect();
        assert!(!citing.is_empty(), "{} maps to no measure", e.reference);
        for m in citing {
            assert!(m.level.is_some_and(|l| l <= level), "{} level", m.id);
            assert_eq!(m.deadline_months, m.level.map(|l| l * 6));
            assert!(
                m.unconfirmed.is_some(),
                "{} cites an unconfirmed plan item, so it is flagged",
                m.id
            );
        }
    }
    for m in &c.measures {
        assert!(
            !m.sources.is_empty() && !m.principles.is_empty() && !m.evidence.is_empty(),
            "{}",
            m.id
        );
        assert!(!m.title.en.is_empty() && !m.title.fr.is_empty(), "{}", m.id);
    }
    let ids: BTreeSet<_> = c.measures.iter().map(|m| &m.id).collect();
    assert_eq!(ids.len(), c.measures.len());
}

#[test]
fn the_required_plan_measures_carry_their_levels() {
    let c = bundled().unwrap_or_else(|e| panic!("{e}"));
    for (id, level) in [
        ("END-01", 1),
        ("IAM-04", 1),
        ("IAM-05", 1),
        ("BCK-02", 1),
        ("IAM-01", 2),
        ("IAM-02", 2),
        ("NET-02", 2),
        ("NET-01", 3),
        ("GOV-06", 3),
    ] {
        let m = c.resolve(id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.level, Some(level), "{id}");
    }
}

#[test]
fn a_dangling_source_is_reported_with_file_and_line() {
    let es = errors(with("measures/IAM.toml", |t| {
        t.replacen("ref = \"4.5.1.1\"", "ref = \"9.9.9.9\"", 1)
    }));
    let e = es
        .iter()
        .find(|e| e.message.contains("9.9.9.9"))
        .expect("the dangling reference is named");
    assert_eq!(e.file, "catalog/measures/IAM.toml");
    assert!(e.line.is_some_and(|l| l > 1));
}

#[test]
fn every_problem_is_collected_not_just_the_first() {
    let fs = with("measures/IAM.toml", |t| {
        t.replacen("ref = \"4.5.1.1\"", "ref = \"9.9.9.9\"", 1)
            .replacen("verification = \"auto\"", "verification = \"magic\"", 1)
    });
    let es = errors(fs);
    assert!(es.iter().any(|e| e.message.contains("9.9.9.9")));
    assert!(es.iter().any(|e| e.message.contains("magic")));
}

#[test]
fn duplicate_ids_unknown_keys_and_bad_syntax_are_refused() {
    let dup = errors(with("measures/GOV.toml", |t| {
        t.replacen("id = \"GOV-02\"", "id = \"GOV-01\"", 1)
    }));
    assert!(
        dup.iter()
            .any(|e| e.message.contains("GOV-01 is defined twice")),
        "{dup:?}"
    );

    let unknown = errors(with("measures/GOV.toml", |t| {
        t.replacen("id = \"GOV-02\"", "id = \"GOV-02\"\ncolour = \"blue\"", 1)
    }));
    assert!(
        unknown
            .iter()
            .any(|e| e.message.contains("colour") && e.line.is_some()),
        "{unknown:?}"
    );

    let syntax = errors(with("frameworks.toml", |t| format!("{t}\n[[framework]\n")));
    assert!(
        syntax
            .iter()
            .any(|e| e.file == "catalog/frameworks.toml" && e.line.is_some()),
        "{syntax:?}"
    );
}

#[test]
fn an_unmapped_plan_item_is_an_error() {
    // Drop END-01's citation of the level-1 antivirus item: nothing maps it any more.
    let fs = files();
    let plan_ref = {
        let c = load_files(fs.clone()).unwrap_or_else(|e| panic!("{e}"));
        let m = c.resolve("END-01").unwrap_or_else(|e| panic!("{e}"));
        m.sources
            .iter()
            .find(|s| s.framework == "PAS16")
            .expect("END-01 cites PAS16")
            .reference
            .clone()
    };
    let others_cite = files()
        .iter()
        .filter(|(p, t)| {
            p.starts_with("measures/")
                && p != "measures/END.toml"
                && t.contains(&format!("ref = \"{plan_ref}\""))
        })
        .count();
    assert_eq!(
        others_cite, 0,
        "the test assumes only END.toml cites {plan_ref}"
    );
    let es = errors(with("measures/END.toml", |t| {
        t.replace(
            &format!("{{ framework = \"PAS16\", ref = \"{plan_ref}\" }},"),
            "",
        )
        .replace(
            &format!("{{ framework = \"PAS16\", ref = \"{plan_ref}\" }}"),
            "",
        )
    }));
    assert!(
        es.iter().any(|e| e
            .message
            .contains(&format!("2016 plan item {plan_ref} maps to no measure"))),
        "{es:?}"
    );
}

#[test]
fn missing_french_text_is_refused() {
    let es = errors(with("catalog.toml", |t| {
        t.replacen("fr = \"Gouvernance et pilotage\"", "fr = \" \"", 1)
    }));
    assert!(
        es.iter().any(|e| e.message.contains("both 'en' and 'fr'")),
        "{es:?}"
    );
}

#[test]
fn load_dir_reads_the_repository_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let c = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, bundled().unwrap_or_else(|e| panic!("{e}")));
    let err = load_dir(std::path::Path::new("/nonexistent/catalog")).expect_err("no folder");
    assert!(err.0[0].message.contains("cannot read folder"));
}
