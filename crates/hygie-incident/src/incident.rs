//! The incident record and its lifecycle: open, update facts, record sendings, change status,
//! close. Every operation validates first and changes nothing when it refuses.
//!
//! Lifecycle: open → contained → resolved, then close (unmet duties need a justification).
//! Sendings keep the exact text sent with its SHA-256; the CNIL notification may be phased and
//! a late one needs its reasons. `obligation_log` receives every re-derivation that changes a
//! duty's requirement, reason or due time, with its cause (`open`, `update:
//! personal_data_breach`, `notify: nis2_notification`...).

use crate::clock;
use crate::duty::Duty;
use crate::facts::{Facts, FactsInput};
use crate::obligations::{self, Obligation, ObligationStatus};
use crate::regimes::Regimes;
use crate::{IncidentError, Result};
use hygie_core::{Lang, Localized};
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Re-exported where the record's users have always found them.
pub use crate::duty::{Phase, Sending};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Contained,
    Resolved,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Open,
        IncidentStatus::Contained,
        IncidentStatus::Resolved,
        IncidentStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Closed => "closed",
        }
    }

    /// The status as a word for people, in both languages.
    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            IncidentStatus::Open => ("open", "ouvert"),
            IncidentStatus::Contained => ("contained", "contenu"),
            IncidentStatus::Resolved => ("resolved", "résolu"),
            IncidentStatus::Closed => ("closed", "clos"),
        };
        Localized::new(en, fr)
    }
}

impl std::str::FromStr for IncidentStatus {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "contained" => Ok(Self::Contained),
            "resolved" => Ok(Self::Resolved),
            "closed" => Ok(Self::Closed),
            _ => Err(IncidentError::invalid(
                "status",
                format!("'{s}' is not a status (open, contained, resolved; closed via `close`)"),
            )),
        }
    }
}

/// A change in why a duty exists (or not), kept when facts change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationEvent {
    pub at: Timestamp,
    pub duty: Duty,
    pub required: bool,
    pub reason: String,
    /// The reason in French (absent from events logged before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_fr: Option<String>,
    pub due: Option<String>,
    /// What caused the re-derivation (`open`, `update: personal_data_breach`, `notify`...).
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub at: Timestamp,
    pub justification: Option<String>,
    /// The duties left unmet at closure.
    pub unmet: Vec<Duty>,
}

/// An incident: its facts, its sendings, the history of its obligations, its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub status: IncidentStatus,
    pub facts: Facts,
    pub sendings: Vec<Sending>,
    pub obligation_log: Vec<ObligationEvent>,
    pub closure: Option<Closure>,
    pub opened_at: Timestamp,
    /// The regimes the duties are judged under: not part of the record; the store sets it
    /// from the bundled data and the administrator's in-force dates on every read.
    #[serde(skip)]
    pub regimes: Regimes,
    /// The evidence-preservation checklist's ticks (malicious incidents); skipped when empty so
    /// older records keep their digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<crate::evidence::EvidenceTick>,
    /// Evidence files and their chain of custody; skipped when empty, as above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence_files: Vec<crate::evidence::EvidenceFile>,
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl Incident {
    /// Open an incident from validated facts.
    pub fn open(id: &str, facts: Facts, now: Timestamp) -> Result<Incident> {
        if id.trim().is_empty() {
            return Err(IncidentError::invalid("id", "must not be empty"));
        }
        facts.validate(now)?;
        let mut inc = Incident {
            id: id.to_owned(),
            status: IncidentStatus::Open,
            facts,
            sendings: Vec::new(),
            obligation_log: Vec::new(),
            closure: None,
            opened_at: now,
            regimes: Regimes::default(),
            evidence: Vec::new(),
            evidence_files: Vec::new(),
        };
        inc.log_changes(&[], "open", now)?;
        Ok(inc)
    }

    /// The current obligations at `now`.
    pub fn obligations(&self, now: Timestamp) -> Result<Vec<Obligation>> {
        obligations::derive_under(&self.facts, &self.sendings, &self.regimes, now)
    }

    /// How many obligations are due and how many are late at `now`.
    pub fn due_and_late(&self, now: Timestamp) -> Result<(usize, usize)> {
        let obs = self.obligations(now)?;
        let count = |s: ObligationStatus| obs.iter().filter(|o| o.status == s).count();
        Ok((count(ObligationStatus::Due), count(ObligationStatus::Late)))
    }

    pub fn obligation(&self, duty: Duty, now: Timestamp) -> Result<Obligation> {
        self.obligations(now)?
            .into_iter()
            .find(|o| o.duty == duty)
            .ok_or_else(|| IncidentError::invalid("duty", format!("{duty} is unknown")))
    }

    /// A SHA-256 over the whole record, journalled with each change so that an edit of the
    /// stored record outside Hygie is detected.
    pub fn digest(&self) -> String {
        sha256(&serde_json::to_string(self).unwrap_or_default())
    }

    fn refuse_if_closed(&self, what: &str) -> Result<()> {
        if self.status == IncidentStatus::Closed {
            return Err(IncidentError::Transition(format!(
                "incident {} is closed: cannot {what}",
                self.id
            )));
        }
        Ok(())
    }

    /// Append an event for every duty whose requirement, reason or due time changed.
    fn log_changes(&mut self, before: &[Obligation], cause: &str, now: Timestamp) -> Result<usize> {
        let after = self.obligations(now)?;
        let mut n = 0;
        for o in &after {
            let prev = before.iter().find(|p| p.duty == o.duty);
            let changed = match prev {
                None => true,
                Some(p) => p.required != o.required || p.reason != o.reason || p.due != o.due,
            };
            if changed {
                self.obligation_log.push(ObligationEvent {
                    at: now,
                    duty: o.duty,
                    required: o.required,
                    reason: o.reason.en.clone(),
                    reason_fr: Some(o.reason.fr.clone()),
                    due: o.due.as_ref().map(clock::rfc3339),
                    cause: cause.to_owned(),
                });
                n += 1;
            }
        }
        Ok(n)
    }

    /// Apply a patch of facts; obligations are re-derived and their history extended.
    /// Returns the names of the facts that changed.
    pub fn update(&mut self, patch: &FactsInput, now: Timestamp) -> Result<Vec<String>> {
        self.refuse_if_closed("change its facts")?;
        let before = self.obligations(now)?;
        let mut facts = self.facts.clone();
        patch.apply(&mut facts, now)?;
        facts.validate(now)?;
        for s in &self.sendings {
            if s.at.timestamp() < facts.awareness.timestamp() {
                return Err(IncidentError::Chronology(format!(
                    "awareness {} would be after the {} notification sent at {}",
                    clock::rfc3339(&facts.awareness),
                    s.duty,
                    clock::rfc3339(&s.at)
                )));
            }
        }
        let changed = changed_fields(&self.facts, &facts);
        if changed.is_empty() {
            return Ok(changed);
        }
        let old = std::mem::replace(&mut self.facts, facts);
        if let Err(e) = self.log_changes(&before, &format!("update: {}", changed.join(", ")), now) {
            self.facts = old;
            return Err(e);
        }
        Ok(changed)
    }

    /// Move to `contained` or `resolved` (forward only; `close` closes).
    pub fn set_status(&mut self, to: IncidentStatus, now: Timestamp) -> Result<()> {
        self.refuse_if_closed("change its status")?;
        if to == IncidentStatus::Closed {
            return Err(IncidentError::Transition(
                "use `close` to close an incident (unmet obligations need a justification)".into(),
            ));
        }
        if to < self.status {
            return Err(IncidentError::Transition(format!(
                "incident {} cannot go back from {} to {}",
                self.id,
                self.status.as_str(),
                to.as_str()
            )));
        }
        if to == self.status {
            return Ok(());
        }
        let before = self.obligations(now)?;
        self.status = to;
        if to == IncidentStatus::Resolved && self.facts.resolved_at.is_none() {
            let tz = self.facts.tz()?;
            self.facts.resolved_at = Some(now.to_zoned(tz));
        }
        self.log_changes(&before, &format!("status: {}", to.as_str()), now)?;
        Ok(())
    }

    /// Record that a notification was sent at `at`, with the text sent.
    #[allow(clippy::too_many_arguments)]
    pub fn record_sending(
        &mut self,
        duty: Duty,
        at: Zoned,
        reference: Option<String>,
        phase: Phase,
        lang: Lang,
        late_reason: Option<String>,
        snapshot: String,
        now: Timestamp,
    ) -> Result<()> {
        self.refuse_if_closed("record a notification")?;
        let before = self.obligations(now)?;
        let o = before
            .iter()
            .find(|o| o.duty == duty)
            .ok_or_else(|| IncidentError::invalid("duty", format!("{duty} is unknown")))?;
        if !o.required {
            return Err(IncidentError::Transition(format!(
                "{duty} is not required for incident {}: {}",
                self.id, o.reason.en
            )));
        }
        let aw = &self.facts.awareness;
        if at.timestamp() < aw.timestamp() {
            return Err(IncidentError::Chronology(format!(
                "{duty} sent at {}, before awareness {}",
                clock::rfc3339(&at),
                clock::rfc3339(aw)
            )));
        }
        if let Some(start) = &o.start
            && at.timestamp() < start.timestamp()
        {
            return Err(IncidentError::Chronology(format!(
                "{duty} sent at {}, before its start {}",
                clock::rfc3339(&at),
                clock::rfc3339(start)
            )));
        }
        if at.timestamp() > now + SignedDuration::from_mins(5) {
            return Err(IncidentError::Chronology(format!(
                "{duty} sent at {}, which is in the future",
                clock::rfc3339(&at)
            )));
        }
        let already = self.sendings.iter().any(|s| s.duty == duty);
        match (phase, already) {
            (Phase::Initial, true) => {
                return Err(IncidentError::Transition(format!(
                    "{duty} was already sent{}",
                    if duty.phased() {
                        "; record a further phase with --phase complement"
                    } else {
                        ""
                    }
                )));
            }
            (Phase::Complement, false) => {
                return Err(IncidentError::Transition(format!(
                    "{duty}: a complement needs an initial sending first"
                )));
            }
            (Phase::Complement, true) if !duty.phased() => {
                return Err(IncidentError::Transition(format!(
                    "{duty} is not sent in phases (phased: cnil, nis2_notification, nis2_intermediate, nis2_progress)"
                )));
            }
            _ => {}
        }
        if matches!(
            duty,
            Duty::Nis2Final | Duty::Nis2Progress | Duty::Nis2Intermediate
        ) && !self
            .sendings
            .iter()
            .any(|s| s.duty == Duty::Nis2Notification)
        {
            return Err(IncidentError::Transition(format!(
                "{duty}: send the NIS 2 incident notification first"
            )));
        }
        let late = phase == Phase::Initial
            && o.due
                .as_ref()
                .is_some_and(|d| at.timestamp() > d.timestamp());
        let late_reason = late_reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if late && duty == Duty::Cnil && late_reason.is_none() {
            return Err(IncidentError::invalid(
                "late_reason",
                format!(
                    "the CNIL notification is sent after 72 h (due {}): GDPR 33(1) requires the reasons for the delay",
                    o.due.as_ref().map(clock::rfc3339).unwrap_or_default()
                ),
            ));
        }
        if let Some(r) = &reference
            && r.trim().is_empty()
        {
            return Err(IncidentError::invalid("reference", "must not be empty"));
        }
        self.sendings.push(Sending {
            duty,
            at,
            reference: reference.map(|r| r.trim().to_owned()),
            phase,
            lang,
            late_reason,
            snapshot_sha256: sha256(&snapshot),
            snapshot,
            recorded_at: now,
            channel: None,
        });
        self.log_changes(&before, &format!("notify: {duty}"), now)?;
        Ok(())
    }

    /// Close; refused when obligations are unmet and no justification is given.
    pub fn close(&mut self, justification: Option<String>, now: Timestamp) -> Result<Vec<Duty>> {
        self.refuse_if_closed("close it again")?;
        let obligations = self.obligations(now)?;
        let unmet: Vec<Duty> = obligations
            .iter()
            .filter(|o| o.unmet())
            .map(|o| o.duty)
            .collect();
        let justification = justification
            .map(|j| j.trim().to_owned())
            .filter(|j| !j.is_empty());
        if !unmet.is_empty() && justification.is_none() {
            return Err(IncidentError::Transition(format!(
                "incident {} has unmet obligations ({}): give a justification to close it anyway",
                self.id,
                unmet
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if self.facts.resolved_at.is_none() {
            self.facts.resolved_at = Some(now.to_zoned(self.facts.tz()?));
        }
        self.status = IncidentStatus::Closed;
        self.closure = Some(Closure {
            at: now,
            justification,
            unmet: unmet.clone(),
        });
        Ok(unmet)
    }
}

/// The facts named in `changed` (see `changed_fields`), each as `{"from": .., "to": ..}`: what
/// the journal keeps of an update.
pub fn facts_diff(
    before: &Facts,
    after: &Facts,
    changed: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    // Facts are plain data: serialising them cannot fail.
    let b = serde_json::to_value(before).unwrap_or_default();
    let a = serde_json::to_value(after).unwrap_or_default();
    changed
        .iter()
        .map(|k| {
            (
                k.clone(),
                serde_json::json!({"from": b.get(k), "to": a.get(k)}),
            )
        })
        .collect()
}

/// The names of the top-level facts that differ.
pub fn changed_fields(a: &Facts, b: &Facts) -> Vec<String> {
    let (Ok(serde_json::Value::Object(x)), Ok(serde_json::Value::Object(y))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["facts".into()];
    };
    y.iter()
        .filter(|(k, v)| x.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}
