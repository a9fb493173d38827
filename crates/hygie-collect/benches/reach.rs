//! Reachability matrix on generated firewalls: `cargo bench -p hygie-collect --bench reach --
//! [--rules N]...`. Each firewall has 20 zones (/16 each) plus the Internet and N forward rules
//! between random /24s of those zones on random TCP ports, half of them through named sets and a
//! verdict map (nft JSON), read by the nft reader as a real export would be.

#![allow(clippy::unwrap_used)]

use hygie_collect::network::model::ZoneModel;
use hygie_collect::network::{nft, reach};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// A small deterministic generator (no dependency, same input every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn ruleset(n: usize) -> String {
    let mut g = Lcg(42);
    let base = |mut o: serde_json::Value| {
        o["family"] = json!("inet");
        o["table"] = json!("filter");
        o
    };
    let net = |g: &mut Lcg| json!({"prefix": {"addr": format!("10.{}.{}.0", 1 + g.next(20), g.next(256)), "len": 24}});
    let mut items = vec![json!({"table": {"family": "inet", "name": "filter", "handle": 1}})];
    items.push(json!({"chain": base(json!({"name": "forward", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}))}));
    let mut map = Vec::new();
    for i in 0..n {
        let port = json!(1 + g.next(4000));
        if i % 2 == 0 {
            let expr = json!([
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": net(&mut g)}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": net(&mut g)}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": port}},
                {"accept": null}
            ]);
            items.push(
                json!({"rule": base(json!({"chain": "forward", "handle": 10 + i, "expr": expr}))}),
            );
        } else {
            map.push(json!([{"concat": [net(&mut g), net(&mut g), port]}, {"accept": null}]));
        }
    }
    items.push(json!({"map": base(json!({"name": "flows", "type": ["ipv4_addr", "ipv4_addr", "inet_service"], "map": "verdict", "flags": ["interval"], "elem": map}))}));
    items.push(json!({"rule": base(json!({"chain": "forward", "handle": 5, "expr": [
        {"vmap": {"key": {"concat": [{"payload": {"protocol": "ip", "field": "saddr"}}, {"payload": {"protocol": "ip", "field": "daddr"}}, {"payload": {"protocol": "tcp", "field": "dport"}}]}, "data": "@flows"}}
    ]}))}));
    json!({"nftables": items}).to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut sizes: Vec<usize> = args
        .windows(2)
        .filter(|w| w[0] == "--rules")
        .filter_map(|w| w[1].parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![50, 100, 200, 400];
    }
    let mut zones = String::from("zones:\n");
    for k in 1..=20 {
        zones += &format!("  - {{name: z{k}, kind: servers, cidrs: [10.{k}.0.0/16]}}\n");
    }
    zones += "  - {name: internet, kind: internet}\n";
    let zones = ZoneModel::parse(Path::new("zones.yaml"), &zones).unwrap();
    for n in sizes {
        let text = ruleset(n);
        let t0 = Instant::now();
        let fw = nft::parse(Path::new("bench.json"), &text).unwrap();
        let parse = t0.elapsed();
        let t1 = Instant::now();
        let cells = reach::cells(&zones, &fw);
        let matrix = reach::matrix(&zones, &fw, &cells);
        let analyse = t1.elapsed();
        println!(
            "rules {n:>5}: parse {:>8.1} ms, matrix {:>9.1} ms, {} cells, {} zone paths",
            parse.as_secs_f64() * 1e3,
            analyse.as_secs_f64() * 1e3,
            cells.len(),
            matrix.len()
        );
    }
}
