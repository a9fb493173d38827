//! Property: rulesets written as `nft -j list ruleset` JSON and as `iptables-save` + `ipset save`
//! text, using named and anonymous sets, interval sets, concatenations, verdict maps, ipsets,
//! `iprange` and `multiport`, are read and analysed into a reachability matrix that agrees with a
//! reference evaluation of the same rules written here, packet by packet, independently of the
//! readers and of the firewall model.

#![allow(clippy::unwrap_used)]

mod common;
use common::write;
use hygie_collect::network::addr::{parse_ip, parse_range};
use hygie_collect::network::model::ZoneModel;
use hygie_collect::network::{NetInputs, Network, ipset, iptables, nft, reach};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

/// Overlapping address sets for plain matches.
const POOL: [&str; 6] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.2.0.0/16",
    "192.168.0.0/16",
    "10.1.2.3/32",
];
/// Disjoint keys: verdict maps and concatenations never have overlapping elements in nft.
const KEY_ADDR: [&str; 4] = [
    "10.1.0.0/16",
    "10.2.0.0/16",
    "10.3.0.0/16",
    "192.168.1.0/24",
];
const KEY_PORT: [(u16, u16); 4] = [(22, 22), (80, 89), (104, 104), (1000, 1999)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Accept,
    Drop,
    Jump,
    Goto,
    Return,
    Continue,
}

#[derive(Debug, Clone, Copy)]
enum Vkey {
    Src,
    Dport,
    SrcDport,
}

#[derive(Debug, Clone)]
struct Vmap {
    key: Vkey,
    /// (address key, port key, action); unused parts ignored by the key kind.
    elems: Vec<(usize, usize, Act)>,
}

#[derive(Debug, Clone)]
struct Rule {
    src: Option<(usize, bool)>,
    /// `10.1.2.a-10.1.2.b`.
    src_range: Option<(u8, u8)>,
    dst: Option<Vec<usize>>,
    dports: Option<Vec<(u16, u16)>>,
    /// `ip saddr . tcp dport [!=] @set`: (address key, port key) pairs, negated.
    concat: Option<(Vec<(usize, usize)>, bool)>,
    vmap: Option<Vmap>,
    act: Act,
}

#[derive(Debug, Clone, Copy)]
struct Pkt {
    src: u128,
    dst: u128,
    proto: u8,
    dport: u16,
}

fn inside(x: u128, range: &str) -> bool {
    let (lo, hi) = parse_range(range).unwrap();
    lo <= x && x <= hi
}

fn key_port(p: &Pkt, k: usize) -> bool {
    let (lo, hi) = KEY_PORT[k];
    p.proto == 6 && lo <= p.dport && p.dport <= hi
}

/// The reference: what each construct means, written out directly.
fn rule_matches(r: &Rule, p: &Pkt) -> bool {
    if let Some((i, neg)) = r.src
        && inside(p.src, POOL[i]) == neg
    {
        return false;
    }
    if let Some((a, b)) = r.src_range {
        let base = parse_ip("10.1.2.0").unwrap();
        if !(base + u128::from(a) <= p.src && p.src <= base + u128::from(b)) {
            return false;
        }
    }
    if let Some(d) = &r.dst
        && !d.iter().any(|i| inside(p.dst, POOL[*i]))
    {
        return false;
    }
    if let Some(ports) = &r.dports
        && !(p.proto == 6 && ports.iter().any(|(a, b)| *a <= p.dport && p.dport <= *b))
    {
        return false;
    }
    if let Some((elems, neg)) = &r.concat {
        // `tcp dport` in a concatenation still implies TCP when negated.
        let hit = elems
            .iter()
            .any(|(a, k)| inside(p.src, KEY_ADDR[*a]) && key_port(p, *k));
        if p.proto != 6 || hit == *neg {
            return false;
        }
    }
    true
}

fn vmap_action(v: &Vmap, p: &Pkt) -> Option<Act> {
    v.elems
        .iter()
        .find(|(a, k, _)| match v.key {
            Vkey::Src => inside(p.src, KEY_ADDR[*a]),
            Vkey::Dport => key_port(p, *k),
            Vkey::SrcDport => inside(p.src, KEY_ADDR[*a]) && key_port(p, *k),
        })
        .map(|e| e.2)
}

/// `Some(accept)` for a verdict, `None` when the chain ends or returns.
fn eval(main: &[Rule], sub: &[Rule], in_sub: bool, p: &Pkt) -> Option<bool> {
    let rules = if in_sub { sub } else { main };
    for r in rules {
        if !rule_matches(r, p) {
            continue;
        }
        let act = match &r.vmap {
            Some(v) => match vmap_action(v, p) {
                Some(a) => a,
                None => continue,
            },
            None => r.act,
        };
        match act {
            Act::Accept => return Some(true),
            Act::Drop => return Some(false),
            Act::Return => return None,
            Act::Continue => {}
            Act::Jump if !in_sub => {
                if let Some(v) = eval(main, sub, true, p) {
                    return Some(v);
                }
            }
            Act::Goto if !in_sub => return eval(main, sub, true, p),
            Act::Jump | Act::Goto => {}
        }
    }
    None
}

// ---- Rendering as nft JSON ----

fn prefix(cidr: &str) -> Value {
    let (a, l) = cidr.split_once('/').unwrap();
    json!({"prefix": {"addr": a, "len": l.parse::<u32>().unwrap()}})
}

fn port_value((a, b): (u16, u16)) -> Value {
    if a == b {
        json!(a)
    } else {
        json!({"range": [a, b]})
    }
}

fn payload(proto: &str, field: &str) -> Value {
    json!({"payload": {"protocol": proto, "field": field}})
}

fn verdict(a: Act, in_sub: bool) -> Option<Value> {
    Some(match a {
        Act::Accept => json!({"accept": null}),
        Act::Drop => json!({"drop": null}),
        Act::Return => json!({"return": null}),
        Act::Jump if !in_sub => json!({"jump": {"target": "sub"}}),
        Act::Goto if !in_sub => json!({"goto": {"target": "sub"}}),
        _ => return None,
    })
}

fn nft_json(main: &[Rule], sub: &[Rule], policy: bool) -> String {
    let mut items = vec![
        json!({"metainfo": {"version": "1.0.6", "json_schema_version": 1}}),
        json!({"table": {"family": "inet", "name": "filter", "handle": 1}}),
    ];
    let base = |o: Value| {
        let mut o = o;
        o["family"] = json!("inet");
        o["table"] = json!("filter");
        o
    };
    let mut rules = Vec::new();
    let mut handle = 10;
    for (chain, list) in [("forward", main), ("sub", sub)] {
        for (i, r) in list.iter().enumerate() {
            let tag = format!("{chain}{i}");
            let mut expr = Vec::new();
            let m = |op: &str, left: Value, right: Value| json!({"match": {"op": op, "left": left, "right": right}});
            if let Some((s, neg)) = r.src {
                expr.push(m(
                    if neg { "!=" } else { "==" },
                    payload("ip", "saddr"),
                    prefix(POOL[s]),
                ));
            }
            if let Some((a, b)) = r.src_range {
                expr.push(m(
                    "==",
                    payload("ip", "saddr"),
                    json!({"range": [format!("10.1.2.{a}"), format!("10.1.2.{b}")]}),
                ));
            }
            if let Some(d) = &r.dst {
                items.push(json!({"set": base(json!({"name": format!("dst_{tag}"), "type": "ipv4_addr", "flags": ["interval"],
                    "elem": d.iter().map(|i| prefix(POOL[*i])).collect::<Vec<_>>()}))}));
                expr.push(m(
                    "==",
                    payload("ip", "daddr"),
                    json!(format!("@dst_{tag}")),
                ));
            }
            if let Some(ports) = &r.dports {
                let right = if ports.len() == 1 {
                    port_value(ports[0])
                } else {
                    json!({"set": ports.iter().map(|p| port_value(*p)).collect::<Vec<_>>()})
                };
                expr.push(m("==", payload("tcp", "dport"), right));
            }
            let concat_key = json!({"concat": [payload("ip", "saddr"), payload("tcp", "dport")]});
            let pair = |a: usize, k: usize| json!({"concat": [prefix(KEY_ADDR[a]), port_value(KEY_PORT[k])]});
            if let Some((elems, neg)) = &r.concat {
                // Named when it has several elements, anonymous otherwise: both forms exist.
                let elem: Vec<Value> = elems.iter().map(|(a, k)| pair(*a, *k)).collect();
                let right = if elems.len() > 1 {
                    items.push(json!({"set": base(json!({"name": format!("cat_{tag}"), "type": ["ipv4_addr", "inet_service"],
                        "flags": ["interval"], "elem": elem}))}));
                    json!(format!("@cat_{tag}"))
                } else {
                    json!({"set": elem})
                };
                expr.push(m(if *neg { "!=" } else { "==" }, concat_key.clone(), right));
            }
            if let Some(v) = &r.vmap {
                let in_sub = chain == "sub";
                // The map's key, and each element's key from its (address, port) indices.
                let key = match v.key {
                    Vkey::Src => payload("ip", "saddr"),
                    Vkey::Dport => payload("tcp", "dport"),
                    Vkey::SrcDport => concat_key,
                };
                let elem_key = |a: usize, k: usize| match v.key {
                    Vkey::Src => prefix(KEY_ADDR[a]),
                    Vkey::Dport => port_value(KEY_PORT[k]),
                    Vkey::SrcDport => pair(a, k),
                };
                let elems: Vec<Value> = v
                    .elems
                    .iter()
                    .map(|(a, k, act)| {
                        json!([
                            elem_key(*a, *k),
                            verdict(*act, in_sub).unwrap_or(json!({"continue": null}))
                        ])
                    })
                    .collect();
                let data = if i % 2 == 0 {
                    items.push(json!({"map": base(json!({"name": format!("map_{tag}"), "type": "ipv4_addr", "map": "verdict", "elem": elems}))}));
                    json!(format!("@map_{tag}"))
                } else {
                    json!({"set": elems})
                };
                expr.push(json!({"vmap": {"key": key, "data": data}}));
            } else {
                expr.push(json!({"counter": {"packets": 0, "bytes": 0}}));
                if let Some(v) = verdict(r.act, chain == "sub") {
                    expr.push(v);
                }
            }
            handle += 1;
            rules.push(
                json!({"rule": base(json!({"chain": chain, "handle": handle, "expr": expr}))}),
            );
        }
    }
    items.push(json!({"chain": base(json!({"name": "forward", "handle": 1, "type": "filter", "hook": "forward", "prio": 0,
        "policy": if policy { "accept" } else { "drop" }}))}));
    items.push(json!({"chain": base(json!({"name": "sub", "handle": 2}))}));
    items.extend(rules);
    json!({"nftables": items}).to_string()
}

// ---- Rendering as iptables-save and ipset save (no verdict maps in iptables) ----

fn iptables_text(main: &[Rule], sub: &[Rule], policy: bool) -> (String, String) {
    let mut sets = String::new();
    let mut out = format!(
        "# Generated by iptables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {} [0:0]\n:OUTPUT ACCEPT [0:0]\n:SUB - [0:0]\n",
        if policy { "ACCEPT" } else { "DROP" }
    );
    for (chain, list) in [("FORWARD", main), ("SUB", sub)] {
        for (i, r) in list.iter().enumerate() {
            let tag = format!("{}{i}", chain.to_lowercase());
            let mut line = format!("-A {chain}");
            if let Some((s, neg)) = r.src {
                line += &format!("{} -s {}", if neg { " !" } else { "" }, POOL[s]);
            }
            if r.dports.is_some() || r.concat.is_some() {
                line += " -p tcp";
            }
            if let Some((a, b)) = r.src_range {
                line += &format!(" -m iprange --src-range 10.1.2.{a}-10.1.2.{b}");
            }
            if let Some(d) = &r.dst {
                sets +=
                    &format!("create dst_{tag} hash:net family inet hashsize 1024 maxelem 65536\n");
                for i in d {
                    sets += &format!("add dst_{tag} {}\n", POOL[*i]);
                }
                line += &format!(" -m set --match-set dst_{tag} dst");
            }
            if let Some(ports) = &r.dports {
                let list: Vec<String> = ports
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}:{b}")
                        }
                    })
                    .collect();
                line += &format!(" -m multiport --dports {}", list.join(","));
            }
            if let Some((elems, neg)) = &r.concat {
                sets += &format!(
                    "create cat_{tag} hash:net,port family inet hashsize 1024 maxelem 65536\n"
                );
                for (a, k) in elems {
                    let (lo, hi) = KEY_PORT[*k];
                    let port = if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    };
                    sets += &format!("add cat_{tag} {},tcp:{port}\n", KEY_ADDR[*a]);
                }
                line += &format!(
                    " -m set{} --match-set cat_{tag} src,dst",
                    if *neg { " !" } else { "" }
                );
            }
            line += match (r.act, chain) {
                (Act::Accept, _) => " -j ACCEPT",
                (Act::Drop, _) => " -j DROP",
                (Act::Return, _) => " -j RETURN",
                (Act::Jump, "FORWARD") => " -j SUB",
                (Act::Goto, "FORWARD") => " -g SUB",
                _ => " -m comment --comment \"count only\"",
            };
            out += &line;
            out.push('\n');
        }
    }
    out += "COMMIT\n";
    (out, sets)
}

// ---- Generators ----

fn arb_act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => Just(Act::Accept),
        2 => Just(Act::Drop),
        1 => Just(Act::Jump),
        1 => Just(Act::Goto),
        1 => Just(Act::Return),
        1 => Just(Act::Continue),
    ]
}

fn arb_vmap() -> impl Strategy<Value = Vmap> {
    (
        prop_oneof![Just(Vkey::Src), Just(Vkey::Dport), Just(Vkey::SrcDport)],
        proptest::sample::subsequence((0..16usize).collect::<Vec<_>>(), 1..4),
        proptest::collection::vec(arb_act(), 4),
    )
        .prop_map(|(key, cells, acts)| {
            // Distinct keys of the kind chosen, so that elements never overlap.
            let mut elems: Vec<(usize, usize, Act)> = Vec::new();
            for (n, c) in cells.into_iter().enumerate() {
                let (a, k) = match key {
                    Vkey::Src => (c % 4, 0),
                    Vkey::Dport => (0, c % 4),
                    Vkey::SrcDport => (c / 4, c % 4),
                };
                if !elems.iter().any(|e| (e.0, e.1) == (a, k)) {
                    elems.push((a, k, acts[n % acts.len()]));
                }
            }
            Vmap { key, elems }
        })
}

prop_compose! {
    fn arb_rule(vmaps: bool)(
        src in proptest::option::weighted(0.5, (0usize..6, any::<bool>())),
        src_range in proptest::option::weighted(0.2, (0u8..200, 0u8..56)),
        dst in proptest::option::weighted(0.4, proptest::collection::vec(0usize..6, 1..3)),
        dports in proptest::option::weighted(0.3, proptest::collection::vec((0u16..1100, 0u16..300), 1..3)),
        concat in proptest::option::weighted(0.3, (proptest::sample::subsequence((0..16usize).collect::<Vec<_>>(), 1..4), any::<bool>())),
        vmap in proptest::option::weighted(if vmaps { 0.35 } else { 0.0 }, arb_vmap()),
        act in arb_act(),
    ) -> Rule {
        Rule {
            src,
            src_range: src_range.map(|(a, w)| (a, a + w)),
            dst,
            dports: dports.map(|v| v.into_iter().map(|(a, w)| (a, a + w)).collect()),
            concat: concat.map(|(cells, neg)| (cells.into_iter().map(|c| (c / 4, c % 4)).collect(), neg)),
            vmap,
            act,
        }
    }
}

const ADDRS: [&str; 14] = [
    "10.1.2.3",
    "10.1.2.4",
    "10.1.2.60",
    "10.1.2.200",
    "10.1.0.1",
    "10.1.255.255",
    "10.2.0.0",
    "10.2.7.7",
    "10.3.4.5",
    "192.168.1.77",
    "192.168.200.1",
    "8.8.8.8",
    "10.200.0.1",
    "10.1.2.127",
];
const PORTS: [u16; 16] = [
    0, 21, 22, 23, 79, 80, 89, 90, 104, 105, 999, 1000, 1999, 2000, 1150, 443,
];

fn check(
    kind: &str,
    fw: &hygie_collect::network::firewall::Firewall,
    main: &[Rule],
    sub: &[Rule],
    policy: bool,
    packets: &[(usize, usize, u8, usize)],
) -> Result<(), TestCaseError> {
    let zones = ZoneModel::parse(Path::new("z.yaml"), common::PROPERTY_ZONES).unwrap();
    let cells = reach::cells(&zones, fw);
    for &(s, d, proto, port) in packets {
        let p = Pkt {
            src: parse_ip(ADDRS[s]).unwrap(),
            dst: parse_ip(ADDRS[d]).unwrap(),
            proto,
            dport: PORTS[port],
        };
        let (Some(zs), Some(zd)) = (zones.zone_of(p.src), zones.zone_of(p.dst)) else {
            continue;
        };
        if zs == zd {
            continue;
        }
        let want = eval(main, sub, false, &p).unwrap_or(policy);
        let ported = [6u8, 17].contains(&proto);
        let got = cells.iter().any(|c| {
            c.src.0 <= p.src
                && p.src <= c.src.1
                && c.dst.0 <= p.dst
                && p.dst <= c.dst.1
                && c.proto == proto
                && (!ported || c.ports.contains(u128::from(p.dport)))
        });
        prop_assert_eq!(
            got,
            want,
            "{} {:?} -> {:?} {}/{}: warnings {:?}",
            kind,
            ADDRS[s],
            ADDRS[d],
            proto,
            p.dport,
            fw.warnings
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    #[test]
    fn nft_and_iptables_readers_agree_with_the_reference(
        main in proptest::collection::vec(arb_rule(true), 0..7),
        sub in proptest::collection::vec(arb_rule(true), 0..4),
        policy in any::<bool>(),
        packets in proptest::collection::vec((0usize..14, 0usize..14, prop_oneof![Just(6u8), Just(17u8), Just(1u8)], 0usize..16), 60),
    ) {
        let json = nft_json(&main, &sub, policy);
        let fw = nft::parse(Path::new("ruleset.json"), &json).unwrap();
        prop_assert!(fw.warnings.is_empty(), "{:?}", fw.warnings);
        check("nft", &fw, &main, &sub, policy, &packets)?;

        // iptables has no verdict maps: the same rules without them.
        let strip = |v: &[Rule]| v.iter().cloned().map(|mut r| { r.vmap = None; r }).collect::<Vec<_>>();
        let (main, sub) = (strip(&main), strip(&sub));
        let (rules, sets) = iptables_text(&main, &sub, policy);
        let mut ipsets = ipset::IpSets::default();
        ipsets.read(Path::new("sets.save"), &sets).unwrap();
        let fw = iptables::parse(Path::new("rules.v4"), &rules, &ipsets).unwrap();
        prop_assert!(fw.warnings.is_empty(), "{:?}", fw.warnings);
        check("iptables", &fw, &main, &sub, policy, &packets)?;
    }
}

/// The CLI path: `--ipset` files reach the iptables reader, and a rule naming a set that was not
/// given is refused with the file and line.
#[test]
fn iptables_with_ipsets_through_the_collector() {
    let d = tempfile::tempdir().unwrap();
    let zones = write(
        d.path(),
        "zones.yaml",
        "zones:
  - {name: pacs, kind: imaging, cidrs: [10.20.0.0/24]}
  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16]}
  - {name: internet, kind: internet}
",
    );
    let rules = write(d.path(), "rules.v4", "*filter
:FORWARD DROP [0:0]
-A FORWARD -m set --match-set guests src -p tcp -m set --match-set pacs_svc dst,dst -j ACCEPT
-A FORWARD -m iprange --src-range 10.50.0.1-10.50.0.9 --dst-range 9.9.9.9-9.9.9.10 -p udp -m multiport --dports 53,123 -j ACCEPT
COMMIT
");
    let sets = write(
        d.path(),
        "sets.save",
        "create guests hash:net family inet hashsize 1024 maxelem 65536
add guests 10.50.0.0/16
create pacs_svc hash:ip,port family inet hashsize 1024 maxelem 65536
add pacs_svc 10.20.0.5,tcp:104
",
    );
    let mut i = NetInputs::new(zones.clone());
    i.iptables = vec![rules.clone()];
    i.ipsets = vec![sets];
    let r = hygie_collect::run(&Network, &i, jiff::Timestamp::now()).unwrap();
    let a = common::failed(&r, "NET-GUEST-ISOLATION");
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].starts_with("guest-wifi → pacs: tcp/104 allowed by iptables FORWARD #1 (")
            && a[0].contains("rules.v4:3"),
        "{}",
        a[0]
    );

    // The iprange + multiport rule opens DNS and NTP to two resolvers, on the Internet side only.
    assert_eq!(
        common::services(&r, "guest-wifi", "internet"),
        &json!(["udp/53,123"])
    );

    let mut i = NetInputs::new(zones);
    i.iptables = vec![rules];
    let e = hygie_collect::run(&Network, &i, jiff::Timestamp::now())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rules.v4:3:") && e.contains("'guests'") && e.contains("--ipset"),
        "{e}"
    );
}
