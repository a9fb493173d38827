//! Comparing an inventoried version with the bounds of a CPE range.
//!
//! **The rule.** Inventories report packaging versions (Debian's `[epoch:]upstream[-revision]`,
//! `1:2.3.4-1+deb12u1`); NVD ranges speak upstream versions (`2.3.4`). A version is first reduced
//! to its upstream part ([`upstream`]): the epoch (`1:`) is dropped, the Debian revision (the part
//! after the last `-` when it starts with a digit: `-1+deb12u1`, `-0ubuntu1`) is dropped, and so
//! is a repack suffix after `+` (`+dfsg`, `+ds1`, `+really`). A `~` (Debian's "before") becomes a
//! separator, so `1.0~rc1` reads as `1.0rc1`, a pre-release. Then both sides are split into runs
//! of digits and runs of letters ([`compare`]): numbers compare as numbers, words as lower-case
//! words, a number is newer than a word (`1.0.1` > `1.0.beta`), a missing run equals `0`, and a
//! missing run is newer than a pre-release word (`alpha`, `beta`, `dev`, `pre`, `preview`, `rc`)
//! but older than any other word (`1.1.1n` > `1.1.1`, OpenSSL's letter releases).
//!
//! **What it cannot see**: distributions backport security fixes without changing the upstream
//! version (Debian's `1.1.1n-0+deb11u5` is patched against CVEs after 1.1.1n). A match on a
//! distribution package therefore means "the upstream version is in the vulnerable range"; the
//! distribution's security tracker confirms it. The matches say so
//! ([`crate::matching::VulnMatch::packaged`]).

use std::cmp::Ordering;

/// The upstream part of a packaging version (see the module docs): `1:2.3.4-1+deb12u1` → `2.3.4`.
pub fn upstream(version: &str) -> &str {
    let mut v = version.trim();
    if let Some((epoch, rest)) = v.split_once(':')
        && !epoch.is_empty()
        && epoch.bytes().all(|b| b.is_ascii_digit())
    {
        v = rest;
    }
    if let Some(i) = v.rfind('-')
        && v[i + 1..].starts_with(|c: char| c.is_ascii_digit())
        && i > 0
    {
        v = &v[..i];
    }
    if let Some(i) = v.find('+')
        && i > 0
    {
        v = &v[..i];
    }
    v
}

/// Whether `version` carries a packaging revision (a distribution's package, not the upstream
/// release itself).
pub fn is_packaged(version: &str) -> bool {
    upstream(version).len() != version.trim().len()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Run<'a> {
    Num(std::borrow::Cow<'a, str>),
    Word(String),
}

const PRE_RELEASE: [&str; 6] = ["alpha", "beta", "dev", "pre", "preview", "rc"];

fn runs(v: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            let s = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let n = v[s..i].trim_start_matches('0');
            out.push(Run::Num(std::borrow::Cow::Borrowed(if n.is_empty() {
                "0"
            } else {
                n
            })));
        } else if b.is_ascii_alphabetic() {
            let s = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Run::Word(v[s..i].to_ascii_lowercase()));
        } else {
            i += 1;
        }
    }
    out
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A version parsed once (its upstream part's runs), for comparing against many bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed(Vec<Run<'static>>);

impl Parsed {
    pub fn new(version: &str) -> Parsed {
        Parsed(
            runs(upstream(version))
                .into_iter()
                .map(|r| match r {
                    Run::Num(n) => Run::Num(std::borrow::Cow::Owned(n.into_owned())),
                    Run::Word(w) => Run::Word(w),
                })
                .collect(),
        )
    }

    /// [`compare`] of two parsed versions.
    pub fn cmp_to(&self, other: &Parsed) -> Ordering {
        cmp_runs(&self.0, &other.0)
    }
}

/// Compare two versions by the module's rule, after reducing both to their upstream part.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (runs(upstream(a)), runs(upstream(b)));
    cmp_runs(&ra, &rb)
}

fn cmp_runs(ra: &[Run<'_>], rb: &[Run<'_>]) -> Ordering {
    let n = ra.len().max(rb.len());
    for i in 0..n {
        let o = match (ra.get(i), rb.get(i)) {
            (Some(Run::Num(x)), Some(Run::Num(y))) => cmp_num(x, y),
            (Some(Run::Word(x)), Some(Run::Word(y))) => x.cmp(y),
            (Some(Run::Num(_)), Some(Run::Word(_))) => Ordering::Greater,
            (Some(Run::Word(_)), Some(Run::Num(_))) => Ordering::Less,
            (Some(x), None) => missing_vs(x).reverse(),
            (None, Some(y)) => missing_vs(y),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A missing run against `r`.
fn missing_vs(r: &Run<'_>) -> Ordering {
    match r {
        Run::Num(n) if n == "0" => Ordering::Equal,
        Run::Num(_) => Ordering::Less,
        Run::Word(w) if PRE_RELEASE.contains(&w.as_str()) => Ordering::Greater,
        Run::Word(_) => Ordering::Less,
    }
}

/// Whether `version` has any digit (something [`compare`] can order).
pub fn comparable(version: &str) -> bool {
    upstream(version).bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn upstream_part_of_packaging_versions() {
        assert_eq!(upstream("1:2.3.4-1+deb12u1"), "2.3.4");
        assert_eq!(upstream("7.88.1-10+deb12u5"), "7.88.1");
        assert_eq!(upstream("3.0.15-1~deb12u1"), "3.0.15");
        assert_eq!(upstream("2.3.4+dfsg-2"), "2.3.4");
        assert_eq!(upstream("2.0-rc1"), "2.0-rc1");
        assert_eq!(upstream("10.0.19045.1234"), "10.0.19045.1234");
        assert!(is_packaged("1.1.1n-0+deb11u5"));
        assert!(!is_packaged("1.1.1n"));
    }

    #[test]
    fn ordering_table() {
        for (a, b, o) in [
            ("1.2.3", "1.2.3", Equal),
            ("1.2", "1.2.0", Equal),
            ("1.10", "1.9", Greater),
            ("1.1.1n", "1.1.1", Greater),
            ("1.1.1n", "1.1.1o", Less),
            ("2.0rc1", "2.0", Less),
            ("1.0~rc1-1", "1.0", Less),
            ("2.0-beta2", "2.0-beta10", Less),
            ("1:2.3.4-1+deb12u1", "2.3.5", Less),
            ("1:2.3.4-1+deb12u1", "2.3.4", Equal),
            ("3.0.15-1~deb12u1", "3.0.14", Greater),
            ("0010.2", "10.2", Equal),
            ("123456789012345678901", "9", Greater),
            ("1.0.1", "1.0.beta", Greater),
        ] {
            assert_eq!(compare(a, b), o, "{a} vs {b}");
            assert_eq!(compare(b, a), o.reverse(), "{b} vs {a}");
        }
        assert!(!comparable("unknown"));
        assert!(comparable("v2"));
    }
}
