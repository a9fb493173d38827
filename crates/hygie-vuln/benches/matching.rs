//! Benchmark of the offline vulnerability matching (issue 21): a register of ASSETS assets with
//! SOFTWARE installed software each against CVES NVD records (and a KEV catalogue of 1 % of
//! them), all generated deterministically, written in the official formats to a temporary folder
//! and read back through the streaming readers. Prints the time of each phase and the peak
//! memory (VmHWM) of the process, then the matching's cost for 50k, 100k and CVES records.
//!
//!   cargo bench -p hygie-vuln --bench matching -- [CVES [ASSETS [SOFTWARE]]]
//!   defaults: 250000 20000 100 (2 million software entries); figures in BENCHMARKS.md.
//!   With `--write DIR`, writes the same fleet as FusionInventory XML files and the feeds
//!   instead, for the end-to-end run through `hygie` (`benches/inventory_bench.sh`).
//!
//! The generator: 20,000 products (vendor_k / product_k), each CVE names 1 to 3 of them with a
//! range (start including or excluding, end including or excluding, or an exact version); an
//! asset's software are drawn from the products (90 %, half with the publisher, half by name
//! only through Debian-style names) and from names no feed knows (10 %), each product in three
//! versions across the fleet (`major.minor.patch-1+deb12uK`), as a fleet deployed from a few
//! masters runs them: about 120,000 distinct (name, publisher, version).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use hygie_inventory::{Observation, Register, Software, SourceKind};
use hygie_vuln::{Aliases, Index, read_kev, read_nvd};
use std::io::Write;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: deterministic, no dependency.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PRODUCTS: u64 = 20_000;

fn vendor(p: u64) -> String {
    format!("vendor{}", p / 4)
}

fn version(r: &mut Rng) -> String {
    format!("{}.{}.{}", r.below(6), r.below(20), r.below(30))
}

fn write_nvd(path: &std::path::Path, n: usize) -> u64 {
    let mut r = Rng(42);
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::new(f);
    write!(
        w,
        r#"{{"resultsPerPage":{n},"startIndex":0,"totalResults":{n},"format":"NVD_CVE","version":"2.0","timestamp":"2026-12-01T00:00:00.000","vulnerabilities":["#
    )
    .unwrap();
    for i in 0..n {
        if i > 0 {
            w.write_all(b",").unwrap();
        }
        let year = 2000 + (i % 26);
        let score = (r.below(100) as f32) / 10.0;
        write!(
            w,
            r#"{{"cve":{{"id":"CVE-{year}-{:06}","sourceIdentifier":"cve@mitre.org","published":"{year}-01-01T00:00:00.000","lastModified":"{year}-02-01T00:00:00.000","vulnStatus":"Analyzed","descriptions":[{{"lang":"en","value":"Generated vulnerability number {i} for the benchmark, in a product of the generated catalogue."}}],"metrics":{{"cvssMetricV31":[{{"source":"nvd@nist.gov","type":"Primary","cvssData":{{"version":"3.1","baseScore":{score:.1}}}}}]}},"configurations":[{{"nodes":[{{"operator":"OR","negate":false,"cpeMatch":["#,
            i
        )
        .unwrap();
        let k = 1 + r.below(3);
        for j in 0..k {
            if j > 0 {
                w.write_all(b",").unwrap();
            }
            let p = r.below(PRODUCTS);
            let (a, b) = (version(&mut r), version(&mut r));
            let (lo, hi) = if hygie_vuln::version::compare(&a, &b).is_le() {
                (a, b)
            } else {
                (b, a)
            };
            let range = match r.below(5) {
                0 => format!(r#","versionStartIncluding":"{lo}","versionEndExcluding":"{hi}""#),
                1 => format!(r#","versionStartExcluding":"{lo}","versionEndIncluding":"{hi}""#),
                2 => format!(r#","versionEndExcluding":"{hi}""#),
                3 => format!(r#","versionEndIncluding":"{lo}""#),
                _ => String::new(),
            };
            let ver = if range.is_empty() { lo.as_str() } else { "*" };
            write!(
                w,
                r#"{{"vulnerable":true,"criteria":"cpe:2.3:a:{}:product{p}:{ver}:*:*:*:*:*:*:*","matchCriteriaId":"00000000-0000-0000-0000-000000000000"{range}}}"#,
                vendor(p)
            )
            .unwrap();
        }
        w.write_all(b"]}]}],\"references\":[]}}").unwrap();
    }
    w.write_all(b"]}").unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn write_kev(path: &std::path::Path, n: usize) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::new(f);
    write!(w, r#"{{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.12.01","dateReleased":"2026-12-01T15:00:00.000Z","count":{},"vulnerabilities":["#, n / 100).unwrap();
    for (c, i) in (0..n).step_by(100).enumerate() {
        if c > 0 {
            w.write_all(b",").unwrap();
        }
        let year = 2000 + (i % 26);
        write!(w, r#"{{"cveID":"CVE-{year}-{i:06}","vendorProject":"Vendor","product":"Product","vulnerabilityName":"x","dateAdded":"2026-01-01","shortDescription":"x","requiredAction":"x","dueDate":"2026-01-22","knownRansomwareCampaignUse":"{}","notes":"","cwes":[]}}"#, if i % 300 == 0 { "Known" } else { "Unknown" }).unwrap();
    }
    w.write_all(b"]}").unwrap();
    w.flush().unwrap();
}

/// The fleet: each asset's host name and installed software.
fn fleet(assets: usize, per: usize) -> impl Iterator<Item = (String, Vec<Software>)> {
    let mut r = Rng(7);
    (0..assets).map(move |a| {
        let mut software = Vec::with_capacity(per);
        for _ in 0..per {
            let x = r.below(100);
            let p = r.below(PRODUCTS);
            // A fleet runs a few versions of each product: three per product here.
            let k = r.below(3);
            let v = format!(
                "{}.{}.{}-1+deb12u{k}",
                p % 6,
                (p / 6 + k) % 20,
                (p * 7 + k) % 30
            );
            software.push(if x < 45 {
                Software {
                    name: format!("product{p}"),
                    version: Some(v),
                    vendor: Some(vendor(p)),
                }
            } else if x < 90 {
                Software {
                    name: format!("product{p}"),
                    version: Some(v),
                    vendor: Some("Debian".into()),
                }
            } else {
                Software {
                    name: format!("inhouse-tool-{p}"),
                    version: Some(v),
                    vendor: None,
                }
            });
        }
        (format!("pc-{a:05}"), software)
    })
}

fn register(assets: usize, per: usize) -> Vec<hygie_inventory::Asset> {
    let now = jiff::Timestamp::now();
    let mut reg = Register::new(Vec::new());
    for (a, (hostname, software)) in fleet(assets, per).enumerate() {
        reg.absorb(
            SourceKind::FusionInventory,
            Observation {
                origin: format!("gen:{a}"),
                hostname: Some(hostname),
                software: Some(software),
                ..Observation::default()
            },
            now,
        );
    }
    reg.into_assets()
}

/// `--write DIR`: the same fleet as one FusionInventory XML inventory per asset
/// (`DIR/inventory/pc-NNNNN.xml`, the agent's layout) and the feeds (`DIR/nvd.json`,
/// `DIR/kev.json`), for `benches/inventory_bench.sh` to import and match through `hygie`.
fn write_files(dir: &std::path::Path, cves: usize, assets: usize, per: usize) {
    let inv = dir.join("inventory");
    std::fs::create_dir_all(&inv).unwrap();
    for (hostname, software) in fleet(assets, per) {
        let f = std::fs::File::create(inv.join(format!("{hostname}.xml"))).unwrap();
        let mut w = std::io::BufWriter::new(f);
        write!(
            w,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <CONTENT>\n    <HARDWARE>\n      <NAME>{hostname}</NAME>\n    </HARDWARE>\n    <OPERATINGSYSTEM>\n      <FULL_NAME>Debian GNU/Linux 12 (bookworm)</FULL_NAME>\n      <VERSION>12</VERSION>\n    </OPERATINGSYSTEM>\n    <ACCESSLOG>\n      <LOGDATE>2026-12-01 10:00:00</LOGDATE>\n    </ACCESSLOG>\n"
        )
        .unwrap();
        for s in software {
            write!(
                w,
                "    <SOFTWARES>\n      <NAME>{}</NAME>\n      <VERSION>{}</VERSION>\n",
                s.name,
                s.version.unwrap_or_default()
            )
            .unwrap();
            if let Some(p) = s.vendor {
                writeln!(w, "      <PUBLISHER>{p}</PUBLISHER>").unwrap();
            }
            w.write_all(b"      <FROM>deb</FROM>\n    </SOFTWARES>\n")
                .unwrap();
        }
        write!(
            w,
            "  </CONTENT>\n  <DEVICEID>{hostname}-2026-12-01-10-00-00</DEVICEID>\n  <QUERY>INVENTORY</QUERY>\n</REQUEST>\n"
        )
        .unwrap();
        w.flush().unwrap();
    }
    let size = write_nvd(&dir.join("nvd.json"), cves);
    write_kev(&dir.join("kev.json"), cves);
    println!(
        "wrote {assets} inventories of {per} software to {}, an NVD file of {cves} CVEs ({} MB) and a KEV catalogue",
        inv.display(),
        size / 1_000_000
    );
}

fn peak_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("?".into(), |kb| format!("{} MiB", kb / 1024))
}

fn load(dir: &std::path::Path, n: usize) -> (Index, f64, u64) {
    let nvd = dir.join(format!("nvd-{n}.json"));
    let kev = dir.join("kev.json");
    let size = write_nvd(&nvd, n);
    write_kev(&kev, n);
    let t = Instant::now();
    let mut cves = Vec::with_capacity(n);
    read_nvd("nvd.json", std::fs::File::open(&nvd).unwrap(), |c| {
        cves.push(c)
    })
    .unwrap();
    let mut kevs = Vec::new();
    read_kev("kev.json", std::fs::File::open(&kev).unwrap(), |k| {
        kevs.push(k)
    })
    .unwrap();
    let index = Index::new(cves, kevs, Aliases::bundled().unwrap());
    let secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&nvd).ok();
    (index, secs, size)
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let write_to = raw
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| raw.get(i + 1))
        .map(std::path::PathBuf::from);
    let args: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    let cves = args.first().copied().unwrap_or(250_000);
    let assets = args.get(1).copied().unwrap_or(20_000);
    let per = args.get(2).copied().unwrap_or(100);
    if let Some(dir) = write_to {
        write_files(&dir, cves, assets, per);
        return;
    }
    let dir = std::env::temp_dir().join(format!("hygie-vuln-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let t = Instant::now();
    let reg = register(assets, per);
    let total: usize = reg.iter().map(|a| a.all_software().len()).sum();
    println!(
        "register: {assets} assets, {total} software entries, built in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    for n in [50_000, 100_000, cves] {
        if n > cves {
            continue;
        }
        let (index, read, size) = load(&dir, n);
        let t = Instant::now();
        let report = index.match_assets(&reg);
        let matching = t.elapsed().as_secs_f64();
        let kev = report.matches.iter().filter(|m| m.verdict.kev()).count();
        println!(
            "feed {n} CVE ({} MB of NVD JSON): read + index {read:.2} s, matching {matching:.2} s, total {:.2} s; {} vulnerable software ({kev} known exploited), {} distinct, {} unmatched names; peak memory so far {}",
            size / 1_000_000,
            read + matching,
            report.matches.len(),
            report.distinct,
            report.unmatched.len(),
            peak_mib()
        );
        if n == cves {
            break;
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
