//! The governance check: the rules of [`crate::rules`] evaluated on the org chart, the role
//! assignments, training sessions and phishing campaigns, as of one date.

use crate::org::{Assignment, Org, Person, Policy, Role, ambassador_coverage};
use crate::rules::{self, Finding};
use crate::training::{Session, SessionKind};
use hygie_core::Localized;
use jiff::civil::Date;

/// Everything the governance check reads.
pub struct GovernanceInput<'a> {
    pub people: &'a [Person],
    pub roles: &'a [Assignment],
    pub sessions: &'a [Session],
    /// Launch dates of the imported phishing campaigns.
    pub phishing_campaigns: &'a [Date],
    pub as_of: Date,
    pub policy: &'a Policy,
}

pub(crate) fn months_before(d: Date, months: i32) -> Date {
    d.checked_sub(jiff::Span::new().months(months))
        .unwrap_or(Date::MIN)
}

/// Evaluate every governance rule that has data to be evaluated on.
///
/// Roles and independence rules are evaluated whenever there is an org chart or an assignment;
/// training rules when at least one session is recorded; the phishing rule when at least one
/// campaign was imported. Rules without data are not evaluated (they prove nothing either way).
pub fn check(input: &GovernanceInput<'_>) -> Vec<Finding> {
    let org = Org::new(input.people, input.roles, input.as_of);
    let as_of = input.as_of;
    let mut out = Vec::new();
    if input.people.is_empty() && input.roles.is_empty() {
        return out;
    }

    // 1. DPO and CISO are different people.
    let mut f = rules::DPO_CISO_DISTINCT.pass();
    let dpos = org.holders(Role::Dpo, as_of);
    let cisos = org.holders(Role::Ciso, as_of);
    for d in &dpos {
        if cisos.iter().any(|c| c.person == d.person) {
            let n = org.name_of(&d.person);
            f.fail(
                n.clone(),
                Localized::new(
                    format!("{n} is both DPO and CISO"),
                    format!("{n} est à la fois DPO et RSSI"),
                ),
            );
        }
    }
    out.push(f);

    // 2. Neither reports to the IT head, directly or through the chain.
    let mut f = rules::NOT_UNDER_IT.pass();
    let mut chart = rules::REPORTING_LINES.pass();
    if org.holders(Role::ItHead, as_of).is_empty() {
        f.fail(
            "it-head",
            Localized::new(
                "no head of the IT department is recorded (role it-head): independence cannot be shown",
                "aucun DSI n'est enregistré (rôle it-head) : l'indépendance ne peut pas être démontrée",
            ),
        );
    }
    for (role, who) in dpos
        .iter()
        .map(|a| (Role::Dpo, a))
        .chain(cisos.iter().map(|a| (Role::Ciso, a)))
    {
        let n = org.name_of(&who.person);
        let label = role.label();
        if org.holds(&who.person, Role::ItHead, as_of) {
            f.fail(
                n.clone(),
                Localized::new(
                    format!("{n} ({}) is the head of the IT department", label.en),
                    format!("{n} ({}) est le DSI", label.fr),
                ),
            );
            continue;
        }
        let path = org.reporting_path(&who.person);
        if let Some(levels) = path.levels_below_it_head {
            let chain = path
                .chain
                .iter()
                .take(levels)
                .map(|p| org.name_of(p))
                .collect::<Vec<_>>()
                .join(" → ");
            f.fail(
                n.clone(),
                Localized::new(
                    format!(
                        "{n} ({}) reports to the IT head {levels} level(s) up: {chain}",
                        label.en
                    ),
                    format!(
                        "{n} ({}) est rattaché(e) au DSI à {levels} niveau(x) : {chain}",
                        label.fr
                    ),
                ),
            );
        }
        // The chart's defects along this person's reporting line, each a failure of its own.
        let mut defects = Vec::new();
        if !org.people.contains_key(who.person.as_str()) {
            defects.push((
                format!("{n} ({}) is not in the org chart", label.en),
                format!("{n} ({}) n'est pas dans l'organigramme", label.fr),
            ));
        }
        if let Some(m) = &path.missing_manager {
            defects.push((
                format!(
                    "the reporting line of {n} ({}) reaches '{m}', who is not in the org chart",
                    label.en
                ),
                format!(
                    "la ligne hiérarchique de {n} ({}) mène à « {m} », absent de l'organigramme",
                    label.fr
                ),
            ));
        }
        if let Some(c) = &path.cycle_at {
            let cn = org.name_of(c);
            defects.push((
                format!(
                    "the reporting line of {n} ({}) loops back to {cn}",
                    label.en
                ),
                format!(
                    "la ligne hiérarchique de {n} ({}) boucle sur {cn}",
                    label.fr
                ),
            ));
        }
        for (en, fr) in defects {
            chart.fail(n.clone(), Localized::new(en, fr));
        }
    }
    out.push(f);
    out.push(chart);

    // 3. Mandatory roles held, and not about to be vacant.
    let horizon = as_of
        .checked_add(jiff::Span::new().days(input.policy.expiry_warning_days))
        .unwrap_or(Date::MAX);
    for role in Role::MANDATORY {
        let Some((held, continuity)) = rules::role_rules(role) else {
            continue;
        };
        let id = role.as_str();
        let label = role.label();
        let mut vacant = held.pass();
        let mut expiring = continuity.pass().titled(Localized::new(
            format!(
                "The {} role stays held for the next {} days",
                label.en, input.policy.expiry_warning_days
            ),
            format!(
                "Le rôle de {} reste pourvu dans les {} prochains jours",
                label.fr, input.policy.expiry_warning_days
            ),
        ));
        match org.held_until(role) {
            Some(d) if d < as_of => vacant.fail(
                id,
                Localized::new(
                    format!("no {} is designated on {as_of}", label.en),
                    format!("aucun {} n'est désigné au {as_of}", label.fr),
                ),
            ),
            Some(d) if d < horizon => expiring.fail(
                id,
                Localized::new(
                    format!("the {} role ends on {d} with no successor", label.en),
                    format!("le rôle de {} prend fin le {d} sans successeur", label.fr),
                ),
            ),
            _ => {}
        }
        out.push(vacant);
        out.push(expiring);
    }

    // 4. Ambassadors in every department.
    let cov = ambassador_coverage(&org);
    let mut f = rules::AMBASSADORS_COVERAGE.pass();
    for d in &cov.uncovered {
        f.fail(
            d.clone(),
            Localized::new(
                format!(
                    "department {d} has no ambassador ({}/{} covered)",
                    cov.covered, cov.departments
                ),
                format!(
                    "le service {d} n'a pas d'ambassadeur ({}/{} couverts)",
                    cov.covered, cov.departments
                ),
            ),
        );
    }
    out.push(f);

    // 5. Ambassadors trained by the CISO within the last months.
    let since = months_before(as_of, input.policy.ambassador_training_months);
    let mut f = rules::AMBASSADORS_TRAINED.pass().titled(Localized::new(
        format!(
            "Every ambassador was trained by the CISO in the last {} months",
            input.policy.ambassador_training_months
        ),
        format!(
            "Chaque ambassadeur a été formé par le RSSI dans les {} derniers mois",
            input.policy.ambassador_training_months
        ),
    ));
    let mut ambassadors: Vec<&str> = org
        .holders(Role::Ambassador, as_of)
        .iter()
        .map(|a| a.person.as_str())
        .collect();
    ambassadors.sort_unstable();
    ambassadors.dedup();
    for amb in ambassadors {
        let trained = input.sessions.iter().any(|s| {
            s.kind == SessionKind::AmbassadorTraining
                && s.date > since
                && s.date <= as_of
                && s.attendees.iter().any(|a| a == amb)
                && (org.holds(&s.trainer, Role::Ciso, s.date)
                    || org.holds(&s.trainer, Role::DeputyCiso, s.date))
        });
        if !trained {
            let n = org.name_of(amb);
            f.fail(
                n.clone(),
                Localized::new(
                    format!("ambassador {n} has no ambassador training by the CISO since {since}"),
                    format!(
                        "l'ambassadeur {n} n'a pas suivi de formation par le RSSI depuis le {since}"
                    ),
                ),
            );
        }
    }
    out.push(f);

    // 6. Training records.
    if !input.sessions.is_empty() {
        out.extend(crate::training::rules(
            input.people,
            input.sessions,
            org.holders(Role::ItHead, as_of)
                .first()
                .and_then(|a| org.people.get(a.person.as_str()))
                .and_then(|p| p.department.as_deref()),
            as_of,
            input.policy,
        ));
    }

    // 7. Phishing simulations.
    if !input.phishing_campaigns.is_empty() {
        let since = months_before(as_of, 12);
        let mut f = rules::PHISHING_YEARLY.pass();
        if !input
            .phishing_campaigns
            .iter()
            .any(|d| *d > since && *d <= as_of)
        {
            f.fail(
                "phishing",
                Localized::new(
                    format!("no phishing campaign launched since {since}"),
                    format!("aucune campagne d'hameçonnage lancée depuis le {since}"),
                ),
            );
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::org::tests::{d, person, role};
    use hygie_core::RuleOutcome;

    #[test]
    fn check_flags_same_person_and_chain_under_it() {
        let people = vec![
            person("dsi", "IT", None),
            person("mgr", "IT", Some("dsi")),
            person("x", "Legal", Some("mgr")),
        ];
        let roles = vec![
            role(Role::ItHead, "dsi", "2020-01-01", None),
            role(Role::Dpo, "x", "2020-01-01", None),
            role(Role::Ciso, "x", "2020-01-01", None),
        ];
        let policy = Policy::default();
        let f = check(&GovernanceInput {
            people: &people,
            roles: &roles,
            sessions: &[],
            phishing_campaigns: &[],
            as_of: d("2026-01-01"),
            policy: &policy,
        });
        let get = |r: &str| f.iter().find(|x| x.rule == r).map(|x| x.outcome);
        assert_eq!(get("GOV-DPO-CISO-DISTINCT"), Some(RuleOutcome::Fail));
        assert_eq!(get("GOV-NOT-UNDER-IT"), Some(RuleOutcome::Fail));
        assert_eq!(get("GOV-INCIDENT-REFERENT-HELD"), Some(RuleOutcome::Fail));
        assert_eq!(get("GOV-DPO-HELD"), Some(RuleOutcome::Pass));
        assert_eq!(
            get("GOV-PHISHING-YEARLY"),
            None,
            "not evaluated without campaigns"
        );
    }
}
