//! A federation package as the region reads it (`hygie sync import`): a package file (gzip) is
//! unpacked within its bound, its signature verified and its content parsed and checked. Any
//! other input is the package's JSON as an enrolled but hostile instance could sign it: it is
//! sealed with a fixed key, opened again (a package Hygie seals must open) and checked, the way
//! the region checks every field before storing anything.
#![no_main]

use hygie_sync::{Identity, Package};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(&[0x1f, 0x8b]) {
        if let Ok(opened) = hygie_sync::open(data) {
            let _ = opened.package.check("sync:fuzz");
        }
        return;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = hygie_sync::canonical_json(&value);
    let Ok(package) = serde_json::from_value::<Package>(value) else {
        return;
    };
    let Ok(sealed) = hygie_sync::seal(&package, &Identity::from_seed(&[7; 32])) else {
        return;
    };
    let opened = match hygie_sync::open(&sealed.bytes) {
        Ok(o) => o,
        Err(e) => panic!("a package just sealed does not open: {e}"),
    };
    if opened.package.check("sync:fuzz").is_ok() {
        let _ = hygie_sync::new_declarations(&opened.package.facts.declarations, &[]);
    }
});
