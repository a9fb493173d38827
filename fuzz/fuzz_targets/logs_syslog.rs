//! Syslog text (RFC 3164 and 5424), read as `hygie detect` reads a `.log` file, then detection.
//! The syslog stream of `hygie ingest` parses each line with the same function.
#![no_main]

use hygie_logs::{Format, read_bytes};
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut events = Vec::new();
    let _ = read_bytes(Path::new("fuzz.log"), Format::Syslog, data, &mut |e| {
        events.push(e)
    });
    hygie_fuzz::detect(hygie_fuzz::detector(), &events);
});
