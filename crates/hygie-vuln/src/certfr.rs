//! CERT-FR advisories (ANSSI, cert.ssi.gouv.fr) as a feed: the JSON each advisory page also
//! publishes (the page's address followed by `json/`), downloaded by the user (no network at run
//! time). A French hospital's CISO reads CERT-FR, not NVD: the matching shows, for each vulnerable
//! software, the advisories that cite one of its CVEs.
//!
//! **The format** (one object per advisory, fields as CERT-FR publishes them): `reference`
//! (`CERTFR-2026-AVI-0187` for an *avis*, `CERTFR-2024-ALE-012` for an *alerte*), `title`,
//! `summary`, `cves` (`[{"name": "CVE-…", "url": …}]`), `affected_systems` (`[{"description",
//! "product": {"name", "vendor": {"name"}}}]`), `revisions` (`[{"description", "revision_date"}]`),
//! and more that is not kept here (`risks`, `vendor_advisories`, `links`, `content`).
//!
//! **What is read**: one advisory object, a JSON array of them (several files concatenated by a
//! script), or (the caller's part) a folder of such files. `reference` and `title` are required,
//! and `cves` must be there (an empty list is an advisory without CVE): an entry of CERT-FR's
//! index (`reference`, `json_url`, no `cves`) is refused with a hint to download each advisory's
//! JSON. Only the two kinds about vulnerabilities are accepted (`AVI`, `ALE`; a `CTI` report or
//! an `IOC` list is refused, named). Names in `cves` that are not CVE identifiers are skipped
//! (matching speaks CVE). Errors name the file, the element (`advisory 3 (CERTFR-…)`) and, for
//! the JSON itself, the line and column; a truncated file says so. The caller stores nothing
//! unless every file was read whole.

use crate::VulnError;
use crate::feed::valid_cve;
use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::io::Read;

/// An *avis* (a vulnerability advisory) or an *alerte* (an urgent one, often exploited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    Avis,
    Alerte,
}

impl AdvisoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisoryKind::Avis => "avis",
            AdvisoryKind::Alerte => "alerte",
        }
    }

    pub fn parse(s: &str) -> Option<AdvisoryKind> {
        match s {
            "avis" => Some(AdvisoryKind::Avis),
            "alerte" => Some(AdvisoryKind::Alerte),
            _ => None,
        }
    }
}

/// One product an advisory says is affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// `Roundcube Webmail versions 1.6.x antérieures à 1.6.13`.
    pub description: String,
}

/// One CERT-FR advisory, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CERTFR-2026-AVI-0187`.
    pub reference: String,
    pub kind: AdvisoryKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The CVEs cited, each once, in the advisory's order.
    pub cves: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// The first and the latest revision's date (`2026-02-19T00:00:00.000000`, as published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_revision: Option<String>,
}

impl Advisory {
    /// The advisory's page on cert.ssi.gouv.fr (the user's browser follows it, not Hygie).
    pub fn url(&self) -> String {
        format!(
            "https://www.cert.ssi.gouv.fr/{}/{}/",
            self.kind.as_str(),
            self.reference
        )
    }
}

/// The kind of `reference` (`CERTFR-YYYY-AVI-N` or `CERTFR-YYYY-ALE-N`), or why not.
pub fn reference_kind(reference: &str) -> Result<AdvisoryKind, String> {
    let parts: Vec<&str> = reference.split('-').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        ["CERTFR", year, kind, n] if year.len() == 4 && digits(year) && digits(n) => match *kind {
            "AVI" => Ok(AdvisoryKind::Avis),
            "ALE" => Ok(AdvisoryKind::Alerte),
            other => Err(format!(
                "reference '{reference}': a CERT-FR {other} publication, not an advisory (AVI) or an alert (ALE) / pas un avis ni une alerte"
            )),
        },
        _ => Err(format!(
            "reference '{reference}': not a CERT-FR reference (CERTFR-YYYY-AVI-NNNN or CERTFR-YYYY-ALE-NNN) / pas une référence CERT-FR"
        )),
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One advisory from its JSON object, or why not (without the element's name: the caller adds it).
fn advisory(v: &Value) -> Result<Advisory, String> {
    if !v.is_object() {
        return Err("not a JSON object / pas un objet JSON".into());
    }
    let reference = match v.get("reference") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(_) => return Err("\"reference\" is not a text / n'est pas un texte".into()),
        None => {
            return Err(
                "no \"reference\": not a CERT-FR advisory / pas de référence : pas un avis CERT-FR"
                    .into(),
            );
        }
    };
    let kind = reference_kind(&reference)?;
    let title =
        text(v, "title").ok_or_else(|| format!("{reference}: no \"title\" / pas de titre"))?;
    let cves = match v.get("cves") {
        Some(Value::Array(list)) => {
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                let name = c.get("name").and_then(Value::as_str).ok_or_else(|| {
                    format!("{reference}: cves[{i}] has no \"name\" / cves[{i}] sans nom")
                })?;
                let name = name.trim();
                if valid_cve(name) && !out.iter().any(|x| x == name) {
                    out.push(name.to_owned());
                }
            }
            out
        }
        Some(_) => {
            return Err(format!(
                "{reference}: \"cves\" is not a list / n'est pas une liste"
            ));
        }
        None if v.get("json_url").is_some() => {
            return Err(format!(
                "{reference}: an entry of CERT-FR's index (json_url, no cves): download each advisory's JSON (its page followed by json/) / une entrée de l'index : télécharger le JSON de chaque avis"
            ));
        }
        None => {
            return Err(format!(
                "{reference}: no \"cves\" list / pas de liste \"cves\""
            ));
        }
    };
    let mut affected = Vec::new();
    if let Some(list) = v.get("affected_systems").and_then(Value::as_array) {
        for a in list {
            let product = a.get("product");
            let description = text(a, "description").unwrap_or_default();
            let name = product.and_then(|p| text(p, "name"));
            let vendor = product
                .and_then(|p| p.get("vendor"))
                .and_then(|x| text(x, "name"));
            if description.is_empty() && name.is_none() {
                continue;
            }
            affected.push(Affected {
                vendor,
                product: name,
                description,
            });
        }
    }
    let dates: Vec<String> = v
        .get("revisions")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|r| text(r, "revision_date")).collect())
        .unwrap_or_default();
    Ok(Advisory {
        reference,
        kind,
        title,
        summary: text(v, "summary"),
        cves,
        affected,
        first_revision: dates.iter().min().cloned(),
        last_revision: dates.iter().max().cloned(),
    })
}

/// Read one advisory or an array of them from `reader`, handing each to `sink`. Returns how many.
pub fn read_certfr<R: Read>(
    file: &str,
    reader: R,
    mut sink: impl FnMut(Advisory),
) -> Result<usize, VulnError> {
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let mut walk = Walk {
        sink: &mut sink,
        count: 0,
    };
    de.deserialize_any(&mut walk)
        .and_then(|()| de.end())
        .map_err(|e| VulnError::json(file, &e))?;
    if walk.count == 0 {
        return Err(VulnError::whole(
            file,
            "an empty list: no advisory / une liste vide : aucun avis",
        ));
    }
    Ok(walk.count)
}

struct Walk<'s> {
    sink: &'s mut dyn FnMut(Advisory),
    count: usize,
}

impl<'de> Visitor<'de> for &mut Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CERT-FR advisory (a JSON object) or a list of them")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let a = advisory(&v).map_err(de::Error::custom)?;
        self.count += 1;
        (self.sink)(a);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // One element at a time: a list of every advisory never sits in memory as JSON.
        while let Some(v) = seq.next_element::<Value>()? {
            let n = self.count + 1;
            let a = advisory(&v)
                .map_err(|m| de::Error::custom(format!("advisory {n} / avis {n}: {m}")))?;
            self.count = n;
            (self.sink)(a);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            reference_kind("CERTFR-2026-AVI-0187"),
            Ok(AdvisoryKind::Avis)
        );
        assert_eq!(
            reference_kind("CERTFR-2024-ALE-012"),
            Ok(AdvisoryKind::Alerte)
        );
        assert!(
            reference_kind("CERTFR-2024-CTI-001")
                .unwrap_err()
                .contains("CTI")
        );
        assert!(reference_kind("CVE-2024-1234").is_err());
        assert!(reference_kind("CERTFR-24-AVI-1").is_err());
    }
}
