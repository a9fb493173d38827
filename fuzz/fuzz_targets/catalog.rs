//! A catalogue folder as `hygie catalog lint --dir` loads it (every `==> PATH <==` a TOML file
//! at that path under the folder; the default is `catalog.toml`): linted alone and against
//! every registered rule, then summarised and printed as `hygie catalog` prints it.
#![no_main]

use hygie_core::Lang;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = Vec::new();
    for (name, bytes) in hygie_fuzz::split(data, "catalog.toml") {
        // The folder reader takes `.toml` files only, and fails on text that is not UTF-8.
        if !name.ends_with(".toml") {
            continue;
        }
        let Some(text) = hygie_fuzz::text(bytes) else {
            return;
        };
        files.push((name, text.to_owned()));
    }
    if let Err(e) = hygie_catalog::load_files_with_rules(files.clone(), &hygie_checks::rules()) {
        let _ = e.to_string();
    }
    match hygie_catalog::load_files(files) {
        Ok(c) => {
            let _ = hygie_catalog::summary(&c);
            let measures: Vec<_> = c.measures.iter().collect();
            let _ = hygie_report::catalog_text(&c, &measures, Lang::Fr);
            let _ = serde_json::to_value(&c);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
