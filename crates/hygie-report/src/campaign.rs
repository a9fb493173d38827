//! An ARS campaign's report (hygie-sync `request`): the facilities asked and where each request
//! stands, as text (`hygie region request show`), CSV (the one writer) and HTML (a template), the
//! same view for the CLI and the web's export.

use crate::csv::{Cell, CsvWriter, to_text};
use crate::html::render;
use crate::{Translate as _, t};
use askama::Template;
use hygie_core::{Lang, Localized};

/// A campaign as its report shows it: plain values, filled by the caller from the store.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub id: u64,
    pub region: String,
    pub target: String,
    pub measures: Vec<String>,
    pub due: String,
    pub message: Localized,
    pub created_at: String,
    /// Open, or closed / withdrawn with when and by whom.
    pub status: Localized,
    /// Reminders sent.
    pub reminders: usize,
    pub rows: Vec<CampaignRow>,
}

/// One facility's request.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub facility: String,
    pub name: String,
    /// `open`, `answered`, `answered_late`, `overdue`, `unanswered` (closed without an answer)
    /// or `withdrawn` (stable, for scripts).
    pub state: String,
    pub state_label: Localized,
    pub answered_at: Option<String>,
    pub last_report: Option<String>,
    /// The last reminder sent to the facility.
    pub reminded_at: Option<String>,
}

const CSV_HEADERS: [&str; 7] = [
    "finess",
    "facility",
    "state",
    "state_label",
    "answered_at",
    "last_report",
    "reminded_at",
];

/// One row per facility asked; the state's code and its label in `lang`.
pub fn campaign_csv(c: &CampaignView, lang: Lang) -> String {
    let mut w = CsvWriter::new(Vec::new());
    let mut written = w.row(CSV_HEADERS);
    for r in &c.rows {
        let row = [
            Cell::text(r.facility.as_str()),
            Cell::text(r.name.as_str()),
            Cell::text(r.state.as_str()),
            Cell::text(r.state_label.get(lang)),
            Cell::text(r.answered_at.clone().unwrap_or_default()),
            Cell::text(r.last_report.clone().unwrap_or_default()),
            Cell::text(r.reminded_at.clone().unwrap_or_default()),
        ];
        written = written.and_then(|()| w.row(row));
    }
    to_text(written, w)
}

fn headers(lang: Lang) -> Vec<String> {
    [
        ("FINESS", "FINESS"),
        ("Facility", "Établissement"),
        ("State", "État"),
        ("Answered", "Répondu le"),
        ("Last report", "Dernier envoi"),
        ("Reminded", "Relancé le"),
    ]
    .iter()
    .map(|(en, fr)| t(lang, en, fr).to_owned())
    .collect()
}

fn rows(c: &CampaignView, lang: Lang) -> Vec<Vec<String>> {
    c.rows
        .iter()
        .map(|r| {
            vec![
                r.facility.clone(),
                r.name.clone(),
                r.state_label.get(lang).to_owned(),
                r.answered_at.clone().unwrap_or_default(),
                r.last_report.clone().unwrap_or_default(),
                r.reminded_at.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// The campaign and its table as text.
pub fn campaign_text(c: &CampaignView, lang: Lang) -> String {
    let head = match lang {
        Lang::En => format!(
            "Campaign {} of region {} ({}): {} due {}, {}, {} reminders\n{}\n",
            c.id,
            c.region,
            c.target,
            c.measures.join(", "),
            c.due,
            c.status.en,
            c.reminders,
            c.message.en
        ),
        Lang::Fr => format!(
            "Campagne {} de la région {} ({}) : {} pour le {}, {}, {} relances\n{}\n",
            c.id,
            c.region,
            c.target,
            c.measures.join(", "),
            c.due,
            c.status.fr,
            c.reminders,
            c.message.fr
        ),
    };
    let h = headers(lang);
    let h: Vec<&str> = h.iter().map(String::as_str).collect();
    format!("{head}\n{}", crate::table(&h, &rows(c, lang)))
}

#[derive(Template)]
#[template(path = "campaign_report.html")]
struct CampaignPage<'a> {
    lang: Lang,
    c: &'a CampaignView,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

crate::translate_by_lang_field!(CampaignPage);

impl CampaignPage<'_> {
    fn message(&self) -> &str {
        self.c.message.get(self.lang)
    }

    fn measures(&self) -> String {
        self.c.measures.join(", ")
    }
}

/// The campaign report as a self-contained HTML page.
pub fn campaign_html(c: &CampaignView, lang: Lang) -> String {
    render(&CampaignPage {
        lang,
        c,
        headers: headers(lang),
        rows: rows(c, lang),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> CampaignView {
        CampaignView {
            id: 7,
            region: "IDF".into(),
            target: "region".into(),
            measures: vec!["BCK-06".into()],
            due: "2027-03-31".into(),
            message: Localized::new("Restore <test>", "Test de restauration"),
            created_at: "2027-03-01T09:00:00Z".into(),
            status: Localized::new("open", "ouverte"),
            reminders: 0,
            rows: vec![CampaignRow {
                facility: "750712184".into(),
                name: "=CH".into(),
                state: "overdue".into(),
                state_label: Localized::new("overdue", "en retard"),
                answered_at: None,
                last_report: None,
                reminded_at: None,
            }],
        }
    }

    #[test]
    fn the_report_escapes_html_and_neutralises_formulas() {
        let html = campaign_html(&view(), Lang::En);
        assert!(html.contains("Restore &lt;test&gt;"), "{html}");
        assert!(html.contains("overdue"));
        let csv = campaign_csv(&view(), Lang::Fr);
        assert!(csv.starts_with("finess,facility,state"), "{csv}");
        assert!(csv.contains("'=CH") && csv.contains("en retard"), "{csv}");
        assert!(campaign_text(&view(), Lang::Fr).contains("Campagne 7"));
    }
}
