//! Normalising software names and vendors so that an inventory's name meets NVD's CPE.
//!
//! **The rule** ([`normalise`]), applied to both sides (the inventory's name or publisher, and
//! the CPE's vendor and product): lower case; an architecture suffix (`:amd64`, `:i386`, `:all`...)
//! dropped; parenthesised parts dropped (`(x64 fr)`, `(64-bit)`); words that are versions
//! (a digit first and a dot: `23.01`) dropped; spaces, dashes and underscores become one `_`.
//! So `Mozilla Firefox (x64 fr)` → `mozilla_firefox`, `7-Zip 23.01 (x64)` → `7_zip`, CPE
//! `git-scm:git` → `git_scm`, `git`. A publisher also loses a company suffix (`Inc.`, `Corporation`,
//! `GmbH`, `Ltd`, `LLC`, `S.A.`...).
//!
//! Then the versioned alias table (`data/aliases.toml`, each entry with its sources) maps the
//! names inventories use (Debian package names such as `libssl3`, Windows' "Programs and
//! Features" names) and publishers to NVD's `vendor:product`.

use serde::Deserialize;
use std::collections::HashMap;

const ARCH: [&str; 8] = [
    ":amd64", ":i386", ":arm64", ":armhf", ":all", ":x86_64", ":armel", ":ppc64el",
];
const COMPANY: [&str; 12] = [
    "inc",
    "inc.",
    "corporation",
    "corp",
    "corp.",
    "gmbh",
    "ltd",
    "ltd.",
    "llc",
    "s.a.",
    "sa",
    "co.",
];

/// The normalised form of a name (see the module docs).
pub fn normalise(name: &str) -> String {
    let mut s = name.trim().to_lowercase();
    for a in ARCH {
        if let Some(stripped) = s.strip_suffix(a) {
            s = stripped.to_owned();
            break;
        }
    }
    // Drop parenthesised parts.
    let mut flat = String::with_capacity(s.len());
    let mut depth = 0u32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => flat.push(c),
            _ => {}
        }
    }
    let words = flat
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_' || c == ',')
        .filter(|w| !w.is_empty())
        .filter(|w| !(w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.')));
    let mut out = String::with_capacity(flat.len());
    for w in words {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(w);
    }
    out
}

/// The normalised form of a publisher: [`normalise`] without a trailing company suffix.
pub fn normalise_vendor(vendor: &str) -> String {
    let n = normalise(vendor);
    let mut words: Vec<&str> = n.split('_').collect();
    while words.len() > 1 && words.last().is_some_and(|w| COMPANY.contains(w)) {
        words.pop();
    }
    words.join("_")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasFile {
    version: u32,
    #[serde(default)]
    vendor: Vec<AliasEntry>,
    #[serde(default)]
    product: Vec<AliasEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasEntry {
    names: Vec<String>,
    cpe: String,
}

/// The alias table: normalised inventory name → normalised (vendor, product), and normalised
/// publisher → normalised CPE vendor.
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    pub version: u32,
    products: HashMap<String, (String, String)>,
    vendors: HashMap<String, String>,
}

const BUNDLED: &str = include_str!("../data/aliases.toml");

impl Aliases {
    /// The table shipped with Hygie (`data/aliases.toml`).
    pub fn bundled() -> Result<Aliases, String> {
        Aliases::parse("data/aliases.toml", BUNDLED)
    }

    /// Read a table in the bundled file's format; errors name the file.
    pub fn parse(file: &str, text: &str) -> Result<Aliases, String> {
        let f: AliasFile = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        let mut a = Aliases {
            version: f.version,
            ..Aliases::default()
        };
        for e in f.product {
            let (v, p) = e
                .cpe
                .split_once(':')
                .ok_or_else(|| format!("{file}: cpe '{}' is not vendor:product", e.cpe))?;
            for n in e.names {
                a.products
                    .insert(normalise(&n), (normalise(v), normalise(p)));
            }
        }
        for e in f.vendor {
            for n in e.names {
                a.vendors.insert(normalise_vendor(&n), normalise(&e.cpe));
            }
        }
        Ok(a)
    }

    /// The CPE (normalised vendor, product) an inventory name stands for.
    pub fn product(&self, normalised_name: &str) -> Option<&(String, String)> {
        self.products.get(normalised_name)
    }

    /// The CPE vendor a normalised publisher stands for (itself when the table has no entry).
    pub fn vendor<'a>(&'a self, normalised_vendor: &'a str) -> &'a str {
        self.vendors
            .get(normalised_vendor)
            .map_or(normalised_vendor, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        for (raw, n) in [
            ("Mozilla Firefox (x64 fr)", "mozilla_firefox"),
            ("7-Zip 23.01 (x64)", "7_zip"),
            ("libssl3:amd64", "libssl3"),
            ("git-scm", "git_scm"),
            ("http_server", "http_server"),
            ("  Apache  HTTP Server ", "apache_http_server"),
            ("python3.11", "python3.11"),
            ("node.js", "node.js"),
            ("Notepad++", "notepad++"),
        ] {
            assert_eq!(normalise(raw), n, "{raw}");
        }
        assert_eq!(normalise_vendor("Microsoft Corporation"), "microsoft");
        assert_eq!(normalise_vendor("Google LLC"), "google");
        assert_eq!(normalise_vendor("Inc"), "inc");
    }

    #[test]
    fn bundled_table_loads_and_maps() {
        let a = Aliases::bundled().unwrap();
        assert_eq!(a.version, 1);
        assert_eq!(
            a.product("libssl3"),
            Some(&("openssl".to_owned(), "openssl".to_owned()))
        );
        assert_eq!(
            a.product(&normalise("Mozilla Firefox (x64 en-US)")),
            Some(&("mozilla".to_owned(), "firefox".to_owned()))
        );
        assert_eq!(a.vendor(&normalise_vendor("Igor Pavlov")), "7_zip");
        assert_eq!(a.vendor("debian"), "debian");
        assert!(
            Aliases::parse(
                "x.toml",
                "version = 1\n[[product]]\nnames=['a']\ncpe='ab'\n"
            )
            .is_err()
        );
    }
}
