//! Facilities: who owes the measures.

use crate::{InvalidValue, Region};
use serde::{Deserialize, Serialize};
use std::fmt;

mod input;
pub use input::{FacilityInput, FieldError, MAX_NAME_CHARS};

/// A FINESS number (Fichier national des établissements sanitaires et sociaux): nine characters,
/// the first two the département (`01`..`95` without `20`, Corsica's `2A`/`2B`, overseas `97`/`98`),
/// then seven digits, the last of which is a Luhn check digit over the first eight.
///
/// The Luhn key is checked on numeric FINESS numbers. For Corsica (2A/2B) no public source seen
/// here says how the letters enter the key, so only the format is checked there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Finess(String);

impl Finess {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        Finess::parse_localized(input).map_err(|m| InvalidValue::new("finess", m.en))
    }

    /// As `parse`, with the reason of a refusal in both languages (forms show it in the
    /// reader's).
    pub fn parse_localized(input: &str) -> Result<Self, crate::Localized> {
        let s = input.trim().to_ascii_uppercase();
        let err = |en: String, fr: String| {
            crate::Localized::new(format!("'{input}' {en}"), format!("« {input} » {fr}"))
        };
        if s.len() != 9 || !s.is_ascii() {
            return Err(err(
                "must have exactly 9 characters (2 for the département, 7 digits)".into(),
                "doit compter exactement 9 caractères (2 pour le département, 7 chiffres)".into(),
            ));
        }
        let (dept, rest) = s.split_at(2);
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "must end with 7 digits".into(),
                "doit finir par 7 chiffres".into(),
            ));
        }
        let corsica = dept == "2A" || dept == "2B";
        if !corsica {
            let known = dept
                .parse::<u32>()
                .is_ok_and(|n| n != 0 && n != 20 && n != 96 && n <= 98);
            if !known {
                return Err(err(
                    format!(
                        "starts with '{dept}', which is not a département code (01-95, 2A, 2B, 97, 98)"
                    ),
                    format!(
                        "commence par « {dept} », qui n'est pas un code de département (01-95, 2A, 2B, 97, 98)"
                    ),
                ));
            }
            if !luhn_valid(&s) {
                return Err(err(
                    "has a wrong check digit (Luhn key of the first 8 digits)".into(),
                    "a une clé de contrôle fausse (clé de Luhn des 8 premiers chiffres)".into(),
                ));
            }
        }
        Ok(Finess(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Complete eight leading digits with their Luhn check digit (for generated test and demo data).
    pub fn with_check_digit(first8: &str) -> Result<Self, InvalidValue> {
        for d in 0..=9 {
            if let Ok(f) = Finess::parse(&format!("{first8}{d}")) {
                return Ok(f);
            }
        }
        Err(InvalidValue::new(
            "finess",
            format!("'{first8}' cannot start a FINESS number"),
        ))
    }

    /// The département code the number starts with (`75`, `2A`, `971`...).
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

impl fmt::Display for Finess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of facility the 2016 plan and the reporting duty name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    /// Établissement de santé, including a GHT.
    Hospital,
    /// Private clinic.
    Clinic,
    /// Laboratoire de biologie médicale.
    BiologyLab,
    /// Centre de radiothérapie.
    Radiotherapy,
    /// Centre d'imagerie / de radiologie.
    Imaging,
    /// Établissement ou service médico-social.
    MedicoSocial,
}

impl FacilityKind {
    pub const ALL: [FacilityKind; 6] = [
        FacilityKind::Hospital,
        FacilityKind::Clinic,
        FacilityKind::BiologyLab,
        FacilityKind::Radiotherapy,
        FacilityKind::Imaging,
        FacilityKind::MedicoSocial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FacilityKind::Hospital => "hospital",
            FacilityKind::Clinic => "clinic",
            FacilityKind::BiologyLab => "biology_lab",
            FacilityKind::Radiotherapy => "radiotherapy",
            FacilityKind::Imaging => "imaging",
            FacilityKind::MedicoSocial => "medico_social",
        }
    }

    pub fn label(self) -> crate::Localized {
        let (en, fr) = match self {
            FacilityKind::Hospital => ("Hospital / GHT", "Établissement de santé / GHT"),
            FacilityKind::Clinic => ("Clinic", "Clinique"),
            FacilityKind::BiologyLab => (
                "Medical biology laboratory",
                "Laboratoire de biologie médicale",
            ),
            FacilityKind::Radiotherapy => ("Radiotherapy centre", "Centre de radiothérapie"),
            FacilityKind::Imaging => ("Imaging centre", "Centre d'imagerie"),
            FacilityKind::MedicoSocial => ("Medico-social facility", "Établissement médico-social"),
        };
        crate::Localized::new(en, fr)
    }
}

impl std::str::FromStr for FacilityKind {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        let kind = match norm.as_str() {
            "hospital" | "ght" | "es" => FacilityKind::Hospital,
            "clinic" => FacilityKind::Clinic,
            "biology_lab" | "lbm" | "lab" => FacilityKind::BiologyLab,
            "radiotherapy" | "rt" => FacilityKind::Radiotherapy,
            "imaging" | "img" => FacilityKind::Imaging,
            "medico_social" | "esms" => FacilityKind::MedicoSocial,
            _ => {
                return Err(InvalidValue::new(
                    "kind",
                    format!(
                        "'{s}' is not a facility kind (hospital, clinic, biology_lab, radiotherapy, imaging, medico_social)"
                    ),
                ));
            }
        };
        Ok(kind)
    }
}

/// A facility's status under the NIS 2 directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nis2Status {
    Essential,
    Important,
    OutOfScope,
    Unknown,
}

impl Nis2Status {
    pub const ALL: [Nis2Status; 4] = [
        Nis2Status::Essential,
        Nis2Status::Important,
        Nis2Status::OutOfScope,
        Nis2Status::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Nis2Status::Essential => "essential",
            Nis2Status::Important => "important",
            Nis2Status::OutOfScope => "out_of_scope",
            Nis2Status::Unknown => "unknown",
        }
    }

    /// The NIS 2 status in the reader's words (pages and reports never show the raw value).
    pub fn label(self) -> crate::Localized {
        let (en, fr) = match self {
            Nis2Status::Essential => ("essential entity", "entité essentielle"),
            Nis2Status::Important => ("important entity", "entité importante"),
            Nis2Status::OutOfScope => ("out of scope", "hors champ"),
            Nis2Status::Unknown => ("not yet determined", "non déterminé"),
        };
        crate::Localized::new(en, fr)
    }

    /// Whether NIS 2 duties apply (essential or important entity).
    pub fn in_scope(self) -> bool {
        matches!(self, Nis2Status::Essential | Nis2Status::Important)
    }
}

impl std::str::FromStr for Nis2Status {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "essential" | "ee" => Ok(Nis2Status::Essential),
            "important" | "ei" => Ok(Nis2Status::Important),
            "out_of_scope" | "none" => Ok(Nis2Status::OutOfScope),
            "unknown" => Ok(Nis2Status::Unknown),
            _ => Err(InvalidValue::new(
                "nis2",
                format!(
                    "'{s}' is not a NIS 2 status (essential, important, out_of_scope, unknown)"
                ),
            )),
        }
    }
}

/// A facility that owes the plan's measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facility {
    /// The FINESS number, also the facility's id.
    pub id: Finess,
    /// The FINESS of the legal entity (entité juridique) the site belongs to, when known.
    pub legal_entity: Option<Finess>,
    pub name: String,
    pub kind: FacilityKind,
    pub region: Region,
    pub nis2: Nis2Status,
    /// The start of the facility's plan: level deadlines count from this date.
    pub plan_start: jiff::civil::Date,
}

impl Facility {
    /// The due date of a plan level: plan start + 6, 12 or 18 months.
    pub fn level_due(&self, level: u8) -> jiff::civil::Date {
        due_date(self.plan_start, level)
    }
}

/// Plan start + 6 × level months, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb).
pub fn due_date(plan_start: jiff::civil::Date, level: u8) -> jiff::civil::Date {
    let months = 6 * i32::from(level);
    plan_start.saturating_add(jiff::Span::new().months(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finess_accepts_real_numbers_and_corsica() {
        for ok in [
            "750712184",
            "330781196",
            "2A0000016",
            "2b0000016",
            " 750712184 ",
        ] {
            assert!(Finess::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Finess::parse("2b0000016").unwrap().as_str(), "2B0000016");
        assert_eq!(Finess::parse("750712184").unwrap().departement(), "75");
    }

    #[test]
    fn finess_refuses_malformed_numbers() {
        for bad in [
            "",
            "75071218",
            "7507121840",
            "750712185",
            "200000000",
            "2C0000016",
            "00071218X",
            "7507121a4",
            "990000000",
        ] {
            let e = Finess::parse(bad).unwrap_err();
            assert_eq!(e.field, "finess", "{bad}");
        }
    }

    #[test]
    fn due_dates_clamp_to_month_end() {
        let d = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        assert_eq!(due_date(d("2026-01-15"), 1), d("2026-07-15"));
        assert_eq!(due_date(d("2026-01-15"), 3), d("2027-07-15"));
        assert_eq!(due_date(d("2025-08-31"), 1), d("2026-02-28"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in FacilityKind::ALL {
            assert_eq!(k.as_str().parse::<FacilityKind>().unwrap(), k);
        }
        assert!("zoo".parse::<FacilityKind>().is_err());
    }
}
