//! `nft -j list ruleset` output as `hygie audit collect network --nft` reads it (the input, or
//! `==> nft….json <==` files), with the zone model of the input (`==> zones.yaml <==`) or a
//! default one, then the reachability matrix and the segmentation rules.
#![no_main]

use hygie_collect::network::Network;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (inputs, memory) = hygie_fuzz::network(hygie_fuzz::split(data, "nft.json"));
    hygie_fuzz::report(hygie_collect::run_from(
        &Network,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
