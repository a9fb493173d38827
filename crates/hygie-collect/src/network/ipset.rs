//! `ipset save` output: the sets iptables rules name with `-m set --match-set NAME src,dst`.
//!
//! Each set has one to three dimensions (`hash:net` is one, `hash:net,port` two) and members
//! `10.0.0.0/8`, `10.0.0.1-10.0.0.9`, `10.1.2.3,tcp:443`. Address and port dimensions are
//! modelled; interface, MAC and mark dimensions are not (the reader warns and lets them match).

use super::addr::{Family, Set, parse_range};
use super::firewall::{Cond, Match, proto_number};
use crate::{CollectError, Result};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Addr,
    Port,
    /// `iface`, `mac`, `mark`: not modelled.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Addr((u128, u128)),
    /// Protocols (TCP and UDP when the member does not say) and a port range; `None` for a
    /// protocol without ports (`icmp:ping`).
    Port(Vec<u8>, Option<(u128, u128)>),
    Other,
}

#[derive(Debug, Clone)]
pub struct IpSet {
    pub name: String,
    pub kind: String,
    pub family: Family,
    pub dims: Vec<Dim>,
    /// Members, one part per dimension; `true` for `nomatch` members (exceptions).
    pub members: Vec<(Vec<Part>, bool)>,
    /// `file:line` of the `create` line.
    pub origin: String,
}

#[derive(Debug, Clone, Default)]
pub struct IpSets {
    pub sets: BTreeMap<String, IpSet>,
}

impl IpSets {
    /// Add the sets of one `ipset save` file; a set defined twice is an error.
    pub fn read(&mut self, path: &Path, text: &str) -> Result<()> {
        for (i, raw) in text.lines().enumerate() {
            let n = i as u64 + 1;
            let bad = |m: String| CollectError::at(path, Some(n), m);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let toks: Vec<&str> = line.split_whitespace().collect();
            match toks.as_slice() {
                ["create", name, kind, opts @ ..] => {
                    let (method, dims) = kind.split_once(':').ok_or_else(|| {
                        bad(format!("set type '{kind}' is not METHOD:DIMENSIONS"))
                    })?;
                    if method == "list" {
                        return Err(bad(format!(
                            "set '{name}': list:set sets are not modelled; save the member sets instead"
                        )));
                    }
                    let dims = dims
                        .split(',')
                        .map(|d| match d {
                            "ip" | "net" => Ok(Dim::Addr),
                            "port" => Ok(Dim::Port),
                            "iface" | "mac" | "mark" => Ok(Dim::Other),
                            o => Err(bad(format!("set '{name}': dimension '{o}' unknown"))),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let family = match opts.windows(2).find(|w| w[0] == "family").map(|w| w[1]) {
                        Some("inet6") => Family::V6,
                        Some("inet") | None => Family::V4,
                        Some(f) => return Err(bad(format!("set '{name}': family '{f}' unknown"))),
                    };
                    let set = IpSet {
                        name: (*name).to_owned(),
                        kind: (*kind).to_owned(),
                        family,
                        dims,
                        members: vec![],
                        origin: format!("{}:{n}", path.display()),
                    };
                    if let Some(old) = self.sets.insert((*name).to_owned(), set) {
                        return Err(bad(format!(
                            "set '{name}' already defined at {}",
                            old.origin
                        )));
                    }
                }
                ["add", name, elem, opts @ ..] => {
                    let set = self
                        .sets
                        .get_mut(*name)
                        .ok_or_else(|| bad(format!("'add' to set '{name}' before its 'create'")))?;
                    let parts: Vec<&str> = elem.split(',').collect();
                    if parts.len() != set.dims.len() {
                        return Err(bad(format!(
                            "member '{elem}' has {} part(s), set '{name}' ({}) has {}",
                            parts.len(),
                            set.kind,
                            set.dims.len()
                        )));
                    }
                    let mut member = Vec::new();
                    for (d, p) in set.dims.iter().zip(parts) {
                        member.push(match d {
                            Dim::Addr => Part::Addr(
                                parse_range(p)
                                    .ok_or_else(|| bad(format!("'{p}' is not an address")))?,
                            ),
                            Dim::Port => port_part(p)
                                .ok_or_else(|| bad(format!("'{p}' is not a [proto:]port")))?,
                            Dim::Other => Part::Other,
                        });
                    }
                    set.members.push((member, opts.contains(&"nomatch")));
                }
                [verb, ..] => {
                    return Err(bad(format!("expected 'create' or 'add', found '{verb}'")));
                }
                [] => {}
            }
        }
        Ok(())
    }

    /// The condition `-m set [!] --match-set NAME FLAGS` puts on a packet, and what the model
    /// leaves out (source ports, interfaces, exceptions of multi-dimension sets).
    pub fn condition(
        &self,
        name: &str,
        flags: &str,
        negate: bool,
    ) -> Result<(Cond, Vec<String>), String> {
        let set = self.sets.get(name).ok_or_else(|| {
            format!("set '{name}' is not in the ipset files given (pass `ipset save` output with --ipset)")
        })?;
        let flags: Vec<&str> = flags.split(',').collect();
        if let Some(f) = flags.iter().find(|f| !matches!(**f, "src" | "dst")) {
            return Err(format!(
                "--match-set {name}: flag '{f}' is neither src nor dst"
            ));
        }
        let mut notes = Vec::new();
        // The kernel compares only as many dimensions as flags are given.
        let used = flags.len().min(set.dims.len());
        // One address dimension: a plain address set, exceptions subtracted.
        if used == 1 && set.dims[0] == Dim::Addr {
            let pick = |nomatch: bool| {
                Set::from_ranges(
                    set.members
                        .iter()
                        .filter(|(_, n)| *n == nomatch)
                        .filter_map(|(m, _)| match m.first() {
                            Some(Part::Addr(r)) => Some(*r),
                            _ => None,
                        })
                        .collect(),
                )
            };
            let universe = set.family.universe();
            let mut s = pick(false).complement_in(&universe);
            s = s.union(&pick(true)).complement_in(&universe);
            if negate {
                s = s.complement_in(&universe);
            }
            let m = if flags[0] == "src" {
                Match::Src(s)
            } else {
                Match::Dst(s)
            };
            return Ok((Cond::is(m), notes));
        }
        if set.members.iter().any(|(_, nomatch)| *nomatch) {
            notes.push(format!(
                "set '{name}': nomatch members of a multi-dimension set not modelled (ignored)"
            ));
        }
        let mut alts = Vec::new();
        for (member, _) in set.members.iter().filter(|(_, n)| !n) {
            let mut conds = Vec::new();
            for (part, flag) in member.iter().zip(&flags).take(used) {
                match (part, *flag) {
                    (Part::Addr(r), "src") => conds.push(Cond::is(Match::Src(Set(vec![*r])))),
                    (Part::Addr(r), _) => conds.push(Cond::is(Match::Dst(Set(vec![*r])))),
                    (Part::Port(protos, ports), "dst") => {
                        conds.push(Cond::is(Match::Proto(protos.clone())));
                        if let Some(r) = ports {
                            conds.push(Cond::is(Match::Dport(Set(vec![*r]))));
                        }
                    }
                    (Part::Port(protos, _), _) => {
                        conds.push(Cond::is(Match::Proto(protos.clone())));
                        notes.push(format!("set '{name}': source ports not modelled (treated as matching)"));
                    }
                    (Part::Other, _) => notes.push(format!(
                        "set '{name}' ({}): interface, MAC and mark dimensions not modelled (treated as matching)",
                        set.kind
                    )),
                }
            }
            // The family of the set is part of every member.
            conds.push(Cond::is(Match::Src(set.family.universe())));
            alts.push(conds);
        }
        notes.sort();
        notes.dedup();
        Ok((
            Cond {
                m: Match::AnyOf(alts),
                negate,
            },
            notes,
        ))
    }
}

/// `tcp:443`, `udp:53-60`, `icmp:ping`, `80` (TCP and UDP), `80-90`.
fn port_part(p: &str) -> Option<Part> {
    let (proto, port) = match p.split_once(':') {
        Some((proto, port)) => (Some(proto), port),
        None => (None, p),
    };
    let protos = match proto {
        None => vec![6, 17],
        Some(x) => vec![proto_number(x)?],
    };
    if matches!(protos.as_slice(), [1] | [58]) {
        // ICMP type names, not ports.
        return Some(Part::Port(protos, None));
    }
    let (a, b) = port.split_once('-').unwrap_or((port, port));
    let (a, b): (u128, u128) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && b <= 65535).then_some(Part::Port(protos, Some((a, b))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::addr::parse_ip;
    use crate::network::firewall::Packet;

    const SAVE: &str = "create guests hash:net family inet hashsize 1024 maxelem 65536
add guests 10.50.0.0/16
add guests 10.50.9.0/24 nomatch
create pacs_svc hash:ip,port family inet hashsize 1024 maxelem 65536
add pacs_svc 10.20.0.5,tcp:104
add pacs_svc 10.20.0.6,tcp:11112-11113
";

    fn pkt(src: &str, dst: &str, proto: u8, dport: Option<u16>) -> Packet<'static> {
        Packet {
            src: parse_ip(src).unwrap(),
            dst: parse_ip(dst).unwrap(),
            proto,
            dport,
            iif: None,
            oif: None,
        }
    }

    #[test]
    fn one_and_two_dimension_sets_with_exceptions() {
        let mut s = IpSets::default();
        s.read(Path::new("sets.save"), SAVE).unwrap();
        let (c, notes) = s.condition("guests", "src", false).unwrap();
        assert!(notes.is_empty());
        assert!(c.matches(&pkt("10.50.1.1", "1.1.1.1", 6, Some(80))));
        assert!(!c.matches(&pkt("10.50.9.1", "1.1.1.1", 6, Some(80))));
        assert!(!c.matches(&pkt("10.51.0.1", "1.1.1.1", 6, Some(80))));
        let (c, _) = s.condition("guests", "src", true).unwrap();
        assert!(c.matches(&pkt("10.50.9.1", "1.1.1.1", 6, Some(80))));
        assert!(!c.matches(&pkt("10.50.1.1", "1.1.1.1", 6, Some(80))));
        let (c, _) = s.condition("pacs_svc", "dst,dst", false).unwrap();
        assert!(c.matches(&pkt("10.1.1.1", "10.20.0.5", 6, Some(104))));
        assert!(!c.matches(&pkt("10.1.1.1", "10.20.0.5", 17, Some(104))));
        assert!(!c.matches(&pkt("10.1.1.1", "10.20.0.5", 6, Some(11112))));
        assert!(c.matches(&pkt("10.1.1.1", "10.20.0.6", 6, Some(11113))));
        // Only the flags given are compared: the address alone.
        let (c, _) = s.condition("pacs_svc", "dst", false).unwrap();
        assert!(c.matches(&pkt("10.1.1.1", "10.20.0.6", 17, Some(53))));
        let (_, notes) = s.condition("pacs_svc", "dst,src", false).unwrap();
        assert!(notes[0].contains("source ports"), "{notes:?}");
        assert!(
            s.condition("nope", "src", false)
                .unwrap_err()
                .contains("--ipset")
        );
    }

    #[test]
    fn malformed_sets_name_file_and_line() {
        for (text, want) in [
            ("create a hash:net\nadd a 10.0.0.0/33\n", "sets.save:2:"),
            ("add a 10.0.0.1\n", "before its 'create'"),
            ("create a hash:ip,port\nadd a 10.0.0.1\n", "1 part(s)"),
            (
                "create a hash:net\ncreate a hash:net\n",
                "already defined at sets.save:1",
            ),
            ("create a list:set\n", "list:set"),
            ("flush\n", "expected 'create' or 'add'"),
        ] {
            let e = IpSets::default()
                .read(Path::new("sets.save"), text)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.starts_with("sets.save:"),
                "{text:?}: {e}"
            );
        }
    }
}
