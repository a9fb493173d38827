//! An EVTX file, read chunk by chunk as `hygie detect` reads one, then detection.
#![no_main]

use hygie_logs::{Format, read_bytes};
use std::path::Path;

/// EVTX chunks are whole 64 KiB blocks after the 4 KiB file header.
const HEADER: usize = 4096;
const CHUNK: usize = 65536;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The last chunk is padded with zeros to its full size, as in a real file, so that inputs
    // (and seeds) can stop where their last record does instead of carrying 60 KiB of zeros.
    let mut bytes = data.to_vec();
    let tail = bytes.len().saturating_sub(HEADER) % CHUNK;
    if bytes.len() > HEADER && tail != 0 {
        bytes.resize(bytes.len() + CHUNK - tail, 0);
    }
    let mut events = Vec::new();
    let _ = read_bytes(Path::new("fuzz.evtx"), Format::Evtx, &bytes, &mut |e| {
        events.push(e)
    });
    hygie_fuzz::detect(hygie_fuzz::detector(), &events);
});
