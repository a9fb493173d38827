//! The weekly digests sent by e-mail (issue 24): one per facility for its CISO, one per region
//! for its officers. Plain-text e-mail bodies rendered by askama templates
//! (`digest_facility.txt`, `digest_region.txt`) from the plain views below, in the reader's
//! language; `hygie-notify` fills the views (pure) and the CLI's adapter sends them.

use crate::Translate as _;
use crate::html::render;
use askama::Template;
use hygie_core::{Lang, Localized};

/// A measure in a digest: late (`days` late) or expiring (`date` it expires, `expired` when
/// past).
#[derive(Debug, Clone, PartialEq)]
pub struct DigestMeasure {
    pub id: String,
    pub title: Localized,
    pub days: i64,
    pub date: String,
    pub expired: bool,
}

/// An obligation of an open incident, due or late.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestObligation {
    pub duty: Localized,
    pub due: String,
    pub late: bool,
}

/// An open incident and its obligations due or late.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestIncident {
    pub id: String,
    pub title: String,
    pub obligations: Vec<DigestObligation>,
}

/// An evidence request of the ARS still to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestRequest {
    pub region: String,
    pub campaign: u64,
    pub measures: Vec<String>,
    pub due: String,
    pub state: Localized,
}

/// A facility's week.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityDigest {
    pub facility: String,
    pub name: String,
    /// ISO week, `2026-W50`.
    pub week: String,
    /// The week's first and last days (Paris).
    pub from: String,
    pub to: String,
    pub level_reached: u8,
    pub score: f64,
    pub done: usize,
    pub total: usize,
    pub late: Vec<DigestMeasure>,
    pub expiring: Vec<DigestMeasure>,
    pub incidents: Vec<DigestIncident>,
    /// Alerts recorded in the week by level, most severe first, with their count.
    pub alerts: Vec<(String, i64)>,
    /// The last audit runs, as the facility report's summary lists them.
    pub audits: Vec<crate::AuditLine>,
    pub requests: Vec<DigestRequest>,
}

/// A facility as the regional digest shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestFacility {
    pub facility: String,
    pub name: String,
    /// When it last reported, if ever; its freshness in words.
    pub last_report: Option<String>,
    pub freshness: Localized,
    pub late_measures: usize,
    /// Notifications of its incidents past their legal deadline (from its packages).
    pub late_notifications: usize,
}

/// A campaign's counts in the regional digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestCampaign {
    pub id: u64,
    pub due: String,
    pub measures: Vec<String>,
    pub asked: usize,
    pub answered: usize,
    pub answered_late: usize,
    pub overdue: usize,
    pub open: usize,
}

/// A region's week.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionDigest {
    pub region: String,
    pub week: String,
    pub from: String,
    pub to: String,
    /// Facilities whose package arrived during the week.
    pub reported: Vec<DigestFacility>,
    /// The others.
    pub silent: Vec<DigestFacility>,
    /// Facilities with measures late, most late first.
    pub late: Vec<DigestFacility>,
    /// Facilities with notifications late.
    pub late_notifications: Vec<DigestFacility>,
    pub campaigns: Vec<DigestCampaign>,
}

#[derive(Template)]
#[template(path = "digest_facility.txt")]
struct FacilityMail<'a> {
    lang: Lang,
    d: &'a FacilityDigest,
}

#[derive(Template)]
#[template(path = "digest_region.txt")]
struct RegionMail<'a> {
    lang: Lang,
    d: &'a RegionDigest,
}

crate::translate_by_lang_field!(FacilityMail, RegionMail);

impl FacilityMail<'_> {
    fn score(&self) -> String {
        format!("{:.1}", self.d.score)
    }

    fn alerts(&self) -> String {
        self.d
            .alerts
            .iter()
            .map(|(level, n)| format!("{level} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The facility digest's subject and body in `lang`.
pub fn facility_digest_text(d: &FacilityDigest, lang: Lang) -> (String, String) {
    let subject = match lang {
        Lang::Fr => format!(
            "[Hygie] Synthèse hebdomadaire {} — {} ({})",
            d.week, d.name, d.facility
        ),
        Lang::En => format!(
            "[Hygie] Weekly digest {} — {} ({})",
            d.week, d.name, d.facility
        ),
    };
    (subject, render(&FacilityMail { lang, d }))
}

/// The regional digest's subject and body in `lang`.
pub fn region_digest_text(d: &RegionDigest, lang: Lang) -> (String, String) {
    let subject = match lang {
        Lang::Fr => format!(
            "[Hygie] Synthèse régionale hebdomadaire {} — région {}",
            d.week, d.region
        ),
        Lang::En => format!(
            "[Hygie] Weekly regional digest {} — region {}",
            d.week, d.region
        ),
    };
    (subject, render(&RegionMail { lang, d }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> FacilityDigest {
        FacilityDigest {
            facility: "350000014".into(),
            name: "CH <Test>".into(),
            week: "2026-W50".into(),
            from: "2026-11-30".into(),
            to: "2026-12-06".into(),
            level_reached: 1,
            score: 42.04,
            done: 10,
            total: 24,
            late: vec![DigestMeasure {
                id: "GOV-01".into(),
                title: Localized::new("A CISO", "Un RSSI"),
                days: 12,
                date: String::new(),
                expired: false,
            }],
            expiring: vec![],
            incidents: vec![DigestIncident {
                id: "INC-1".into(),
                title: "Leak".into(),
                obligations: vec![DigestObligation {
                    duty: Localized::new("CNIL notice", "Notification CNIL"),
                    due: "2026-12-08T10:00:00+01:00".into(),
                    late: true,
                }],
            }],
            alerts: vec![("critical".into(), 2), ("high".into(), 5)],
            audits: vec![],
            requests: vec![],
        }
    }

    #[test]
    fn the_facility_digest_reads_in_each_language_unescaped() {
        let d = digest();
        let (s, fr) = facility_digest_text(&d, Lang::Fr);
        assert!(
            s.starts_with("[Hygie] Synthèse hebdomadaire 2026-W50"),
            "{s}"
        );
        assert!(fr.contains("Niveau atteint : 1"), "{fr}");
        assert!(fr.contains("42.0 %"), "{fr}");
        assert!(fr.contains("GOV-01 Un RSSI — 12 jour(s) de retard"), "{fr}");
        assert!(fr.contains("Notification CNIL"), "{fr}");
        assert!(fr.contains("EN RETARD"), "{fr}");
        assert!(fr.contains("critical 2, high 5"), "{fr}");
        assert!(fr.contains("Aucune mesure n'expire"), "{fr}");
        // Plain text: no HTML escaping.
        assert!(fr.contains("CH <Test>"), "{fr}");
        let (s, en) = facility_digest_text(&d, Lang::En);
        assert!(s.starts_with("[Hygie] Weekly digest 2026-W50"), "{s}");
        assert!(en.contains("GOV-01 A CISO — 12 day(s) late"), "{en}");
        assert!(en.contains("No audit recorded"), "{en}");
        assert!(!en.contains("{{"), "{en}");
    }
}
