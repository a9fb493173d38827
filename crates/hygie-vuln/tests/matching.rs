//! Matching a table of inventoried software against small feeds built here in the official
//! formats (NVD CVE API 2.0, CISA KEV), and the readers' refusals of bad input.

#![allow(clippy::unwrap_used)]

use hygie_inventory::{Observation, Register, Software, SourceKind};
use hygie_vuln::{Aliases, Certainty, CveRecord, FeedKind, Index, KevEntry, read_kev, read_nvd};
use serde_json::json;

fn cpe_match(criteria: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut m = json!({"vulnerable": true, "criteria": criteria,
        "matchCriteriaId": "7F2A2E3B-0000-0000-0000-000000000000"});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

fn cve(id: &str, score: f64, configs: serde_json::Value) -> serde_json::Value {
    json!({"cve": {
        "id": id, "sourceIdentifier": "cve@mitre.org",
        "published": "2024-01-01T00:00:00.000", "lastModified": "2024-02-01T00:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": "test"}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
            "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N", "baseScore": score,
                         "baseSeverity": "HIGH"}}]},
        "weaknesses": [],
        "configurations": configs,
        "references": [{"url": "https://example.org"}]
    }})
}

fn or_node(matches: Vec<serde_json::Value>) -> serde_json::Value {
    json!([{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": matches}]}])
}

/// An NVD 2.0 file as the API returns it.
fn nvd_file(items: Vec<serde_json::Value>) -> String {
    json!({"resultsPerPage": items.len(), "startIndex": 0, "totalResults": items.len(),
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-01T10:00:00.000",
        "vulnerabilities": items})
    .to_string()
}

fn kev_file(entries: &[(&str, &str)]) -> String {
    let v: Vec<_> = entries
        .iter()
        .map(|(id, ransom)| {
            json!({"cveID": id, "vendorProject": "Vendor", "product": "Product",
                "vulnerabilityName": "name", "dateAdded": "2024-03-01",
                "shortDescription": "d", "requiredAction": "a", "dueDate": "2024-03-22",
                "knownRansomwareCampaignUse": ransom, "notes": "", "cwes": ["CWE-20"]})
        })
        .collect();
    json!({"title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2026.12.01", "dateReleased": "2026-12-01T15:00:00.000Z",
        "count": v.len(), "vulnerabilities": v})
    .to_string()
}

fn feeds() -> (Vec<CveRecord>, Vec<KevEntry>) {
    let nvd = nvd_file(vec![
        // OpenSSL: start including, end excluding.
        cve(
            "CVE-2024-0001",
            7.5,
            or_node(vec![cpe_match(
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                json!({"versionStartIncluding": "3.0.0", "versionEndExcluding": "3.0.14"}),
            )]),
        ),
        // OpenSSL 1.1.1 letters: end including.
        cve(
            "CVE-2024-0002",
            5.3,
            or_node(vec![cpe_match(
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                json!({"versionStartExcluding": "1.1.0", "versionEndIncluding": "1.1.1n"}),
            )]),
        ),
        // Apache HTTP Server (Debian: apache2): exact version, and a range.
        cve(
            "CVE-2024-0003",
            9.8,
            or_node(vec![
                cpe_match(
                    "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
                    json!({}),
                ),
                cpe_match(
                    "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                    json!({"versionStartIncluding": "2.4.0", "versionEndExcluding": "2.4.58"}),
                ),
            ]),
        ),
        // 7-Zip under Windows: the name differs ("7-Zip 23.01 (x64)", publisher Igor Pavlov).
        cve(
            "CVE-2024-0004",
            7.8,
            or_node(vec![cpe_match(
                "cpe:2.3:a:7-zip:7-zip:*:*:*:*:*:*:*:*",
                json!({"versionEndExcluding": "24.07"}),
            )]),
        ),
        // Adobe Acrobat Reader DC: vendor-only by words.
        cve(
            "CVE-2024-0005",
            8.8,
            or_node(vec![cpe_match(
                "cpe:2.3:a:adobe:acrobat_reader_dc:*:*:*:*:continuous:*:*:*",
                json!({"versionEndIncluding": "23.008.20470"}),
            )]),
        ),
        // "widget" made by two vendors: ambiguous without a publisher.
        cve(
            "CVE-2024-0006",
            4.0,
            or_node(vec![
                cpe_match("cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*", json!({})),
                cpe_match("cpe:2.3:a:globex:widget:*:*:*:*:*:*:*:*", json!({})),
            ]),
        ),
        // An application only vulnerable running on Windows (AND): conditional.
        cve(
            "CVE-2024-0007",
            6.1,
            json!([{"operator": "AND", "nodes": [
                {"operator": "OR", "negate": false, "cpeMatch": [cpe_match(
                    "cpe:2.3:a:example:viewer:*:*:*:*:*:*:*:*",
                    json!({"versionEndExcluding": "2.0"}))]},
                {"operator": "OR", "negate": false, "cpeMatch": [{"vulnerable": false,
                    "criteria": "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*",
                    "matchCriteriaId": "00000000-0000-0000-0000-000000000000"}]}
            ]}]),
        ),
        // Rejected: skipped.
        json!({"cve": {"id": "CVE-2024-0008", "vulnStatus": "Rejected",
            "configurations": [], "descriptions": []}}),
    ]);
    let mut cves = Vec::new();
    let info = read_nvd("nvd.json", nvd.as_bytes(), |c| cves.push(c)).unwrap();
    assert_eq!(info.kind, FeedKind::Nvd);
    assert_eq!(info.version, "2.0");
    assert_eq!(info.released.as_deref(), Some("2026-12-01T10:00:00.000"));
    assert_eq!(info.records, 7);
    let mut kev = Vec::new();
    let info = read_kev(
        "kev.json",
        kev_file(&[("CVE-2024-0003", "Known"), ("CVE-2024-0004", "Unknown")]).as_bytes(),
        |k| kev.push(k),
    )
    .unwrap();
    assert_eq!(info.version, "2026.12.01");
    assert_eq!(info.records, 2);
    assert!(kev[0].ransomware && !kev[1].ransomware);
    (cves, kev)
}

fn sw(name: &str, version: Option<&str>, vendor: Option<&str>) -> Software {
    Software {
        name: name.into(),
        version: version.map(Into::into),
        vendor: vendor.map(Into::into),
    }
}

#[derive(Debug, PartialEq)]
enum Want {
    Vulnerable(&'static str, Certainty, &'static [&'static str]),
    Clean,
    Unmatched(&'static str),
}

#[test]
fn table_of_products_and_versions() {
    let (cves, kev) = feeds();
    let index = Index::new(cves, kev, Aliases::bundled().unwrap());
    use Certainty::*;
    use Want::*;
    let table: Vec<(Software, Want)> = vec![
        // Debian package name (alias), Debian version in range [3.0.0, 3.0.14).
        (
            sw("libssl3", Some("3.0.11-1~deb12u2"), Some("Debian")),
            Vulnerable("openssl:openssl", NormalisedName, &["CVE-2024-0001"]),
        ),
        // The end is excluded.
        (sw("openssl", Some("3.0.14"), Some("OpenSSL")), Clean),
        // The start is included; publisher and name are the CPE's: exact.
        (
            sw("openssl", Some("3.0.0"), Some("The OpenSSL Project")),
            Vulnerable("openssl:openssl", ExactCpe, &["CVE-2024-0001"]),
        ),
        // End including with a letter release; start excluding.
        (
            sw("OpenSSL", Some("1.1.1n"), Some("openssl")),
            Vulnerable("openssl:openssl", ExactCpe, &["CVE-2024-0002"]),
        ),
        (sw("openssl", Some("1.1.1o"), Some("openssl")), Clean),
        (sw("openssl", Some("1.1.0"), Some("openssl")), Clean),
        // Epoch and revision dropped: 2.4.49 is the exact version and in the range; KEV first.
        (
            sw("apache2", Some("1:2.4.49-1"), None),
            Vulnerable("apache:http_server", NormalisedName, &["CVE-2024-0003"]),
        ),
        (
            sw("apache2-bin", Some("2.4.62-1~deb12u2"), Some("Debian")),
            Clean,
        ),
        // Windows name with version and architecture, publisher through the vendor aliases.
        (
            sw("7-Zip 23.01 (x64)", Some("23.01"), Some("Igor Pavlov")),
            Vulnerable("7-zip:7-zip", ExactCpe, &["CVE-2024-0004"]),
        ),
        (
            sw("7-Zip 24.08 (x64)", Some("24.08"), Some("Igor Pavlov")),
            Clean,
        ),
        // Words of the vendor's product in a longer name: vendor only.
        (
            sw(
                "Adobe Acrobat Reader DC MUI Français",
                Some("23.006.20360"),
                Some("Adobe Systems Incorporated"),
            ),
            Vulnerable("adobe:acrobat_reader_dc", VendorOnly, &["CVE-2024-0005"]),
        ),
        // Two vendors make a "widget": no publisher, no guess.
        (sw("widget", Some("1.0"), None), Unmatched("ambiguous")),
        (
            sw("widget", Some("1.0"), Some("Debian")),
            Unmatched("ambiguous"),
        ),
        (
            sw("widget", Some("1.0"), Some("Globex Corporation")),
            Vulnerable("globex:widget", ExactCpe, &["CVE-2024-0006"]),
        ),
        // Known product without a usable version.
        (sw("openssl", None, None), Unmatched("no_version")),
        (
            sw("openssl", Some("unknown"), None),
            Unmatched("unreadable_version"),
        ),
        // Not in the feed.
        (
            sw("in-house-dpi", Some("4.2"), Some("CHU")),
            Unmatched("unknown_product"),
        ),
        // Conditional configuration: matched, flagged.
        (
            sw("viewer", Some("1.5"), Some("Example")),
            Vulnerable("example:viewer", ExactCpe, &["CVE-2024-0007"]),
        ),
    ];
    for (s, want) in &table {
        let got = match index.check(s) {
            Ok(Some(v)) => {
                let ids: Vec<&str> = v.cves.iter().map(|c| &*c.cve).collect();
                if let Vulnerable(_, _, w) = want {
                    assert_eq!(&ids, w, "{s:?}");
                }
                Vulnerable(
                    Box::leak(v.cpe.clone().into_boxed_str()),
                    v.certainty,
                    match want {
                        Vulnerable(_, _, w) => w,
                        _ => &[],
                    },
                )
            }
            Ok(None) => Clean,
            Err(u) => Unmatched(u.code()),
        };
        assert_eq!(&got, want, "{s:?}");
    }
    let v = index
        .check(&sw("viewer", Some("1.5"), Some("Example")))
        .unwrap()
        .unwrap();
    assert!(v.cves[0].conditional);
    let v = index
        .check(&sw("apache2", Some("2.4.49"), None))
        .unwrap()
        .unwrap();
    assert!(v.cves[0].kev && v.cves[0].ransomware);
    assert_eq!(v.cves[0].kev_due.as_deref(), Some("2024-03-22"));
    assert!(!v.packaged);
    let v = index
        .check(&sw("libssl3", Some("3.0.11-1~deb12u2"), None))
        .unwrap()
        .unwrap();
    assert!(
        v.packaged,
        "a Debian revision is flagged: backports are not visible"
    );
    match index.check(&sw("widget", Some("1"), None)) {
        Err(hygie_vuln::Unmatched::Ambiguous { vendors }) => {
            assert_eq!(vendors, ["acme", "globex"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn register_report_orders_known_exploited_first_and_lists_unmatched() {
    let (cves, kev) = feeds();
    let index = Index::new(cves, kev, Aliases::bundled().unwrap());
    let now = jiff::Timestamp::now();
    let mut reg = Register::new(Vec::new());
    for (host, software) in [
        (
            "pc-01",
            vec![
                sw("libssl3", Some("3.0.11-1~deb12u2"), Some("Debian")),
                sw("in-house-dpi", Some("4.2"), None),
            ],
        ),
        (
            "srv-web",
            vec![
                sw("apache2", Some("2.4.49-1"), Some("Debian")),
                sw("in-house-dpi", Some("4.2"), None),
            ],
        ),
    ] {
        reg.absorb(
            SourceKind::FusionInventory,
            Observation {
                origin: host.into(),
                hostname: Some(host.into()),
                software: Some(software),
                ..Observation::default()
            },
            now,
        );
    }
    let assets = reg.into_assets();
    let report = index.match_assets(&assets);
    assert_eq!(report.software, 4);
    let order: Vec<&str> = report.matches.iter().map(|m| &*m.asset_label).collect();
    assert_eq!(order, ["srv-web", "pc-01"], "known exploited first");
    assert_eq!(report.unmatched.len(), 1);
    assert_eq!(report.unmatched[0].name, "in-house-dpi");
    assert_eq!(report.unmatched[0].assets, 2);
    let eval = hygie_vuln::rules::evaluate(
        &report,
        &hygie_vuln::rules::Inputs {
            nvd_records: index.cve_count(),
            software: report.software,
        },
    );
    let f = &eval.findings[0];
    assert!(f.failed());
    assert_eq!(f.objects, ["srv-web", "pc-01"]);
    assert!(
        f.details[0].en.contains("CVE-2024-0003 (KEV, ransomware)"),
        "{:?}",
        f.details
    );
    assert!(f.details[1].fr.contains("nom normalisé"));
    let none = hygie_vuln::rules::evaluate(
        &report,
        &hygie_vuln::rules::Inputs {
            nvd_records: 0,
            software: 4,
        },
    );
    assert!(none.findings.is_empty());
    assert_eq!(none.not_evaluated[0].rule, "ASSET-SW-VULNERABLE");
}

#[test]
fn bad_feeds_are_refused_naming_file_and_position() {
    let ok = nvd_file(vec![cve(
        "CVE-2024-0001",
        7.5,
        or_node(vec![cpe_match(
            "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
            json!({}),
        )]),
    )]);
    let read = |name: &str, text: &str| read_nvd(name, text.as_bytes(), |_| {}).map(|_| ());

    // Truncated.
    let e = read("nvdcve-2.0-2024.json", &ok[..ok.len() / 2]).unwrap_err();
    assert_eq!(e.file, "nvdcve-2.0-2024.json");
    assert!(e.message.contains("truncated"), "{e}");
    assert!(e.position.is_some());
    // Malformed.
    let bad = ok.replacen("\"cve\":", "\"cve\" ", 1);
    let e = read("bad.json", &bad).unwrap_err();
    assert!(e.to_string().starts_with("bad.json:1:"), "{e}");
    assert!(e.message.contains("malformed JSON"), "{e}");
    // Unknown version.
    let e = read(
        "v3.json",
        &ok.replace("\"version\":\"2.0\"", "\"version\":\"3.0\""),
    )
    .unwrap_err();
    assert!(
        e.message.contains("unknown NVD feed version '3.0'") || e.message.contains("version '3.0'"),
        "{e}"
    );
    // NVD's retired 1.1 format.
    let old = r#"{"CVE_data_type":"CVE","CVE_data_format":"MITRE","CVE_data_version":"4.0","CVE_Items":[]}"#;
    let e = read("nvdcve-1.1-2023.json", old).unwrap_err();
    assert!(e.message.contains("NVD 1.1"), "{e}");
    // Not an NVD file at all.
    let e = read("kev.json", &kev_file(&[])).unwrap_err();
    assert!(e.message.contains("not an NVD CVE API 2.0 file"), "{e}");
    // A bad CPE inside a record: named with its CVE and position.
    let e = read(
        "cpe.json",
        &ok.replace("cpe:2.3:a:openssl", "cpe:/a:openssl"),
    )
    .unwrap_err();
    assert!(
        e.message.contains("CVE-2024-0001") && e.position.is_some(),
        "{e}"
    );

    // KEV: unknown version, bad id, truncated.
    let kev = kev_file(&[("CVE-2024-0003", "Known")]);
    let e = read_kev(
        "kev.json",
        kev.replace("2026.12.01", "v2").as_bytes(),
        |_| {},
    )
    .unwrap_err();
    assert!(e.message.contains("unknown KEV catalogue version"), "{e}");
    let e = read_kev(
        "kev.json",
        kev.replace("CVE-2024-0003", "CVE-24-3").as_bytes(),
        |_| {},
    )
    .unwrap_err();
    assert!(e.message.contains("not a CVE identifier"), "{e}");
    let e = read_kev("kev.json", &kev.as_bytes()[..kev.len() - 3], |_| {}).unwrap_err();
    assert!(e.message.contains("truncated"), "{e}");
    let e = read_kev("nvd.json", ok.as_bytes(), |_| {}).unwrap_err();
    assert!(e.message.contains("not a CISA KEV catalogue"), "{e}");
}
