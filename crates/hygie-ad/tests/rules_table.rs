#![allow(clippy::unwrap_used)]
//! Every rule on synthetic snapshots: the hardened baseline fires nothing; each mutation makes
//! exactly one intended rule fire on exactly the intended objects.

mod common;
use common::fixture::*;
use hygie_ad::model::AdSnapshot;
use hygie_ad::rules::RULES;
use hygie_ad::sd;
use hygie_ad::sid::Sid;
use hygie_ad::{AuditConfig, audit};
use std::collections::BTreeMap;

type Mutation = fn(&mut AdSnapshot);

fn run(s: &AdSnapshot) -> BTreeMap<String, Vec<String>> {
    hygie_ad::report::objects_by_rule(&audit(s, &AuditConfig::default(), as_of()))
}

#[test]
fn hardened_baseline_fires_nothing() {
    let r = audit(&baseline(), &AuditConfig::default(), as_of());
    assert!(
        r.findings.is_empty(),
        "{:#?}",
        r.findings
            .iter()
            .map(|f| (&f.rule, &f.objects))
            .collect::<Vec<_>>()
    );
    assert!(r.not_applicable.is_empty(), "{:?}", r.not_applicable);
    assert_eq!(r.level, 5);
    assert_eq!(r.scores.global, 0);
    assert_eq!(r.passed.len(), RULES.len());
}

fn cases() -> Vec<(&'static str, Mutation, Vec<&'static str>)> {
    vec![
        ("PWD-01", |s| s.domain.min_pwd_length = 10, vec!["chu.test"]),
        ("PWD-02", |s| s.domain.pwd_properties = 0, vec!["chu.test"]),
        (
            "PWD-03",
            |s| s.domain.pwd_properties = 0x11,
            vec!["chu.test"],
        ),
        (
            "PWD-04",
            |s| s.domain.max_pwd_age_days = Some(400.0),
            vec!["chu.test"],
        ),
        (
            "PWD-05",
            |s| s.domain.lockout_threshold = 0,
            vec!["chu.test"],
        ),
        (
            "PWD-06",
            |s| {
                add_user(s, "adm1", 1200, true);
                let dn = user_dn("adm1");
                // A weak PSO applied to the admin directly wins over the strong domain policy.
                s.psos.push(hygie_ad::model::Pso {
                    dn: "CN=weak,CN=Password Settings Container,CN=System,DC=chu,DC=test".into(),
                    name: "weak".into(),
                    precedence: 1,
                    min_length: 12,
                    max_age_days: None,
                    complexity: true,
                    reversible: false,
                    history: 24,
                    lockout_threshold: 5,
                    applies_to: vec![dn],
                });
            },
            vec!["adm1"],
        ),
        (
            "PWD-07",
            |s| s.domain.pwd_history_length = 3,
            vec!["chu.test"],
        ),
        ("PWD-08", |s| s.psos[0].min_length = 19, vec!["chu.test"]),
        (
            "PWD-09",
            |s| {
                s.domain.smartcard_expire_passwords = false;
                acct(s, "alice").uac |= 0x40000;
            },
            vec!["alice"],
        ),
        ("PWD-10", |s| s.psos[0].reversible = true, vec!["svc"]),
        ("ACC-01", |s| acct(s, "PC1$").uac |= 0x20, vec!["PC1$"]),
        ("ACC-02", |s| acct(s, "alice").uac |= 0x10000, vec!["alice"]),
        ("ACC-03", |s| acct(s, "alice").uac |= 0x80, vec!["alice"]),
        ("ACC-04", |s| acct(s, "Guest").uac = 0x200, vec!["Guest"]),
        (
            "ACC-05",
            |s| {
                // 1 dormant of 5 enabled users: 20%, under the 25% of ACC-12.
                for (i, n) in ["c1", "c2", "c3"].into_iter().enumerate() {
                    add_user(s, n, 1250 + i as u32, false);
                }
                add_user(s, "bob", 1201, false);
                acct(s, "bob").last_logon = Some(days_ago(200));
            },
            vec!["bob"],
        ),
        (
            "ACC-06",
            |s| acct(s, "alice").pwd_last_set = Some(days_ago(400)),
            vec!["alice"],
        ),
        (
            "ACC-07",
            |s| acct(s, "alice").primary_group_id = Some(1300),
            vec!["alice"],
        ),
        (
            "ACC-08",
            |s| acct(s, "alice").sid_history = vec![Sid::parse("S-1-5-21-9-9-9-1500").unwrap()],
            vec!["alice"],
        ),
        (
            "ACC-09",
            |s| acct(s, "alice").enctypes = Some(0x1f),
            vec!["alice"],
        ),
        (
            "ACC-10",
            |s| acct(s, "alice").password_attributes = true,
            vec!["alice"],
        ),
        (
            "ACC-11",
            |s| {
                // 520 (Group Policy Creator Owners): below 1000, not default, not an admin group.
                acct(s, "alice").primary_group_id = Some(520);
            },
            vec!["alice"],
        ),
        (
            "ACC-12",
            |s| {
                // 2 of the 3 enabled users (Administrator, alice, bob) dormant: 66% > 25%.
                add_user(s, "bob", 1201, false);
                acct(s, "bob").last_logon = Some(days_ago(200));
                acct(s, "alice").last_logon = Some(days_ago(300));
            },
            vec!["alice", "bob"],
        ),
        (
            "ACC-13",
            |s| acct(s, "alice").sid_history = vec![dsid(512)],
            vec!["alice"],
        ),
        (
            "KRB-01",
            |s| acct(s, "krbtgt").pwd_last_set = Some(days_ago(400)),
            vec!["krbtgt"],
        ),
        (
            "KRB-02",
            |s| acct(s, "alice").uac |= 0x400000,
            vec!["alice"],
        ),
        (
            "KRB-03",
            |s| acct(s, "Administrator").uac |= 0x400000,
            vec!["Administrator"],
        ),
        (
            "KRB-04",
            |s| acct(s, "alice").spns = vec!["MSSQLSvc/sql1.chu.test:1433".into()],
            vec!["alice"],
        ),
        (
            "KRB-05",
            |s| acct(s, "Administrator").spns = vec!["http/adm.chu.test".into()],
            vec!["Administrator"],
        ),
        (
            "KRB-06",
            |s| {
                let a = acct(s, "alice");
                a.spns = vec!["MSSQLSvc/sql1.chu.test:1433".into()];
                a.enctypes = Some(0x4);
            },
            vec!["alice"],
        ),
        ("DLG-01", |s| acct(s, "PC1$").uac |= 0x80000, vec!["PC1$"]),
        (
            "DLG-02",
            |s| {
                let a = acct(s, "PC1$");
                a.uac |= 0x1000000;
                a.delegate_to = vec!["http/web.chu.test".into()];
            },
            vec!["PC1$"],
        ),
        (
            "DLG-03",
            |s| acct(s, "DC1$").rbcd_principals = vec![dsid(1106)],
            vec!["DC1$ <- PC1$"],
        ),
        (
            "DLG-04",
            |s| {
                acct(s, "Administrator").uac &= !0x100000;
                grp(s, "Protected Users").members.clear();
            },
            vec!["Administrator"],
        ),
        (
            "DLG-05",
            |s| acct(s, "PC1$").delegate_to = vec!["cifs/DC1.chu.test".into()],
            vec!["PC1$"],
        ),
        (
            "DLG-06",
            |s| {
                let a = acct(s, "PC1$");
                a.delegate_to = vec!["ldap/dc1".into()];
                a.uac |= 0x1000000;
            },
            vec!["PC1$"],
        ),
        (
            "PRV-01",
            |s| {
                for i in 0..51 {
                    let name: &'static str = Box::leak(format!("adm{i}").into_boxed_str());
                    add_user(s, name, 2000 + i, true);
                }
            },
            vec![],
        ),
        (
            "PRV-02",
            |s| {
                add_user(s, "sa", 1210, true);
                grp(s, "Schema Admins").members.push(user_dn("sa"));
            },
            vec!["sa"],
        ),
        (
            "PRV-03",
            |s| {
                add_user(s, "bo", 1211, true);
                grp(s, "Backup Operators").members.push(user_dn("bo"));
            },
            vec!["bo"],
        ),
        (
            "PRV-04",
            |s| acct(s, "Administrator").uac |= 0x10000,
            vec!["Administrator"],
        ),
        (
            "PRV-05",
            |s| acct(s, "Administrator").pwd_last_set = Some(days_ago(1200)),
            vec!["Administrator"],
        ),
        (
            "PRV-06",
            |s| grp(s, "Protected Users").members.clear(),
            vec!["Administrator"],
        ),
        (
            "PRV-07",
            |s| acct(s, "Administrator").last_logon = Some(days_ago(365)),
            vec!["Administrator"],
        ),
        (
            "PRV-08",
            |s| acct(s, "alice").admin_count = true,
            vec!["alice"],
        ),
        (
            "PRV-09",
            |s| {
                let sd = s.security_descriptors.get_mut("dc=chu,dc=test").unwrap();
                sd.dacl.push(allow_obj(
                    dsid(1105),
                    sd::RIGHT_DS_CONTROL_ACCESS,
                    sd::guids::DS_REPLICATION_GET_CHANGES,
                ));
            },
            vec!["alice"],
        ),
        (
            "PRV-10",
            |s| {
                let sd = s
                    .security_descriptors
                    .get_mut(&user_dn("Domain Admins").to_ascii_lowercase())
                    .unwrap();
                sd.dacl.push(allow_obj(
                    dsid(1105),
                    sd::RIGHT_DS_WRITE_PROP,
                    sd::guids::ATTR_MEMBER,
                ));
            },
            vec!["Domain Admins <- alice"],
        ),
        (
            "PRV-11",
            |s| {
                grp(s, "Administrators")
                    .members
                    .push(format!("CN=S-1-5-11,CN=ForeignSecurityPrincipals,{BASE}"))
            },
            vec!["Administrators <- S-1-5-11"],
        ),
        (
            "PRV-12",
            |s| acct(s, "Administrator").has_mail = true,
            vec!["Administrator"],
        ),
        (
            "PRV-13",
            |s| {
                add_user(s, "oldadm", 1202, true);
                acct(s, "oldadm").uac |= 0x2;
            },
            vec!["oldadm"],
        ),
        (
            "PRV-14",
            |s| {
                s.security_descriptors
                    .get_mut("dc=chu,dc=test")
                    .unwrap()
                    .owner = Some(dsid(1105))
            },
            vec!["chu.test <- alice"],
        ),
        (
            "PRV-15",
            |s| acct(s, "Administrator").admin_count = false,
            vec!["Administrator"],
        ),
        (
            "PRV-16",
            |s| {
                s.groups
                    .push(group("DnsAdmins", dsid(1101), &[&user_dn("alice")]))
            },
            vec!["alice"],
        ),
        (
            "INF-01",
            |s| s.domain.machine_account_quota = Some(10),
            vec!["chu.test"],
        ),
        ("INF-02", |s| s.forest_level = Some(5), vec!["forest"]),
        (
            "INF-03",
            |s| {
                grp(s, "Pre-Windows 2000 Compatible Access")
                    .members
                    .push(format!("CN=S-1-5-7,CN=ForeignSecurityPrincipals,{BASE}"))
            },
            vec!["S-1-5-7"],
        ),
        (
            "INF-04",
            |s| s.laps_windows_schema = false,
            vec!["chu.test"],
        ),
        (
            "INF-05",
            |s| acct(s, "PC1$").pwd_last_set = Some(days_ago(100)),
            vec!["PC1$"],
        ),
        (
            "INF-06",
            |s| acct(s, "PC1$").last_logon = Some(days_ago(100)),
            vec!["PC1$"],
        ),
        (
            "INF-07",
            |s| acct(s, "PC1$").os = Some("Windows 7 Professional".into()),
            vec!["PC1$"],
        ),
        (
            "INF-08",
            |s| s.ds_heuristics = Some("0000002".into()),
            vec!["dSHeuristics"],
        ),
        (
            "INF-09",
            |s| acct(s, "DC1$").pwd_last_set = Some(days_ago(60)),
            vec!["DC1$"],
        ),
        (
            "INF-10",
            |s| acct(s, "DC1$").last_logon = Some(days_ago(60)),
            vec!["DC1$"],
        ),
        (
            "INF-11",
            |s| acct(s, "DC1$").os = Some("Windows Server 2012 R2 Standard".into()),
            vec!["DC1$"],
        ),
        (
            "INF-12",
            |s| s.domain.functional_level = Some(3),
            vec!["domain chu.test"],
        ),
        (
            "INF-13",
            |s| s.ds_heuristics = Some("0000000001000001".into()),
            vec!["dSHeuristics"],
        ),
        ("INF-14", |s| s.recycle_bin = false, vec!["chu.test"]),
        ("INF-15", |s| acct(s, "DC1$").uac = 0x2000, vec!["DC1$"]),
        (
            "INF-16",
            |s| {
                grp(s, "Pre-Windows 2000 Compatible Access")
                    .members
                    .push(format!("CN=S-1-5-11,CN=ForeignSecurityPrincipals,{BASE}"))
            },
            vec!["S-1-5-11"],
        ),
        (
            "INF-17",
            |s| {
                s.groups.push(group("g1", dsid(1301), &[&user_dn("g2")]));
                s.groups.push(group("g2", dsid(1302), &[&user_dn("g1")]));
            },
            vec!["g1", "g2"],
        ),
        (
            "INF-18",
            |s| acct(s, "PC1$").laps_expiry = Some(days_ago(40)),
            vec!["PC1$"],
        ),
    ]
}

/// Rules that other rules necessarily accompany: mutation → extra rules allowed to fire too.
fn companions(rule: &str) -> &'static [&'static str] {
    match rule {
        "ACC-07" => &[],
        "ACC-11" => &["ACC-07"],
        "ACC-13" => &["ACC-08"],
        "ACC-12" => &["ACC-05"],
        "KRB-03" => &["KRB-02"],
        "KRB-05" => &["KRB-04"],
        "KRB-06" => &["KRB-04"],
        "DLG-06" => &["DLG-02", "DLG-05"],
        "PRV-01" => &[],
        "PRV-04" => &["ACC-02"],
        "PRV-05" => &["ACC-06"],
        "PRV-07" => &["ACC-05", "ACC-12"],
        "DLG-04" => &["PRV-06"],
        "PRV-06" => &[],
        "PRV-13" => &[],
        "PRV-11" => &[],
        "INF-12" => &["INF-02"],
        "INF-03" => &["INF-16"],
        "INF-11" => &[],
        _ => &[],
    }
}

#[test]
fn every_rule_fires_on_exactly_the_seeded_objects() {
    let cases = cases();
    let ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for r in RULES {
        assert!(
            ids.contains(&r.def.id),
            "rule {} has no table case",
            r.def.id
        );
    }
    for (rule, mutate, expected) in cases {
        let mut s = baseline();
        mutate(&mut s);
        let got = run(&s);
        let objs = got
            .get(rule)
            .unwrap_or_else(|| panic!("{rule} did not fire: {got:?}"));
        if !expected.is_empty() {
            let mut e: Vec<String> = expected.iter().map(|x| x.to_string()).collect();
            e.sort();
            assert_eq!(objs, &e, "{rule}");
        }
        let others: Vec<&String> = got
            .keys()
            .filter(|k| k.as_str() != rule && !companions(rule).contains(&k.as_str()))
            .collect();
        assert!(
            others.is_empty(),
            "{rule}: unexpected rules fired too: {others:?} in {got:?}"
        );
    }
}

#[test]
fn privileged_membership_is_nested_and_via_primary_group() {
    let mut s = baseline();
    // alice in tier0ops in Domain Admins; bob through primaryGroupID 512.
    s.groups
        .push(group("tier0ops", dsid(1400), &[&user_dn("alice")]));
    grp(&mut s, "Domain Admins")
        .members
        .push(user_dn("tier0ops"));
    add_user(&mut s, "bob", 1201, false);
    acct(&mut s, "bob").primary_group_id = Some(512);
    let got = run(&s);
    assert_eq!(got["PRV-06"], vec!["alice".to_string(), "bob".to_string()]);
    assert_eq!(got["ACC-11"], vec!["bob".to_string()]);
}

#[test]
fn thresholds_come_from_the_config() {
    let mut s = baseline();
    acct(&mut s, "alice").last_logon = Some(days_ago(100));
    let strict = AuditConfig::from_toml("t.toml", "[thresholds]\ninactive_days = 90\n").unwrap();
    let r = audit(&s, &strict, as_of());
    assert!(r.findings.iter().any(|f| f.rule == "ACC-05"));
    assert!(
        audit(&s, &AuditConfig::default(), as_of())
            .findings
            .is_empty()
    );
    let exempt = AuditConfig::from_toml(
        "t.toml",
        "exempt_accounts = [\"alice\"]\n[thresholds]\ninactive_days = 90\n",
    )
    .unwrap();
    assert!(audit(&s, &exempt, as_of()).findings.is_empty());
    let disabled = AuditConfig::from_toml(
        "t.toml",
        "disabled_rules = [\"ACC-05\", \"ACC-12\"]\n[thresholds]\ninactive_days = 90\n",
    )
    .unwrap();
    let r = audit(&s, &disabled, as_of());
    assert!(r.findings.is_empty() && !r.passed.contains(&"ACC-05".to_string()));
}

#[test]
fn as_of_ages_the_domain() {
    let s = baseline();
    let later = as_of()
        .checked_add(jiff::SignedDuration::from_hours(24 * 400))
        .unwrap();
    let r = audit(&s, &AuditConfig::default(), later);
    let got = hygie_ad::report::objects_by_rule(&r);
    assert_eq!(
        got["ACC-06"],
        vec!["Administrator".to_string(), "alice".to_string()]
    );
    assert_eq!(got["KRB-01"], vec!["krbtgt".to_string()]);
}

#[test]
fn level_is_the_lowest_failed_level_and_scores_cap_at_100() {
    let mut s = baseline();
    acct(&mut s, "Administrator").uac |= 0x10000; // PRV-04, level 1
    s.domain.pwd_history_length = 1; // PWD-07, level 4
    let r = audit(&s, &AuditConfig::default(), as_of());
    assert_eq!(r.level, 1);
    assert_eq!(r.scores.privileged, 30);
    assert_eq!(r.scores.password_policy, 5);
    assert_eq!(r.scores.global, 30);
    let mut s = baseline();
    s.domain.min_pwd_length = 1;
    s.domain.pwd_properties = 0x10;
    s.domain.max_pwd_age_days = None;
    s.domain.lockout_threshold = 0;
    s.domain.pwd_history_length = 0;
    s.psos[0].reversible = true;
    s.domain.smartcard_expire_passwords = false;
    acct(&mut s, "alice").uac |= 0x40000;
    add_user(&mut s, "adm1", 1200, true);
    let r = audit(&s, &AuditConfig::default(), as_of());
    assert_eq!(r.scores.password_policy, 100);
    assert_eq!(r.level, 2);
}

#[test]
fn samba_quirks() {
    let mut s = baseline();
    s.is_samba = true;
    acct(&mut s, "Administrator").admin_count = false;
    let mut dns = user("dns-dc1", 1103);
    dns.spns = vec!["DNS/dc1.chu.test".into()];
    s.accounts.push(dns);
    let r = audit(&s, &AuditConfig::default(), as_of());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.not_applicable.len(), 1);
    assert_eq!(r.not_applicable[0].rule, "PRV-15");
}

#[test]
fn check_run_has_every_evaluated_rule_and_comparison_tracks_changes() {
    let mut s = baseline();
    acct(&mut s, "alice").uac |= 0x80;
    let r1 = audit(&s, &AuditConfig::default(), as_of());
    let run = r1.to_check_run("run1".into(), as_of());
    assert_eq!(run.source, "ad");
    assert_eq!(run.results.len(), RULES.len());
    let acc03 = run.results.iter().find(|r| r.rule == "ACC-03").unwrap();
    assert_eq!(acc03.outcome, hygie_core::RuleOutcome::Fail);
    assert_eq!(acc03.objects, vec!["alice".to_string()]);
    assert_eq!(
        acc03.measures,
        vec![hygie_core::MeasureId::parse("IAM-07").unwrap()]
    );
    let l1 = run.results.iter().find(|r| r.rule == "PRV-04").unwrap();
    assert!(
        l1.measures
            .contains(&hygie_core::MeasureId::parse("IAM-10").unwrap())
    );
    // Next run: alice fixed, bob new.
    acct(&mut s, "alice").uac &= !0x80;
    add_user(&mut s, "bob", 1201, false);
    acct(&mut s, "bob").uac |= 0x80;
    acct(&mut s, "bob").pwd_last_set = Some(days_ago(1));
    s.domain.pwd_history_length = 1;
    let mut r2 = audit(&s, &AuditConfig::default(), as_of());
    r2.compare_with("run1", as_of(), &run.results);
    let c = r2.comparison.as_ref().unwrap();
    let pair = |r: &str, o: &str| hygie_ad::report::Change {
        rule: r.into(),
        object: o.into(),
    };
    assert_eq!(c.fixed, vec![pair("ACC-03", "alice")]);
    assert_eq!(
        c.new,
        vec![pair("ACC-03", "bob"), pair("PWD-07", "chu.test")]
    );
    assert!(c.still_open.is_empty());
}

#[test]
fn reports_escape_and_carry_the_required_json_fields() {
    let mut s = baseline();
    add_user(&mut s, "<script>x", 1500, false);
    acct(&mut s, "<script>x").uac |= 0x80;
    let r = audit(&s, &AuditConfig::default(), as_of());
    let html = hygie_ad::report::render_html(&r, hygie_core::Lang::Fr);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;x"));
    assert!(html.contains("Comptes autorisés au stockage réversible"));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["level"], 3);
    assert!(j["scores"]["accounts"].is_number());
    let f = &j["findings"][0];
    assert_eq!(f["rule"], "ACC-03");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["objects"][0], "<script>x");
    assert_eq!(f["measures"][0], "IAM-07");
    let table = hygie_ad::report::render_table(&r, hygie_core::Lang::En);
    assert!(table.contains("ACC-03"));
}
