//! Parser for pwdump / impacket-secretsdump output.
//!
//! Accepted lines:
//! - `[domain\]user:rid:lmhash:nthash:::` optionally followed by secretsdump suffixes such as
//!   ` (pwdLastSet=2024-01-02 10:11) (status=Enabled)`;
//! - `user_historyN:rid:lmhash:nthash:::`: the Nth previous password of `user` (secretsdump
//!   `-history`), attached to the account with the same name and RID;
//! - `NO PASSWORD*********************` in a hash field (classic pwdump: no hash stored);
//! - ignored: blank lines, `#` comments, secretsdump progress lines (`[*] ...`, `[+] ...`,
//!   `[-] ...`) and its Kerberos-key and cleartext sections (`user:aes256-cts-hmac-sha1-96:...`,
//!   `user:CLEARTEXT:...`), which this audit does not use.
//!
//! Anything else is an error naming the line and the field. Error messages never quote the line:
//! it holds hashes.

use crate::hash::{EMPTY_LM, NtHash, parse_hex16};
use std::collections::HashMap;

/// One account of the dump. Holds its current NT hash and previous ones; never printable.
#[derive(Clone)]
pub struct Account {
    /// Domain prefix as written in the dump (`CHU` in `CHU\alice`), if any.
    pub domain: Option<String>,
    /// sAMAccountName (`alice`, `WKS01$`).
    pub name: String,
    pub rid: u32,
    /// Line of the dump where the account appears (1-based).
    pub line: usize,
    /// An LM hash is stored (LM field present and not the empty-password LM value).
    pub lm_stored: bool,
    pub(crate) nt: Option<NtHash>,
    pub(crate) history: Vec<NtHash>,
    /// `status=Enabled|Disabled` suffix from secretsdump, if present.
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("domain", &self.domain)
            .field("name", &self.name)
            .field("rid", &self.rid)
            .field("line", &self.line)
            .field("lm_stored", &self.lm_stored)
            .field("has_nt", &self.nt.is_some())
            .field("history_len", &self.history.len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Account {
    /// Name shown in findings: `DOMAIN\user` when the dump gave a domain, else `user`.
    pub fn display_name(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}\\{}", self.name),
            None => self.name.clone(),
        }
    }

    /// A computer account (`NAME$`).
    pub fn is_machine(&self) -> bool {
        self.name.ends_with('$')
    }

    pub fn has_nt(&self) -> bool {
        self.nt.is_some()
    }

    /// The current NT hash (an opaque, unprintable value).
    pub fn nt_hash(&self) -> Option<NtHash> {
        self.nt
    }

    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Build an account from a password (tests, benchmarks). The password itself is not kept.
    pub fn with_password(name: &str, rid: u32, password: Option<&str>) -> Account {
        Account {
            domain: None,
            name: name.to_string(),
            rid,
            line: 0,
            lm_stored: false,
            nt: password.map(NtHash::of_password),
            history: Vec::new(),
            enabled: None,
        }
    }
}

/// A parsed dump.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    pub accounts: Vec<Account>,
    /// Lines skipped on purpose (Kerberos keys, cleartext section, progress lines, comments).
    pub ignored_lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("{source_name}, line {line}: {message}")]
    Line {
        source_name: String,
        line: usize,
        message: String,
    },
    #[error("{source_name}: {message}")]
    Read {
        source_name: String,
        message: String,
    },
}

fn line_err(source_name: &str, line: usize, message: impl Into<String>) -> DumpError {
    DumpError::Line {
        source_name: source_name.to_string(),
        line,
        message: message.into(),
    }
}

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

/// One parsed account or history line.
struct Line {
    domain: Option<String>,
    name: String,
    rid: u32,
    line: usize,
    lm_stored: bool,
    nt: Option<NtHash>,
    enabled: Option<bool>,
}

/// Parse a whole dump held in memory. `source_name` (usually the file name) prefixes errors.
pub fn parse(text: &str, source_name: &str) -> Result<Dump, DumpError> {
    let mut dump = Dump::default();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match parse_line(raw, i + 1) {
            Ok(Some(l)) => lines.push(l),
            Ok(None) => dump.ignored_lines += 1,
            Err(message) => return Err(line_err(source_name, i + 1, message)),
        }
    }
    // (lowercase domain, lowercase name) -> (rid, line) of every line, to recognise history lines.
    let key = |d: &Option<String>, n: &str| {
        (
            d.as_deref().unwrap_or_default().to_lowercase(),
            n.to_lowercase(),
        )
    };
    // Only built when some name looks like a history line (`x_historyN`).
    let all: HashMap<(String, String), u32> =
        if lines.iter().any(|l| history_suffix(&l.name).is_some()) {
            lines
                .iter()
                .map(|l| (key(&l.domain, &l.name), l.rid))
                .collect()
        } else {
            HashMap::new()
        };
    let is_history = |l: &Line| -> Option<(String, String)> {
        let (base, _) = history_suffix(&l.name)?;
        let k = key(&l.domain, base);
        (all.get(&k) == Some(&l.rid)).then_some(k)
    };
    let mut by_name: HashMap<(String, String), usize> = HashMap::new();
    let mut history = Vec::new();
    for l in lines {
        if let Some(k) = is_history(&l) {
            history.push((k, l.nt));
            continue;
        }
        let k = key(&l.domain, &l.name);
        if let Some(&prev) = by_name.get(&k) {
            return Err(line_err(
                source_name,
                l.line,
                format!(
                    "account '{}' already appears on line {}",
                    l.name, dump.accounts[prev].line
                ),
            ));
        }
        by_name.insert(k, dump.accounts.len());
        dump.accounts.push(Account {
            domain: l.domain,
            name: l.name,
            rid: l.rid,
            line: l.line,
            lm_stored: l.lm_stored,
            nt: l.nt,
            history: Vec::new(),
            enabled: l.enabled,
        });
    }
    for (k, nt) in history {
        if let (Some(&idx), Some(h)) = (by_name.get(&k), nt) {
            dump.accounts[idx].history.push(h);
        }
    }
    Ok(dump)
}

/// Parse one line: `Ok(None)` for a line skipped on purpose, `Err(message)` if malformed.
fn parse_line(raw: &str, line_no: usize) -> Result<Option<Line>, String> {
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
        Some((d, n)) => (Some(d.to_string()), n.to_string()),
        None => (None, who.to_string()),
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
        line: line_no,
        lm_stored: matches!(lm, Field::Hash(b) if b != EMPTY_LM),
        nt: match nt {
            Field::Hash(b) => Some(NtHash::from_bytes(b)),
            Field::Absent => None,
        },
        enabled,
    }))
}

/// `alice_history3` -> (`alice`, 3).
fn history_suffix(name: &str) -> Option<(&str, u32)> {
    let idx = name.rfind("_history")?;
    let digits = &name[idx + "_history".len()..];
    if idx == 0 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&name[..idx], digits.parse().ok()?))
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
            status = Some(match v.trim().to_ascii_lowercase().as_str() {
                "enabled" => true,
                "disabled" => false,
                _ => return Err("status must be Enabled or Disabled".into()),
            });
        }
        s = body[end + 1..].trim_start();
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NT_PW1: &str = "64f12cddaa88057e06a81b54e73b949b"; // Password1
    const LM_EMPTY: &str = "aad3b435b51404eeaad3b435b51404ee";

    fn ok(text: &str) -> Dump {
        match parse(text, "dump.txt") {
            Ok(d) => d,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text, "dump.txt") {
            Ok(d) => panic!("expected an error, parsed {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn secretsdump_lines_with_domain_history_and_status() {
        let text = format!(
            "[*] Dumping Domain Credentials (domain\\uid:rid:lmhash:nthash)\n\
             CHU\\alice:1104:{LM_EMPTY}:{NT_PW1}::: (pwdLastSet=2024-01-02 10:11) (status=Enabled)\n\
             CHU\\alice_history0:1104:{LM_EMPTY}:31d6cfe0d16ae931b73c59d7e0c089c0:::\n\
             CHU\\alice_history1:1104:{LM_EMPTY}:{NT_PW1}:::\n\
             WKS01$:1105:{LM_EMPTY}:{NT_PW1}::: (status=Disabled)\n\
             [*] Kerberos keys grabbed\n\
             CHU\\alice:aes256-cts-hmac-sha1-96:0011\n\
             CHU\\alice:CLEARTEXT:not-a-real-one\n"
        );
        let d = ok(&text);
        assert_eq!(d.accounts.len(), 2);
        let a = &d.accounts[0];
        assert_eq!(
            (a.domain.as_deref(), a.name.as_str(), a.rid, a.line),
            (Some("CHU"), "alice", 1104, 2)
        );
        assert_eq!(a.display_name(), "CHU\\alice");
        assert_eq!(a.enabled, Some(true));
        assert_eq!(a.history.len(), 2);
        assert_eq!(a.nt, Some(NtHash::of_password("Password1")));
        assert!(!a.lm_stored);
        let w = &d.accounts[1];
        assert!(w.is_machine());
        assert_eq!(w.enabled, Some(false));
        assert_eq!(d.ignored_lines, 4);
    }

    #[test]
    fn classic_pwdump_forms() {
        let text = format!(
            "bob:1000:NO PASSWORD*********************:NO PASSWORD*********************:::\n\
             carol:1001:e52cac67419a9a224a3b108f3fa6cb6d:{NT_PW1}:Carol Comment:C:\\home:\r\n"
        );
        let d = ok(&text);
        assert_eq!(d.accounts.len(), 2);
        assert!(!d.accounts[0].has_nt() && !d.accounts[0].lm_stored);
        assert!(d.accounts[1].lm_stored);
        assert!(d.accounts[1].has_nt());
    }

    #[test]
    fn history_before_its_account_and_orphan_history_names() {
        let text = format!(
            "dave_history0:1200:{LM_EMPTY}:{NT_PW1}:::\n\
             dave:1200:{LM_EMPTY}:{NT_PW1}:::\n\
             svc_history7:1300:{LM_EMPTY}:{NT_PW1}:::\n"
        );
        let d = ok(&text);
        let names: Vec<_> = d
            .accounts
            .iter()
            .map(|a| (a.name.as_str(), a.history.len()))
            .collect();
        assert_eq!(names, vec![("dave", 1), ("svc_history7", 0)]);
    }

    #[test]
    fn errors_name_the_line_and_field_and_never_quote_hashes() {
        let cases: &[(String, &str)] = &[
            (
                format!("ok:1:{LM_EMPTY}:{NT_PW1}:::\nbad line"),
                "line 2: expected",
            ),
            (
                format!("u:x1:{LM_EMPTY}:{NT_PW1}:::"),
                "line 1: field 2 (RID)",
            ),
            (format!("u:1:zz:{NT_PW1}:::"), "line 1: field 3 (LM hash)"),
            (
                format!("u:1:{LM_EMPTY}:{}:::", &NT_PW1[..31]),
                "line 1: field 4 (NT hash)",
            ),
            (format!("u:1:{LM_EMPTY}:{NT_PW1}"), "line 1: expected"),
            (
                format!("u:1:{LM_EMPTY}:{NT_PW1}::: status=Enabled"),
                "line 1: after the NT hash",
            ),
            (
                format!("u:1:{LM_EMPTY}:{NT_PW1}::: (status=Maybe)"),
                "status must be",
            ),
            (
                format!("u:1:{LM_EMPTY}:{NT_PW1}::: (status=Enabled"),
                "unclosed",
            ),
            (
                format!(":1:{LM_EMPTY}:{NT_PW1}:::"),
                "line 1: empty account name",
            ),
            (
                format!("\n\nu:1:{LM_EMPTY}:{NT_PW1}:::\nU:2:{LM_EMPTY}:{NT_PW1}:::"),
                "line 4: account 'U' already appears on line 3",
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.starts_with("dump.txt, line"), "{e}");
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(
                !e.contains(NT_PW1) && !e.contains(&NT_PW1[..20]),
                "error quotes a hash: {e}"
            );
        }
    }

    #[test]
    fn history_suffix_forms() {
        assert_eq!(history_suffix("a_history12"), Some(("a", 12)));
        assert_eq!(history_suffix("a_history"), None);
        assert_eq!(history_suffix("_history1"), None);
        assert_eq!(history_suffix("a_historyx"), None);
    }
}
