//! `nft -j list ruleset`: tables, named sets and verdict maps, chains and rules (JSON schema
//! version 1). The forward path is every base chain of type `filter` on hook `forward`, by priority.
//!
//! Modelled: payload matches on addresses, destination ports and protocols, `meta` interfaces,
//! protocols and `nfproto`, `ct state`; anonymous and named sets, interval sets, concatenations
//! (`ip saddr . tcp dport @svc`); verdict maps (`vmap`, anonymous or named, keyed by one field or a
//! concatenation); `jump`, `goto`, `return`, `continue`.

use super::addr::{Family, Set, parse_ip, prefix};
use super::firewall::{
    Action, Chain, Cond, Firewall, FwRule, Match, Verdict, VmapEntry, proto_number,
};
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
    let mut maps: BTreeMap<String, Value> = BTreeMap::new();
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
        } else if let Some(m) = it.get("map") {
            // Only verdict maps decide; data maps (NAT targets...) are not filtering.
            if m.get("map").and_then(Value::as_str) == Some("verdict") {
                maps.insert(
                    key(m, "name"),
                    m.get("elem").cloned().unwrap_or(Value::Array(vec![])),
                );
            }
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
        let ctx = Ctx {
            sets: &sets,
            maps: &maps,
            fam,
            table,
        };
        for e in exprs {
            let Some((k, v)) = e.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            match k.as_str() {
                "vmap" => match parse_vmap(v, &ctx) {
                    Ok((mut deps, entries)) => {
                        conds.append(&mut deps);
                        action = Action::Vmap(entries);
                    }
                    Err(m) => fw.warnings.push(format!(
                        "{id}: verdict map {m} (ignored: the rule decides nothing)"
                    )),
                },
                "match" => match parse_match(v, &ctx) {
                    Ok(mut c) => conds.append(&mut c),
                    Err(m) => fw
                        .warnings
                        .push(format!("{id}: {m} (ignored: treated as matching)")),
                },
                "accept" => action = Action::Verdict(Verdict::Accept),
                "drop" | "reject" => action = Action::Verdict(Verdict::Drop),
                "return" => action = Action::Return,
                "continue" => action = Action::Continue,
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
    maps: &'a BTreeMap<String, Value>,
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

/// What the left-hand side of a match (or a vmap key) reads.
#[derive(Debug, Clone)]
enum Field {
    Addr { fam: Family, src: bool },
    Dport { protos: Vec<u8> },
    Proto,
    Iif,
    Oif,
    CtState,
    Nfproto,
}

fn field(left: &Value) -> Result<Field, String> {
    if let Some(p) = left.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let name = p.get("field").and_then(Value::as_str).unwrap_or("");
        return Ok(match (proto, name) {
            ("ip" | "ip6", "saddr" | "daddr") => Field::Addr {
                fam: if proto == "ip" {
                    Family::V4
                } else {
                    Family::V6
                },
                src: name == "saddr",
            },
            ("tcp" | "udp" | "th" | "sctp", "dport") => Field::Dport {
                protos: match proto {
                    "tcp" => vec![6],
                    "udp" => vec![17],
                    "sctp" => vec![132],
                    _ => vec![6, 17, 132],
                },
            },
            ("ip", "protocol") | ("ip6", "nexthdr") => Field::Proto,
            _ => return Err(format!("payload {proto} {name} not modelled")),
        });
    }
    if let Some(m) = left.get("meta") {
        return Ok(match m.get("key").and_then(Value::as_str).unwrap_or("") {
            "l4proto" => Field::Proto,
            "iifname" | "iif" => Field::Iif,
            "oifname" | "oif" => Field::Oif,
            "nfproto" => Field::Nfproto,
            o => return Err(format!("meta {o} not modelled")),
        });
    }
    if let Some(c) = left.get("ct") {
        if c.get("key").and_then(Value::as_str) == Some("state") {
            return Ok(Field::CtState);
        }
        return Err("ct match other than state not modelled".into());
    }
    Err(format!("match on {left} not modelled"))
}

/// What a field implies of the packet whatever its value: `tcp dport` only matches TCP, `ip saddr`
/// only IPv4. Kept outside a negation (`tcp dport != 22` is still TCP).
fn dependency(f: &Field) -> Option<Cond> {
    match f {
        Field::Dport { protos } => Some(Cond::is(Match::Proto(protos.clone()))),
        Field::Addr { fam, .. } => Some(Cond::is(Match::Src(fam.universe()))),
        _ => None,
    }
}

/// The field has one of these values (dependencies apart).
fn leaf(f: &Field, vals: &[&Value]) -> Result<Cond, String> {
    Ok(Cond::is(match f {
        Field::Addr { src, .. } => {
            let set = Set::from_ranges(
                vals.iter()
                    .map(|x| addr_range(x))
                    .collect::<Result<_, _>>()?,
            );
            if *src {
                Match::Src(set)
            } else {
                Match::Dst(set)
            }
        }
        Field::Dport { .. } => Match::Dport(Set::from_ranges(
            vals.iter()
                .map(|x| port_range(x))
                .collect::<Result<_, _>>()?,
        )),
        Field::Proto => return protos(vals, false).map(|mut v| v.remove(0)),
        Field::Iif => Match::Iif(strings(vals)?),
        Field::Oif => Match::Oif(strings(vals)?),
        Field::CtState => Match::CtState(strings(vals)?),
        Field::Nfproto => {
            let mut set = Set::default();
            for n in strings(vals)? {
                set = set.union(&match n.as_str() {
                    "ipv4" => Family::V4.universe(),
                    "ipv6" => Family::V6.universe(),
                    o => return Err(format!("nfproto {o} not modelled")),
                });
            }
            Match::Src(set)
        }
    }))
}

/// An element of a set or map, without its `elem` wrapper (timeouts, comments).
fn unwrap_elem(v: &Value) -> &Value {
    match v.get("elem") {
        Some(e) => e.get("val").unwrap_or(e),
        None => v,
    }
}

/// An element as nft prints it, for the report.
fn label(v: &Value) -> String {
    let v = unwrap_elem(v);
    if let Some(s) = v.as_str() {
        return s.to_owned();
    }
    if let Some(p) = v.get("prefix") {
        let a = p.get("addr").and_then(Value::as_str).unwrap_or("?");
        return format!(
            "{a}/{}",
            p.get("len").map(Value::to_string).unwrap_or_default()
        );
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        return r.iter().map(label).collect::<Vec<_>>().join("-");
    }
    if let Some(c) = v.get("concat").and_then(Value::as_array) {
        return c.iter().map(label).collect::<Vec<_>>().join(" . ");
    }
    v.to_string()
}

/// The key fields: one, or the members of a concatenation.
fn key_fields(left: &Value) -> Result<Vec<Field>, String> {
    match left.get("concat").and_then(Value::as_array) {
        Some(parts) => parts.iter().map(field).collect(),
        None => Ok(vec![field(left)?]),
    }
}

/// The conditions one element puts on the key fields (dependencies apart).
fn element(fields: &[Field], v: &Value) -> Result<Vec<Cond>, String> {
    let v = unwrap_elem(v);
    if fields.len() == 1 {
        return Ok(vec![leaf(&fields[0], &[v])?]);
    }
    let parts = v
        .get("concat")
        .and_then(Value::as_array)
        .filter(|p| p.len() == fields.len())
        .ok_or_else(|| {
            format!(
                "element {v} does not match a {}-field concatenation",
                fields.len()
            )
        })?;
    fields
        .iter()
        .zip(parts)
        .map(|(f, p)| leaf(f, &[unwrap_elem(p)]))
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
    let fields = key_fields(left)?;
    if fields.len() > 1 {
        // A concatenation: any element's box; its negation keeps the fields' dependencies.
        let mut out: Vec<Cond> = fields.iter().filter_map(dependency).collect();
        let alts = vals
            .iter()
            .map(|x| element(&fields, x))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Cond {
            m: Match::AnyOf(alts),
            negate,
        });
        return Ok(out);
    }
    let f = &fields[0];
    let mut c = leaf(f, &vals)?;
    match (f, &mut c.m, negate) {
        (_, _, false) => {}
        // Negated address and port sets stay within their family or protocol.
        (Field::Addr { fam, .. }, Match::Src(s) | Match::Dst(s), true) => {
            *s = s.complement_in(&fam.universe());
        }
        (Field::Dport { .. }, Match::Dport(s), true) => *s = s.complement_in(&Set::ports_all()),
        (Field::Nfproto, Match::Src(s), true) => *s = s.complement_in(&Set::all()),
        _ => c.negate = true,
    }
    Ok(match f {
        Field::Dport { .. } => dependency(f).into_iter().chain([c]).collect(),
        _ => vec![c],
    })
}

/// A verdict map: its key's dependencies (conditions of the rule) and its elements.
fn parse_vmap(v: &Value, ctx: &Ctx<'_>) -> Result<(Vec<Cond>, Vec<VmapEntry>), String> {
    let key = v.get("key").ok_or("without key")?;
    let data = v.get("data").ok_or("without data")?;
    let fields = key_fields(key)?;
    let pairs: Vec<&Value> = if let Some(name) = data.as_str().and_then(|s| s.strip_prefix('@')) {
        ctx.maps
            .get(&format!("{} {} {name}", ctx.fam, ctx.table))
            .ok_or_else(|| format!("@{name} unknown"))?
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        ctx.elems(data)?
    };
    let mut entries = Vec::new();
    for p in pairs {
        let (k, verdict) = match p.as_array().map(Vec::as_slice) {
            Some([k, verdict]) => (k, verdict),
            _ => return Err(format!("element {p} is not a key : verdict pair")),
        };
        let (name, arg) = verdict
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| format!("verdict {verdict} not understood"))?;
        let target = || {
            arg.get("target")
                .and_then(Value::as_str)
                .map(|t| format!("{} {} {t}", ctx.fam, ctx.table))
                .ok_or_else(|| format!("{name} without target"))
        };
        let action = match name.as_str() {
            "accept" => Action::Verdict(Verdict::Accept),
            "drop" | "reject" => Action::Verdict(Verdict::Drop),
            "return" => Action::Return,
            "continue" => Action::Continue,
            "jump" => Action::Jump(target()?),
            "goto" => Action::Goto(target()?),
            o => return Err(format!("verdict '{o}' not modelled")),
        };
        entries.push(VmapEntry {
            label: format!("{} : {name}", label(k)),
            key: element(&fields, k)?,
            action,
        });
    }
    let deps = fields
        .iter()
        .filter(|f| matches!(f, Field::Dport { .. }))
        .filter_map(dependency)
        .collect();
    Ok((deps, entries))
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
