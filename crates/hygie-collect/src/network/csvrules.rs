//! A generic CSV rule table, for firewalls without an nftables or iptables export: one rule per
//! line, first match wins, then the default verdict.
//!
//! Columns: `id` (optional), `src`, `dst` (`any`, addresses/CIDRs/ranges or zone names, separated
//! by spaces or `;`), `proto` (`tcp`, `udp`, `icmp`, `any`), `dport` (`any`, `443`, `80;443`,
//! `8000-8080`), `action` (`allow`/`accept`/`permit` or `deny`/`drop`/`reject`).

use super::addr::{Set, parse_range};
use super::firewall::{Action, Chain, Cond, Firewall, FwRule, Match, Verdict, proto_number};
use super::model::ZoneModel;
use crate::Result;
use crate::input::Table;

fn addrs(t: &Table, row: &crate::input::Row, v: &str, zones: &ZoneModel) -> Result<Option<Set>> {
    if v.eq_ignore_ascii_case("any") || v == "*" {
        return Ok(None);
    }
    let mut set = Set::default();
    for part in v.split([';', ' ', '|']).filter(|s| !s.is_empty()) {
        if let Some(z) = zones.by_name(part) {
            set = set.union(&zones.zones[z].set);
        } else {
            let r = parse_range(part).ok_or_else(|| {
                t.error(
                    row,
                    format!("'{part}' is neither an address, a CIDR nor a zone"),
                )
            })?;
            set = set.union(&Set(vec![r]));
        }
    }
    Ok(Some(set))
}

pub fn parse(t: &Table, zones: &ZoneModel, default: Verdict) -> Result<Firewall> {
    t.require(&["src", "source"])?;
    t.require(&["dst", "destination"])?;
    t.require(&["action"])?;
    let mut rules = Vec::new();
    for (i, row) in t.rows.iter().enumerate() {
        let id = match t.get(row, &["id", "name", "rule"]) {
            Some(n) => format!("csv rule {n} ({}:{})", t.path.display(), row.line),
            None => format!("csv rule #{} ({}:{})", i + 1, t.path.display(), row.line),
        };
        let mut conds = Vec::new();
        if let Some(s) = addrs(
            t,
            row,
            t.get(row, &["src", "source"]).unwrap_or("any"),
            zones,
        )? {
            conds.push(Cond::is(Match::Src(s)));
        }
        if let Some(s) = addrs(
            t,
            row,
            t.get(row, &["dst", "destination"]).unwrap_or("any"),
            zones,
        )? {
            conds.push(Cond::is(Match::Dst(s)));
        }
        let proto = t.get(row, &["proto", "protocol"]).unwrap_or("any");
        if !proto.eq_ignore_ascii_case("any") {
            let p = proto_number(proto)
                .ok_or_else(|| t.error(row, format!("unknown protocol '{proto}'")))?;
            conds.push(Cond::is(Match::Proto(vec![p])));
        }
        let dport = t
            .get(row, &["dport", "port", "ports", "service"])
            .unwrap_or("any");
        if !dport.eq_ignore_ascii_case("any") {
            let mut r = Vec::new();
            for p in dport.split([';', ',', ' ']).filter(|s| !s.is_empty()) {
                let (a, b) = p.split_once('-').unwrap_or((p, p));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) if a <= b => r.push((u128::from(a), u128::from(b))),
                    _ => return Err(t.error(row, format!("'{p}' is not a port or range"))),
                }
            }
            if proto.eq_ignore_ascii_case("any") {
                conds.push(Cond::is(Match::Proto(vec![6, 17, 132])));
            }
            conds.push(Cond::is(Match::Dport(Set::from_ranges(r))));
        }
        let action = t.req(row, &["action"])?;
        let v = match action.to_ascii_lowercase().as_str() {
            "allow" | "accept" | "permit" | "pass" => Verdict::Accept,
            "deny" | "drop" | "reject" | "block" => Verdict::Drop,
            _ => return Err(t.error(row, format!("action '{action}' is not allow or deny"))),
        };
        rules.push(FwRule {
            id,
            conds,
            action: Action::Verdict(v),
        });
    }
    let mut fw = Firewall {
        source: t.path.display().to_string(),
        ..Default::default()
    };
    fw.chains.insert(
        "csv".into(),
        Chain {
            rules,
            policy: Some(default),
            family: None,
        },
    );
    fw.bases.push("csv".into());
    Ok(fw)
}
