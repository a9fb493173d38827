//! The region's oversight of its facilities' reports (`hygie_core::oversight`) for people: the
//! terminal table of `hygie region reports` and the late list's CSV, shared by the CLI and the
//! web page's export.

use crate::csv::{Cell, CsvWriter, to_text};
use hygie_core::Lang;
use hygie_core::oversight::Oversight;

/// Column names of the late list's CSV (stable, for spreadsheets and scripts).
const LATE_HEADERS: [&str; 7] = [
    "finess",
    "facility",
    "measure",
    "title",
    "level",
    "days_late",
    "last_report",
];

/// The late list (why facilities are late), one row per overdue measure, in its order; titles
/// in `lang`.
pub fn late_csv(o: &Oversight, lang: Lang) -> String {
    let mut w = CsvWriter::new(Vec::new());
    let mut written = w.row(LATE_HEADERS);
    for m in &o.late {
        let last = o
            .facilities
            .iter()
            .find(|f| f.facility == m.facility)
            .and_then(|f| f.last_report)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let row = [
            Cell::text(m.facility.as_str()),
            Cell::text(m.facility_name.as_str()),
            Cell::text(m.measure.as_str()),
            Cell::text(m.title.get(lang)),
            m.level.map_or_else(|| Cell::text(""), Cell::int),
            Cell::int(m.days_late),
            Cell::text(last),
        ];
        written = written.and_then(|()| w.row(row));
    }
    to_text(written, w)
}

/// Both tables as text: the facilities' reports, then why they are late.
pub fn oversight_text(o: &Oversight, lang: Lang) -> String {
    let (h1, h2, title1, title2) = match lang {
        Lang::En => (
            [
                "FINESS",
                "Facility",
                "Last report",
                "Freshness",
                "Verified",
                "Declared only",
                "Late",
            ],
            ["FINESS", "Facility", "Measure", "Title", "Days late"],
            format!(
                "Reports of region {} on {} (late after {} days)",
                o.region, o.as_of, o.late_after_days
            ),
            "Why facilities are late",
        ),
        Lang::Fr => (
            [
                "FINESS",
                "Établissement",
                "Dernier envoi",
                "Fraîcheur",
                "Vérifiées",
                "Déclarées seulement",
                "En retard",
            ],
            [
                "FINESS",
                "Établissement",
                "Mesure",
                "Intitulé",
                "Jours de retard",
            ],
            format!(
                "Envois de la région {} au {} (en retard après {} jours)",
                o.region, o.as_of, o.late_after_days
            ),
            "Pourquoi des établissements sont en retard",
        ),
    };
    let rows: Vec<Vec<String>> = o
        .facilities
        .iter()
        .map(|f| {
            vec![
                f.facility.to_string(),
                f.name.clone(),
                f.last_report.map(|t| t.to_string()).unwrap_or_default(),
                f.freshness.label().get(lang).to_owned(),
                f.verified.len().to_string(),
                f.declared_only.len().to_string(),
                f.late.to_string(),
            ]
        })
        .collect();
    let late: Vec<Vec<String>> = o
        .late
        .iter()
        .map(|m| {
            vec![
                m.facility.to_string(),
                m.facility_name.clone(),
                m.measure.to_string(),
                m.title.get(lang).to_owned(),
                m.days_late.to_string(),
            ]
        })
        .collect();
    format!(
        "{title1}\n\n{}\n{title2}\n\n{}",
        crate::table(&h1, &rows),
        crate::table(&h2, &late)
    )
}
