//! The region's serious incidents and late notifications (`hygie_core::notifications`) for
//! people: the terminal table of `hygie region incidents` and the CSV shared by the CLI and the
//! web page's export.

use crate::csv::{Cell, CsvWriter, to_text};
use hygie_core::Lang;
use hygie_core::notifications::RegionNotifications;

/// Column names of the CSV (stable, for spreadsheets and scripts).
const HEADERS: [&str; 11] = [
    "finess",
    "facility",
    "departement",
    "incident",
    "serious",
    "duty",
    "duty_label",
    "state",
    "due",
    "sent",
    "days_late",
];

fn time<T: std::fmt::Display>(t: Option<T>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// An instant as a person reads it in a table: to the minute, in UTC, said so.
fn minute(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// One row per obligation, in the list's order (late first); labels in `lang`.
pub fn notifications_csv(n: &RegionNotifications, lang: Lang) -> String {
    let mut w = CsvWriter::new(Vec::new());
    let mut written = w.row(HEADERS);
    for l in &n.lines {
        let row = [
            Cell::text(l.facility.as_str()),
            Cell::text(l.facility_name.as_str()),
            Cell::text(l.departement.as_str()),
            Cell::text(l.incident.as_str()),
            Cell::text(if l.serious { "yes" } else { "no" }),
            Cell::text(l.duty.as_str()),
            Cell::text(l.duty_label.get(lang)),
            Cell::text(l.state.as_str()),
            Cell::text(time(l.due)),
            Cell::text(time(l.sent)),
            l.days_late.map_or_else(|| Cell::text(""), Cell::int),
        ];
        written = written.and_then(|()| w.row(row));
    }
    to_text(written, w)
}

/// The counts, then the list, as text.
pub fn notifications_text(n: &RegionNotifications, lang: Lang) -> String {
    let (headers, title) = match lang {
        Lang::En => (
            [
                "FINESS",
                "Facility",
                "Incident",
                "Duty",
                "State",
                "Due",
                "Sent",
                "Days late",
            ],
            format!(
                "Serious incidents and notifications of region {} at {}: {} late notifications ({} not sent), {} open serious incidents",
                n.region,
                minute(n.now),
                n.late,
                n.late_unsent,
                n.open_serious
            ),
        ),
        Lang::Fr => (
            [
                "FINESS",
                "Établissement",
                "Incident",
                "Obligation",
                "État",
                "Échéance",
                "Envoyée le",
                "Jours de retard",
            ],
            format!(
                "Incidents graves et signalements de la région {} au {} : {} signalements en retard ({} non envoyés), {} incidents graves en cours",
                n.region,
                minute(n.now),
                n.late,
                n.late_unsent,
                n.open_serious
            ),
        ),
    };
    let rows: Vec<Vec<String>> = n
        .lines
        .iter()
        .map(|l| {
            vec![
                l.facility.clone(),
                l.facility_name.clone(),
                if l.serious {
                    format!("{} (!)", l.incident)
                } else {
                    l.incident.clone()
                },
                l.duty_label.get(lang).to_owned(),
                l.state.label().get(lang).to_owned(),
                l.due.map(minute).unwrap_or_default(),
                l.sent.map(minute).unwrap_or_default(),
                l.days_late.map(|d| d.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    format!("{title}\n\n{}", crate::table(&headers, &rows))
}
