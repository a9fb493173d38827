//! Address and port sets as sorted, merged, inclusive intervals. IPv4 addresses live in the
//! IPv4-mapped IPv6 range (`::ffff:a.b.c.d`), so one `u128` line holds both families.

use serde::Serialize;
use std::net::IpAddr;

pub const V4_BASE: u128 = 0xffff_0000_0000;
pub const V4_ALL: (u128, u128) = (V4_BASE, V4_BASE + 0xffff_ffff);
pub const PORTS_ALL: (u128, u128) = (0, 65535);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn universe(self) -> Set {
        match self {
            Family::V4 => Set::from_ranges(vec![V4_ALL]),
            Family::V6 => Set::from_ranges(vec![(0, V4_BASE - 1), (V4_ALL.1 + 1, u128::MAX)]),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Set(pub Vec<(u128, u128)>);

impl Set {
    pub fn all() -> Set {
        Set(vec![(0, u128::MAX)])
    }
    pub fn ports_all() -> Set {
        Set(vec![PORTS_ALL])
    }
    pub fn from_ranges(mut v: Vec<(u128, u128)>) -> Set {
        v.retain(|(a, b)| a <= b);
        v.sort();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(l) if a <= l.1.saturating_add(1) => l.1 = l.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Set(out)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn contains(&self, x: u128) -> bool {
        let i = self.0.partition_point(|(_, hi)| *hi < x);
        self.0.get(i).is_some_and(|(lo, _)| *lo <= x)
    }
    pub fn union(&self, o: &Set) -> Set {
        Set::from_ranges(self.0.iter().chain(&o.0).copied().collect())
    }
    /// `universe` minus `self`.
    pub fn complement_in(&self, universe: &Set) -> Set {
        let mut out = Vec::new();
        for &(ulo, uhi) in &universe.0 {
            let mut cur = ulo;
            let mut done = false;
            for &(lo, hi) in &self.0 {
                if hi < cur || lo > uhi {
                    continue;
                }
                if lo > cur {
                    out.push((cur, lo - 1));
                }
                if hi >= uhi {
                    done = true;
                    break;
                }
                cur = hi + 1;
            }
            if !done {
                out.push((cur, uhi));
            }
        }
        Set::from_ranges(out)
    }
    /// Interval starts: every `lo` and `hi + 1`.
    pub fn boundaries(&self, out: &mut Vec<u128>) {
        for &(lo, hi) in &self.0 {
            out.push(lo);
            if hi < u128::MAX {
                out.push(hi + 1);
            }
        }
    }
    /// The number of addresses (saturating), to pick the most specific zone.
    pub fn size(&self) -> u128 {
        self.0
            .iter()
            .fold(0u128, |s, (a, b)| s.saturating_add(b - a).saturating_add(1))
    }
    pub fn fmt_ports(&self) -> String {
        if *self == Set::ports_all() {
            return "any".into();
        }
        self.0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => V4_BASE | u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

pub fn u128_to_ip(x: u128) -> IpAddr {
    if (V4_ALL.0..=V4_ALL.1).contains(&x) {
        IpAddr::V4(std::net::Ipv4Addr::from((x - V4_BASE) as u32))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(x))
    }
}

pub fn parse_ip(s: &str) -> Option<u128> {
    s.trim().parse::<IpAddr>().ok().map(ip_to_u128)
}

/// `10.0.0.0/8`, `10.0.0.1`, `10.0.0.1-10.0.0.9`, `fd00::/64`.
pub fn parse_range(s: &str) -> Option<(u128, u128)> {
    let s = s.trim();
    if let Some((a, len)) = s.split_once('/') {
        let ip: IpAddr = a.trim().parse().ok()?;
        let len: u32 = len.trim().parse().ok()?;
        return prefix(ip, len);
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (parse_ip(a)?, parse_ip(b)?);
        return (a <= b).then_some((a, b));
    }
    let x = parse_ip(s)?;
    Some((x, x))
}

pub fn prefix(ip: IpAddr, len: u32) -> Option<(u128, u128)> {
    let (bits, base) = match ip {
        IpAddr::V4(_) => (32, V4_BASE),
        IpAddr::V6(_) => (128, 0),
    };
    if len > bits {
        return None;
    }
    let x = ip_to_u128(ip) - base;
    // The low `bits - len` bits: none for a full-length prefix, all 128 for `::/0` (a shift by
    // the width of the type, which `1 << 128` would be, is no number).
    let host = u128::MAX.checked_shr(128 - bits + len).unwrap_or(0);
    let lo = x & !host;
    Some((base + lo, base + (lo | host)))
}

pub fn family_of(x: u128) -> Family {
    if (V4_ALL.0..=V4_ALL.1).contains(&x) {
        Family::V4
    } else {
        Family::V6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_sets() {
        let (lo, hi) = parse_range("10.1.2.3/16").unwrap();
        assert_eq!(u128_to_ip(lo).to_string(), "10.1.0.0");
        assert_eq!(u128_to_ip(hi).to_string(), "10.1.255.255");
        assert!(parse_range("10.0.0.0/33").is_none());
        let s = Set::from_ranges(vec![(5, 10), (11, 12), (20, 30)]);
        assert_eq!(s.0, vec![(5, 12), (20, 30)]);
        assert!(s.contains(12) && !s.contains(13) && s.contains(20));
        let c = s.complement_in(&Set(vec![(0, 40)]));
        assert_eq!(c.0, vec![(0, 4), (13, 19), (31, 40)]);
        assert_eq!(
            Set::from_ranges(vec![(0, 79), (81, 65535)])
                .complement_in(&Set::ports_all())
                .fmt_ports(),
            "80"
        );
        let v6 = parse_range("fd00::/64").unwrap();
        assert_eq!(family_of(v6.0), Family::V6);
    }

    /// Found by the `net_zones` fuzz target: a zero-length prefix shifted a 128-bit one by 128
    /// (a panic with overflow checks, and `::/0` read as the single address `::` without).
    #[test]
    fn zero_length_prefixes_cover_their_whole_family() {
        assert_eq!(parse_range("::/0"), Some((0, u128::MAX)));
        assert_eq!(parse_range("0.0.0.0/0"), Some(V4_ALL));
        assert_eq!(parse_range("10.1.2.3/32"), parse_range("10.1.2.3"));
        assert_eq!(parse_range("fd00::1/128"), parse_range("fd00::1"));
        let (lo, hi) = parse_range("fd00::/1").unwrap();
        assert_eq!((lo, hi), (1 << 127, u128::MAX));
    }
}
