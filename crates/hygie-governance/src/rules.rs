//! The governance rules, one `hygie_core::RuleDef` each (source `governance`, except the risk
//! register's, recorded by `hygie risk` under source `risk`). [`crate::check`] evaluates them as of
//! a date; a rule without data (no org chart, no session, no campaign) is not evaluated at all.
//!
//! - independence (GOV-10): the DPO and the CISO are distinct people; neither is, nor reports to,
//!   the IT head (the chain is walked upwards, bounded by the number of people, stopping on
//!   cycles and on managers missing from the chart); those cycles and dangling managers fail
//!   `GOV-REPORTING-LINES`;
//! - each mandatory role is held (`GOV-<ROLE>-HELD`) and stays held over the warning period
//!   following successive assignments (`GOV-<ROLE>-CONTINUITY`): DPO (GOV-08), CISO (GOV-01),
//!   incident referent (GOV-03), crisis cell (BCP-04), homologation authority (IAM-12);
//! - ambassadors (AWR-04): one per department, each trained by the CISO or deputy CISO (holding
//!   the role on the session's day) within the policy's months;
//! - with sessions: awareness of enough staff in 12 months (AWR-01), IT team trained (AWR-02),
//!   a crisis exercise in 12 months (BCP-03); with campaigns: a phishing simulation in 12 months
//!   (AWR-01); the risk register reviewed in 12 months (GOV-06).
//!
//! Titles that state a threshold from the policy are restated on the finding (`Finding::titled`).
//! To add a rule: define it here, add it to [`RULES`], evaluate it where its data is read.

use crate::org::Role;
use hygie_core::{RuleDef, Severity, Text};

pub use hygie_core::Finding;

const SOURCE: &str = "governance";

pub static DPO_CISO_DISTINCT: RuleDef = RuleDef::new(
    "GOV-DPO-CISO-DISTINCT",
    SOURCE,
    Severity::High,
    Text::new(
        "The DPO and the CISO are two different people",
        "Le DPO et le RSSI sont deux personnes distinctes",
    ),
    &["GOV-10"],
);

pub static NOT_UNDER_IT: RuleDef = RuleDef::new(
    "GOV-NOT-UNDER-IT",
    SOURCE,
    Severity::High,
    Text::new(
        "Neither the DPO nor the CISO reports to the head of the IT department",
        "Ni le DPO ni le RSSI ne sont rattachés au DSI",
    ),
    &["GOV-10"],
);

pub static REPORTING_LINES: RuleDef = RuleDef::new(
    "GOV-REPORTING-LINES",
    SOURCE,
    Severity::Low,
    Text::new(
        "Reporting lines of the DPO and the CISO are complete and loop-free",
        "Les lignes hiérarchiques du DPO et du RSSI sont complètes et sans boucle",
    ),
    &["GOV-10"],
);

/// The two rules of a mandatory role: it is held (`GOV-<ROLE>-HELD`, at the role's severity),
/// and stays held over the warning period (`GOV-<ROLE>-CONTINUITY`, medium), both on the role's
/// measure. The continuity title is written from the role's name in each language.
macro_rules! role_rules {
    ($held:ident, $continuity:ident, $id:literal, $severity:expr, $measure:literal,
     held: ($held_en:literal, $held_fr:literal),
     role: ($role_en:literal, $of_role_fr:literal)) => {
        pub static $held: RuleDef = RuleDef::new(
            concat!("GOV-", $id, "-HELD"),
            SOURCE,
            $severity,
            Text::new($held_en, $held_fr),
            &[$measure],
        );

        pub static $continuity: RuleDef = RuleDef::new(
            concat!("GOV-", $id, "-CONTINUITY"),
            SOURCE,
            Severity::Medium,
            Text::new(
                concat!(
                    "The ",
                    $role_en,
                    " role stays held for the coming warning period"
                ),
                concat!(
                    "Le rôle ",
                    $of_role_fr,
                    " reste pourvu pendant le délai d'alerte à venir"
                ),
            ),
            &[$measure],
        )
        .with_thresholds(&["expiry_warning_days"]);
    };
}

role_rules!(DPO_HELD, DPO_CONTINUITY, "DPO", Severity::Medium, "GOV-08",
    held: (
        "A data protection officer (DPO) is designated",
        "Un délégué à la protection des données (DPO) est désigné"
    ),
    role: ("data protection officer (DPO)", "de délégué à la protection des données (DPO)"));

role_rules!(CISO_HELD, CISO_CONTINUITY, "CISO", Severity::High, "GOV-01",
    held: ("A CISO is designated", "Un RSSI est désigné"),
    role: ("CISO", "de RSSI"));

role_rules!(INCIDENT_REFERENT_HELD, INCIDENT_REFERENT_CONTINUITY, "INCIDENT-REFERENT",
    Severity::High, "GOV-03",
    held: ("An incident referent is designated", "Un référent incident SSI est désigné"),
    role: ("incident referent", "de référent incident SSI"));

role_rules!(CRISIS_CELL_HELD, CRISIS_CELL_CONTINUITY, "CRISIS-CELL", Severity::Medium, "BCP-04",
    held: ("A crisis cell member is designated", "Un membre de la cellule de crise est désigné"),
    role: ("crisis cell member", "de membre de la cellule de crise"));

role_rules!(HOMOLOGATION_AUTHORITY_HELD, HOMOLOGATION_AUTHORITY_CONTINUITY,
    "HOMOLOGATION-AUTHORITY", Severity::Medium, "IAM-12",
    held: ("A homologation authority is designated", "Une autorité d'homologation est désignée"),
    role: ("homologation authority", "d'autorité d'homologation"));

pub static AMBASSADORS_COVERAGE: RuleDef = RuleDef::new(
    "GOV-AMBASSADORS-COVERAGE",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Every department has a cyber-security ambassador",
        "Chaque service a un ambassadeur cybersécurité",
    ),
    &["AWR-04"],
);

pub static AMBASSADORS_TRAINED: RuleDef = RuleDef::new(
    "GOV-AMBASSADORS-TRAINED",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Every ambassador was recently trained by the CISO",
        "Chaque ambassadeur a été formé récemment par le RSSI",
    ),
    &["AWR-04"],
)
.with_thresholds(&["ambassador_training_months"]);

pub static AWARENESS_YEARLY: RuleDef = RuleDef::new(
    "GOV-AWARENESS-YEARLY",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Enough staff attended awareness in the last 12 months",
        "Assez de personnel a été sensibilisé dans les 12 derniers mois",
    ),
    &["AWR-01"],
)
.with_thresholds(&["awareness_min_ratio"]);

pub static IT_TEAM_TRAINED: RuleDef = RuleDef::new(
    "GOV-IT-TEAM-TRAINED",
    SOURCE,
    Severity::Medium,
    Text::new(
        "Every member of the IT department attended an SSI training",
        "Chaque membre de la DSI a suivi une formation SSI",
    ),
    &["AWR-02"],
);

pub static CRISIS_EXERCISE_YEARLY: RuleDef = RuleDef::new(
    "GOV-CRISIS-EXERCISE-YEARLY",
    SOURCE,
    Severity::Medium,
    Text::new(
        "A cyber-crisis exercise ran in the last 12 months",
        "Un exercice de crise cyber a eu lieu dans les 12 derniers mois",
    ),
    &["BCP-03"],
);

pub static PHISHING_YEARLY: RuleDef = RuleDef::new(
    "GOV-PHISHING-YEARLY",
    SOURCE,
    Severity::Low,
    Text::new(
        "A phishing simulation ran in the last 12 months",
        "Une simulation d'hameçonnage a eu lieu dans les 12 derniers mois",
    ),
    &["AWR-01"],
);

/// Recorded by `hygie risk` under its own source.
pub static RISK_REGISTER_REVIEWED: RuleDef = RuleDef::new(
    "GOV-RISK-REGISTER-REVIEWED",
    "risk",
    Severity::Medium,
    Text::new(
        "The risk register was reviewed in the last 12 months",
        "Le registre des risques a été revu dans les 12 derniers mois",
    ),
    &["GOV-06"],
);

/// Every governance rule.
pub static RULES: &[&RuleDef] = &[
    &DPO_CISO_DISTINCT,
    &NOT_UNDER_IT,
    &REPORTING_LINES,
    &DPO_HELD,
    &DPO_CONTINUITY,
    &CISO_HELD,
    &CISO_CONTINUITY,
    &INCIDENT_REFERENT_HELD,
    &INCIDENT_REFERENT_CONTINUITY,
    &CRISIS_CELL_HELD,
    &CRISIS_CELL_CONTINUITY,
    &HOMOLOGATION_AUTHORITY_HELD,
    &HOMOLOGATION_AUTHORITY_CONTINUITY,
    &AMBASSADORS_COVERAGE,
    &AMBASSADORS_TRAINED,
    &AWARENESS_YEARLY,
    &IT_TEAM_TRAINED,
    &CRISIS_EXERCISE_YEARLY,
    &PHISHING_YEARLY,
    &RISK_REGISTER_REVIEWED,
];

/// The rules that a mandatory role is held, and stays held over the warning period.
pub fn role_rules(role: Role) -> Option<(&'static RuleDef, &'static RuleDef)> {
    match role {
        Role::Dpo => Some((&DPO_HELD, &DPO_CONTINUITY)),
        Role::Ciso => Some((&CISO_HELD, &CISO_CONTINUITY)),
        Role::IncidentReferent => Some((&INCIDENT_REFERENT_HELD, &INCIDENT_REFERENT_CONTINUITY)),
        Role::CrisisCell => Some((&CRISIS_CELL_HELD, &CRISIS_CELL_CONTINUITY)),
        Role::HomologationAuthority => Some((
            &HOMOLOGATION_AUTHORITY_HELD,
            &HOMOLOGATION_AUTHORITY_CONTINUITY,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mandatory_role_has_its_rules_on_its_measure() {
        for role in Role::MANDATORY {
            let (held, continuity) = role_rules(role).expect("mandatory role has rules");
            assert_eq!(held.measures, [role.measure()]);
            assert_eq!(continuity.measures, [role.measure()]);
            assert!(held.title.en.contains(role.label().en.as_str()));
        }
    }
}
