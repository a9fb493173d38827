//! The complaint duty (Code des assurances L.12-10-1), the evidence-preservation checklist and
//! duties of a regime not in force (NIS 2 in France), shown as anticipated, never late.

use hygie_core::{Finess, Lang, Nis2Status};
use hygie_incident::clock::rfc3339;
use hygie_incident::regimes::Regimes;
use hygie_incident::{DueKind, Duty, FactsInput, Incident, IncidentError, ObligationStatus};
use jiff::{SignedDuration, Timestamp};

fn finess() -> String {
    Finess::with_check_digit("35000001")
        .map(|f| f.to_string())
        .unwrap_or_default()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn now() -> Timestamp {
    ts("2026-11-22T10:00:00Z")
}

fn input(awareness: &str, categories: &[&str], insurance: Option<&str>) -> FactsInput {
    FactsInput {
        facility: Some(finess()),
        title: Some("Rançongiciel sur le PACS".into()),
        awareness: Some(awareness.into()),
        categories: Some(categories.iter().map(|c| c.to_string()).collect()),
        cyber_insurance: insurance.map(str::to_owned),
        ..FactsInput::default()
    }
}

fn open(i: FactsInput, nis2: Option<Nis2Status>) -> Result<Incident, IncidentError> {
    let f = i.into_facts(nis2, now())?;
    Incident::open("INC-0001", f, now())
}

fn hours_after(aw: &str, h: i64) -> Timestamp {
    ts(aw) + SignedDuration::from_hours(h)
}

#[test]
fn insured_malicious_incident_owes_a_complaint_within_72_hours_by_law() {
    let aw = "2026-05-04T09:00:00+02:00";
    let inc = open(
        input(aw, &["ransomware"], Some("Assureur X, contrat 123")),
        None,
    )
    .expect("opens");
    let o = inc.obligation(Duty::Complaint, now()).expect("complaint");
    assert!(o.required);
    assert_eq!(o.due_kind, DueKind::Legal);
    assert_eq!(
        o.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-05-07T09:00:00+02:00")
    );
    assert!(o.duty.basis().contains("L.12-10-1"));
    assert!(o.reason.en.contains("L.12-10-1") && o.reason.fr.contains("L.12-10-1"));
    assert_eq!(
        inc.obligation(Duty::Complaint, hours_after(aw, 71))
            .expect("complaint")
            .status,
        ObligationStatus::Due
    );
    assert_eq!(
        inc.obligation(Duty::Complaint, hours_after(aw, 73))
            .expect("complaint")
            .status,
        ObligationStatus::Late
    );
    let j = o.to_json(Lang::En, hours_after(aw, 80));
    assert_eq!(j["duty"], "complaint");
    // The article's text was checked (regimes.toml, its sources): no unconfirmed flag.
    assert!(j["unconfirmed"].is_null(), "{j}");
}

#[test]
fn without_insurance_the_complaint_is_a_recommendation_never_legal_late() {
    let aw = "2026-05-04T09:00:00+02:00";
    let inc = open(input(aw, &["intrusion"], None), None).expect("opens");
    let o = inc
        .obligation(Duty::Complaint, hours_after(aw, 80))
        .expect("complaint");
    assert!(o.required);
    assert_eq!(o.due_kind, DueKind::Recommendation);
    assert_eq!(o.status, ObligationStatus::Recommended);
    assert!(!o.unmet(), "a recommendation does not block closure");
    assert_eq!(
        o.remaining(hours_after(aw, 80)),
        Some(SignedDuration::from_hours(-8))
    );
    assert!(o.reason.en.contains("not a legal deadline"));
    let (_, late) = inc.due_and_late(hours_after(aw, 80)).expect("counts");
    assert_eq!(late, 2, "only the internal CISO and DPO targets are late");
}

#[test]
fn only_malicious_incidents_owe_a_complaint() {
    let aw = "2026-05-04T09:00:00+02:00";
    for (cats, flag, owed) in [
        (&["ransomware"][..], None, true),
        (&["intrusion"][..], None, true),
        (&["account_compromise"][..], None, true),
        (&["extortion"][..], None, true),
        (&["unavailability"][..], Some(true), true),
        (&["unavailability", "loss"][..], None, false),
        (&["phishing"][..], Some(false), false),
        (&[][..], None, false),
    ] {
        let mut i = input(aw, cats, Some("contrat 1"));
        i.suspected_malicious = flag;
        let inc = open(i, None).expect("opens");
        let o = inc.obligation(Duty::Complaint, now()).expect("complaint");
        assert_eq!(o.required, owed, "{cats:?} {flag:?}");
        assert_eq!(inc.evidence_checklist().is_empty(), !owed, "{cats:?}");
        if !owed {
            assert_eq!(o.status, ObligationStatus::NotRequired);
            assert!(o.reason.fr.contains("pas un acte malveillant"));
        }
    }
}

#[test]
fn awareness_just_before_the_march_change_gives_72_absolute_hours() {
    // 01:59 (+01:00) on 2026-03-29, one minute before clocks jump to 03:00.
    let inc = open(
        input("2026-03-29T01:59", &["ransomware"], Some("contrat 1")),
        None,
    )
    .expect("opens");
    let o = inc.obligation(Duty::Complaint, now()).expect("complaint");
    assert_eq!(
        o.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-04-01T02:59:00+02:00")
    );
    let (Some(s), Some(d)) = (&o.start, &o.due) else {
        panic!("start and due")
    };
    assert_eq!(
        d.timestamp().duration_since(s.timestamp()),
        SignedDuration::from_hours(72)
    );
    // And in October, just before the repeated hour: 01:59 (+02:00) + 72 h = 00:59 (+01:00).
    let inc = open(
        input("2026-10-25T01:59", &["ransomware"], Some("contrat 1")),
        None,
    )
    .expect("opens");
    let o = inc.obligation(Duty::Complaint, now()).expect("complaint");
    assert_eq!(
        o.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-10-28T00:59:00+01:00")
    );
}

#[test]
fn a_recorded_complaint_stops_the_clock() {
    let aw = "2026-05-04T09:00:00+02:00";
    let mut inc = open(input(aw, &["ransomware"], Some("contrat 1")), None).expect("opens");
    let patch = FactsInput {
        complaint_filed_at: Some("2026-05-05T15:00:00+02:00".into()),
        complaint_service: Some("Commissariat de Rennes".into()),
        complaint_reference: Some("PV 2026/1234".into()),
        ..FactsInput::default()
    };
    let changed = inc.update(&patch, now()).expect("complaint recorded");
    assert_eq!(changed, ["complaint"]);
    let o = inc
        .obligation(Duty::Complaint, hours_after(aw, 200))
        .expect("complaint");
    assert_eq!(o.status, ObligationStatus::Sent);
    assert_eq!(o.reference.as_deref(), Some("PV 2026/1234"));
    assert_eq!(o.sent_late_by, None);
    assert_eq!(o.remaining(hours_after(aw, 200)), None);
    assert_eq!(
        o.elapsed(hours_after(aw, 200)),
        Some(SignedDuration::from_hours(30))
    );
    // Filed after 72 h: sent, and late by how much.
    let mut late = open(input(aw, &["ransomware"], Some("contrat 1")), None).expect("opens");
    late.update(
        &FactsInput {
            complaint_filed_at: Some("2026-05-07T10:00:00+02:00".into()),
            complaint_service: Some("Gendarmerie".into()),
            ..FactsInput::default()
        },
        now(),
    )
    .expect("recorded");
    let o = late.obligation(Duty::Complaint, now()).expect("complaint");
    assert_eq!(o.status, ObligationStatus::Sent);
    assert_eq!(o.sent_late_by, Some(SignedDuration::from_hours(1)));
    // A complaint needs its service, and cannot precede awareness.
    let mut inc2 = open(input(aw, &["ransomware"], None), None).expect("opens");
    let no_service = FactsInput {
        complaint_filed_at: Some("2026-05-05T15:00:00+02:00".into()),
        ..FactsInput::default()
    };
    assert!(inc2.update(&no_service, now()).is_err());
    let before = FactsInput {
        complaint_filed_at: Some("2026-05-03T15:00:00+02:00".into()),
        complaint_service: Some("Gendarmerie".into()),
        ..FactsInput::default()
    };
    assert!(matches!(
        inc2.update(&before, now()),
        Err(IncidentError::Chronology(_))
    ));
}

#[test]
fn drafts_say_whether_a_complaint_was_filed_and_the_letter_marks_what_is_missing() {
    let aw = "2026-05-04T09:00:00+02:00";
    let mut i = input(aw, &["ransomware"], Some("contrat 1"));
    i.serious = Some(true);
    i.personal_data_breach = Some("risk".into());
    let mut inc = open(i, None).expect("opens");
    let cert = hygie_incident::draft::draft(&inc, Duty::CertSante, Lang::Fr, now())
        .expect("draft")
        .to_markdown();
    assert!(
        cert.contains("Plainte déposée") && cert.contains("Pas encore"),
        "{cert}"
    );
    inc.update(
        &FactsInput {
            complaint_filed_at: Some("2026-05-05T15:00:00+02:00".into()),
            complaint_service: Some("Commissariat de Rennes".into()),
            ..FactsInput::default()
        },
        now(),
    )
    .expect("recorded");
    for duty in [Duty::CertSante, Duty::Cnil] {
        let md = hygie_incident::draft::draft(&inc, duty, Lang::Fr, now())
            .expect("draft")
            .to_markdown();
        assert!(
            md.contains("Oui, le 2026-05-05T15:00:00+02:00 auprès de Commissariat de Rennes"),
            "{md}"
        );
    }
    inc.tick_evidence(
        "keep_powered",
        "J. Martin (technicien)",
        ts("2026-05-04T09:30:00Z").to_zoned(inc.facts.tz().expect("tz")),
        None,
        now(),
    )
    .expect("ticked");
    let letter =
        hygie_incident::draft::draft(&inc, Duty::Complaint, Lang::Fr, now()).expect("draft");
    let md = letter.to_markdown();
    for needle in [
        "Plainte contre X",
        "323-1",
        "[À compléter]",
        "Fait par J. Martin (technicien)",
        "Parquet de Paris",
        "L.12-10-1",
    ] {
        assert!(md.contains(needle), "{needle}: {md}");
    }
    let html = letter.to_html();
    assert!(html.contains("Plainte contre X") && html.contains("[À compléter]"));
}

#[test]
fn evidence_ticks_say_who_and_when_and_refuse_nonsense() {
    let aw = "2026-05-04T09:00:00+02:00";
    let mut inc = open(input(aw, &["intrusion"], None), None).expect("opens");
    let tz = inc.facts.tz().expect("tz");
    let at = ts("2026-05-04T08:00:00Z").to_zoned(tz.clone());
    inc.tick_evidence(
        "isolate_network",
        "RSSI",
        at.clone(),
        Some("switch port 12".into()),
        now(),
    )
    .expect("ticked");
    let lines = inc.evidence_checklist();
    let l = lines
        .iter()
        .find(|l| l.item.id == "isolate_network")
        .expect("line");
    assert_eq!(l.tick.map(|t| t.by.as_str()), Some("RSSI"));
    assert_eq!(lines.iter().filter(|l| l.tick.is_some()).count(), 1);
    assert!(
        inc.tick_evidence("nope", "RSSI", at.clone(), None, now())
            .is_err()
    );
    assert!(
        inc.tick_evidence("keep_powered", " ", at.clone(), None, now())
            .is_err()
    );
    let early = ts("2026-05-01T08:00:00Z").to_zoned(tz.clone());
    assert!(
        inc.tick_evidence("keep_powered", "RSSI", early, None, now())
            .is_err()
    );
    let future = (now() + SignedDuration::from_hours(1)).to_zoned(tz);
    assert!(
        inc.tick_evidence("keep_powered", "RSSI", future, None, now())
            .is_err()
    );
    let mut benign = open(input(aw, &["loss"], None), None).expect("opens");
    assert!(matches!(
        benign.tick_evidence("keep_powered", "RSSI", at, None, now()),
        Err(IncidentError::Transition(_))
    ));
}

#[test]
fn nis2_duties_are_anticipated_not_late_while_the_law_is_not_in_force() {
    let aw = "2026-05-04T09:00:00+02:00";
    let mut i = input(aw, &[], None);
    i.nis2_significant = Some(true);
    let mut inc = open(i, Some(Nis2Status::Essential)).expect("opens");
    let at = hours_after(aw, 100);
    let nis2 = [
        Duty::Nis2EarlyWarning,
        Duty::Nis2Notification,
        Duty::Nis2Final,
        Duty::Nis2Progress,
    ];
    for d in nis2 {
        let o = inc.obligation(d, at).expect("nis2");
        assert!(o.required, "{d}");
        assert_eq!(o.status, ObligationStatus::Anticipated, "{d}");
        let why = o.anticipated.as_ref().expect("why anticipated");
        assert!(
            why.en.contains("not in force") && why.fr.contains("non en vigueur"),
            "{d}"
        );
        assert_eq!(o.to_json(Lang::En, at)["status"], "anticipated");
    }
    let (_, late) = inc.due_and_late(at).expect("counts");
    assert_eq!(late, 2, "only the internal targets");
    // The administrator records the law in force before the incident: due and late as before.
    inc.regimes = Regimes::default()
        .with_in_force("nis2_fr", Some(jiff::civil::date(2026, 1, 1)), "admin")
        .expect("regime");
    assert_eq!(
        inc.obligation(Duty::Nis2EarlyWarning, hours_after(aw, 23))
            .expect("ew")
            .status,
        ObligationStatus::Due
    );
    for d in [Duty::Nis2EarlyWarning, Duty::Nis2Notification] {
        assert_eq!(
            inc.obligation(d, at).expect("nis2").status,
            ObligationStatus::Late,
            "{d}"
        );
    }
    // In force only after the incident became known: still anticipated (no retroactivity).
    inc.regimes = Regimes::default()
        .with_in_force("nis2_fr", Some(jiff::civil::date(2026, 6, 1)), "admin")
        .expect("regime");
    assert_eq!(
        inc.obligation(Duty::Nis2Notification, at)
            .expect("nis2")
            .status,
        ObligationStatus::Anticipated
    );
}
