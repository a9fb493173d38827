//! Who is at the other end: the client address that throttling and logs count against.
//!
//! The peer of the TCP connection is the client, unless it is a trusted reverse proxy
//! (`hygie serve --trusted-proxy ADDR/CIDR`, `Config::trusted_proxies`): then the client is the
//! rightmost address of `X-Forwarded-For` that is not itself a trusted proxy. Each proxy appends
//! the address it received the request from, so the entries right of the first untrusted one were
//! written by trusted proxies, and everything left of it may be made up by the client. From any
//! other peer the header is ignored: anyone can send it.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};

/// An address block, `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `ADDR` or `ADDR/PREFIX`; host bits set under the prefix are refused, since they
    /// usually mean a typing mistake (`10.0.0.1/8`).
    pub fn parse(s: &str) -> Result<Cidr, hygie_core::InvalidValue> {
        let bad = |why: &str| {
            hygie_core::InvalidValue::new(
                "trusted proxy",
                format!(
                    "'{s}' {why}: write an address or a block such as 10.0.0.0/8 / '{s}' : adresse ou bloc attendu, par exemple 10.0.0.0/8"
                ),
            )
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad("is not an IP address"))?;
        let net = net.to_canonical();
        let bits = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| bad("has a wrong prefix length"))?,
            None => bits,
        };
        let c = Cidr { net, prefix };
        if c.masked(net) != net {
            return Err(bad("has host bits set under its prefix"));
        }
        Ok(c)
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }

    /// Whether `ip` is in this block (an IPv4 address written as IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.net.is_ipv4() && self.masked(ip) == self.net
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// The client of a request whose TCP peer is `peer`, given the trusted proxies.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    // Several headers are one list, in order (RFC 9110, 5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // What a trusted proxy wrote is an address; anything else comes from the client, so
            // the last address a trusted proxy vouched for is the best known.
            None => break,
        }
    }
    client
}

/// One entry of `X-Forwarded-For`: an address, possibly with a port (`192.0.2.7:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client address, when the server knows it (absent in in-process tests).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        st: &AppState,
    ) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(of(parts, st)))
    }
}

/// The client address of a request (see the module).
pub(crate) fn of(parts: &Parts, st: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(client_address(
        peer,
        &parts.headers,
        &st.config().trusted_proxies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().filter_map(|s| Cidr::parse(s).ok()).collect()
    }

    #[test]
    fn cidr_parse_and_contains() {
        let c = Cidr::parse("10.0.0.0/8");
        assert!(c.is_ok_and(|c| c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1"))));
        let one = Cidr::parse("192.0.2.7");
        assert!(one.is_ok_and(|c| c.contains(ip("192.0.2.7")) && !c.contains(ip("192.0.2.8"))));
        // An IPv4 peer seen through a dual-stack socket is the same address.
        let c = Cidr::parse("127.0.0.1/32");
        assert!(c.is_ok_and(|c| c.contains(ip("::ffff:127.0.0.1"))));
        let v6 = Cidr::parse("2001:db8::/32");
        assert!(v6.is_ok_and(|c| c.contains(ip("2001:db8:1::5")) && !c.contains(ip("10.0.0.1"))));
        assert!(Cidr::parse("0.0.0.0/0").is_ok_and(|c| c.contains(ip("203.0.113.9"))));
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "proxy.local", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let h = forwarded(&["198.51.100.1"]);
        // A direct client cannot choose its address.
        assert_eq!(
            client_address(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_address(ip("10.0.0.2"), &h, &[]), ip("10.0.0.2"));
        // Through the proxy: the address the proxy saw.
        assert_eq!(
            client_address(ip("10.0.0.2"), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn forwarded_for_takes_the_rightmost_untrusted_hop() {
        let trusted = cidrs(&["10.0.0.0/8", "192.0.2.1"]);
        // The client made up the first entry; two trusted proxies appended the rest.
        let h = forwarded(&["1.1.1.1, 198.51.100.7", "10.9.9.9"]);
        assert_eq!(
            client_address(ip("192.0.2.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // Ports and IPv4-mapped IPv6 addresses, as some proxies write them.
        let h = forwarded(&["[2001:db8::5]:4711, 198.51.100.8:80"]);
        assert_eq!(
            client_address(ip("::ffff:10.0.0.2"), &h, &trusted),
            ip("198.51.100.8")
        );
        // Garbage where an address should be: the last address a trusted proxy vouched for.
        let h = forwarded(&["198.51.100.7, unknown, 10.1.1.1"]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &trusted), ip("10.1.1.1"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        // Only trusted hops: the leftmost.
        let h = forwarded(&["10.3.3.3, 10.2.2.2"]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &trusted), ip("10.3.3.3"));
    }
}
