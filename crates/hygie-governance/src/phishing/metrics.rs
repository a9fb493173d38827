//! What is kept of a campaign (pseudonymised targets and events) and what is shown of it:
//! metrics with and without the link-scanner filter, by department, and repeat clickers.

use super::import::{EventKind, RawCampaign, RawTarget, Stage, norm_email};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};

/// A stored target: a pseudonym and a department, nothing that names the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub key: String,
    pub department: String,
    pub stage: Stage,
    pub reported: bool,
    pub send_at: Option<Timestamp>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub key: String,
    pub at: Timestamp,
    pub kind: EventKind,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// The keyed hash (HMAC-SHA256) of a normalised e-mail address: stable across campaigns for
/// repeat-clicker counts, not reversible without the facility's key and the address.
pub fn pseudonym(key: &[u8], email: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(norm_email(email).as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

pub const UNKNOWN_DEPARTMENT: &str = "(unknown)";

/// Turn a parsed campaign into what is stored: targets (derived from the events when the export
/// had no results) and events, all pseudonymised. `department_of(email, position)` places each
/// target (from the people register, else GoPhish's position field).
pub fn pseudonymise(
    raw: RawCampaign,
    key: &[u8],
    department_of: impl Fn(&str, Option<&str>) -> Option<String>,
) -> (Vec<Target>, Vec<Event>) {
    let mut targets: BTreeMap<String, RawTarget> = raw
        .targets
        .into_iter()
        .map(|t| (t.email.clone(), t))
        .collect();
    for e in &raw.events {
        let t = targets.entry(e.email.clone()).or_insert_with(|| RawTarget {
            email: e.email.clone(),
            position: None,
            stage: Stage::NotSent,
            reported: false,
            send_at: None,
        });
        t.stage = t.stage.max(e.kind.stage());
        if e.kind == EventKind::Reported {
            t.reported = true;
        }
        if e.kind == EventKind::Sent && t.send_at.is_none_or(|s| e.at < s) {
            t.send_at = Some(e.at);
        }
    }
    let out_t = targets
        .values()
        .map(|t| Target {
            key: pseudonym(key, &t.email),
            department: department_of(&t.email, t.position.as_deref())
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| UNKNOWN_DEPARTMENT.to_owned()),
            stage: t.stage,
            reported: t.reported,
            send_at: t.send_at,
        })
        .collect();
    let mut out_e: Vec<Event> = raw
        .events
        .into_iter()
        .map(|e| Event {
            key: pseudonym(key, &e.email),
            at: e.at,
            kind: e.kind,
            user_agent: e.user_agent,
            ip: e.ip,
        })
        .collect();
    out_e.sort_by(|a, b| (a.at, &a.key, a.kind).cmp(&(b.at, &b.key, b.kind)));
    (out_t, out_e)
}

/// How to recognise mail-gateway link scanners and sandboxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScannerFilter {
    /// An open or click less than this many seconds after delivery is a scanner's.
    pub min_seconds_after_send: i64,
    /// Case-insensitive substrings of scanner user agents.
    pub user_agents: Vec<String>,
    /// Scanner addresses: exact IPs or CIDR blocks (`192.0.2.0/24`, `2001:db8::/32`).
    pub addresses: Vec<String>,
}

impl Default for ScannerFilter {
    fn default() -> Self {
        ScannerFilter {
            min_seconds_after_send: 10,
            user_agents: [
                "barracuda",
                "mimecast",
                "proofpoint",
                "messagelabs",
                "symantec",
                "forcepoint",
                "trend micro",
                "zscaler",
                "urlscan",
                "safelinks",
                "headlesschrome",
                "python-requests",
                "go-http-client",
                "curl/",
                "wget/",
            ]
            .map(str::to_owned)
            .to_vec(),
            addresses: Vec::new(),
        }
    }
}

fn ip_in(ip: &str, block: &str) -> bool {
    use std::net::IpAddr;
    let Ok(ip) = ip.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, bits) = match block.split_once('/') {
        Some((n, b)) => (n, b.trim().parse::<u32>().ok()),
        None => (block, None),
    };
    let Ok(net) = net.trim().parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl ScannerFilter {
    /// Check the configured addresses parse, naming a bad one.
    pub fn validate(&self) -> Result<(), String> {
        for a in &self.addresses {
            let (net, bits) = match a.split_once('/') {
                Some((n, b)) => (n, Some(b)),
                None => (a.as_str(), None),
            };
            if net.trim().parse::<std::net::IpAddr>().is_err()
                || bits.is_some_and(|b| b.trim().parse::<u8>().is_err())
            {
                return Err(format!(
                    "scanner address '{a}' is not an IP or a CIDR block"
                ));
            }
        }
        if self.min_seconds_after_send < 0 {
            return Err("the scanner delay cannot be negative".into());
        }
        Ok(())
    }

    /// Is this open or click a scanner's? Other events are never filtered.
    pub fn is_scanner(&self, e: &Event, send_at: Option<Timestamp>) -> bool {
        if !matches!(e.kind, EventKind::Opened | EventKind::Clicked) {
            return false;
        }
        if let Some(s) = send_at
            && e.at.as_second() - s.as_second() < self.min_seconds_after_send
        {
            return true;
        }
        if let Some(ua) = &e.user_agent {
            let ua = ua.to_lowercase();
            if self
                .user_agents
                .iter()
                .any(|p| !p.is_empty() && ua.contains(&p.to_lowercase()))
            {
                return true;
            }
        }
        if let Some(ip) = &e.ip
            && self.addresses.iter().any(|b| ip_in(ip, b))
        {
            return true;
        }
        false
    }
}

/// Counts over sent e-mails; rates are shares of `sent` (0-1, three decimals).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub targets: usize,
    pub sent: usize,
    pub opened: usize,
    pub clicked: usize,
    pub submitted: usize,
    pub reported: usize,
    pub open_rate: f64,
    pub click_rate: f64,
    pub submit_rate: f64,
    pub report_rate: f64,
}

fn rate(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        (n as f64 / d as f64 * 1000.0).round() / 1000.0
    }
}

impl Counts {
    fn add(&mut self, stage: Stage, reported: bool) {
        self.targets += 1;
        if stage >= Stage::Sent {
            self.sent += 1;
        }
        if stage >= Stage::Opened {
            self.opened += 1;
        }
        if stage >= Stage::Clicked {
            self.clicked += 1;
        }
        if stage >= Stage::Submitted {
            self.submitted += 1;
        }
        if reported {
            self.reported += 1;
        }
    }

    fn finish(mut self) -> Counts {
        self.open_rate = rate(self.opened, self.sent);
        self.click_rate = rate(self.clicked, self.sent);
        self.submit_rate = rate(self.submitted, self.sent);
        self.report_rate = rate(self.reported, self.sent);
        self
    }
}

/// Where each target got to, with and without the scanner filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub key: String,
    pub department: String,
    pub stage: Stage,
    pub filtered_stage: Stage,
    pub reported: bool,
}

/// Compute each target's stage with and without scanner events. Without events for a target
/// (a Results-only import), both stages are the exported status.
pub fn outcomes(targets: &[Target], events: &[Event], filter: &ScannerFilter) -> Vec<Outcome> {
    let mut by_key: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_key.entry(e.key.as_str()).or_default().push(e);
    }
    targets
        .iter()
        .map(|t| {
            let evs = by_key.get(t.key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let filtered_stage = if evs.is_empty() {
                t.stage
            } else {
                let from_events = evs
                    .iter()
                    .filter(|e| !filter.is_scanner(e, t.send_at))
                    .map(|e| e.kind.stage())
                    .max()
                    .unwrap_or(Stage::NotSent);
                let delivered = if t.stage >= Stage::Sent {
                    Stage::Sent
                } else {
                    Stage::NotSent
                };
                from_events.max(delivered)
            };
            Outcome {
                key: t.key.clone(),
                department: t.department.clone(),
                stage: t.stage,
                filtered_stage,
                reported: t.reported,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentMetrics {
    pub department: String,
    pub unfiltered: Counts,
    pub filtered: Counts,
}

/// One campaign's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignMetrics {
    pub unfiltered: Counts,
    pub filtered: Counts,
    /// Opens and clicks attributed to scanners.
    pub scanner_events: usize,
    /// Whether timeline events were imported (without them the filter cannot apply).
    pub events_available: bool,
    /// Seconds from the first delivery to the first report.
    pub time_to_first_report_s: Option<i64>,
    pub by_department: Vec<DepartmentMetrics>,
}

/// The name under which departments smaller than the minimum group size are merged.
pub const SMALL_GROUPS: &str = "(small groups merged)";

pub fn campaign_metrics(
    targets: &[Target],
    events: &[Event],
    filter: &ScannerFilter,
    min_group: usize,
) -> CampaignMetrics {
    let outs = outcomes(targets, events, filter);
    let sends: BTreeMap<&str, Option<Timestamp>> = targets
        .iter()
        .map(|t| (t.key.as_str(), t.send_at))
        .collect();
    let scanner_events = events
        .iter()
        .filter(|e| filter.is_scanner(e, sends.get(e.key.as_str()).copied().flatten()))
        .count();
    let first_send = targets
        .iter()
        .filter_map(|t| t.send_at)
        .chain(
            events
                .iter()
                .filter(|e| e.kind == EventKind::Sent)
                .map(|e| e.at),
        )
        .min();
    let first_report = events
        .iter()
        .filter(|e| e.kind == EventKind::Reported)
        .map(|e| e.at)
        .min();
    let mut all = (Counts::default(), Counts::default());
    let mut deps: BTreeMap<String, (Counts, Counts)> = BTreeMap::new();
    for o in &outs {
        all.0.add(o.stage, o.reported);
        all.1.add(o.filtered_stage, o.reported);
        let d = deps.entry(o.department.clone()).or_default();
        d.0.add(o.stage, o.reported);
        d.1.add(o.filtered_stage, o.reported);
    }
    // Merge groups too small to stay anonymous, by recounting their outcomes.
    let small: BTreeSet<String> = deps
        .iter()
        .filter(|(_, c)| c.0.targets < min_group)
        .map(|(d, _)| d.clone())
        .collect();
    if !small.is_empty() {
        let mut merged = (Counts::default(), Counts::default());
        for o in outs.iter().filter(|o| small.contains(&o.department)) {
            merged.0.add(o.stage, o.reported);
            merged.1.add(o.filtered_stage, o.reported);
        }
        deps.retain(|d, _| !small.contains(d));
        deps.insert(SMALL_GROUPS.to_owned(), merged);
    }
    CampaignMetrics {
        unfiltered: all.0.finish(),
        filtered: all.1.finish(),
        scanner_events,
        events_available: !events.is_empty(),
        time_to_first_report_s: match (first_send, first_report) {
            (Some(s), Some(r)) => Some(r.as_second() - s.as_second()),
            _ => None,
        },
        by_department: deps
            .into_iter()
            .map(|(department, (u, f))| DepartmentMetrics {
                department,
                unfiltered: u.finish(),
                filtered: f.finish(),
            })
            .collect(),
    }
}

/// People who clicked in more than one campaign, counted and never named.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepeatClickers {
    pub unfiltered: usize,
    pub filtered: usize,
    /// Filtered repeat clickers per department (small departments merged).
    pub by_department: BTreeMap<String, usize>,
}

/// Count repeat clickers over campaigns, given each campaign's outcomes.
pub fn repeat_clickers(campaigns: &[Vec<Outcome>], min_group: usize) -> RepeatClickers {
    let mut u: BTreeMap<&str, usize> = BTreeMap::new();
    let mut f: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let mut dep_sizes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in campaigns {
        for o in c {
            dep_sizes
                .entry(o.department.as_str())
                .or_default()
                .insert(o.key.as_str());
            if o.stage >= Stage::Clicked {
                *u.entry(o.key.as_str()).or_default() += 1;
            }
            if o.filtered_stage >= Stage::Clicked {
                let e = f
                    .entry(o.key.as_str())
                    .or_insert((0, o.department.as_str()));
                e.0 += 1;
                e.1 = o.department.as_str();
            }
        }
    }
    let mut by_department = BTreeMap::new();
    for (n, d) in f.values() {
        if *n > 1 {
            let d = if dep_sizes.get(d).map_or(0, BTreeSet::len) < min_group {
                SMALL_GROUPS
            } else {
                d
            };
            *by_department.entry(d.to_owned()).or_default() += 1;
        }
    }
    RepeatClickers {
        unfiltered: u.values().filter(|n| **n > 1).count(),
        filtered: f.values().filter(|(n, _)| *n > 1).count(),
        by_department,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::phishing::ts;

    #[test]
    fn cidr_matching() {
        assert!(ip_in("192.0.2.77", "192.0.2.0/24"));
        assert!(!ip_in("192.0.3.1", "192.0.2.0/24"));
        assert!(ip_in("10.0.0.1", "10.0.0.1"));
        assert!(ip_in("2001:db8::5", "2001:db8::/32"));
        assert!(!ip_in("garbage", "10.0.0.0/8"));
    }

    #[test]
    fn scanner_filter_on_timings() {
        let key = b"k";
        let send = ts("2026-03-02T09:00:00Z");
        let t = |e: &str, st: Stage| Target {
            key: pseudonym(key, e),
            department: "Care".into(),
            stage: st,
            reported: false,
            send_at: Some(send),
        };
        let ev = |e: &str, secs: i64, kind: EventKind, ua: &str| Event {
            key: pseudonym(key, e),
            at: send
                .checked_add(jiff::SignedDuration::from_secs(secs))
                .unwrap(),
            kind,
            user_agent: Some(ua.into()),
            ip: Some("198.51.100.1".into()),
        };
        let targets = vec![
            t("fast@x", Stage::Clicked),
            t("human@x", Stage::Clicked),
            t("ua@x", Stage::Clicked),
            t("both@x", Stage::Submitted),
        ];
        let events = vec![
            ev("fast@x", 0, EventKind::Sent, ""),
            ev("fast@x", 3, EventKind::Clicked, "Mozilla/5.0"),
            ev("human@x", 0, EventKind::Sent, ""),
            ev("human@x", 600, EventKind::Clicked, "Mozilla/5.0"),
            ev("ua@x", 0, EventKind::Sent, ""),
            ev(
                "ua@x",
                900,
                EventKind::Clicked,
                "Mozilla/5.0 Barracuda Sentinel",
            ),
            ev("both@x", 0, EventKind::Sent, ""),
            ev("both@x", 2, EventKind::Clicked, "x"),
            ev("both@x", 120, EventKind::Submitted, "x"),
        ];
        let f = ScannerFilter::default();
        let m = campaign_metrics(&targets, &events, &f, 1);
        assert_eq!(m.unfiltered.clicked, 4);
        assert_eq!(m.filtered.clicked, 2, "human and the submitter");
        assert_eq!(m.filtered.submitted, 1);
        assert_eq!(m.scanner_events, 3);
        // A longer delay catches the human too; a zero delay only the user agent.
        let slow = ScannerFilter {
            min_seconds_after_send: 601,
            ..f.clone()
        };
        assert_eq!(
            campaign_metrics(&targets, &events, &slow, 1)
                .filtered
                .clicked,
            1
        );
        let none = ScannerFilter {
            min_seconds_after_send: 0,
            user_agents: vec![],
            addresses: vec!["198.51.100.0/24".into()],
        };
        assert_eq!(
            campaign_metrics(&targets, &events, &none, 1)
                .filtered
                .clicked,
            1
        );
    }
}
