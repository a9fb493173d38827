//! The zone reachability matrix. Addresses and ports are cut into atoms at every boundary a zone
//! or a rule mentions, so every packet of an atom meets the same rules: evaluating one
//! representative per atom (first match, jumps, chain policies) is exact.

use super::addr::Set;
use super::firewall::{Firewall, Known, Packet, Verdict};
use super::model::ZoneModel;
use serde::Serialize;

/// Allowed traffic from one source atom to one destination atom, for one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub src: (u128, u128),
    pub dst: (u128, u128),
    pub from: usize,
    pub to: usize,
    pub proto: u8,
    /// Destination ports allowed (TCP/UDP/SCTP); the full range for other protocols.
    pub ports: Set,
    /// The rules (or policies) that allow it.
    pub by: Vec<String>,
}

fn atoms(zones: &ZoneModel, sets: &[&Set]) -> Vec<(u128, u128, usize)> {
    // The IPv4 range is always cut out, so an atom never mixes families.
    let mut b: Vec<u128> = vec![0, super::addr::V4_ALL.0, super::addr::V4_ALL.1 + 1];
    for z in &zones.zones {
        z.set.boundaries(&mut b);
    }
    for s in sets {
        s.boundaries(&mut b);
    }
    b.sort_unstable();
    b.dedup();
    let mut out = Vec::with_capacity(b.len());
    for (i, lo) in b.iter().enumerate() {
        let hi = b.get(i + 1).map_or(u128::MAX, |n| n - 1);
        if let Some(z) = zones.zone_of(*lo) {
            out.push((*lo, hi, z));
        }
    }
    out
}

/// Port ranges grouped by the rules that allow them.
type PortGroups = Vec<(Vec<String>, Vec<(u128, u128)>)>;
/// Per zone pair: allowed ports per protocol, and the allowing rules.
type PairServices =
    std::collections::BTreeMap<(usize, usize), (std::collections::BTreeMap<u8, Set>, Vec<String>)>;

pub const PORTED: [u8; 3] = [6, 17, 132];

/// Every protocol the analysis considers: TCP, UDP, ICMP, those the rules name, and one other.
pub fn protocols(fw: &Firewall) -> Vec<u8> {
    let mut p = vec![6, 17, 1];
    p.extend(fw.sets().3);
    p.sort_unstable();
    p.dedup();
    if let Some(other) = (200u8..=253).find(|x| !p.contains(x)) {
        p.push(other);
    }
    p
}

/// Port atoms: the port space cut at every boundary the given port sets mention.
fn port_atoms(port_sets: &[&Set]) -> Vec<(u128, u128)> {
    let mut pb: Vec<u128> = vec![0];
    for s in port_sets {
        s.boundaries(&mut pb);
    }
    pb.retain(|x| *x <= 65535);
    pb.sort_unstable();
    pb.dedup();
    pb.iter()
        .enumerate()
        .map(|(i, lo)| (*lo, pb.get(i + 1).map_or(65535, |n| n - 1)))
        .collect()
}

/// Compute every allowed cell between distinct zones. The firewall is specialised for each
/// source atom, then for each destination atom, so the port loop only sees the rules (and port
/// boundaries) that can still match that pair.
pub fn cells(zones: &ZoneModel, fw: &Firewall) -> Vec<Cell> {
    let (src_sets, dst_sets, _, _) = fw.sets();
    let src_atoms = atoms(zones, &src_sets);
    let dst_atoms = atoms(zones, &dst_sets);
    let protos = protocols(fw);
    let mut out = Vec::new();
    for &(slo, shi, zs) in &src_atoms {
        let iif = zones.zones[zs].interfaces.first().map(String::as_str);
        let fw_s = fw.specialize(&Known {
            src: Some(slo),
            iif: Some(iif),
            ..Known::default()
        });
        for &(dlo, dhi, zd) in &dst_atoms {
            if zs == zd || super::addr::family_of(slo) != super::addr::family_of(dlo) {
                continue;
            }
            let oif = zones.zones[zd].interfaces.first().map(String::as_str);
            let fw_d = fw_s.specialize(&Known {
                dst: Some(dlo),
                oif: Some(oif),
                ..Known::default()
            });
            let port_atoms = port_atoms(&fw_d.sets().2);
            for &proto in &protos {
                // The cell of this (source atom, destination atom, protocol) allowing `ports`.
                let cell = |ports, by| Cell {
                    src: (slo, shi),
                    dst: (dlo, dhi),
                    from: zs,
                    to: zd,
                    proto,
                    ports,
                    by,
                };
                let mut pkt = Packet {
                    src: slo,
                    dst: dlo,
                    proto,
                    dport: None,
                    iif,
                    oif,
                };
                if PORTED.contains(&proto) {
                    // Merge consecutive port atoms allowed by the same rules.
                    let mut groups: PortGroups = Vec::new();
                    for &(plo, phi) in &port_atoms {
                        pkt.dport = u16::try_from(plo).ok();
                        let d = fw_d.decide(&pkt);
                        if d.verdict == Verdict::Accept {
                            match groups.iter_mut().find(|(by, _)| *by == d.by) {
                                Some((_, r)) => r.push((plo, phi)),
                                None => groups.push((d.by, vec![(plo, phi)])),
                            }
                        }
                    }
                    for (by, r) in groups {
                        out.push(cell(Set::from_ranges(r), by));
                    }
                } else {
                    let d = fw_d.decide(&pkt);
                    if d.verdict == Verdict::Accept {
                        out.push(cell(Set::ports_all(), d.by));
                    }
                }
            }
        }
    }
    out
}

/// Allowed traffic between two zones, summed over their atoms.
#[derive(Debug, Clone, Serialize)]
pub struct ZonePath {
    pub from: String,
    pub to: String,
    /// `tcp/104`, `udp/53`, `icmp`, `any` ...
    pub services: Vec<String>,
    pub by: Vec<String>,
}

pub fn matrix(zones: &ZoneModel, fw: &Firewall, cells: &[Cell]) -> Vec<ZonePath> {
    let all = protocols(fw);
    let mut out: Vec<ZonePath> = Vec::new();
    let mut keyed: PairServices = Default::default();
    for c in cells {
        let e = keyed.entry((c.from, c.to)).or_default();
        let s = e.0.entry(c.proto).or_default();
        *s = s.union(&c.ports);
        for b in &c.by {
            if !e.1.contains(b) {
                e.1.push(b.clone());
            }
        }
    }
    for ((a, b), (protos, by)) in keyed {
        out.push(ZonePath {
            from: zones.zones[a].name.clone(),
            to: zones.zones[b].name.clone(),
            services: services(&protos, &all),
            by,
        });
    }
    out
}

/// `tcp/443`, `udp/53`, `icmp`...; `any` when every protocol and port is allowed.
pub fn services(protos: &std::collections::BTreeMap<u8, Set>, all: &[u8]) -> Vec<String> {
    if all
        .iter()
        .all(|p| protos.get(p).is_some_and(|s| *s == Set::ports_all()))
    {
        return vec!["any".into()];
    }
    protos
        .iter()
        .map(|(p, s)| {
            if PORTED.contains(p) {
                format!("{}/{}", super::firewall::proto_name(*p), s.fmt_ports())
            } else {
                super::firewall::proto_name(*p)
            }
        })
        .collect()
}
