//! `iptables-save` (or `ip6tables-save`) output: the `filter` table, its `FORWARD` chain and the
//! user chains it jumps to. Matches modelled besides addresses, protocols, ports and interfaces:
//! `-m multiport --dports`, `-m iprange --src-range/--dst-range`, `-m set --match-set` (with the
//! `ipset save` output of the sets), `-m conntrack --ctstate`.

use super::addr::{Family, Set, parse_range};
use super::firewall::{Action, Chain, Cond, Firewall, FwRule, Match, Verdict, proto_number};
use super::ipset::IpSets;
use crate::{CollectError, Result};
use std::path::Path;

fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn ports(v: &str) -> Option<Set> {
    let mut r = Vec::new();
    for p in v.split(',') {
        let (a, b) = p.split_once(':').unwrap_or((p, p));
        let a: u128 = if a.is_empty() { 0 } else { a.parse().ok()? };
        let b: u128 = if b.is_empty() { 65535 } else { b.parse().ok()? };
        if a > b || b > 65535 {
            return None;
        }
        r.push((a, b));
    }
    Some(Set::from_ranges(r))
}

pub fn parse(path: &Path, text: &str, ipsets: &IpSets) -> Result<Firewall> {
    let family = if text.contains("ip6tables") {
        Family::V6
    } else {
        Family::V4
    };
    let mut fw = Firewall {
        source: path.display().to_string(),
        ..Default::default()
    };
    let mut table = String::new();
    let mut seen_filter = false;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let bad = |m: String| CollectError::at(path, Some(n), m);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_owned();
            seen_filter |= table == "filter";
            continue;
        }
        if table != "filter" {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let mut it = decl.split_whitespace();
            let name = it
                .next()
                .ok_or_else(|| bad("chain declaration without a name".into()))?;
            let policy = match it.next() {
                Some("DROP") => Some(Verdict::Drop),
                Some("ACCEPT") => Some(Verdict::Accept),
                Some("-") | None => None,
                Some(p) => return Err(bad(format!("unknown chain policy '{p}'"))),
            };
            fw.chains.insert(
                name.to_owned(),
                Chain {
                    rules: vec![],
                    policy,
                    family: Some(family),
                },
            );
            continue;
        }
        let toks = tokens(line);
        if toks.first().map(String::as_str) != Some("-A") {
            return Err(bad(format!("expected '-A CHAIN ...', found '{line}'")));
        }
        let chain = toks
            .get(1)
            .ok_or_else(|| bad("-A without a chain".into()))?
            .clone();
        let count = counts.entry(chain.clone()).or_default();
        *count += 1;
        let id = format!("iptables {chain} #{count} ({}:{n})", path.display());
        let mut conds = Vec::new();
        let mut action = Action::Continue;
        let mut k = 2;
        let mut negate = false;
        while k < toks.len() {
            let opt = toks[k].as_str();
            if opt == "!" {
                negate = true;
                k += 1;
                continue;
            }
            let val = toks.get(k + 1).cloned().unwrap_or_default();
            let need = || {
                if val.is_empty() {
                    Err(bad(format!("option {opt} without a value")))
                } else {
                    Ok(())
                }
            };
            let mut take = 2;
            match opt {
                "-s" | "--source" | "-d" | "--destination" => {
                    need()?;
                    let mut r = Vec::new();
                    for a in val.split(',') {
                        r.push(
                            parse_range(a)
                                .ok_or_else(|| bad(format!("'{a}' is not an address")))?,
                        );
                    }
                    let mut set = Set::from_ranges(r);
                    if negate {
                        set = set.complement_in(&family.universe());
                    }
                    conds.push(Cond::is(if opt.starts_with("-s") || opt == "--source" {
                        Match::Src(set)
                    } else {
                        Match::Dst(set)
                    }));
                }
                "--src-range" | "--dst-range" => {
                    need()?;
                    let r = parse_range(&val)
                        .filter(|_| val.contains('-'))
                        .ok_or_else(|| bad(format!("'{val}' is not an address range A-B")))?;
                    let mut set = Set(vec![r]);
                    if negate {
                        set = set.complement_in(&family.universe());
                    }
                    conds.push(Cond::is(if opt == "--src-range" {
                        Match::Src(set)
                    } else {
                        Match::Dst(set)
                    }));
                }
                "--match-set" => {
                    need()?;
                    let flags = toks
                        .get(k + 2)
                        .filter(|t| !t.starts_with('-'))
                        .ok_or_else(|| bad(format!("--match-set {val} without src/dst flags")))?;
                    let (c, notes) = ipsets.condition(&val, flags, negate).map_err(bad)?;
                    conds.push(c);
                    fw.warnings
                        .extend(notes.into_iter().map(|m| format!("{id}: {m}")));
                    take = 3;
                }
                "-p" | "--protocol" => {
                    need()?;
                    if val != "all" {
                        let p = proto_number(&val)
                            .ok_or_else(|| bad(format!("unknown protocol '{val}'")))?;
                        conds.push(Cond {
                            m: Match::Proto(vec![p]),
                            negate,
                        });
                    }
                }
                "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                    need()?;
                    let mut set =
                        ports(&val).ok_or_else(|| bad(format!("'{val}' is not a port list")))?;
                    if negate {
                        set = set.complement_in(&Set::ports_all());
                    }
                    conds.push(Cond::is(Match::Dport(set)));
                }
                "-i" | "--in-interface" => {
                    need()?;
                    conds.push(Cond {
                        m: Match::Iif(vec![val.clone()]),
                        negate,
                    });
                }
                "-o" | "--out-interface" => {
                    need()?;
                    conds.push(Cond {
                        m: Match::Oif(vec![val.clone()]),
                        negate,
                    });
                }
                "--ctstate" | "--state" => {
                    need()?;
                    let states = val.split(',').map(|s| s.to_ascii_lowercase()).collect();
                    conds.push(Cond {
                        m: Match::CtState(states),
                        negate,
                    });
                }
                "-m" | "--match" | "--comment" => {}
                "-j" | "--jump" | "-g" | "--goto" => {
                    need()?;
                    action = match val.as_str() {
                        "ACCEPT" => Action::Verdict(Verdict::Accept),
                        "DROP" | "REJECT" => Action::Verdict(Verdict::Drop),
                        "RETURN" => Action::Return,
                        "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" => Action::Continue,
                        c if opt.starts_with("-g") || opt == "--goto" => Action::Goto(c.to_owned()),
                        c => Action::Jump(c.to_owned()),
                    };
                }
                o if o.starts_with('-') => {
                    // Unknown option: skip its values, note it.
                    take = 1;
                    while toks
                        .get(k + take)
                        .is_some_and(|t| !t.starts_with('-') && t != "!")
                    {
                        take += 1;
                    }
                    if !matches!(
                        o,
                        "--reject-with" | "--log-prefix" | "--log-level" | "--tcp-flags" | "--syn"
                    ) {
                        fw.warnings.push(format!(
                            "{id}: option {o} not modelled (ignored: treated as matching)"
                        ));
                    }
                }
                o => return Err(bad(format!("unexpected '{o}'"))),
            }
            negate = false;
            k += take;
        }
        if !fw.chains.contains_key(&chain) {
            return Err(bad(format!("rule of undeclared chain '{chain}'")));
        }
        if let Some(c) = fw.chains.get_mut(&chain) {
            c.rules.push(FwRule { id, conds, action });
        }
    }
    if !seen_filter {
        return Err(CollectError::at(
            path,
            None,
            "no *filter table: not iptables-save output",
        ));
    }
    if fw.chains.contains_key("FORWARD") {
        fw.bases.push("FORWARD".into());
    }
    fw.validate().map_err(|m| CollectError::at(path, None, m))?;
    Ok(fw)
}
