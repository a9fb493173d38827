//! The governance registers as `hygie people import`, `hygie roles import` and `hygie training
//! add --attendees` read them (`==> people.csv <==` or `people.json` for an AD snapshot,
//! `roles.csv`, `attendees.csv`), then every governance rule and the training coverage, as
//! `hygie roles check` and `hygie training coverage` compute them.
#![no_main]

use hygie_governance::check::{GovernanceInput, check};
use hygie_governance::org::{self, Policy};
use hygie_governance::training::{self, Session, SessionKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut people = Vec::new();
    let mut roles = Vec::new();
    let mut attendees = Vec::new();
    for (name, bytes) in hygie_fuzz::split(data, "people.csv") {
        let Some(text) = hygie_fuzz::text(bytes) else {
            return;
        };
        let read = match name.as_str() {
            "people.csv" => org::parse_people_csv(&name, text).map(|p| people = p),
            "people.json" => org::parse_ad_snapshot(&name, text).map(|p| people = p),
            "roles.csv" => org::parse_roles_csv(&name, text).map(|r| roles = r),
            "attendees.csv" => training::parse_attendees_csv(&name, text).map(|a| attendees = a),
            _ => Ok(()),
        };
        if let Err(e) = read {
            let _ = e.to_string();
            return;
        }
    }
    let today = hygie_fuzz::today();
    let trainer = people
        .first()
        .map_or("outside", |p| p.id.as_str())
        .to_owned();
    let sessions: Vec<Session> = [
        (SessionKind::Awareness, 30),
        (SessionKind::AmbassadorTraining, 400),
        (SessionKind::CrisisExercise, 800),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (kind, days))| Session {
        id: format!("s{i}"),
        date: today.saturating_sub(jiff::Span::new().days(days)),
        trainer: trainer.clone(),
        kind,
        title: String::new(),
        attendees: attendees.clone(),
    })
    .collect();
    let findings = check(&GovernanceInput {
        people: &people,
        roles: &roles,
        sessions: &sessions,
        phishing_campaigns: &[today],
        as_of: today,
        policy: &Policy::default(),
    });
    let _ = serde_json::to_value(&findings);
    let year_ago = today.saturating_sub(jiff::Span::new().years(1));
    let _ = training::coverage(
        &people,
        &sessions,
        &[SessionKind::Awareness],
        year_ago,
        today,
    );
    let _ = training::coverage_by_year(&people, &sessions, &[SessionKind::Awareness]);
    let chart = org::Org::new(&people, &roles, today);
    for p in &people {
        let _ = chart.reporting_path(&p.id);
    }
    let _ = (chart.departments(), org::ambassador_coverage(&chart));
});
