//! The regional agency's oversight of its facilities' reports (issue 19): how fresh each
//! facility's last federation package is, which of its measures done are verified by checks
//! and which only declared, and one region-wide list of **why** facilities are late: each
//! overdue measure with its facility and days late, sortable. Pure: the statuses come from the
//! plan code (`plan::facility_status`, the same as the facility's own), the last reports and
//! `now` from the caller.

use crate::plan::{EffectiveStatus, FacilityStatus};
use crate::{Finess, Localized, MeasureId};
use serde::Serialize;
use std::collections::HashMap;

/// A facility whose last report is older than this many days is late, unless told otherwise.
pub const DEFAULT_LATE_AFTER_DAYS: i64 = 30;

/// How fresh a facility's last report is at the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Freshness {
    /// No package of this facility was ever imported.
    Never,
    /// Its last package is `age_days` old, within the limit.
    Fresh { age_days: i64 },
    /// Its last package is `age_days` old, beyond the limit.
    Late { age_days: i64 },
}

impl Freshness {
    /// Freshness of a report made at `last` (if any), seen at `now`, late beyond `late_after` days.
    pub fn of(last: Option<jiff::Timestamp>, now: jiff::Timestamp, late_after: i64) -> Freshness {
        let Some(last) = last else {
            return Freshness::Never;
        };
        let age = now.duration_since(last).as_secs().max(0);
        let age_days = age / 86_400;
        // Older than the limit by a second is late, though its whole days equal the limit.
        if age > late_after.saturating_mul(86_400) {
            Freshness::Late { age_days }
        } else {
            Freshness::Fresh { age_days }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Never => "never",
            Freshness::Fresh { .. } => "fresh",
            Freshness::Late { .. } => "late",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            Freshness::Never => Localized::new("never reported", "jamais transmis"),
            Freshness::Fresh { age_days } => Localized::new(
                format!("up to date ({age_days} d)"),
                format!("à jour ({age_days} j)"),
            ),
            Freshness::Late { age_days } => Localized::new(
                format!("late ({age_days} d)"),
                format!("en retard ({age_days} j)"),
            ),
        }
    }

    pub fn is_late(self) -> bool {
        !matches!(self, Freshness::Fresh { .. })
    }
}

/// One facility's report as the region sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub facility: Finess,
    pub name: String,
    pub score: f64,
    pub last_report: Option<jiff::Timestamp>,
    pub freshness: Freshness,
    /// Measures done and verified by a passing check.
    pub verified: Vec<MeasureId>,
    /// Measures done on a declaration alone (no check verifies them).
    pub declared_only: Vec<MeasureId>,
    /// Measures overdue.
    pub late: usize,
}

/// One reason a facility is late: a measure past its plan deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LateMeasure {
    pub facility: Finess,
    pub facility_name: String,
    pub measure: MeasureId,
    pub title: Localized,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    pub days_late: i32,
}

/// How the late list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LateSort {
    /// Most days late first (then facility, measure).
    #[default]
    Days,
    /// By facility (FINESS), then most days late.
    Facility,
    /// By measure, then most days late.
    Measure,
}

impl LateSort {
    pub const NAMES: [&'static str; 3] = ["days", "facility", "measure"];

    pub fn parse(s: &str) -> Result<LateSort, crate::InvalidValue> {
        match s.trim() {
            "" | "days" => Ok(LateSort::Days),
            "facility" => Ok(LateSort::Facility),
            "measure" => Ok(LateSort::Measure),
            o => Err(crate::InvalidValue::new(
                "sort",
                format!(
                    "'{o}' is not a sort of the late list (days, facility, measure) / n'est pas un tri de la liste des retards"
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A region's oversight at a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Oversight {
    pub region: crate::Region,
    pub as_of: jiff::civil::Date,
    pub late_after_days: i64,
    pub facilities: Vec<ReportRow>,
    /// Why facilities are late: every overdue measure of every facility, sorted.
    pub late: Vec<LateMeasure>,
}

impl Oversight {
    /// Build it from the facilities' statuses (same plan code as theirs) and when each last
    /// reported (by FINESS).
    pub fn of(
        region: crate::Region,
        as_of: jiff::civil::Date,
        statuses: &[FacilityStatus],
        last_reports: &HashMap<String, jiff::Timestamp>,
        now: jiff::Timestamp,
        late_after_days: i64,
        sort: LateSort,
    ) -> Oversight {
        let mut facilities = Vec::with_capacity(statuses.len());
        let mut late = Vec::new();
        for s in statuses {
            let last = last_reports.get(s.facility.id.as_str()).copied();
            let with = |status| {
                s.measures
                    .iter()
                    .filter(|m| m.status == status)
                    .map(|m| m.id.clone())
                    .collect::<Vec<_>>()
            };
            let overdue: Vec<_> = s
                .measures
                .iter()
                .filter(|m| m.status != EffectiveStatus::NotApplicable)
                .filter_map(|m| m.days_overdue.filter(|d| *d > 0).map(|d| (m, d)))
                .collect();
            facilities.push(ReportRow {
                facility: s.facility.id.clone(),
                name: s.facility.name.clone(),
                score: s.score,
                last_report: last,
                freshness: Freshness::of(last, now, late_after_days),
                verified: with(EffectiveStatus::Verified),
                declared_only: with(EffectiveStatus::Implemented),
                late: overdue.len(),
            });
            late.extend(overdue.into_iter().map(|(m, days)| LateMeasure {
                facility: s.facility.id.clone(),
                facility_name: s.facility.name.clone(),
                measure: m.id.clone(),
                title: m.title.clone(),
                level: m.level,
                days_late: days,
            }));
        }
        sort_late(&mut late, sort);
        Oversight {
            region,
            as_of,
            late_after_days,
            facilities,
            late,
        }
    }
}

/// Sort the late list; ties always end on (facility, measure), so the order is stable.
pub fn sort_late(list: &mut [LateMeasure], sort: LateSort) {
    let key = |m: &LateMeasure| {
        (
            m.facility.as_str().to_owned(),
            m.measure.as_str().to_owned(),
        )
    };
    match sort {
        LateSort::Days => {
            list.sort_by(|a, b| b.days_late.cmp(&a.days_late).then(key(a).cmp(&key(b))))
        }
        LateSort::Facility => list.sort_by(|a, b| {
            a.facility
                .as_str()
                .cmp(b.facility.as_str())
                .then(b.days_late.cmp(&a.days_late))
                .then(key(a).cmp(&key(b)))
        }),
        LateSort::Measure => list.sort_by(|a, b| {
            a.measure
                .as_str()
                .cmp(b.measure.as_str())
                .then(b.days_late.cmp(&a.days_late))
                .then(key(a).cmp(&key(b)))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn freshness_counts_whole_days_against_the_limit() {
        let now = ts("2026-03-31T12:00:00Z");
        assert_eq!(Freshness::of(None, now, 30), Freshness::Never);
        assert_eq!(
            Freshness::of(Some(ts("2026-03-01T12:00:00Z")), now, 30),
            Freshness::Fresh { age_days: 30 }
        );
        assert_eq!(
            Freshness::of(Some(ts("2026-03-01T11:59:59Z")), now, 30),
            Freshness::Late { age_days: 30 }
        );
        // A clock behind the region's: age 0, never negative.
        assert_eq!(
            Freshness::of(Some(ts("2026-04-02T00:00:00Z")), now, 30),
            Freshness::Fresh { age_days: 0 }
        );
        assert!(Freshness::Never.is_late());
        assert_eq!(
            Freshness::Late { age_days: 40 }.label().fr,
            "en retard (40 j)"
        );
    }

    fn late(f: &str, m: &str, days: i32) -> LateMeasure {
        LateMeasure {
            facility: Finess::parse(f).unwrap(),
            facility_name: f.into(),
            measure: MeasureId::parse(m).unwrap(),
            title: Localized::new(m, m),
            level: Some(1),
            days_late: days,
        }
    }

    #[test]
    fn the_late_list_sorts_three_ways_with_stable_ties() {
        let a = "350000014";
        let b = crate::Finess::with_check_digit("35000002")
            .unwrap()
            .to_string();
        let mut list = vec![
            late(a, "BCK-06", 10),
            late(&b, "IAM-04", 40),
            late(a, "IAM-04", 40),
            late(&b, "BCK-06", 5),
        ];
        let order = |l: &[LateMeasure]| {
            l.iter()
                .map(|m| format!("{}:{}", &m.facility.as_str()[..8], m.measure))
                .collect::<Vec<_>>()
        };
        sort_late(&mut list, LateSort::Days);
        assert_eq!(
            order(&list),
            [
                "35000001:IAM-04",
                "35000002:IAM-04",
                "35000001:BCK-06",
                "35000002:BCK-06"
            ]
        );
        sort_late(&mut list, LateSort::Facility);
        assert_eq!(
            order(&list),
            [
                "35000001:IAM-04",
                "35000001:BCK-06",
                "35000002:IAM-04",
                "35000002:BCK-06"
            ]
        );
        sort_late(&mut list, LateSort::Measure);
        assert_eq!(
            order(&list),
            [
                "35000001:BCK-06",
                "35000002:BCK-06",
                "35000001:IAM-04",
                "35000002:IAM-04"
            ]
        );
        assert_eq!(LateSort::parse("measure").unwrap(), LateSort::Measure);
        assert!(LateSort::parse("name").is_err());
        assert_eq!(LateSort::Facility.as_str(), "facility");
    }
}
