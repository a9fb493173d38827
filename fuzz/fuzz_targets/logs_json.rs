//! JSON events (evtx_dump, Winlogbeat/ECS, flat; one per line or concatenated documents), read
//! as `hygie detect` reads a `.json` file, then detection. The JSON stream of `hygie ingest`
//! parses each line with the same function as the line mode here.
#![no_main]

use hygie_logs::{Format, read_bytes};
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut events = Vec::new();
    let _ = read_bytes(Path::new("fuzz.json"), Format::Json, data, &mut |e| {
        events.push(e)
    });
    hygie_fuzz::detect(hygie_fuzz::detector(), &events);
});
