//! Matching a facility's inventoried software against the feeds.
//!
//! **Finding the product** ([`Index::lookup`]), in this order, the first that applies:
//! 1. the inventory's publisher (through the vendor aliases) and name equal a CPE's vendor and
//!    product after [`normalise`](crate::names::normalise): certainty **exact CPE**;
//! 2. the name is in the alias table (`data/aliases.toml`), or is the CPE product with the
//!    publisher's name in front (`Mozilla Firefox` of `mozilla`), or, without a publisher, is the
//!    product of exactly one vendor in the feed: **normalised name**; several vendors with that
//!    product and no publisher to choose (none, or a distribution such as `Debian`, which packages
//!    other people's software): **unmatched, ambiguous** (never a guess);
//! 3. the publisher is a feed vendor and the words of one of its products all appear in the name
//!    (`Adobe Acrobat Reader DC Français` for `acrobat_reader_dc`; the longest such product):
//!    **vendor only**, to confirm by a person;
//! 4. else **unmatched, unknown product**.
//!
//! **Then the version**: no version, or one without a digit: unmatched (the product is named).
//! Otherwise each vulnerable CPE range of the product is tested ([`CpeRange::contains`], rule in
//! [`crate::version`]). A CVE the KEV catalogue lists is marked known exploited (and ransomware
//! when KEV says so); KEV alone decides nothing (it names products, not versions).
//!
//! **Cost**: the index is one hash map from normalised (vendor, product) to its ranges, whose
//! bounds are parsed once; an inventory repeats the same (name, publisher) with a few versions on
//! many assets, so each (name, publisher) is looked up once, each distinct (name, publisher,
//! version) is parsed and tested once, and its verdict is shared ([`Arc`]) by every asset that
//! has it. Lookups and tests run across the cores ([`Index::match_assets`]).

use crate::certfr::{Advisory, AdvisoryKind};
use crate::feed::{CveRecord, KevEntry, ParsedRange};
use crate::names::{Aliases, normalise, normalise_vendor};
use crate::version;
use hygie_inventory::{Asset, Software};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How sure a match is of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    ExactCpe,
    NormalisedName,
    VendorOnly,
}

impl Certainty {
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::ExactCpe => "exact_cpe",
            Certainty::NormalisedName => "normalised_name",
            Certainty::VendorOnly => "vendor_only",
        }
    }

    /// In the user's words: `(en, fr)`.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Certainty::ExactCpe => ("exact CPE", "CPE exact"),
            Certainty::NormalisedName => ("normalised name", "nom normalisé"),
            Certainty::VendorOnly => ("vendor only", "éditeur seul"),
        }
    }
}

/// Why a software was not matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unmatched {
    /// No feed product by that name (or publisher).
    UnknownProduct,
    /// Several vendors make a product of that name and the inventory names no publisher.
    Ambiguous { vendors: Vec<String> },
    /// The product is known (`cpe`) but the inventory gives no version.
    NoVersion { cpe: String },
    /// The product is known but the version has no digit to compare.
    UnreadableVersion { cpe: String },
}

impl Unmatched {
    /// In the user's words: `(en, fr)`.
    pub fn words(&self) -> (&'static str, &'static str) {
        match self {
            Unmatched::UnknownProduct => ("no such product in the feed", "produit absent du flux"),
            Unmatched::Ambiguous { .. } => (
                "ambiguous: several vendors, no publisher",
                "ambigu : plusieurs éditeurs, aucun indiqué",
            ),
            Unmatched::NoVersion { .. } => ("no version", "sans version"),
            Unmatched::UnreadableVersion { .. } => ("unreadable version", "version illisible"),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Unmatched::UnknownProduct => "unknown_product",
            Unmatched::Ambiguous { .. } => "ambiguous",
            Unmatched::NoVersion { .. } => "no_version",
            Unmatched::UnreadableVersion { .. } => "unreadable_version",
        }
    }
}

/// One CVE a software version is in (its id and KEV date shared with the index: a register's
/// millions of hits allocate nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct CveHit {
    pub cve: Arc<str>,
    pub score: Option<f32>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    pub kev: bool,
    /// KEV says it is known to be used in ransomware campaigns.
    pub ransomware: bool,
    /// KEV's due date for US federal agencies: a yardstick of urgency.
    pub kev_due: Option<Arc<str>>,
    /// The CVE's configuration also requires another product ("running on"), not checked.
    pub conditional: bool,
    /// The CERT-FR advisories citing this CVE, newest first (shared with the index).
    pub certfr: Arc<[Arc<str>]>,
}

impl Serialize for CveHit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("cve", &*self.cve)?;
        m.serialize_entry("score", &self.score)?;
        m.serialize_entry("kev", &self.kev)?;
        m.serialize_entry("ransomware", &self.ransomware)?;
        if let Some(d) = &self.kev_due {
            m.serialize_entry("kev_due", &**d)?;
        }
        m.serialize_entry("conditional", &self.conditional)?;
        if !self.certfr.is_empty() {
            let refs: Vec<&str> = self.certfr.iter().map(|r| &**r).collect();
            m.serialize_entry("certfr", &refs)?;
        }
        m.end()
    }
}

/// The verdict on one (name, publisher, version), shared by every asset that has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub software: Software,
    /// NVD's `vendor:product`.
    pub cpe: String,
    pub certainty: Certainty,
    /// The version is a distribution package's: a backported fix is not visible
    /// ([`crate::version`]).
    pub packaged: bool,
    /// Known exploited first, then by score.
    pub cves: Vec<CveHit>,
    /// The CERT-FR advisories citing one of its CVEs, each once, newest first.
    #[serde(serialize_with = "arc_strs", skip_serializing_if = "Vec::is_empty")]
    pub certfr: Vec<Arc<str>>,
    /// Computed once: the register's sort compares them millions of times.
    #[serde(skip)]
    any_kev: bool,
    #[serde(skip)]
    max_score: f32,
}

impl Verdict {
    pub fn kev(&self) -> bool {
        self.any_kev
    }

    pub fn top_score(&self) -> f32 {
        self.max_score
    }
}

fn arc_strs<S: serde::Serializer>(v: &[Arc<str>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|r| &**r))
}

/// A CERT-FR advisory a match cites, as the reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cited {
    pub kind: AdvisoryKind,
    pub title: String,
    /// Its page on cert.ssi.gouv.fr.
    pub url: String,
}

/// A vulnerable software on an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnMatch {
    pub asset: u64,
    pub asset_label: Arc<str>,
    pub verdict: Arc<Verdict>,
}

/// An unmatched software, with how many assets have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmatchedSoftware {
    pub name: String,
    pub vendor: Option<String>,
    pub version: Option<String>,
    #[serde(flatten)]
    pub why: Unmatched,
    pub assets: usize,
}

/// The result of matching a register.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Known exploited first, then by score, then by asset.
    pub matches: Vec<VulnMatch>,
    /// Most assets first.
    pub unmatched: Vec<UnmatchedSoftware>,
    /// Software entries examined (one per asset and software).
    pub software: usize,
    /// Distinct (name, publisher, version) matched.
    pub distinct: usize,
    /// The CERT-FR advisories the matches cite, by reference.
    pub certfr: BTreeMap<String, Cited>,
}

struct Product {
    cpe: String,
    /// (CVE, conditional, the range's bounds parsed once).
    ranges: Vec<(u32, bool, ParsedRange)>,
}

/// What a hit says of its CVE, kept once per CVE.
struct CveMeta {
    id: Arc<str>,
    score: Option<f32>,
    kev: bool,
    ransomware: bool,
    kev_due: Option<Arc<str>>,
    certfr: Arc<[Arc<str>]>,
}

/// The feeds, indexed by normalised (vendor, product); the records themselves are not kept.
pub struct Index {
    cves: Vec<CveMeta>,
    kev_count: usize,
    products: HashMap<(String, String), Product>,
    by_name: HashMap<String, Vec<String>>,
    by_vendor: HashMap<String, Vec<String>>,
    aliases: Aliases,
    /// The CERT-FR advisories given ([`Index::with_advisories`]), by reference.
    advisories: HashMap<Arc<str>, Cited>,
}

/// References newest first (`CERTFR-2026-…` before `CERTFR-2025-…`; within a year, by number),
/// each once.
fn newest_first(refs: &mut Vec<Arc<str>>) {
    let key = |r: &str| -> (u32, u64, String) {
        let mut p = r.split('-').skip(1);
        let year = p.next().and_then(|y| y.parse().ok()).unwrap_or(0);
        let n = p.nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        (year, n, r.to_owned())
    };
    refs.sort_by_cached_key(|r| std::cmp::Reverse(key(r)));
    refs.dedup();
}

/// Publishers that package other people's software: they name no product's maker.
const DISTRIBUTORS: [&str; 6] = [
    "debian",
    "ubuntu",
    "canonical",
    "red_hat",
    "fedora",
    "alpine",
];

type Lookup<'a> = Result<(&'a Product, Certainty), Unmatched>;

/// An [`Index`] made one NVD record at a time, so that a feed read from the store is never held
/// whole: 250,000 records parsed at once were a few hundred megabytes that the index, which
/// keeps only their ranges and scores, does not need.
pub struct IndexBuilder {
    kev: HashMap<String, KevEntry>,
    kev_count: usize,
    none: Arc<[Arc<str>]>,
    products: HashMap<(String, String), Product>,
    metas: Vec<CveMeta>,
    aliases: Aliases,
}

impl IndexBuilder {
    pub fn new(kev: Vec<KevEntry>, aliases: Aliases) -> IndexBuilder {
        IndexBuilder {
            kev_count: kev.len(),
            kev: kev.into_iter().map(|k| (k.cve.clone(), k)).collect(),
            none: Arc::from(Vec::new()),
            products: HashMap::new(),
            metas: Vec::new(),
            aliases,
        }
    }

    /// Index one NVD record.
    pub fn add(&mut self, c: CveRecord) {
        let i = self.metas.len() as u32;
        for r in &c.matches {
            let key = (normalise(&r.cpe.vendor), normalise(&r.cpe.product));
            self.products
                .entry(key)
                .or_insert_with(|| Product {
                    cpe: r.cpe.key(),
                    ranges: Vec::new(),
                })
                .ranges
                .push((i, r.conditional, ParsedRange::of(r)));
        }
        let k = self.kev.get(&c.id);
        self.metas.push(CveMeta {
            id: Arc::from(c.id.as_str()),
            score: c.score,
            kev: k.is_some(),
            ransomware: k.is_some_and(|k| k.ransomware),
            kev_due: k.and_then(|k| k.due_date.as_deref().map(Arc::from)),
            certfr: self.none.clone(),
        });
    }

    pub fn finish(self) -> Index {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        let mut by_vendor: HashMap<String, Vec<String>> = HashMap::new();
        for (v, p) in self.products.keys() {
            by_name.entry(p.clone()).or_default().push(v.clone());
            by_vendor.entry(v.clone()).or_default().push(p.clone());
        }
        for l in by_name.values_mut().chain(by_vendor.values_mut()) {
            l.sort();
        }
        Index {
            cves: self.metas,
            kev_count: self.kev_count,
            products: self.products,
            by_name,
            by_vendor,
            aliases: self.aliases,
            advisories: HashMap::new(),
        }
    }
}

impl Index {
    pub fn new(cves: Vec<CveRecord>, kev: Vec<KevEntry>, aliases: Aliases) -> Index {
        let mut b = IndexBuilder::new(kev, aliases);
        for c in cves {
            b.add(c);
        }
        b.finish()
    }

    /// The index with the CERT-FR advisories: each CVE knows the advisories citing it, so each
    /// match names them (an advisory citing no CVE of the NVD feed cites nothing here).
    pub fn with_advisories(mut self, advisories: &[Advisory]) -> Index {
        let mut by_cve: HashMap<&str, Vec<Arc<str>>> = HashMap::new();
        for a in advisories {
            let r: Arc<str> = Arc::from(a.reference.as_str());
            for c in &a.cves {
                by_cve.entry(c.as_str()).or_default().push(r.clone());
            }
            self.advisories.insert(
                r,
                Cited {
                    kind: a.kind,
                    title: a.title.clone(),
                    url: a.url(),
                },
            );
        }
        for m in &mut self.cves {
            if let Some(refs) = by_cve.get_mut(&*m.id) {
                newest_first(refs);
                m.certfr = Arc::from(refs.clone());
            }
        }
        self
    }

    pub fn advisory_count(&self) -> usize {
        self.advisories.len()
    }

    pub fn cve_count(&self) -> usize {
        self.cves.len()
    }

    pub fn kev_count(&self) -> usize {
        self.kev_count
    }

    fn get(&self, v: &str, p: &str) -> Option<&Product> {
        self.products.get(&(v.to_owned(), p.to_owned()))
    }

    /// Find the feed product of an inventory name and publisher (rule in the module docs).
    fn lookup(&self, name: &str, vendor: Option<&str>) -> Lookup<'_> {
        let n = normalise(name);
        let nv = vendor.map(normalise_vendor);
        let v = nv.as_deref().map(|v| self.aliases.vendor(v));
        if let Some(v) = v
            && let Some(p) = self.get(v, &n)
        {
            return Ok((p, Certainty::ExactCpe));
        }
        if let Some((av, ap)) = self.aliases.product(&n)
            && let Some(p) = self.get(av, ap)
        {
            return Ok((p, Certainty::NormalisedName));
        }
        if let Some(v) = v
            && let Some(rest) = n.strip_prefix(v).and_then(|r| r.strip_prefix('_'))
            && let Some(p) = self.get(v, rest)
        {
            return Ok((p, Certainty::NormalisedName));
        }
        if let Some(vendors) = self.by_name.get(&n) {
            if let [only] = vendors.as_slice()
                && let Some(p) = self.get(only, &n)
            {
                return Ok((p, Certainty::NormalisedName));
            }
            if v.is_none_or(|v| DISTRIBUTORS.contains(&v)) {
                return Err(Unmatched::Ambiguous {
                    vendors: vendors.clone(),
                });
            }
        }
        if let Some(v) = v
            && let Some(products) = self.by_vendor.get(v)
        {
            let words: Vec<&str> = n.split('_').collect();
            let best = products
                .iter()
                .filter(|p| p.split('_').all(|w| words.contains(&w)))
                .max_by_key(|p| p.len());
            if let Some(p) = best.and_then(|b| self.get(v, b)) {
                return Ok((p, Certainty::VendorOnly));
            }
        }
        Err(Unmatched::UnknownProduct)
    }

    /// The verdict on one software: `Ok(None)` when its version is in no vulnerable range.
    pub fn check(&self, s: &Software) -> Result<Option<Verdict>, Unmatched> {
        let found = self.lookup(&s.name, s.vendor.as_deref());
        self.check_found(s, found)
    }

    fn check_found(&self, s: &Software, found: Lookup<'_>) -> Result<Option<Verdict>, Unmatched> {
        let (product, certainty) = found?;
        let Some(ver) = s.version.as_deref().filter(|v| !v.trim().is_empty()) else {
            return Err(Unmatched::NoVersion {
                cpe: product.cpe.clone(),
            });
        };
        if !version::comparable(ver) {
            return Err(Unmatched::UnreadableVersion {
                cpe: product.cpe.clone(),
            });
        }
        let mut hits: Vec<CveHit> = Vec::new();
        let parsed = version::Parsed::new(ver);
        for (i, conditional, range) in &product.ranges {
            if !range.contains(&parsed) {
                continue;
            }
            let c = &self.cves[*i as usize];
            if let Some(h) = hits.iter_mut().find(|h| Arc::ptr_eq(&h.cve, &c.id)) {
                h.conditional &= conditional;
                continue;
            }
            hits.push(CveHit {
                cve: c.id.clone(),
                score: c.score,
                kev: c.kev,
                ransomware: c.ransomware,
                kev_due: c.kev_due.clone(),
                conditional: *conditional,
                certfr: c.certfr.clone(),
            });
        }
        if hits.is_empty() {
            return Ok(None);
        }
        hits.sort_by(|a, b| {
            b.kev
                .cmp(&a.kev)
                .then(b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)))
                .then_with(|| a.cve.cmp(&b.cve))
        });
        let mut certfr: Vec<Arc<str>> =
            hits.iter().flat_map(|h| h.certfr.iter().cloned()).collect();
        newest_first(&mut certfr);
        Ok(Some(Verdict {
            certfr,
            software: s.clone(),
            cpe: product.cpe.clone(),
            certainty,
            packaged: version::is_packaged(ver),
            any_kev: hits.iter().any(|c| c.kev),
            max_score: hits.iter().filter_map(|c| c.score).fold(0.0, f32::max),
            cves: hits,
        }))
    }

    /// Match every software of every asset.
    ///
    /// Three passes: the distinct (name, publisher, version) of the register, in order of first
    /// appearance, each with its (name, publisher); the products found and the versions tested
    /// across the cores (rayon: both are pure, and the cost); then every asset's software
    /// given its shared verdict, in register order.
    pub fn match_assets(&self, assets: &[Asset]) -> Report {
        type Cached = Result<Option<Arc<Verdict>>, Unmatched>;
        let mut distinct: HashMap<&Software, u32> = HashMap::new();
        let mut uniq: Vec<(&Software, u32)> = Vec::new();
        let mut keys: HashMap<(&str, Option<&str>), u32> = HashMap::new();
        let mut slots: Vec<u32> = Vec::new();
        let mut counts: Vec<usize> = Vec::with_capacity(assets.len());
        for a in assets {
            let software = a.all_software();
            counts.push(software.len());
            for s in software {
                let next = uniq.len() as u32;
                let slot = *distinct.entry(s).or_insert_with(|| {
                    let kn = keys.len() as u32;
                    let k = *keys
                        .entry((s.name.as_str(), s.vendor.as_deref()))
                        .or_insert(kn);
                    uniq.push((s, k));
                    next
                });
                slots.push(slot);
            }
        }
        let mut by_key: Vec<(&str, Option<&str>)> = vec![("", None); keys.len()];
        for ((n, v), k) in keys {
            by_key[k as usize] = (n, v);
        }
        // The product of a (name, publisher) is found once, whatever its versions.
        let products: Vec<Lookup<'_>> =
            by_key.par_iter().map(|(n, v)| self.lookup(n, *v)).collect();
        let verdicts: Vec<Cached> = uniq
            .par_iter()
            .map(|(s, k)| {
                self.check_found(s, products[*k as usize].clone())
                    .map(|o| o.map(Arc::new))
            })
            .collect();
        let mut unmatched: HashMap<u32, usize> = HashMap::new();
        let mut report = Report {
            software: slots.len(),
            ..Report::default()
        };
        let mut slot = slots.iter();
        for (a, n) in assets.iter().zip(counts) {
            let label: Arc<str> = Arc::from(a.label());
            for &i in slot.by_ref().take(n) {
                match &verdicts[i as usize] {
                    Ok(Some(v)) => report.matches.push(VulnMatch {
                        asset: a.id,
                        asset_label: label.clone(),
                        verdict: v.clone(),
                    }),
                    Ok(None) => {}
                    Err(_) => *unmatched.entry(i).or_insert(0) += 1,
                }
            }
        }
        report.distinct = uniq.len();
        for v in verdicts
            .iter()
            .filter_map(|v| v.as_ref().ok().and_then(Option::as_ref))
        {
            for r in &v.certfr {
                if let Some(c) = self.advisories.get(r) {
                    report
                        .certfr
                        .entry(r.to_string())
                        .or_insert_with(|| c.clone());
                }
            }
        }
        report.matches.par_sort_by(|a, b| {
            b.verdict
                .kev()
                .cmp(&a.verdict.kev())
                .then(b.verdict.top_score().total_cmp(&a.verdict.top_score()))
                .then(a.asset.cmp(&b.asset))
                .then_with(|| a.verdict.software.cmp(&b.verdict.software))
        });
        report.unmatched = unmatched
            .into_iter()
            .filter_map(|(i, n)| {
                let (s, _) = uniq[i as usize];
                let why = verdicts[i as usize].as_ref().err()?;
                Some(UnmatchedSoftware {
                    name: s.name.clone(),
                    vendor: s.vendor.clone(),
                    version: s.version.clone(),
                    why: why.clone(),
                    assets: n,
                })
            })
            .collect();
        report.unmatched.sort_by(|a, b| {
            b.assets
                .cmp(&a.assets)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.version.cmp(&b.version))
        });
        report
    }
}
