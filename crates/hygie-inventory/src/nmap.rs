//! nmap XML (`nmap -oX FILE`): one observation per `<host>` whose `<status state="up">`, with its
//! IPv4/IPv6 and MAC addresses (and the MAC vendor nmap knows), its names, its open ports and, with
//! `-O`, the best operating-system match and its device type (`osclass type`: "printer",
//! "router", "specialized", ...). The scan's time is the host's `starttime`, else the run's
//! `start`. Hosts that are down, and ports that are not `open`, are left out.

use crate::InventoryError;
use crate::model::{Category, Observation, OperatingSystem, Port, clean, normalise_mac};
use crate::xml::{Element, Visit, walk};

/// Read one nmap XML file: the hosts found up.
pub fn read(file: &str, bytes: &[u8]) -> Result<Vec<Observation>, InventoryError> {
    read_scan(file, bytes).map(|s| s.hosts)
}

/// One nmap scan: its hosts up and the address ranges it was asked to scan.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub hosts: Vec<Observation>,
    /// The targets of the command line (`nmaprun args`) that are a network or an address
    /// (`10.9.0.0/24`, `10.9.0.7`, `10.9.0.1-10.9.0.9`), as written; nmap's octet ranges
    /// (`10.9.0.1-50`) and host names are not kept. The IS map draws them as zones.
    pub targets: Vec<String>,
}

/// The targets of an nmap command line (`args`): every word that is an address range.
pub fn targets(args: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut words = args.split_whitespace().skip(1).peekable();
    while let Some(w) = words.next() {
        // Options taking a value: their value is not a target (`-p 22`, `-oX file`, `-iL list`).
        if w.starts_with('-') {
            let takes = matches!(
                w,
                "-p" | "-oX"
                    | "-oN"
                    | "-oG"
                    | "-oA"
                    | "-iL"
                    | "-e"
                    | "-S"
                    | "-D"
                    | "--exclude"
                    | "--top-ports"
                    | "-g"
                    | "--source-port"
                    | "--script"
                    | "--max-rate"
                    | "--min-rate"
                    | "-T"
            );
            if takes {
                words.next();
            }
            continue;
        }
        if hygie_collect::network::addr::parse_range(w).is_some() && !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}

/// Read one nmap XML file: the hosts found up and the scanned ranges.
pub fn read_scan(file: &str, bytes: &[u8]) -> Result<Scan, InventoryError> {
    let mut args = String::new();
    let mut out = Vec::new();
    let mut run_start: Option<jiff::Timestamp> = None;
    let mut host: Option<(Observation, bool, u32)> = None;
    let mut port: Option<(Port, bool)> = None;
    let mut root_ok = false;
    walk(file, bytes, |v| {
        match v {
            Visit::Open(s) => {
                let e = s.last().ok_or("empty stack")?;
                match (s.len(), e.name.as_str()) {
                    (1, "nmaprun") => {
                        root_ok = true;
                        run_start = epoch(e, "start")?;
                        args = e.attr("args").unwrap_or_default().to_owned();
                    }
                    (1, other) => {
                        return Err(format!(
                            "not an nmap XML scan: the root element is <{other}>, expected <nmaprun>"
                        ));
                    }
                    (2, "host") => {
                        let obs = Observation {
                            origin: format!("{file}:{}", e.line),
                            seen: epoch(e, "starttime")?.or(run_start),
                            ..Default::default()
                        };
                        host = Some((obs, false, 0));
                    }
                    (_, "status") if in_host(s) => {
                        if let Some(h) = host.as_mut() {
                            h.1 = e.attr("state") == Some("up");
                        }
                    }
                    (_, "address") if in_host(s) => {
                        if let Some((h, _, _)) = host.as_mut() {
                            address(e, h)?;
                        }
                    }
                    (_, "hostname") if in_host(s) => {
                        if let Some((h, _, _)) = host.as_mut()
                            && h.hostname.is_none()
                        {
                            h.hostname = e.attr("name").and_then(clean);
                        }
                    }
                    (_, "port") if in_host(s) => {
                        let n = e.attr("portid").ok_or("<port> without portid")?;
                        let n: u16 = n
                            .parse()
                            .map_err(|_| format!("<port>: portid '{n}' is not a port number"))?;
                        port = Some((
                            Port {
                                protocol: e.attr("protocol").unwrap_or("tcp").to_owned(),
                                port: n,
                                service: None,
                            },
                            false,
                        ));
                    }
                    (_, "state") if port.is_some() => {
                        if let Some(p) = port.as_mut() {
                            p.1 = e.attr("state") == Some("open");
                        }
                    }
                    (_, "service") if port.is_some() => {
                        if let Some(p) = port.as_mut() {
                            p.0.service = e.attr("name").and_then(clean);
                        }
                        if let (Some(t), Some((h, _, _))) = (e.attr("devicetype"), host.as_mut()) {
                            h.hints.push(t.to_lowercase());
                        }
                    }
                    (_, "osmatch") if in_host(s) => {
                        let acc: u32 = e.attr("accuracy").and_then(|a| a.parse().ok()).unwrap_or(0);
                        if let Some((h, _, best)) = host.as_mut()
                            && acc > *best
                        {
                            *best = acc;
                            h.os = e.attr("name").and_then(clean).map(|name| OperatingSystem {
                                name,
                                version: None,
                            });
                            h.category = None;
                        }
                    }
                    (_, "osclass") if in_host(s) => {
                        if let Some((h, _, _)) = host.as_mut()
                            && h.category.is_none()
                            && let Some(t) = e.attr("type")
                        {
                            h.category = device_type(t);
                            h.hints.push(t.to_lowercase());
                        }
                    }
                    _ => {}
                }
            }
            Visit::Close(s) => {
                let e = s.last().ok_or("empty stack")?;
                match e.name.as_str() {
                    "port" => {
                        if let (Some((p, true)), Some((h, _, _))) = (port.take(), host.as_mut()) {
                            h.ports.push(p);
                        }
                    }
                    "host" if s.len() == 2 => {
                        if let Some((mut h, true, _)) = host.take() {
                            h.ports.sort();
                            h.ports.dedup();
                            h.hints.sort();
                            h.hints.dedup();
                            out.push(h);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    })?;
    if !root_ok {
        return Err(InventoryError::at(file, None, "not an nmap XML scan"));
    }
    Ok(Scan {
        hosts: out,
        targets: targets(&args),
    })
}

fn in_host(s: &[Element]) -> bool {
    s.len() > 2 && s[1].name == "host"
}

fn epoch(e: &Element, attr: &str) -> Result<Option<jiff::Timestamp>, String> {
    match e.attr(attr) {
        None => Ok(None),
        Some(v) => {
            let n: i64 = v
                .parse()
                .map_err(|_| format!("<{}>: {attr} '{v}' is not a Unix time", e.name))?;
            jiff::Timestamp::from_second(n)
                .map(Some)
                .map_err(|err| format!("<{}>: {attr} '{v}': {err}", e.name))
        }
    }
}

fn address(e: &Element, h: &mut Observation) -> Result<(), String> {
    let addr = e.attr("addr").ok_or("<address> without addr")?;
    match e.attr("addrtype").unwrap_or("ipv4") {
        "mac" => {
            let m = normalise_mac(addr)
                .ok_or_else(|| format!("<address>: '{addr}' is not a MAC address"))?;
            h.macs.push(m);
            if let Some(v) = e.attr("vendor") {
                h.manufacturer = Some(v.to_owned());
                h.hints.push(v.to_lowercase());
            }
        }
        _ => {
            addr.parse::<std::net::IpAddr>()
                .map_err(|_| format!("<address>: '{addr}' is not an IP address"))?;
            h.ips.push(addr.to_owned());
        }
    }
    Ok(())
}

/// nmap's device types (nmap-os-db `Class` lines) to the register's categories.
fn device_type(t: &str) -> Option<Category> {
    let t = t.to_lowercase();
    Some(match t.as_str() {
        "general purpose" => return None,
        "printer" | "print server" => Category::Printer,
        "router" | "switch" | "firewall" | "broadband router" | "wap" | "load balancer"
        | "proxy server" | "bridge" | "hub" | "terminal server" => Category::Network,
        _ if t.contains("medical") => Category::Medical,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -oX - 10.9.0.0/24" start="1765056000" version="7.93">
<host starttime="1765056010" endtime="1765056020"><status state="up" reason="arp-response"/>
<address addr="10.9.0.2" addrtype="ipv4"/>
<address addr="02:AA:00:00:00:02" addrtype="mac" vendor="GE Healthcare"/>
<hostnames><hostname name="monitor-3.chu.local" type="PTR"/></hostnames>
<ports><port protocol="tcp" portid="22"><state state="open"/><service name="ssh"/></port>
<port protocol="tcp" portid="80"><state state="closed"/><service name="http"/></port></ports>
<os><osmatch name="HP LaserJet printer" accuracy="90"><osclass type="printer" vendor="HP"/></osmatch></os>
</host>
<host><status state="down"/><address addr="10.9.0.3" addrtype="ipv4"/></host>
<runstats><finished time="1765056030"/></runstats>
</nmaprun>"#;

    #[test]
    fn hosts_up_with_open_ports() {
        let h = read("scan.xml", SCAN.as_bytes()).unwrap();
        assert_eq!(h.len(), 1);
        let h = &h[0];
        assert_eq!(h.origin, "scan.xml:3");
        assert_eq!(h.ips, ["10.9.0.2"]);
        assert_eq!(h.macs, ["02:aa:00:00:00:02"]);
        assert_eq!(h.hostname.as_deref(), Some("monitor-3.chu.local"));
        assert_eq!(h.ports.len(), 1);
        assert_eq!(h.ports[0].port, 22);
        assert_eq!(h.category, Some(Category::Printer));
        assert!(h.hints.contains(&"ge healthcare".to_owned()));
        assert_eq!(h.seen, jiff::Timestamp::from_second(1765056010).ok());
        assert!(h.software.is_none());
    }

    #[test]
    fn scanned_ranges_from_the_command_line() {
        let s = read_scan("scan.xml", SCAN.as_bytes()).unwrap();
        assert_eq!(s.targets, ["10.9.0.0/24"]);
        assert_eq!(
            targets(
                "nmap -p 22 -oX out.xml 10.1.0.0/16 srv.chu.local 10.2.0.7 10.3.0.1-50 -iL 10.4.0.0/24"
            ),
            ["10.1.0.0/16", "10.2.0.7"]
        );
    }

    #[test]
    fn bad_scans_name_file_line_and_element() {
        let bad = SCAN.replace("portid=\"22\"", "portid=\"ssh\"");
        let e = read("s.xml", bad.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("s.xml:7:") && e.contains("<port>"), "{e}");
        let e = read("s.xml", &SCAN.as_bytes()[..400])
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = read("s.xml", b"<REQUEST/>").unwrap_err().to_string();
        assert!(e.contains("<nmaprun>"), "{e}");
    }
}
