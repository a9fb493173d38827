#![allow(clippy::unwrap_used)]
#![allow(dead_code)]
//! Shared test helpers.

/// Whether an external tool is on the PATH. Missing: a failure under CI, else a SKIP message.
pub fn tool(name: &str, package: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "{name} is missing: install the Debian package '{package}' (apt-get install {package})"
            );
        }
        eprintln!("SKIP: {name} not installed (apt-get install {package})");
    }
    found
}

pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn failed<'a>(r: &'a hygie_collect::Report, rule: &str) -> Vec<&'a str> {
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("rule {rule} not evaluated: {:?}", r.not_evaluated));
    f.objects.iter().map(String::as_str).collect()
}

/// Asset names (text before the first ':') of a failed rule.
pub fn names(r: &hygie_collect::Report, rule: &str) -> Vec<String> {
    failed(r, rule)
        .iter()
        .map(|a| a.split(':').next().unwrap_or("").trim().to_owned())
        .collect()
}

pub fn ago(now: jiff::Timestamp, hours: i64) -> jiff::Timestamp {
    now - jiff::SignedDuration::from_hours(hours)
}

/// The first firewall's reachability matrix: one object per (from, to) zone pair that connects.
pub fn reachability(r: &hygie_collect::Report) -> &[serde_json::Value] {
    r.summary["firewalls"][0]["reachability"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The services one zone reaches in another, per the first firewall's matrix.
pub fn services<'a>(r: &'a hygie_collect::Report, from: &str, to: &str) -> &'a serde_json::Value {
    reachability(r)
        .iter()
        .find(|p| p["from"] == from && p["to"] == to)
        .map(|p| &p["services"])
        .unwrap_or_else(|| panic!("{from} does not reach {to}"))
}

/// Whether one zone reaches another, per the first firewall's matrix.
pub fn reaches(r: &hygie_collect::Report, from: &str, to: &str) -> bool {
    reachability(r)
        .iter()
        .any(|p| p["from"] == from && p["to"] == to)
}

/// The small zone model of the firewall property tests (readers and reachability): one model,
/// so that both suites probe the same zone boundaries.
pub const PROPERTY_ZONES: &str = "zones:
  - {name: a, kind: clinical, cidrs: [10.1.0.0/16]}
  - {name: b, kind: servers, cidrs: [10.1.2.0/24, 10.3.0.0/16]}
  - {name: c, kind: guest, cidrs: [10.2.0.0/15]}
  - {name: d, kind: admin, cidrs: [192.168.1.0/24]}
  - {name: inet, kind: internet}
";
