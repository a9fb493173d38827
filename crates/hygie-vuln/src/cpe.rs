//! CPE 2.3 formatted strings (NISTIR 7695 §6.2): `cpe:2.3:part:vendor:product:version:update:
//! edition:language:sw_edition:target_sw:target_hw:other`. Only what matching reads is kept:
//! part, vendor, product, version and update, unescaped (`\.` → `.`, `\:` → `:`), lower case.

use serde::{Deserialize, Serialize};

/// One CPE name, as matching reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cpe {
    /// `a` (application), `o` (operating system), `h` (hardware).
    pub part: char,
    pub vendor: String,
    pub product: String,
    /// `*` (any), `-` (not applicable) or a version.
    pub version: String,
    pub update: String,
}

impl Cpe {
    /// Parse a CPE 2.3 formatted string; `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<Cpe, String> {
        let fields = split(s);
        if fields.len() != 13 || fields[0] != "cpe" || fields[1] != "2.3" {
            return Err(format!(
                "'{s}' is not a CPE 2.3 name (cpe:2.3: and 11 fields)"
            ));
        }
        let part = match fields[2].as_str() {
            "a" => 'a',
            "o" => 'o',
            "h" => 'h',
            other => return Err(format!("'{s}': part '{other}' is not a, o or h")),
        };
        if fields[3].is_empty() || fields[4].is_empty() {
            return Err(format!("'{s}': empty vendor or product"));
        }
        let mut it = fields.into_iter().skip(3);
        let mut next = || it.next().unwrap_or_default();
        Ok(Cpe {
            part,
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
        })
    }

    /// `vendor:product`, the key matching uses.
    pub fn key(&self) -> String {
        format!("{}:{}", self.vendor, self.product)
    }

    /// A version that names every version (`*`, or `-` "not applicable").
    pub fn any_version(&self) -> bool {
        self.version == "*" || self.version == "-"
    }
}

/// Split on unescaped `:` and unescape each field, lower case.
fn split(s: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(13);
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n.to_ascii_lowercase());
                }
            }
            ':' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c.to_ascii_lowercase()),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes() {
        let c = Cpe::parse("cpe:2.3:a:nodejs:node.js:18.0.0:*:*:*:*:*:*:*").unwrap();
        assert_eq!(
            (c.vendor.as_str(), c.product.as_str()),
            ("nodejs", "node.js")
        );
        let c = Cpe::parse(r"cpe:2.3:a:microsoft:.net_framework:4\.8:-:*:*:*:*:*:*").unwrap();
        assert_eq!(c.version, "4.8");
        assert_eq!(c.update, "-");
        let c = Cpe::parse(r"cpe:2.3:o:Cisco:IOS\:XE:*:*:*:*:*:*:*:*").unwrap();
        assert_eq!(c.key(), "cisco:ios:xe");
        assert!(c.any_version());
        assert!(Cpe::parse("cpe:/a:openssl:openssl:1.0").is_err());
        assert!(Cpe::parse("cpe:2.3:x:a:b:*:*:*:*:*:*:*:*").is_err());
        assert!(Cpe::parse("cpe:2.3:a:a:b:*").is_err());
    }
}
