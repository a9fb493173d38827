//! The correlation rules Hygie ships (`rules/windows/correlation`): each fires once on its
//! attack events and never on its benign ones, through the batch pipeline `hygie detect` runs.

use hygie_detect::{Alert, Detector, Mapping, load_paths};
use hygie_logs::batch::{Progress, run};
use std::path::{Path, PathBuf};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/windows/correlation")
}

fn detector() -> Detector {
    let mapping = Mapping::builtin().expect("mapping");
    let load = load_paths(&[rules_dir()], &mapping);
    assert!(load.refused.is_empty(), "{:?}", load.refused);
    assert_eq!(load.correlations.len(), 3);
    Detector::new(mapping, load.rules).with_correlations(load.correlations)
}

fn detect(det: &Detector, file: &Path, threads: usize) -> Vec<Alert> {
    let (files, errors) = hygie_logs::list_log_files(&[file.to_path_buf()]);
    assert!(errors.is_empty() && files.len() == 1, "{errors:?}");
    let mut alerts = Vec::new();
    let s = run(
        det,
        "750000001",
        &files,
        threads,
        300,
        &Progress::default(),
        &mut |a| alerts.push(a),
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert!(s.events > 0);
    alerts
}

#[test]
fn each_shipped_correlation_fires_on_its_attack_and_not_on_benign_events() {
    let det = detector();
    let cases = [
        (
            "brute-force-account",
            "2f0c9a41-8e6b-4d17-a3c5-6b1e9d4f7a02",
            11,
        ),
        (
            "password-spraying",
            "9c4f1e85-2d6a-4b39-b7e1-8a5c3d2f6b04",
            11,
        ),
        (
            "account-many-hosts",
            "6b2d9a47-7e1c-4f83-a5d2-9c4b1e8f3a06",
            6,
        ),
    ];
    for (name, id, crossed) in cases {
        let tests = rules_dir().join("tests");
        let attack = tests.join(format!("{name}.attack.jsonl"));
        for threads in [1, 2] {
            let alerts = detect(&det, &attack, threads);
            assert_eq!(alerts.len(), 1, "{name}: {alerts:#?}");
            assert_eq!(alerts[0].rule_id, id, "{name}");
            assert_eq!(alerts[0].level, "high");
            // The count (or number of distinct values) that crossed the threshold.
            assert_eq!(alerts[0].count, crossed, "{name}");
            assert!(alerts[0].tags.iter().any(|t| t.starts_with("attack.t")));
        }
        let benign = detect(&det, &tests.join(format!("{name}.benign.jsonl")), 2);
        assert!(benign.is_empty(), "{name}: {benign:#?}");
    }
}

#[test]
fn a_correlation_alert_names_its_group_and_depends_on_the_facility() {
    let det = detector();
    let attack = rules_dir().join("tests/brute-force-account.attack.jsonl");
    let a = detect(&det, &attack, 2);
    assert!(
        a[0].fields
            .contains(&("TargetUserName".into(), "dr.martin".into())),
        "{:?}",
        a[0].fields
    );
    assert!(
        a[0].fields
            .contains(&("IpAddress".into(), "10.20.3.14".into()))
    );
    let (files, _) = hygie_logs::list_log_files(&[attack]);
    let mut other = Vec::new();
    run(
        &det,
        "690000002",
        &files,
        2,
        300,
        &Progress::default(),
        &mut |x| other.push(x),
    );
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].id, a[0].id);
}
