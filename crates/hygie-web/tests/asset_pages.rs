//! The asset register in the browser (issue 21), on SQLite and PostgreSQL: the list with its
//! filters (category with medical devices, zone, operating system, vulnerable, end of life),
//! known exploited and end-of-life assets first, and an asset's page with its software, its
//! vulnerabilities and its history, in French and English. Another facility's user gets "not
//! found". Then the IS map's page, its JSON download and the JSON API of the register and the
//! map (filters, pages, one asset, errors), with another facility's user refused everywhere.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use hygie_core::CheckRun;
use hygie_inventory::{Category, Observation, OperatingSystem, Register, Software, SourceKind};
use hygie_store::{Actor, ImportRecord, Role};
use hygie_vuln::{Aliases, CpeRange, CveRecord, Index, KevEntry};

fn sw(name: &str, version: &str) -> Software {
    Software {
        name: name.into(),
        version: Some(version.into()),
        vendor: Some("Debian".into()),
    }
}

fn nvd(id: &str, cpe: &str, end_excluding: &str) -> CveRecord {
    CveRecord {
        id: id.into(),
        published: None,
        last_modified: None,
        score: Some(9.8),
        matches: vec![CpeRange {
            cpe: hygie_vuln::cpe::Cpe::parse(cpe).unwrap(),
            start: None,
            end: Some(hygie_vuln::feed::Bound {
                version: end_excluding.into(),
                inclusive: false,
            }),
            conditional: false,
        }],
    }
}

/// Three assets in the register, an inventory run (one end of life) and a vuln run.
async fn register(app: &App, f: &hygie_core::Finess) {
    let now = jiff::Timestamp::now();
    let actor = Actor("test".into());
    let mut r = Register::new(Vec::new());
    let obs = |host: &str, os: &str, software: Vec<Software>| Observation {
        origin: format!("{host}.xml"),
        hostname: Some(host.into()),
        os: Some(OperatingSystem {
            name: os.into(),
            version: None,
        }),
        software: Some(software),
        ..Observation::default()
    };
    let s = [
        r.absorb(
            SourceKind::FusionInventory,
            obs(
                "pc-accueil",
                "Debian GNU/Linux 12",
                vec![sw("libssl3", "3.0.11-1~deb12u2"), sw("bash", "5.2.15-2")],
            ),
            now,
        ),
        r.absorb(
            SourceKind::FusionInventory,
            obs(
                "srv-dpi",
                "Windows Server 2008 R2",
                vec![sw("apache2", "2.4.49-1")],
            ),
            now,
        ),
        r.absorb(
            SourceKind::Csv,
            Observation {
                origin: "biomed.csv:2".into(),
                hostname: Some("irm-01".into()),
                category: Some(Category::Medical),
                zone: Some("imagerie".into()),
                ..Observation::default()
            },
            now,
        ),
    ];
    let assets = r.into_assets();
    app.store
        .import_inventory(
            f,
            &assets,
            &ImportRecord {
                source: SourceKind::FusionInventory,
                files: &["agents.xml".into()],
                sightings: &s,
                new_assets: 3,
                scanned: &[],
            },
            None,
            &actor,
        )
        .await
        .unwrap();
    let mut eol = hygie_inventory::rules::OS_END_OF_LIFE.pass();
    eol.fail(
        "srv-dpi",
        hygie_core::Localized::new(
            "srv-dpi: Windows Server 2008 R2",
            "srv-dpi : Windows Server 2008 R2",
        ),
    );
    let run = CheckRun::of("inv-run".into(), "inventory", now, &[eol]);
    app.store
        .record_check_run(f, &run, &serde_json::json!({}), &actor)
        .await
        .unwrap();
    let index = Index::new(
        vec![
            nvd(
                "CVE-2099-1000",
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                "3.0.14",
            ),
            nvd(
                "CVE-2099-2000",
                "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                "2.4.58",
            ),
        ],
        vec![KevEntry {
            cve: "CVE-2099-2000".into(),
            vendor_project: "Apache".into(),
            product: "HTTP Server".into(),
            name: None,
            date_added: "2026-01-01".into(),
            due_date: None,
            ransomware: false,
        }],
        Aliases::bundled().unwrap(),
    )
    // A CERT-FR alert citing the Apache CVE: the page and the API name it.
    .with_advisories(&[hygie_vuln::Advisory {
        reference: "CERTFR-2099-ALE-001".into(),
        kind: hygie_vuln::AdvisoryKind::Alerte,
        title: "Vulnérabilité dans Apache HTTP Server".into(),
        summary: None,
        cves: vec!["CVE-2099-2000".into()],
        affected: Vec::new(),
        first_revision: None,
        last_revision: None,
    }]);
    let report = index.match_assets(&assets);
    let eval = hygie_vuln::rules::evaluate(
        &report,
        &hygie_vuln::rules::Inputs {
            nvd_records: 2,
            software: report.software,
        },
    );
    let later = now.checked_add(jiff::SignedDuration::from_secs(1)).unwrap();
    let run = CheckRun::of("vuln-run".into(), "vuln", later, &eval.findings);
    app.store
        .record_check_run(f, &run, &eval.summary, &actor)
        .await
        .unwrap();
}

async fn pages(app: &App) {
    let s = seed(app).await;
    let f = &s.own;
    register(app, f).await;
    let reader = facility_user(app, "lecteur", Role::Ciso, f).await;
    let (cookie, _) = session(app, &reader).await;
    let page = |path: String| {
        let cookie = cookie.clone();
        async move {
            let r = app.send(get_with(path, &cookie)).await;
            (r.status(), body_string(r).await)
        }
    };
    let (st, list) = page(format!("/facilities/{f}/assets?lang=fr")).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert!(list.contains("3 / 3 équipements"), "{list}");
    let at = |id: &str| {
        list.find(&format!("id=\"asset-{id}\""))
            .unwrap_or_else(|| panic!("{id}: {list}"))
    };
    // srv-dpi (known exploited, end of life) first, then pc-accueil (vulnerable), then irm-01.
    assert!(at("2") < at("1") && at("1") < at("3"), "{list}");
    assert!(list.contains("oui, exploitée"));
    assert!(list.contains("Dispositif médical"));
    assert!(list.contains("href=\"/facilities/") && list.contains("/assets/2\">srv-dpi<"));

    // Filters.
    let only = |html: &str| -> Vec<u64> {
        (1..=3)
            .filter(|i| html.contains(&format!("id=\"asset-{i}\"")))
            .collect()
    };
    let (_, medical) = page(format!("/facilities/{f}/assets?category=medical")).await;
    assert_eq!(only(&medical), [3], "{medical}");
    let (_, zone) = page(format!("/facilities/{f}/assets?zone=imagerie")).await;
    assert_eq!(only(&zone), [3]);
    let (_, vulnerable) = page(format!("/facilities/{f}/assets?vulnerable=1")).await;
    assert_eq!(only(&vulnerable), [1, 2]);
    let (_, eol) = page(format!("/facilities/{f}/assets?eol=1&lang=en")).await;
    assert_eq!(only(&eol), [2]);
    assert!(eol.contains("1 / 3 assets"), "{eol}");
    let (_, os) = page(format!("/facilities/{f}/assets?os=debian")).await;
    assert_eq!(only(&os), [1]);

    // The asset's page: software, vulnerabilities with certainty and KEV, history.
    let (st, asset) = page(format!("/facilities/{f}/assets/2?lang=en")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(asset.contains("CVE-2099-2000"), "{asset}");
    assert!(asset.contains("apache:http_server") && asset.contains("normalised name"));
    assert!(asset.contains(">KEV<"));
    assert!(
        asset.contains(
            "<a href=\"https://www.cert.ssi.gouv.fr/alerte/CERTFR-2099-ALE-001/\" title=\"Vulnérabilité dans Apache HTTP Server\""
        ),
        "the CERT-FR alert citing its CVE: {asset}"
    );
    assert!(asset.contains("id=\"eol\""));
    assert!(
        asset.contains("agents.xml") || asset.contains("srv-dpi.xml"),
        "history: {asset}"
    );
    assert!(asset.contains("id=\"first-seen\""));
    let (_, pc) = page(format!("/facilities/{f}/assets/1?lang=fr")).await;
    assert!(
        pc.contains("CVE-2099-1000") && pc.contains("nom normalisé"),
        "{pc}"
    );
    assert!(pc.contains("paquet de distribution"));
    assert!(pc.contains("<td>bash</td>"), "software listed");
    let (st, _) = page(format!("/facilities/{f}/assets/99")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Another facility's user sees none of it.
    let other = facility_user(app, "autre", Role::Ciso, &s.other).await;
    let (oc, _) = session(app, &other).await;
    for path in [
        format!("/facilities/{f}/assets"),
        format!("/facilities/{f}/assets/1"),
    ] {
        let r = app.send(get_with(&path, &oc)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// Adds to the register of `register`: two assets with addresses (the PACS server in the
/// firewall's `pacs` zone, a host in a range nmap scanned), the scanned range, and a network run
/// whose summary is the collector's shape (zones with CIDRs, a reachability, a violation).
async fn network(app: &App, f: &hygie_core::Finess) {
    let now = jiff::Timestamp::now();
    let actor = Actor("test".into());
    let mut r = Register::new(app.store.inventory(f).await.unwrap());
    let host = |name: &str, ip: &str, category| Observation {
        origin: "scan.xml".into(),
        hostname: Some(name.into()),
        ips: vec![ip.into()],
        category: Some(category),
        ..Observation::default()
    };
    let s = [
        r.absorb(
            SourceKind::Nmap,
            host("pacs-1", "10.20.0.5", Category::Server),
            now,
        ),
        r.absorb(
            SourceKind::Nmap,
            host("cam-9", "192.168.7.9", Category::Unknown),
            now,
        ),
    ];
    let assets = r.into_assets();
    app.store
        .import_inventory(
            f,
            &assets,
            &ImportRecord {
                source: SourceKind::Nmap,
                files: &["scan.xml".into()],
                sightings: &s,
                new_assets: 2,
                scanned: &["192.168.7.0/24".into()],
            },
            None,
            &actor,
        )
        .await
        .unwrap();
    let summary = serde_json::json!({
        "zones": [
            {"name": "clinical", "kind": "clinical", "cidrs": ["10.10.0.0/16"]},
            {"name": "pacs", "kind": "imaging", "cidrs": ["10.20.0.0/24"]},
            {"name": "guest-wifi", "kind": "guest", "cidrs": ["10.50.0.0/16"]},
        ],
        "firewalls": [{"firewall": "rules.v4", "reachability": [
            {"from": "clinical", "to": "pacs", "services": ["tcp/104"], "by": ["FORWARD#2"]},
            {"from": "guest-wifi", "to": "pacs", "services": ["tcp/104", "tcp/11112"], "by": ["FORWARD#3"]},
        ], "warnings": []}],
        "violations": [{"rule": "NET-GUEST-ISOLATION", "firewall": "rules.v4", "from": "guest-wifi",
            "to": "pacs", "services": ["tcp/104", "tcp/11112"], "by": ["FORWARD#3"]}],
    });
    let later = now.checked_add(jiff::SignedDuration::from_secs(2)).unwrap();
    let run = CheckRun::of("net-run".into(), "network", later, &[]);
    app.store
        .record_check_run(f, &run, &summary, &actor)
        .await
        .unwrap();
}

async fn map_and_api(app: &App) {
    let s = seed(app).await;
    let f = &s.own;
    register(app, f).await;
    network(app, f).await;
    let reader = facility_user(app, "lecteur", Role::Ciso, f).await;
    let (cookie, _) = session(app, &reader).await;
    let get = |path: String| {
        let cookie = cookie.clone();
        async move {
            let r = app.send(get_with(path, &cookie)).await;
            let st = r.status();
            let ct = r
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (st, ct, body_string(r).await)
        }
    };
    let json = |body: &str| -> serde_json::Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };

    // The page: the drawing inline, the flows' table, links both ways.
    let (st, _, page) = get(format!("/facilities/{f}/map?lang=fr")).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(
        page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{page}"
    );
    assert!(
        page.contains("Cartographie du système d&#39;information"),
        "{page}"
    );
    assert!(page.contains(">pacs-1 10.20.0.5</text>"), "{page}");
    assert!(
        page.contains(">192.168.7.0/24</text>"),
        "the scanned range is a zone: {page}"
    );
    assert!(
        page.contains("interdit par la politique (NET-GUEST-ISOLATION)"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/facilities/{f}/map.json\"")));
    assert!(page.contains(&format!("href=\"/facilities/{f}/assets\"")));
    let (_, _, list) = get(format!("/facilities/{f}/assets")).await;
    assert!(
        list.contains(&format!("href=\"/facilities/{f}/map\" id=\"map-link\"")),
        "{list}"
    );
    assert!(
        list.contains(&format!("<a href=\"/facilities/{f}/map\">IS map</a>")),
        "nav: {list}"
    );

    // The download: the same map as JSON.
    let (st, ct, body) = get(format!("/facilities/{f}/map.json")).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/json"));
    let m = json(&body);
    assert_eq!(m["network_run"]["id"], "net-run");
    let zones: Vec<&str> = m["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["name"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["clinical", "pacs", "guest-wifi", "192.168.7.0/24"]);
    assert_eq!(m["zones"][1]["assets"][0]["label"], "pacs-1");
    assert_eq!(m["zones"][3]["origin"], "scan");
    assert_eq!(m["flows"][1]["verdict"], "forbidden");
    assert_eq!(
        m["unzoned"].as_array().unwrap().len(),
        3,
        "the assets without addresses"
    );
    let irm = m["unzoned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "irm-01")
        .unwrap();
    assert_eq!(irm["marks"], serde_json::json!(["medical"]));
    let srv = m["unzoned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "srv-dpi")
        .unwrap();
    assert_eq!(
        srv["marks"],
        serde_json::json!(["known_exploited", "end_of_life"])
    );
    assert_eq!(irm["sensitive"], true, "a medical device");
    let (_, _, api_map) = get(format!("/api/v1/facilities/{f}/map")).await;
    assert_eq!(json(&api_map), m, "the API answers the same map");

    // The register's API: the page's order and filters, paged.
    let (st, _, body) = get(format!("/api/v1/facilities/{f}/assets")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let all = json(&body);
    assert_eq!(all["total"], 5);
    let labels = |v: &serde_json::Value| -> Vec<String> {
        v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["label"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        labels(&all),
        ["srv-dpi", "pc-accueil", "irm-01", "pacs-1", "cam-9"]
    );
    assert_eq!(all["assets"][0]["known_exploited"], 1);
    assert_eq!(all["assets"][0]["end_of_life"], true);
    let (_, _, body) = get(format!("/api/v1/facilities/{f}/assets?vulnerable=true")).await;
    assert_eq!(labels(&json(&body)), ["srv-dpi", "pc-accueil"]);
    let (_, _, body) = get(format!(
        "/api/v1/facilities/{f}/assets?category=medical&eol=false"
    ))
    .await;
    assert_eq!(labels(&json(&body)), ["irm-01"]);
    let (_, _, body) = get(format!("/api/v1/facilities/{f}/assets?offset=1&limit=2")).await;
    let p = json(&body);
    assert_eq!(
        (labels(&p), p["total"].as_u64(), p["limit"].as_u64()),
        (
            vec!["pc-accueil".to_owned(), "irm-01".to_owned()],
            Some(5),
            Some(2)
        )
    );
    for bad in [
        "category=toaster",
        "vulnerable=maybe",
        "limit=0",
        "limit=1001",
        "offset=-1",
    ] {
        let (st, _, body) = get(format!("/api/v1/facilities/{f}/assets?{bad}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(json(&body)["error"].is_string());
    }
    let (st, _, body) = get(format!("/api/v1/facilities/{f}/assets/2")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let one = json(&body);
    assert_eq!(one["asset"]["hostname"], "srv-dpi");
    assert_eq!(one["vulnerabilities"][0]["cves"][0], "CVE-2099-2000");
    assert_eq!(
        one["vulnerabilities"][0]["certfr"],
        serde_json::json!([{"reference": "CERTFR-2099-ALE-001", "kind": "alerte",
            "title": "Vulnérabilité dans Apache HTTP Server",
            "url": "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2099-ALE-001/"}])
    );
    assert!(!one["sightings"].as_array().unwrap().is_empty());
    for missing in ["99", "x"] {
        let (st, _, _) = get(format!("/api/v1/facilities/{f}/assets/{missing}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }

    // Another facility's user sees none of it.
    let other = facility_user(app, "autre", Role::Ciso, &s.other).await;
    let (oc, _) = session(app, &other).await;
    for path in [
        format!("/facilities/{f}/map"),
        format!("/facilities/{f}/map.json"),
        format!("/api/v1/facilities/{f}/map"),
        format!("/api/v1/facilities/{f}/assets"),
        format!("/api/v1/facilities/{f}/assets/1"),
    ] {
        let r = app.send(get_with(&path, &oc)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_asset_register_pages_on_sqlite() {
    let app = sqlite_app().await;
    pages(&app).await;
}

#[tokio::test]
async fn the_asset_register_pages_on_postgres() {
    let Some(app) = pg_app().await else { return };
    pages(&app).await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_is_map_and_the_register_api_on_sqlite() {
    let app = sqlite_app().await;
    map_and_api(&app).await;
}

#[tokio::test]
async fn the_is_map_and_the_register_api_on_postgres() {
    let Some(app) = pg_app().await else { return };
    map_and_api(&app).await;
    app.cleanup().await;
}
