//! Streaming readers of the two feeds, from files a user downloads (no network at run time):
//!
//! - the CISA Known Exploited Vulnerabilities catalogue (`known_exploited_vulnerabilities.json`:
//!   `catalogVersion`, `dateReleased`, `vulnerabilities[]` with `cveID`, `vendorProject`, `product`,
//!   `dateAdded`, `dueDate`, `knownRansomwareCampaignUse`);
//! - NVD CVE API 2.0 JSON (an API page or a `nvdcve-2.0-*.json` file: `format` `NVD_CVE`,
//!   `version` `2.0`, `timestamp`, `vulnerabilities[].cve` with `configurations[].nodes[].cpeMatch[]`).
//!
//! Each record is handed to the caller's closure as soon as it is read (serde visitors over one
//! `serde_json` stream): a 2 GB file never sits in memory, only the compact records kept
//! ([`KevEntry`], [`CveRecord`]: the CPE criteria and ranges, the score; descriptions and
//! references are skipped). Errors name the file, line and column, and say "truncated" for a file
//! that ends early; a feed of another format or version (NVD's retired 1.1 feeds with `CVE_Items`,
//! a KEV file without `catalogVersion`) is refused. Records the caller received before an error
//! are the caller's to drop: the CLI stores nothing unless every file was read whole.

use crate::VulnError;
use crate::cpe::Cpe;
use crate::version::Parsed;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;

/// Which feed a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    Kev,
    Nvd,
    /// CERT-FR's advisories ([`crate::certfr`]).
    CertFr,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Kev => "kev",
            FeedKind::Nvd => "nvd",
            FeedKind::CertFr => "certfr",
        }
    }

    pub fn parse(s: &str) -> Option<FeedKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kev" | "cisa-kev" => Some(FeedKind::Kev),
            "nvd" | "nvd-cve" => Some(FeedKind::Nvd),
            "certfr" | "cert-fr" => Some(FeedKind::CertFr),
            _ => None,
        }
    }
}

/// What a feed file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedInfo {
    pub kind: FeedKind,
    /// KEV's `catalogVersion` (`2024.12.06`); NVD's `version` (`2.0`).
    pub version: String,
    /// KEV's `dateReleased`; NVD's `timestamp`.
    pub released: Option<String>,
    pub records: usize,
}

/// One entry of the KEV catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve: String,
    pub vendor_project: String,
    pub product: String,
    pub name: Option<String>,
    pub date_added: String,
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
}

/// One CVE of NVD, as matching needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    pub id: String,
    pub published: Option<String>,
    pub last_modified: Option<String>,
    /// The highest CVSS base score given (v3.1, else v3.0, else v2).
    pub score: Option<f32>,
    pub matches: Vec<CpeRange>,
}

/// A vulnerable CPE with its version range (NVD `cpeMatch` with `vulnerable: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeRange {
    pub cpe: Cpe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Bound>,
    /// Part of a configuration that also requires another CPE (`AND`: "running on"), which is
    /// not evaluated: the match may not apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub version: String,
    pub inclusive: bool,
}

impl CpeRange {
    /// Whether `version` is in this range (the CPE's own version when it names one, else the
    /// start and end bounds; no bound: every version). By [`crate::version::compare`].
    pub fn contains(&self, version: &str) -> bool {
        ParsedRange::of(self).contains(&Parsed::new(version))
    }
}

/// A range with its bounds parsed once (the index keeps one per range).
#[derive(Debug, Clone)]
pub struct ParsedRange {
    exact: Option<Parsed>,
    start: Option<(Parsed, bool)>,
    end: Option<(Parsed, bool)>,
}

impl ParsedRange {
    pub fn of(r: &CpeRange) -> ParsedRange {
        ParsedRange {
            exact: (!r.cpe.any_version()).then(|| Parsed::new(&r.cpe.version)),
            start: r
                .start
                .as_ref()
                .map(|b| (Parsed::new(&b.version), b.inclusive)),
            end: r
                .end
                .as_ref()
                .map(|b| (Parsed::new(&b.version), b.inclusive)),
        }
    }

    /// [`CpeRange::contains`] for a version parsed once.
    pub fn contains(&self, v: &Parsed) -> bool {
        use std::cmp::Ordering::*;
        if let Some(x) = &self.exact {
            return v.cmp_to(x) == Equal;
        }
        if let Some((b, inclusive)) = &self.start {
            match v.cmp_to(b) {
                Less => return false,
                Equal if !inclusive => return false,
                _ => {}
            }
        }
        if let Some((b, inclusive)) = &self.end {
            match v.cmp_to(b) {
                Greater => return false,
                Equal if !inclusive => return false,
                _ => {}
            }
        }
        true
    }
}

pub(crate) fn valid_cve(id: &str) -> bool {
    let mut parts = id.split('-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

// ---- KEV -----------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevJson {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: Option<String>,
    date_added: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
}

/// Read a KEV catalogue, handing each entry to `sink`.
pub fn read_kev<R: Read>(
    file: &str,
    reader: R,
    mut sink: impl FnMut(KevEntry),
) -> Result<FeedInfo, VulnError> {
    let mut top = Top {
        kind: FeedKind::Kev,
        version: None,
        released: None,
        format_ok: true,
        records: 0,
        sink: &mut |r: Record| {
            if let Record::Kev(k) = r {
                sink(k)
            }
        },
    };
    parse(file, reader, &mut top)?;
    let version = top
        .version
        .ok_or_else(|| VulnError::whole(file, "no catalogVersion: not a CISA KEV catalogue"))?;
    Ok(FeedInfo {
        kind: FeedKind::Kev,
        version,
        released: top.released,
        records: top.records,
    })
}

// ---- NVD -----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct NvdItem {
    cve: NvdCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdCve {
    id: String,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    configurations: Vec<Configuration>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    #[serde(default)]
    cvss_metric_v31: Vec<Metric>,
    #[serde(default)]
    cvss_metric_v30: Vec<Metric>,
    #[serde(default)]
    cvss_metric_v2: Vec<Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    cvss_data: CvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssData {
    base_score: f32,
}

#[derive(Deserialize)]
struct Configuration {
    operator: Option<String>,
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(default)]
    negate: bool,
    #[serde(default)]
    cpe_match: Vec<CpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpeMatch {
    vulnerable: bool,
    criteria: String,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

fn bound(incl: Option<String>, excl: Option<String>) -> Option<Bound> {
    incl.map(|version| Bound {
        version,
        inclusive: true,
    })
    .or_else(|| {
        excl.map(|version| Bound {
            version,
            inclusive: false,
        })
    })
}

impl NvdCve {
    fn into_record(self) -> Result<Option<CveRecord>, String> {
        if !valid_cve(&self.id) {
            return Err(format!("'{}' is not a CVE identifier", self.id));
        }
        if self.vuln_status.as_deref() == Some("Rejected") {
            return Ok(None);
        }
        let score = [
            &self.metrics.cvss_metric_v31,
            &self.metrics.cvss_metric_v30,
            &self.metrics.cvss_metric_v2,
        ]
        .into_iter()
        .find(|m| !m.is_empty())
        .and_then(|m| {
            m.iter()
                .map(|x| x.cvss_data.base_score)
                .fold(None, |a: Option<f32>, s| Some(a.map_or(s, |a| a.max(s))))
        });
        let mut matches = Vec::new();
        for c in self.configurations {
            let conditional = c.operator.as_deref() == Some("AND");
            for n in c.nodes {
                for m in n.cpe_match.into_iter().filter(|m| m.vulnerable) {
                    let cpe = Cpe::parse(&m.criteria).map_err(|e| format!("{}: {e}", self.id))?;
                    matches.push(CpeRange {
                        cpe,
                        start: bound(m.version_start_including, m.version_start_excluding),
                        end: bound(m.version_end_including, m.version_end_excluding),
                        conditional: conditional || n.negate,
                    });
                }
            }
        }
        Ok(Some(CveRecord {
            id: self.id,
            published: self.published,
            last_modified: self.last_modified,
            score,
            matches,
        }))
    }
}

/// Read an NVD CVE API 2.0 file, handing each CVE (rejected ones skipped) to `sink`.
pub fn read_nvd<R: Read>(
    file: &str,
    reader: R,
    mut sink: impl FnMut(CveRecord),
) -> Result<FeedInfo, VulnError> {
    let mut top = Top {
        kind: FeedKind::Nvd,
        version: None,
        released: None,
        format_ok: false,
        records: 0,
        sink: &mut |r: Record| {
            if let Record::Cve(c) = r {
                sink(c)
            }
        },
    };
    parse(file, reader, &mut top)?;
    if !top.format_ok {
        return Err(VulnError::whole(
            file,
            "no \"format\": \"NVD_CVE\": not an NVD CVE API 2.0 file",
        ));
    }
    let version = top
        .version
        .ok_or_else(|| VulnError::whole(file, "no \"version\": not an NVD CVE API 2.0 file"))?;
    Ok(FeedInfo {
        kind: FeedKind::Nvd,
        version,
        released: top.released,
        records: top.records,
    })
}

// ---- the one streaming walk ----------------------------------------------------------------

enum Record {
    Kev(KevEntry),
    Cve(CveRecord),
}

struct Top<'s> {
    kind: FeedKind,
    version: Option<String>,
    released: Option<String>,
    format_ok: bool,
    records: usize,
    sink: &'s mut dyn FnMut(Record),
}

fn parse<R: Read>(file: &str, reader: R, top: &mut Top<'_>) -> Result<(), VulnError> {
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, reader));
    de::Deserializer::deserialize_map(&mut de, &mut *top)
        .and_then(|()| de.end())
        .map_err(|e| VulnError::json(file, &e))
}

impl<'de> Visitor<'de> for &mut Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (the feed)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match (self.kind, key.as_str()) {
                (FeedKind::Kev, "catalogVersion") => {
                    let v: String = map.next_value()?;
                    let ok = v.split('.').count() == 3
                        && v.split('.').all(|p| {
                            !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit())
                        });
                    if !ok {
                        return Err(de::Error::custom(format!(
                            "catalogVersion '{v}': unknown KEV catalogue version (expected YYYY.MM.DD)"
                        )));
                    }
                    self.version = Some(v);
                }
                (FeedKind::Kev, "dateReleased") | (FeedKind::Nvd, "timestamp") => {
                    self.released = map.next_value()?;
                }
                (FeedKind::Nvd, "format") => {
                    let v: String = map.next_value()?;
                    if v != "NVD_CVE" {
                        return Err(de::Error::custom(format!(
                            "format '{v}': not an NVD CVE feed (expected NVD_CVE)"
                        )));
                    }
                    self.format_ok = true;
                }
                (FeedKind::Nvd, "version") => {
                    let v: String = map.next_value()?;
                    if v != "2.0" {
                        return Err(de::Error::custom(format!(
                            "version '{v}': unknown NVD feed version (expected 2.0)"
                        )));
                    }
                    self.version = Some(v);
                }
                (FeedKind::Nvd, "CVE_Items" | "CVE_data_version" | "CVE_data_format") => {
                    return Err(de::Error::custom(
                        "an NVD 1.1 feed (CVE_Items): retired by NVD, unsupported; download the CVE API 2.0 files",
                    ));
                }
                (_, "vulnerabilities") => map.next_value_seed(Records(&mut *self))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Records<'a, 's>(&'a mut Top<'s>);

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of vulnerabilities")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let top = self.0;
        // The header comes first in both feeds: an unknown version is refused before any record.
        match (top.kind, &top.version) {
            (FeedKind::Kev, None) => {
                return Err(de::Error::custom(
                    "no catalogVersion before the vulnerabilities: not a CISA KEV catalogue",
                ));
            }
            (FeedKind::Nvd, None) => {
                return Err(de::Error::custom(
                    "no \"format\": \"NVD_CVE\", \"version\": \"2.0\" before the vulnerabilities: not an NVD CVE API 2.0 file",
                ));
            }
            _ => {}
        }
        match top.kind {
            // Never built with this kind: CERT-FR has its own reader.
            FeedKind::CertFr => {
                return Err(de::Error::custom(
                    "CERT-FR advisories are read by certfr::read_certfr",
                ));
            }
            FeedKind::Kev => {
                while let Some(k) = seq.next_element::<KevJson>()? {
                    if !valid_cve(&k.cve_id) {
                        return Err(de::Error::custom(format!(
                            "cveID '{}' is not a CVE identifier",
                            k.cve_id
                        )));
                    }
                    top.records += 1;
                    (top.sink)(Record::Kev(KevEntry {
                        cve: k.cve_id,
                        vendor_project: k.vendor_project,
                        product: k.product,
                        name: k.vulnerability_name,
                        date_added: k.date_added,
                        due_date: k.due_date,
                        ransomware: k
                            .known_ransomware_campaign_use
                            .is_some_and(|s| s.eq_ignore_ascii_case("known")),
                    }));
                }
            }
            FeedKind::Nvd => {
                while let Some(item) = seq.next_element::<NvdItem>()? {
                    if let Some(r) = item.cve.into_record().map_err(de::Error::custom)? {
                        top.records += 1;
                        (top.sink)(Record::Cve(r));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(valid_cve("CVE-2021-44228"));
        assert!(valid_cve("CVE-2024-123456"));
        assert!(!valid_cve("CVE-21-44228"));
        assert!(!valid_cve("GHSA-xxxx"));
    }

    #[test]
    fn ranges() {
        let r = |s: Option<(&str, bool)>, e: Option<(&str, bool)>| CpeRange {
            cpe: Cpe::parse("cpe:2.3:a:v:p:*:*:*:*:*:*:*:*").unwrap(),
            start: s.map(|(v, i)| Bound {
                version: v.into(),
                inclusive: i,
            }),
            end: e.map(|(v, i)| Bound {
                version: v.into(),
                inclusive: i,
            }),
            conditional: false,
        };
        let x = r(Some(("2.0", true)), Some(("2.5", false)));
        assert!(
            x.contains("2.0") && x.contains("2.4.9") && !x.contains("2.5") && !x.contains("1.9")
        );
        let x = r(Some(("2.0", false)), Some(("2.5", true)));
        assert!(!x.contains("2.0") && x.contains("2.5") && !x.contains("2.5.1"));
        assert!(r(None, None).contains("0.1"));
    }
}
