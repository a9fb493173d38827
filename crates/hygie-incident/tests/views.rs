//! The views moved out of the `hygie` binary: the breach register, the reminder list, the
//! incident file and the record's integrity check, all computed at a given `now`.

use hygie_core::journal::JournalEntry;
use hygie_core::{Finess, Lang};
use hygie_incident::{FactsInput, Incident, Register, due, export, integrity};
use jiff::{SignedDuration, Timestamp};

fn finess() -> Finess {
    Finess::with_check_digit("35000001").unwrap_or_else(|e| panic!("{e:?}"))
}

fn now() -> Timestamp {
    "2026-11-22T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn incident(id: &str, title: &str, breach: &str, awareness: &str) -> Incident {
    let input = FactsInput {
        facility: Some(finess().to_string()),
        title: Some(title.into()),
        awareness: Some(awareness.into()),
        personal_data_breach: Some(breach.into()),
        consequences: Some("Dossiers \"patients\" exposés".into()),
        ..FactsInput::default()
    };
    let facts = input
        .into_facts(None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    Incident::open(id, facts, now()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_register_lists_personal_data_breaches_only_in_the_readers_language() {
    let incs = [
        incident(
            "INC-1",
            "Fuite de données",
            "high",
            "2026-11-22T08:00:00+01:00",
        ),
        incident("INC-2", "Panne", "none", "2026-11-22T08:00:00+01:00"),
    ];
    let fr = Register::new(&finess(), "CH Test", &incs, Lang::Fr, now()).expect("register");
    assert_eq!(fr.entries.len(), 1);
    assert_eq!(fr.entries[0]["incident"], "INC-1");
    assert!(
        fr.title().starts_with("Registre des violations"),
        "{}",
        fr.title()
    );
    assert!(fr.headers().contains(&"Personnes informées"));
    let rows = fr.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), fr.headers().len());
    // A cell holding quotes is quoted, inner quotes doubled.
    let csv = fr.to_csv();
    assert!(
        csv.contains("\"Dossiers \"\"patients\"\" exposés\""),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);
    let en = Register::new(&finess(), "CH Test", &incs, Lang::En, now()).expect("register");
    assert!(en.title().starts_with("Personal-data breach register"));
    assert!(en.to_html().contains("<th>Data subjects</th>"));
    assert!(
        en.to_markdown()
            .starts_with("# Personal-data breach register")
    );
    assert_eq!(en.to_json()["basis"], "GDPR art. 33(5)");
}

#[test]
fn a_register_cell_that_starts_like_a_formula_is_neutralised_in_csv() {
    let mut inc = incident(
        "INC-1",
        "=HYPERLINK(\"http://x\")",
        "high",
        "2026-11-22T08:00:00+01:00",
    );
    inc.facts.consequences = Some("+33 patients".into());
    let reg = Register::new(&finess(), "CH Test", &[inc], Lang::En, now()).expect("register");
    let csv = reg.to_csv();
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let row = rows
        .records()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("one entry: {csv}"));
    assert_eq!(&row[2], "'=HYPERLINK(\"http://x\")", "{csv}");
    assert_eq!(&row[6], "'+33 patients", "{csv}");
    assert_eq!(&row[0], "INC-1");
}

#[test]
fn the_reminder_list_holds_late_and_soon_due_obligations_soonest_first() {
    let incs = [incident(
        "INC-1",
        "Rançongiciel",
        "high",
        "2026-11-19T08:00:00+01:00",
    )];
    let horizon = now()
        .checked_add(SignedDuration::from_hours(24))
        .expect("horizon");
    let list = due::due_within(&incs, now(), horizon).expect("due");
    assert!(list.late > 0, "the CNIL's 72 h have passed");
    assert_eq!(
        list.late,
        incs[0].due_and_late(now()).expect("counts").1,
        "the list and the incident agree on what is late"
    );
    let dues: Vec<_> = list
        .items
        .iter()
        .map(|i| i.obligation.due.as_ref().map(|d| d.timestamp()))
        .collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
    let first = &list.items[0];
    assert_eq!(first.to_json(Lang::En, now())["incident"], "INC-1");
    assert_eq!(first.row(Lang::En, now())[0], "INC-1");
}

#[test]
fn the_incident_file_has_every_part_and_its_html_is_escaped() {
    let inc = incident(
        "INC-1",
        "<script>x</script>",
        "risk",
        "2026-11-22T08:00:00+01:00",
    );
    let journal = [JournalEntry {
        seq: 7,
        at: "2026-11-22T09:00:00Z".into(),
        actor: "cli".into(),
        action: "incident.open".into(),
        subject: "incident/INC-1".into(),
        details: "{}".into(),
        prev_hash: "00".into(),
        hash: "ab".into(),
    }];
    let md = export::export_markdown(&inc, &journal, Lang::En, now()).expect("md");
    for part in [
        "## Obligations",
        "## Timeline",
        "## Sent versions",
        "## Journal",
    ] {
        assert!(md.contains(part), "{part}");
    }
    assert!(md.contains("| 7 | 2026-11-22T09:00:00Z | cli | incident.open | ab |"));
    let html = export::export_html(&inc, &journal, Lang::En, now()).expect("html");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
    let json =
        export::export_json(&inc, serde_json::json!([]), &journal, Lang::En, now()).expect("json");
    assert_eq!(json["journal"][0]["seq"], 7);
    assert_eq!(json["timeline"][0]["event"], "awareness");
    assert!(
        export::summary_text(&inc, Lang::En, now())
            .expect("text")
            .contains("Timeline:")
    );
}

#[test]
fn a_record_is_intact_only_when_both_digests_and_the_chain_agree() {
    let entry = |digest: &str| JournalEntry {
        seq: 1,
        at: String::new(),
        actor: String::new(),
        action: String::new(),
        subject: String::new(),
        details: serde_json::json!({ "digest": digest }).to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    assert!(integrity::record_problems(None, "d1", "d1", &[entry("d1")]).is_empty());
    assert_eq!(
        integrity::record_problems(None, "d0", "d1", &[entry("d1")]).len(),
        1
    );
    assert_eq!(
        integrity::record_problems(Some("entry 3"), "d1", "d1", &[entry("d0")]).len(),
        2
    );
}
