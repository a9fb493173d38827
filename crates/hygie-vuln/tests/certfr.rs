//! CERT-FR advisories: small advisory files built here in CERT-FR's JSON format (the object each
//! advisory page publishes under `json/`), read one at a time or as an array, refused when bad
//! (naming the file and the element, nothing kept), and cited by the matches of their CVEs.

#![allow(clippy::unwrap_used)]

use hygie_inventory::{Observation, Register, Software, SourceKind};
use hygie_vuln::{Advisory, AdvisoryKind, Aliases, Index, read_certfr, read_nvd};
use serde_json::json;

/// An advisory as cert.ssi.gouv.fr publishes it (fields not kept included, as in the real files).
fn advisory(reference: &str, title: &str, cves: &[&str], revisions: &[&str]) -> serde_json::Value {
    json!({
        "$ref": "https://www.cert.ssi.gouv.fr/openapi.json",
        "affected_systems": [{
            "description": "HTTP Server versions antérieures à 2.4.51",
            "product": {"name": "HTTP Server", "vendor": {"name": "Apache", "scada": false}}
        }],
        "affected_systems_content": "",
        "content": "## Solutions\n\nSe référer au bulletin de sécurité de l'éditeur.",
        "cves": cves.iter().map(|c| json!({"name": c, "url": format!("https://www.cve.org/CVERecord?id={c}")})).collect::<Vec<_>>(),
        "links": [],
        "reference": reference,
        "revisions": revisions.iter().enumerate().map(|(i, d)| json!({
            "description": if i == 0 { "Version initiale" } else { "Mise à jour" },
            "revision_date": d
        })).collect::<Vec<_>>(),
        "risks": [{"description": "Exécution de code arbitraire à distance"}],
        "summary": "Une vulnérabilité a été découverte dans Apache HTTP Server.",
        "title": title,
        "vendor_advisories": [{"published_at": "2021-10-05", "title": "Bulletin Apache", "url": "https://httpd.apache.org/security/vulnerabilities_24.html"}]
    })
}

fn read(file: &str, text: &str) -> Result<Vec<Advisory>, String> {
    let mut out = Vec::new();
    read_certfr(file, text.as_bytes(), |a| out.push(a))
        .map(|n| {
            assert_eq!(n, out.len());
            out
        })
        .map_err(|e| e.to_string())
}

#[test]
fn one_advisory_or_an_array() {
    let ale = advisory(
        "CERTFR-2021-ALE-022",
        "Vulnérabilité dans Apache HTTP Server",
        &[
            "CVE-2021-41773",
            "CVE-2021-42013",
            "CVE-2021-41773",
            "GHSA-xxxx-yyyy",
        ],
        &["2021-10-06T00:00:00.000000", "2021-10-08T00:00:00.000000"],
    );
    let one = read("CERTFR-2021-ALE-022.json", &ale.to_string()).unwrap();
    assert_eq!(one.len(), 1);
    let a = &one[0];
    assert_eq!(a.kind, AdvisoryKind::Alerte);
    assert_eq!(a.title, "Vulnérabilité dans Apache HTTP Server");
    // Each CVE once; a name that is not a CVE is not one to match.
    assert_eq!(a.cves, ["CVE-2021-41773", "CVE-2021-42013"]);
    assert_eq!(
        a.first_revision.as_deref(),
        Some("2021-10-06T00:00:00.000000")
    );
    assert_eq!(
        a.last_revision.as_deref(),
        Some("2021-10-08T00:00:00.000000")
    );
    assert_eq!(a.affected[0].vendor.as_deref(), Some("Apache"));
    assert_eq!(
        a.url(),
        "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2021-ALE-022/"
    );

    let avi = advisory(
        "CERTFR-2021-AVI-0754",
        "Multiples vulnérabilités dans Apache",
        &[],
        &["2021-10-06T00:00:00.000000"],
    );
    let both = read("all.json", &json!([avi, ale]).to_string()).unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].kind, AdvisoryKind::Avis);
    assert!(both[0].cves.is_empty(), "an advisory may cite no CVE");
    assert_eq!(both[1], one[0]);
}

#[test]
fn bad_advisories_are_refused_naming_the_file_and_the_element() {
    let good = advisory("CERTFR-2021-AVI-0754", "t", &["CVE-2021-41773"], &[]);
    let mut no_ref = good.clone();
    no_ref.as_object_mut().unwrap().remove("reference");
    let mut no_title = good.clone();
    no_title["title"] = json!("");
    let mut cti = good.clone();
    cti["reference"] = json!("CERTFR-2024-CTI-001");
    let index = json!({"reference": "CERTFR-2021-ALE-022", "title": "t",
        "json_url": "/alerte/CERTFR-2021-ALE-022/json/", "last_revision_date": "2021-10-08"});
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a.json",
            "<html>503</html>".into(),
            "a.json:1:1: malformed JSON",
        ),
        ("b.json", good.to_string()[..80].into(), "b.json:1:"),
        ("c.json", no_ref.to_string(), "c.json:1:"),
        ("d.json", json!([good, no_title]).to_string(), "d.json:1:"),
        ("e.json", cti.to_string(), "e.json:1:"),
        ("f.json", index.to_string(), "f.json:1:"),
        ("g.json", "[]".into(), "g.json: an empty list"),
        ("h.json", "\"CVE-2021-41773\"".into(), "h.json:1:"),
    ];
    let wanted = [
        "malformed JSON",
        "truncated file",
        "no \"reference\": not a CERT-FR advisory",
        "advisory 2 / avis 2: CERTFR-2021-AVI-0754: no \"title\"",
        "a CERT-FR CTI publication, not an advisory (AVI) or an alert (ALE)",
        "an entry of CERT-FR's index (json_url, no cves): download each advisory's JSON",
        "",
        "a CERT-FR advisory (a JSON object) or a list of them",
    ];
    for ((file, text, start), want) in cases.iter().zip(wanted) {
        let e = read(file, text).unwrap_err();
        assert!(e.starts_with(start), "{file}: {e}");
        assert!(e.contains(want), "{file}: {e}");
    }
}

/// The advisories citing a vulnerable version's CVEs ride with its match, newest first; a CVE no
/// advisory cites has none; an advisory whose CVE matches nothing is cited by nothing.
#[test]
fn matches_name_the_advisories_citing_their_cves() {
    let nvd = json!({"format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-01T10:00:00.000",
    "vulnerabilities": [
        {"cve": {"id": "CVE-2021-41773", "vulnStatus": "Analyzed",
            "metrics": {"cvssMetricV31": [{"cvssData": {"baseScore": 7.5}}]},
            "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [
                {"vulnerable": true, "criteria": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}]}]}]}},
        {"cve": {"id": "CVE-2021-44790", "vulnStatus": "Analyzed",
            "metrics": {"cvssMetricV31": [{"cvssData": {"baseScore": 9.8}}]},
            "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [
                {"vulnerable": true, "criteria": "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                 "versionEndIncluding": "2.4.51"}]}]}]}}
    ]});
    let mut cves = Vec::new();
    read_nvd("nvd.json", nvd.to_string().as_bytes(), |c| cves.push(c)).unwrap();
    let files = json!([
        advisory(
            "CERTFR-2021-AVI-0754",
            "Vulnérabilité dans Apache HTTP Server",
            &["CVE-2021-41773"],
            &["2021-10-06T00:00:00.000000"]
        ),
        advisory(
            "CERTFR-2021-ALE-022",
            "Vulnérabilité dans Apache HTTP Server (alerte)",
            &["CVE-2021-41773", "CVE-2021-42013"],
            &["2021-10-06T00:00:00.000000"]
        ),
        advisory(
            "CERTFR-2022-AVI-0001",
            "Multiples vulnérabilités",
            &["CVE-1999-0001"],
            &["2022-01-03T00:00:00.000000"]
        ),
    ]);
    let advisories = read("certfr.json", &files.to_string()).unwrap();
    let index =
        Index::new(cves, Vec::new(), Aliases::bundled().unwrap()).with_advisories(&advisories);
    assert_eq!(index.advisory_count(), 3);

    let sw = |v: &str| Software {
        name: "Apache HTTP Server".into(),
        version: Some(v.into()),
        vendor: Some("Apache Software Foundation".into()),
    };
    let v = index.check(&sw("2.4.49")).unwrap().unwrap();
    let refs: Vec<&str> = v.certfr.iter().map(|r| &**r).collect();
    assert_eq!(
        refs,
        ["CERTFR-2021-AVI-0754", "CERTFR-2021-ALE-022"],
        "newest first (by number)"
    );
    let hit = v.cves.iter().find(|c| &*c.cve == "CVE-2021-44790").unwrap();
    assert!(hit.certfr.is_empty());
    let v = index.check(&sw("2.4.51")).unwrap().unwrap();
    assert!(
        v.certfr.is_empty(),
        "CVE-2021-44790 alone: no advisory cites it"
    );

    // Through a register, the report names the cited advisories with their titles, and the
    // run's summary keeps them for the pages.
    let mut r = Register::new(Vec::new());
    r.absorb(
        SourceKind::FusionInventory,
        Observation {
            origin: "web-01.xml".into(),
            hostname: Some("web-01".into()),
            software: Some(vec![sw("2.4.49")]),
            ..Default::default()
        },
        jiff::Timestamp::now(),
    );
    let report = index.match_assets(r.assets());
    assert_eq!(
        report.certfr.keys().map(String::as_str).collect::<Vec<_>>(),
        ["CERTFR-2021-ALE-022", "CERTFR-2021-AVI-0754"]
    );
    assert_eq!(
        report.certfr["CERTFR-2021-ALE-022"].kind,
        AdvisoryKind::Alerte
    );
    let eval = hygie_vuln::rules::evaluate(
        &report,
        &hygie_vuln::rules::Inputs {
            nvd_records: 2,
            software: report.software,
        },
    );
    let top = &eval.summary["assets"]["1"]["top"][0];
    assert_eq!(
        top["certfr"],
        json!(["CERTFR-2021-AVI-0754", "CERTFR-2021-ALE-022"])
    );
    assert_eq!(
        eval.summary["certfr"]["CERTFR-2021-AVI-0754"]["url"],
        "https://www.cert.ssi.gouv.fr/avis/CERTFR-2021-AVI-0754/"
    );
}
