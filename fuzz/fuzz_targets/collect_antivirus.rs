//! The antivirus collector as `hygie audit collect antivirus` runs it: the inventory
//! (`==> inventory.csv <==`, the default, or `.json` / `.ldif`), AV console CSV exports
//! (`==> av….csv <==`) and ClamAV `sigtool --info` output or CVD headers
//! (`==> HOST=clamav… <==`, as `--clamav HOST=FILE`), then its rules.
#![no_main]

use hygie_collect::antivirus::{Antivirus, AvInputs};
use std::path::PathBuf;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "inventory.csv");
    let inventory = hygie_fuzz::named(&files, "inventory.")
        .pop()
        .unwrap_or_else(|| "inventory.csv".into());
    let clamav = files
        .iter()
        .filter_map(|(n, _)| match n.split_once('=') {
            Some((host, f)) if !host.is_empty() && f.starts_with("clamav") => {
                Some((host.to_owned(), PathBuf::from(n)))
            }
            _ => None,
        })
        .collect();
    let inputs = AvInputs {
        inventory,
        av_csv: hygie_fuzz::named(&files, "av"),
        clamav,
        max_signature_age_hours: 24,
    };
    let memory = hygie_fuzz::in_memory(&files);
    hygie_fuzz::report(hygie_collect::run_from(
        &Antivirus,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
