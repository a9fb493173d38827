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
//!
//! A dump file is memory-mapped (`parse_file`), not copied: copying 100 MB into fresh memory
//! cost a fifth of the audit, most of it the kernel zeroing new pages. The text is cut at line
//! ends into one run per core; each run is checked as UTF-8 and parsed on its own thread, and
//! `Dump` keeps the runs' account vectors as they are (joining them copied every account). One
//! pass over a run builds the accounts (the name is the only allocation an account; a domain
//! prefix is one `Arc<str>` shared by its accounts) and the hashes of their identities, line
//! numbers counted from the run's start and offset afterwards. Duplicate accounts are found by
//! sorting those 64-bit hashes alone, confirmed on the identities themselves. The line grammar
//! is in `line`.

mod line;

use crate::hash::{HIGH, NtHash, ge, gt};
use line::{fast_line, history_suffix, may_be_history, parse_line};
use std::collections::HashMap;
use std::sync::Arc;

/// One account of the dump. Holds its current NT hash and previous ones; never printable.
#[derive(Clone)]
pub struct Account {
    /// Domain prefix as written in the dump (`CHU` in `CHU\alice`), if any; shared by the
    /// accounts of the same domain.
    pub domain: Option<Arc<str>>,
    /// sAMAccountName (`alice`, `WKS01$`). A boxed `str` rather than a `String`: a million
    /// accounts are held at once, and the unused capacity field would add 8 MB.
    pub name: Box<str>,
    pub rid: u32,
    /// Line of the dump where the account appears (1-based).
    pub line: usize,
    /// An LM hash is stored (LM field present and not the empty-password LM value).
    pub lm_stored: bool,
    pub(crate) nt: Option<NtHash>,
    pub(crate) history: Box<[NtHash]>,
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
            // Built by hand rather than with `format!`: a breach audit names a tenth of a
            // million accounts.
            Some(d) => {
                let mut s = String::with_capacity(d.len() + 1 + self.name.len());
                s.push_str(d);
                s.push('\\');
                s.push_str(&self.name);
                s
            }
            None => self.name.to_string(),
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
            name: name.into(),
            rid,
            line: 0,
            lm_stored: false,
            nt: password.map(NtHash::of_password),
            history: Box::default(),
            enabled: None,
        }
    }
}

/// A parsed dump.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// The accounts in line order, as the runs of lines parsed on separate threads: joining
    /// them into one vector would copy every account (a sixth of the parse of a million-account
    /// dump).
    runs: Vec<Vec<Account>>,
    /// Lines skipped on purpose (Kerberos keys, cleartext section, progress lines, comments).
    pub ignored_lines: usize,
}

impl Dump {
    /// The accounts, in line order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> + Clone {
        self.runs.iter().flatten()
    }

    /// The `i`-th account in line order.
    pub fn account(&self, mut i: usize) -> Option<&Account> {
        for run in &self.runs {
            match run.get(i) {
                Some(a) => return Some(a),
                None => i -= run.len(),
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(Vec::is_empty)
    }
}

/// A dump that cannot be read: at a line, or the file as a whole.
pub type DumpError = crate::input::InputError;

/// Read and parse a dump file. The file is memory-mapped rather than copied: a GHT's dump is
/// around 100 MB, and copying it into fresh memory cost more than a fifth of the audit (the
/// kernel zeroes every new page first).
pub fn parse_file(path: &std::path::Path) -> Result<Dump, DumpError> {
    let source_name = path.display().to_string();
    let read_err = |e: std::io::Error| DumpError::file(&source_name, format!("cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len == 0 {
        return parse("", &source_name);
    }
    let map = crate::breach::map_whole(&file, len).map_err(read_err)?;
    parse_bytes(&map, &source_name)
}

/// Parse a whole dump held in memory. `source_name` (usually the file name) prefixes errors.
pub fn parse(text: &str, source_name: &str) -> Result<Dump, DumpError> {
    parse_bytes(text.as_bytes(), source_name)
}

/// `parse` of a dump's bytes, which must be UTF-8 text (checked here, a line at fault named):
/// what `parse_file` runs on the mapped file, and the fuzz target on its input.
///
/// The bytes are cut at line ends into one run per core, each checked as UTF-8 and parsed on its
/// own thread straight into accounts (the name is the only allocation per account, and the
/// domain prefix, the same for most accounts, is shared) along with the hashes of their
/// identities (for `check_unique`), while the name is still in the cache. Line numbers are
/// counted from each run's start and offset once the runs before it are known.
pub fn parse_bytes(bytes: &[u8], source_name: &str) -> Result<Dump, DumpError> {
    let threads = if bytes.len() < 1 << 20 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    let mut cuts: Vec<&[u8]> = Vec::with_capacity(threads);
    let mut from = 0;
    for t in 1..=threads {
        let to = if t == threads {
            bytes.len()
        } else {
            let at = (bytes.len() * t / threads).max(from);
            memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1)
        };
        cuts.push(&bytes[from..to]);
        from = to;
    }
    let parsed: Vec<Result<Run, (usize, String)>> = std::thread::scope(|s| {
        let handles: Vec<_> = cuts[1..]
            .iter()
            .map(|&run| s.spawn(move || parse_run(run)))
            .collect();
        let mut all = vec![parse_run(cuts[0])];
        for h in handles {
            match h.join() {
                Ok(r) => all.push(r),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    });
    let mut dump = Dump::default();
    let mut identities: Vec<Vec<u64>> = Vec::with_capacity(parsed.len());
    let mut maybe_history = false;
    let mut lines_before = 0;
    for run in parsed {
        let mut run = run.map_err(|(line, message)| {
            DumpError::line(source_name, lines_before + line, message)
        })?;
        if lines_before > 0 {
            for a in &mut run.accounts {
                a.line += lines_before;
            }
        }
        lines_before += run.lines;
        dump.ignored_lines += run.ignored;
        maybe_history |= run.maybe_history;
        dump.runs.push(run.accounts);
        identities.push(run.identities);
    }
    // History lines (`x_historyN` with the RID of an account `x`) are rare: only when some name
    // looks like one are they taken out of the accounts.
    let mut history: Vec<(String, Option<NtHash>)> = Vec::new();
    if maybe_history {
        // (lowercase domain, lowercase name) -> RID of every line (the last one wins).
        let all: HashMap<String, u32> = dump
            .accounts()
            .map(|a| (key(a.domain.as_deref(), &a.name), a.rid))
            .collect();
        for (run, ids) in dump.runs.iter_mut().zip(&mut identities) {
            // Each line kept or taken out, then both the accounts and their identity hashes
            // (computed by the runs' threads) dropped the same way.
            let keep: Vec<bool> = run
                .iter()
                .map(|a| {
                    let Some((base, _)) = history_suffix(&a.name) else {
                        return true;
                    };
                    let k = key(a.domain.as_deref(), base);
                    if all.get(&k) == Some(&a.rid) {
                        history.push((k, a.nt));
                        false
                    } else {
                        true
                    }
                })
                .collect();
            let mut kept = keep.iter();
            run.retain(|_| kept.next().copied().unwrap_or(true));
            let mut kept = keep.iter();
            ids.retain(|_| kept.next().copied().unwrap_or(true));
        }
    }
    check_unique(&dump, &identities, source_name)?;
    if !history.is_empty() {
        let by_name: HashMap<String, (usize, usize)> = dump
            .runs
            .iter()
            .enumerate()
            .flat_map(|(r, run)| {
                run.iter()
                    .enumerate()
                    .map(move |(i, a)| (key(a.domain.as_deref(), &a.name), (r, i)))
            })
            .collect();
        // Each account's history gathered, in line order, then boxed once.
        let mut of_account: HashMap<(usize, usize), Vec<NtHash>> = HashMap::new();
        for (k, nt) in history {
            if let (Some(&at), Some(h)) = (by_name.get(&k), nt) {
                of_account.entry(at).or_default().push(h);
            }
        }
        for ((r, i), hashes) in of_account {
            dump.runs[r][i].history = hashes.into_boxed_slice();
        }
    }
    Ok(dump)
}

/// The accounts of a run of whole lines, numbered from 1 at the run's first line.
struct Run {
    accounts: Vec<Account>,
    /// The hash of each account's identity (`IdentityHasher`), in `accounts`' order.
    identities: Vec<u64>,
    /// Lines in the run.
    lines: usize,
    ignored: usize,
    /// Some name looks like a history line (`x_historyN`).
    maybe_history: bool,
}

fn parse_run(bytes: &[u8]) -> Result<Run, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count() + 1;
        (line, "not UTF-8 text".to_string())
    })?;
    // Sized for its lines: grown by doubling, the accounts would be copied (allocators without
    // `mremap`, such as the binary's mimalloc, copy large blocks).
    let lines = memchr::memchr_iter(b'\n', bytes).count() + usize::from(!bytes.ends_with(b"\n"));
    let mut run = Run {
        accounts: Vec::with_capacity(lines),
        identities: Vec::with_capacity(lines),
        lines: 0,
        ignored: 0,
        maybe_history: false,
    };
    let mut hasher = IdentityHasher::default();
    let mut domains: HashMap<&str, Arc<str>> = HashMap::new();
    // Most accounts share the previous line's domain: compared first, before the map.
    let mut last_domain: Option<(&str, Arc<str>)> = None;
    let mut from = 0;
    while from < text.len() {
        // The same lines as `str::lines`: split at `\n`, a final line without one included.
        let to = memchr::memchr(b'\n', &bytes[from..]).map_or(text.len(), |n| from + n);
        let mut raw = &text[from..to];
        if let Some(r) = raw.strip_suffix('\r') {
            raw = r;
        }
        from = to + 1;
        let parsed = match fast_line(raw) {
            Some(l) => Ok(Some(l)),
            None => parse_line(raw),
        };
        run.lines += 1;
        match parsed {
            Ok(Some(l)) => {
                run.maybe_history |= may_be_history(l.name);
                let domain = l.domain.map(|d| match &last_domain {
                    Some((last, arc)) if *last == d => arc.clone(),
                    _ => {
                        let arc = domains.entry(d).or_insert_with(|| Arc::from(d)).clone();
                        last_domain = Some((d, arc.clone()));
                        arc
                    }
                });
                let identity = hasher.hash(domain.as_ref(), l.name);
                run.identities.push(identity);
                run.accounts.push(Account {
                    domain,
                    name: l.name.into(),
                    rid: l.rid,
                    line: run.lines,
                    lm_stored: l.lm_stored,
                    nt: l.nt,
                    history: Box::default(),
                    enabled: l.enabled,
                });
            }
            Ok(None) => run.ignored += 1,
            Err(message) => return Err((run.lines, message)),
        }
    }
    Ok(run)
}

/// The identity of an account: lowercase domain (none counts as empty) and lowercase name. The
/// name holds no `\` (the domain is split at the last one), so joining with `\` is unambiguous.
fn key(domain: Option<&str>, name: &str) -> String {
    let mut k = String::with_capacity(domain.map_or(0, str::len) + name.len() + 1);
    key_into(domain, name, &mut k);
    k
}

fn key_into(domain: Option<&str>, name: &str, k: &mut String) {
    k.clear();
    for part in [domain.unwrap_or_default(), "\\", name] {
        if part.is_ascii() {
            k.extend(part.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            k.push_str(&part.to_lowercase());
        }
    }
}

/// Fail on the first account (in line order) whose identity already appeared, naming both lines.
/// Identities are compared through a 64-bit hash of the key (`identities`: one per account, in
/// account order, as the runs' hashes); equal hashes are confirmed on the keys themselves.
fn check_unique(dump: &Dump, identities: &[Vec<u64>], source_name: &str) -> Result<(), DumpError> {
    let identities = identities.iter().flatten().copied();
    // The hashes alone are sorted (8 bytes each, not 16 with the account's index): duplicates
    // are rare, and their accounts are found afterwards by one pass over the hashes.
    let sorted = crate::hash::sort_by_top16_halves(identities.clone(), |h| (h >> 48) as u16);
    let repeated: std::collections::HashSet<u64> = sorted
        .iter()
        .flat_map(|half| half.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]))
        .collect();
    drop(sorted);
    let mut hashed: Vec<(u64, u32)> = identities
        .enumerate()
        .filter(|(_, h)| repeated.contains(h))
        .map(|(i, h)| (h, i as u32))
        .collect();
    hashed.sort_unstable();
    // (the duplicate, the first account with its identity)
    let mut first_dup: Option<(&Account, &Account)> = None;
    for run in hashed.chunk_by(|x, y| x.0 == y.0).filter(|r| r.len() > 1) {
        let keys: Vec<(String, &Account)> = run
            .iter()
            .filter_map(|&(_, i)| {
                let a = dump.account(i as usize)?;
                Some((key(a.domain.as_deref(), &a.name), a))
            })
            .collect();
        for (j, &(ref k, a)) in keys.iter().enumerate() {
            // The run is in account order: the first equal key before `j` is the original.
            if let Some((_, orig)) = keys[..j].iter().find(|(k2, _)| k2 == k)
                && first_dup.is_none_or(|(d, _)| a.line < d.line)
            {
                first_dup = Some((a, orig));
            }
        }
    }
    match first_dup {
        Some((dup, orig)) => Err(DumpError::line(
            source_name,
            dup.line,
            format!(
                "account '{}' already appears on line {}",
                dup.name, orig.line
            ),
        )),
        None => Ok(()),
    }
}

/// A 64-bit hash of an account's identity (`key`), computed without building the key: equal
/// keys give equal hashes (equal hashes are confirmed on the keys). ASCII parts are lower-cased
/// and mixed eight bytes at a time; the domain's state is kept for the next account, which
/// nearly always shares the same (`Arc`) domain.
#[derive(Default)]
struct IdentityHasher {
    /// The last domain (by pointer) and the state after it.
    domain: Option<(*const u8, usize, u64)>,
    buf: String,
}

impl IdentityHasher {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    fn mix(h: u64, w: u64) -> u64 {
        (h.rotate_left(23) ^ w).wrapping_mul(Self::K)
    }

    /// Mix one part of the key: its lower-case bytes, then its length (so that where one part
    /// ends is part of the hash).
    fn part(&mut self, mut h: u64, part: &str) -> u64 {
        let ascii = part.is_ascii();
        let bytes = if ascii {
            part.as_bytes()
        } else {
            // As `key_into` does: the part's own lower case, hashed as bytes.
            self.buf.clear();
            self.buf.push_str(&part.to_lowercase());
            self.buf.as_bytes()
        };
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            let mut w = u64::from_le_bytes(b);
            if ascii {
                // 'A'..='Z' get their 0x20 bit: ASCII lower case, eight bytes at once.
                w |= (ge(w, 0x41) & !gt(w, 0x5a) & HIGH) >> 2;
            }
            h = Self::mix(h, w);
        }
        Self::mix(h, bytes.len() as u64)
    }

    fn hash(&mut self, domain: Option<&Arc<str>>, name: &str) -> u64 {
        let d: &str = domain.map_or("", |d| d);
        let after_domain = match self.domain {
            Some((p, len, h)) if p == d.as_ptr() && len == d.len() => h,
            _ => {
                let h = self.part(0xcbf2_9ce4_8422_2325, d);
                self.domain = Some((d.as_ptr(), d.len(), h));
                h
            }
        };
        self.part(after_domain, name).wrapping_mul(Self::K)
    }
}

#[cfg(test)]
mod tests {
    use super::line::EMPTY_LM_HEX;
    use super::*;
    use crate::hash::{EMPTY_LM, parse_hex16};

    pub(super) const NT_PW1: &str = "64f12cddaa88057e06a81b54e73b949b"; // Password1
    pub(super) const LM_EMPTY: &str = "aad3b435b51404eeaad3b435b51404ee";

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
    fn files_are_read_as_text_is() {
        let d = tempfile::tempdir().expect("tmp");
        let text = format!(
            "CHU\\alice:1104:{LM_EMPTY}:{NT_PW1}:::\nCHU\\alice_history0:1104:{LM_EMPTY}:{NT_PW1}:::\nbob:1105:{LM_EMPTY}:{NT_PW1}:::\n"
        );
        let p = d.path().join("dump.txt");
        std::fs::write(&p, &text).expect("write");
        let from_file = parse_file(&p).expect("file");
        let from_text = parse(&text, "dump.txt").expect("text");
        assert_eq!(format!("{from_file:?}"), format!("{from_text:?}"));
        assert_eq!(from_file.len(), 2);
        assert_eq!(from_file.account(0).expect("first").history.len(), 1);

        let empty = d.path().join("empty.txt");
        std::fs::write(&empty, "").expect("write");
        assert!(parse_file(&empty).expect("empty").is_empty());

        let latin1 = d.path().join("latin1.txt");
        let mut bytes = format!("bob:1105:{LM_EMPTY}:{NT_PW1}:::\n").into_bytes();
        bytes.extend_from_slice(b"ren\xe9:1106:x\n");
        std::fs::write(&latin1, bytes).expect("write");
        let e = parse_file(&latin1).expect_err("not UTF-8").to_string();
        assert!(e.ends_with("latin1.txt, line 2: not UTF-8 text"), "{e}");

        let e = parse_file(&d.path().join("absent.txt"))
            .expect_err("absent")
            .to_string();
        assert!(e.contains("absent.txt: cannot read"), "{e}");
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
        assert_eq!(d.len(), 2);
        let a = d.account(0).expect("first");
        assert_eq!(
            (a.domain.as_deref(), &*a.name, a.rid, a.line),
            (Some("CHU"), "alice", 1104, 2)
        );
        assert_eq!(a.display_name(), "CHU\\alice");
        assert_eq!(a.enabled, Some(true));
        assert_eq!(a.history.len(), 2);
        assert_eq!(a.nt, Some(NtHash::of_password("Password1")));
        assert!(!a.lm_stored);
        let w = d.account(1).expect("second");
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
        assert_eq!(d.len(), 2);
        assert!(!d.account(0).is_some_and(|a| a.has_nt() || a.lm_stored));
        assert!(d.account(1).is_some_and(|a| a.lm_stored));
        assert!(d.account(1).is_some_and(Account::has_nt));
    }

    #[test]
    fn history_before_its_account_and_orphan_history_names() {
        let text = format!(
            "dave_history0:1200:{LM_EMPTY}:{NT_PW1}:::\n\
             dave:1200:{LM_EMPTY}:{NT_PW1}:::\n\
             svc_history7:1300:{LM_EMPTY}:{NT_PW1}:::\n"
        );
        let d = ok(&text);
        let names: Vec<_> = d.accounts().map(|a| (&*a.name, a.history.len())).collect();
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

    /// Equal identities (case-insensitive, no domain = empty domain, non-ASCII lower-cased as
    /// `key` does) hash alike, whichever domain the hasher saw before; different ones differ.
    #[test]
    fn identity_hashes_follow_the_keys() {
        let chu: Arc<str> = Arc::from("CHU");
        let chu2: Arc<str> = Arc::from("chu");
        let other: Arc<str> = Arc::from("CHU2");
        let empty: Arc<str> = Arc::from("");
        let ab: Arc<str> = Arc::from("ab");
        let a: Arc<str> = Arc::from("a");
        let long: Arc<str> = Arc::from("Centre-Hospitalier-Universitaire");
        let elodie: Arc<str> = Arc::from("ÉLODIE.Dupont");
        let ids: Vec<(Option<&Arc<str>>, &str)> = vec![
            (Some(&chu), "Jean.Dupont"),
            (Some(&chu2), "JEAN.DUPONT"),
            (Some(&other), "jean.dupont"),
            (None, "x"),
            (Some(&empty), "X"),
            (Some(&ab), "c"),
            (Some(&a), "bc"),
            (Some(&long), "administrateur-du-domaine"),
            (Some(&long), "Administrateur-du-Domaine"),
            (Some(&elodie), "Élodie"),
            (Some(&chu), "élodie"),
            (Some(&chu), "ÉLODIE"),
        ];
        for order in [false, true] {
            let mut h = IdentityHasher::default();
            let mut seq: Vec<usize> = (0..ids.len()).collect();
            if order {
                seq.reverse();
            }
            let mut hashes = vec![0u64; ids.len()];
            for &i in &seq {
                hashes[i] = h.hash(ids[i].0, ids[i].1);
            }
            for i in 0..ids.len() {
                for j in 0..ids.len() {
                    let same_key = key(ids[i].0.map(|d| &**d), ids[i].1)
                        == key(ids[j].0.map(|d| &**d), ids[j].1);
                    assert_eq!(hashes[i] == hashes[j], same_key, "{i} {j}");
                }
            }
        }
        assert_eq!(parse_hex16(EMPTY_LM_HEX), Some(EMPTY_LM));
    }

    /// A million accounts are held at once: their size is watched.
    #[test]
    fn accounts_stay_small() {
        assert!(std::mem::size_of::<Account>() <= 80);
    }

    /// A dump big enough to be parsed in parallel parts gives the same accounts, lines and
    /// errors as line-by-line expectations, wherever the parts are cut.
    #[test]
    fn large_dumps_parse_in_parts_with_exact_line_numbers() {
        let mut text = String::new();
        for i in 0..30_000 {
            if i % 1000 == 7 {
                text.push_str("[*] progress\r\n");
            }
            text.push_str(&format!(
                "CHU\\user{i:05}:{}:{LM_EMPTY}:{NT_PW1}:::\r\n",
                1000 + i
            ));
        }
        assert!(text.len() > 1 << 20);
        let d = ok(&text);
        assert_eq!(d.len(), 30_000);
        assert_eq!(d.ignored_lines, 30);
        for (i, a) in d.accounts().enumerate() {
            assert_eq!(*a.name, format!("user{i:05}"));
            assert_eq!(a.line, i + 1 + i / 1000 + usize::from(i % 1000 >= 7));
            assert_eq!(a.domain.as_deref(), Some("CHU"));
        }
        let lines: Vec<&str> = text.lines().collect();
        for bad in [5usize, 15_000, lines.len() - 1] {
            let mut v = lines.clone();
            v[bad] = "broken";
            let e = err(&(v.join("\n") + "\n"));
            assert!(
                e.starts_with(&format!("dump.txt, line {}: ", bad + 1)),
                "{e}"
            );
        }
        let mut v = lines.clone();
        let dup = v[3].to_uppercase();
        v[25_000] = &dup;
        let e = err(&v.join("\n"));
        assert!(
            e.contains("line 25001: account 'USER00003' already appears on line 4"),
            "{e}"
        );
        // Each run checks its own bytes as UTF-8: a bad byte in a later run names its line.
        let mut bytes = text.clone().into_bytes();
        let at = lines[..20_000].iter().map(|l| l.len() + 2).sum::<usize>() + 4;
        bytes[at] = 0xE9;
        let e = parse_bytes(&bytes, "dump.txt")
            .expect_err("not UTF-8")
            .to_string();
        assert_eq!(e, "dump.txt, line 20001: not UTF-8 text");
        // A history line at the end (another run) joins its account in the first run.
        let with_history = format!("{text}CHU\\user00001_history0:1001:{LM_EMPTY}:{NT_PW1}:::\r\n");
        let d = ok(&with_history);
        assert_eq!(d.len(), 30_000);
        assert_eq!(d.account(1).map(|a| a.history.len()), Some(1));
        assert_eq!(d.account(29_999).map(|a| &*a.name), Some("user29999"));
        assert!(d.account(30_000).is_none());
        // History lines taken out of the first run, then a duplicate in a later one: the
        // accounts' identity hashes are taken out with their lines, so the duplicate and its
        // first line are still named right.
        let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for k in 0..2 {
            let history = format!("CHU\\user00002_history{k}:1002:{LM_EMPTY}:{NT_PW1}:::");
            v.insert(10 + k, history);
        }
        let d = ok(&v.join("\n"));
        assert_eq!(d.len(), 30_000);
        assert_eq!(d.account(2).map(|a| a.history.len()), Some(2));
        v[25_002] = v[3].to_uppercase();
        let e = err(&v.join("\n"));
        assert!(
            e.contains("line 25003: account 'USER00003' already appears on line 4"),
            "{e}"
        );
    }
}
