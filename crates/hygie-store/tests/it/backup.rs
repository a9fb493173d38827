//! Backup and restore on both backends and from one to the other: every table comes back as it
//! was, a snapshot is one instant while another client writes, and a restore never merges.

use super::{added_hospital, declare, facility, m};
use hygie_core::{
    Alert, CheckRun, DeclaredStatus, FacilityKind, RuleOutcome, RuleResult, Severity,
};
use hygie_store::backup::{Checked, Manifest, Problem, TABLES, write_backup};
use hygie_store::{Actor, Binding, JournalCheck, NewUser, Role, Store, TokenAccess};
use hygie_testkit::TestDb;
use std::io::Write;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A store with a row in most tables: facility, declarations, an evidence file, a check run, an
/// alert, trend points (a `real` column), a user bound to the facility, an API token, people.
async fn populate(store: &Store) {
    let a = Actor("test".into());
    store
        .set_catalog_version("2026.1", &a)
        .await
        .expect("catalog");
    let f = added_hospital(store).await;
    declare(
        store,
        &f.id,
        &m("BCK-06"),
        DeclaredStatus::Implemented,
        Some("RSSI"),
        "2025-02-01T10:00:00Z",
    )
    .await;
    declare(
        store,
        &f.id,
        &m("IAM-06"),
        DeclaredStatus::InProgress,
        None,
        "2025-03-01T10:00:00Z",
    )
    .await;
    store
        .add_evidence_file(
            &f.id,
            &m("BCK-06"),
            "restore-test.pdf",
            b"%PDF-1.7\0\xff\xfe drill",
            &a,
        )
        .await
        .expect("evidence");
    let run = CheckRun {
        id: "run-1".into(),
        source: "backups".into(),
        at: "2025-03-02T10:00:00Z".parse().expect("instant"),
        results: vec![RuleResult {
            rule: "BCK-RESTORE-TESTED".into(),
            severity: Severity::High,
            outcome: RuleOutcome::Fail,
            measures: vec![m("BCK-06")],
            objects: vec!["srv-dpi".into()],
        }],
    };
    store
        .record_check_run(&f.id, &run, &serde_json::json!({"hosts": 1}), &a)
        .await
        .expect("run");
    let alert = Alert {
        id: "alert-1".into(),
        rule_id: "sigma-1".into(),
        title: "Suspicious logon « é »".into(),
        level: "high".into(),
        tags: vec!["attack.t1078".into()],
        time: Some("2026-01-05T10:00:00Z".into()),
        last_time: None,
        host: Some("srv-1".into()),
        record_id: 7,
        source: "syslog".into(),
        fields: vec![],
        count: 1,
    };
    store
        .record_alerts(&f.id, &[alert], &a)
        .await
        .expect("alerts");
    let catalog = hygie_catalog::bundled().expect("catalogue");
    store
        .facility_trend(&catalog, &f.id, &["2025-02-15".parse().expect("date")])
        .await
        .expect("trend");
    store
        .create_user(
            &NewUser {
                username: "rssi".into(),
                display_name: "R. SSI".into(),
                role: Role::Ciso,
                binding: Binding::Facilities {
                    facilities: vec![f.id.clone()],
                },
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                lang: Some("fr".into()),
            },
            &a,
        )
        .await
        .expect("user");
    store
        .create_token(
            "backup-agent",
            &f.id,
            TokenAccess::Read,
            &"ab".repeat(32),
            90,
            &a,
        )
        .await
        .expect("token");
    let person: hygie_governance::org::Person = serde_json::from_value(serde_json::json!({
        "id": "P1", "name": "Jeanne Martin", "department": "DSI"
    }))
    .expect("person");
    store
        .replace_people(&f.id, &[person], "test", &a)
        .await
        .expect("people");
}

/// Back `store` up to a file in `dir`; the manifest.
async fn backup(
    store: &Store,
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, Manifest) {
    let path = dir.join(name);
    let s = write_backup(store, &path, None).await.expect("backup");
    (path, s.manifest)
}

/// The tables whose rows must come back unchanged (the journal gains the restore's entry).
fn same_tables(a: &Manifest, b: &Manifest, label: &str) {
    let names = |m: &Manifest| m.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{label}");
    for (x, y) in a.tables.iter().zip(&b.tables) {
        if x.name == "journal" || x.name == "journal_head" {
            continue;
        }
        assert_eq!(x, y, "{label}: table {}", x.name);
    }
}

/// Restore `path` into the empty database `db`; the new store's own backup.
async fn restore_into(
    path: &std::path::Path,
    db: &TestDb,
    dir: &std::path::Path,
    name: &str,
) -> Manifest {
    let checked = Checked::check(path, None).expect("sound archive");
    let report = checked
        .restore(&db.url, &Actor("test".into()))
        .await
        .unwrap_or_else(|e| panic!("restore into {}: {e}", db.backend));
    let rows = checked.manifest.rows_of("journal") as usize;
    assert_eq!(report.journal, JournalCheck::Intact { entries: rows + 1 });
    assert_eq!(report.restore_entry, checked.manifest.journal_head.seq + 1);
    assert_eq!(report.blobs.files, 1);
    assert!(report.blobs.mismatched.is_empty());
    let store = Store::open(&db.url).await.expect("open restored");
    let (_, m) = backup(&store, dir, name).await;
    store.close().await;
    m
}

#[test]
fn every_table_comes_back_on_either_backend_and_across() {
    for source in TestDb::each() {
        let dir = tempfile::tempdir().expect("dir");
        runtime().block_on(async {
            let store = Store::open(&source.url).await.expect("open");
            populate(&store).await;
            let (path, original) = backup(&store, dir.path(), "a0.hyb").await;
            let catalog = hygie_catalog::bundled().expect("catalogue");
            let f = hygie_core::Finess::with_check_digit("75000001").expect("finess");
            let before = store
                .facility_status(&catalog, &f, "2026-01-01".parse().expect("date"))
                .await
                .expect("status");
            store.close().await;
            assert_eq!(original.backend, source.backend);
            assert!(original.rows_of("evidence_blobs") == 1 && original.rows_of("users") == 1);
            for target in TestDb::each() {
                let label = format!("{} -> {}", source.backend, target.backend);
                let first =
                    restore_into(&path, &target, dir.path(), &format!("{label}-1.hyb")).await;
                same_tables(&original, &first, &label);
                assert_eq!(
                    first.rows_of("journal"),
                    original.rows_of("journal") + 1,
                    "{label}"
                );
                let restored = Store::open(&target.url).await.expect("open");
                let after = restored
                    .facility_status(&catalog, &f, "2026-01-01".parse().expect("date"))
                    .await
                    .expect("status");
                assert_eq!(
                    serde_json::to_value(&before).expect("json"),
                    serde_json::to_value(&after).expect("json"),
                    "{label}"
                );
                let sha = match &restored.evidence(&f, None).await.expect("evidence")[0].kind {
                    hygie_store::EvidenceKind::File { sha256, .. } => sha256.clone(),
                    other => panic!("{other:?}"),
                };
                assert_eq!(
                    restored.evidence_content(&sha).await.expect("content"),
                    b"%PDF-1.7\0\xff\xfe drill"
                );
                restored.close().await;
                // And back to the source's backend: the same bytes, table by table.
                let back = if source.backend == "sqlite" {
                    TestDb::sqlite()
                } else {
                    TestDb::postgres().expect("postgres")
                };
                let again = restore_into(
                    &dir.path().join(format!("{label}-1.hyb")),
                    &back,
                    dir.path(),
                    &format!("{label}-2.hyb"),
                )
                .await;
                same_tables(&original, &again, &format!("{label} -> {}", source.backend));
                for t in &again.tables {
                    if t.name != "journal" && t.name != "journal_head" {
                        let o = original
                            .tables
                            .iter()
                            .find(|o| o.name == t.name)
                            .expect("table");
                        assert_eq!(
                            o.sha256, t.sha256,
                            "{label}: {} back on {}",
                            t.name, source.backend
                        );
                    }
                }
            }
        });
    }
}

/// Writes through to a buffer; at its first write (the archive's header, after the snapshot was
/// fixed), another client adds a facility and a declaration and commits.
struct Interfering {
    buf: Vec<u8>,
    url: String,
    done: bool,
}

impl Write for Interfering {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if !self.done {
            self.done = true;
            let url = self.url.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    let other = Store::open(&url).await.expect("open");
                    let a = Actor("other".into());
                    let f = facility("13000001", "PAC", FacilityKind::Clinic);
                    other.add_facility(&f, false, &a).await.expect("add");
                    declare(
                        &other,
                        &f.id,
                        &m("BCK-06"),
                        DeclaredStatus::Implemented,
                        None,
                        "2025-04-01T10:00:00Z",
                    )
                    .await;
                    other.close().await;
                });
            })
            .join()
            .expect("the other writer");
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_snapshot_is_one_instant_while_another_client_writes() {
    for db in TestDb::each() {
        let dir = tempfile::tempdir().expect("dir");
        runtime().block_on(async {
            let store = Store::open(&db.url).await.expect("open");
            populate(&store).await;
            let head = store
                .journal_entries(None, None)
                .await
                .expect("journal")
                .len() as i64;
            let (out, manifest) = store
                .export_archive(Interfering {
                    buf: Vec::new(),
                    url: db.url.clone(),
                    done: false,
                })
                .await
                .expect("export");
            assert!(out.done);
            // The other client's writes are in the store, not in the snapshot.
            assert_eq!(
                store.facilities(None).await.expect("list").len(),
                2,
                "{}",
                db.backend
            );
            assert_eq!(manifest.journal_head.seq, head, "{}", db.backend);
            assert_eq!(manifest.rows_of("journal") as i64, head, "{}", db.backend);
            assert_eq!(manifest.rows_of("facilities"), 1, "{}", db.backend);
            store.close().await;
            let path = dir.path().join("during.hyb");
            std::fs::write(&path, &out.buf).expect("write");
            let report = Checked::verify(&path, None).expect("sound");
            assert_eq!(
                report.journal,
                JournalCheck::Intact {
                    entries: head as usize
                }
            );
            let target = TestDb::sqlite();
            restore_into(&path, &target, dir.path(), "after.hyb").await;
        });
    }
}

#[test]
fn a_restore_into_a_store_with_data_is_refused_and_changes_nothing() {
    for db in TestDb::each() {
        let dir = tempfile::tempdir().expect("dir");
        runtime().block_on(async {
            let source = TestDb::sqlite();
            let store = Store::open(&source.url).await.expect("open");
            populate(&store).await;
            let (path, _) = backup(&store, dir.path(), "a.hyb").await;
            store.close().await;
            let target = Store::open(&db.url).await.expect("open");
            target
                .add_facility(
                    &facility("13000001", "PAC", FacilityKind::Clinic),
                    false,
                    &Actor("t".into()),
                )
                .await
                .expect("add");
            let (_, before) = backup(&target, dir.path(), "before.hyb").await;
            target.close().await;
            let checked = Checked::check(&path, None).expect("sound");
            let e = checked
                .restore(&db.url, &Actor("t".into()))
                .await
                .unwrap_err();
            assert_eq!(e.problem, Problem::TargetNotEmpty, "{}: {e}", db.backend);
            assert!(e.to_string().contains("1 facilities"), "{e}");
            let target = Store::open(&db.url).await.expect("open");
            let (_, after) = backup(&target, dir.path(), "after.hyb").await;
            target.close().await;
            assert_eq!(before.tables, after.tables, "{}", db.backend);
        });
    }
}

#[test]
fn backup_lists_every_table_and_no_table_has_a_sequence() {
    for db in TestDb::each() {
        let dir = tempfile::tempdir().expect("dir");
        runtime().block_on(async {
            let store = Store::open(&db.url).await.expect("open");
            let (_, manifest) = backup(&store, dir.path(), "empty.hyb").await;
            let names: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, TABLES, "{}", db.backend);
            // Ids are MAX + 1 or journal numbers: nothing to move past the restored rows.
            let sql = if db.backend == "sqlite" {
                "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'"
            } else {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND (column_default LIKE 'nextval%' OR is_identity = 'YES')"
            };
            let n: i64 = sqlx::query_scalar(sql).fetch_one(store.pool()).await.expect("count");
            assert_eq!(n, 0, "{}", db.backend);
            store.close().await;
        });
    }
}
