//! The audit that runs the password-quality checks ([`crate::checks`]) over a dump.
//!
//! Findings name accounts only. No hash, no candidate password and no matched word leaves this
//! module: the matching happens on `NtHash` values, which cannot be printed.

use crate::breach::{BreachIndex, count_of_class};
pub use crate::checks::*;
use crate::dictionary::Dictionary;
use crate::directory::Directory;
use crate::hash::{
    Block, EMPTY_NT, HIGH, HashTable, LANES, Lanes, Md4Batch, NtHash, NtHasher, ONE_BLOCK_UNITS,
    first_words_equal_rows, first_words_equal_rows_pair, ge, gt, md4_hashes, sort_by_top16_halves,
    tail_rows,
};
use crate::pwdump::{Account, Dump};
use hygie_core::{RuleDef, Severity};

/// RIDs treated as privileged when no directory status is given (built-in Administrator).
const PRIVILEGED_RIDS: &[u32] = &[500];

/// Options of one audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Audit disabled accounts too (by default they are counted and skipped).
    pub include_disabled: bool,
    /// Current year: user-name variants try it and the previous one as suffixes.
    pub year: i32,
    /// Worker threads for hashing candidates and for the batch breach lookup.
    pub threads: usize,
    /// Breached only when the corpus saw the hash at least this many times.
    pub min_breach_count: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            include_disabled: false,
            year: 2026,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            min_breach_count: 1,
        }
    }
}

/// What the audit knows about one audited account (one with an NT hash). Its display name is
/// built only when it appears in a finding. The hash is read from the account rather than
/// copied here: 16 bytes a subject instead of 32, for a million of them.
struct Subject<'a> {
    account: &'a Account,
    privileged: bool,
}

impl Subject<'_> {
    fn name(&self) -> String {
        self.account.display_name()
    }

    /// The account's NT hash (always present: accounts without one are not subjects).
    fn nt(&self) -> Option<NtHash> {
        self.account.nt
    }
}

/// Inputs of an audit besides the dump.
#[derive(Default)]
pub struct Sources<'a> {
    pub directory: Option<&'a Directory>,
    pub dictionary: Option<&'a Dictionary>,
    pub breach: Option<&'a BreachIndex>,
}

/// The subjects grouped by NT hash: the distinct hashes (which every hash-based check looks
/// candidates up in) and, for each, the subjects holding it.
struct ByHash {
    /// Distinct hashes, sorted.
    hashes: HashTable,
    /// Subject indices ordered by hash; those of `hashes.as_slice()[k]` are
    /// `subjects[starts[k]..starts[k + 1]]`.
    subjects: Vec<u32>,
    starts: Vec<u32>,
}

impl ByHash {
    fn new(subjects: &[Subject<'_>]) -> ByHash {
        let halves = sort_by_top16_halves(
            subjects
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((s.nt()?, i as u32))),
            |p| p.0.top16(),
        );
        let pairs = halves.iter().flatten();
        let mut starts = Vec::with_capacity(subjects.len() + 1);
        let mut distinct: Vec<NtHash> = Vec::with_capacity(subjects.len());
        let mut ordered = Vec::with_capacity(subjects.len());
        for (i, &(h, s)) in pairs.enumerate() {
            if distinct.last() != Some(&h) {
                distinct.push(h);
                starts.push(i as u32);
            }
            ordered.push(s);
        }
        starts.push(ordered.len() as u32);
        ByHash {
            hashes: HashTable::from_sorted(distinct),
            subjects: ordered,
            starts,
        }
    }

    /// Subjects of the k-th distinct hash.
    fn group(&self, k: usize) -> &[u32] {
        &self.subjects[self.starts[k] as usize..self.starts[k + 1] as usize]
    }

    fn groups(&self) -> impl Iterator<Item = (&NtHash, &[u32])> {
        self.hashes
            .as_slice()
            .iter()
            .enumerate()
            .map(|(k, h)| (h, self.group(k)))
    }

    /// Subjects holding any of `hashes`.
    fn holders<'h>(&self, hashes: impl IntoIterator<Item = &'h NtHash>) -> Vec<usize> {
        hashes
            .into_iter()
            .filter_map(|h| self.hashes.position(h))
            .flat_map(|k| self.group(k))
            .map(|&i| i as usize)
            .collect()
    }
}

/// The (display name, privileged) of the subjects `hit` (indices, repeats allowed), each once.
fn named_subjects(
    subjects: &[Subject<'_>],
    mut hit: Vec<usize>,
    threads: usize,
) -> Vec<(String, bool)> {
    hit.sort_unstable();
    hit.dedup();
    let name = |&i: &usize| (subjects[i].name(), subjects[i].privileged);
    // Each name is a cache miss or two (the account, then its name): a breach check that
    // names a tenth of a million accounts does it on every thread.
    if hit.len() < 1 << 14 || threads < 2 {
        return hit.iter().map(name).collect();
    }
    let per = hit.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = hit
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(name).collect::<Vec<_>>()))
            .collect();
        let mut all = Vec::with_capacity(hit.len());
        for p in parts {
            match p.join() {
                Ok(v) => all.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    })
}

/// HSH-04's groups: the subjects sharing a password (other than the empty one, HSH-01's),
/// named, each group critical when it mixes privileged and ordinary accounts; in the order of
/// their first name.
fn shared_groups(subjects: &[Subject<'_>], by_hash: &ByHash) -> Vec<(Severity, Vec<String>)> {
    let mut groups: Vec<(Severity, Vec<String>)> = by_hash
        .groups()
        .filter(|(h, g)| g.len() > 1 && **h != EMPTY_NT)
        .map(|(_, g)| {
            let privileged = g
                .iter()
                .filter(|&&i| subjects[i as usize].privileged)
                .count();
            let severity = if privileged > 0 && privileged < g.len() {
                Severity::Critical
            } else {
                SHARED.severity
            };
            let mut names: Vec<String> = g.iter().map(|&i| subjects[i as usize].name()).collect();
            names.sort_unstable();
            (severity, names)
        })
        .collect();
    groups.sort_by(|a, b| a.1.first().cmp(&b.1.first()));
    groups
}

/// Collects the findings and the outcome of each check, in the order the checks run.
struct Recorder<'s, 'a> {
    subjects: &'s [Subject<'a>],
    threads: usize,
    findings: Vec<Finding>,
    outcomes: Vec<CheckOutcome>,
}

impl Recorder<'_, '_> {
    /// A per-account check: ordinary accounts at the check's severity, privileged accounts in a
    /// separate critical finding. `hit` holds subject indices (repeats allowed).
    fn accounts(&mut self, def: &RuleDef, hit: Vec<usize>) {
        let named = named_subjects(self.subjects, hit, self.threads);
        self.named(def, named);
    }

    /// Like `accounts`, for (name, privileged) pairs.
    fn named(&mut self, def: &RuleDef, hit: Vec<(String, bool)>) {
        self.outcomes.push(CheckOutcome::of(def, hit.len()));
        let (mut privileged, mut ordinary): (Vec<_>, Vec<_>) = hit.into_iter().partition(|h| h.1);
        privileged.sort_unstable();
        ordinary.sort_unstable();
        let names = |v: Vec<(String, bool)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        for (severity, accounts) in [
            (Severity::Critical.max(def.severity), names(privileged)),
            (def.severity, names(ordinary)),
        ] {
            if !accounts.is_empty() {
                self.findings.push(Finding {
                    check: def.id,
                    severity,
                    title: def.title.localized(),
                    accounts,
                });
            }
        }
    }

    /// A check that needs an input the audit may lack: its subjects `hit` (as `accounts`), or,
    /// without the input (`None`), the check recorded as not evaluated, with `reason`.
    fn when(&mut self, def: &RuleDef, hit: Option<Vec<usize>>, reason: &'static str) {
        let named = hit.map(|hit| named_subjects(self.subjects, hit, self.threads));
        self.when_named(def, named, reason);
    }

    /// `when` for (name, privileged) pairs.
    fn when_named(
        &mut self,
        def: &RuleDef,
        named: Option<Vec<(String, bool)>>,
        reason: &'static str,
    ) {
        match named {
            Some(named) => self.named(def, named),
            None => self.outcomes.push(CheckOutcome::not_evaluated(def, reason)),
        }
    }

    /// HSH-04: one finding per group of accounts sharing a password, critical when it mixes
    /// privileged and ordinary accounts; groups in the order of their first name.
    fn shared(&mut self, groups: Vec<(Severity, Vec<String>)>) {
        self.outcomes.push(CheckOutcome::of(
            &SHARED,
            groups.iter().map(|g| g.1.len()).sum(),
        ));
        self.findings
            .extend(groups.into_iter().map(|(severity, accounts)| Finding {
                check: SHARED.id,
                severity,
                title: SHARED.title.localized(),
                accounts,
            }));
    }
}

/// Run every check on `dump`.
pub fn audit(dump: &Dump, sources: &Sources<'_>, opts: &AuditOptions) -> AuditReport {
    let mut summary = Summary {
        accounts: dump.len(),
        audited: 0,
        disabled_skipped: 0,
        without_nt_hash: 0,
        privileged_audited: 0,
        with_history: 0,
        dictionary_candidates: sources.dictionary.map_or(0, Dictionary::candidate_count),
        breach_index_entries: sources.breach.map(BreachIndex::len),
    };
    let mut subjects = Vec::with_capacity(dump.len());
    let mut lm_accounts = Vec::new();
    for a in dump.accounts() {
        let status = sources.directory.and_then(|d| d.get(&a.name));
        let enabled = status.map(|s| s.enabled).or(a.enabled).unwrap_or(true);
        if !enabled && !opts.include_disabled {
            summary.disabled_skipped += 1;
            continue;
        }
        let privileged = status.map_or(PRIVILEGED_RIDS.contains(&a.rid), |s| s.privileged);
        if a.lm_stored {
            lm_accounts.push((a.display_name(), privileged));
        }
        if a.nt.is_none() {
            summary.without_nt_hash += 1;
            continue;
        }
        summary.audited += 1;
        summary.privileged_audited += usize::from(privileged);
        summary.with_history += usize::from(!a.history.is_empty());
        subjects.push(Subject {
            account: a,
            privileged,
        });
    }
    let threads = opts.threads.max(1);
    // The user-name and computer-account checks need only the accounts: they run beside the
    // grouping by hash and the checks that need the grouping, whose serial parts (the
    // grouping's passes over a million hashes) would otherwise leave a core idle.
    let (by_hash, username_hits, computer_hits, dictionary_hits, breach_named, shared) =
        std::thread::scope(|s| {
            let username = s.spawn(|| username_matches(&subjects, opts.year, threads));
            let computers = s.spawn(|| default_computer_matches(&subjects));
            let by_hash = ByHash::new(&subjects);
            let dictionary_hits = sources
                .dictionary
                .map(|d| by_hash.holders(&d.find(&by_hash.hashes, threads)));
            let breach_named = sources.breach.map(|index| {
                let classes = index.classes_batch_threads(by_hash.hashes.as_slice(), threads);
                let min = opts.min_breach_count;
                let breached = by_hash
                    .hashes
                    .as_slice()
                    .iter()
                    .zip(classes)
                    .filter(|&(_, c)| count_of_class(c).is_some_and(|c| min <= 1 || c >= min))
                    .map(|(h, _)| h);
                named_subjects(&subjects, by_hash.holders(breached), threads)
            });
            let shared = shared_groups(&subjects, &by_hash);
            let [username_hits, computer_hits] = [username, computers].map(|h| match h.join() {
                Ok(hits) => hits,
                Err(p) => std::panic::resume_unwind(p),
            });
            (
                by_hash,
                username_hits,
                computer_hits,
                dictionary_hits,
                breach_named,
                shared,
            )
        });
    let mut r = Recorder {
        subjects: &subjects,
        threads,
        findings: Vec::new(),
        outcomes: Vec::new(),
    };

    r.accounts(&EMPTY, by_hash.holders([&EMPTY_NT]));
    r.when(&DICTIONARY, dictionary_hits, "no dictionary");
    r.accounts(&USERNAME, username_hits);
    r.shared(shared);
    // Accounts without an NT hash count too.
    r.named(&LM_HASH, lm_accounts);
    r.accounts(&DEFAULT_COMPUTER, computer_hits);
    r.when_named(
        &BREACHED,
        breach_named,
        "no breach index given (--breached)",
    );
    let reused = (summary.with_history > 0).then(|| {
        (0..subjects.len())
            .filter(|&i| {
                let s = &subjects[i];
                s.nt().is_some_and(|nt| s.account.history.contains(&nt))
            })
            .collect()
    });
    r.when(
        &HISTORY_REUSE,
        reused,
        "the dump has no password history (secretsdump -history)",
    );

    let (mut findings, mut outcomes) = (r.findings, r.outcomes);
    let order = |id: &str| CHECKS.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    outcomes.sort_by_key(|o| order(o.check));
    findings.sort_by(|a, b| {
        order(a.check)
            .cmp(&order(b.check))
            .then(b.severity.cmp(&a.severity))
    });
    AuditReport {
        source: "passwords",
        summary,
        findings,
        checks: outcomes,
    }
}

/// HSH-06: computer accounts whose password is their lower-case name without `$`, whole or cut
/// at 14 characters (the pre-Windows 2000 default).
fn default_computer_matches(subjects: &[Subject<'_>]) -> Vec<usize> {
    let hasher = NtHasher;
    let mut utf16 = Vec::new();
    (0..subjects.len())
        .filter(|&i| {
            let s = &subjects[i];
            let Some(nt) = s.nt().filter(|_| s.account.is_machine()) else {
                return false;
            };
            let base = s.account.name.trim_end_matches('$').to_lowercase();
            let short: String = base.chars().take(14).collect();
            hasher.hash_into(&base, &mut utf16) == nt || hasher.hash_into(&short, &mut utf16) == nt
        })
        .collect()
}

/// Builds the variants of user names tried as their passwords, reusing its buffers from one
/// name to the next.
struct UsernameVariants {
    years: [String; 2],
    lower: String,
    cap: String,
    upper: String,
    reversed: String,
    buf: String,
    /// The same forms as UTF-16 units, for ASCII names (`ascii_name_matches`).
    units: AsciiForms,
}

/// What the variants of an ASCII user name add to its forms, laid out for hashing all the
/// variants of one name at once, one per MD4 lane (`UsernameVariants::ascii_name_matches`).
///
/// Lanes 0 to 4 hold the name as written, lower case, Capitalised, UPPER case and reversed;
/// lanes 5 to 9 the lower-case name followed by each suffix, lanes 10 to 14 the Capitalised
/// name followed by each suffix (`for_each`'s candidates); lane 15 repeats lane 1 and is not
/// compared. Each lane is one of five forms of the name ORed with a tail that depends only on
/// the name's length: the suffix, the `0x80` terminator and the bit length.
struct AsciiForms {
    /// `tails[n][w][l]`: word `w` of lane `l`'s tail for a name of `n` characters.
    tails: Vec<[Lanes; 16]>,
}

/// Row `w` of the lanes of a name's variants: word `w` of each lane's form ORed with the tail.
#[inline(always)]
fn lane_row(forms: &[[u32; 16]; 5], tail: &[Lanes; 16], w: usize) -> Lanes {
    // Each form's word broadcast and masked to its lanes: vertical operations only (written as
    // a per-lane choice of form, the compiler gathered or scattered the words one by one).
    let mut row = tail[w];
    for (form, mask) in FORM_MASKS.iter().enumerate() {
        let word = forms[form][w];
        for (x, m) in row.iter_mut().zip(mask) {
            *x |= word & m;
        }
    }
    row
}

/// `FORM_OF_LANE` as one mask per form: all ones in the lanes holding that form.
const FORM_MASKS: [Lanes; 5] = {
    let mut masks = [[0u32; LANES]; 5];
    let mut l = 0;
    while l < LANES {
        masks[FORM_OF_LANE[l]][l] = u32::MAX;
        l += 1;
    }
    masks
};

/// The form of the name in each lane: 0 as written, 1 lower case, 2 Capitalised, 3 UPPER case,
/// 4 reversed.
const FORM_OF_LANE: [usize; LANES] = [0, 1, 2, 3, 4, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 1];
/// The lanes holding a candidate (lane 15 repeats lane 1).
const CANDIDATE_LANES: u32 = (1 << 15) - 1;

impl AsciiForms {
    /// The tails for names of up to `ONE_BLOCK_UNITS` minus the longest suffix characters.
    fn new(suffixes: &[&[u16]; 5]) -> AsciiForms {
        let longest = suffixes.iter().map(|s| s.len()).max().unwrap_or(0);
        let suffix_of_lane = |l: usize| -> &[u16] {
            match l {
                5..10 => suffixes[l - 5],
                10..15 => suffixes[l - 10],
                _ => &[],
            }
        };
        let lanes: [&[u16]; LANES] = std::array::from_fn(suffix_of_lane);
        let tails = (0..=ONE_BLOCK_UNITS.saturating_sub(longest))
            .map(|n| tail_rows(n, &lanes))
            .collect();
        AsciiForms { tails }
    }
}

/// An ASCII string of up to 32 bytes, zero-padded: case changes and reversal work on its four
/// 64-bit words (SWAR), comparisons on the whole array.
type Ascii32 = [u8; 32];

fn words_of(s: &Ascii32) -> [u64; 4] {
    std::array::from_fn(|i| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&s[8 * i..8 * i + 8]);
        u64::from_le_bytes(b)
    })
}

fn bytes_of(w: [u64; 4]) -> Ascii32 {
    let mut s = [0u8; 32];
    for (chunk, w) in s.chunks_exact_mut(8).zip(w) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    s
}

/// The case bit (0x20) of every byte of `x` (ASCII bytes) from `lo` to `hi`.
fn case_bits(x: u64, lo: u64, hi: u64) -> u64 {
    (ge(x, lo) & !gt(x, hi) & HIGH) >> 2
}

fn ascii_lower(s: &Ascii32) -> Ascii32 {
    bytes_of(words_of(s).map(|x| x | case_bits(x, 0x41, 0x5a)))
}

fn ascii_upper(s: &Ascii32) -> Ascii32 {
    bytes_of(words_of(s).map(|x| x & !case_bits(x, 0x61, 0x7a)))
}

/// The 32 bytes in reverse order (the string's last byte lands at `32 - n`).
fn mirror(s: &Ascii32) -> Ascii32 {
    let w = words_of(s);
    bytes_of([
        w[3].swap_bytes(),
        w[2].swap_bytes(),
        w[1].swap_bytes(),
        w[0].swap_bytes(),
    ])
}

impl UsernameVariants {
    fn new(year: i32) -> Self {
        let years = [year.to_string(), (year - 1).to_string()];
        let year_units: [Vec<u16>; 2] = [
            years[0].encode_utf16().collect(),
            years[1].encode_utf16().collect(),
        ];
        let units = AsciiForms::new(&[
            &[0x31],
            &[0x31, 0x32, 0x33],
            &[0x21],
            &year_units[0],
            &year_units[1],
        ]);
        UsernameVariants {
            years,
            lower: String::new(),
            cap: String::new(),
            upper: String::new(),
            reversed: String::new(),
            buf: String::new(),
            units,
        }
    }

    /// Whether `ascii_name_matches` takes `name`: ASCII, not empty, and short enough for every
    /// variant to fit in one MD4 block.
    fn fits_ascii(&self, name: &str) -> bool {
        name.is_ascii() && (1..self.units.tails.len()).contains(&name.len())
    }

    /// Whether some variant of `name` (one that `fits_ascii`) has the hash `nt`: `for_each`'s
    /// candidates, hashed together in the sixteen lanes of one MD4 batch (see `AsciiForms`).
    /// Each lane's block is one of five forms of the name ORed with a precomputed tail, a
    /// vector operation per block word, where queuing the candidates one by one into the lanes
    /// of an `Md4Batch` cost several times more than hashing them.
    fn ascii_name_matches(&self, name: &[u8], nt: &NtHash) -> bool {
        let Some((forms, tail)) = self.ascii_name_forms(name) else {
            return false;
        };
        let row = |w: usize| lane_row(&forms, tail, w);
        let lanes = first_words_equal_rows(row, &[nt.first_word(); LANES]) & CANDIDATE_LANES;
        // A first word matches by chance once in 2^32 lanes: the whole hashes are rarely needed.
        lanes != 0 && {
            let hashes = md4_hashes(&std::array::from_fn(row));
            (0..LANES).any(|l| lanes & (1 << l) != 0 && hashes[l] == *nt)
        }
    }

    /// `ascii_name_matches` of two names (both taken by `fits_ascii`), hashed together.
    fn ascii_names_match(&self, names: [&[u8]; 2], nts: [&NtHash; 2]) -> [bool; 2] {
        let (Some((forms0, tail0)), Some((forms1, tail1))) = (
            self.ascii_name_forms(names[0]),
            self.ascii_name_forms(names[1]),
        ) else {
            return [
                self.ascii_name_matches(names[0], nts[0]),
                self.ascii_name_matches(names[1], nts[1]),
            ];
        };
        let expected = [[nts[0].first_word(); LANES], [nts[1].first_word(); LANES]];
        let lanes = first_words_equal_rows_pair(
            |w| lane_row(&forms0, tail0, w),
            |w| lane_row(&forms1, tail1, w),
            &expected,
        );
        // A first word matches by chance once in 2^32 lanes: a name whose lanes match is
        // confirmed on its own, whole hashes included.
        [
            lanes[0] & CANDIDATE_LANES != 0 && self.ascii_name_matches(names[0], nts[0]),
            lanes[1] & CANDIDATE_LANES != 0 && self.ascii_name_matches(names[1], nts[1]),
        ]
    }

    /// The MD4 blocks of the variants of `name` in the lanes given by `AsciiForms`.
    #[inline]
    #[cfg(test)]
    fn ascii_name_lanes(&self, name: &[u8]) -> Option<[Lanes; 16]> {
        let (forms, tail) = self.ascii_name_forms(name)?;
        Some(std::array::from_fn(|w| lane_row(&forms, tail, w)))
    }

    /// The five forms of `name` as MD4 words without terminator (as written, lower case,
    /// Capitalised, UPPER case, reversed: `AsciiForms`), and the tail for its length.
    #[inline]
    fn ascii_name_forms(&self, name: &[u8]) -> Option<([[u32; 16]; 5], &[Lanes; 16])> {
        let n = name.len();
        let tail = self.units.tails.get(n)?;
        let mut as_written: Ascii32 = [0; 32];
        as_written[..n].copy_from_slice(name);
        let lower = ascii_lower(&as_written);
        let upper = ascii_upper(&as_written);
        // The 32 bytes reversed put the name's last byte at 32 - n.
        let mirrored = mirror(&lower);
        let mut reversed: Ascii32 = [0; 32];
        reversed[..n].copy_from_slice(&mirrored[32 - n..]);
        let lower_stem = Block::ascii_stem(&lower);
        let forms: [[u32; 16]; 5] = [
            *Block::ascii_stem(&as_written).words(),
            *lower_stem.words(),
            *lower_stem.with_unit(0, u16::from(upper[0])).words(),
            *Block::ascii_stem(&upper).words(),
            *Block::ascii_stem(&reversed).words(),
        ];
        Some((forms, tail))
    }

    /// Call `f` with each variant of `name`: the name as written, lower case, Capitalised, UPPER
    /// case and reversed (without repeats); then the lower-case and Capitalised forms followed by
    /// `1`, `123`, `!`, the year or the previous year.
    fn for_each(&mut self, name: &str, mut f: impl FnMut(&str)) {
        let UsernameVariants {
            years,
            lower,
            cap,
            upper,
            reversed,
            buf,
            units: _,
        } = self;
        for s in [&mut *lower, &mut *cap, &mut *upper, &mut *reversed] {
            s.clear();
        }
        if name.is_ascii() {
            lower.extend(name.chars().map(|c| c.to_ascii_lowercase()));
            upper.extend(name.chars().map(|c| c.to_ascii_uppercase()));
            if let Some(first) = lower.chars().next() {
                cap.push(first.to_ascii_uppercase());
                cap.push_str(&lower[1..]);
            }
        } else {
            lower.push_str(&name.to_lowercase());
            upper.push_str(&name.to_uppercase());
            let mut chars = lower.chars();
            if let Some(c) = chars.next() {
                cap.extend(c.to_uppercase());
                cap.push_str(chars.as_str());
            }
        }
        reversed.extend(lower.chars().rev());
        let bare: [&str; 5] = [name, lower, cap, upper, reversed];
        for (i, b) in bare.iter().enumerate() {
            if !b.is_empty() && !bare[..i].contains(b) {
                f(b);
            }
        }
        let suffixes: [&str; 5] = ["1", "123", "!", &years[0], &years[1]];
        let forms: &[&str] = if cap != lower {
            &[lower, cap]
        } else {
            &[lower]
        };
        for b in forms {
            for s in suffixes {
                buf.clear();
                buf.push_str(b);
                buf.push_str(s);
                f(buf);
            }
        }
    }
}

/// Subjects (user accounts) whose password is a variant of their name. The variants are hashed
/// `LANES` at a time, split over `threads`.
fn username_matches(subjects: &[Subject<'_>], year: i32, threads: usize) -> Vec<usize> {
    let n = subjects.len() as u32;
    let chunk = n.div_ceil(threads.max(1) as u32).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk as usize)
            .map(|from| {
                let part = from..n.min(from + chunk);
                s.spawn(move || {
                    let mut variants = UsernameVariants::new(year);
                    // Names that do not fit `ascii_name_matches` go through a batch.
                    let mut batch: Md4Batch<u32> = Md4Batch::expecting();
                    let mut hit = Vec::new();
                    let mut batch_hit = Vec::new();
                    let mut done = |i: u32, h: NtHash| {
                        if subjects[i as usize].nt() == Some(h) {
                            batch_hit.push(i as usize);
                        }
                    };
                    let mut waiting: Option<(u32, NtHash)> = None;
                    for i in part {
                        let subject = &subjects[i as usize];
                        let name = &subject.account.name;
                        // Computer accounts (`NAME$`) have their own check.
                        let Some(nt) = subject.nt().filter(|_| !subject.account.is_machine())
                        else {
                            continue;
                        };
                        if variants.fits_ascii(name) {
                            // Two names at a time (`first_words_equal_rows_pair`); a name
                            // waits for the next, and the last one left goes alone.
                            let Some((j, nt_j)) = waiting.take() else {
                                waiting = Some((i, nt));
                                continue;
                            };
                            let name_j = subjects[j as usize].account.name.as_bytes();
                            let [hit_j, hit_i] =
                                variants.ascii_names_match([name_j, name.as_bytes()], [&nt_j, &nt]);
                            if hit_j {
                                hit.push(j as usize);
                            }
                            if hit_i {
                                hit.push(i as usize);
                            }
                        } else {
                            batch.expect(&nt);
                            variants.for_each(name, |cand| {
                                batch.push_str(cand, i, &mut done);
                            });
                        }
                    }
                    if let Some((j, nt_j)) = waiting {
                        let name_j = subjects[j as usize].account.name.as_bytes();
                        if variants.ascii_name_matches(name_j, &nt_j) {
                            hit.push(j as usize);
                        }
                    }
                    batch.finish(&mut done);
                    hit.extend(batch_hit);
                    hit
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(v) => all.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_variants_cover_case_reverse_digits_and_year() {
        let mut v = UsernameVariants::new(2026);
        let mut seen = Vec::new();
        v.for_each("JDupont", |c| seen.push(c.to_string()));
        for want in [
            "JDupont",
            "jdupont",
            "Jdupont",
            "JDUPONT",
            "tnopudj",
            "jdupont1",
            "Jdupont123",
            "jdupont!",
            "Jdupont2026",
            "jdupont2025",
        ] {
            assert!(
                seen.iter().any(|s| s == want),
                "{want} missing from {seen:?}"
            );
        }
        assert_eq!(seen.len(), 5 + 2 * 5);
        let mut digits_only = Vec::new();
        v.for_each("1234", |c| digits_only.push(c.to_string()));
        assert_eq!(
            digits_only,
            [
                "1234", "4321", "12341", "1234123", "1234!", "12342026", "12342025"
            ]
        );
    }

    #[test]
    fn swar_case_and_mirror_agree_with_std_on_every_ascii_byte() {
        for b in 0..0x80u8 {
            for at in [0, 7, 8, 31] {
                let mut s: Ascii32 = [b'x'; 32];
                s[at] = b;
                assert_eq!(ascii_lower(&s), s.map(|c| c.to_ascii_lowercase()), "{b}");
                assert_eq!(ascii_upper(&s), s.map(|c| c.to_ascii_uppercase()), "{b}");
                let mut r = s;
                r.reverse();
                assert_eq!(mirror(&s), r);
            }
        }
    }

    #[test]
    fn user_names_hashed_two_at_a_time_or_alone_find_the_same_accounts() {
        let accounts: Vec<Account> = [
            ("alice", "alice123"),
            ("bob", "S3cure!pass"),
            ("carol", "lorac!"),
            ("dave", "Dave2026"),
            ("élodie", "élodie"),
            ("WKS01$", "wks01$"),
            ("erin", "not-erin"),
            ("frank", "knarf"),
            ("gus", "gus"),
        ]
        .iter()
        .zip(1000..)
        .map(|(&(name, password), rid)| Account {
            domain: Some(std::sync::Arc::from("CHU")),
            name: name.into(),
            rid,
            line: rid as usize - 999,
            lm_stored: false,
            nt: Some(NtHash::of_password(password)),
            history: Box::default(),
            enabled: None,
        })
        .collect();
        let subjects: Vec<Subject<'_>> = accounts
            .iter()
            .map(|account| Subject {
                account,
                privileged: false,
            })
            .collect();
        // Found as the first of a pair ("alice"), the second ("frank", reversed), and alone
        // at the end of a thread's share ("gus" with one thread, "dave" with three);
        // "élodie" is not ASCII and goes through a batch; the computer account has its own
        // check.
        let want = vec![0, 3, 4, 7, 8];
        for threads in [1, 2, 3] {
            let mut got = username_matches(&subjects, 2026, threads);
            got.sort_unstable();
            assert_eq!(got, want, "threads={threads}");
        }
        let variants = UsernameVariants::new(2026);
        let nts: Vec<NtHash> = accounts.iter().filter_map(|a| a.nt).collect();
        for (i, j) in [(0, 1), (1, 0), (1, 2), (3, 8), (8, 7)] {
            let names = [accounts[i].name.as_bytes(), accounts[j].name.as_bytes()];
            let got = variants.ascii_names_match(names, [&nts[i], &nts[j]]);
            let alone =
                [0, 1].map(|k| variants.ascii_name_matches(names[k], [&nts[i], &nts[j]][k]));
            assert_eq!(got, alone, "{i} {j}");
            assert_eq!(got, [want.contains(&i), want.contains(&j)], "{i} {j}");
        }
    }

    #[test]
    fn ascii_variants_are_the_string_variants() {
        // Year 10026: five-digit suffixes leave room for shorter names only.
        for year in [2026, 10026] {
            ascii_variants_match(year);
        }
    }

    fn ascii_variants_match(year: i32) {
        let mut v = UsernameVariants::new(year);
        for name in [
            "JDupont",
            "jdupont",
            "JDUPONT",
            "1234",
            "a",
            "A",
            "aBc_d-e.f",
            "svc_backup_really_long_account_name",
            "abcdefghijklmnopqrstuvw",
            "ABCDEFGHIJKLMNOPQRSTUVWX",
            "x$",
            "",
        ] {
            let mut strings = Vec::new();
            v.for_each(name, |c| {
                strings.push(c.encode_utf16().collect::<Vec<u16>>())
            });
            if !v.fits_ascii(name) {
                let longest_suffix = year.to_string().len().max(3);
                assert!(
                    name.is_empty() || name.len() + longest_suffix > ONE_BLOCK_UNITS,
                    "{name}"
                );
                continue;
            }
            // Every lane holds a candidate of `for_each` and each candidate is in a lane.
            let m = v.ascii_name_lanes(name.as_bytes()).expect("fits");
            let lanes: Vec<Vec<u16>> = (0..LANES)
                .map(|l| Block::from_words(std::array::from_fn(|w| m[w][l])).units())
                .collect();
            assert_eq!(lanes[15], lanes[1], "{name}");
            let mut got = lanes[..15].to_vec();
            got.sort();
            got.dedup();
            strings.sort();
            assert_eq!(got, strings, "{name}");
            // Each lane's hash is its candidate's, and a name matches exactly its candidates.
            let hashes = md4_hashes(&m);
            for (l, units) in lanes.iter().enumerate() {
                let text = String::from_utf16(units).expect("ASCII");
                assert_eq!(hashes[l], NtHash::of_password(&text), "{name} lane {l}");
                assert!(
                    v.ascii_name_matches(name.as_bytes(), &hashes[l]),
                    "{name} {l}"
                );
            }
            assert!(!v.ascii_name_matches(name.as_bytes(), &NtHash::of_password("Str0ng!pass")));
        }
    }
}
