//! A detection alert as every layer speaks it: `hygie-detect` makes and aggregates them,
//! `hygie-store` keeps them (with the incident they were linked to), the CLI and the web show
//! them. Plain data; ids and aggregation rules live in `hygie-detect`.

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
