//! The patching collector as `hygie audit collect patching` runs it: the inventory with
//! operating systems (`==> inventory.csv <==`, the default, or `.json` / `.ldif`) and an
//! optional end-of-life table replacing the bundled one (`==> eol.toml <==`, as
//! `--eol-table`), then its rules.
#![no_main]

use hygie_collect::patching::{PatchInputs, Patching};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "inventory.csv");
    let inventory = hygie_fuzz::named(&files, "inventory.")
        .pop()
        .unwrap_or_else(|| "inventory.csv".into());
    let inputs = PatchInputs {
        inventory,
        eol_table: hygie_fuzz::named(&files, "eol").pop(),
        warn_months: 6,
        max_update_age_days: Some(35),
    };
    let memory = hygie_fuzz::in_memory(&files);
    hygie_fuzz::report(hygie_collect::run_from(
        &Patching,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
