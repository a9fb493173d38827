//! Incident facts in JSON as `hygie incident open --from FILE` reads them (`==> open.json <==`,
//! the default), an optional patch as `hygie incident update --from FILE` reads it
//! (`==> update.json <==`) and an optional stored record (`==> stored.json <==`, what the store
//! keeps and reads back); then obligations, every draft, the exports and the register.
#![no_main]

use hygie_core::{Finess, Lang, Nis2Status};
use hygie_incident::{Duty, FactsInput, Incident, Register, draft, due, export};
use jiff::{SignedDuration, Timestamp};

/// What `incident show`, `draft`, `export`, `register` and `due` compute from an incident.
fn views(inc: &Incident, now: Timestamp) {
    let _ = inc
        .obligations(now)
        .map(|o| export::obligations_json(&o, Lang::En, now));
    let _ = inc.due_and_late(now);
    for duty in Duty::ALL {
        if let Ok(d) = draft::draft(inc, duty, Lang::Fr, now) {
            let _ = (d.to_markdown(), d.to_html(), serde_json::to_string(&d));
        }
    }
    let _ = export::summary_text(inc, Lang::En, now);
    let _ = export::to_json(inc, Lang::Fr, now);
    let _ = export::list_line(inc, Lang::Fr, now);
    let _ = export::timeline(inc, Lang::Fr);
    let _ = export::export_markdown(inc, &[], Lang::En, now);
    let _ = export::export_html(inc, &[], Lang::Fr, now);
    let _ = inc.digest();
    let list = std::slice::from_ref(inc);
    if let Ok(facility) = Finess::parse(&inc.facts.facility)
        && let Ok(r) = Register::new(&facility, "CHU", list, Lang::Fr, now)
    {
        let _ = (r.to_csv(), r.to_html(), r.to_table(), r.to_json());
    }
    if let Ok(horizon) = now.checked_add(SignedDuration::from_hours(24 * 30))
        && let Ok(due) = due::due_within(list, now, horizon)
    {
        for item in &due.items {
            let _ = (item.to_json(Lang::En, now), item.row(Lang::Fr, now));
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = hygie_fuzz::now();
    let mut open = None;
    let mut update = None;
    for (name, bytes) in hygie_fuzz::split(data, "open.json") {
        let Some(text) = hygie_fuzz::text(bytes) else {
            return;
        };
        match name.as_str() {
            "open.json" => match serde_json::from_str::<FactsInput>(text) {
                Ok(i) => open = Some(i),
                Err(e) => {
                    let _ = (e.line(), e.column());
                    return;
                }
            },
            "update.json" => match serde_json::from_str::<FactsInput>(text) {
                Ok(i) => update = Some(i),
                Err(_) => return,
            },
            "stored.json" => {
                if let Ok(inc) = serde_json::from_str::<Incident>(text) {
                    views(&inc, now);
                }
            }
            _ => {}
        }
    }
    let Some(input) = open else {
        return;
    };
    // `open` validates before the store, then builds the facts with the facility's status.
    if input.clone().into_facts(None, now).is_err() {
        return;
    }
    let Ok(facts) = input.into_facts(Some(Nis2Status::Essential), now) else {
        return;
    };
    let Ok(mut inc) = Incident::open("INC-2026-0001", facts, now) else {
        return;
    };
    views(&inc, now);
    let later = now
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(now);
    if let Some(patch) = update {
        let before = inc.facts.clone();
        if let Ok(changed) = inc.update(&patch, later) {
            let _ = hygie_incident::incident::facts_diff(&before, &inc.facts, &changed);
            views(&inc, later);
        }
    }
    if inc.close(Some("fuzz".into()), later).is_ok() {
        views(&inc, later);
    }
});
