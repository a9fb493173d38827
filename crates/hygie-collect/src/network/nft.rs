//! `nft -j list ruleset`: tables, named sets, chains and rules (JSON schema version 1). The
//! forward path is every base chain of type `filter` on hook `forward`, by priority.

use super::addr::{Family, Set, parse_ip, prefix};
use super::firewall::{Action, Chain, Cond, Firewall, FwRule, Match, Verdict, proto_number};
use crate::{CollectError, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub fn parse(path: &Path, text: &str) -> Result<Firewall> {
    let err = |m: String| CollectError::at(path, None, m);
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| CollectError::at(path, Some(e.line() as u64), format!("not JSON: {e}")))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| err("no 'nftables' array: not `nft -j list ruleset` output".into()))?;
    let key = |o: &Value, name_field: &str| -> String {
        format!(
            "{} {} {}",
            o.get("family").and_then(Value::as_str).unwrap_or("?"),
            o.get("table").and_then(Value::as_str).unwrap_or("?"),
            o.get(name_field).and_then(Value::as_str).unwrap_or("?")
        )
    };
    let mut sets: BTreeMap<String, Value> = BTreeMap::new();
    let mut fw = Firewall {
        source: path.display().to_string(),
        ..Default::default()
    };
    let mut bases: Vec<(i64, String)> = Vec::new();
    for it in items {
        if let Some(s) = it.get("set") {
            sets.insert(
                key(s, "name"),
                s.get("elem").cloned().unwrap_or(Value::Array(vec![])),
            );
        } else if let Some(c) = it.get("chain") {
            let k = key(c, "name");
            let family = match c.get("family").and_then(Value::as_str) {
                Some("ip") => Some(Family::V4),
                Some("ip6") => Some(Family::V6),
                _ => None,
            };
            let policy = match c.get("policy").and_then(Value::as_str) {
                Some("drop") => Some(Verdict::Drop),
                Some(_) => Some(Verdict::Accept),
                None => None,
            };
            let family_ok = matches!(
                c.get("family").and_then(Value::as_str),
                Some("ip" | "ip6" | "inet")
            );
            if family_ok
                && c.get("hook").and_then(Value::as_str) == Some("forward")
                && c.get("type").and_then(Value::as_str) == Some("filter")
            {
                bases.push((
                    c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                    k.clone(),
                ));
            }
            fw.chains.insert(
                k,
                Chain {
                    rules: vec![],
                    policy,
                    family,
                },
            );
        }
    }
    for it in items {
        let Some(r) = it.get("rule") else { continue };
        let chain = key(r, "chain");
        let (fam, table) = (
            r.get("family").and_then(Value::as_str).unwrap_or("?"),
            r.get("table").and_then(Value::as_str).unwrap_or("?"),
        );
        let id = format!(
            "nft {chain} handle {}",
            r.get("handle").map(Value::to_string).unwrap_or_default()
        );
        let exprs = r
            .get("expr")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("{id}: no expr")))?;
        let mut conds = Vec::new();
        let mut action = Action::Continue;
        for e in exprs {
            let Some((k, v)) = e.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            match k.as_str() {
                "match" => {
                    let ctx = Ctx {
                        sets: &sets,
                        fam,
                        table,
                    };
                    match parse_match(v, &ctx) {
                        Ok(mut c) => conds.append(&mut c),
                        Err(m) => fw
                            .warnings
                            .push(format!("{id}: {m} (ignored: treated as matching)")),
                    }
                }
                "accept" => action = Action::Verdict(Verdict::Accept),
                "drop" | "reject" => action = Action::Verdict(Verdict::Drop),
                "return" => action = Action::Return,
                "jump" | "goto" => {
                    let t = v
                        .get("target")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err(format!("{id}: {k} without target")))?;
                    let t = format!("{fam} {table} {t}");
                    action = if k == "jump" {
                        Action::Jump(t)
                    } else {
                        Action::Goto(t)
                    };
                }
                "counter" | "log" | "limit" | "comment" | "mangle" | "quota" | "notrack" => {}
                other => fw
                    .warnings
                    .push(format!("{id}: statement '{other}' not modelled")),
            }
        }
        match fw.chains.get_mut(&chain) {
            Some(c) => c.rules.push(FwRule { id, conds, action }),
            None => return Err(err(format!("{id}: rule of an undeclared chain"))),
        }
    }
    bases.sort();
    fw.bases = bases.into_iter().map(|(_, k)| k).collect();
    fw.validate().map_err(err)?;
    Ok(fw)
}

struct Ctx<'a> {
    sets: &'a BTreeMap<String, Value>,
    fam: &'a str,
    table: &'a str,
}

impl Ctx<'_> {
    /// The elements of a right-hand side: a value, a list, an anonymous or a named set.
    fn elems<'v>(&'v self, v: &'v Value) -> Result<Vec<&'v Value>, String> {
        if let Some(name) = v.as_str().and_then(|s| s.strip_prefix('@')) {
            let set = self
                .sets
                .get(&format!("{} {} {name}", self.fam, self.table))
                .ok_or_else(|| format!("unknown set @{name}"))?;
            return Ok(set
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default());
        }
        if let Some(s) = v.get("set") {
            return Ok(s
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_else(|| vec![s]));
        }
        if let Some(a) = v.as_array() {
            return Ok(a.iter().collect());
        }
        Ok(vec![v])
    }
}

fn addr_range(v: &Value) -> Result<(u128, u128), String> {
    if let Some(s) = v.as_str() {
        return super::addr::parse_range(s).ok_or_else(|| format!("'{s}' is not an address"));
    }
    if let Some(p) = v.get("prefix") {
        let a = p.get("addr").and_then(Value::as_str).unwrap_or("");
        let len = p.get("len").and_then(Value::as_u64).unwrap_or(999);
        let ip = a.parse().map_err(|_| format!("'{a}' is not an address"))?;
        return prefix(ip, len as u32).ok_or_else(|| format!("bad prefix {a}/{len}"));
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        let g = |i: usize| r.get(i).and_then(Value::as_str).and_then(parse_ip);
        if let (Some(a), Some(b)) = (g(0), g(1)) {
            return Ok((a, b));
        }
    }
    if let Some(e) = v.get("elem") {
        return addr_range(e.get("val").unwrap_or(e));
    }
    Err(format!("address value {v} not understood"))
}

fn port_range(v: &Value) -> Result<(u128, u128), String> {
    if let Some(n) = v.as_u64() {
        return Ok((u128::from(n), u128::from(n)));
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        let g = |i: usize| r.get(i).and_then(Value::as_u64);
        if let (Some(a), Some(b)) = (g(0), g(1)) {
            return Ok((u128::from(a), u128::from(b)));
        }
    }
    if let Some(s) = v.as_str() {
        let n = match s {
            "ssh" => 22,
            "http" => 80,
            "https" => 443,
            "domain" => 53,
            "smtp" => 25,
            "rdp" | "ms-wbt-server" => 3389,
            _ => s
                .parse()
                .map_err(|_| format!("port '{s}' not understood"))?,
        };
        return Ok((n, n));
    }
    if let Some(e) = v.get("elem") {
        return port_range(e.get("val").unwrap_or(e));
    }
    Err(format!("port value {v} not understood"))
}

fn strings(vals: &[&Value]) -> Result<Vec<String>, String> {
    vals.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{v} is not a name"))
        })
        .collect()
}

fn parse_match(v: &Value, ctx: &Ctx<'_>) -> Result<Vec<Cond>, String> {
    let op = v.get("op").and_then(Value::as_str).unwrap_or("==");
    let negate = match op {
        "==" | "in" => false,
        "!=" => true,
        o => return Err(format!("operator '{o}' not modelled")),
    };
    let left = v.get("left").ok_or("match without left")?;
    let right = v.get("right").ok_or("match without right")?;
    let vals = ctx.elems(right)?;
    if let Some(p) = left.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let field = p.get("field").and_then(Value::as_str).unwrap_or("");
        match (proto, field) {
            ("ip" | "ip6", "saddr" | "daddr") => {
                let fam = if proto == "ip" {
                    Family::V4
                } else {
                    Family::V6
                };
                let set = Set::from_ranges(
                    vals.iter()
                        .map(|x| addr_range(x))
                        .collect::<Result<_, _>>()?,
                );
                let set = if negate {
                    set.complement_in(&fam.universe())
                } else {
                    set
                };
                return Ok(vec![Cond::is(if field == "saddr" {
                    Match::Src(set)
                } else {
                    Match::Dst(set)
                })]);
            }
            ("tcp" | "udp" | "th" | "sctp", "dport") => {
                let protos = match proto {
                    "tcp" => vec![6],
                    "udp" => vec![17],
                    "sctp" => vec![132],
                    _ => vec![6, 17, 132],
                };
                let set = Set::from_ranges(
                    vals.iter()
                        .map(|x| port_range(x))
                        .collect::<Result<_, _>>()?,
                );
                let set = if negate {
                    set.complement_in(&Set::ports_all())
                } else {
                    set
                };
                return Ok(vec![
                    Cond::is(Match::Proto(protos)),
                    Cond::is(Match::Dport(set)),
                ]);
            }
            ("ip", "protocol") | ("ip6", "nexthdr") => {
                return protos(&vals, negate);
            }
            _ => return Err(format!("payload {proto} {field} not modelled")),
        }
    }
    if let Some(m) = left.get("meta") {
        let k = m.get("key").and_then(Value::as_str).unwrap_or("");
        return match k {
            "l4proto" => protos(&vals, negate),
            "iifname" | "iif" => Ok(vec![Cond {
                m: Match::Iif(strings(&vals)?),
                negate,
            }]),
            "oifname" | "oif" => Ok(vec![Cond {
                m: Match::Oif(strings(&vals)?),
                negate,
            }]),
            "nfproto" => {
                let names = strings(&vals)?;
                let mut set = Set::default();
                for n in names {
                    set = set.union(&match n.as_str() {
                        "ipv4" => Family::V4.universe(),
                        "ipv6" => Family::V6.universe(),
                        o => return Err(format!("nfproto {o} not modelled")),
                    });
                }
                let set = if negate {
                    set.complement_in(&Set::all())
                } else {
                    set
                };
                Ok(vec![Cond::is(Match::Src(set))])
            }
            o => Err(format!("meta {o} not modelled")),
        };
    }
    if let Some(c) = left.get("ct") {
        if c.get("key").and_then(Value::as_str) == Some("state") {
            return Ok(vec![Cond {
                m: Match::CtState(strings(&vals)?),
                negate,
            }]);
        }
        return Err("ct match other than state not modelled".into());
    }
    Err(format!("match on {left} not modelled"))
}

fn protos(vals: &[&Value], negate: bool) -> Result<Vec<Cond>, String> {
    let mut out = Vec::new();
    for v in vals {
        let p = match (v.as_str(), v.as_u64()) {
            (Some(s), _) => proto_number(s),
            (_, Some(n)) => u8::try_from(n).ok(),
            _ => None,
        };
        out.push(p.ok_or_else(|| format!("protocol {v} not understood"))?);
    }
    Ok(vec![Cond {
        m: Match::Proto(out),
        negate,
    }])
}
