//! The vulnerability feeds: a KEV import replaces the catalogue, NVD imports add and update their
//! CVEs (the latest modified wins inside one import), each import journalled; on both backends.

use super::on_each_backend;
use hygie_store::{Actor, FeedRecords, JournalCheck};
use hygie_vuln::{CveRecord, FeedKind, KevEntry};

fn kev(id: &str, ransomware: bool) -> KevEntry {
    KevEntry {
        cve: id.into(),
        vendor_project: "Apache".into(),
        product: "HTTP Server".into(),
        name: Some("path traversal".into()),
        date_added: "2021-11-03".into(),
        due_date: Some("2021-11-17".into()),
        ransomware,
    }
}

fn cve(id: &str, modified: &str, version: &str) -> CveRecord {
    CveRecord {
        id: id.into(),
        published: Some("2021-10-05T09:15:07.593".into()),
        last_modified: Some(modified.into()),
        score: Some(7.5),
        matches: vec![hygie_vuln::CpeRange {
            cpe: hygie_vuln::cpe::Cpe::parse(&format!(
                "cpe:2.3:a:apache:http_server:{version}:*:*:*:*:*:*:*"
            ))
            .expect("cpe"),
            start: None,
            end: None,
            conditional: false,
        }],
    }
}

#[test]
fn feeds_import_replace_and_update_journalled() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        store
            .import_vuln_feed(
                FeedKind::Kev,
                "2026.11.01",
                Some("2026-11-01T15:00:00.000Z"),
                &["kev-old.json".into()],
                FeedRecords::Kev(&[kev("CVE-2021-41773", true), kev("CVE-2021-42013", false)]),
                &actor,
            )
            .await
            .expect("kev");
        store
            .import_vuln_feed(
                FeedKind::Kev,
                "2026.12.01",
                Some("2026-12-01T15:00:00.000Z"),
                &["kev.json".into()],
                FeedRecords::Kev(&[kev("CVE-2021-41773", true)]),
                &actor,
            )
            .await
            .expect("kev again");
        assert_eq!(
            store.vuln_kev().await.expect("kev"),
            [kev("CVE-2021-41773", true)]
        );

        // More records than one INSERT batch; one CVE twice (the later modification wins).
        let mut first: Vec<CveRecord> = (0..450)
            .map(|i| {
                cve(
                    &format!("CVE-2024-{i:05}"),
                    "2024-01-01T00:00:00.000",
                    "2.4.49",
                )
            })
            .collect();
        first.push(cve("CVE-2024-00001", "2024-03-01T00:00:00.000", "2.4.50"));
        store
            .import_vuln_feed(
                FeedKind::Nvd,
                "2.0",
                Some("2026-12-01T10:00:00.000"),
                &["nvdcve-2.0-2024.json".into()],
                FeedRecords::Nvd(&first),
                &actor,
            )
            .await
            .expect("nvd");
        // A second file updates one CVE and adds one.
        store
            .import_vuln_feed(
                FeedKind::Nvd,
                "2.0",
                None,
                &["page-2.json".into()],
                FeedRecords::Nvd(&[
                    cve("CVE-2024-00002", "2024-05-01T00:00:00.000", "2.4.51"),
                    cve("CVE-2025-00001", "2025-01-01T00:00:00.000", "2.4.60"),
                ]),
                &actor,
            )
            .await
            .expect("nvd page 2");
        let mut back = store.vuln_nvd().await.expect("nvd");
        back.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back.len(), 451);
        let by = |id: &str| back.iter().find(|c| c.id == id).expect("cve").clone();
        assert_eq!(by("CVE-2024-00001").matches[0].cpe.version, "2.4.50");
        assert_eq!(by("CVE-2024-00002").matches[0].cpe.version, "2.4.51");
        assert_eq!(
            by("CVE-2024-00003"),
            cve("CVE-2024-00003", "2024-01-01T00:00:00.000", "2.4.49")
        );

        let feeds = store.vuln_feeds().await.expect("feeds");
        assert_eq!(feeds.len(), 4);
        assert_eq!(feeds[1].version, "2026.12.01");
        assert_eq!(feeds[2].records, 450);
        assert_eq!(feeds[2].files, ["nvdcve-2.0-2024.json"]);
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}

fn advisory(reference: &str, revision: &str, cves: &[&str]) -> hygie_vuln::Advisory {
    hygie_vuln::Advisory {
        reference: reference.into(),
        kind: hygie_vuln::certfr::reference_kind(reference).expect("reference"),
        title: format!("Multiples vulnérabilités ({revision})"),
        summary: None,
        cves: cves.iter().map(|c| (*c).to_owned()).collect(),
        affected: vec![hygie_vuln::certfr::Affected {
            vendor: Some("Apache".into()),
            product: Some("HTTP Server".into()),
            description: "HTTP Server versions antérieures à 2.4.51".into(),
        }],
        first_revision: Some("2021-10-06T00:00:00.000000".into()),
        last_revision: Some(revision.into()),
    }
}

/// CERT-FR advisories: stored and read back; a revised advisory imported again replaces the
/// stored one (inside one import, the latest revision wins); journalled, on both backends.
#[test]
fn certfr_advisories_import_and_revise() {
    on_each_backend(|store| async move {
        let actor = Actor("test".into());
        let first = [
            advisory(
                "CERTFR-2021-AVI-0754",
                "2021-10-06T00:00:00.000000",
                &["CVE-2021-41773"],
            ),
            advisory(
                "CERTFR-2021-ALE-022",
                "2021-10-06T00:00:00.000000",
                &["CVE-2021-41773"],
            ),
            advisory(
                "CERTFR-2021-ALE-022",
                "2021-10-08T00:00:00.000000",
                &["CVE-2021-41773", "CVE-2021-42013"],
            ),
        ];
        store
            .import_vuln_feed(
                FeedKind::CertFr,
                "json",
                Some("2021-10-08T00:00:00.000000"),
                &["certfr/".into()],
                FeedRecords::CertFr(&first),
                &actor,
            )
            .await
            .expect("certfr");
        let back = store.vuln_certfr().await.expect("read");
        assert_eq!(back, [first[2].clone(), first[0].clone()]);
        // The alert's last revision, downloaded again later.
        let revised = advisory(
            "CERTFR-2021-ALE-022",
            "2021-11-18T00:00:00.000000",
            &["CVE-2021-41773", "CVE-2021-42013", "CVE-2021-40438"],
        );
        store
            .import_vuln_feed(
                FeedKind::CertFr,
                "json",
                revised.last_revision.as_deref(),
                &["CERTFR-2021-ALE-022.json".into()],
                FeedRecords::CertFr(std::slice::from_ref(&revised)),
                &actor,
            )
            .await
            .expect("revised");
        let back = store.vuln_certfr().await.expect("read");
        assert_eq!(back, [revised, first[0].clone()]);
        let feeds = store.vuln_feeds().await.expect("feeds");
        assert_eq!(
            feeds
                .iter()
                .map(|f| (f.kind, f.records))
                .collect::<Vec<_>>(),
            [(FeedKind::CertFr, 2), (FeedKind::CertFr, 1)]
        );
        // The CVE feeds are untouched.
        assert!(store.vuln_nvd().await.expect("nvd").is_empty());
        assert!(matches!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { .. }
        ));
    });
}
