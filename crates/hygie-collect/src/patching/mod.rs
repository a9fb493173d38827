//! Updates and end of life: operating systems of the inventory (CSV, or AD `operatingSystem` and
//! `operatingSystemVersion`) against the end-of-support table kept as data in
//! `crates/hygie-collect/data/end-of-life.toml`.

use crate::inventory::{self, Asset};
use crate::{CollectError, Collector, Evaluation, Files, NotEvaluated, Registration, Result};
use hygie_core::{RuleDef, Severity, Text};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The bundled end-of-support table.
pub const END_OF_LIFE: &str = include_str!("../../data/end-of-life.toml");

/// The source of its rules and check runs, and the collector's name.
const SOURCE: &str = "patching";

pub static UNSUPPORTED: RuleDef = RuleDef::new(
    "PATCH-UNSUPPORTED",
    SOURCE,
    Severity::Critical,
    Text::new(
        "Operating system out of vendor support",
        "Système d'exploitation hors support de l'éditeur",
    ),
    &["VUL-02"],
);
pub static ENDING: RuleDef = RuleDef::new(
    "PATCH-END-SOON",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Operating system reaching end of support within 6 months",
        "Système d'exploitation en fin de support dans les 6 mois",
    ),
    &["VUL-02"],
)
.with_thresholds(&["warn_months"]);
pub static MISSING: RuleDef = RuleDef::new(
    "PATCH-MISSING-UPDATES",
    SOURCE,
    Severity::High,
    Text::new(
        "Updates missing for longer than the target delay",
        "Mises à jour manquantes au-delà du délai cible",
    ),
    &["VUL-01"],
)
.with_thresholds(&["max_update_age_days"]);

pub static REGISTRATION: Registration = Registration {
    name: SOURCE,
    about: Text {
        en: "Updates and end of life: unsupported systems, end of support soon, missing updates",
        fr: "Mises à jour et fin de vie : systèmes hors support, fin de support proche, correctifs manquants",
    },
    rules: &[&UNSUPPORTED, &ENDING, &MISSING],
};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EolEntry {
    pub id: String,
    pub name: String,
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub editions: Vec<String>,
    pub build: Option<u32>,
    pub release: Option<String>,
    pub version: Option<String>,
    /// General availability (of the release the entry covers).
    pub released: toml::value::Datetime,
    /// Last day of security updates at no extra cost.
    pub end: toml::value::Datetime,
    /// Where the dates were checked.
    pub source: String,
    /// The vendor's own lifecycle page.
    pub vendor: Option<String>,
    /// Why a date differs from a source, or what it does not count.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EolTable {
    pub systems: Vec<(EolEntry, jiff::civil::Date)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    system: Vec<EolEntry>,
}

impl EolTable {
    pub fn bundled() -> Result<EolTable> {
        EolTable::parse(Path::new("data/end-of-life.toml"), END_OF_LIFE)
    }

    /// Parse and validate: unique ids and match keys, real dates with the end after the release,
    /// https sources, lower-case patterns.
    pub fn parse(path: &Path, text: &str) -> Result<EolTable> {
        let raw: RawTable = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count() as u64);
            CollectError::at(path, line, e.message().to_owned())
        })?;
        let mut ids = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeMap::new();
        let mut systems = Vec::new();
        for s in raw.system {
            let bad = |m: String| CollectError::at(path, None, format!("system '{}': {m}", s.id));
            if !ids.insert(s.id.clone()) {
                return Err(bad("duplicate id".into()));
            }
            if s.matches.is_empty() {
                return Err(bad("empty match".into()));
            }
            for p in s.matches.iter().chain(&s.exclude).chain(&s.editions) {
                if p.is_empty() || p.to_lowercase() != *p {
                    return Err(bad(format!("pattern '{p}' must be non-empty lower case")));
                }
            }
            // Two entries with the same key: the second could never match.
            let key = format!(
                "{:?} {:?} {:?} {:?} {:?} {:?}",
                s.matches, s.exclude, s.editions, s.build, s.release, s.version
            );
            if let Some(first) = keys.insert(key, s.id.clone()) {
                return Err(bad(format!("same match key as '{first}'")));
            }
            for url in std::iter::once(&s.source).chain(&s.vendor) {
                if !url.starts_with("https://") || url.len() <= "https://".len() {
                    return Err(bad(format!("source '{url}' must be an https URL")));
                }
            }
            let day = |field: &str, d: &toml::value::Datetime| {
                d.date
                    .filter(|_| d.time.is_none())
                    .and_then(|d| {
                        jiff::civil::Date::new(d.year as i16, d.month as i8, d.day as i8).ok()
                    })
                    .ok_or_else(|| bad(format!("{field} '{d}' is not a date")))
            };
            let released = day("released", &s.released)?;
            let end = day("end", &s.end)?;
            if end <= released {
                return Err(bad(format!("end {end} is not after released {released}")));
            }
            systems.push((s, end));
        }
        Ok(EolTable { systems })
    }

    /// The first entry matching an operating system name and version.
    pub fn lookup(
        &self,
        os: &str,
        version: Option<&str>,
    ) -> Option<&(EolEntry, jiff::civil::Date)> {
        let os_l = os.to_lowercase();
        let ver = version.unwrap_or("").to_lowercase();
        let words: Vec<&str> = os_l
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .collect();
        // Linux versions compare with service packs spelt as minor versions.
        let (os_v, ver_v) = (service_pack_as_minor(&os_l), service_pack_as_minor(&ver));
        let vwords: Vec<&str> = os_v
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .collect();
        self.systems.iter().find(|(e, _)| {
            e.matches.iter().all(|m| os_l.contains(m.as_str()))
                && !e.exclude.iter().any(|x| os_l.contains(x.as_str()))
                && (e.editions.is_empty() || e.editions.iter().any(|x| os_l.contains(x.as_str())))
                && (e.build.is_none() && e.release.is_none()
                    || e.build.is_some_and(|b| {
                        windows_build(&ver) == Some(b) || windows_build(&os_l) == Some(b)
                    })
                    || e.release.as_ref().is_some_and(|r| {
                        let r = r.to_lowercase();
                        ver.split_whitespace().any(|w| w == r) || words.contains(&r.as_str())
                    }))
                && e.version.as_ref().is_none_or(|v| {
                    ver_v == *v
                        || ver_v.starts_with(&format!("{v}."))
                        || ver_v.starts_with(&format!("{v} "))
                        || vwords
                            .iter()
                            .any(|w| w == v || w.starts_with(&format!("{v}.")))
                })
        })
    }
}

/// `15 sp6`, `15-sp6` → `15.6`: the service pack of a numbered release becomes its minor version.
fn service_pack_as_minor(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        if matches!(c[i], ' ' | '-')
            && i > 0
            && c[i - 1].is_ascii_digit()
            && c.get(i + 1) == Some(&'s')
            && c.get(i + 2) == Some(&'p')
            && c.get(i + 3).is_some_and(char::is_ascii_digit)
        {
            out.push('.');
            i += 3;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// The build number in `10.0 (19045)` or `10.0.19045.1234`.
fn windows_build(v: &str) -> Option<u32> {
    if let Some(i) = v.find('(') {
        let rest = &v[i + 1..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        return rest[..end].parse().ok();
    }
    let parts: Vec<&str> = v.trim().split('.').collect();
    if parts.len() >= 3 && parts[0] == "10" {
        return parts[2].parse().ok();
    }
    None
}

#[derive(Debug, Clone, Default)]
pub struct PatchInputs {
    pub inventory: PathBuf,
    /// Replace the bundled end-of-life table.
    pub eol_table: Option<PathBuf>,
    pub warn_months: u32,
    /// Updates missing for longer than this many days fail (only when given).
    pub max_update_age_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatchEvidence {
    pub assets: Vec<Asset>,
    pub table: EolTable,
    pub warn_months: u32,
    pub max_update_age_days: Option<u32>,
}

pub struct Patching;

impl Collector for Patching {
    const REGISTRATION: &'static Registration = &REGISTRATION;
    type Inputs = PatchInputs;
    type Evidence = PatchEvidence;

    fn parse(&self, i: &PatchInputs, files: &dyn Files) -> Result<PatchEvidence> {
        let table = match &i.eol_table {
            Some(p) => EolTable::parse(p, &crate::input::read(files, p)?)?,
            None => EolTable::bundled()?,
        };
        let assets = inventory::read(files, &i.inventory)?;
        if !assets.iter().any(|a| a.os.is_some()) {
            return Err(CollectError::at(
                &i.inventory,
                None,
                "no asset gives its operating system (column os, or AD operatingSystem)",
            ));
        }
        Ok(PatchEvidence {
            assets,
            table,
            warn_months: i.warn_months,
            max_update_age_days: i.max_update_age_days,
        })
    }

    fn evaluate(&self, e: &PatchEvidence, now: jiff::Timestamp) -> Evaluation {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let horizon = today
            .checked_add(jiff::Span::new().months(i64::from(e.warn_months)))
            .unwrap_or(today);
        let mut unsupported = Vec::new();
        let mut ending = Vec::new();
        let mut unknown = Vec::new();
        let mut missing = Vec::new();
        for a in &e.assets {
            let Some(os) = a.os.as_deref() else {
                unknown.push(a.name.clone());
                continue;
            };
            match e.table.lookup(os, a.os_version.as_deref()) {
                None => unknown.push(format!(
                    "{} ({os} {})",
                    a.name,
                    a.os_version.as_deref().unwrap_or("")
                )),
                Some((s, end)) if *end < today => {
                    unsupported.push(format!("{}: {} (end of support {end})", a.name, s.name));
                }
                Some((s, end)) if *end <= horizon => {
                    ending.push(format!("{}: {} (end of support {end})", a.name, s.name));
                }
                Some(_) => {}
            }
            if let (Some(days), Some(t)) = (e.max_update_age_days, a.oldest_missing_update)
                && crate::input::hours_since(now, t) > i64::from(days) * 24
            {
                missing.push(format!(
                    "{}: update missing since {}",
                    a.name,
                    t.strftime("%Y-%m-%d")
                ));
            }
        }
        let mut findings = vec![UNSUPPORTED.finding(unsupported), ENDING.finding(ending)];
        let mut not_evaluated = Vec::new();
        match e.max_update_age_days {
            Some(_) if e.assets.iter().any(|a| a.oldest_missing_update.is_some()) => {
                findings.push(MISSING.finding(missing));
            }
            Some(_) => not_evaluated.push(NotEvaluated {
                rule: MISSING.id.into(),
                reason: "the inventory has no oldest_missing_update column".into(),
            }),
            None => not_evaluated.push(NotEvaluated {
                rule: MISSING.id.into(),
                reason: "no --max-update-age-days given".into(),
            }),
        }
        Evaluation {
            findings,
            not_evaluated,
            summary: serde_json::json!({
                "assets": e.assets.len(),
                "unknown_os": unknown,
                "warn_months": e.warn_months,
                "table_entries": e.table.systems.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_is_valid_and_classifies_real_os_strings() {
        let t = EolTable::bundled().unwrap();
        assert!(t.systems.len() >= 100);
        let id = |os: &str, ver: Option<&str>| t.lookup(os, ver).map(|(e, _)| e.id.as_str());
        for (os, ver, want) in [
            (
                "Windows 10 Enterprise",
                Some("10.0 (19045)"),
                Some("windows-10-22h2"),
            ),
            (
                "Windows 10 Pro",
                Some("10.0 (19044)"),
                Some("windows-10-21h2"),
            ),
            (
                "Windows 10 Enterprise",
                Some("10.0 (19044)"),
                Some("windows-10-21h2-enterprise"),
            ),
            (
                "Windows 10 Enterprise LTSC",
                Some("10.0 (17763)"),
                Some("windows-10-ltsc-2019"),
            ),
            (
                "Windows 10 Enterprise LTSC",
                Some("10.0 (19044)"),
                Some("windows-10-ltsc-2021"),
            ),
            (
                "Windows 10 IoT Enterprise LTSC",
                Some("10.0 (19044)"),
                Some("windows-10-iot-ltsc-2021"),
            ),
            (
                "Windows 10 Enterprise 2016 LTSB",
                Some("10.0 (14393)"),
                Some("windows-10-ltsb-2016"),
            ),
            (
                "Windows 10 Pro",
                Some("10.0 (17763)"),
                Some("windows-10-1809"),
            ),
            ("Windows 10 Pro", None, Some("windows-10")),
            (
                "Windows 11 Enterprise",
                Some("10.0 (22631)"),
                Some("windows-11-23h2-enterprise"),
            ),
            (
                "Windows 11 Pro",
                Some("10.0.26100.2314"),
                Some("windows-11-24h2"),
            ),
            (
                "Windows 11 Professionnel",
                Some("24H2"),
                Some("windows-11-24h2"),
            ),
            (
                "Windows 11 Pro",
                Some("10.0 (28000)"),
                Some("windows-11-26h1"),
            ),
            (
                "Windows 11 Enterprise LTSC",
                Some("10.0 (26100)"),
                Some("windows-11-ltsc-2024"),
            ),
            (
                "Windows 11 IoT Enterprise LTSC",
                Some("10.0 (26100)"),
                Some("windows-11-iot-ltsc-2024"),
            ),
            ("Windows 11 Pro", None, None),
            (
                "Windows 7 Professional",
                Some("6.1 (7601)"),
                Some("windows-7"),
            ),
            ("Windows 8.1 Pro", None, Some("windows-8.1")),
            ("Windows 8 Pro", None, Some("windows-8")),
            ("Windows XP Professional", None, Some("windows-xp")),
            (
                "Windows Server 2012 R2 Standard",
                Some("6.3 (9600)"),
                Some("windows-server-2012-r2"),
            ),
            (
                "Windows Server 2012 Standard",
                Some("6.2 (9200)"),
                Some("windows-server-2012"),
            ),
            (
                "Windows Server 2008 R2 Enterprise",
                Some("6.1 (7601)"),
                Some("windows-server-2008-r2"),
            ),
            (
                "Windows Server 2019 Datacenter",
                Some("10.0 (17763)"),
                Some("windows-server-2019"),
            ),
            (
                "Windows Server Datacenter",
                Some("10.0 (17763)"),
                Some("windows-server-1809"),
            ),
            (
                "Windows Server Standard",
                Some("10.0 (25398)"),
                Some("windows-server-23h2"),
            ),
            (
                "Windows Server 2025 Standard",
                None,
                Some("windows-server-2025"),
            ),
            (
                "Debian GNU/Linux 12 (bookworm)",
                Some("12.5"),
                Some("debian-12"),
            ),
            ("Debian", Some("10"), Some("debian-10")),
            ("Debian", Some("11.9"), Some("debian-11")),
            ("Ubuntu", Some("22.04.4 LTS"), Some("ubuntu-22.04")),
            ("Ubuntu 18.04.6 LTS", None, Some("ubuntu-18.04")),
            ("Ubuntu", Some("24.10"), Some("ubuntu-24.10")),
            ("Red Hat Enterprise Linux", Some("7.9"), Some("rhel-7")),
            (
                "Red Hat Enterprise Linux 10.0 (Coughlan)",
                None,
                Some("rhel-10"),
            ),
            ("CentOS Linux 7 (Core)", None, Some("centos-7")),
            ("CentOS Stream 9", None, Some("centos-stream-9")),
            ("Rocky Linux", Some("9.4"), Some("rocky-9")),
            ("AlmaLinux", Some("10.0"), Some("almalinux-10")),
            (
                "SUSE Linux Enterprise Server 15 SP6",
                None,
                Some("sles-15.6"),
            ),
            (
                "SUSE Linux Enterprise Server",
                Some("15-SP3"),
                Some("sles-15.3"),
            ),
            (
                "SUSE Linux Enterprise Server",
                Some("15.7"),
                Some("sles-15.7"),
            ),
            ("SUSE Linux Enterprise Server", Some("15"), Some("sles-15")),
            (
                "SUSE Linux Enterprise Server 12 SP5",
                None,
                Some("sles-12.5"),
            ),
            ("FreeBSD", Some("14.1"), None),
        ] {
            assert_eq!(id(os, ver), want, "{os} {ver:?}");
        }
        // Every source is endoflife.date or a vendor page; every date falls in a sane window.
        for (e, end) in &t.systems {
            assert!(end.year() >= 2014 && end.year() < 2040, "{}", e.id);
            assert!(
                e.source.starts_with("https://endoflife.date/")
                    || e.source.starts_with("https://wiki.debian.org/"),
                "{}",
                e.id
            );
            assert!(
                e.vendor
                    .as_deref()
                    .is_some_and(|v| v.starts_with("https://")),
                "{}",
                e.id
            );
        }
    }

    #[test]
    fn dates_that_were_wrong_from_memory_are_the_checked_ones() {
        let t = EolTable::bundled().unwrap();
        let end = |id: &str| {
            t.systems
                .iter()
                .find(|(e, _)| e.id == id)
                .map(|(_, d)| d.to_string())
                .unwrap_or_else(|| panic!("{id} missing"))
        };
        assert_eq!(end("windows-server-2025"), "2034-11-14");
        assert_eq!(end("ubuntu-22.04"), "2027-04-01");
        assert_eq!(end("ubuntu-16.04"), "2021-04-02");
        assert_eq!(end("ubuntu-14.04"), "2019-04-02");
        assert_eq!(end("windows-10-21h1"), "2022-12-13");
        assert_eq!(end("sles-15.6"), "2025-12-31");
    }

    #[test]
    fn service_packs_read_as_minor_versions() {
        assert_eq!(service_pack_as_minor("15 sp6"), "15.6");
        assert_eq!(service_pack_as_minor("15-sp3"), "15.3");
        assert_eq!(service_pack_as_minor("windows 7 sp1"), "windows 7.1");
        assert_eq!(service_pack_as_minor("sp1 only"), "sp1 only");
        assert_eq!(service_pack_as_minor("léger 2 sp"), "léger 2 sp");
    }

    #[test]
    fn invalid_tables_are_refused_with_reasons() {
        let p = Path::new("eol.toml");
        let base = "[[system]]\nid = \"a\"\nname = \"A\"\nmatch = [\"a\"]\nreleased = 2015-01-01\nend = 2020-01-01\nsource = \"https://x\"\n";
        assert!(EolTable::parse(p, base).is_ok());
        // (table, what the refusal must say)
        let refused = [
            (format!("{base}{base}"), "duplicate"),
            (
                format!("{base}{}", base.replace("id = \"a\"", "id = \"b\"")),
                "same match key as 'a'",
            ),
            (
                base.replace("2015-01-01", "2021-01-01"),
                "not after released",
            ),
            (base.replace("source = \"https://x\"\n", ""), "source"),
            (
                base.replace("2020-01-01", "2020-01-01T10:00:00"),
                "is not a date",
            ),
            (base.replace("[\"a\"]", "[\"A\"]"), "lower case"),
            (base.replace("https://x", "http://x"), "https"),
        ];
        for (table, reason) in &refused {
            let e = EolTable::parse(p, table).unwrap_err().to_string();
            assert!(e.contains(reason), "{reason}: {e}");
        }
        let bad = base.replace("2020-01-01", "\"soon\"");
        assert!(
            EolTable::parse(p, &bad)
                .unwrap_err()
                .to_string()
                .starts_with("eol.toml:")
        );
    }
}
