//! A facility as a person types it, on a form or the command line, and its one validation:
//! the CLI's `facility add`, the web form and the JSON API parse through `FacilityInput::parse`,
//! so the three accept and refuse the same facilities. Every refusal names its field and says
//! why in English and French; all of them are reported at once, so a form can show each beside
//! its input.

use super::{Facility, FacilityKind, Finess, Nis2Status};
use crate::{Localized, Region};
use serde::Deserialize;

/// The longest facility name accepted (FINESS's own "raison sociale" is at most 60 characters;
/// the margin leaves room for a site's usual name).
pub const MAX_NAME_CHARS: usize = 200;

/// A facility with every field as typed. An empty `nis2` means `unknown`; an empty
/// `legal_entity`, none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FacilityInput {
    pub finess: String,
    pub legal_entity: String,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub nis2: String,
    pub plan_start: String,
}

/// A field refused and why, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in `FacilityInput`.
    pub field: &'static str,
    pub message: Localized,
}

impl FieldError {
    fn new(field: &'static str, en: impl Into<String>, fr: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: Localized::new(en, fr),
        }
    }
}

impl FacilityInput {
    /// The fields of a facility as a form shows them (to edit it).
    pub fn of(f: &Facility) -> FacilityInput {
        FacilityInput {
            finess: f.id.to_string(),
            legal_entity: f
                .legal_entity
                .as_ref()
                .map(Finess::to_string)
                .unwrap_or_default(),
            name: f.name.clone(),
            kind: f.kind.as_str().to_owned(),
            region: f.region.code().to_owned(),
            nis2: f.nis2.as_str().to_owned(),
            plan_start: f.plan_start.to_string(),
        }
    }

    /// The facility these fields describe, or every field refused. The FINESS number must be
    /// valid (its Luhn key) and its département lie in the region (except in the demo region,
    /// which has none).
    pub fn parse(&self) -> Result<Facility, Vec<FieldError>> {
        let mut errors = Vec::new();
        let id = Finess::parse_localized(&self.finess)
            .map_err(|message| {
                errors.push(FieldError {
                    field: "finess",
                    message,
                })
            })
            .ok();
        let legal_entity = match self.legal_entity.trim() {
            "" => None,
            l => Finess::parse_localized(l)
                .map_err(|message| {
                    errors.push(FieldError {
                        field: "legal_entity",
                        message,
                    })
                })
                .ok(),
        };
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(FieldError::new(
                "name",
                "give the facility's name",
                "indiquez le nom de l'établissement",
            ));
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                "name",
                format!("at most {MAX_NAME_CHARS} characters"),
                format!("{MAX_NAME_CHARS} caractères au plus"),
            ));
        } else if name.chars().any(crate::is_disguising) {
            errors.push(FieldError::new(
                "name",
                "holds a control or text-direction character",
                "contient un caractère de contrôle ou de sens d'écriture",
            ));
        }
        let kind = self
            .kind
            .parse::<FacilityKind>()
            .map_err(|_| {
                errors.push(FieldError::new(
                    "kind",
                    format!(
                        "'{}' is not a facility kind ({})",
                        self.kind,
                        names(FacilityKind::ALL.map(FacilityKind::as_str))
                    ),
                    format!(
                        "« {} » n'est pas un type d'établissement ({})",
                        self.kind,
                        names(FacilityKind::ALL.map(FacilityKind::as_str))
                    ),
                ))
            })
            .ok();
        let region = Region::parse(&self.region)
            .map_err(|_| {
                let codes: Vec<&str> = Region::all().map(Region::code).collect();
                errors.push(FieldError::new(
                    "region",
                    format!(
                        "'{}' is not an ARS region (one of {})",
                        self.region,
                        codes.join(", ")
                    ),
                    format!(
                        "« {} » n'est pas une région d'ARS (une de {})",
                        self.region,
                        codes.join(", ")
                    ),
                ))
            })
            .ok();
        let nis2 = match self.nis2.trim() {
            "" => Some(Nis2Status::Unknown),
            s => s
                .parse::<Nis2Status>()
                .map_err(|_| {
                    let all = names(Nis2Status::ALL.map(Nis2Status::as_str));
                    errors.push(FieldError::new(
                        "nis2",
                        format!("'{s}' is not a NIS 2 status ({all})"),
                        format!("« {s} » n'est pas un statut NIS 2 ({all})"),
                    ))
                })
                .ok(),
        };
        let plan_start = crate::parse_date("plan_start", &self.plan_start)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "plan_start",
                    format!("'{}' is not a valid date (YYYY-MM-DD)", self.plan_start),
                    format!(
                        "« {} » n'est pas une date valide (AAAA-MM-JJ)",
                        self.plan_start
                    ),
                ))
            })
            .ok();
        if let (Some(id), Some(region)) = (&id, region)
            && !region.is_demo()
            && !region.contains_departement(id.departement())
        {
            let dept = id.departement();
            errors.push(FieldError::new(
                "region",
                format!(
                    "FINESS {id} is in département {dept}, which is not in region {} ({})",
                    region.code(),
                    region.name()
                ),
                format!(
                    "le FINESS {id} est dans le département {dept}, qui n'est pas dans la région {} ({})",
                    region.code(),
                    region.name()
                ),
            ));
        }
        match (id, kind, region, nis2, plan_start) {
            (Some(id), Some(kind), Some(region), Some(nis2), Some(plan_start))
                if errors.is_empty() =>
            {
                Ok(Facility {
                    id,
                    legal_entity,
                    name: name.to_owned(),
                    kind,
                    region,
                    nis2,
                    plan_start,
                })
            }
            _ => Err(errors),
        }
    }
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> FacilityInput {
        FacilityInput {
            finess: "750712184".into(),
            legal_entity: String::new(),
            name: " CHU Exemple ".into(),
            kind: "hospital".into(),
            region: "IDF".into(),
            nis2: String::new(),
            plan_start: "2026-01-15".into(),
        }
    }

    fn fields(r: Result<Facility, Vec<FieldError>>) -> Vec<&'static str> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_valid_facility_parses_and_round_trips() {
        let f = valid().parse().unwrap();
        assert_eq!(f.name, "CHU Exemple");
        assert_eq!(f.nis2, Nis2Status::Unknown);
        assert_eq!(f.legal_entity, None);
        let again = FacilityInput::of(&f).parse().unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn every_refused_field_is_named_in_both_languages() {
        let bad = FacilityInput {
            finess: "750712185".into(),
            legal_entity: "12".into(),
            name: "  ".into(),
            kind: "zoo".into(),
            region: "Atlantis".into(),
            nis2: "maybe".into(),
            plan_start: "2026-02-30".into(),
        };
        let errors = bad.parse().unwrap_err();
        let names: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            names,
            [
                "finess",
                "legal_entity",
                "name",
                "kind",
                "region",
                "nis2",
                "plan_start"
            ]
        );
        for e in &errors {
            assert!(!e.message.en.is_empty() && !e.message.fr.is_empty());
            assert_ne!(e.message.en, e.message.fr, "{}", e.field);
        }
        assert!(errors[0].message.fr.contains("clé"), "{:?}", errors[0]);
    }

    #[test]
    fn the_departement_must_lie_in_the_region_but_in_the_demo_region() {
        let elsewhere = FacilityInput {
            region: "BRE".into(),
            ..valid()
        };
        assert_eq!(fields(elsewhere.parse()), ["region"]);
        let demo = FacilityInput {
            region: "DEMO".into(),
            ..valid()
        };
        assert!(demo.parse().is_ok());
    }

    #[test]
    fn names_are_bounded_and_plain() {
        let long = FacilityInput {
            name: "x".repeat(MAX_NAME_CHARS + 1),
            ..valid()
        };
        assert_eq!(fields(long.parse()), ["name"]);
        let disguised = FacilityInput {
            name: "CH\u{202e}gpj".into(),
            ..valid()
        };
        assert_eq!(fields(disguised.parse()), ["name"]);
    }
}
