//! One firewall model for nftables, iptables and CSV rule tables: chains of rules with matches
//! and actions, evaluated first-match for a new connection (conntrack state `new`).

use super::addr::Set;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Match {
    Src(Set),
    Dst(Set),
    /// IP protocol numbers.
    Proto(Vec<u8>),
    /// Destination ports (the packet must be TCP or UDP; the protocol is a separate match).
    Dport(Set),
    Iif(Vec<String>),
    Oif(Vec<String>),
    /// Conntrack states (`new`, `established`...): analysed packets are `new`.
    CtState(Vec<String>),
    /// Any of these conjunctions: a set of concatenations (`ip saddr . tcp dport @svc`), a
    /// multi-dimension ipset (`hash:net,port`). Each alternative is a box over the dimensions.
    AnyOf(Vec<Vec<Cond>>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cond {
    pub m: Match,
    pub negate: bool,
}

impl Cond {
    pub fn is(m: Match) -> Cond {
        Cond { m, negate: false }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Accept,
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Action {
    Verdict(Verdict),
    Jump(String),
    Goto(String),
    Return,
    /// Logging, counters: matching goes on.
    Continue,
    /// A verdict map (`ip saddr vmap { 10.50.0.0/16 : jump guest, ... }`): the first element whose
    /// key matches gives the action; none matching, the rule does not decide.
    Vmap(Vec<VmapEntry>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmapEntry {
    /// The element as written (`10.50.0.0/16 . 443`), named in the report.
    pub label: String,
    pub key: Vec<Cond>,
    /// Never itself a `Vmap`.
    pub action: Action,
}

#[derive(Debug, Clone, Serialize)]
pub struct FwRule {
    /// Names the rule for the report: `nft inet filter forward handle 8`, `iptables FORWARD #3 (line 12)`.
    pub id: String,
    pub conds: Vec<Cond>,
    pub action: Action,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub rules: Vec<FwRule>,
    /// Base chains: the verdict when no rule decides.
    pub policy: Option<Verdict>,
    /// Base chains of an `ip`/`ip6` table (or iptables/ip6tables) only see that family.
    #[serde(skip)]
    pub family: Option<super::addr::Family>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Firewall {
    /// Where it was read.
    pub source: String,
    pub chains: BTreeMap<String, Chain>,
    /// Base chains of the forward path, in traversal order (priority).
    pub bases: Vec<String>,
    /// What the reader could not model (ignored matches, unknown statements).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub dport: Option<u16>,
    pub iif: Option<&'a str>,
    pub oif: Option<&'a str>,
}

/// The verdict for a packet, and the rules (or chain policies) that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub by: Vec<String>,
}

const MAX_DEPTH: usize = 32;

/// Packet fields known in advance (`None`: unknown), for [`Firewall::specialize`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    pub src: Option<u128>,
    pub dst: Option<u128>,
    pub iif: Option<Option<&'a str>>,
    pub oif: Option<Option<&'a str>>,
}

/// A conjunction under known fields: `None` when it is false, else the conditions left (empty:
/// true).
fn partial_all(conds: &[Cond], k: &Known<'_>) -> Option<Vec<Cond>> {
    let mut left = Vec::new();
    for c in conds {
        match c.partial(k) {
            (Some(true), _) => {}
            (Some(false), _) => return None,
            (None, rest) => left.push(rest),
        }
    }
    Some(left)
}

impl Cond {
    pub fn matches(&self, p: &Packet<'_>) -> bool {
        let r = match &self.m {
            Match::Src(s) => s.contains(p.src),
            Match::Dst(s) => s.contains(p.dst),
            Match::Proto(v) => v.contains(&p.proto),
            Match::Dport(s) => p.dport.is_some_and(|d| s.contains(u128::from(d))),
            Match::Iif(v) => p.iif.is_some_and(|i| v.iter().any(|n| iface_eq(n, i))),
            Match::Oif(v) => p.oif.is_some_and(|i| v.iter().any(|n| iface_eq(n, i))),
            Match::CtState(v) => v.iter().any(|s| s == "new"),
            Match::AnyOf(alts) => alts.iter().any(|a| a.iter().all(|c| c.matches(p))),
        };
        r != self.negate
    }
}

impl Cond {
    /// Truth under known fields, or (`None`) the condition that remains.
    fn partial(&self, k: &Known<'_>) -> (Option<bool>, Cond) {
        let known = match &self.m {
            Match::Src(s) => k.src.map(|x| s.contains(x)),
            Match::Dst(s) => k.dst.map(|x| s.contains(x)),
            Match::Iif(v) => k
                .iif
                .map(|i| i.is_some_and(|i| v.iter().any(|n| iface_eq(n, i)))),
            Match::Oif(v) => k
                .oif
                .map(|o| o.is_some_and(|o| v.iter().any(|n| iface_eq(n, o)))),
            Match::CtState(v) => Some(v.iter().any(|s| s == "new")),
            Match::Proto(_) | Match::Dport(_) => None,
            Match::AnyOf(alts) => {
                let mut rest = Vec::new();
                let mut any_true = false;
                for a in alts {
                    match partial_all(a, k) {
                        None => {}
                        Some(c) if c.is_empty() => any_true = true,
                        Some(c) => rest.push(c),
                    }
                }
                if any_true {
                    Some(true)
                } else if rest.is_empty() {
                    Some(false)
                } else {
                    return (
                        None,
                        Cond {
                            m: Match::AnyOf(rest),
                            negate: self.negate,
                        },
                    );
                }
            }
        };
        match known {
            Some(b) => (Some(b != self.negate), self.clone()),
            None => (None, self.clone()),
        }
    }
}

/// Interface names, with the `+` (iptables) and `*` (nftables) wildcards.
fn iface_eq(pattern: &str, name: &str) -> bool {
    match pattern
        .strip_suffix('+')
        .or_else(|| pattern.strip_suffix('*'))
    {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl Firewall {
    /// Evaluate every base chain of the forward path in order: a drop anywhere is final, the
    /// packet passes when every base chain accepts.
    pub fn decide(&self, p: &Packet<'_>) -> Decision {
        let mut by = Vec::new();
        for base in &self.bases {
            let Some(chain) = self.chains.get(base) else {
                continue;
            };
            if chain
                .family
                .is_some_and(|f| f != super::addr::family_of(p.src))
            {
                continue;
            }
            let (v, who) = match self.eval(base, p, 0) {
                Some(x) => x,
                None => (
                    chain.policy.unwrap_or(Verdict::Accept),
                    format!("{}: policy of chain {base}", self.source),
                ),
            };
            by.push(who);
            if v == Verdict::Drop {
                return Decision {
                    verdict: Verdict::Drop,
                    by: vec![by.pop().unwrap_or_default()],
                };
            }
        }
        if self.bases.is_empty() {
            by.push(format!("{}: no forward chain (accept)", self.source));
        }
        Decision {
            verdict: Verdict::Accept,
            by,
        }
    }

    /// `None` when the chain ends without a verdict (return to the caller).
    fn eval(&self, chain: &str, p: &Packet<'_>, depth: usize) -> Option<(Verdict, String)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let c = self.chains.get(chain)?;
        for r in &c.rules {
            if !r.conds.iter().all(|c| c.matches(p)) {
                continue;
            }
            let (action, element) = match &r.action {
                Action::Vmap(entries) => {
                    match entries.iter().find(|e| e.key.iter().all(|c| c.matches(p))) {
                        Some(e) => (&e.action, Some(e.label.as_str())),
                        None => continue,
                    }
                }
                a => (a, None),
            };
            match action {
                Action::Verdict(v) => {
                    let who = match element {
                        Some(l) => format!("{} (element {l})", r.id),
                        None => r.id.clone(),
                    };
                    return Some((*v, who));
                }
                Action::Continue | Action::Vmap(_) => {}
                Action::Return => return None,
                Action::Jump(t) => {
                    if let Some(x) = self.eval(t, p, depth + 1) {
                        return Some(x);
                    }
                }
                Action::Goto(t) => return self.eval(t, p, depth + 1),
            }
        }
        None
    }

    /// The same firewall for packets whose known fields are `k`: conditions decided by them are
    /// dropped (true) or drop their rule or alternative (false); the others stay. Deciding a
    /// packet with those fields gives the same verdict and rules as on `self` (partial
    /// evaluation), so the reachability loop only meets the rules that can still match.
    pub fn specialize(&self, k: &Known<'_>) -> Firewall {
        let chains = self
            .chains
            .iter()
            .map(|(name, c)| {
                let rules = c
                    .rules
                    .iter()
                    .filter_map(|r| {
                        let conds = partial_all(&r.conds, k)?;
                        let action = match &r.action {
                            Action::Vmap(entries) => {
                                let mut kept = Vec::new();
                                for e in entries {
                                    if let Some(key) = partial_all(&e.key, k) {
                                        let decided = key.is_empty();
                                        kept.push(VmapEntry {
                                            label: e.label.clone(),
                                            key,
                                            action: e.action.clone(),
                                        });
                                        // Later elements are shadowed once one always matches.
                                        if decided {
                                            break;
                                        }
                                    }
                                }
                                if kept.is_empty() {
                                    return None;
                                }
                                Action::Vmap(kept)
                            }
                            a => a.clone(),
                        };
                        Some(FwRule {
                            id: r.id.clone(),
                            conds,
                            action,
                        })
                    })
                    .collect();
                (
                    name.clone(),
                    Chain {
                        rules,
                        policy: c.policy,
                        family: c.family,
                    },
                )
            })
            .collect();
        Firewall {
            source: self.source.clone(),
            chains,
            bases: self.bases.clone(),
            warnings: vec![],
        }
    }

    /// Every address and port set the rules mention, vmap keys and alternatives included (for the
    /// reachability atoms).
    pub fn sets(&self) -> (Vec<&Set>, Vec<&Set>, Vec<&Set>, Vec<u8>) {
        fn walk<'a>(
            conds: &'a [Cond],
            out: &mut (Vec<&'a Set>, Vec<&'a Set>, Vec<&'a Set>, Vec<u8>),
        ) {
            for cond in conds {
                match &cond.m {
                    Match::Src(s) => out.0.push(s),
                    Match::Dst(s) => out.1.push(s),
                    Match::Dport(s) => out.2.push(s),
                    Match::Proto(v) => out.3.extend(v.iter().copied()),
                    Match::AnyOf(alts) => {
                        for a in alts {
                            walk(a, out);
                        }
                    }
                    Match::Iif(_) | Match::Oif(_) | Match::CtState(_) => {}
                }
            }
        }
        let mut out = (vec![], vec![], vec![], vec![]);
        for c in self.chains.values() {
            for r in &c.rules {
                walk(&r.conds, &mut out);
                if let Action::Vmap(entries) = &r.action {
                    for e in entries {
                        walk(&e.key, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Check jump targets exist and the chain graph has no loop.
    pub fn validate(&self) -> Result<(), String> {
        fn visit(fw: &Firewall, c: &str, stack: &mut Vec<String>) -> Result<(), String> {
            if stack.iter().any(|s| s == c) {
                return Err(format!("chain loop: {} -> {c}", stack.join(" -> ")));
            }
            let chain = fw
                .chains
                .get(c)
                .ok_or_else(|| format!("jump to unknown chain '{c}'"))?;
            stack.push(c.to_owned());
            for r in &chain.rules {
                let targets: Vec<&Action> = match &r.action {
                    Action::Vmap(entries) => entries.iter().map(|e| &e.action).collect(),
                    a => vec![a],
                };
                for a in targets {
                    if let Action::Jump(t) | Action::Goto(t) = a {
                        visit(fw, t, stack).map_err(|e| format!("{}: {e}", r.id))?;
                    }
                }
            }
            stack.pop();
            Ok(())
        }
        for b in &self.bases {
            visit(self, b, &mut Vec::new())?;
        }
        Ok(())
    }
}

pub fn proto_number(s: &str) -> Option<u8> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" | "ipv6-icmp" | "icmp6" => 58,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "sctp" => 132,
        n => return n.parse().ok(),
    })
}

pub fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        n => format!("proto {n}"),
    }
}
