//! The backup collector as `hygie audit collect backups` runs it: the inventory
//! (`==> inventory.csv <==`, the default, or `inventory.json` / `inventory.ldif`), restic and
//! borg JSON (`==> restic….json <==`, `borg….json`; `==> ASSET=restic….json <==` names the
//! asset as `--restic ASSET=FILE` does) and generic CSV (`==> jobs….csv <==`), then its rules.
#![no_main]

use hygie_collect::backups::{BackupInputs, Backups};
use std::path::PathBuf;

/// `ASSET=FILE` or `FILE`, as the command line reads `--restic` and `--borg`.
fn asset_file(name: &str) -> (Option<String>, PathBuf) {
    match name.split_once('=') {
        Some((a, _)) if !a.is_empty() && !a.contains('/') => {
            (Some(a.to_owned()), PathBuf::from(name))
        }
        _ => (None, PathBuf::from(name)),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "inventory.csv");
    let inventory = hygie_fuzz::named(&files, "inventory.")
        .pop()
        .unwrap_or_else(|| "inventory.csv".into());
    let mut inputs = BackupInputs::new(inventory);
    for (name, _) in &files {
        let kind = name.rsplit_once('=').map_or(name.as_str(), |(_, f)| f);
        if kind.starts_with("restic") {
            inputs.restic.push(asset_file(name));
        } else if kind.starts_with("borg") {
            inputs.borg.push(asset_file(name));
        }
    }
    inputs.csv = hygie_fuzz::named(&files, "jobs");
    let memory = hygie_fuzz::in_memory(&files);
    hygie_fuzz::report(hygie_collect::run_from(
        &Backups,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
