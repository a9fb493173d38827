//! Observed flows: a CSV (`src`, `dst`, `dport`/`port`, optional `proto`) or a Zeek `conn.log`
//! (tab-separated with its `#fields` header, or JSON lines).

use super::addr::parse_ip;
use super::firewall::proto_number;
use crate::input::Table;
use crate::{CollectError, Result};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub dport: Option<u16>,
    /// `file:line`
    pub origin: String,
}

pub fn read(files: &dyn crate::Files, path: &Path) -> Result<Vec<Flow>> {
    let text = crate::input::read(files, path)?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.starts_with("#separator") || first.starts_with('{') {
        zeek(path, &text)
    } else {
        csv(&Table::parse(path, &text)?)
    }
}

fn csv(t: &Table) -> Result<Vec<Flow>> {
    t.require(&["src", "source", "id_orig_h"])?;
    t.require(&["dst", "destination", "id_resp_h"])?;
    let mut out = Vec::new();
    for row in &t.rows {
        let ip = |names: &[&str]| -> Result<u128> {
            let v = t.req(row, names)?;
            parse_ip(v).ok_or_else(|| t.error(row, format!("'{v}' is not an IP address")))
        };
        let proto = t.get(row, &["proto", "protocol"]).unwrap_or("tcp");
        let proto = proto_number(proto)
            .ok_or_else(|| t.error(row, format!("unknown protocol '{proto}'")))?;
        let dport = match t.get(row, &["dport", "port", "id_resp_p"]) {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| t.error(row, format!("'{p}' is not a port")))?,
            ),
        };
        out.push(Flow {
            src: ip(&["src", "source", "id_orig_h"])?,
            dst: ip(&["dst", "destination", "id_resp_h"])?,
            proto,
            dport,
            origin: format!("{}:{}", t.path.display(), row.line),
        });
    }
    Ok(out)
}

fn zeek(path: &Path, text: &str) -> Result<Vec<Flow>> {
    let mut fields: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let bad = |m: String| CollectError::at(path, Some(n), m);
        if line.trim().is_empty() {
            continue;
        }
        let (src, dst, proto, port): (String, String, String, String);
        if line.starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
            let s = |k: &str| match v.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(x) => x.to_string(),
                None => String::new(),
            };
            (src, dst, proto, port) = (s("id.orig_h"), s("id.resp_h"), s("proto"), s("id.resp_p"));
        } else if let Some(f) = line.strip_prefix("#fields") {
            fields = f
                .split('\t')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            continue;
        } else if line.starts_with('#') {
            continue;
        } else {
            if fields.is_empty() {
                return Err(bad("data before the #fields header".into()));
            }
            let vals: Vec<&str> = line.split('\t').collect();
            let g = |k: &str| {
                fields
                    .iter()
                    .position(|f| f == k)
                    .and_then(|i| vals.get(i))
                    .map(|s| (*s).to_owned())
                    .ok_or_else(|| bad(format!("no field {k}")))
            };
            (src, dst, proto, port) = (
                g("id.orig_h")?,
                g("id.resp_h")?,
                g("proto")?,
                g("id.resp_p")?,
            );
        }
        let proto_n =
            proto_number(&proto).ok_or_else(|| bad(format!("unknown protocol '{proto}'")))?;
        out.push(Flow {
            src: parse_ip(&src).ok_or_else(|| bad(format!("'{src}' is not an IP address")))?,
            dst: parse_ip(&dst).ok_or_else(|| bad(format!("'{dst}' is not an IP address")))?,
            proto: proto_n,
            dport: port.parse().ok(),
            origin: format!("{}:{n}", path.display()),
        });
    }
    Ok(out)
}
