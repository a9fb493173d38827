//! The Wi-Fi collector as `hygie audit collect wifi` runs it: hostapd configurations
//! (`==> hostapd….conf <==`, the first file by default), controller CSV exports
//! (`==> controller….csv <==`), the zone model (`==> zones.yaml <==`) and firewall exports
//! for the guest zone's isolation (`==> nft….json <==`, `iptables…`, `ipset…`), then its rules.
#![no_main]

use hygie_collect::network::NetInputs;
use hygie_collect::wifi::{Wifi, WifiInputs};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "hostapd.conf");
    let mut firewalls = NetInputs::new(Default::default());
    firewalls.nft = hygie_fuzz::named(&files, "nft");
    firewalls.iptables = hygie_fuzz::named(&files, "iptables");
    firewalls.ipsets = hygie_fuzz::named(&files, "ipset");
    let inputs = WifiInputs {
        hostapd: hygie_fuzz::named(&files, "hostapd"),
        controller_csv: hygie_fuzz::named(&files, "controller"),
        zones: hygie_fuzz::named(&files, "zones").pop(),
        firewalls: (!firewalls.nft.is_empty() || !firewalls.iptables.is_empty())
            .then_some(firewalls),
    };
    let memory = hygie_fuzz::in_memory(&files);
    hygie_fuzz::report(hygie_collect::run_from(
        &Wifi,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});
