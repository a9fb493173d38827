//! Network segmentation: real nftables and iptables rulesets loaded into a network namespace
//! made by the test, a CSV rule table, observed flows, and the reachability property.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use hygie_collect::network::addr::{Set, parse_ip};
use hygie_collect::network::firewall::{
    Action, Chain, Cond, Firewall, FwRule, Match, Packet, Verdict, VmapEntry,
};
use hygie_collect::network::model::ZoneModel;
use hygie_collect::network::{NetInputs, Network, reach};
use std::process::Command;

pub const ZONES: &str = "zones:
  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16]}
  - {name: pacs, kind: imaging, cidrs: [10.20.0.0/24]}
  - {name: servers, kind: servers, cidrs: [10.30.0.0/16]}
  - {name: biomed, kind: biomedical, cidrs: [10.40.0.0/16]}
  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16], ssids: [CHU-Invites]}
  - {name: admin, kind: admin, cidrs: [10.99.0.0/24]}
  - {name: dmz, kind: dmz, cidrs: [192.0.2.0/24]}
  - {name: internet, kind: internet}
";

/// A compliant forward policy; `seed` adds the rule letting guests reach the PACS.
fn nft_ruleset(seed: bool) -> String {
    format!(
        "flush ruleset
table inet filter {{
  set pacs_ports {{ type inet_service; elements = {{ 104, 11112 }} }}
  set internal {{ type ipv4_addr; flags interval; elements = {{ 10.0.0.0/8, 192.0.2.0/24 }} }}
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    ip saddr 10.99.0.0/24 ip daddr @internal accept
    ip saddr 10.10.0.0/16 jump clinical_out
    {}
    ip saddr 10.40.0.0/16 ip daddr 10.20.0.0/24 tcp dport @pacs_ports accept
    ip saddr 10.50.0.0/16 ip daddr != @internal accept
    ip saddr != 10.0.0.0/8 ip daddr 192.0.2.10 tcp dport {{ 80, 443 }} accept
    ip saddr 192.0.2.0/24 ip daddr 10.30.0.0/16 tcp dport 8443 accept
  }}
  chain clinical_out {{
    ip daddr 10.40.0.0/16 return
    ip daddr 10.99.0.0/24 return
    ip daddr {{ 10.20.0.0/24, 10.30.0.0/16 }} tcp dport {{ 443, 104, 3000-3100 }} accept
    ip daddr != @internal accept
  }}
}}
",
        if seed {
            "ip saddr 10.50.0.0/16 ip daddr 10.20.0.0/24 tcp dport @pacs_ports accept"
        } else {
            ""
        }
    )
}

fn iptables_rules(seed: bool) -> String {
    format!(
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CLINICAL - [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -s 10.99.0.0/24 -d 10.0.0.0/8 -j ACCEPT
-A FORWARD -s 10.10.0.0/16 -j CLINICAL
{}-A FORWARD -s 10.40.0.0/16 -d 10.20.0.0/24 -p tcp -m multiport --dports 104,11112 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 ! -d 10.0.0.0/8 -j ACCEPT
-A FORWARD ! -s 10.0.0.0/8 -d 192.0.2.10/32 -p tcp -m tcp --dport 443 -j ACCEPT
-A CLINICAL -d 10.40.0.0/16 -j RETURN
-A CLINICAL -d 10.99.0.0/24 -j RETURN
-A CLINICAL -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -j ACCEPT
-A CLINICAL ! -d 10.0.0.0/8 -j ACCEPT
COMMIT
",
        if seed {
            "-A FORWARD -s 10.50.0.0/16 -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -m comment --comment \"temporary guest access\" -j ACCEPT\n"
        } else {
            ""
        }
    )
}

/// A network namespace made by the test, deleted when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("hy-{}-{}", std::process::id(), uuid_ish());
        run(Command::new("ip").args(["netns", "add", &name]));
        Netns(name)
    }
    fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn uuid_ish() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() % 1_000_000
}

fn can_netns() -> bool {
    if !tool("ip", "iproute2") || !tool("nft", "nftables") {
        return false;
    }
    // Namespaces need root (CAP_SYS_ADMIN).
    let ok = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the nftables tests need root to create a network namespace");
        }
        eprintln!("SKIP: not root, cannot create a network namespace");
    }
    ok
}

fn analyse(d: &std::path::Path, f: impl FnOnce(&mut NetInputs)) -> hygie_collect::Report {
    let mut i = NetInputs::new(write(d, "zones.yaml", ZONES));
    f(&mut i);
    hygie_collect::run(&Network, &i, jiff::Timestamp::now()).unwrap()
}

/// Load the seeded and the clean variant of a ruleset with the real nft into a namespace made
/// for the test, list each back as JSON and analyse it: `check(seed, JSON, report)`. Skipped
/// without root (see `can_netns`).
fn each_nft_variant(
    name: &str,
    ruleset: fn(bool) -> String,
    check: impl Fn(bool, &str, &hygie_collect::Report),
) {
    if !can_netns() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let ns = Netns::new();
    for seed in [true, false] {
        let rs = write(d.path(), &format!("{name}-{seed}.nft"), &ruleset(seed));
        run(&mut ns.exec(&["nft", "-f", rs.to_str().unwrap()]));
        let json = run(&mut ns.exec(&["nft", "-j", "list", "ruleset"]));
        let p = write(d.path(), &format!("{name}-{seed}.json"), &json);
        let r = analyse(d.path(), |i| i.nft = vec![p.clone()]);
        check(seed, &json, &r);
    }
}

/// The handle nft gave the first rule of its JSON listing that `pick` selects.
fn nft_handle(json: &str, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .find(|r| pick(r))
        .unwrap()["handle"]
        .clone()
}

#[test]
fn real_nftables_guest_to_pacs_reported_with_the_allowing_rule() {
    each_nft_variant("ruleset", nft_ruleset, |seed, json, r| {
        if seed {
            // The handle nft gave the seeded rule.
            let handle = nft_handle(json, |r| {
                r["chain"] == "forward"
                    && r["expr"].to_string().contains("10.50.0.0")
                    && r["expr"].to_string().contains("@pacs_ports")
            });
            let a = failed(r, "NET-GUEST-ISOLATION");
            assert_eq!(a.len(), 1, "{a:?}");
            assert!(
                a[0].starts_with("guest-wifi → pacs: tcp/104,11112 allowed by "),
                "{}",
                a[0]
            );
            assert!(
                a[0].ends_with(&format!("nft inet filter forward handle {handle}")),
                "{}",
                a[0]
            );
        }
        for rule in [
            "NET-INTERNET-DMZ",
            "NET-ADMIN-ISOLATION",
            "NET-ADMIN-NO-INTERNET",
            "NET-BIOMED-ISOLATION",
            "NET-POLICY-DENY",
        ] {
            assert_eq!(failed(r, rule), Vec::<&str>::new(), "{rule}");
        }
        if !seed {
            assert_eq!(r.failed().count(), 0);
        }
        // Allowed paths the policy accepts are in the matrix: clinical reaches the PACS on 104 and 443.
        assert_eq!(
            services(r, "clinical", "pacs"),
            &serde_json::json!(["tcp/104,443,3000-3100"])
        );
        assert!(!reaches(r, "clinical", "biomed"));
    });
}

/// Zone dispatch through a named verdict map, concatenated interval sets and a verdict map keyed
/// by a concatenation; `seed` adds the element letting guests reach the PACS on 104.
fn nft_vmap_ruleset(seed: bool) -> String {
    format!(
        "flush ruleset
table inet filter {{
  set pacs_svc {{ type ipv4_addr . inet_service; flags interval; elements = {{ 10.20.0.0/24 . 104, 10.20.0.0/24 . 11112 }} }}
  map zone_out {{ type ipv4_addr : verdict; flags interval; elements = {{ 10.50.0.0/16 : jump guest_out, 10.10.0.0/16 : jump clinical_out }} }}
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state vmap {{ established : accept, related : accept, invalid : drop }}
    ip saddr vmap @zone_out
  }}
  chain guest_out {{
    ip daddr . tcp dport vmap {{ {}10.20.0.0/24 . 443 : drop }}
    ip daddr != {{ 10.0.0.0/8, 192.0.2.0/24 }} accept
  }}
  chain clinical_out {{
    ip daddr . tcp dport @pacs_svc accept
    ip daddr != 10.0.0.0/8 accept
  }}
}}
",
        if seed { "10.20.0.0/24 . 104 : accept, " } else { "" }
    )
}

#[test]
fn real_nftables_verdict_maps_and_concatenations() {
    each_nft_variant("vmap", nft_vmap_ruleset, |seed, json, r| {
        assert!(
            json.contains("\"vmap\"") && json.contains("\"concat\""),
            "{json}"
        );
        assert_eq!(
            r.summary["firewalls"][0]["warnings"],
            serde_json::json!([]),
            "every construct is modelled"
        );
        let a = failed(r, "NET-GUEST-ISOLATION");
        if seed {
            let handle = nft_handle(json, |r| {
                r["chain"] == "guest_out" && r["expr"].to_string().contains("vmap")
            });
            assert_eq!(a.len(), 1, "{a:?}");
            assert_eq!(
                a[0],
                format!(
                    "guest-wifi → pacs: tcp/104 allowed by nft inet filter guest_out handle {handle} (element 10.20.0.0/24 . 104 : accept)"
                )
            );
        } else {
            assert_eq!(a, Vec::<&str>::new());
        }
        // The clinical zone reaches the PACS through the concatenated set only.
        assert_eq!(
            services(r, "clinical", "pacs"),
            &serde_json::json!(["tcp/104,11112"])
        );
        // Guests reach the Internet, never the servers.
        assert!(reaches(r, "guest-wifi", "internet"));
        assert!(!reaches(r, "guest-wifi", "servers"));
    });
}

#[test]
fn real_iptables_save_in_a_namespace() {
    if !can_netns() || !tool("iptables-save", "iptables") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let ns = Netns::new();
    for seed in [true, false] {
        let rules = write(d.path(), "rules.v4", &iptables_rules(seed));
        run(&mut ns.exec(&["iptables-restore", rules.to_str().unwrap()]));
        let saved = write(d.path(), "saved.v4", &run(&mut ns.exec(&["iptables-save"])));
        let r = analyse(d.path(), |i| i.iptables = vec![saved.clone()]);
        let a = failed(&r, "NET-GUEST-ISOLATION");
        if seed {
            assert_eq!(a.len(), 1, "{a:?}");
            assert!(
                a[0].starts_with("guest-wifi → pacs: tcp/104 allowed by iptables FORWARD #4"),
                "{}",
                a[0]
            );
        }
        assert_eq!(r.failed().count(), usize::from(seed), "{:#?}", r.findings);
    }
}

/// iptables rules naming ipsets (`-m set`, with a `nomatch` exception), `-m iprange` and
/// `-m multiport`, loaded with the real `ipset` and `iptables-restore` into a namespace and read
/// back with `iptables-save` and `ipset save`.
#[test]
fn real_iptables_with_ipsets_in_a_namespace() {
    if !can_netns() || !tool("iptables-save", "iptables") || !tool("ipset", "ipset") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let ns = Netns::new();
    let sets = write(
        d.path(),
        "sets.txt",
        "create guests hash:net family inet
add guests 10.50.0.0/16
add guests 10.50.9.0/24 nomatch
create pacs_svc hash:ip,port family inet
add pacs_svc 10.20.0.5,tcp:104
add pacs_svc 10.20.0.6,tcp:11112
",
    );
    let rules = write(
        d.path(),
        "rules.v4",
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m set --match-set guests src -m set --match-set pacs_svc dst,dst -j ACCEPT
-A FORWARD -m set ! --match-set guests src -m iprange --dst-range 10.20.0.1-10.20.0.9 -p tcp -m multiport --dports 104,443 -j ACCEPT
COMMIT
",
    );
    run(Command::new("sh").arg("-c").arg(format!(
        "ip netns exec {} ipset restore < {}",
        ns.0,
        sets.display()
    )));
    run(&mut ns.exec(&["iptables-restore", rules.to_str().unwrap()]));
    let saved = write(d.path(), "saved.v4", &run(&mut ns.exec(&["iptables-save"])));
    let saved_sets = write(
        d.path(),
        "saved.ipset",
        &run(&mut ns.exec(&["ipset", "save"])),
    );
    let r = analyse(d.path(), |i| {
        i.iptables = vec![saved.clone()];
        i.ipsets = vec![saved_sets.clone()];
    });
    assert_eq!(
        r.summary["firewalls"][0]["warnings"],
        serde_json::json!([]),
        "every match is modelled"
    );
    // The guest set lets its members reach two PACS services; its nomatch subnet falls to the
    // next rule, which opens 104 and 443 to everything outside the set.
    let mut a = failed(&r, "NET-GUEST-ISOLATION");
    a.sort();
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(
        a[0].starts_with("guest-wifi → pacs: tcp/104,11112 allowed by iptables FORWARD #2"),
        "{}",
        a[0]
    );
    assert!(
        a[1].starts_with("guest-wifi → pacs: tcp/104,443 allowed by iptables FORWARD #3"),
        "{}",
        a[1]
    );
    assert!(
        failed(&r, "NET-INTERNET-DMZ")
            .iter()
            .any(|x| x.starts_with("internet → pacs: tcp/104,443 allowed by iptables FORWARD #3")),
        "{:?}",
        failed(&r, "NET-INTERNET-DMZ")
    );
}

#[test]
fn csv_rule_table_and_observed_flows() {
    let d = tempfile::tempdir().unwrap();
    let rules = write(
        d.path(),
        "rules.csv",
        "id,src,dst,proto,dport,action\n\
admin-all,admin,any,any,any,allow\n\
clin-web,clinical,servers pacs,tcp,443,allow\n\
guest-out,guest-wifi,internet,any,any,allow\n\
internet-admin,internet,admin,tcp,22,allow\n\
partners-pacs,203.0.113.0/24,pacs,tcp,104,allow\n",
    );
    let flows = write(
        d.path(),
        "conn.log",
        "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\n\
1700000000.0\tC1\t10.10.1.5\t50000\t10.30.0.8\t443\ttcp\tssl\n\
1700000001.0\tC2\t10.50.3.3\t50001\t10.20.0.9\t104\ttcp\t-\n\
1700000002.0\tC3\t10.40.0.7\t50002\t8.8.8.8\t53\tudp\tdns\n",
    );
    let r = analyse(d.path(), |i| {
        i.csv_rules = vec![rules.clone()];
        i.flows = vec![flows.clone()];
    });
    // admin-all reaches the internet; internet reaches admin and (via the partners rule) the PACS.
    let a = failed(&r, "NET-ADMIN-NO-INTERNET");
    assert_eq!(a.len(), 1);
    assert!(
        a[0].contains("admin → internet: any allowed by csv rule admin-all"),
        "{}",
        a[0]
    );
    let a = failed(&r, "NET-INTERNET-DMZ");
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(
        a.iter()
            .any(|x| x.starts_with("internet → admin: tcp/22 allowed by csv rule internet-admin"))
    );
    assert!(
        a.iter()
            .any(|x| x.starts_with("internet → pacs: tcp/104 allowed by csv rule partners-pacs"))
    );
    assert_eq!(failed(&r, "NET-ADMIN-ISOLATION").len(), 1);
    assert_eq!(failed(&r, "NET-GUEST-ISOLATION"), Vec::<&str>::new());
    // Observed: the guest → PACS and biomedical → internet flows, not the clinical one.
    let f = failed(&r, "NET-OBSERVED-FLOWS");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().any(|x| {
        x.starts_with("10.50.3.3 → 10.20.0.9 (guest-wifi → pacs) tcp/104 [NET-GUEST-ISOLATION]")
    }));
    assert!(
        f.iter()
            .any(|x| x.contains("(biomed → internet) udp/53 [NET-BIOMED-ISOLATION]"))
    );

    // Errors name the file and line.
    let bad = write(
        d.path(),
        "bad.csv",
        "src,dst,action\nclinical,servers,allow\nnowhere,servers,allow\n",
    );
    let mut i = NetInputs::new(write(d.path(), "zones.yaml", ZONES));
    i.csv_rules = vec![bad];
    let e = hygie_collect::run(&Network, &i, jiff::Timestamp::now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv:3:") && e.contains("nowhere"), "{e}");
    let e = ZoneModel::parse(
        std::path::Path::new("z.yaml"),
        "zones:\n  - {name: a, kind: lobby, cidrs: [10.0.0.0/8]}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("z.yaml") && e.contains("lobby"), "{e}");
}

// ---- Property: the reachability cells agree with evaluating packets one by one. ----

use proptest::prelude::*;

const POOL: [&str; 8] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.2.0.0/16",
    "10.1.2.128/25",
    "192.168.0.0/16",
    "0.0.0.0/1",
    "10.1.2.3/32",
];

fn set(i: usize) -> Set {
    Set(vec![
        hygie_collect::network::addr::parse_range(POOL[i % POOL.len()]).unwrap(),
    ])
}

fn ports(lo: u16, w: u16) -> Set {
    Set(vec![(u128::from(lo), u128::from(lo) + u128::from(w))])
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => Just(Action::Verdict(Verdict::Accept)),
        1 => Just(Action::Verdict(Verdict::Drop)),
        1 => Just(Action::Jump("sub".into())),
        1 => Just(Action::Goto("sub".into())),
        1 => Just(Action::Return),
        1 => Just(Action::Continue),
    ]
}

prop_compose! {
    fn arb_rule()(src in proptest::option::of(0usize..8), dst in proptest::option::of(0usize..8),
                  nsrc in any::<bool>(), proto in proptest::option::of(prop_oneof![Just(6u8), Just(17u8), Just(1u8)]),
                  ports_ in proptest::option::of((0u16..2000, 0u16..200)),
                  any_of in proptest::option::weighted(0.25, (proptest::collection::vec((0usize..8, 0u16..2000, 0u16..300), 1..4), any::<bool>())),
                  vmap in proptest::option::weighted(0.25, proptest::collection::vec((any::<bool>(), 0usize..8, 0u16..2000, 0u16..300, arb_action()), 1..4)),
                  action in arb_action()) -> FwRule {
        let mut conds = Vec::new();
        if let Some(s) = src {
            let s = set(s);
            let s = if nsrc { s.complement_in(&hygie_collect::network::addr::Family::V4.universe()) } else { s };
            conds.push(Cond::is(Match::Src(s)));
        }
        if let Some(d) = dst { conds.push(Cond::is(Match::Dst(set(d)))); }
        if let Some(p) = proto { conds.push(Cond::is(Match::Proto(vec![p]))); }
        if let Some((lo, w)) = ports_ { conds.push(Cond::is(Match::Dport(ports(lo, w)))); }
        // A concatenation-like disjunction of (source, port) boxes, possibly negated.
        if let Some((alts, negate)) = any_of {
            let alts = alts.into_iter().map(|(s, lo, w)| vec![Cond::is(Match::Src(set(s))), Cond::is(Match::Dport(ports(lo, w)))]).collect();
            conds.push(Cond { m: Match::AnyOf(alts), negate });
        }
        let action = match vmap {
            // Keys on the source or on the port, possibly overlapping: the first element wins.
            Some(entries) => Action::Vmap(entries.into_iter().enumerate().map(|(i, (by_src, s, lo, w, a))| VmapEntry {
                label: format!("e{i}"),
                key: vec![if by_src { Cond::is(Match::Src(set(s))) } else { Cond::is(Match::Dport(ports(lo, w))) }],
                action: a,
            }).collect()),
            None => action,
        };
        FwRule { id: String::new(), conds, action }
    }
}

fn firewall(main: Vec<FwRule>, sub: Vec<FwRule>, policy: bool) -> Firewall {
    let mut fw = Firewall {
        source: "prop".into(),
        ..Default::default()
    };
    let name = |mut v: Vec<FwRule>, c: &str| {
        for (i, r) in v.iter_mut().enumerate() {
            r.id = format!("{c}#{i}");
            // The sub chain jumps nowhere (no loops), inside verdict maps too.
            let flat = |a: &mut Action| {
                if c == "sub" && matches!(a, Action::Jump(_) | Action::Goto(_)) {
                    *a = Action::Continue;
                }
            };
            flat(&mut r.action);
            if let Action::Vmap(entries) = &mut r.action {
                for e in entries {
                    flat(&mut e.action);
                }
            }
        }
        v
    };
    fw.chains.insert(
        "main".into(),
        Chain {
            rules: name(main, "main"),
            policy: Some(if policy {
                Verdict::Accept
            } else {
                Verdict::Drop
            }),
            family: None,
        },
    );
    fw.chains.insert(
        "sub".into(),
        Chain {
            rules: name(sub, "sub"),
            policy: None,
            family: None,
        },
    );
    fw.bases.push("main".into());
    fw
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn cells_agree_with_packet_by_packet_evaluation(
        main in proptest::collection::vec(arb_rule(), 0..8),
        sub in proptest::collection::vec(arb_rule(), 0..5),
        policy in any::<bool>(),
        packets in proptest::collection::vec((0usize..12, 0usize..12, any::<u16>(), prop_oneof![Just(6u8), Just(17u8), Just(1u8), Just(47u8)], 0u16..2300), 40),
    ) {
        let zones = ZoneModel::parse(std::path::Path::new("z.yaml"), PROPERTY_ZONES).unwrap();
        let fw = firewall(main, sub, policy);
        let cells = reach::cells(&zones, &fw);
        // Addresses picked around every boundary of the pools and zones.
        let bases = ["10.1.2.3", "10.1.2.200", "10.1.0.1", "10.1.255.255", "10.2.0.0", "10.3.4.5", "192.168.1.77", "192.168.200.1", "8.8.8.8", "10.200.0.1", "10.1.2.127", "172.16.0.1"];
        for (s, d, jitter, proto, port) in packets {
            let src = parse_ip(bases[s]).unwrap() + u128::from(jitter % 3);
            let dst = parse_ip(bases[d]).unwrap();
            let (Some(zs), Some(zd)) = (zones.zone_of(src), zones.zone_of(dst)) else { continue };
            if zs == zd { continue; }
            let dport = [6u8, 17].contains(&proto).then_some(port);
            let pkt = Packet { src, dst, proto, dport, iif: None, oif: None };
            let brute = fw.decide(&pkt);
            let cell = cells.iter().find(|c| c.src.0 <= src && src <= c.src.1 && c.dst.0 <= dst && dst <= c.dst.1
                && c.proto == proto && dport.is_none_or(|p| c.ports.contains(u128::from(p))));
            if reach::protocols(&fw).contains(&proto) {
                match (brute.verdict, cell) {
                    (Verdict::Accept, Some(c)) => prop_assert_eq!(&c.by, &brute.by),
                    (Verdict::Drop, None) => {}
                    (v, c) => prop_assert!(false, "packet {:?}: brute force {:?}, cell {:?}", pkt, v, c),
                }
            }
        }
    }
}

/// Found by the `net_zones` fuzz target (its crash input): `::/0` in a zone model shifted a
/// 128-bit one by 128 bits, a panic under overflow checks and, without them, a zone of the single
/// address `::`.
#[test]
fn zero_length_prefixes_in_a_zone_model() {
    let input = b"zones:\n  - name: only\n    kind: other\n    cidrs: [\"0.0.0.0/0\", \"::/0\"]\n==> flows.csv <==\nsrc,dst,dport,proto\n1.2.3.4,5.6.7.8,0,icmp\n";
    let (zones, flows) = input.split_at(input.windows(4).position(|w| w == b"==> ").unwrap());
    let flows = &flows[flows.iter().position(|&b| b == b'\n').unwrap() + 1..];
    let d = tempfile::tempdir().unwrap();
    let mut memory = hygie_collect::InMemory::default();
    memory.0.insert(d.path().join("zones.yaml"), zones.to_vec());
    memory.0.insert(d.path().join("flows.csv"), flows.to_vec());
    let mut i = NetInputs::new(d.path().join("zones.yaml"));
    i.flows = vec![d.path().join("flows.csv")];
    let r = hygie_collect::run_from(&Network, &i, &memory, jiff::Timestamp::now()).unwrap();
    assert_eq!(r.collector, "network");
    let model = ZoneModel::parse(
        std::path::Path::new("z.yaml"),
        std::str::from_utf8(zones).unwrap(),
    )
    .unwrap();
    for ip in ["2001:db8::1", "::", "10.0.0.1", "255.255.255.255"] {
        assert!(model.zones[0].set.contains(parse_ip(ip).unwrap()), "{ip}");
    }
}
