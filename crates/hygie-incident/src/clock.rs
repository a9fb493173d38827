//! Instants and legal durations.
//!
//! Every instant is a `jiff::Zoned`: an exact point in time plus the IANA time zone it was
//! given in (Europe/Paris by default). Legal durations counted in hours (24 h, 72 h) are added
//! in **absolute time**, so they stay exact across daylight-saving changes: 72 h after
//! 2026-03-29 01:30 (+01:00) is 2026-04-01 02:30 (+02:00), not 01:30. The NIS 2 "one month" is a
//! **calendar month** in the incident's zone (same wall-clock time one month later, clamped to
//! the end of a shorter month, 31 Jan → 28 Feb).
//!
//! Local times written without an offset are resolved in the zone. A local time that does not
//! exist (the skipped hour in March) or that happens twice (the repeated hour in October,
//! e.g. 2026-10-25 02:30 in Europe/Paris) is **refused**: the caller must add the offset
//! (`2026-10-25T02:30:00+02:00` for the first occurrence, `+01:00` for the second). Guessing the
//! earlier or the later one would silently move a legal deadline by an hour.

use crate::IncidentError;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, Zoned};

/// The default zone of French health facilities.
pub const DEFAULT_TZ: &str = "Europe/Paris";

/// Look up an IANA time zone, naming the field on error.
pub fn zone(field: &str, name: &str) -> Result<TimeZone, IncidentError> {
    TimeZone::get(name.trim()).map_err(|e| {
        IncidentError::invalid(
            field,
            format!("'{name}' is not a known IANA time zone (e.g. Europe/Paris): {e}"),
        )
    })
}

/// Parse an instant: RFC 9557 with a zone (`2026-03-29T01:30:00+01:00[Europe/Paris]`), RFC 3339
/// with an offset or `Z` (kept as the same instant, shown in `tz`), or a local date-time without
/// offset (`2026-03-29T01:30`) resolved in `tz`, refusing skipped and repeated local times.
pub fn parse_instant(field: &str, input: &str, tz: &TimeZone) -> Result<Zoned, IncidentError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(IncidentError::invalid(field, "empty time"));
    }
    if s.contains('[') {
        return s.parse::<Zoned>().map_err(|e| {
            IncidentError::invalid(field, format!("'{s}' is not a valid RFC 9557 time: {e}"))
        });
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.to_zoned(tz.clone()));
    }
    let dt = s.parse::<jiff::civil::DateTime>().map_err(|_| {
        IncidentError::invalid(
            field,
            format!(
                "'{s}' is not a time: use RFC 3339 (2026-03-29T01:30:00+01:00) or a local time (2026-03-29T01:30)"
            ),
        )
    })?;
    let amb = tz.to_ambiguous_zoned(dt);
    let zname = tz.iana_name().unwrap_or("the time zone");
    match amb.offset() {
        AmbiguousOffset::Unambiguous { .. } => amb.unambiguous().map_err(|e| {
            IncidentError::invalid(field, format!("'{s}' cannot be placed in {zname}: {e}"))
        }),
        AmbiguousOffset::Fold { before, after } => Err(IncidentError::invalid(
            field,
            format!(
                "'{s}' is ambiguous in {zname}: this local time happens twice (first at {before}, then at {after}); \
                 add the offset, e.g. {}{before} for the first occurrence",
                dt.strftime("%Y-%m-%dT%H:%M:%S")
            ),
        )),
        AmbiguousOffset::Gap { before, after } => Err(IncidentError::invalid(
            field,
            format!(
                "'{s}' does not exist in {zname}: clocks jump from {before} to {after} over this hour; \
                 give the offset explicitly"
            ),
        )),
    }
}

/// RFC 3339 with the zone's offset, e.g. `2026-04-01T02:30:00+02:00`.
pub fn rfc3339(z: &Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Add a number of hours in absolute time.
pub fn add_hours(z: &Zoned, hours: i64) -> Result<Zoned, IncidentError> {
    z.checked_add(SignedDuration::from_hours(hours))
        .map_err(|e| IncidentError::invalid("time", format!("{}: {e}", rfc3339(z))))
}

/// Add an absolute duration.
pub fn add_duration(z: &Zoned, d: SignedDuration) -> Result<Zoned, IncidentError> {
    z.checked_add(d)
        .map_err(|e| IncidentError::invalid("time", format!("{}: {e}", rfc3339(z))))
}

/// Add calendar months in the zone (clamped to the end of a shorter month).
pub fn add_months(z: &Zoned, months: i32) -> Result<Zoned, IncidentError> {
    z.checked_add(Span::new().months(months))
        .map_err(|e| IncidentError::invalid("time", format!("{}: {e}", rfc3339(z))))
}

/// Parse a duration: `6h`, `30m`, `2d` (a day is 24 h here), `1h30m`, or ISO 8601 (`PT6H`).
pub fn parse_duration(field: &str, input: &str) -> Result<SignedDuration, IncidentError> {
    let s = input.trim();
    let bad = || {
        IncidentError::invalid(
            field,
            format!("'{input}' is not a duration (e.g. 6h, 30m, 2d, 1h30m)"),
        )
    };
    let d = if let Some(days) = s.strip_suffix('d') {
        let n: i64 = days.trim().parse().map_err(|_| bad())?;
        SignedDuration::from_hours(n.checked_mul(24).ok_or_else(bad)?)
    } else {
        s.parse::<SignedDuration>().map_err(|_| bad())?
    };
    if d.is_negative() {
        return Err(IncidentError::invalid(
            field,
            format!("'{input}' is negative"),
        ));
    }
    Ok(d)
}

/// A human rendering of a duration: `3 d 2 h 05 min`.
pub fn human(d: SignedDuration) -> String {
    human_in(d, hygie_core::Lang::En)
}

/// A human rendering of a duration in the reader's language: `3 d 2 h 05 min`, `3 j 2 h 05 min`.
pub fn human_in(d: SignedDuration, lang: hygie_core::Lang) -> String {
    let neg = d.is_negative();
    let total = d.as_secs().unsigned_abs() / 60;
    let (days, hours, mins) = (total / 1440, (total % 1440) / 60, total % 60);
    let day = match lang {
        hygie_core::Lang::En => "d",
        hygie_core::Lang::Fr => "j",
    };
    let body = if days > 0 {
        format!("{days} {day} {hours} h {mins:02} min")
    } else if hours > 0 {
        format!("{hours} h {mins:02} min")
    } else {
        format!("{mins} min")
    };
    if neg { format!("-{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> TimeZone {
        zone("tz", DEFAULT_TZ).unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn durations_in_both_languages() {
        let d = SignedDuration::from_mins(2 * 1440 + 65);
        assert_eq!(human(d), "2 d 1 h 05 min");
        assert_eq!(human_in(d, hygie_core::Lang::Fr), "2 j 1 h 05 min");
        assert_eq!(human_in(-d, hygie_core::Lang::Fr), "-2 j 1 h 05 min");
    }

    #[test]
    fn formats_and_parses() {
        let z = parse_instant("awareness", "2026-03-29T01:30", &paris()).map(|z| rfc3339(&z));
        assert_eq!(z, Ok("2026-03-29T01:30:00+01:00".to_owned()));
        let z = parse_instant("awareness", "2026-03-29T00:30:00Z", &paris()).map(|z| rfc3339(&z));
        assert_eq!(z, Ok("2026-03-29T01:30:00+01:00".to_owned()));
        let z = parse_instant(
            "awareness",
            "2026-07-01T12:00:00-04:00[America/New_York]",
            &paris(),
        )
        .map(|z| rfc3339(&z));
        assert_eq!(z, Ok("2026-07-01T12:00:00-04:00".to_owned()));
        assert!(parse_instant("awareness", "yesterday", &paris()).is_err());
        assert!(parse_instant("awareness", "", &paris()).is_err());
    }

    #[test]
    fn gap_and_fold_are_refused_with_a_clear_message() {
        let e = parse_instant("awareness", "2026-03-29T02:30", &paris())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("does not exist"), "{e}");
        let e = parse_instant("awareness", "2026-10-25T02:30", &paris())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ambiguous") && e.contains("+02"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("within", "6h"),
            Ok(SignedDuration::from_hours(6))
        );
        assert_eq!(
            parse_duration("within", "2d"),
            Ok(SignedDuration::from_hours(48))
        );
        assert_eq!(
            parse_duration("within", "1h30m"),
            Ok(SignedDuration::from_mins(90))
        );
        assert!(parse_duration("within", "soon").is_err());
        assert_eq!(
            human(SignedDuration::from_mins(3 * 1440 + 125)),
            "3 d 2 h 05 min"
        );
        assert_eq!(human(SignedDuration::from_mins(-5)), "-5 min");
    }
}
