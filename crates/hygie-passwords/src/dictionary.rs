//! A built-in dictionary of weak passwords that fit French hospitals, with mutation rules.
//!
//! Candidates are generated lazily (one reusable buffer, nothing materialised), hashed, and looked
//! up in the set of NT hashes present in the dump: the cost grows with the dictionary, not with
//! accounts × dictionary.
//!
//! Mutations of every base word: case (lower, Capitalised, UPPER) × digit suffix (none, 0-9,
//! 00-99, 123, 1234, 12345, 123456, and the years 1950 to next year) × symbol suffix (none or one
//! of `! @ # $ * . ? & + - _`). Words of a `--wordlist` file are tried verbatim.

use crate::hash::{
    Block, HashTable, LANES, Lanes, Md4Batch, NtHash, ONE_BLOCK_UNITS, PADDED, md4_rows,
    md4_rows_pair, tail_rows,
};
use std::collections::HashSet;

/// Facility, care-unit and job words.
const HOSPITAL: &[&str] = &[
    "hopital",
    "hôpital",
    "hospital",
    "clinique",
    "chu",
    "chru",
    "chr",
    "ght",
    "ehpad",
    "sante",
    "santé",
    "patient",
    "patients",
    "soins",
    "soignant",
    "infirmier",
    "infirmiere",
    "infirmière",
    "ide",
    "medecin",
    "médecin",
    "docteur",
    "doctor",
    "interne",
    "externe",
    "chirurgien",
    "chirurgie",
    "bloc",
    "blocop",
    "urgence",
    "urgences",
    "sau",
    "samu",
    "smur",
    "reanimation",
    "réanimation",
    "rea",
    "pharmacie",
    "pharma",
    "radiologie",
    "radio",
    "imagerie",
    "scanner",
    "irm",
    "laboratoire",
    "labo",
    "biologie",
    "cardiologie",
    "cardio",
    "pediatrie",
    "pédiatrie",
    "maternite",
    "maternité",
    "neonat",
    "obstetrique",
    "gynecologie",
    "psychiatrie",
    "psy",
    "geriatrie",
    "gériatrie",
    "oncologie",
    "neurologie",
    "pneumologie",
    "dialyse",
    "nephrologie",
    "orthopedie",
    "accueil",
    "admission",
    "admissions",
    "secretariat",
    "secrétariat",
    "cadre",
    "direction",
    "dsi",
    "qualite",
    "hygiene",
    "cuisine",
    "logistique",
    "brancardier",
    "kine",
    "consultation",
    "ambulance",
    "hospitalisation",
    "medical",
    "médical",
    "dossier",
    "dpi",
    "pacs",
    "stagiaire",
    "interim",
    "formation",
    "informatique",
    "support",
    "helpdesk",
    "hotline",
];

/// Seasons, months, days and holidays (French and English).
const CALENDAR: &[&str] = &[
    "printemps",
    "ete",
    "été",
    "automne",
    "hiver",
    "janvier",
    "fevrier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "décembre",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "noel",
    "noël",
    "paques",
    "toussaint",
    "vacances",
    "summer",
    "winter",
    "spring",
    "autumn",
];

/// Keyboard walks (AZERTY and QWERTY) and digit sequences.
const KEYBOARD: &[&str] = &[
    "azerty",
    "azertyuiop",
    "azertyu",
    "azer",
    "qwerty",
    "qwertyuiop",
    "qwertz",
    "qsdfgh",
    "qsdfghjklm",
    "wxcvbn",
    "azertyqsdf",
    "aqwzsx",
    "azqswx",
    "1qaz2wsx",
    "a1z2e3r4",
    "a1z2e3",
    "&é\"'(-è_çà",
    "&é\"'(",
    "&é\"'",
    "abc",
    "abcd",
    "abcdef",
    "abc123",
    "aaaaaa",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "987654321",
    "111111",
    "000000",
    "123123",
    "121212",
    "654321",
    "147258369",
    "159753",
    "147258",
    "741852963",
    "1234",
    "0000",
    "1111",
];

/// Everyday weak choices.
const COMMON: &[&str] = &[
    "motdepasse",
    "mdp",
    "password",
    "passw0rd",
    "pass",
    "bienvenue",
    "bonjour",
    "welcome",
    "changeme",
    "changemoi",
    "secret",
    "admin",
    "administrateur",
    "administrator",
    "root",
    "test",
    "toto",
    "titi",
    "tata",
    "soleil",
    "loulou",
    "doudou",
    "chouchou",
    "tresor",
    "trésor",
    "amour",
    "jetaime",
    "chocolat",
    "marseille",
    "paris",
    "lyon",
    "france",
    "bretagne",
    "toulouse",
    "nantes",
    "bordeaux",
    "lille",
    "nice",
    "strasbourg",
    "montpellier",
    "rennes",
    "football",
    "psg",
    "olympique",
    "liberte",
    "coucou",
    "bisous",
    "nounours",
    "princesse",
    "dragon",
    "iloveyou",
    "superman",
    "batman",
    "starwars",
    "pokemon",
    "sunshine",
    "letmein",
    "master",
    "utilisateur",
    "user",
    "guest",
    "invite",
    "default",
    "defaut",
    "temporaire",
    "provisoire",
    "nouveau",
    "demo",
    "windows",
    "microsoft",
    "outlook",
    "citrix",
    "office",
];

/// Common French first names (several generations) and surnames.
const NAMES: &[&str] = &[
    "marie",
    "jean",
    "pierre",
    "michel",
    "philippe",
    "alain",
    "nicolas",
    "christophe",
    "patrick",
    "daniel",
    "bernard",
    "eric",
    "frederic",
    "laurent",
    "stephane",
    "david",
    "olivier",
    "julien",
    "thomas",
    "sebastien",
    "alexandre",
    "antoine",
    "francois",
    "jacques",
    "christian",
    "dominique",
    "isabelle",
    "nathalie",
    "sylvie",
    "catherine",
    "francoise",
    "christine",
    "monique",
    "sandrine",
    "valerie",
    "sophie",
    "celine",
    "stephanie",
    "veronique",
    "julie",
    "aurelie",
    "camille",
    "laura",
    "sarah",
    "emma",
    "lea",
    "manon",
    "chloe",
    "ines",
    "jade",
    "louise",
    "alice",
    "lina",
    "rose",
    "anna",
    "lucas",
    "hugo",
    "louis",
    "gabriel",
    "arthur",
    "jules",
    "raphael",
    "leo",
    "adam",
    "nathan",
    "ethan",
    "paul",
    "mathis",
    "theo",
    "noah",
    "tom",
    "enzo",
    "maxime",
    "quentin",
    "kevin",
    "romain",
    "anthony",
    "jeremy",
    "guillaume",
    "vincent",
    "benjamin",
    "mathieu",
    "florian",
    "clement",
    "pauline",
    "marion",
    "elodie",
    "emilie",
    "caroline",
    "virginie",
    "audrey",
    "melanie",
    "laetitia",
    "helene",
    "anne",
    "martine",
    "nicole",
    "brigitte",
    "jacqueline",
    "annie",
    "chantal",
    "michele",
    "patricia",
    "sabine",
    "karine",
    "severine",
    "delphine",
    "agnes",
    "claire",
    "charlotte",
    "juliette",
    "mathilde",
    "clara",
    "lucie",
    "margaux",
    "oceane",
    "mohamed",
    "ahmed",
    "fatima",
    "yasmine",
    "nadia",
    "karim",
    "mehdi",
    "yanis",
    "rayan",
    "amine",
    "samir",
    "martin",
    "dubois",
    "durand",
    "leroy",
    "moreau",
    "lefebvre",
    "garcia",
    "roux",
    "fournier",
    "girard",
];

const SYMBOLS: &[&str] = &["", "!", "@", "#", "$", "*", ".", "?", "&", "+", "-", "_"];
const SEQUENCES: &[&str] = &["123", "1234", "12345", "123456"];
const FIRST_YEAR: i32 = 1950;

/// The weak-password dictionary: base words (mutated) and verbatim candidates.
#[derive(Debug, Clone)]
pub struct Dictionary {
    words: Vec<String>,
    verbatim: Vec<String>,
    last_year: i32,
}

impl Dictionary {
    /// The built-in French-hospital dictionary; `year` is the current year (years up to next year
    /// are tried as suffixes).
    pub fn builtin(year: i32) -> Dictionary {
        let mut d = Dictionary {
            words: Vec::new(),
            verbatim: Vec::new(),
            last_year: year + 1,
        };
        d.add_words(
            HOSPITAL
                .iter()
                .chain(CALENDAR)
                .chain(KEYBOARD)
                .chain(COMMON)
                .chain(NAMES)
                .copied(),
        );
        d
    }

    /// An empty dictionary (tests; a `--wordlist` used alone).
    pub fn empty(year: i32) -> Dictionary {
        Dictionary {
            words: Vec::new(),
            verbatim: Vec::new(),
            last_year: year + 1,
        }
    }

    /// Add base words (facility name, city...): each is mutated like the built-in ones. Words are
    /// lowercased and de-duplicated.
    pub fn add_words<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        let mut seen: HashSet<String> = self.words.iter().cloned().collect();
        for w in words {
            let w = w.trim().to_lowercase();
            if !w.is_empty() && seen.insert(w.clone()) {
                self.words.push(w);
            }
        }
    }

    /// Add candidates tried exactly as written (a wordlist file, one per line).
    pub fn add_verbatim<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        self.verbatim.extend(
            words
                .into_iter()
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        );
    }

    pub fn base_words(&self) -> usize {
        self.words.len()
    }

    fn suffix_count(&self) -> usize {
        1 + 10 + 100 + SEQUENCES.len() + (self.last_year - FIRST_YEAR + 1).max(0) as usize
    }

    /// Number of candidates `for_each_candidate` produces (before de-duplication of case forms).
    pub fn candidate_count(&self) -> u64 {
        let per_case = (self.suffix_count() * SYMBOLS.len()) as u64;
        let cases: u64 = self.words.iter().map(|w| case_forms(w).len() as u64).sum();
        cases * per_case + self.verbatim.len() as u64
    }

    /// Digit suffixes, in generation order: none, 0-9, 00-99, sequences, years.
    fn digit_suffixes(&self) -> Vec<String> {
        let mut v = Vec::with_capacity(self.suffix_count());
        v.push(String::new());
        v.extend((0..10).map(|n| n.to_string()));
        v.extend((0..100).map(|n| format!("{n:02}")));
        v.extend(SEQUENCES.iter().map(|s| s.to_string()));
        v.extend((FIRST_YEAR..=self.last_year).map(|y| y.to_string()));
        v
    }

    /// Call `f` with every candidate, generated one at a time into a reused buffer.
    pub fn for_each_candidate(&self, mut f: impl FnMut(&str)) {
        let suffixes = self.digit_suffixes();
        let mut buf = String::with_capacity(64);
        for w in &self.words {
            for form in case_forms(w) {
                for d in &suffixes {
                    for sym in SYMBOLS {
                        buf.clear();
                        buf.push_str(&form);
                        buf.push_str(d);
                        buf.push_str(sym);
                        f(&buf);
                    }
                }
            }
        }
        for v in &self.verbatim {
            f(v);
        }
    }

    /// The hashes of `targets` that some candidate produces. Work is split over `threads`.
    ///
    /// Same candidates as `for_each_candidate`, but assembled directly as UTF-16LE pieces (word
    /// form, digits, symbol) in the MD4 block, hashed `LANES` at a time: no string is built per
    /// candidate.
    pub(crate) fn find(&self, targets: &HashTable, threads: usize) -> Vec<NtHash> {
        if targets.as_slice().is_empty() {
            return Vec::new();
        }
        let threads = threads.max(1);
        let suffixes: Vec<Vec<u16>> = self
            .digit_suffixes()
            .iter()
            .map(|s| s.encode_utf16().collect())
            .collect();
        let symbols: Vec<Vec<u16>> = SYMBOLS.iter().map(|s| s.encode_utf16().collect()).collect();
        let endings = Endings::new(&suffixes, &symbols);
        let mut all = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for t in 0..threads {
                let endings = &endings;
                handles.push(s.spawn(move || {
                    let mut found = Vec::new();
                    let mut done = |(), h: NtHash| {
                        if targets.contains(&h) {
                            found.push(h);
                        }
                    };
                    // Forms too long for every ending to fit in one block, and `--wordlist`
                    // words, go through a batch.
                    let mut batch: Md4Batch<()> = Md4Batch::new();
                    let mut buf: Vec<u16> = Vec::with_capacity(64);
                    for w in self.words.iter().skip(t).step_by(threads) {
                        for form in case_forms(w) {
                            let form: Vec<u16> = form.encode_utf16().collect();
                            if let Some(tails) = endings.tails(form.len()) {
                                let mut padded = [0u16; PADDED];
                                padded[..form.len()].copy_from_slice(&form);
                                let stem = *Block::stem(&padded, form.len()).words();
                                // Each row: the form's word in every lane, ORed with the
                                // lanes' endings. The word is read once, before the lanes:
                                // read inside the loop over lanes, the compiler built the rows
                                // with a gather and a scatter each, which took half the time
                                // of the whole dictionary check (AMD EPYC, one thread: 46 ms
                                // before, 23 ms after).
                                let row = |tail: &[Lanes; 16], w: usize| {
                                    let word = stem[w];
                                    tail[w].map(|x| x | word)
                                };
                                let mut report = |k: usize, [a, b, c, d]: [Lanes; 4]| {
                                    for l in 0..endings.lanes_of(k) {
                                        done((), NtHash::from_words([a[l], b[l], c[l], d[l]]));
                                    }
                                };
                                // Two batches of endings at a time (`md4_rows_pair`).
                                for (p, two) in tails.chunks(2).enumerate() {
                                    match two {
                                        [t0, t1] => {
                                            let [s0, s1] =
                                                md4_rows_pair(|w| row(t0, w), |w| row(t1, w));
                                            report(2 * p, s0);
                                            report(2 * p + 1, s1);
                                        }
                                        [t0] => report(2 * p, md4_rows(|w| row(t0, w))),
                                        _ => {}
                                    }
                                }
                                continue;
                            }
                            for ending in &endings.endings {
                                buf.clear();
                                buf.extend_from_slice(&form);
                                buf.extend_from_slice(ending);
                                batch.push_units(&buf, (), &mut done);
                            }
                        }
                    }
                    for v in self.verbatim.iter().skip(t).step_by(threads) {
                        batch.push_str(v, (), &mut done);
                    }
                    batch.finish(&mut done);
                    found
                }));
            }
            let mut all = Vec::new();
            for h in handles {
                // A panicking worker is a bug, not bad input; propagate it.
                match h.join() {
                    Ok(found) => all.extend(found),
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            all
        });
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// The endings of every candidate of a form (a digit suffix, then a symbol), laid out for
/// hashing a form's candidates sixteen at a time, one per MD4 lane: lane `l` of batch `k` is
/// ending `16 k + l`, in generation order. The tail of an ending after a form of `n` units (its
/// units from `n` on, the `0x80` terminator and the bit length) depends only on `n`: a form's
/// lanes are its words ORed with the tails for its length, one vector operation per block word,
/// where queuing each candidate into a lane cost several times more than hashing it.
struct Endings {
    /// The endings (digit suffixes × symbols), in generation order.
    endings: Vec<Vec<u16>>,
    /// `tails[n]`: the batches of tails after a form of `n` units, for every `n` up to the
    /// longest that leaves room for every ending.
    tails: Vec<Vec<[Lanes; 16]>>,
}

impl Endings {
    fn new(suffixes: &[Vec<u16>], symbols: &[Vec<u16>]) -> Endings {
        let endings: Vec<Vec<u16>> = suffixes
            .iter()
            .flat_map(|d| symbols.iter().map(move |s| [&d[..], s].concat()))
            .collect();
        let longest = endings.iter().map(Vec::len).max().unwrap_or(0);
        let tails = (0..=ONE_BLOCK_UNITS.saturating_sub(longest))
            .map(|n| {
                endings
                    .chunks(LANES)
                    .map(|batch| {
                        let batch: Vec<&[u16]> = batch.iter().map(Vec::as_slice).collect();
                        tail_rows(n, &batch)
                    })
                    .collect()
            })
            .collect();
        Endings { endings, tails }
    }

    /// The batches of tails after a form of `n` units, if every ending fits after it.
    fn tails(&self, n: usize) -> Option<&[[Lanes; 16]]> {
        self.tails.get(n).map(Vec::as_slice)
    }

    /// Lanes holding an ending in batch `k` (the last batch may be partly empty).
    fn lanes_of(&self, k: usize) -> usize {
        self.endings.len().saturating_sub(k * LANES).min(LANES)
    }
}

/// lower, Capitalised, UPPER, without duplicates (`123456` has a single form).
fn case_forms(word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let mut cap = String::with_capacity(lower.len());
    let mut chars = lower.chars();
    if let Some(c) = chars.next() {
        cap.extend(c.to_uppercase());
        cap.push_str(chars.as_str());
    }
    let upper = word.to_uppercase();
    let mut v = vec![lower];
    for f in [cap, upper] {
        if !v.contains(&f) {
            v.push(f);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_covers_the_expected_weak_choices() {
        let d = Dictionary::builtin(2026);
        let yes = [
            "Hopital2026",
            "hôpital",
            "Soleil!",
            "AZERTY",
            "azerty123",
            "Printemps2027",
            "Ete2025!",
            "été",
            "Urgences01",
            "Marie1985",
            "Decembre.",
            "&é\"'(",
            "123456",
            "Motdepasse1",
            "qwerty@",
            "Julien99",
        ];
        let no = ["Hopital2028", "xK9#mQ2$vL7!pR", "soleil2026!!", "Zz"];
        let mut seen = HashSet::new();
        d.for_each_candidate(|c| {
            if yes.contains(&c) || no.contains(&c) {
                seen.insert(c.to_string());
            }
        });
        for pw in yes {
            assert!(seen.contains(pw), "{pw} should be a candidate");
        }
        for pw in no {
            assert!(!seen.contains(pw), "{pw} should not be a candidate");
        }
    }

    #[test]
    fn candidate_count_matches_the_generator_and_stays_bounded() {
        let mut d = Dictionary::empty(2026);
        d.add_words(["Soleil", "soleil", "1234"]);
        d.add_verbatim(["x", "", "y"]);
        let mut n = 0u64;
        d.for_each_candidate(|_| n += 1);
        assert_eq!(n, d.candidate_count());
        // soleil: 3 case forms, 1234: 1 form; (1+10+100+4+78) suffixes x 12 symbols; + 2 verbatim.
        assert_eq!(n, 4 * 193 * 12 + 2);
        let b = Dictionary::builtin(2026).candidate_count();
        assert!((1_000_000..10_000_000).contains(&b), "{b} candidates");
    }

    #[test]
    fn find_returns_only_dump_hashes_hit_by_candidates() {
        let mut d = Dictionary::empty(2026);
        d.add_words(["urgences", "soleil"]);
        d.add_verbatim(["Tr0ub4dor&3"]);
        let weak = [
            NtHash::of_password("Urgences2026!"),
            NtHash::of_password("Tr0ub4dor&3"),
        ];
        let strong = NtHash::of_password("correct horse battery staple 42");
        let targets = HashTable::new(weak.iter().chain([&strong]).copied().collect());
        let mut want = weak.to_vec();
        want.sort();
        for threads in [1, 2, 3] {
            assert_eq!(d.find(&targets, threads), want, "threads={threads}");
        }
        // The fast path finds exactly what hashing every generated candidate finds, with a
        // non-ASCII word and one too long for every ending to fit after it (the batch path).
        // In 2026 the endings make an odd number of batches of sixteen (the last, partial one
        // is hashed alone); in 2027 an even number (it is the second of a pair).
        for year in [2026, 2027] {
            let mut d = Dictionary::empty(year);
            d.add_words(["urgences", "hôpital", "reanimationchirurgicale"]);
            let endings = d.digit_suffixes().len() * SYMBOLS.len();
            assert_eq!(
                endings.div_ceil(LANES) % 2,
                usize::from(year == 2026),
                "{year}"
            );
            let mut all = Vec::new();
            d.for_each_candidate(|c| all.push(NtHash::of_password(c)));
            let all = HashTable::new(all);
            assert_eq!(d.find(&all, 2), all.as_slice(), "{year}");
        }
    }
}
