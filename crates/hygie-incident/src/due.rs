//! The reminder list: obligations due within a window or already late, across incidents.

use crate::{Incident, Obligation, ObligationStatus, Result};
use hygie_core::Lang;
use jiff::Timestamp;

/// The columns of [`DueItem::row`].
pub const HEADERS: [&str; 7] = [
    "Incident",
    "Facility",
    "Duty",
    "Recipient",
    "Status",
    "Due",
    "Clock",
];

/// One obligation of one incident on the list.
#[derive(Debug, Clone)]
pub struct DueItem<'a> {
    pub incident: &'a Incident,
    pub obligation: Obligation,
}

/// The obligations of `incidents` that are late at `now` or due by `horizon`, soonest first,
/// and how many of them are late.
#[derive(Debug, Clone)]
pub struct DueList<'a> {
    pub items: Vec<DueItem<'a>>,
    pub late: usize,
}

pub fn due_within(
    incidents: &[Incident],
    now: Timestamp,
    horizon: Timestamp,
) -> Result<DueList<'_>> {
    let mut items = Vec::new();
    let mut late = 0;
    for inc in incidents {
        for o in inc.obligations(now)? {
            let soon = o.status == ObligationStatus::Due
                && o.due.as_ref().is_some_and(|d| d.timestamp() <= horizon);
            if o.status == ObligationStatus::Late || soon {
                if o.status == ObligationStatus::Late {
                    late += 1;
                }
                items.push(DueItem {
                    incident: inc,
                    obligation: o,
                });
            }
        }
    }
    items.sort_by_key(|i| i.obligation.due.as_ref().map(|d| d.timestamp()));
    Ok(DueList { items, late })
}

impl DueItem<'_> {
    /// The obligation's JSON with its incident's id, facility and title.
    pub fn to_json(&self, lang: Lang, now: Timestamp) -> serde_json::Value {
        let inc = self.incident;
        let mut j = self.obligation.to_json(lang, now);
        if let serde_json::Value::Object(m) = &mut j {
            m.insert("incident".into(), inc.id.clone().into());
            m.insert("facility".into(), inc.facts.facility.clone().into());
            m.insert("title".into(), inc.facts.title.clone().into());
        }
        j
    }

    /// Incident, facility, then the obligation's row (`Obligation::row`): columns [`HEADERS`].
    pub fn row(&self, lang: Lang, now: Timestamp) -> Vec<String> {
        let mut r = vec![
            self.incident.id.clone(),
            self.incident.facts.facility.clone(),
        ];
        r.extend(self.obligation.row(lang, now));
        r
    }
}
