//! Benchmark of the streaming correlation state (issue 20: "with correlation rules loaded,
//! memory flat with 100,000 distinct group-by keys"): the shipped brute-force rule
//! (`rules/windows/correlation/brute-force-account.yml`: group-by TargetUserName and IpAddress,
//! timespan 1 minute) fed through [`PartitionState`], the path of the spooled ingest and of the
//! NATS correlators (add a record's hits, fold those past the lateness), with hits of distinct
//! accounts only (each a new group: the worst case for the state), RATE per second of event
//! time, so that the timespan expires the old groups. At 100k, 200k, 500k and 1M distinct keys
//! (and STEPS beyond), it prints the groups held, the hits buffered and the process's resident
//! memory (VmRSS, VmHWM from /proc/self/status). Then the saving cost, what the ingest pays at
//! each checkpoint and a correlator at each commit: time and size of the state (engines'
//! `export_state` and buffer, as JSON) at 100k groups, and the time to restore it.
//!
//!   cargo bench -p hygie-logs --bench correlation_state -- [RATE [LATENESS]]
//!   defaults: 2000 hits a second, 60 s of lateness (hygie ingest's default); figures in
//!   BENCHMARKS.md ("Correlation state: memory and saving").
//!
//! The global allocator is the `hygie` binary's (mimalloc).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use hygie_detect::{Correlations, Hit, Mapping, load_paths};
use hygie_logs::correlation::PartitionState;
use std::path::Path;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hits handed over at once (a spooled record holds up to 256 lines).
const RECORD: usize = 256;
/// 2026-02-01 00:00:00 UTC.
const START: i64 = 1_769_904_000;

fn status(field: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_owned())
        .unwrap_or_else(|| "?".into())
}

fn correlations() -> (Correlations, String, String) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules/windows/correlation/brute-force-account.yml");
    let mapping = Mapping::builtin().unwrap();
    let load = load_paths(&[file], &mapping);
    assert!(load.refused.is_empty(), "{:?}", load.refused);
    let c = Correlations::new(load.correlations);
    let name = c.rules()[0].name().to_owned();
    let rule = c.rules()[0].rule.rules[0].clone();
    (c, name, rule)
}

/// The failed logon of distinct account `i`, at `ts`.
fn hit(rule: &str, i: u64, ts: i64) -> Hit {
    Hit {
        ts,
        rule: rule.to_owned(),
        time: {
            let s = ts - START;
            format!(
                "2026-02-01T{:02}:{:02}:{:02}.000Z",
                s / 3600 % 24,
                s / 60 % 60,
                s % 60
            )
        },
        host: Some("DC01".into()),
        source: "tcp://10.0.0.5:51234".into(),
        record_id: i,
        fields: vec![
            ("TargetUserName".into(), format!("user{i:07}")),
            (
                "IpAddress".into(),
                format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            ),
        ],
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let lateness: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let (c, name, rule) = correlations();
    println!(
        "correlation {name} (group-by TargetUserName, IpAddress; timespan 60 s), {rate} distinct keys a second, lateness {lateness} s"
    );
    println!(
        "before: VmRSS {}, VmHWM {}",
        status("VmRSS:"),
        status("VmHWM:")
    );
    println!("keys\tevent time (s)\tgroups\tbuffered\tVmRSS\tVmHWM\tfeed (s)");
    let mut state = PartitionState::new(c.clone(), "750000001", lateness);
    let steps = [
        100_000u64, 200_000, 500_000, 1_000_000, 1_500_000, 2_000_000,
    ];
    let started = Instant::now();
    let mut i = 0u64;
    let mut alerts = 0usize;
    for &step in &steps {
        while i < step {
            let end = (i + RECORD as u64).min(step);
            for k in i..end {
                let ts = START + i64::try_from(k / rate).unwrap();
                state.add(&name, hit(&rule, k, ts));
            }
            alerts += state.fold_ready().len();
            i = end;
        }
        println!(
            "{step}\t{}\t{}\t{}\t{}\t{}\t{:.1}",
            step / rate,
            state.groups(),
            state.pending(),
            status("VmRSS:"),
            status("VmHWM:"),
            started.elapsed().as_secs_f64()
        );
    }
    assert_eq!(alerts, 0, "one failure per account is no brute force");
    drop(state);

    // Saving: 100,000 groups, all within the timespan, folded.
    let mut state = PartitionState::new(c.clone(), "750000001", lateness);
    for k in 0..100_000u64 {
        state.add(
            &name,
            hit(&rule, k, START + i64::try_from(k / 2000).unwrap()),
        );
    }
    state.fold_all();
    let groups = state.groups();
    let mut saves = Vec::new();
    let mut text = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        text = state.save();
        saves.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let t = Instant::now();
    let saved = state.saved();
    let export_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop(saved);
    let t = Instant::now();
    let mut again = PartitionState::new(c, "750000001", lateness);
    again.restore(&text).unwrap();
    let restore_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(again.groups(), groups);
    saves.sort_by(f64::total_cmp);
    println!(
        "save at {groups} groups: {} bytes ({:.1} MB, {:.0} bytes a group); save (export_state + JSON) median {:.0} ms (min {:.0}, max {:.0}, 5 runs), export_state alone {export_ms:.0} ms; restore {restore_ms:.0} ms",
        text.len(),
        text.len() as f64 / 1e6,
        text.len() as f64 / groups as f64,
        saves[2],
        saves[0],
        saves[4],
    );
    println!(
        "after: VmRSS {}, VmHWM {}",
        status("VmRSS:"),
        status("VmHWM:")
    );
}
