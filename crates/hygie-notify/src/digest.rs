//! The weekly digests (issue 24): one a week per facility for its CISO, one a week per region
//! for its officers, at a configurable weekday and hour in Paris time ([`Schedule`], Monday
//! 07:00 by default).
//!
//! A digest's identity is its week ([`Schedule::slot_at`]: the latest scheduled instant not
//! after now, named by its ISO week): `digest/FINESS/2026-W50`, `digest/region/IDF/2026-W50`.
//! A run at any time after the slot sends the week's digest if it was not sent yet (a server
//! down on Monday morning sends it when it comes back), and the store's claim makes it once per
//! week whatever the number of runs and processes. Only the current week's is considered: a
//! week missed entirely is not sent afterwards.
//!
//! Pure: the builders take what the store read and `now`; the text is hygie-report's templates
//! (`digest_facility.txt`, `digest_region.txt`).

use crate::Message;
use crate::renewal::Renewal;
use hygie_core::notifications::{NotificationState, ReportedObligation};
use hygie_core::plan::{EffectiveStatus, FacilityStatus};
use hygie_core::{Lang, Localized};
use hygie_incident::clock::rfc3339;
use hygie_incident::{Incident, IncidentError, ObligationStatus};
use hygie_report::digest::{
    DigestIncident, DigestMeasure, DigestObligation, DigestRequest, FacilityDigest, RegionDigest,
};
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
}

/// When the weekly digests go out: a weekday and a time of day, in Paris.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub hour: i8,
    pub minute: i8,
}

impl Default for Schedule {
    /// Monday 07:00.
    fn default() -> Self {
        Schedule {
            weekday: Weekday::Monday,
            hour: 7,
            minute: 0,
        }
    }
}

/// A bad schedule, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field}: '{text}' is not a weekday and a time such as 'monday 07:00' / n'est pas un jour et une heure comme 'lundi 07:00'"
)]
pub struct ScheduleError {
    pub field: String,
    pub text: String,
}

const DAYS: [(&str, &str, Weekday); 7] = [
    ("monday", "lundi", Weekday::Monday),
    ("tuesday", "mardi", Weekday::Tuesday),
    ("wednesday", "mercredi", Weekday::Wednesday),
    ("thursday", "jeudi", Weekday::Thursday),
    ("friday", "vendredi", Weekday::Friday),
    ("saturday", "samedi", Weekday::Saturday),
    ("sunday", "dimanche", Weekday::Sunday),
];

impl Schedule {
    /// Parse `monday 07:00` (English or French day names, or their first three letters; the
    /// time as `HH:MM` or `HHhMM`).
    pub fn parse(field: &str, text: &str) -> Result<Schedule, ScheduleError> {
        let err = || ScheduleError {
            field: field.to_owned(),
            text: text.to_owned(),
        };
        let lower = text.trim().to_lowercase();
        let mut parts = lower.split_whitespace();
        let (Some(day), Some(time), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err());
        };
        let weekday = DAYS
            .iter()
            .find(|(en, fr, _)| {
                *en == day
                    || *fr == day
                    || (day.chars().count() == 3 && (en.starts_with(day) || fr.starts_with(day)))
            })
            .map(|d| d.2)
            .ok_or_else(err)?;
        let (h, m) = time
            .split_once(':')
            .or_else(|| time.split_once('h'))
            .ok_or_else(err)?;
        let hour: i8 = h.parse().map_err(|_| err())?;
        let minute: i8 = if m.is_empty() {
            0
        } else {
            m.parse().map_err(|_| err())?
        };
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
            return Err(err());
        }
        Ok(Schedule {
            weekday,
            hour,
            minute,
        })
    }

    /// The scheduled instant of the week holding the Paris date `date`.
    fn in_week_of(&self, date: jiff::civil::Date) -> Option<Zoned> {
        let back = i64::from(date.weekday().to_monday_zero_offset())
            - i64::from(self.weekday.to_monday_zero_offset());
        let day = date.checked_sub(jiff::Span::new().days(back)).ok()?;
        day.at(self.hour, self.minute, 0, 0).to_zoned(paris()).ok()
    }

    /// The latest scheduled instant not after `now`: the slot of the digest due at `now`.
    pub fn slot_at(&self, now: Timestamp) -> Option<Zoned> {
        let today = now.to_zoned(paris()).date();
        let this = self.in_week_of(today)?;
        if this.timestamp() <= now {
            Some(this)
        } else {
            self.in_week_of(today.checked_sub(jiff::Span::new().days(7)).ok()?)
        }
    }

    /// The first scheduled instant after `now`: the next digest.
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        let today = now.to_zoned(paris()).date();
        let this = self.in_week_of(today)?;
        if this.timestamp() > now {
            Some(this.timestamp())
        } else {
            let next = today.checked_add(jiff::Span::new().days(7)).ok()?;
            Some(self.in_week_of(next)?.timestamp())
        }
    }
}

/// The ISO week of a slot, `2026-W50`: the digests' subject and the last part of their key.
pub fn week_label(slot: &Zoned) -> String {
    let w = slot.date().iso_week_date();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Paris dates of the 7 days before the slot's day: `from` and `to`.
fn week_span(slot: &Zoned) -> (String, String) {
    let to = slot.date().yesterday().unwrap_or(slot.date());
    let from = slot
        .date()
        .checked_sub(jiff::Span::new().days(7))
        .unwrap_or(to);
    (from.to_string(), to.to_string())
}

/// The digest's key: `digest/FINESS/WEEK`.
pub fn facility_key(facility: &str, week: &str) -> String {
    format!("digest/{facility}/{week}")
}

/// The regional digest's key: `digest/region/CODE/WEEK`.
pub fn region_key(region: &str, week: &str) -> String {
    format!("digest/region/{region}/{week}")
}

/// An evidence request of the ARS as the facility digest lists it (the caller keeps those
/// still to answer: open or overdue).
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub region: String,
    pub campaign: u64,
    pub measures: Vec<String>,
    pub due: jiff::civil::Date,
    pub state: Localized,
}

/// What the store gives for a facility's digest.
pub struct FacilityInput<'a> {
    pub status: &'a FacilityStatus,
    /// The renewals due within 30 days or expired (`renewal::due_renewals` with a 30-day
    /// window).
    pub expiring: &'a [Renewal],
    pub incidents: &'a [Incident],
    /// Alerts recorded during the week, by level.
    pub alerts: Vec<(String, i64)>,
    /// The last audit runs, newest first.
    pub audits: Vec<hygie_report::AuditLine>,
    pub requests: Vec<OpenRequest>,
}

const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

/// A facility's digest for the week of `slot`, at `now`: level and score, measures late
/// (past their plan deadline), measures expired or expiring within 30 days, open incidents
/// with their obligations due or late, the week's alerts by level (most severe first), the
/// last audits and the ARS requests still to answer.
pub fn facility_digest(
    input: FacilityInput<'_>,
    slot: &Zoned,
    now: Timestamp,
) -> Result<FacilityDigest, IncidentError> {
    let s = input.status;
    let mut late: Vec<DigestMeasure> = s
        .measures
        .iter()
        .filter(|m| m.status != EffectiveStatus::NotApplicable)
        .filter_map(|m| {
            m.days_overdue.filter(|d| *d > 0).map(|d| DigestMeasure {
                id: m.id.to_string(),
                title: m.title.clone(),
                days: i64::from(d),
                date: String::new(),
                expired: false,
            })
        })
        .collect();
    late.sort_by(|a, b| b.days.cmp(&a.days).then_with(|| a.id.cmp(&b.id)));
    let tz = paris();
    let expiring = input
        .expiring
        .iter()
        .map(|r| DigestMeasure {
            id: r.measure.to_string(),
            title: r.title.clone(),
            days: 0,
            date: r.expires.to_zoned(tz.clone()).date().to_string(),
            expired: r.expires <= now,
        })
        .collect();
    let mut incidents = Vec::new();
    for inc in input.incidents.iter().filter(|i| i.closure.is_none()) {
        let obligations = inc
            .obligations(now)?
            .into_iter()
            .filter(|o| matches!(o.status, ObligationStatus::Due | ObligationStatus::Late))
            .map(|o| DigestObligation {
                duty: o.duty.label(),
                due: o.due.as_ref().map(rfc3339).unwrap_or_default(),
                late: o.status == ObligationStatus::Late,
            })
            .collect();
        incidents.push(DigestIncident {
            id: inc.id.clone(),
            title: inc.facts.title.clone(),
            obligations,
        });
    }
    let mut alerts = input.alerts;
    alerts.sort_by_key(|(level, _)| {
        LEVELS
            .iter()
            .position(|l| l.eq_ignore_ascii_case(level))
            .unwrap_or(LEVELS.len())
    });
    let (from, to) = week_span(slot);
    Ok(FacilityDigest {
        facility: s.facility.id.to_string(),
        name: s.facility.name.clone(),
        week: week_label(slot),
        from,
        to,
        level_reached: s.level_reached,
        score: s.score,
        done: s.done,
        total: s.total,
        late,
        expiring,
        incidents,
        alerts,
        audits: input.audits,
        requests: input
            .requests
            .into_iter()
            .map(|r| DigestRequest {
                region: r.region,
                campaign: r.campaign,
                measures: r.measures,
                due: r.due.to_string(),
                state: r.state,
            })
            .collect(),
    })
}

/// The instant the week of `slot` began (a week before the slot): the alerts of the week are
/// those recorded from then to the slot.
pub fn week_start(slot: &Zoned) -> Timestamp {
    slot.timestamp() - SignedDuration::from_hours(24 * 7)
}

/// The facility digest's message in `lang`.
pub fn facility_message(d: &FacilityDigest, lang: Lang) -> Message {
    let (subject, body) = hygie_report::digest::facility_digest_text(d, lang);
    Message { subject, body }
}

/// The regional digest's message in `lang`.
pub fn region_message(d: &RegionDigest, lang: Lang) -> Message {
    let (subject, body) = hygie_report::digest::region_digest_text(d, lang);
    Message { subject, body }
}

/// A regional officer told of the region's week: from the officers' file, as users have no
/// address in Hygie.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// The region's code (`IDF`, `ARA`...).
    pub region: String,
    pub name: String,
    pub email: String,
    /// `fr` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficersFile {
    #[serde(default)]
    officer: Vec<Officer>,
}

/// A bad officers' file: the file, and the line when the TOML reader knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct OfficersError {
    pub file: String,
    pub message: String,
}

/// Read the officers' file (`[[officer]]` entries: region, name, email, lang), every entry
/// checked: a region code Hygie knows, an address with `@`, a language `fr` or `en`.
pub fn parse_officers(file: &str, text: &str) -> Result<Vec<Officer>, OfficersError> {
    let err = |message: String| OfficersError {
        file: file.to_owned(),
        message,
    };
    let parsed: OfficersFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        err(match line {
            Some(l) => format!("line {l}: {}", e.message()),
            None => e.message().to_owned(),
        })
    })?;
    for (i, o) in parsed.officer.iter().enumerate() {
        let at = format!("officer[{i}]");
        hygie_core::Region::parse(&o.region).map_err(|e| err(format!("{at}.region: {e}")))?;
        let email = o.email.trim();
        if email.is_empty() || !email.contains('@') || email.contains(['<', '>', '\r', '\n']) {
            return Err(err(format!(
                "{at}.email: '{email}' is not an e-mail address / n'est pas une adresse électronique"
            )));
        }
        if let Some(l) = &o.lang {
            l.parse::<Lang>().map_err(|_| {
                err(format!(
                    "{at}.lang: '{l}' is not fr or en / n'est pas fr ou en"
                ))
            })?;
        }
    }
    Ok(parsed.officer)
}

impl Officer {
    /// The officer's language: the file's, else `default`.
    pub fn lang(&self, default: Lang) -> Lang {
        self.lang
            .as_deref()
            .and_then(|l| l.parse().ok())
            .unwrap_or(default)
    }
}

/// A campaign of the region with the state of each facility's request at `now`.
pub struct CampaignStates {
    pub id: u64,
    pub due: jiff::civil::Date,
    pub measures: Vec<String>,
    pub states: Vec<hygie_sync::AnswerState>,
}

/// The region's digest for the week of `slot`, at `now`: who reported during the week and who
/// did not (with the freshness of their last report), the facilities with measures late (most
/// first), those whose packages show notifications still unsent past their due time (as
/// `hygie_core::notifications` judges them now), and each campaign's counts.
pub fn region_digest(
    o: &hygie_core::oversight::Oversight,
    obligations: &[ReportedObligation],
    campaigns: &[CampaignStates],
    slot: &Zoned,
    now: Timestamp,
) -> RegionDigest {
    use hygie_report::digest::{DigestCampaign, DigestFacility};
    use hygie_sync::AnswerState;
    let start = week_start(slot);
    let tz = paris();
    let late_notifications = |f: &str| {
        obligations
            .iter()
            .filter(|x| x.facility == f && NotificationState::of(x, now) == NotificationState::Late)
            .count()
    };
    let rows: Vec<(DigestFacility, bool)> = o
        .facilities
        .iter()
        .map(|r| {
            let f = DigestFacility {
                facility: r.facility.to_string(),
                name: r.name.clone(),
                last_report: r.last_report.map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M")
                        .to_string()
                }),
                freshness: r.freshness.label(),
                late_measures: r.late,
                late_notifications: late_notifications(r.facility.as_str()),
            };
            (f, r.last_report.is_some_and(|t| t >= start))
        })
        .collect();
    let mut late: Vec<DigestFacility> = rows
        .iter()
        .filter(|(f, _)| f.late_measures > 0)
        .map(|(f, _)| f.clone())
        .collect();
    late.sort_by(|a, b| {
        b.late_measures
            .cmp(&a.late_measures)
            .then_with(|| a.facility.cmp(&b.facility))
    });
    let (from, to) = week_span(slot);
    let count = |c: &CampaignStates, s: AnswerState| c.states.iter().filter(|x| **x == s).count();
    RegionDigest {
        region: o.region.code().to_owned(),
        week: week_label(slot),
        from,
        to,
        reported: rows.iter().filter(|r| r.1).map(|r| r.0.clone()).collect(),
        silent: rows.iter().filter(|r| !r.1).map(|r| r.0.clone()).collect(),
        late,
        late_notifications: rows
            .iter()
            .filter(|(f, _)| f.late_notifications > 0)
            .map(|(f, _)| f.clone())
            .collect(),
        campaigns: campaigns
            .iter()
            .map(|c| DigestCampaign {
                id: c.id,
                due: c.due.to_string(),
                measures: c.measures.clone(),
                asked: c.states.len(),
                answered: count(c, AnswerState::Answered),
                answered_late: count(c, AnswerState::AnsweredLate),
                overdue: count(c, AnswerState::Overdue),
                open: count(c, AnswerState::Open),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn schedules_parse_in_both_languages() {
        assert_eq!(
            Schedule::parse("d", "monday 07:00").unwrap(),
            Schedule::default()
        );
        assert_eq!(
            Schedule::parse("d", "Lundi 7h").unwrap(),
            Schedule::default()
        );
        let fri = Schedule::parse("d", "fri 16:30").unwrap();
        assert_eq!(fri.weekday, Weekday::Friday);
        assert_eq!((fri.hour, fri.minute), (16, 30));
        for bad in [
            "",
            "monday",
            "funday 07:00",
            "monday 25:00",
            "monday 07:00 x",
        ] {
            let e = Schedule::parse("digest-at", bad).unwrap_err();
            assert!(e.to_string().starts_with("digest-at: "), "{e}");
        }
    }

    #[test]
    fn the_slot_is_the_latest_scheduled_instant_and_names_its_week() {
        let s = Schedule::default();
        // Monday 7 December 2026, 06:59 Paris (05:59 UTC): still last week's slot.
        let before = s.slot_at(at("2026-12-07T05:59:00Z")).unwrap();
        assert_eq!(before.date(), jiff::civil::date(2026, 11, 30));
        assert_eq!(week_label(&before), "2026-W49");
        // 07:00 Paris: this week's.
        let now = at("2026-12-07T06:00:00Z");
        let slot = s.slot_at(now).unwrap();
        assert_eq!(slot.timestamp(), now);
        assert_eq!(week_label(&slot), "2026-W50");
        assert_eq!(
            facility_key("350000014", "2026-W50"),
            "digest/350000014/2026-W50"
        );
        // Wednesday: still this week's; the next one is next Monday 07:00.
        let wed = at("2026-12-09T12:00:00Z");
        assert_eq!(week_label(&s.slot_at(wed).unwrap()), "2026-W50");
        assert_eq!(s.next_after(wed), Some(at("2026-12-14T06:00:00Z")));
        assert_eq!(s.next_after(at("2026-12-07T05:00:00Z")), Some(now));
        // Summer time: 07:00 Paris is 05:00 UTC.
        assert_eq!(
            s.slot_at(at("2026-07-06T05:00:00Z")).unwrap().timestamp(),
            at("2026-07-06T05:00:00Z")
        );
        assert_eq!(week_span(&slot), ("2026-11-30".into(), "2026-12-06".into()));
        assert_eq!(week_start(&slot), at("2026-11-30T06:00:00Z"));
    }
}
