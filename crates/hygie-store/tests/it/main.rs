//! The store's contract, run against every backend: SQLite and PostgreSQL see the same tests.

use hygie_core::journal::ChainBreak;
use hygie_core::{
    CheckRun, DeclaredStatus, EffectiveStatus, Facility, FacilityKind, Finess, MeasureId,
    Nis2Status, Region, RuleOutcome, RuleResult, Severity,
};
use hygie_store::{Actor, JournalCheck, Store, StoreError};
use hygie_testkit::TestDb;

mod accounts;
mod alert_ids;
mod alert_merge;
mod alert_triage;
mod backup;
mod contention;
mod ingest_checkpoints;
mod inventory;
mod notify;
mod passkeys;
mod sync_campaign_life;
mod sync_push;
mod sync_requests;
mod vuln;
mod webhooks;

fn date(s: &str) -> jiff::civil::Date {
    s.parse().expect("test date")
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("test instant")
}

fn facility(first8: &str, region: &str, kind: FacilityKind) -> Facility {
    Facility {
        id: Finess::with_check_digit(first8).expect("valid"),
        legal_entity: None,
        name: format!("Test {first8}"),
        kind,
        region: Region::parse(region).expect("region"),
        nis2: Nis2Status::Essential,
        plan_start: date("2025-01-01"),
    }
}

fn m(id: &str) -> MeasureId {
    MeasureId::parse(id).expect("measure id")
}

/// The one facility of most scenarios (a hospital in Île-de-France), added by the test actor.
async fn added_hospital(store: &Store) -> Facility {
    let f = facility("75000001", "IDF", FacilityKind::Hospital);
    store
        .add_facility(&f, false, &Actor("test".into()))
        .await
        .expect("add");
    f
}

/// A declaration by the test actor at `at`, without note.
async fn declare(
    store: &Store,
    f: &Finess,
    measure: &MeasureId,
    status: DeclaredStatus,
    owner: Option<&str>,
    at: &str,
) {
    store
        .declare_at(
            f,
            measure,
            &status,
            owner,
            None,
            &Actor("test".into()),
            ts(at),
        )
        .await
        .expect("declare");
}

/// A check run recorded by the test actor, with an empty summary.
async fn record(store: &Store, f: &Finess, run: &CheckRun) {
    store
        .record_check_run(f, run, &serde_json::json!({}), &Actor("test".into()))
        .await
        .expect("run");
}

/// A facility's status on `as_of`.
async fn status(
    store: &Store,
    catalog: &hygie_core::Catalog,
    f: &Finess,
    as_of: &str,
) -> hygie_core::FacilityStatus {
    store
        .facility_status(catalog, f, date(as_of))
        .await
        .expect("status")
}

/// Run one async scenario on every backend.
fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::each() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let store = Store::open(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", db.backend));
            scenario(store.clone()).await;
            store.close().await;
        });
    }
}

#[test]
fn facilities_are_added_listed_and_unique() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f1 = facility("75000001", "IDF", FacilityKind::Hospital);
        let f2 = facility("35000001", "BRE", FacilityKind::BiologyLab);
        store.add_facility(&f1, false, &a).await.expect("add");
        store.add_facility(&f2, false, &a).await.expect("add");
        assert!(matches!(
            store.add_facility(&f1, false, &a).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.facilities(None).await.expect("list").len(), 2);
        assert_eq!(
            store
                .facilities(Some(Region::parse("IDF").expect("r")))
                .await
                .expect("list"),
            vec![f1.clone()]
        );
        assert_eq!(store.facility(&f2.id).await.expect("get"), f2);
        let unknown = Finess::with_check_digit("75999999").expect("valid");
        assert!(matches!(
            store.facility(&unknown).await,
            Err(StoreError::NotFound(_))
        ));
    });
}

/// A note, owner or justification past its limit is refused before anything is written (the
/// CLI and the web share this path), and one at the limit is kept whole.
#[test]
fn over_long_declaration_texts_are_refused_and_nothing_is_written() {
    use hygie_core::declaration::{MAX_NOTE_CHARS, MAX_OWNER_CHARS};
    on_each_backend(|store| async move {
        let f = added_hospital(&store).await;
        let entries = |check: JournalCheck| match check {
            JournalCheck::Intact { entries } => entries,
            JournalCheck::Broken(b) => panic!("journal broken: {b:?}"),
        };
        let before = entries(store.verify_journal().await.expect("verify"));
        let long_note = "é".repeat(MAX_NOTE_CHARS + 1);
        let long_owner = "x".repeat(MAX_OWNER_CHARS + 1);
        let na = DeclaredStatus::NotApplicable {
            justification: "j".repeat(MAX_NOTE_CHARS + 1),
        };
        let actor = Actor("test".into());
        let attempts = [
            (
                DeclaredStatus::Implemented,
                None,
                Some(long_note.as_str()),
                "note",
            ),
            (
                DeclaredStatus::Implemented,
                Some(long_owner.as_str()),
                None,
                "owner",
            ),
            (na, None, None, "justification"),
        ];
        for (status, owner, note, field) in attempts {
            let err = store
                .declare(&f.id, &m("END-01"), &status, owner, note, &actor)
                .await
                .expect_err("an over-long text is refused");
            assert!(
                matches!(&err, StoreError::Invalid(msg) if msg.starts_with(field)),
                "{field}: {err}"
            );
        }
        assert_eq!(
            entries(store.verify_journal().await.expect("verify")),
            before
        );
        let at_limit = "é".repeat(MAX_NOTE_CHARS);
        store
            .declare(
                &f.id,
                &m("END-01"),
                &DeclaredStatus::Implemented,
                None,
                Some(&at_limit),
                &actor,
            )
            .await
            .expect("a note at the limit is kept");
    });
}

#[test]
fn declarations_keep_history_and_status_replays_any_date() {
    on_each_backend(|store| async move {
        let catalog = hygie_catalog::bundled().expect("catalogue");
        let f = added_hospital(&store).await;
        let end01 = m("END-01");
        declare(
            &store,
            &f.id,
            &end01,
            DeclaredStatus::InProgress,
            None,
            "2025-03-01T10:00:00Z",
        )
        .await;
        declare(
            &store,
            &f.id,
            &end01,
            DeclaredStatus::Implemented,
            Some("RSSI"),
            "2025-05-01T10:00:00Z",
        )
        .await;
        let h = store
            .declaration_history(&f.id, Some(&end01))
            .await
            .expect("history");
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].declaration.owner.as_deref(), Some("RSSI"));

        let before = status(&store, &catalog, &f.id, "2025-04-01").await;
        let state = |s: &hygie_core::FacilityStatus| {
            s.measures.iter().find(|x| x.id == end01).map(|x| x.status)
        };
        assert_eq!(state(&before), Some(EffectiveStatus::InProgress));
        let after = status(&store, &catalog, &f.id, "2025-05-02").await;
        assert_eq!(state(&after), Some(EffectiveStatus::Implemented));
        assert_eq!(after.levels[0].done, before.levels[0].done + 1);
        assert_eq!(after.levels[0].due_date, date("2025-07-01"));
        // After the level-1 deadline every undone level-1 measure is overdue.
        let late = status(&store, &catalog, &f.id, "2025-08-01").await;
        assert!(!late.levels[0].overdue.contains(&end01));
        assert_eq!(
            late.levels[0].overdue.len(),
            late.levels[0].total - late.levels[0].done
        );
        assert!(late.levels[0].overdue_detail.iter().all(|o| o.days == 31));
    });
}

#[test]
fn a_failing_check_overrides_a_declaration_and_says_why() {
    on_each_backend(|store| async move {
        let catalog = hygie_catalog::bundled().expect("catalogue");
        let f = added_hospital(&store).await;
        let iam04 = m("IAM-04");
        declare(
            &store,
            &f.id,
            &iam04,
            DeclaredStatus::Implemented,
            None,
            "2025-02-01T00:00:00Z",
        )
        .await;
        let run = |id: &str, at: &str, outcome| CheckRun {
            id: id.into(),
            source: "ad".into(),
            at: ts(at),
            results: vec![RuleResult {
                rule: "AD-PWD-LEN".into(),
                severity: Severity::High,
                outcome,
                measures: vec![iam04.clone()],
                objects: vec!["Default Domain Policy".into()],
            }],
        };
        record(
            &store,
            &f.id,
            &run("r1", "2025-03-01T00:00:00Z", RuleOutcome::Fail),
        )
        .await;
        let s = status(&store, &catalog, &f.id, "2025-03-02").await;
        let st = s.measures.iter().find(|x| x.id == iam04).expect("owed");
        assert_eq!(st.status, EffectiveStatus::Failing);
        assert!(
            st.reason
                .as_ref()
                .is_some_and(|r| r.en.contains("AD-PWD-LEN") && r.en.contains("overrides"))
        );
        // A later passing run of the same source verifies it; the failing one still explains the past.
        record(
            &store,
            &f.id,
            &run("r2", "2025-04-01T00:00:00Z", RuleOutcome::Pass),
        )
        .await;
        let s = status(&store, &catalog, &f.id, "2025-04-02").await;
        assert_eq!(
            s.measures.iter().find(|x| x.id == iam04).map(|x| x.status),
            Some(EffectiveStatus::Verified)
        );
        let past = status(&store, &catalog, &f.id, "2025-03-15").await;
        assert_eq!(
            past.measures
                .iter()
                .find(|x| x.id == iam04)
                .map(|x| x.status),
            Some(EffectiveStatus::Failing)
        );
        assert_eq!(
            store
                .check_runs(&f.id, Some("ad"))
                .await
                .expect("runs")
                .len(),
            2
        );
    });
}

#[test]
fn the_region_view_agrees_with_each_facility_view() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let catalog = hygie_catalog::bundled().expect("catalogue");
        let region = Region::parse("BRE").expect("r");
        let fs = [
            facility("35000001", "BRE", FacilityKind::Hospital),
            facility("29000001", "BRE", FacilityKind::Imaging),
            facility("75000001", "IDF", FacilityKind::Clinic),
        ];
        for f in &fs {
            store.add_facility(f, false, &a).await.expect("add");
        }
        for (i, id) in ["END-01", "IAM-04", "BCK-02", "NET-01"].iter().enumerate() {
            declare(
                &store,
                &fs[0].id,
                &m(id),
                DeclaredStatus::Implemented,
                None,
                "2025-02-01T00:00:00Z",
            )
            .await;
            if i % 2 == 0 {
                declare(
                    &store,
                    &fs[1].id,
                    &m(id),
                    DeclaredStatus::Implemented,
                    None,
                    "2025-06-01T00:00:00Z",
                )
                .await;
            }
        }
        let run = CheckRun {
            id: "r1".into(),
            source: "backups".into(),
            at: ts("2025-03-01T00:00:00Z"),
            results: vec![RuleResult {
                rule: "BCK-RPO".into(),
                severity: Severity::High,
                outcome: RuleOutcome::Fail,
                measures: vec![m("BCK-02")],
                objects: vec!["srv-dpi".into()],
            }],
        };
        record(&store, &fs[0].id, &run).await;
        for as_of in ["2025-02-15", "2025-05-01", "2025-12-31"] {
            let regional = store
                .region_statuses(&catalog, region, date(as_of))
                .await
                .expect("region");
            assert_eq!(regional.len(), 2, "only Bretagne's facilities");
            for s in &regional {
                let single = status(&store, &catalog, &s.facility.id, as_of).await;
                assert_eq!(&single, s, "{} on {as_of}", s.facility.id);
            }
        }
        let view = store
            .region_status(&catalog, region, date("2025-05-01"))
            .await
            .expect("view");
        let failing: Vec<(String, usize)> = view
            .facilities
            .iter()
            .map(|r| (r.id.to_string(), r.failing))
            .collect();
        assert_eq!(
            failing,
            [(fs[1].id.to_string(), 0), (fs[0].id.to_string(), 1)],
            "rows ordered by FINESS"
        );
    });
}

#[test]
fn evidence_is_content_addressed_and_verified() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = added_hospital(&store).await;
        let content = b"%PDF-1.7 backup policy signed".to_vec();
        let e1 = store
            .add_evidence_file(&f.id, &m("BCK-01"), "policy.pdf", &content, &a)
            .await
            .expect("file");
        let e2 = store
            .add_evidence_file(&f.id, &m("BCK-06"), "same.pdf", &content, &a)
            .await
            .expect("same content");
        let sha = match (&e1.kind, &e2.kind) {
            (
                hygie_store::EvidenceKind::File {
                    sha256: s1, size, ..
                },
                hygie_store::EvidenceKind::File { sha256: s2, .. },
            ) => {
                assert_eq!(s1, s2);
                assert_eq!(*size, content.len() as i64);
                s1.clone()
            }
            _ => panic!("file evidence expected"),
        };
        assert_eq!(
            store.evidence_content(&sha).await.expect("content"),
            content
        );
        let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evidence_blobs")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(blobs, 1, "identical content is stored once");
        // The same content again on the same measure, under any name, is not listed twice: the
        // refusal names the file kept, and nothing is written.
        let before = store
            .journal_entries(None, None)
            .await
            .expect("journal")
            .len();
        match store
            .add_evidence_file(&f.id, &m("BCK-01"), "copy of policy.pdf", &content, &a)
            .await
        {
            Err(StoreError::AlreadyAttached(kept)) => assert_eq!(
                (kept.file_name.as_str(), kept.added_by.as_str()),
                ("policy.pdf", "test")
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store
                .journal_entries(None, None)
                .await
                .expect("journal")
                .len(),
            before
        );
        store
            .add_evidence_link(
                &f.id,
                &m("BCK-01"),
                &hygie_core::EvidenceLink::parse("https://ged.example/doc/42", "PRA")
                    .expect("valid"),
                &a,
            )
            .await
            .expect("link");
        let listed = store
            .evidence(&f.id, Some(&m("BCK-01")))
            .await
            .expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[1].kind,
            hygie_store::EvidenceKind::Link {
                url: "https://ged.example/doc/42".into(),
                title: Some("PRA".into()),
            }
        );
        // A link that is not a web address is refused by the store too.
        let bad = hygie_core::EvidenceLink {
            url: "javascript:alert(1)".into(),
            title: None,
        };
        assert!(matches!(
            store.add_evidence_link(&f.id, &m("BCK-01"), &bad, &a).await,
            Err(StoreError::Invalid(_))
        ));
        // A blob altered in the database is refused, not served.
        sqlx::query("UPDATE evidence_blobs SET content = $1")
            .bind(b"forged".to_vec())
            .execute(store.pool())
            .await
            .expect("tamper");
        assert!(matches!(
            store.evidence_content(&sha).await,
            Err(StoreError::Corrupt(_))
        ));
    });
}

/// Issue 25: U+202E was accepted in evidence names, so `gpj.\u{202e}exe` showed as `exe.jpg`.
/// The store refuses control and text-direction characters in a name, from the CLI and the web
/// alike, and writes nothing.
#[test]
fn evidence_names_that_could_disguise_themselves_are_refused() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = added_hospital(&store).await;
        let before = store
            .journal_entries(None, None)
            .await
            .expect("journal")
            .len();
        for name in [
            "gpj.\u{202e}exe",
            "a\r\nb.pdf",
            "esc\u{1b}[2J.pdf",
            "iso\u{2067}.pdf",
        ] {
            let r = store
                .add_evidence_file(&f.id, &m("BCK-01"), name, b"content", &a)
                .await;
            match r {
                Err(StoreError::Invalid(msg)) => {
                    assert!(msg.contains("file_name") && msg.contains("U+"), "{msg}")
                }
                other => panic!("{name:?}: {other:?}"),
            }
        }
        assert!(store.evidence(&f.id, None).await.expect("list").is_empty());
        let after = store
            .journal_entries(None, None)
            .await
            .expect("journal")
            .len();
        assert_eq!(before, after, "nothing journalled");
        // Quotes, semicolons and accents are names like any other.
        store
            .add_evidence_file(&f.id, &m("BCK-01"), "Relevé \"final\"; v2.pdf", b"x", &a)
            .await
            .expect("an ordinary name");
    });
}

#[test]
fn journal_detects_edits_removals_and_truncation() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = added_hospital(&store).await;
        for s in ["in_progress", "implemented"] {
            store
                .declare(
                    &f.id,
                    &m("END-01"),
                    &DeclaredStatus::parse(s, None).expect("s"),
                    None,
                    None,
                    &a,
                )
                .await
                .expect("d");
        }
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 3 }
        );
        let entries = store
            .journal_entries(Some(f.id.as_str()), None)
            .await
            .expect("entries");
        assert_eq!(entries.len(), 3, "facility and its measures");

        sqlx::query("UPDATE journal SET details = '{\"status\":\"implemented\"}' WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("edit");
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Broken(ChainBreak::Edited { seq: 2 })
        );
        sqlx::query("UPDATE journal SET details = $1 WHERE seq = 2")
            .bind(&entries[1].details)
            .execute(store.pool())
            .await
            .expect("restore");
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 3 }
        );

        sqlx::query("DELETE FROM journal WHERE seq = 3")
            .execute(store.pool())
            .await
            .expect("truncate");
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Broken(ChainBreak::Truncated { last: 2, head: 3 })
        );
        sqlx::query("DELETE FROM journal WHERE seq = 1")
            .execute(store.pool())
            .await
            .expect("remove");
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Broken(ChainBreak::Missing {
                expected: 1,
                found: 2
            })
        );
    });
}

#[test]
fn concurrent_writers_keep_one_chain() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let f = added_hospital(&store).await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (store, id, a) = (store.clone(), f.id.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                let status = if i % 2 == 0 {
                    "in_progress"
                } else {
                    "implemented"
                };
                store
                    .declare(
                        &id,
                        &m("END-01"),
                        &DeclaredStatus::parse(status, None).expect("s"),
                        None,
                        None,
                        &a,
                    )
                    .await
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("declare");
        }
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 17 }
        );
    });
}

#[test]
fn a_failed_write_leaves_no_trace() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let ghost = Finess::with_check_digit("75000009").expect("valid");
        assert!(matches!(
            store
                .declare(
                    &ghost,
                    &m("END-01"),
                    &DeclaredStatus::Implemented,
                    None,
                    None,
                    &a
                )
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            store
                .add_evidence_file(&ghost, &m("END-01"), "x", b"x", &a)
                .await
                .is_err()
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM journal")
            .fetch_one(store.pool())
            .await
            .expect("count");
        let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evidence_blobs")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!((n, blobs), (0, 0));
        assert_eq!(
            store.verify_journal().await.expect("verify"),
            JournalCheck::Intact { entries: 0 }
        );
    });
}

/// A small deterministic generator for the random-writes test (no rand dependency).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// The precomputed views (current facts, per-facility summaries, kept trend points) must equal a
/// full recomputation from history after any sequence of writes, including writes dated in the
/// past, ties, recurring measures that expire, failing and passing runs, and new facilities.
#[test]
fn precomputed_views_equal_a_full_recomputation_after_random_writes() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let catalog = hygie_catalog::bundled().expect("catalogue");
        let region = Region::parse("BRE").expect("r");
        let kinds = FacilityKind::ALL;
        let mut fs: Vec<Facility> = Vec::new();
        let mut rng = Lcg(42);
        let measures: Vec<MeasureId> = catalog.measures.iter().map(|x| x.id.clone()).collect();
        let recurring: Vec<MeasureId> = catalog
            .measures
            .iter()
            .filter(|x| x.recurrence_months.is_some())
            .map(|x| x.id.clone())
            .collect();
        assert!(
            !recurring.is_empty(),
            "the catalogue has recurring measures"
        );
        let base = ts("2025-01-01T00:00:00Z").as_microsecond();
        let day = 24 * 3600 * 1_000_000i64;
        // Every checkpoint: today, a date after every fact (expiries pass), a date in the past.
        let today = date("2026-06-15");
        let dates = [today, date("2027-09-01"), date("2025-07-31")];
        let trend_dates: Vec<jiff::civil::Date> = (1..=6)
            .map(|k| {
                date("2026-06-01")
                    .checked_sub(jiff::Span::new().months(k))
                    .expect("date")
            })
            .collect();
        let mut runs = 0u64;
        for round in 0..6u64 {
            // Sometimes a new facility (of any kind, NIS 2 or not).
            for _ in 0..(if round == 0 { 4 } else { rng.below(2) }) {
                let i = fs.len();
                let mut f = facility(&format!("35{:06}", 100 + i), "BRE", kinds[i % kinds.len()]);
                f.nis2 = if i.is_multiple_of(2) {
                    Nis2Status::Essential
                } else {
                    Nis2Status::Important
                };
                f.plan_start = date(["2025-01-01", "2025-09-15", "2026-03-01"][i % 3]);
                store.add_facility(&f, false, &a).await.expect("add");
                fs.push(f);
            }
            for _ in 0..40 {
                let f = &fs[rng.below(fs.len() as u64) as usize];
                // Dated anywhere in 2025-01-01 .. 2026-06-10, often on the same instant (ties).
                let at = base + (rng.below(525) as i64) * day + (rng.below(2) as i64) * 3600;
                let at = jiff::Timestamp::from_microsecond(at).expect("instant");
                if rng.below(5) == 0 {
                    runs += 1;
                    let ms = [
                        &measures[rng.below(measures.len() as u64) as usize],
                        &recurring[0],
                    ];
                    let run = CheckRun {
                        id: format!("run-{round}-{}", rng.below(100_000) * 1000 + runs),
                        source: ["ad", "backups", "passwords"][rng.below(3) as usize].into(),
                        at,
                        results: (0..(1 + rng.below(3)))
                            .map(|k| RuleResult {
                                rule: format!("R{k}"),
                                severity: Severity::High,
                                outcome: if rng.below(3) == 0 {
                                    RuleOutcome::Fail
                                } else {
                                    RuleOutcome::Pass
                                },
                                measures: vec![ms[(k % 2) as usize].clone()],
                                objects: vec![],
                            })
                            .collect(),
                    };
                    record(&store, &f.id, &run).await;
                } else {
                    let measure = if rng.below(3) == 0 {
                        &recurring[rng.below(recurring.len() as u64) as usize]
                    } else {
                        &measures[rng.below(measures.len() as u64) as usize]
                    };
                    let status = match rng.below(5) {
                        0 => DeclaredStatus::NotStarted,
                        1 => DeclaredStatus::InProgress,
                        2 => DeclaredStatus::NotApplicable {
                            justification: "no such system".into(),
                        },
                        _ => DeclaredStatus::Implemented,
                    };
                    store
                        .declare_at(&f.id, measure, &status, None, None, &a, at)
                        .await
                        .expect("declare");
                }
            }
            for as_of in dates {
                let replayed = store
                    .region_status_from_history(&catalog, region, as_of)
                    .await
                    .expect("replayed");
                // Twice: the first read recomputes stale summaries, the second reads kept ones.
                for pass in 0..2 {
                    let view = store
                        .region_status(&catalog, region, as_of)
                        .await
                        .expect("view");
                    assert_eq!(view, replayed, "round {round}, {as_of}, pass {pass}");
                }
                for f in &fs {
                    let fast = store
                        .facility_status(&catalog, &f.id, as_of)
                        .await
                        .expect("status");
                    let full = store
                        .facility_status_from_history(&catalog, f, as_of)
                        .await
                        .expect("full");
                    assert_eq!(fast, full, "round {round}, {} on {as_of}", f.id);
                }
            }
            for f in &fs {
                for pass in 0..2 {
                    let kept = store
                        .facility_trend(&catalog, &f.id, &trend_dates)
                        .await
                        .expect("trend");
                    let mut full = Vec::new();
                    for d in &trend_dates {
                        let st = store
                            .facility_status_from_history(&catalog, f, *d)
                            .await
                            .expect("full");
                        full.push(hygie_store::TrendPoint {
                            date: *d,
                            score: st.score,
                            level_reached: st.level_reached,
                        });
                    }
                    assert_eq!(kept, full, "round {round}, trend of {}, pass {pass}", f.id);
                }
            }
        }
        // The views survive a rebuild (what a bulk load calls) unchanged.
        let before = store
            .region_status(&catalog, region, today)
            .await
            .expect("view");
        store.rebuild_views().await.expect("rebuild");
        assert_eq!(
            store
                .region_status(&catalog, region, today)
                .await
                .expect("view"),
            before
        );
    });
}

/// Journal entries of a region or a set of facilities come in one query, newest `limit`, and only
/// subjects that are one of those facilities or below one (`FINESS/...`).
#[test]
fn journal_entries_of_a_region_or_facilities() {
    on_each_backend(|store| async move {
        let a = Actor("test".into());
        let b1 = facility("35000001", "BRE", FacilityKind::Hospital);
        let b2 = facility("29000001", "BRE", FacilityKind::Clinic);
        let i1 = facility("75000001", "IDF", FacilityKind::Clinic);
        for f in [&b1, &b2, &i1] {
            store.add_facility(f, false, &a).await.expect("add");
        }
        store
            .declare(
                &b1.id,
                &m("END-01"),
                &DeclaredStatus::InProgress,
                None,
                None,
                &a,
            )
            .await
            .expect("declare");
        store
            .declare(
                &i1.id,
                &m("END-01"),
                &DeclaredStatus::InProgress,
                None,
                None,
                &a,
            )
            .await
            .expect("declare");
        // A subject that merely starts with a FINESS number is not about that facility.
        store
            .journal(&a, "other", &format!("{}x", b2.id), "{}")
            .await
            .expect("journal");
        let subjects = |v: Vec<hygie_core::journal::JournalEntry>| -> Vec<String> {
            v.into_iter().map(|e| e.subject).collect()
        };
        let bre = store
            .journal_entries_of(
                hygie_store::Facilities::Region(Region::parse("BRE").expect("r")),
                100,
            )
            .await
            .expect("region");
        assert_eq!(
            subjects(bre),
            [
                b1.id.to_string(),
                b2.id.to_string(),
                format!("{}/END-01", b1.id)
            ]
        );
        let these = store
            .journal_entries_of(
                hygie_store::Facilities::These(&[i1.id.clone(), b2.id.clone()]),
                1,
            )
            .await
            .expect("these");
        assert_eq!(subjects(these), [format!("{}/END-01", i1.id)]);
    });
}
