//! Every check on a synthetic dump whose passwords are known, with exact accounts per finding.

use hygie_core::{RuleOutcome, Severity};
use hygie_passwords::{
    AccountStatus, AuditOptions, BreachIndex, Dictionary, Directory, Evaluation, Sources, audit,
    import, parse_dump,
};
use hygie_testkit::{NO_LM, nt_hex};

const SOME_LM: &str = "e52cac67419a9a224a3b108f3fa6cb6d";

/// (account, rid, password, LM stored, status suffix, history passwords)
type Row = (
    &'static str,
    u32,
    &'static str,
    bool,
    &'static str,
    &'static [&'static str],
);
const ACCOUNTS: &[Row] = &[
    (
        "CHU\\Administrator",
        500,
        "Kx7#pL9@wQ2!vN4$",
        false,
        "",
        &[],
    ),
    ("CHU\\eve", 1101, "", false, "", &[]),
    ("CHU\\alice", 1102, "Shared-Secret-91!x", false, "", &[]),
    ("CHU\\adm_alice", 1103, "Shared-Secret-91!x", false, "", &[]),
    ("CHU\\bob", 1104, "Bob2026", false, "", &[]),
    ("CHU\\carol", 1105, "Urgences2024!", false, "", &[]),
    ("CHU\\dave", 1106, "Zq8&Lm3!Rt6#Wp1v", true, "", &[]),
    (
        "CHU\\frank",
        1107,
        "Breached-But-Long-77",
        false,
        "",
        &["older-one-a", "Breached-But-Long-77"],
    ),
    (
        "CHU\\gina",
        1108,
        "Gn5$Hy7*Uk2!Xc9q",
        false,
        "",
        &["Gn5$Hy7*Uk2!Xc9r"],
    ),
    ("CHU\\olduser", 1109, "", false, " (status=Disabled)", &[]),
    ("CHU\\svc_a", 1110, "Same-For-Both-Svc-1", false, "", &[]),
    ("CHU\\svc_b", 1111, "Same-For-Both-Svc-1", false, "", &[]),
    ("CHU\\WKS0042$", 1112, "wks0042", false, "", &[]),
    (
        "CHU\\SRV-DPI-PROD-01$",
        1113,
        "srv-dpi-prod-0",
        false,
        "",
        &[],
    ),
    ("CHU\\SRV02$", 1114, "f8#kS2!pQ9@zX4&m", false, "", &[]),
    ("CHU\\adm_hugo", 1115, "azerty", false, "", &[]),
];

const BREACHED: &[&str] = &["Breached-But-Long-77", "azerty", "Password1"];

fn dump_text() -> String {
    let mut s = String::from("[*] Dumping Domain Credentials (domain\\uid:rid:lmhash:nthash)\n");
    for (name, rid, pw, lm, suffix, history) in ACCOUNTS {
        let lm = if *lm { SOME_LM } else { NO_LM };
        s.push_str(&format!("{name}:{rid}:{lm}:{}:::{suffix}\n", nt_hex(pw)));
        for (i, h) in history.iter().enumerate() {
            s.push_str(&format!(
                "{name}_history{i}:{rid}:{NO_LM}:{}:::\n",
                nt_hex(h)
            ));
        }
    }
    s
}

fn directory() -> Directory {
    let mut d = Directory::new();
    for (n, p) in [
        ("adm_alice", true),
        ("adm_hugo", true),
        ("Administrator", true),
        ("alice", false),
        ("gina", false),
    ] {
        d.insert(
            n,
            AccountStatus {
                enabled: true,
                privileged: p,
            },
        );
    }
    d
}

fn breach_index(dir: &std::path::Path) -> BreachIndex {
    let mut hashes: Vec<String> = BREACHED.iter().map(|p| nt_hex(p).to_uppercase()).collect();
    hashes.sort();
    let text: String = hashes.iter().map(|h| format!("{h}:12\n")).collect();
    let out = dir.join("hibp.idx");
    import(&mut text.as_bytes(), "hibp.txt", &out, &mut |_| {}).expect("valid list");
    BreachIndex::open(&out).expect("open index")
}

fn findings(report: &hygie_passwords::AuditReport) -> Vec<(String, Severity, Vec<String>)> {
    report
        .findings
        .iter()
        .map(|f| (f.check.to_string(), f.severity, f.accounts.clone()))
        .collect()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| format!("CHU\\{s}")).collect()
}

#[test]
fn each_check_flags_exactly_the_expected_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = breach_index(dir.path());
    let dump = parse_dump(&dump_text(), "dump.txt").expect("valid dump");
    let dict = Dictionary::builtin(2026);
    let dirs = directory();
    let opts = AuditOptions {
        year: 2026,
        ..AuditOptions::default()
    };
    let report = audit(
        &dump,
        &Sources {
            directory: Some(&dirs),
            dictionary: Some(&dict),
            breach: Some(&index),
        },
        &opts,
    );

    let want: Vec<(String, Severity, Vec<String>)> = vec![
        ("HSH-01".into(), Severity::Critical, names(&["eve"])),
        ("HSH-02".into(), Severity::Critical, names(&["adm_hugo"])),
        ("HSH-02".into(), Severity::High, names(&["carol"])),
        ("HSH-03".into(), Severity::High, names(&["bob"])),
        (
            "HSH-04".into(),
            Severity::Critical,
            names(&["adm_alice", "alice"]),
        ),
        ("HSH-04".into(), Severity::High, names(&["svc_a", "svc_b"])),
        ("HSH-05".into(), Severity::Medium, names(&["dave"])),
        (
            "HSH-06".into(),
            Severity::Medium,
            names(&["SRV-DPI-PROD-01$", "WKS0042$"]),
        ),
        ("HSH-07".into(), Severity::Critical, names(&["adm_hugo"])),
        ("HSH-07".into(), Severity::High, names(&["frank"])),
        ("HSH-08".into(), Severity::Medium, names(&["frank"])),
    ];
    assert_eq!(findings(&report), want);
    assert_eq!(report.summary.accounts, ACCOUNTS.len());
    assert_eq!(
        report.summary.disabled_skipped, 1,
        "olduser is disabled (secretsdump status)"
    );
    assert_eq!(report.summary.privileged_audited, 3);
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.outcome != Evaluation::NotEvaluated)
    );

    // The CheckRun: one result per check, failing with the union of accounts, measures attached.
    let run = report.to_check_run("run-1".into(), jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(run.source, "passwords");
    assert_eq!(run.results.len(), 8);
    let r4 = run
        .results
        .iter()
        .find(|r| r.rule == "HSH-04")
        .expect("HSH-04 evaluated");
    assert_eq!(
        (r4.outcome, r4.severity),
        (RuleOutcome::Fail, Severity::Critical)
    );
    assert_eq!(r4.objects, names(&["adm_alice", "alice", "svc_a", "svc_b"]));
    assert!(r4.measures.iter().any(|m| m.as_str() == "IAM-06"));
    let r5 = run
        .results
        .iter()
        .find(|r| r.rule == "HSH-05")
        .expect("HSH-05");
    assert!(r5.measures.iter().any(|m| m.as_str() == "IAM-07"));
}

#[test]
fn disabled_accounts_can_be_included_and_missing_sources_are_not_evaluated() {
    let dump = parse_dump(&dump_text(), "dump.txt").expect("valid dump");
    let opts = AuditOptions {
        include_disabled: true,
        year: 2026,
        ..AuditOptions::default()
    };
    let report = audit(&dump, &Sources::default(), &opts);
    assert_eq!(report.accounts_of("HSH-01"), names(&["eve", "olduser"]));
    for id in ["HSH-02", "HSH-07"] {
        let c = report
            .checks
            .iter()
            .find(|c| c.check == id)
            .expect("listed");
        assert_eq!(c.outcome, Evaluation::NotEvaluated, "{id}");
        assert!(c.reason.is_some());
    }
    let run = report.to_check_run("r".into(), jiff::Timestamp::UNIX_EPOCH);
    assert!(
        run.results
            .iter()
            .all(|r| r.rule != "HSH-02" && r.rule != "HSH-07"),
        "only evaluated checks are recorded"
    );
    // Without a directory, only RID 500 counts as privileged: alice/adm_alice share at High.
    let shared: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "HSH-04")
        .map(|f| f.severity)
        .collect();
    assert_eq!(shared, vec![Severity::High, Severity::High]);
}

#[test]
fn a_clean_dump_passes_every_check() {
    let text: String = [
        ("u1", "Vr7!kQ2#mZ9$pL4x"),
        ("u2", "Hq3@nB8&cT5*wE1y"),
        ("PC1$", "Xx91-lkjhgf-Q!z"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (n, p))| {
        format!(
            "{n}:{}:{NO_LM}:{}:::\n{n}_history0:{}:{NO_LM}:{}:::\n",
            2000 + i,
            nt_hex(p),
            2000 + i,
            nt_hex("old-Pw-0!")
        )
    })
    .collect();
    let dump = parse_dump(&text, "clean.txt").expect("valid dump");
    let dict = Dictionary::builtin(2026);
    let report = audit(
        &dump,
        &Sources {
            dictionary: Some(&dict),
            ..Sources::default()
        },
        &AuditOptions::default(),
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let run = report.to_check_run("r".into(), jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(run.results.len(), 7, "all but the breach check");
    assert!(
        run.results
            .iter()
            .all(|r| r.outcome == RuleOutcome::Pass && r.objects.is_empty())
    );
}

#[test]
fn serialised_report_and_debug_output_hold_no_hash_and_no_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = breach_index(dir.path());
    let text = dump_text();
    let dump = parse_dump(&text, "dump.txt").expect("valid dump");
    let dict = Dictionary::builtin(2026);
    let dirs = directory();
    let report = audit(
        &dump,
        &Sources {
            directory: Some(&dirs),
            dictionary: Some(&dict),
            breach: Some(&index),
        },
        &AuditOptions::default(),
    );
    let json = serde_json::to_string(&report).expect("serialise");
    let run = report.to_check_run("r".into(), jiff::Timestamp::UNIX_EPOCH);
    let shown = format!(
        "{json}\n{report:?}\n{run:?}\n{:?}\n{dump:?}\n{index:?}",
        serde_json::to_string(&run).expect("run json")
    );
    for (_, _, pw, _, _, history) in ACCOUNTS {
        for p in std::iter::once(pw).chain(history.iter()) {
            let h = nt_hex(p);
            assert!(!shown.to_lowercase().contains(&h), "an NT hash leaked");
            assert!(
                !shown.to_lowercase().contains(&h[..16]),
                "half an NT hash leaked"
            );
            if p.len() >= 6 {
                assert!(!shown.contains(p), "a password leaked: {p}");
            }
        }
    }
    assert!(
        json.contains("\"findings\"")
            && json.contains("\"check\":\"HSH-01\"")
            && json.contains("\"accounts\"")
    );
}

/// The catalogue names these checks on exactly the measures each check says it verifies.
#[test]
fn the_catalogue_lists_each_check_on_its_measures() {
    let catalog = hygie_catalog::bundled().expect("bundled catalogue loads");
    for c in hygie_passwords::CHECKS {
        for m in c.measures {
            let measure = catalog
                .measures
                .iter()
                .find(|x| x.id.as_str() == *m)
                .unwrap_or_else(|| panic!("{} names unknown measure {m}", c.id));
            assert!(
                measure.check_rules.iter().any(|r| r == c.id),
                "{m} should list {} in check_rules",
                c.id
            );
        }
    }
    for measure in &catalog.measures {
        for r in measure.check_rules.iter().filter(|r| r.starts_with("HSH-")) {
            let c = hygie_passwords::CHECKS
                .iter()
                .find(|c| c.id == r)
                .unwrap_or_else(|| panic!("{} lists unknown {r}", measure.id.as_str()));
            assert!(
                c.measures.contains(&measure.id.as_str()),
                "{r} does not verify {}",
                measure.id.as_str()
            );
        }
    }
}
