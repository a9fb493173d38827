//! The network zone model (YAML) as `hygie audit collect network --zones` reads it (the input,
//! or `==> zones.yaml <==`), with generic CSV rule tables (`==> rules….csv <==`) and observed
//! flows (`==> flows… <==`, CSV or Zeek conn.log), then the matrix and the rules.
#![no_main]

use hygie_collect::network::Network;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (inputs, memory) = hygie_fuzz::network(hygie_fuzz::split(data, "zones.yaml"));
    hygie_fuzz::report(hygie_collect::run_from(
        &Network,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
