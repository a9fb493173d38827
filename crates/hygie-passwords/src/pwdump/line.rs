//! One line of a pwdump / secretsdump file: the fast path for the common account line and the
//! general parser that reads the same lines identically (a test checks both on every line
//! shape) and names the fault of a malformed one. The fast path finds the fields with `memchr`
//! and decodes the hashes by SWAR; an LM field equal to the empty LM hash's hex (as secretsdump
//! writes it) is recognised without decoding.

use crate::hash::{EMPTY_LM, NtHash, parse_hex16};

const KERBEROS_KEY_TYPES: &[&str] = &[
    "aes256-cts-hmac-sha1-96",
    "aes128-cts-hmac-sha1-96",
    "des-cbc-md5",
    "des-cbc-crc",
    "rc4_hmac",
    "dec-cbc-crc",
    "0x17",
    "0x12",
    "0x11",
    "0x3",
    "0x1",
];

/// Which hash a field holds.
enum Field {
    Hash([u8; 16]),
    Absent,
}

fn parse_hash_field(f: &str) -> Option<Field> {
    if f.starts_with("NO PASSWORD") && f.len() == 32 && f[11..].bytes().all(|b| b == b'*') {
        return Some(Field::Absent);
    }
    parse_hex16(f.as_bytes()).map(Field::Hash)
}

/// One parsed account or history line, borrowing from the text.
pub(super) struct Line<'a> {
    pub(super) domain: Option<&'a str>,
    pub(super) name: &'a str,
    pub(super) rid: u32,
    pub(super) lm_stored: bool,
    pub(super) nt: Option<NtHash>,
    pub(super) enabled: Option<bool>,
}

/// `EMPTY_LM` in hexadecimal, lower case.
pub(super) const EMPTY_LM_HEX: &[u8; 32] = b"aad3b435b51404eeaad3b435b51404ee";

/// The common account line — `[domain\\]user:rid:lm:nt:::` with a decimal RID, two hex hashes
/// and an optional secretsdump status — read without the general parser's searches and
/// splits. `None` sends the line to `parse_line`, which reads it the same way (a test checks
/// both on every line shape) and names the fault of a malformed one.
#[inline]
pub(super) fn fast_line(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    // Lines the general parser skips or trims start with one of these.
    if matches!(b.first(), None | Some(b'#' | b'[')) || b[0].is_ascii_whitespace() {
        return None;
    }
    let c1 = memchr::memchr(b':', b)?;
    let c2 = c1 + 1 + memchr::memchr(b':', &b[c1 + 1..])?;
    let rid_digits = &b[c1 + 1..c2];
    if rid_digits.is_empty() || rid_digits.len() > 10 || !rid_digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let rid = rid_digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let rid = u32::try_from(rid).ok()?;
    let fields = b.get(c2 + 1..c2 + 67)?;
    if fields[32] != b':' || fields[65] != b':' {
        return None;
    }
    // Nearly every dump has no LM hashes: the LM field is then the hex of the empty LM hash,
    // as secretsdump writes it (lower case), recognised without decoding it.
    let lm_stored = fields[..32] != *EMPTY_LM_HEX && parse_hex16(&fields[..32])? != EMPTY_LM;
    let nt = parse_hex16(&fields[33..65])?;
    let rest = &line[c2 + 67..];
    let enabled = match rest {
        "::" => None,
        ":: (status=Enabled)" => Some(true),
        ":: (status=Disabled)" => Some(false),
        _ => parse_rest(rest).ok()?,
    };
    let who = &line[..c1];
    let (domain, name) = match memchr::memrchr(b'\\', who.as_bytes()) {
        Some(i) => (Some(&who[..i]), &who[i + 1..]),
        None => (None, who),
    };
    if who.is_empty() || name.is_empty() {
        return None;
    }
    Some(Line {
        domain,
        name,
        rid,
        lm_stored,
        nt: Some(NtHash::from_bytes(nt)),
        enabled,
    })
}

/// Parse one line: `Ok(None)` for a line skipped on purpose, `Err(message)` if malformed.
pub(super) fn parse_line(raw: &str) -> Result<Option<Line<'_>>, String> {
    let line = raw.trim_end_matches('\r');
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    if ["[*]", "[+]", "[-]", "[!]"]
        .iter()
        .any(|p| trimmed.starts_with(p))
    {
        return Ok(None);
    }
    let mut parts = line.splitn(5, ':');
    let who = parts.next().unwrap_or_default();
    let second = parts.next();
    // secretsdump's Kerberos-keys and cleartext sections: `user:TYPE:VALUE`.
    if let Some(kind) = second
        && (kind == "CLEARTEXT" || KERBEROS_KEY_TYPES.contains(&kind))
    {
        return Ok(None);
    }
    let (Some(rid), Some(lm), Some(nt), Some(rest)) =
        (second, parts.next(), parts.next(), parts.next())
    else {
        return Err(
            "expected `[domain\\]user:rid:lmhash:nthash:::` (too few `:`-separated fields)".into(),
        );
    };
    if who.is_empty() {
        return Err("empty account name".into());
    }
    let (domain, name) = match who.rsplit_once('\\') {
        Some((d, n)) => (Some(d), n),
        None => (None, who),
    };
    if name.is_empty() {
        return Err("empty account name after the domain".into());
    }
    let rid: u32 = rid
        .trim()
        .parse()
        .map_err(|_| "field 2 (RID) is not a number".to_string())?;
    let lm = parse_hash_field(lm).ok_or("field 3 (LM hash) is not 32 hexadecimal digits")?;
    let nt = parse_hash_field(nt).ok_or("field 4 (NT hash) is not 32 hexadecimal digits")?;
    let enabled = parse_rest(rest).map_err(|m| format!("after the NT hash: {m}"))?;
    Ok(Some(Line {
        domain,
        name,
        rid,
        lm_stored: matches!(lm, Field::Hash(b) if b != EMPTY_LM),
        nt: match nt {
            Field::Hash(b) => Some(NtHash::from_bytes(b)),
            Field::Absent => None,
        },
        enabled,
    }))
}

/// Whether `name` may be a history line's (`history_suffix` decides): `_history` then digits at
/// its end. Bytes only, on every account: most names have no trailing digits.
pub(super) fn may_be_history(name: &str) -> bool {
    let b = name.as_bytes();
    let mut end = b.len();
    while end > 0 && b[end - 1].is_ascii_digit() {
        end -= 1;
    }
    end < b.len() && b[..end].ends_with(b"_history")
}

/// `alice_history3` -> (`alice`, 3).
pub(super) fn history_suffix(name: &str) -> Option<(&str, u32)> {
    // Called on every account: the trailing digits first (most names have none, or no
    // `_history` before them), without a substring search.
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &name[stem.len()..];
    let base = stem.strip_suffix("_history")?;
    if base.is_empty() || digits.is_empty() {
        return None;
    }
    Some((base, digits.parse().ok()?))
}

/// What follows the NT hash: pwdump's remaining fields ending with `:` (`::` in secretsdump, or
/// `comment:homedir:`), then optional `(key=value)` groups. Returns the `status` when given.
fn parse_rest(rest: &str) -> Result<Option<bool>, String> {
    const EXPECTED: &str = "expected `:::` after the NT hash";
    if rest.trim_end().ends_with(':') {
        return Ok(None);
    }
    let Some(p) = rest.find('(') else {
        return Err(EXPECTED.into());
    };
    if !rest[..p].trim_end().ends_with(':') {
        return Err(EXPECTED.into());
    }
    let mut status = None;
    let mut s = rest[p..].trim();
    while !s.is_empty() {
        let Some(body) = s.strip_prefix('(') else {
            return Err("expected `(key=value)` groups after `:::`".into());
        };
        let Some(end) = body.find(')') else {
            return Err("unclosed `(` in the status suffix".into());
        };
        let Some((k, v)) = body[..end].split_once('=') else {
            return Err("a status suffix group is not `key=value`".into());
        };
        if k.trim().eq_ignore_ascii_case("status") {
            let v = v.trim();
            status = Some(if v.eq_ignore_ascii_case("enabled") {
                true
            } else if v.eq_ignore_ascii_case("disabled") {
                false
            } else {
                return Err("status must be Enabled or Disabled".into());
            });
        }
        s = body[end + 1..].trim_start();
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{LM_EMPTY, NT_PW1};
    use super::*;

    /// Whatever the fast path accepts, the general parser reads identically; what it declines
    /// is left to the general parser.
    #[test]
    fn the_fast_path_reads_lines_as_the_general_parser() {
        fn fields(l: &Line<'_>) -> String {
            format!(
                "{:?} {} {} {} {:?} {:?}",
                l.domain, l.name, l.rid, l.lm_stored, l.nt, l.enabled
            ) + &l.nt.map_or(String::new(), |h| format!("{:?}", h.bytes()))
        }
        let nt_upper = NT_PW1.to_uppercase();
        let mut lines = Vec::new();
        for who in [
            "alice",
            "CHU\\alice",
            "a\\b\\c",
            "\\x",
            "x\\",
            "",
            "WKS$",
            " bob",
            "#c",
            "[*] x",
        ] {
            for rid in [
                "1104",
                "0",
                "4294967295",
                "4294967296",
                "12345678901",
                "",
                " 5",
                "x1",
                "+5",
            ] {
                for (lm, nt) in [
                    (LM_EMPTY, NT_PW1),
                    ("e52cac67419a9a224a3b108f3fa6cb6d", nt_upper.as_str()),
                    ("NO PASSWORD*********************", NT_PW1),
                    (LM_EMPTY, "NO PASSWORD*********************"),
                    (LM_EMPTY, &NT_PW1[..31]),
                    (LM_EMPTY, "64f12cddaa88057e06a81b54e73b949g"),
                ] {
                    for rest in [
                        ":::",
                        "::: (status=Enabled)",
                        "::: (status=Disabled)",
                        "::: (pwdLastSet=2024-01-02 10:11) (status=Enabled)",
                        "::: (status=Maybe)",
                        ":::\r",
                        "::: ",
                        ":Carol Comment:C:\\home:",
                        "",
                        ":",
                        "::x",
                    ] {
                        lines.push(format!("{who}:{rid}:{lm}:{nt}{rest}"));
                    }
                }
            }
        }
        lines.push("u:aes256-cts-hmac-sha1-96:0011".into());
        lines.push("u:CLEARTEXT:x".into());
        let mut fast = 0;
        for line in &lines {
            let general = parse_line(line);
            if let Some(l) = fast_line(line) {
                fast += 1;
                match &general {
                    Ok(Some(g)) => assert_eq!(fields(&l), fields(g), "{line:?}"),
                    other => panic!(
                        "{line:?}: fast path accepted, general gave {:?}",
                        other.as_ref().map(|o| o.is_some())
                    ),
                }
            }
        }
        assert!(fast > 100, "the fast path took only {fast} lines");
    }

    #[test]
    fn history_suffix_forms() {
        assert_eq!(history_suffix("a_history12"), Some(("a", 12)));
        assert_eq!(history_suffix("a_history"), None);
        assert_eq!(history_suffix("_history1"), None);
        assert_eq!(history_suffix("a_historyx"), None);
        for name in [
            "a_history12",
            "a_history",
            "_history1",
            "a_historyx",
            "user0001",
            "a_history99999999999",
            "é_history3",
            "",
        ] {
            // A superset of the history names, without their false negatives.
            assert!(
                may_be_history(name) || history_suffix(name).is_none(),
                "{name}"
            );
        }
        assert!(!may_be_history("user0001") && !may_be_history("jdupont"));
        assert!(may_be_history("a_history12"));
    }
}
