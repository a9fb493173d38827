//! The legal status of each regime whose duties the clocks count (NIS 2 in France, the
//! complaint condition of cyber-insurance), as data: `data/regimes.toml`, bundled.
//!
//! A duty of a regime that is not in force at the incident's awareness is **anticipated**: shown
//! with its clock, never counted as late, with the regime's story as the reason. An
//! administrator records the in-force date when the law passes (`hygie regime set`, kept by the
//! store with its journal entry); the store applies it to every incident it reads
//! ([`Regimes::with_in_force`]), so no release is needed.

use crate::duty::Duty;
use crate::{IncidentError, Result};
use hygie_core::Localized;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// Where a regime stands in the legislative process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegimeStatus {
    /// A bill before parliament.
    Proposed,
    /// Passed, not yet in force.
    Adopted,
    /// In force from `in_force_from`.
    InForce,
}

impl RegimeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RegimeStatus::Proposed => "proposed",
            RegimeStatus::Adopted => "adopted",
            RegimeStatus::InForce => "in_force",
        }
    }
}

/// One regime, as the data says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub id: String,
    pub name: Localized,
    /// The duties it imposes, by name (`Duty::as_str`).
    pub duties: Vec<String>,
    pub status: RegimeStatus,
    /// The first day (Europe/Paris) it applies; an administrator's setting wins.
    #[serde(default)]
    pub in_force_from: Option<Date>,
    /// When the status was last checked against its sources.
    pub last_checked: Date,
    pub sources: Vec<String>,
    /// The story up to the last check, in both languages.
    pub note: Localized,
    /// Why a fact of the status is not confirmed from a primary text.
    #[serde(default)]
    pub unconfirmed: Option<String>,
    /// Who recorded the in-force date, when it comes from an administrator's setting.
    #[serde(default, skip_deserializing)]
    pub set_by: Option<String>,
}

impl Regime {
    /// The first instant it applies, in the facilities' zone (midnight Europe/Paris).
    pub fn in_force_at(&self) -> Option<Timestamp> {
        let tz = TimeZone::get(crate::clock::DEFAULT_TZ).unwrap_or(TimeZone::UTC);
        let d = self.in_force_from?;
        d.to_zoned(tz).ok().map(|z: Zoned| z.timestamp())
    }

    /// Whether the regime binds an incident the facility became aware of at `awareness`:
    /// a law does not reach back to incidents known before it applied.
    pub fn binds(&self, awareness: Timestamp) -> bool {
        self.in_force_at().is_some_and(|t| awareness >= t)
    }

    /// Why its duties are only anticipated for an incident known at `awareness`.
    pub fn anticipated_reason(&self, awareness: Timestamp) -> Localized {
        let checked = self.last_checked;
        match self.in_force_at() {
            Some(t) if awareness < t => Localized::new(
                format!(
                    "anticipated: {} applies from {} only, after the facility became aware",
                    self.name.en,
                    self.in_force_from
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ),
                format!(
                    "anticipée : {} ne s'applique qu'à partir du {}, après la prise de connaissance",
                    self.name.fr,
                    self.in_force_from
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ),
            ),
            _ => Localized::new(
                format!(
                    "anticipated, not a legal deadline yet: {} is {} (last checked {checked})",
                    self.name.en,
                    match self.status {
                        RegimeStatus::Proposed => "a bill, not in force",
                        RegimeStatus::Adopted => "adopted, not yet in force",
                        RegimeStatus::InForce => "without an in-force date",
                    }
                ),
                format!(
                    "anticipée, pas encore un délai légal : {} est {} (vérifié le {checked})",
                    self.name.fr,
                    match self.status {
                        RegimeStatus::Proposed => "un projet de loi, non en vigueur",
                        RegimeStatus::Adopted => "adopté(e), pas encore en vigueur",
                        RegimeStatus::InForce => "sans date d'entrée en vigueur",
                    }
                ),
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    regime: Vec<Regime>,
}

/// The regimes' data as bundled.
pub const BUNDLED: &str = include_str!("../data/regimes.toml");

/// Parse regimes' data; every duty named must exist.
pub fn parse(text: &str) -> Result<Vec<Regime>> {
    let f: File =
        toml::from_str(text).map_err(|e| IncidentError::invalid("regimes.toml", e.to_string()))?;
    for r in &f.regime {
        for d in &r.duties {
            d.parse::<Duty>()
                .map_err(|e| IncidentError::invalid("regimes.toml", format!("{}: {e}", r.id)))?;
        }
        if r.status == RegimeStatus::InForce && r.in_force_from.is_none() {
            return Err(IncidentError::invalid(
                "regimes.toml",
                format!("{}: in_force needs in_force_from", r.id),
            ));
        }
    }
    Ok(f.regime)
}

static BUNDLED_REGIMES: LazyLock<Vec<Regime>> =
    // The bundled file is checked by a unit test; should it ever fail to parse, no regime is
    // known and every duty counts as binding, as before regimes existed.
    LazyLock::new(|| parse(BUNDLED).unwrap_or_default());

/// The regimes an incident's duties are judged under: the bundled data, with the
/// administrator's in-force dates applied. Not part of the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regimes(Vec<Regime>);

impl Default for Regimes {
    fn default() -> Self {
        Regimes(BUNDLED_REGIMES.clone())
    }
}

impl Regimes {
    pub fn all(&self) -> &[Regime] {
        &self.0
    }

    pub fn get(&self, id: &str) -> Option<&Regime> {
        self.0.iter().find(|r| r.id == id)
    }

    /// The regime that imposes `duty`, if the data names one.
    pub fn of(&self, duty: Duty) -> Option<&Regime> {
        self.0
            .iter()
            .find(|r| r.duties.iter().any(|d| d == duty.as_str()))
    }

    /// Apply an administrator's in-force date (None: back to the data's). Unknown ids are refused.
    pub fn with_in_force(mut self, id: &str, from: Option<Date>, set_by: &str) -> Result<Self> {
        let bundled = BUNDLED_REGIMES.iter().find(|r| r.id == id).cloned();
        let r = self
            .0
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| unknown(id))?;
        match from {
            Some(d) => {
                r.in_force_from = Some(d);
                r.status = RegimeStatus::InForce;
                r.set_by = Some(set_by.to_owned());
            }
            None => {
                if let Some(b) = bundled {
                    *r = b;
                }
            }
        }
        Ok(self)
    }

    /// The note to show beside `duty`'s obligation when its regime does not bind the incident.
    pub fn anticipated(&self, duty: Duty, awareness: Timestamp) -> Option<Localized> {
        let r = self.of(duty)?;
        (!r.binds(awareness)).then(|| r.anticipated_reason(awareness))
    }
}

/// The error for a regime id the data does not know.
pub fn unknown(id: &str) -> IncidentError {
    IncidentError::invalid(
        "regime",
        format!(
            "'{id}' is not a regime ({})",
            BUNDLED_REGIMES
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_parses_and_nis2_is_not_in_force() {
        let all = parse(BUNDLED).expect("bundled regimes parse");
        let r = Regimes(all);
        let nis2 = r.of(Duty::Nis2Notification).expect("nis2 regime");
        assert_eq!(nis2.status, RegimeStatus::Proposed);
        assert!(nis2.note.en.contains("ReCyF") && nis2.note.fr.contains("ReCyF"));
        assert!(nis2.note.en.contains("12 March 2025"));
        assert!(nis2.unconfirmed.is_some());
        let c = r.of(Duty::Complaint).expect("complaint regime");
        assert_eq!(
            c.in_force_from.map(|d| d.to_string()).as_deref(),
            Some("2023-04-24")
        );
        assert!(r.of(Duty::Cnil).is_none());
    }

    #[test]
    fn an_in_force_date_set_by_an_administrator_binds_later_incidents_only() {
        let r = Regimes::default()
            .with_in_force("nis2_fr", Some(jiff::civil::date(2027, 1, 1)), "cli")
            .expect("known regime");
        let nis2 = r.get("nis2_fr").expect("nis2");
        let before: Timestamp = "2026-12-31T22:59:59Z".parse().expect("ts");
        let after: Timestamp = "2026-12-31T23:00:00Z".parse().expect("ts");
        assert!(!nis2.binds(before));
        assert!(nis2.binds(after));
        assert!(r.anticipated(Duty::Nis2Final, before).is_some());
        assert!(
            Regimes::default()
                .with_in_force("nope", None, "cli")
                .is_err()
        );
    }
}
