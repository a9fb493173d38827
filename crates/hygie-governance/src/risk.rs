//! A light EBIOS RM risk register with the PGSSI-S 4×4 matrix.
//!
//! Workshop 1 gives business values, supporting assets and feared events (with a severity);
//! workshop 2 risk sources and their objectives; workshops 3–4 scenarios with a likelihood;
//! workshop 5 the treatment and the catalogue measures that treat each scenario.
//!
//! Scales (both 1–4): likelihood *Exceptionnel / Peu probable / Possible / Quasi certain*
//! (PGSSI-S; EBIOS RM V1–V4 *Peu vraisemblable / Vraisemblable / Très vraisemblable / Quasi
//! certain* read as the same four steps) and severity *Mineure / Significatif / Importante /
//! Critique* (EBIOS RM G1–G4 *Mineure / Significative / Grave / Critique*). The level is read
//! from the PGSSI-S matrix (risk-matrix-4x4-pgssi-s-1.0): *Limité / Modéré / Fort*.
//!
//! Residual risk: a scenario names a target likelihood (and optionally a target severity) that
//! its treating measures achieve once all are in place; the residual moves from the inherent
//! values towards the targets in proportion to the share of treating measures currently done
//! (verified or implemented). A failing, expired or not started measure counts as not done.

use crate::ImportError;
use hygie_core::{EffectiveStatus, Localized, MeasureId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The three risk levels of the PGSSI-S matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Limited,
    Moderate,
    High,
}

impl Level {
    pub fn label(self) -> Localized {
        match self {
            Level::Limited => Localized::new("limited", "limité"),
            Level::Moderate => Localized::new("moderate", "modéré"),
            Level::High => Localized::new("high", "fort"),
        }
    }
}

/// `GRID[likelihood - 1][severity - 1]`, from the PGSSI-S 4×4 matrix.
const GRID: [[Level; 4]; 4] = {
    use Level::*;
    [
        [Limited, Limited, Limited, Moderate],
        [Limited, Moderate, Moderate, High],
        [Limited, Moderate, Moderate, High],
        [Limited, Moderate, High, High],
    ]
};

/// The level of a likelihood and a severity, both 1–4 (clamped).
pub fn level(likelihood: u8, severity: u8) -> Level {
    let l = usize::from(likelihood.clamp(1, 4) - 1);
    let s = usize::from(severity.clamp(1, 4) - 1);
    GRID[l][s]
}

pub fn likelihood_label(v: u8) -> Localized {
    match v {
        1 => Localized::new("exceptional", "exceptionnel"),
        2 => Localized::new("unlikely", "peu probable"),
        3 => Localized::new("possible", "possible"),
        _ => Localized::new("almost certain", "quasi certain"),
    }
}

pub fn severity_label(v: u8) -> Localized {
    match v {
        1 => Localized::new("minor", "mineure"),
        2 => Localized::new("significant", "significative"),
        3 => Localized::new("serious", "importante"),
        _ => Localized::new("critical", "critique"),
    }
}

/// A 1–4 value written as a number or as a scale name (French or English, PGSSI-S or EBIOS RM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Scale(pub u8);

impl<'de> Deserialize<'de> for Scale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum In {
            N(i64),
            S(String),
        }
        let v = match In::deserialize(d)? {
            In::N(n) => n,
            In::S(s) => {
                let k = s.trim().to_lowercase();
                match k.as_str() {
                    "1" | "v1" | "g1" | "exceptionnel" | "exceptional" | "peu vraisemblable"
                    | "mineure" | "mineur" | "minor" => 1,
                    "2" | "v2" | "g2" | "peu probable" | "unlikely" | "vraisemblable"
                    | "significatif" | "significative" | "significant" => 2,
                    "3"
                    | "v3"
                    | "g3"
                    | "possible"
                    | "très vraisemblable"
                    | "tres vraisemblable"
                    | "importante"
                    | "important"
                    | "grave"
                    | "serious" => 3,
                    "4" | "v4" | "g4" | "quasi certain" | "quasi-certain" | "almost certain"
                    | "critique" | "critical" => 4,
                    _ => {
                        return Err(serde::de::Error::custom(format!(
                            "'{s}' is not a 1-4 scale value"
                        )));
                    }
                }
            }
        };
        if !(1..=4).contains(&v) {
            return Err(serde::de::Error::custom(format!(
                "{v} is not between 1 and 4"
            )));
        }
        Ok(Scale(v as u8))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    Reduce,
    Accept,
    Transfer,
    Avoid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessValue {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportingAsset {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub business_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FearedEvent {
    pub id: String,
    pub business_value: String,
    pub description: String,
    pub severity: Scale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSource {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub objective: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub feared_events: Vec<String>,
    #[serde(default)]
    pub risk_source: Option<String>,
    #[serde(default)]
    pub supporting_assets: Vec<String>,
    pub likelihood: Scale,
    pub treatment: Treatment,
    #[serde(default)]
    pub measures: Vec<String>,
    /// The likelihood once every treating measure is in place (default: one step lower).
    #[serde(default)]
    pub target_likelihood: Option<Scale>,
    /// The severity once every treating measure is in place (default: unchanged).
    #[serde(default)]
    pub target_severity: Option<Scale>,
    #[serde(default)]
    pub owner: Option<String>,
}

/// A facility's register, as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The date the register was last reviewed, when the file says so.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_date"
    )]
    pub reviewed: Option<jiff::civil::Date>,
    #[serde(default, rename = "business_value")]
    pub business_values: Vec<BusinessValue>,
    #[serde(default, rename = "supporting_asset")]
    pub supporting_assets: Vec<SupportingAsset>,
    #[serde(default, rename = "feared_event")]
    pub feared_events: Vec<FearedEvent>,
    #[serde(default, rename = "risk_source")]
    pub risk_sources: Vec<RiskSource>,
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

/// A date written as a TOML date (`2026-01-10`) or a string (`"2026-01-10"`).
fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<jiff::civil::Date>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum In {
        S(String),
        T(toml::value::Datetime),
    }
    let s = match In::deserialize(d)? {
        In::S(s) => s,
        In::T(t) => t.to_string(),
    };
    s.trim()
        .parse::<jiff::civil::Date>()
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("'{s}' is not a date (YYYY-MM-DD): {e}")))
}

fn unique<'a>(
    file: &str,
    what: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<BTreeSet<&'a str>, ImportError> {
    let mut set = BTreeSet::new();
    for id in ids {
        if id.trim().is_empty() {
            return Err(ImportError::file(file, format!("a {what} has an empty id")));
        }
        if !set.insert(id) {
            return Err(ImportError::file(
                file,
                format!("{what} '{id}' is defined twice"),
            ));
        }
    }
    Ok(set)
}

/// Parse and check a register: unique ids, every reference resolved, every measure known.
pub fn parse_register(
    file: &str,
    text: &str,
    known_measure: impl Fn(&MeasureId) -> bool,
) -> Result<Register, ImportError> {
    let r: Register = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
        match line {
            Some(l) => ImportError::line(file, l, e.message().to_owned()),
            None => ImportError::file(file, e.to_string()),
        }
    })?;
    let bv = unique(
        file,
        "business value",
        r.business_values.iter().map(|x| x.id.as_str()),
    )?;
    let sa = unique(
        file,
        "supporting asset",
        r.supporting_assets.iter().map(|x| x.id.as_str()),
    )?;
    let fe = unique(
        file,
        "feared event",
        r.feared_events.iter().map(|x| x.id.as_str()),
    )?;
    let rs = unique(
        file,
        "risk source",
        r.risk_sources.iter().map(|x| x.id.as_str()),
    )?;
    unique(file, "scenario", r.scenarios.iter().map(|x| x.id.as_str()))?;
    let missing = |what: &str, owner: &str, id: &str| {
        ImportError::file(file, format!("{owner} refers to the unknown {what} '{id}'"))
    };
    for a in &r.supporting_assets {
        for b in &a.business_values {
            if !bv.contains(b.as_str()) {
                return Err(missing(
                    "business value",
                    &format!("supporting asset {}", a.id),
                    b,
                ));
            }
        }
    }
    for f in &r.feared_events {
        if !bv.contains(f.business_value.as_str()) {
            return Err(missing(
                "business value",
                &format!("feared event {}", f.id),
                &f.business_value,
            ));
        }
    }
    for s in &r.scenarios {
        let owner = format!("scenario {}", s.id);
        if s.feared_events.is_empty() {
            return Err(ImportError::file(
                file,
                format!("{owner} has no feared event"),
            ));
        }
        for f in &s.feared_events {
            if !fe.contains(f.as_str()) {
                return Err(missing("feared event", &owner, f));
            }
        }
        if let Some(x) = &s.risk_source
            && !rs.contains(x.as_str())
        {
            return Err(missing("risk source", &owner, x));
        }
        for a in &s.supporting_assets {
            if !sa.contains(a.as_str()) {
                return Err(missing("supporting asset", &owner, a));
            }
        }
        for m in &s.measures {
            let id = MeasureId::parse(m)
                .map_err(|e| ImportError::file(file, format!("{owner}: {e}")))?;
            if !known_measure(&id) {
                return Err(missing("catalogue measure", &owner, m));
            }
        }
    }
    Ok(r)
}

/// A treating measure and its current status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreatingMeasure {
    pub id: String,
    pub status: Option<EffectiveStatus>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub likelihood: u8,
    pub severity: u8,
    pub level: Level,
    pub label: Localized,
}

impl Rating {
    fn new(likelihood: u8, severity: u8) -> Rating {
        let level = level(likelihood, severity);
        Rating {
            likelihood,
            severity,
            level,
            label: level.label(),
        }
    }
}

/// A scenario rated before and after its treating measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatedRisk {
    pub id: String,
    pub title: String,
    pub feared_events: Vec<String>,
    pub business_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_source: Option<String>,
    pub supporting_assets: Vec<String>,
    pub treatment: Treatment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub inherent: Rating,
    pub residual: Rating,
    pub measures: Vec<TreatingMeasure>,
    /// Share of the treating measures done (1 when there is none).
    pub measures_done: f64,
}

fn towards(from: u8, to: u8, share: f64) -> u8 {
    if to >= from {
        return from;
    }
    let steps = (f64::from(from - to) * share).floor() as u8;
    from - steps
}

/// Rate every scenario from the measures' current statuses.
pub fn rate(register: &Register, status: &BTreeMap<MeasureId, EffectiveStatus>) -> Vec<RatedRisk> {
    let fe: BTreeMap<&str, &FearedEvent> = register
        .feared_events
        .iter()
        .map(|f| (f.id.as_str(), f))
        .collect();
    register
        .scenarios
        .iter()
        .map(|s| {
            let severity = s
                .feared_events
                .iter()
                .filter_map(|f| fe.get(f.as_str()).map(|f| f.severity.0))
                .max()
                .unwrap_or(1);
            let mut bvs: Vec<String> = s
                .feared_events
                .iter()
                .filter_map(|f| fe.get(f.as_str()).map(|f| f.business_value.clone()))
                .collect();
            bvs.sort();
            bvs.dedup();
            let measures: Vec<TreatingMeasure> = s
                .measures
                .iter()
                .map(|m| {
                    let st = MeasureId::parse(m)
                        .ok()
                        .and_then(|id| status.get(&id).copied());
                    TreatingMeasure {
                        id: m.clone(),
                        status: st,
                        done: st.is_some_and(EffectiveStatus::is_done),
                    }
                })
                .collect();
            let share = if measures.is_empty() {
                0.0
            } else {
                measures.iter().filter(|m| m.done).count() as f64 / measures.len() as f64
            };
            let l = s.likelihood.0;
            let target_l = s
                .target_likelihood
                .map_or(l.saturating_sub(1).max(1), |t| t.0);
            let target_s = s.target_severity.map_or(severity, |t| t.0);
            RatedRisk {
                id: s.id.clone(),
                title: s.title.clone(),
                feared_events: s.feared_events.clone(),
                business_values: bvs,
                risk_source: s.risk_source.clone(),
                supporting_assets: s.supporting_assets.clone(),
                treatment: s.treatment,
                owner: s.owner.clone(),
                inherent: Rating::new(l, severity),
                residual: Rating::new(
                    towards(l, target_l, share),
                    towards(severity, target_s, share),
                ),
                measures_done: if measures.is_empty() {
                    1.0
                } else {
                    (share * 1000.0).round() / 1000.0
                },
                measures,
            }
        })
        .collect()
}

/// Catalogue measures no scenario of the register traces back to.
pub fn untraced_measures<'a>(
    register: &Register,
    all: impl Iterator<Item = &'a MeasureId>,
) -> Vec<String> {
    let used: BTreeSet<&str> = register
        .scenarios
        .iter()
        .flat_map(|s| s.measures.iter().map(String::as_str))
        .collect();
    all.filter(|m| !used.contains(m.as_str()))
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// The GOV-06 rule: a non-empty register reviewed in the 12 months up to `as_of`.
pub fn review_finding(
    register: Option<&Register>,
    last_review: Option<jiff::civil::Date>,
    as_of: jiff::civil::Date,
) -> crate::rules::Finding {
    let mut f = crate::rules::RISK_REGISTER_REVIEWED.pass();
    let since = as_of
        .checked_sub(jiff::Span::new().months(12))
        .unwrap_or(jiff::civil::Date::MIN);
    match (register, last_review) {
        (None, _) => f.fail(
            "risk-register",
            Localized::new(
                "no risk register is recorded",
                "aucun registre des risques n'est enregistré",
            ),
        ),
        (Some(r), _) if r.scenarios.is_empty() => f.fail(
            "risk-register",
            Localized::new(
                "the risk register has no scenario",
                "le registre des risques ne contient aucun scénario",
            ),
        ),
        (Some(_), Some(d)) if d > since && d <= as_of => {}
        (Some(_), last) => {
            let last = last.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
            f.fail(
                "risk-register",
                Localized::new(
                    format!("last review {last}, not since {since}"),
                    format!("dernière revue {last}, aucune depuis le {since}"),
                ),
            )
        }
    }
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// One scenario through every kind of entry, all references resolved.
    const REG: &str = include_str!("testdata/risk_register.toml");

    #[test]
    fn matrix_matches_pgssi_s() {
        assert_eq!(level(1, 1), Level::Limited);
        assert_eq!(level(1, 4), Level::Moderate);
        assert_eq!(level(2, 4), Level::High);
        assert_eq!(level(4, 3), Level::High);
        assert_eq!(level(3, 3), Level::Moderate);
        assert_eq!(level(4, 1), Level::Limited);
    }

    #[test]
    fn residual_follows_measures() {
        let r = parse_register("r.toml", REG, |_| true).unwrap();
        let m = |s: &str| MeasureId::parse(s).unwrap();
        let mut st = BTreeMap::from([
            (m("BCK-02"), EffectiveStatus::NotStarted),
            (m("END-01"), EffectiveStatus::Failing),
        ]);
        let x = &rate(&r, &st)[0];
        assert_eq!(
            (x.inherent.level, x.residual.level),
            (Level::High, Level::High)
        );
        st.insert(m("BCK-02"), EffectiveStatus::Verified);
        let x = &rate(&r, &st)[0];
        assert_eq!(x.residual.likelihood, 3);
        st.insert(m("END-01"), EffectiveStatus::Implemented);
        let x = &rate(&r, &st)[0];
        assert_eq!(
            (x.residual.likelihood, x.residual.level),
            (1, Level::Moderate)
        );
    }

    #[test]
    fn bad_registers_are_refused_with_their_place() {
        let e =
            parse_register("r.toml", &REG.replace("\"FE1\"]", "\"FE9\"]"), |_| true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.toml: scenario R1 refers to the unknown feared event 'FE9'"
        );
        let e = parse_register(
            "r.toml",
            &REG.replace("severity = \"Critique\"", "severity = 7"),
            |_| true,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("r.toml: line 14:"), "{e}");
        let e = parse_register("r.toml", REG, |m| m.as_str() != "END-01").unwrap_err();
        assert!(
            e.to_string().contains("unknown catalogue measure 'END-01'"),
            "{e}"
        );
    }
}
