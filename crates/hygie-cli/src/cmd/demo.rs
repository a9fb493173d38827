//! `hygie demo`: a clearly labelled demo region (code DEMO), so that a newcomer sees a meaningful
//! status at once. Facilities sit at different stages of their plan, with a history of
//! declarations and one automated check that contradicts a declaration.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Args;
use hygie_core::{
    CheckRun, DeclaredStatus, Facility, FacilityKind, Finess, Nis2Status, Region, RuleOutcome,
    RuleResult, Severity,
};
use hygie_store::Actor;

#[derive(Args)]
pub struct DemoArgs {}

struct DemoFacility {
    first8: &'static str,
    name: &'static str,
    kind: FacilityKind,
    nis2: Nis2Status,
    /// Months between plan start and today.
    months_ago: i64,
    /// Share of each level's measures declared implemented (level 1, 2, 3), and of the rest.
    done: [f64; 4],
}

const FACILITIES: [DemoFacility; 6] = [
    DemoFacility {
        first8: "35000001",
        name: "DÉMO — CHU de Kerlann",
        kind: FacilityKind::Hospital,
        nis2: Nis2Status::Essential,
        months_ago: 20,
        done: [1.0, 0.8, 0.3, 0.5],
    },
    DemoFacility {
        first8: "35000002",
        name: "DÉMO — Clinique du Port",
        kind: FacilityKind::Clinic,
        nis2: Nis2Status::Important,
        months_ago: 14,
        done: [1.0, 0.4, 0.1, 0.3],
    },
    DemoFacility {
        first8: "35000003",
        name: "DÉMO — Laboratoire BioArmor",
        kind: FacilityKind::BiologyLab,
        nis2: Nis2Status::OutOfScope,
        months_ago: 8,
        done: [0.5, 0.2, 0.0, 0.2],
    },
    DemoFacility {
        first8: "35000004",
        name: "DÉMO — Centre de radiothérapie Iroise",
        kind: FacilityKind::Radiotherapy,
        nis2: Nis2Status::Important,
        months_ago: 3,
        done: [0.5, 0.0, 0.0, 0.1],
    },
    DemoFacility {
        first8: "35000005",
        name: "DÉMO — Centre d'imagerie des Remparts",
        kind: FacilityKind::Imaging,
        nis2: Nis2Status::OutOfScope,
        months_ago: 24,
        done: [1.0, 1.0, 1.0, 0.8],
    },
    DemoFacility {
        first8: "35000006",
        name: "DÉMO — EHPAD Les Genêts",
        kind: FacilityKind::MedicoSocial,
        nis2: Nis2Status::Unknown,
        months_ago: 10,
        done: [0.25, 0.0, 0.0, 0.05],
    },
];

pub async fn run(ctx: &Ctx, _a: DemoArgs) -> anyhow::Result<u8> {
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let region = Region::demo();
    if !store.facilities(Some(region)).await?.is_empty() {
        match ctx.format {
            Format::Json => {
                output::json(&serde_json::json!({"seeded": false, "region": region.code()}))?
            }
            _ => println!("The demo region is already seeded: hygie region status DEMO"),
        }
        return Ok(exit::OK);
    }
    let actor = Actor("demo".into());
    let now = jiff::Timestamp::now();
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let today = now.to_zoned(tz.clone()).date();
    let mut ids = Vec::new();
    for d in &FACILITIES {
        let plan_start = today
            .saturating_sub(jiff::Span::new().months(d.months_ago))
            .first_of_month();
        let f = Facility {
            id: Finess::with_check_digit(d.first8)?,
            legal_entity: None,
            name: d.name.into(),
            kind: d.kind,
            region,
            nis2: d.nis2,
            plan_start,
        };
        store.add_facility(&f, true, &actor).await?;
        let start_ts = plan_start.to_zoned(tz.clone())?.timestamp();
        let elapsed = now.as_second() - start_ts.as_second();
        // Declarations spread over the plan so far: in progress first, implemented later.
        let owed: Vec<_> = catalog
            .measures
            .iter()
            .filter(|m| m.applies(f.kind, f.nis2))
            .collect();
        for (i, m) in owed.iter().enumerate() {
            // Index into `done`: levels 1-3 at 0-2, measures outside the plan levels at 3.
            let slot = m.level.map_or(3, |l| usize::from(l) - 1);
            let of_slot: Vec<_> = owed
                .iter()
                .filter(|x| x.level.map_or(3, |l| usize::from(l) - 1) == slot)
                .collect();
            let rank = of_slot.iter().position(|x| x.id == m.id).unwrap_or(0);
            let share = d.done[slot];
            let implemented = (rank as f64) < share * of_slot.len() as f64;
            let frac = (i as i64 + 1) * elapsed / (owed.len() as i64 + 2);
            let started = jiff::Timestamp::from_second(start_ts.as_second() + frac / 2)?;
            let finished = jiff::Timestamp::from_second(start_ts.as_second() + frac)?;
            if implemented || i % 3 == 0 {
                store
                    .declare_at(
                        &f.id,
                        &m.id,
                        &DeclaredStatus::InProgress,
                        Some("RSSI"),
                        None,
                        &actor,
                        started,
                    )
                    .await?;
            }
            if implemented {
                store
                    .declare_at(
                        &f.id,
                        &m.id,
                        &DeclaredStatus::Implemented,
                        Some("RSSI"),
                        Some("demo"),
                        &actor,
                        finished,
                    )
                    .await?;
            }
        }
        ids.push(f.id);
    }
    // The CHU declared its password policy implemented; an automated check says otherwise.
    let chu = &ids[0];
    let iam04 = catalog.resolve("IAM-04")?.id.clone();
    let run = CheckRun {
        id: format!("demo-{}", now.as_second()),
        source: "demo".into(),
        at: now,
        results: vec![RuleResult {
            rule: "DEMO-PWD-MINLEN".into(),
            severity: Severity::High,
            outcome: RuleOutcome::Fail,
            measures: vec![iam04],
            objects: vec!["Default Domain Policy (minPwdLength = 7)".into()],
        }],
    };
    store
        .declare_at(
            chu,
            &run.results[0].measures[0],
            &DeclaredStatus::Implemented,
            Some("DSI"),
            Some("demo"),
            &actor,
            now,
        )
        .await?;
    store
        .record_check_run(chu, &run, &serde_json::json!({"demo": true}), &actor)
        .await?;
    match ctx.format {
        Format::Json => output::json(
            &serde_json::json!({"seeded": true, "region": region.code(), "facilities": ids}),
        )?,
        _ => {
            let status = store.region_status(&catalog, region, today).await?;
            print!("{}", hygie_report::region_text(&status, ctx.lang));
            println!("\nDemo region seeded with {} facilities. Next:", ids.len());
            println!(
                "  hygie status {}                      # one facility, level by level",
                ids[0]
            );
            println!(
                "  hygie status {} --format html -o chu.html --lang fr",
                ids[0]
            );
        }
    }
    Ok(exit::OK)
}
