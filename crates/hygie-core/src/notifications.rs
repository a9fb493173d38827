//! The regional agency's view of its facilities' serious incidents and late notifications
//! (issue 19): the incident obligations packages carry (duty, due, sent; no fact of the incident,
//! no person), judged again at the region's `now`, late ones first, filtered. Pure: the rows come
//! from the store, `now` from the caller.
//!
//! A package says whether an obligation was late **when the facility exported it**; an
//! obligation due tomorrow then is late the day after, without a new package. So the state is
//! decided here from `due` and `sent` at `now`, the package's `late` flag kept as a floor (an
//! obligation the facility found late stays late). Obligations without a legal clock
//! (`anticipated`, `recommended`) are never late. An obligation not sent within
//! [`AT_RISK_HOURS`] of its due time is at risk. A **serious incident** is one the facility
//! must report to CERT Santé (CSP L.1111-8-2: a `cert_sante` duty is required); it is **open**
//! while any of its obligations is still to be sent (packages carry no incident state).

use crate::{Localized, Region};
use serde::Serialize;

/// Hours before its due time from which an obligation not yet sent is at risk.
pub const AT_RISK_HOURS: i64 = 24;

/// The duty whose presence makes an incident serious.
pub const SERIOUS_DUTY: &str = "cert_sante";

/// One obligation as the region holds it (table `sync_obligations`), with its facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedObligation {
    pub facility: String,
    pub facility_name: String,
    pub departement: String,
    pub incident: String,
    pub duty: String,
    /// The duty's name in both languages (the code itself if this build does not know it).
    pub duty_label: Localized,
    /// The status the facility computed: due, late, sent, anticipated, recommended...
    pub status: String,
    pub due: Option<jiff::Timestamp>,
    pub sent: Option<jiff::Timestamp>,
    /// The facility found it late when it exported the package.
    pub late: bool,
}

/// Where an obligation stands at the region's `now`, in the order the list shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    /// Not sent, and its due time is past.
    Late,
    /// Sent, after its due time.
    SentLate,
    /// Not sent, due within [`AT_RISK_HOURS`].
    AtRisk,
    /// Not sent, due later (or with no due time).
    Due,
    /// Sent in time.
    Sent,
    /// No legal clock: anticipated (regime not in force) or recommended.
    NoClock,
}

impl NotificationState {
    pub const ALL: [NotificationState; 6] = [
        NotificationState::Late,
        NotificationState::SentLate,
        NotificationState::AtRisk,
        NotificationState::Due,
        NotificationState::Sent,
        NotificationState::NoClock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Late => "late",
            NotificationState::SentLate => "sent_late",
            NotificationState::AtRisk => "at_risk",
            NotificationState::Due => "due",
            NotificationState::Sent => "sent",
            NotificationState::NoClock => "no_clock",
        }
    }

    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            NotificationState::Late => ("late, not sent", "en retard, non envoyée"),
            NotificationState::SentLate => ("sent late", "envoyée en retard"),
            NotificationState::AtRisk => ("due within 24 h", "due sous 24 h"),
            NotificationState::Due => ("to send", "à envoyer"),
            NotificationState::Sent => ("sent in time", "envoyée à temps"),
            NotificationState::NoClock => ("no legal deadline", "sans délai légal"),
        };
        Localized::new(en, fr)
    }

    /// Late, sent or not.
    pub fn is_late(self) -> bool {
        matches!(self, NotificationState::Late | NotificationState::SentLate)
    }

    /// Still to be sent.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            NotificationState::Late | NotificationState::AtRisk | NotificationState::Due
        )
    }

    /// The state of `o` at `now`.
    pub fn of(o: &ReportedObligation, now: jiff::Timestamp) -> NotificationState {
        if matches!(o.status.as_str(), "anticipated" | "recommended") {
            return NotificationState::NoClock;
        }
        match (o.sent, o.due) {
            (Some(sent), Some(due)) if sent > due || o.late => NotificationState::SentLate,
            (Some(_), None) if o.late => NotificationState::SentLate,
            (Some(_), _) => NotificationState::Sent,
            (None, Some(due)) if now > due || o.late => NotificationState::Late,
            (None, Some(due)) if now + jiff::SignedDuration::from_hours(AT_RISK_HOURS) >= due => {
                NotificationState::AtRisk
            }
            (None, None) if o.late => NotificationState::Late,
            (None, _) => NotificationState::Due,
        }
    }
}

/// Started days from `due` to `until` (a late obligation is at least one day late; none if not
/// late).
fn days_late(due: Option<jiff::Timestamp>, until: jiff::Timestamp) -> Option<i64> {
    let secs = until.duration_since(due?).as_secs();
    (secs > 0).then(|| (secs + 86_399) / 86_400)
}

/// One line of the region's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationLine {
    pub facility: String,
    pub facility_name: String,
    pub departement: String,
    pub incident: String,
    pub duty: String,
    pub duty_label: Localized,
    pub state: NotificationState,
    pub due: Option<jiff::Timestamp>,
    pub sent: Option<jiff::Timestamp>,
    /// Started days past the due time: until it was sent, or until `now` if it is not.
    pub days_late: Option<i64>,
    /// The incident is serious (a CERT Santé report is required).
    pub serious: bool,
}

/// What the list shows: every filter is optional; `departement` and `facility` compare exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    pub late_only: bool,
    pub duty: Option<String>,
    pub facility: Option<String>,
    pub departement: Option<String>,
}

impl NotificationFilter {
    fn keeps(&self, l: &NotificationLine) -> bool {
        (!self.late_only || l.state.is_late())
            && self.duty.as_deref().is_none_or(|d| l.duty == d)
            && self.facility.as_deref().is_none_or(|f| l.facility == f)
            && self
                .departement
                .as_deref()
                .is_none_or(|d| l.departement == d)
    }
}

/// The region's serious incidents and late notifications at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionNotifications {
    pub region: Region,
    pub now: jiff::Timestamp,
    /// Late notifications in the whole region (sent late or still not sent), before filtering.
    pub late: usize,
    /// Of which still not sent.
    pub late_unsent: usize,
    /// Serious incidents with an obligation still to send, in the whole region.
    pub open_serious: usize,
    /// The lines the filter keeps: late and not sent first, then sent late (most days late
    /// first), at risk, to send (soonest due first), sent, without a clock.
    pub lines: Vec<NotificationLine>,
}

impl RegionNotifications {
    pub fn of(
        region: Region,
        rows: &[ReportedObligation],
        now: jiff::Timestamp,
        filter: &NotificationFilter,
    ) -> RegionNotifications {
        let serious: std::collections::HashSet<(&str, &str)> = rows
            .iter()
            .filter(|o| o.duty == SERIOUS_DUTY && o.status != "not_required")
            .map(|o| (o.facility.as_str(), o.incident.as_str()))
            .collect();
        let all: Vec<NotificationLine> = rows
            .iter()
            .map(|o| {
                let state = NotificationState::of(o, now);
                NotificationLine {
                    facility: o.facility.clone(),
                    facility_name: o.facility_name.clone(),
                    departement: o.departement.clone(),
                    incident: o.incident.clone(),
                    duty: o.duty.clone(),
                    duty_label: o.duty_label.clone(),
                    state,
                    due: o.due,
                    sent: o.sent,
                    days_late: if state.is_late() {
                        days_late(o.due, o.sent.unwrap_or(now)).or(Some(0))
                    } else {
                        None
                    },
                    serious: serious.contains(&(o.facility.as_str(), o.incident.as_str())),
                }
            })
            .collect();
        let open_serious: std::collections::HashSet<(&str, &str)> = all
            .iter()
            .filter(|l| l.serious && l.state.is_open())
            .map(|l| (l.facility.as_str(), l.incident.as_str()))
            .collect();
        let mut lines: Vec<NotificationLine> =
            all.iter().filter(|l| filter.keeps(l)).cloned().collect();
        lines.sort_by(|a, b| {
            a.state
                .cmp(&b.state)
                .then(b.days_late.cmp(&a.days_late))
                .then(a.due.cmp(&b.due))
                .then(a.facility.cmp(&b.facility))
                .then(a.incident.cmp(&b.incident))
                .then(a.duty.cmp(&b.duty))
        });
        RegionNotifications {
            region,
            now,
            late: all.iter().filter(|l| l.state.is_late()).count(),
            late_unsent: all
                .iter()
                .filter(|l| l.state == NotificationState::Late)
                .count(),
            open_serious: open_serious.len(),
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn row(
        facility: &str,
        incident: &str,
        duty: &str,
        status: &str,
        due: Option<&str>,
        sent: Option<&str>,
        late: bool,
    ) -> ReportedObligation {
        ReportedObligation {
            facility: facility.into(),
            facility_name: format!("F {facility}"),
            departement: facility[..2].into(),
            incident: incident.into(),
            duty: duty.into(),
            duty_label: Localized::new(duty, duty),
            status: status.into(),
            due: due.map(ts),
            sent: sent.map(ts),
            late,
        }
    }

    #[test]
    fn states_are_judged_again_at_the_regions_now() {
        let now = ts("2027-03-10T12:00:00Z");
        let s = |r: ReportedObligation| NotificationState::of(&r, now);
        let due = |d: &str| row("750712184", "I1", "cert_sante", "due", Some(d), None, false);
        // Due yesterday, exported as "due" before that: late now.
        assert_eq!(s(due("2027-03-09T12:00:00Z")), NotificationState::Late);
        assert_eq!(s(due("2027-03-10T12:00:00Z")), NotificationState::AtRisk);
        assert_eq!(s(due("2027-03-11T12:00:00Z")), NotificationState::AtRisk);
        assert_eq!(s(due("2027-03-11T12:00:01Z")), NotificationState::Due);
        let sent = |d: &str, at: &str, late| {
            row("750712184", "I1", "cnil", "sent", Some(d), Some(at), late)
        };
        assert_eq!(
            s(sent("2027-03-09T12:00:00Z", "2027-03-09T11:00:00Z", false)),
            NotificationState::Sent
        );
        assert_eq!(
            s(sent("2027-03-09T12:00:00Z", "2027-03-09T13:00:00Z", false)),
            NotificationState::SentLate
        );
        // The facility's own verdict is kept.
        assert_eq!(
            s(sent("2027-03-09T12:00:00Z", "2027-03-09T11:00:00Z", true)),
            NotificationState::SentLate
        );
        assert_eq!(
            s(row(
                "750712184",
                "I1",
                "nis2_early_warning",
                "anticipated",
                Some("2027-01-01T00:00:00Z"),
                None,
                false
            )),
            NotificationState::NoClock
        );
    }

    #[test]
    fn late_first_counts_and_filters() {
        let now = ts("2027-03-10T12:00:00Z");
        let rows = [
            // A serious incident, CERT Santé sent late by 25 h, CNIL still due in 3 days.
            row(
                "750712184",
                "I1",
                "cert_sante",
                "sent",
                Some("2027-03-05T12:00:00Z"),
                Some("2027-03-06T13:00:00Z"),
                true,
            ),
            row(
                "750712184",
                "I1",
                "cnil",
                "due",
                Some("2027-03-13T12:00:00Z"),
                None,
                false,
            ),
            // Another facility: CNIL late by 2 days and a bit, not sent; not serious.
            row(
                "350000014",
                "I9",
                "cnil",
                "late",
                Some("2027-03-08T11:00:00Z"),
                None,
                true,
            ),
            // A serious incident whose obligations are all sent in time: not open.
            row(
                "350000014",
                "I8",
                "cert_sante",
                "sent",
                Some("2027-03-05T12:00:00Z"),
                Some("2027-03-05T10:00:00Z"),
                false,
            ),
        ];
        let region = Region::parse("IDF").unwrap();
        let all = RegionNotifications::of(region, &rows, now, &NotificationFilter::default());
        assert_eq!((all.late, all.late_unsent, all.open_serious), (2, 1, 1));
        let order: Vec<(&str, &str, Option<i64>)> = all
            .lines
            .iter()
            .map(|l| (l.incident.as_str(), l.state.as_str(), l.days_late))
            .collect();
        assert_eq!(
            order,
            [
                ("I9", "late", Some(3)),
                ("I1", "sent_late", Some(2)),
                ("I1", "due", None),
                ("I8", "sent", None),
            ]
        );
        assert!(all.lines[1].serious && !all.lines[0].serious);
        let late = RegionNotifications::of(
            region,
            &rows,
            now,
            &NotificationFilter {
                late_only: true,
                departement: Some("75".into()),
                ..NotificationFilter::default()
            },
        );
        assert_eq!(late.lines.len(), 1);
        assert_eq!(late.lines[0].incident, "I1");
        // The counts are the region's, whatever the filter.
        assert_eq!(late.late, 2);
        let cnil = RegionNotifications::of(
            region,
            &rows,
            now,
            &NotificationFilter {
                duty: Some("cnil".into()),
                facility: Some("350000014".into()),
                ..NotificationFilter::default()
            },
        );
        assert_eq!(cnil.lines.len(), 1);
        assert_eq!(cnil.lines[0].incident, "I9");
    }
}
