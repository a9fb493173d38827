//! What the fuzz targets (`fuzz_targets/*.rs`) share: the fixed clock, the several-files input
//! format, and the detection run that follows every log reader.
//!
//! A target calls the library's public parsing entry exactly as the CLI does, then what the CLI
//! runs on the result (an audit, a collector's `evaluate`, detection, rendering): a panic after
//! parsing is as much a bug as one in the parser. Nothing here re-implements a parser.
//!
//! The crate (`hygie-fuzz`) is outside the workspace, with its own `[workspace]` and
//! `Cargo.lock` and nightly only, so `cargo test --workspace`, clippy and cargo-deny of the
//! workspace never build it. One libFuzzer target per parser in `fuzz_targets/`; seeds in
//! `corpus/TARGET/` (the generators of the binary ones in `seeds/`), dictionaries in `dict/`;
//! `scripts/fuzz.sh` builds and runs them. The libraries expose byte and in-memory entries for
//! this (`hygie_logs::read_bytes`, `hygie_passwords::parse_dump_bytes`, `hygie_collect::run_from`
//! with `InMemory` files), the CLI keeping its path wrappers.
//!
//! To add a parser: its target in `fuzz_targets/` and a `[[bin]]` in `fuzz/Cargo.toml`, a few
//! seeds (valid and edge) in `corpus/TARGET/`, a dictionary if the format has keywords, a line in
//! the README's list; a crash found becomes a fix and a regression test in the crate's own tests.

use hygie_detect::{Aggregator, Detector, LogEvent, Mapping, RouteCache, alert_of};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The instant every target evaluates at: a fixed clock keeps a crash reproducible.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_772_443_800).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// [`now`] as a date.
pub fn today() -> jiff::civil::Date {
    now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// The files of one input. A line `==> NAME <==` (as `head` prints between files) starts the
/// file `NAME`; what comes before the first such line is the file `first`. Seeds are written
/// in this form, and the dictionaries hold the marker, so mutations keep files apart and can
/// also add, drop or rename one.
pub fn split<'a>(data: &'a [u8], first: &str) -> Vec<(String, &'a [u8])> {
    let mut files = Vec::new();
    let mut name = first.to_owned();
    let mut start = 0;
    let mut at = 0;
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| at + i + 1);
        let line = &data[at..end];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(inner) = line
            .strip_prefix(b"==> ")
            .and_then(|l| l.strip_suffix(b" <=="))
        {
            if at > start || name != first {
                files.push((name, &data[start..at]));
            }
            name = String::from_utf8_lossy(inner).trim().to_owned();
            start = end;
        }
        at = end;
    }
    if data.len() > start || name != first {
        files.push((name, &data[start..]));
    }
    files
}

/// The files of [`split`] that a target reads by path, in memory, for the collectors.
pub fn in_memory(files: &[(String, &[u8])]) -> hygie_collect::InMemory {
    hygie_collect::InMemory(
        files
            .iter()
            .map(|(n, b)| (PathBuf::from(n), b.to_vec()))
            .collect(),
    )
}

/// The paths of the files whose name starts with `prefix`, in input order: the inputs of one
/// kind of a collector (`restic` for `--restic`, and so on).
pub fn named(files: &[(String, &[u8])], prefix: &str) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|(n, _)| n.starts_with(prefix))
        .map(|(n, _)| PathBuf::from(n))
        .collect()
}

/// What `hygie audit collect` does with a collector's report: print it as JSON or a table of
/// failures, record its check run.
pub fn report(r: hygie_collect::Result<hygie_collect::Report>) {
    match r {
        Ok(report) => {
            let _ = report.to_json().to_string();
            let _ = report.failed().count();
            let _ = report.check_run("run".into());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The zone model of the firewall targets when their input brings none, so that their runs
/// go to the firewall's own syntax: a model with every kind the policy distinguishes.
pub const ZONES: &str = "zones:
  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16], interfaces: [eth1]}
  - {name: biomed, kind: biomedical, cidrs: [10.20.0.0/16]}
  - {name: servers, kind: servers, cidrs: [10.30.0.0/16, 'fd00:30::/64']}
  - {name: admin, kind: admin, cidrs: [10.40.0.0/24]}
  - {name: guest, kind: guest, cidrs: [10.50.0.0/16], ssids: [CHU-Invites]}
  - {name: dmz, kind: dmz, cidrs: [192.0.2.0/24]}
  - {name: internet, kind: internet}
policy:
  allow:
    - {from: admin, to: servers, reason: administration}
";

/// The network collector's inputs as `hygie audit collect network` takes them, from the files'
/// names: `zones.yaml` (else [`ZONES`]), `nft…` (`--nft`), `iptables…` (`--iptables`),
/// `ipset…` (`--ipset`), `rules….csv` (`--rules-csv`), `flows…` (`--flows`). The files, with
/// the default model added when needed.
pub fn network(
    mut files: Vec<(String, &[u8])>,
) -> (hygie_collect::network::NetInputs, hygie_collect::InMemory) {
    if !files.iter().any(|(n, _)| n == "zones.yaml") {
        files.push(("zones.yaml".into(), ZONES.as_bytes()));
    }
    let mut i = hygie_collect::network::NetInputs::new("zones.yaml".into());
    i.nft = named(&files, "nft");
    i.iptables = named(&files, "iptables");
    i.ipsets = named(&files, "ipset");
    i.csv_rules = named(&files, "rules");
    i.flows = named(&files, "flows");
    (i, in_memory(&files))
}

/// The text of a file read as the CLI reads it (`read_to_string`: UTF-8 or an error).
pub fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// A few Sigma rules on the log sources the readers produce (Windows process creation and
/// security, Linux sshd), so that events from a log reader go through detection as in
/// `hygie detect`.
pub const RULES: &[(&str, &str)] = &[
    ("whoami.yml", include_str!("../rules/whoami.yml")),
    (
        "failed-logon.yml",
        include_str!("../rules/failed-logon.yml"),
    ),
    ("ssh-root.yml", include_str!("../rules/ssh-root.yml")),
];

/// The built-in mapping tables, parsed once.
pub fn mapping() -> Mapping {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    MAPPING
        .get_or_init(|| Mapping::builtin().expect("the built-in mapping tables load"))
        .clone()
}

/// The detector of [`RULES`], loaded once.
pub fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        let mapping = mapping();
        let mut rules = Vec::new();
        for (name, text) in RULES {
            let load = hygie_detect::load_text(std::path::Path::new(name), text, &mapping);
            assert!(load.refused.is_empty(), "{name}: {:?}", load.refused);
            rules.extend(load.rules);
        }
        Detector::new(mapping, rules)
    })
}

/// Run `events` through `detector` as the batch pipeline does (evaluate, alert, aggregate in
/// five-minute buckets); the alerts, sorted.
pub fn detect(detector: &Detector, events: &[LogEvent]) -> Vec<hygie_detect::Alert> {
    let mut cache = RouteCache::default();
    let mut agg = Aggregator::new(300);
    for e in events {
        // What the batch pipeline and the stream read of an event besides its fields.
        let _ = (e.event_id(), e.time(), e.host(), e.record_id());
        for m in detector.evaluate(e, &mut cache) {
            agg.push(alert_of(m, e));
        }
    }
    let mut alerts = agg.finish();
    hygie_detect::alert::sort_alerts(&mut alerts);
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_files() {
        let parts = split(b"a\n==> x.csv <==\nb\nc\n==> y <==\n", "first");
        assert_eq!(
            parts,
            vec![
                ("first".to_owned(), &b"a\n"[..]),
                ("x.csv".to_owned(), &b"b\nc\n"[..]),
                ("y".to_owned(), &b""[..]),
            ]
        );
        assert_eq!(split(b"", "f"), vec![]);
        assert_eq!(split(b"==> z <==", "f"), vec![("z".to_owned(), &b""[..])]);
    }

    #[test]
    fn the_rules_load() {
        assert_eq!(detector().rule_count(), RULES.len());
    }
}
