//! AD time encodings: FILETIME (100 ns ticks since 1601), negative 100 ns intervals for policy
//! ages, and LDAP GeneralizedTime.

use jiff::Timestamp;

const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

/// A FILETIME attribute (`pwdLastSet`, `lastLogonTimestamp`, ...). `0` and `i64::MAX` ("never")
/// give `None`.
pub fn filetime(v: i64) -> Option<Timestamp> {
    if v <= 0 || v == i64::MAX {
        return None;
    }
    let secs = v / 10_000_000 - EPOCH_DIFF_SECS;
    let nanos = (v % 10_000_000) * 100;
    Timestamp::new(secs, nanos as i32).ok()
}

/// The FILETIME value of a timestamp (used by tests and the LDIF fixtures).
pub fn to_filetime(t: Timestamp) -> i64 {
    (t.as_second() + EPOCH_DIFF_SECS) * 10_000_000 + i64::from(t.subsec_nanosecond()) / 100
}

/// A policy interval (`maxPwdAge`, `lockoutDuration`, ...): negative 100 ns units.
/// `i64::MIN` (and 0 for `maxPwdAge`) mean "never"; returns the length in days, `None` for never.
pub fn interval_days(v: i64) -> Option<f64> {
    if v == i64::MIN || v == 0 {
        return None;
    }
    Some((v.unsigned_abs() as f64) / 10_000_000.0 / 86_400.0)
}

/// LDAP GeneralizedTime as AD writes it: `YYYYMMDDHHMMSS.0Z`.
pub fn generalized_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let digits = s.get(0..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| digits[a..b].parse::<i16>().ok();
    let dt = jiff::civil::DateTime::new(
        n(0, 4)?,
        n(4, 6)? as i8,
        n(6, 8)? as i8,
        n(8, 10)? as i8,
        n(10, 12)? as i8,
        n(12, 14)? as i8,
        0,
    )
    .ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Whole days between two instants (`later - earlier`), negative when reversed.
pub fn days_between(earlier: Timestamp, later: Timestamp) -> f64 {
    (later.as_second() - earlier.as_second()) as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_round_trip_and_never() {
        // 133444736000000000 ticks since 1601.
        let t = filetime(133_444_736_000_000_000).unwrap();
        assert_eq!(t.to_string(), "2023-11-14T22:13:20Z");
        assert_eq!(to_filetime(t), 133_444_736_000_000_000);
        assert!(filetime(0).is_none());
        assert!(filetime(i64::MAX).is_none());
        assert!(filetime(-1).is_none());
    }

    #[test]
    fn intervals() {
        assert_eq!(interval_days(-36_288_000_000_000), Some(42.0));
        assert_eq!(interval_days(i64::MIN), None);
        assert_eq!(interval_days(0), None);
    }

    #[test]
    fn generalized() {
        assert_eq!(
            generalized_time("20261122082742.0Z").unwrap().to_string(),
            "2026-11-22T08:27:42Z"
        );
        assert!(generalized_time("20261322082742.0Z").is_none());
        assert!(generalized_time("2026").is_none());
        assert!(generalized_time("2026x122082742.0Z").is_none());
    }
}
