//! A detection alert as every layer speaks it: `hygie-detect` makes and aggregates them,
//! `hygie-store` keeps them (with the incident they were linked to), the CLI and the web show
//! them. Plain data; ids and aggregation live in `hygie-detect`. Here is the one order in which
//! matches compete to represent their alert ([`order_key`]) and the merge of two partial
//! aggregates of one alert ([`Alert::merge`]), which the aggregator and the store's additive
//! merge of several detection workers (`hygie detect-worker`) share.

/// One alert (possibly standing for several matches).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Stable id: hash of rule, host, first event time and first record.
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub level: String,
    /// ATT&CK tags of the rule (`attack.*`).
    pub tags: Vec<String>,
    /// Time of the first matching event, as written by the source.
    pub time: Option<String>,
    /// Time of the last matching event aggregated into this alert.
    pub last_time: Option<String>,
    pub host: Option<String>,
    /// Record id of the first matching event.
    pub record_id: u64,
    /// File or listener the first event came from.
    pub source: String,
    /// Fields that made the rule match on the first event.
    pub fields: Vec<(String, String)>,
    /// Number of matches aggregated.
    pub count: u64,
}

impl Alert {
    /// Fold `other`, a partial aggregate of the same alert (same id) made elsewhere (another
    /// worker, another batch), into this one: the earlier representative by [`order_key`], the
    /// later last time by [`later_time`], and `added` more matches (those of `other`'s matches
    /// not counted yet; the caller knows which by their event keys). Representative and last
    /// time are idempotent, so folding the same partial twice changes only what `added` says.
    pub fn merge(&mut self, other: &Alert, added: u64) {
        self.count += added;
        let t = other.time.as_deref().and_then(parse_time);
        let first = self.time.as_deref().and_then(parse_time);
        if order_key(other, t) < order_key(self, first) {
            self.time = other.time.clone();
            self.record_id = other.record_id;
            self.source = other.source.clone();
            self.fields = other.fields.clone();
        }
        let (n, l) = (
            other.last_time.as_deref().and_then(parse_time),
            self.last_time.as_deref().and_then(parse_time),
        );
        if later_time(n, other.last_time.as_deref(), l, self.last_time.as_deref()) {
            self.last_time = other.last_time.clone();
        }
    }
}

/// An alert and the events that made it: the keys ([`event_key`]) of the events its `count`
/// stands for, so that a store merging it counts each event once however often it is
/// delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedAlert {
    pub alert: Alert,
    /// Sorted, without repeats.
    pub events: Vec<u64>,
}

/// Events one JetStream message may carry at most: the room [`event_key`] leaves for the
/// event's position.
pub const EVENTS_PER_MESSAGE_MAX: usize = 1 << EVENT_INDEX_BITS;
const EVENT_INDEX_BITS: u32 = 16;

/// The key of the `index`-th event of the message stored at stream sequence `seq`: the
/// sequence times 65,536 plus the position, so that keys sort as the stream does and every
/// key of a message lies in `[event_key(seq, 0), event_key(seq + 1, 0))`. A store keeps keys
/// as signed 64-bit integers: sequences up to 2^47 (140 trillion messages).
pub fn event_key(seq: u64, index: usize) -> u64 {
    debug_assert!(index < EVENTS_PER_MESSAGE_MAX);
    (seq << EVENT_INDEX_BITS) | (index as u64 & (EVENTS_PER_MESSAGE_MAX as u64 - 1))
}

/// Seconds since the epoch of a source timestamp (ISO 8601 / RFC 3339, with or
/// without zone; `2025-11-27 07:40:10.132` is read as UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    if let Ok(dt) = s.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    None
}

/// Order in which matches compete to represent their alert and in which alerts are listed:
/// event time (`t`, parsed from `a.time`), then the raw time text, rule, host, source and
/// record id; total, so the result never depends on arrival order.
pub fn order_key(a: &Alert, t: Option<i64>) -> impl Ord + '_ {
    (
        t.is_none(),
        t,
        a.time.as_deref(),
        a.rule_id.as_str(),
        a.host.as_deref(),
        a.source.as_str(),
        a.record_id,
    )
}

/// Whether the time (`new`, its text `new_text`) is later than the last one kept (`old`):
/// among equal instants the greater text, so ties resolve the same way whatever the order.
pub fn later_time(
    new: Option<i64>,
    new_text: Option<&str>,
    old: Option<i64>,
    old_text: Option<&str>,
) -> bool {
    match (new, old) {
        (Some(n), Some(l)) => (n, new_text) > (l, old_text),
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => new_text > old_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys sort as the stream does, a message's keys lie between its sequence's and the
    /// next's, and an older key (a sequence, position 0) is the sequence times 65,536.
    #[test]
    fn event_keys_follow_the_stream_then_the_position() {
        assert_eq!(event_key(1, 0), 65_536);
        assert_eq!(event_key(1, 255), 65_536 + 255);
        assert!(event_key(7, EVENTS_PER_MESSAGE_MAX - 1) < event_key(8, 0));
        assert!(event_key(7, 3) > event_key(7, 2));
        let biggest = event_key((1 << 47) - 1, EVENTS_PER_MESSAGE_MAX - 1);
        assert!(i64::try_from(biggest).is_ok());
    }
}
