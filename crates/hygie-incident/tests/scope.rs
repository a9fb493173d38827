//! Which facilities owe each duty (the catalogue's `applies_to`), the CERT Santé resolution
//! duty (D.1111-16-3), and "sans délai" shown as the law words it beside Hygie's target.

use hygie_core::{FacilityKind, Finess, Lang};
use hygie_incident::clock::rfc3339;
use hygie_incident::{Duty, FactsInput, Incident, ObligationStatus};
use jiff::Timestamp;

fn now() -> Timestamp {
    "2026-11-22T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn open(kind: Option<FacilityKind>, resolved: Option<&str>) -> Incident {
    let i = FactsInput {
        facility: Finess::with_check_digit("35000001")
            .map(|f| f.to_string())
            .ok(),
        title: Some("Panne du PACS".into()),
        awareness: Some("2026-05-04T09:00:00+02:00".into()),
        serious: Some(true),
        resolved_at: resolved.map(str::to_owned),
        ..FactsInput::default()
    };
    let mut f = i.into_facts(None, now()).expect("facts");
    f.facility_kind = kind;
    Incident::open("INC-1", f, now()).expect("opens")
}

#[test]
fn imaging_centres_do_not_owe_the_cert_sante_duties_as_inc_02_says() {
    for (kind, owed) in [
        (Some(FacilityKind::Hospital), true),
        (Some(FacilityKind::Radiotherapy), true),
        (Some(FacilityKind::Imaging), false),
        (None, true),
    ] {
        let inc = open(kind, None);
        for d in [Duty::CertSante, Duty::CertSanteResolution] {
            let o = inc.obligation(d, now()).expect("duty");
            assert_eq!(o.required, owed, "{kind:?} {d}");
            if !owed {
                assert!(o.reason.en.contains("INC-02") && o.reason.fr.contains("INC-02"));
                assert_eq!(o.status, ObligationStatus::NotRequired);
            }
        }
        // The internal duties (INC-01) apply to every kind.
        assert!(
            inc.obligation(Duty::InternalCiso, now())
                .expect("ciso")
                .required
        );
    }
}

#[test]
fn cert_sante_is_informed_of_the_resolution() {
    let inc = open(Some(FacilityKind::Hospital), None);
    let o = inc
        .obligation(Duty::CertSanteResolution, now())
        .expect("duty");
    assert!(o.required);
    assert_eq!(o.due, None, "no clock before the resolution");
    assert_eq!(o.status, ObligationStatus::Due);
    let inc = open(
        Some(FacilityKind::Hospital),
        Some("2026-05-10T18:00:00+02:00"),
    );
    let o = inc
        .obligation(Duty::CertSanteResolution, now())
        .expect("duty");
    assert_eq!(
        o.due.as_ref().map(rfc3339).as_deref(),
        Some("2026-05-11T18:00:00+02:00")
    );
    assert_eq!(o.status, ObligationStatus::Late);
    assert!(o.duty.basis().contains("D.1111-16-3"));
    let md = hygie_incident::draft::draft(&inc, Duty::CertSanteResolution, Lang::Fr, now())
        .expect("draft")
        .to_markdown();
    assert!(md.contains("Fin du traitement") && md.contains("2026-05-10T18:00:00+02:00"));
}

#[test]
fn sans_delai_is_shown_as_such_with_the_internal_target_beside() {
    let inc = open(Some(FacilityKind::Hospital), None);
    let o = inc.obligation(Duty::CertSante, now()).expect("duty");
    let row = o.row(Lang::Fr, now());
    assert_eq!(row[3], "sans délai (objectif 2026-05-05T09:00:00+02:00)");
    let row = o.row(Lang::En, now());
    assert_eq!(row[3], "without delay (target 2026-05-05T09:00:00+02:00)");
    let j = o.to_json(Lang::Fr, now());
    assert_eq!(j["legal_deadline"], "sans délai");
    assert_eq!(j["due_kind"], "internal_target");
    // A figure fixed by law has no such words.
    let cnil = inc.obligation(Duty::Cnil, now()).expect("cnil");
    assert!(cnil.to_json(Lang::Fr, now())["legal_deadline"].is_null());
}
