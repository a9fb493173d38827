//! The asset register in the browser (issue 21), on SQLite and PostgreSQL: the list with its
//! filters (category with medical devices, zone, operating system, vulnerable, end of life),
//! known exploited and end-of-life assets first, and an asset's page with its software, its
//! vulnerabilities and its history, in French and English. Another facility's user gets "not
//! found".
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
    );
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
