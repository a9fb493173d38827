//! Obligations for each combination of facts, clocks across DST, property tests, refusals.

use hygie_core::{Finess, Lang, Nis2Status};
use hygie_incident::clock::{self, rfc3339};
use hygie_incident::{
    Duty, FactsInput, Incident, IncidentError, IncidentStatus, ObligationStatus, Phase,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

fn finess() -> String {
    Finess::with_check_digit("35000001")
        .map(|f| f.to_string())
        .unwrap_or_default()
}

fn now() -> Timestamp {
    "2026-11-22T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn input(awareness: &str) -> FactsInput {
    FactsInput {
        facility: Some(finess()),
        title: Some("Rançongiciel sur le PACS".into()),
        awareness: Some(awareness.into()),
        ..FactsInput::default()
    }
}

fn open(i: FactsInput, nis2: Option<Nis2Status>) -> Result<Incident, IncidentError> {
    let f = i.into_facts(nis2, now())?;
    Incident::open("INC-0001", f, now())
}

fn required(inc: &Incident, at: Timestamp) -> Vec<&'static str> {
    inc.obligations(at)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.required)
        .map(|o| o.duty.as_str())
        .collect()
}

struct Case {
    name: &'static str,
    serious: bool,
    impact: &'static [&'static str],
    breach: &'static str,
    nis2: Nis2Status,
    significant: bool,
    expected: &'static [&'static str],
}

const INTERNAL: [&str; 2] = ["internal_ciso", "internal_dpo"];

#[test]
fn obligations_for_each_combination_of_facts() {
    let cases = [
        Case {
            name: "nothing notable",
            serious: false,
            impact: &[],
            breach: "none",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &[],
        },
        Case {
            name: "serious incident only",
            serious: true,
            impact: &[],
            breach: "none",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &["cert_sante", "cert_sante_resolution"],
        },
        Case {
            name: "a D.1111-16-2 criterion alone makes it reportable",
            serious: false,
            impact: &["patient_safety"],
            breach: "none",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &["cert_sante", "cert_sante_resolution"],
        },
        Case {
            name: "breach unlikely to result in a risk: register only",
            serious: false,
            impact: &[],
            breach: "unlikely",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &["breach_register"],
        },
        Case {
            name: "breach with a risk, not high",
            serious: false,
            impact: &[],
            breach: "risk",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &["cnil", "breach_register"],
        },
        Case {
            name: "breach with a high risk",
            serious: false,
            impact: &[],
            breach: "high",
            nis2: Nis2Status::OutOfScope,
            significant: false,
            expected: &["cnil", "data_subjects", "breach_register"],
        },
        Case {
            name: "NIS 2 essential entity, significant incident",
            serious: false,
            impact: &[],
            breach: "none",
            nis2: Nis2Status::Essential,
            significant: true,
            expected: &[
                "nis2_early_warning",
                "nis2_notification",
                "nis2_final",
                "nis2_progress",
            ],
        },
        Case {
            name: "NIS 2 essential entity, incident not significant",
            serious: false,
            impact: &[],
            breach: "none",
            nis2: Nis2Status::Essential,
            significant: false,
            expected: &[],
        },
        Case {
            name: "significant incident at an entity out of NIS 2 scope",
            serious: false,
            impact: &[],
            breach: "none",
            nis2: Nis2Status::OutOfScope,
            significant: true,
            expected: &[],
        },
        Case {
            name: "all at once",
            serious: true,
            impact: &["health_data", "normal_functioning"],
            breach: "high",
            nis2: Nis2Status::Essential,
            significant: true,
            expected: &[
                "cert_sante",
                "cert_sante_resolution",
                "cnil",
                "data_subjects",
                "breach_register",
                "nis2_early_warning",
                "nis2_notification",
                "nis2_final",
                "nis2_progress",
            ],
        },
    ];
    for c in cases {
        let mut i = input("2026-05-04T09:00:00+02:00");
        i.serious = Some(c.serious);
        i.impact = Some(c.impact.iter().map(|s| s.to_string()).collect());
        i.personal_data_breach = Some(c.breach.into());
        i.nis2_significant = Some(c.significant);
        let inc = match open(i, Some(c.nis2)) {
            Ok(i) => i,
            Err(e) => panic!("{}: {e}", c.name),
        };
        let mut expected: Vec<&str> = INTERNAL.to_vec();
        expected.extend_from_slice(c.expected);
        let mut got = required(&inc, now());
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "case: {}", c.name);
        // Every duty appears exactly once, and every not-required one says why.
        let obs = inc.obligations(now()).unwrap_or_default();
        assert_eq!(obs.len(), Duty::ALL.len(), "{}", c.name);
        for o in &obs {
            assert!(
                !(o.reason.en.is_empty() || o.reason.fr.is_empty()),
                "{}: {} has no reason",
                c.name,
                o.duty
            );
            // The reason is shown in the user's language: the French one is a translation.
            assert_ne!(
                o.reason.en, o.reason.fr,
                "{}: {} untranslated",
                c.name, o.duty
            );
            if !o.required {
                assert_eq!(o.status, ObligationStatus::NotRequired);
                assert!(o.due.is_none());
            }
        }
    }
}

#[test]
fn high_risk_breach_at_nis2_essential_entity_has_exact_due_times() {
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.serious = Some(true);
    i.personal_data_breach = Some("high".into());
    i.nis2_significant = Some(true);
    let inc = open(i, Some(Nis2Status::Essential)).expect("opens");
    let due = |d: Duty| {
        inc.obligation(d, now())
            .ok()
            .and_then(|o| o.due.as_ref().map(rfc3339))
            .unwrap_or_default()
    };
    assert_eq!(due(Duty::CertSante), "2026-05-05T09:00:00+02:00");
    assert_eq!(due(Duty::Cnil), "2026-05-07T09:00:00+02:00");
    assert_eq!(due(Duty::DataSubjects), "2026-05-07T09:00:00+02:00");
    assert_eq!(due(Duty::Nis2EarlyWarning), "2026-05-05T09:00:00+02:00");
    assert_eq!(due(Duty::Nis2Notification), "2026-05-07T09:00:00+02:00");
    // One calendar month after the notification's due time while it is not sent.
    assert_eq!(due(Duty::Nis2Final), "2026-06-07T09:00:00+02:00");
    assert_eq!(due(Duty::InternalCiso), "2026-05-04T10:00:00+02:00");
    // `now` is long after: everything unsent is late.
    let o = inc.obligation(Duty::Cnil, now()).expect("cnil");
    assert_eq!(o.status, ObligationStatus::Late);
    assert_eq!(o.basis_str(), "GDPR art. 33(1) and 33(4)");
}

trait Basis {
    fn basis_str(&self) -> &'static str;
}
impl Basis for hygie_incident::Obligation {
    fn basis_str(&self) -> &'static str {
        self.duty.basis()
    }
}

#[test]
fn march_transition_72h_is_absolute() {
    // 01:30 is before the 02:00 → 03:00 jump on 2026-03-29: +01:00.
    let mut i = input("2026-03-29T01:30");
    i.personal_data_breach = Some("risk".into());
    i.nis2_significant = Some(true);
    let inc = open(i, Some(Nis2Status::Essential)).expect("opens");
    assert_eq!(rfc3339(&inc.facts.awareness), "2026-03-29T01:30:00+01:00");
    let cnil = inc.obligation(Duty::Cnil, now()).expect("cnil");
    // 72 absolute hours: 00:30Z + 72 h = 2026-04-01T00:30Z = 02:30 in summer time.
    assert_eq!(
        cnil.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-04-01T02:30:00+02:00")
    );
    let ew = inc.obligation(Duty::Nis2EarlyWarning, now()).expect("ew");
    assert_eq!(
        ew.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-03-30T02:30:00+02:00")
    );
    let (Some(s), Some(d)) = (cnil.start.as_ref(), cnil.due.as_ref()) else {
        panic!("start and due")
    };
    assert_eq!(
        d.timestamp().duration_since(s.timestamp()),
        SignedDuration::from_hours(72)
    );
}

#[test]
fn october_ambiguous_hour_is_refused_without_offset_and_exact_with_one() {
    let i = input("2026-10-25T02:30");
    let e = open(i, Some(Nis2Status::Essential))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("awareness") && e.contains("ambiguous"), "{e}");

    // First occurrence (summer time, +02:00) = 00:30Z; second (winter time, +01:00) = 01:30Z.
    for (awareness, cnil_due) in [
        ("2026-10-25T02:30:00+02:00", "2026-10-28T01:30:00+01:00"),
        ("2026-10-25T02:30:00+01:00", "2026-10-28T02:30:00+01:00"),
    ] {
        let mut i = input(awareness);
        i.personal_data_breach = Some("risk".into());
        let inc = open(i, None).expect("opens");
        let due = inc
            .obligation(Duty::Cnil, now())
            .ok()
            .and_then(|o| o.due.as_ref().map(rfc3339));
        assert_eq!(due.as_deref(), Some(cnil_due), "aware at {awareness}");
    }

    // The skipped hour in March does not exist.
    let e = open(input("2026-03-29T02:30"), None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn final_report_counts_from_the_notification_as_sent() {
    let mut i = input("2026-01-30T10:00:00+01:00");
    i.nis2_significant = Some(true);
    let mut inc = open(i, Some(Nis2Status::Important)).expect("opens");
    let at = clock::parse_instant(
        "at",
        "2026-01-31T12:00:00+01:00",
        &inc.facts.tz().expect("tz"),
    )
    .expect("t");
    send(
        &mut inc,
        Duty::Nis2EarlyWarning,
        at.clone(),
        None,
        Phase::Initial,
    )
    .expect("early warning");
    send(
        &mut inc,
        Duty::Nis2Notification,
        at,
        Some("ANSSI-1"),
        Phase::Initial,
    )
    .expect("notification");
    let f = inc.obligation(Duty::Nis2Final, now()).expect("final");
    // 31 January + one calendar month is clamped to 28 February.
    assert_eq!(
        f.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-02-28T12:00:00+01:00")
    );
    // The re-derivation was logged with its cause.
    assert!(
        inc.obligation_log
            .iter()
            .any(|e| e.duty == Duty::Nis2Final && e.cause == "notify: nis2_notification")
    );
}

#[test]
fn progress_report_then_final_after_end_of_handling() {
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.nis2_significant = Some(true);
    let mut inc = open(i, Some(Nis2Status::Essential)).expect("opens");
    let tz = inc.facts.tz().expect("tz");
    let t = |s: &str| clock::parse_instant("t", s, &tz).expect("time");
    send(
        &mut inc,
        Duty::Nis2Notification,
        t("2026-05-06T09:00:00+02:00"),
        None,
        Phase::Initial,
    )
    .expect("n");
    send(
        &mut inc,
        Duty::Nis2Progress,
        t("2026-06-05T09:00:00+02:00"),
        None,
        Phase::Initial,
    )
    .expect("p");
    let f = inc.obligation(Duty::Nis2Final, now()).expect("final");
    assert!(
        f.due.is_none(),
        "unresolved: final due one month after end of handling"
    );
    let patch = FactsInput {
        resolved_at: Some("2026-07-10T18:00:00+02:00".into()),
        ..FactsInput::default()
    };
    inc.update(&patch, now()).expect("resolve");
    let f = inc.obligation(Duty::Nis2Final, now()).expect("final");
    assert_eq!(
        f.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-08-10T18:00:00+02:00")
    );
}

#[test]
fn discovering_personal_data_later_adds_duties_and_keeps_why() {
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.serious = Some(true);
    let mut inc = open(i, Some(Nis2Status::OutOfScope)).expect("opens");
    assert!(!required(&inc, now()).contains(&"cnil"));
    let first = inc
        .obligation_log
        .iter()
        .filter(|e| e.duty == Duty::Cnil)
        .count();
    assert_eq!(first, 1);
    let patch = FactsInput {
        personal_data_breach: Some("high".into()),
        ..FactsInput::default()
    };
    let changed = inc.update(&patch, now()).expect("update");
    assert_eq!(changed, vec!["personal_data_breach".to_string()]);
    assert!(required(&inc, now()).contains(&"cnil"));
    let cnil: Vec<_> = inc
        .obligation_log
        .iter()
        .filter(|e| e.duty == Duty::Cnil)
        .collect();
    assert_eq!(cnil.len(), 2);
    assert!(!cnil[0].required && cnil[0].reason.contains("no personal-data breach"));
    assert!(cnil[1].required && cnil[1].cause == "update: personal_data_breach");
    // A GDPR 34(3) exemption removes the data-subject duty, with its ground.
    let patch = FactsInput {
        gdpr34_exemption: Some("data encrypted (AES-256), key not compromised".into()),
        ..FactsInput::default()
    };
    inc.update(&patch, now()).expect("update");
    let ds = inc.obligation(Duty::DataSubjects, now()).expect("ds");
    assert!(!ds.required && ds.reason.en.contains("34(3)") && ds.reason.fr.contains("34(3)"));
}

#[test]
fn cert_sante_target_is_configurable() {
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.serious = Some(true);
    i.cert_sante_target = Some("4h".into());
    let inc = open(i, None).expect("opens");
    let o = inc.obligation(Duty::CertSante, now()).expect("cert");
    assert_eq!(
        o.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-05-04T13:00:00+02:00")
    );
    assert!(
        o.reason.en.contains("sans délai")
            && o.reason.en.contains("4 h")
            && o.reason.fr.contains("4 h")
    );
    let early = "2026-05-04T10:00:00+02:00"
        .parse::<Timestamp>()
        .expect("ts");
    let o = inc.obligation(Duty::CertSante, early).expect("cert");
    assert_eq!(o.status, ObligationStatus::Due);
    assert_eq!(o.elapsed(early), Some(SignedDuration::from_hours(1)));
    assert_eq!(o.remaining(early), Some(SignedDuration::from_hours(3)));
    // Before its start, a clock shows no elapsed time (not a negative one).
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.nis2_significant = Some(true);
    let inc = open(i, Some(Nis2Status::Essential)).expect("opens");
    let f = inc.obligation(Duty::Nis2Final, early).expect("final");
    assert_eq!(f.elapsed(early), None);
    assert!(
        f.remaining(early)
            .is_some_and(|r| r > SignedDuration::from_hours(24 * 30))
    );
}

/// Record a sending as these tests do: in French, with no late reason, at `now()`.
fn send(
    inc: &mut Incident,
    duty: Duty,
    at: jiff::Zoned,
    reference: Option<&str>,
    phase: Phase,
) -> Result<(), IncidentError> {
    inc.record_sending(
        duty,
        at,
        reference.map(str::to_owned),
        phase,
        Lang::Fr,
        None,
        "x".into(),
        now(),
    )
}

fn message(r: Result<impl std::fmt::Debug, IncidentError>) -> String {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn impossible_times_and_invalid_transitions_are_refused() {
    // Awareness before occurrence.
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.occurrence = Some("2026-05-04T10:00:00+02:00".into());
    let m = message(open(i, None));
    assert!(
        m.contains("awareness") && m.contains("before occurrence"),
        "{m}"
    );
    // Awareness in the future.
    let m = message(open(input("2027-01-01T00:00:00Z"), None));
    assert!(m.contains("future"), "{m}");
    // Missing required keys.
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.title = None;
    assert!(message(open(i, None)).contains("title"));

    let mut i = input("2026-05-04T09:00:00+02:00");
    i.personal_data_breach = Some("risk".into());
    let mut inc = open(i, None).expect("opens");
    let tz = inc.facts.tz().expect("tz");
    let t = |s: &str| clock::parse_instant("t", s, &tz).expect("time");
    // Refused sendings: (duty, sent at, what the refusal must say).
    let refused: [(Duty, &str, &[&str]); 4] = [
        // Sent before awareness.
        (
            Duty::Cnil,
            "2026-05-04T08:00:00+02:00",
            &["before awareness"],
        ),
        // Sent in the future.
        (Duty::Cnil, "2026-12-01T08:00:00+01:00", &["future"]),
        // Late CNIL notification without reasons.
        (
            Duty::Cnil,
            "2026-05-08T09:00:00+02:00",
            &["late_reason", "33(1)"],
        ),
        // A duty that does not apply.
        (
            Duty::CertSante,
            "2026-05-04T10:00:00+02:00",
            &["not required"],
        ),
    ];
    for (duty, at, needles) in refused {
        let m = message(send(&mut inc, duty, t(at), None, Phase::Initial));
        assert!(needles.iter().all(|n| m.contains(n)), "{duty} at {at}: {m}");
    }
    // Sent in time, then a complement (phased), but not a second initial.
    send(
        &mut inc,
        Duty::Cnil,
        t("2026-05-05T09:00:00+02:00"),
        Some("CNIL-42"),
        Phase::Initial,
    )
    .expect("cnil");
    assert!(
        message(send(
            &mut inc,
            Duty::Cnil,
            t("2026-05-06T09:00:00+02:00"),
            None,
            Phase::Initial
        ))
        .contains("already sent")
    );
    send(
        &mut inc,
        Duty::Cnil,
        t("2026-05-09T09:00:00+02:00"),
        None,
        Phase::Complement,
    )
    .expect("complement");
    let o = inc.obligation(Duty::Cnil, now()).expect("cnil");
    assert_eq!(o.status, ObligationStatus::Sent);
    assert_eq!(o.reference.as_deref(), Some("CNIL-42"));
    assert_eq!(inc.sendings.len(), 2);
    // Moving awareness after a sending is refused.
    let patch = FactsInput {
        awareness: Some("2026-05-05T12:00:00+02:00".into()),
        ..FactsInput::default()
    };
    assert!(message(inc.update(&patch, now())).contains("after the cnil notification"));
    // Status goes forward only.
    inc.set_status(IncidentStatus::Resolved, now())
        .expect("resolve");
    let m = message(inc.set_status(IncidentStatus::Open, now()));
    assert!(m.contains("cannot go back"), "{m}");
    // Closing with unmet obligations needs a justification.
    let m = message(inc.close(None, now()));
    assert!(m.contains("unmet") && m.contains("internal_ciso"), "{m}");
    let unmet = inc
        .close(
            Some("DPO and CISO were on the crisis call; register kept on paper".into()),
            now(),
        )
        .expect("close");
    assert!(unmet.contains(&Duty::InternalDpo));
    assert_eq!(inc.status, IncidentStatus::Closed);
    // Nothing changes a closed incident.
    assert!(
        message(inc.update(
            &FactsInput {
                title: Some("x".into()),
                ..FactsInput::default()
            },
            now()
        ))
        .contains("closed")
    );
    assert!(message(inc.close(Some("again".into()), now())).contains("closed"));
}

#[test]
fn drafts_carry_the_required_fields_in_both_languages() {
    let mut i = input("2026-05-04T09:00:00+02:00");
    i.serious = Some(true);
    i.personal_data_breach = Some("high".into());
    i.people_categories = Some(vec!["patients".into()]);
    i.people_count = Some(1200);
    i.record_categories = Some(vec!["dossiers d'imagerie".into()]);
    i.dpo_contact = Some("dpo@chu.test".into());
    i.consequences = Some("Divulgation de données de santé".into());
    i.facility_name = Some("CHU <Test>".into());
    let inc = open(i, None).expect("opens");
    let d = hygie_incident::draft::draft(&inc, Duty::Cnil, Lang::Fr, now()).expect("draft");
    let md = d.to_markdown();
    for needle in [
        "Nature de la violation",
        "Catégories de personnes concernées | patients",
        "environ 1200",
        "dpo@chu.test",
        "Conséquences probables | Divulgation",
        "Mesures proposées",
        "Nombre approximatif d'enregistrements | [À compléter]",
        "RGPD art. 33.4",
        "Motifs du retard",
    ] {
        assert!(md.contains(needle), "missing {needle} in\n{md}");
    }
    let html = d.to_html();
    assert!(html.contains("CHU &lt;Test&gt;") && !html.contains("CHU <Test>"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    let en = hygie_incident::draft::draft(&inc, Duty::CertSante, Lang::En, now()).expect("draft");
    let md = en.to_markdown();
    assert!(
        md.contains("Potential or actual consequences on patient safety | No"),
        "{md}"
    );
    assert!(
        md.contains("Qualified as significant or serious | Yes"),
        "{md}"
    );
    let ew =
        hygie_incident::draft::draft(&inc, Duty::Nis2EarlyWarning, Lang::Fr, now()).expect("draft");
    assert!(
        ew.to_markdown()
            .contains("Acte illicite ou malveillant suspecté")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any instant and any zone, legal durations are exact in absolute time.
    #[test]
    fn due_minus_start_is_the_legal_duration(
        secs in 1_577_836_800i64..1_893_456_000i64, // 2020 .. 2030
        zone in prop::sample::select(vec!["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "UTC", "Indian/Reunion", "America/Cayenne"]),
    ) {
        let ts = Timestamp::from_second(secs).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let tz = clock::zone("tz", zone).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let aw = ts.to_zoned(tz);
        let facts_now = Timestamp::from_second(1_900_000_000).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut i = input(&aw.to_string());
        i.serious = Some(true);
        i.personal_data_breach = Some("high".into());
        i.nis2_significant = Some(true);
        i.timezone = Some(zone.into());
        i.categories = Some(vec!["ransomware".into()]);
        let f = i.into_facts(Some(Nis2Status::Essential), facts_now).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let inc = Incident::open("P", f, facts_now).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(inc.facts.awareness.timestamp(), ts);
        for o in inc.obligations(facts_now).map_err(|e| TestCaseError::fail(e.to_string()))? {
            let hours = match o.duty {
                Duty::Cnil | Duty::Nis2Notification | Duty::DataSubjects | Duty::BreachRegister | Duty::Complaint => 72,
                Duty::Nis2EarlyWarning | Duty::CertSante => 24,
                Duty::InternalCiso | Duty::InternalDpo => 1,
                Duty::Nis2Final | Duty::Nis2Progress => {
                    // One calendar month in the zone: same wall-clock date one month on.
                    let (Some(s), Some(d)) = (&o.start, &o.due) else { continue };
                    let expected = s.date().checked_add(jiff::Span::new().months(1)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(d.date(), expected);
                    continue;
                }
                // Starts at the resolution, not at awareness (checked in tests/complaint.rs).
                Duty::Nis2Intermediate | Duty::CertSanteResolution => continue,
            };
            let (Some(s), Some(d)) = (&o.start, &o.due) else {
                return Err(TestCaseError::fail(format!("{} has no start/due", o.duty)));
            };
            prop_assert_eq!(d.timestamp().duration_since(s.timestamp()), SignedDuration::from_hours(hours), "{}", o.duty);
            prop_assert_eq!(s.timestamp(), ts);
            // The RFC 3339 rendering round-trips to the same instant.
            let back: Timestamp = rfc3339(d).parse().map_err(|e: jiff::Error| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, d.timestamp());
        }
    }

    /// Local wall-clock input either resolves to exactly that wall-clock time or is refused
    /// (gap or fold); it is never silently shifted.
    #[test]
    fn local_input_is_exact_or_refused(secs in 1_577_836_800i64..1_893_456_000i64) {
        let tz = clock::zone("tz", "Europe/Paris").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ts = Timestamp::from_second(secs).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let local = ts.to_zoned(tz.clone()).datetime();
        let text = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        match clock::parse_instant("t", &text, &tz) {
            Ok(z) => {
                prop_assert_eq!(z.datetime(), local);
                prop_assert!(!tz.to_ambiguous_zoned(local).is_ambiguous());
            }
            Err(_) => prop_assert!(tz.to_ambiguous_zoned(local).is_ambiguous()),
        }
    }
}
