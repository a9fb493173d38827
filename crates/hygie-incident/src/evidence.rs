//! The evidence-preservation checklist of a malicious incident: the items are data
//! (`data/complaint.toml`, after ANSSI hygiene measure 40: keep machines powered, isolate rather
//! than shut down, preserve logs and memory, record who did what); each tick says who did it and
//! when, is kept in the incident's record and journalled by the store with the change.
//! Evidence files (logs, memory or disk images, screenshots) are kept by the store by SHA-256;
//! the record keeps each file's chain of custody: who added it, when, from where.

use crate::clock;
use crate::complaint::{EvidenceItem, evidence_items};
use crate::incident::Incident;
use crate::{IncidentError, Result};
use hygie_core::Lang;
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// One checklist item done: by whom, when (the act itself), recorded when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceTick {
    pub item: String,
    pub by: String,
    pub at: Zoned,
    pub note: Option<String>,
    pub recorded_at: Timestamp,
}

/// One line of the checklist as shown: the item, and its tick if done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistLine<'a> {
    pub item: &'a EvidenceItem,
    pub tick: Option<&'a EvidenceTick>,
}

impl ChecklistLine<'_> {
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        serde_json::json!({
            "item": self.item.id,
            "text": self.item.text.get(lang),
            "source": self.item.source,
            "done": self.tick.is_some(),
            "by": self.tick.map(|t| t.by.clone()),
            "at": self.tick.map(|t| clock::rfc3339(&t.at)),
            "note": self.tick.and_then(|t| t.note.clone()),
        })
    }

    /// Item, done, by, at: the table row.
    pub fn row(&self, lang: Lang) -> Vec<String> {
        vec![
            self.item.id.clone(),
            self.item.text.get(lang).to_owned(),
            match (self.tick, lang) {
                (Some(_), Lang::En) => "done".into(),
                (Some(_), Lang::Fr) => "fait".into(),
                (None, Lang::En) => "to do".into(),
                (None, Lang::Fr) => "à faire".into(),
            },
            self.tick.map(|t| t.by.clone()).unwrap_or_default(),
            self.tick.map(|t| clock::rfc3339(&t.at)).unwrap_or_default(),
        ]
    }
}

/// The columns of [`ChecklistLine::row`].
pub const HEADERS: [&str; 5] = ["Item", "Action", "Status", "By", "At"];

impl Incident {
    /// The checklist with its ticks; empty when the incident is not a malicious act.
    pub fn evidence_checklist(&self) -> Vec<ChecklistLine<'_>> {
        if !self.facts.is_malicious() {
            return Vec::new();
        }
        evidence_items()
            .iter()
            .map(|item| ChecklistLine {
                item,
                tick: self.evidence.iter().rev().find(|t| t.item == item.id),
            })
            .collect()
    }

    /// Tick a checklist item: who did it and when. Refused for an incident that is not a
    /// malicious act, for an unknown item, an empty name, a time before awareness or in the
    /// future, and on a closed incident.
    pub fn tick_evidence(
        &mut self,
        item: &str,
        by: &str,
        at: Zoned,
        note: Option<String>,
        now: Timestamp,
    ) -> Result<()> {
        if self.status == crate::IncidentStatus::Closed {
            return Err(IncidentError::Transition(format!(
                "incident {} is closed: cannot tick its evidence checklist",
                self.id
            )));
        }
        if !self.facts.is_malicious() {
            return Err(IncidentError::Transition(format!(
                "incident {} is not a malicious act: it has no evidence-preservation checklist (set a malicious category or suspected_malicious)",
                self.id
            )));
        }
        let item = item.trim();
        if !evidence_items().iter().any(|i| i.id == item) {
            return Err(IncidentError::invalid(
                "item",
                format!(
                    "'{item}' is not a checklist item ({})",
                    evidence_items()
                        .iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let by = by.trim();
        if by.is_empty() {
            return Err(IncidentError::invalid("by", "say who did it"));
        }
        if at.timestamp() > now + SignedDuration::from_mins(5) {
            return Err(IncidentError::Chronology(format!(
                "{item} done at {}, which is in the future",
                clock::rfc3339(&at)
            )));
        }
        if let Some(o) = self
            .facts
            .occurrence
            .as_ref()
            .or(Some(&self.facts.awareness))
            && at.timestamp() < o.timestamp()
        {
            return Err(IncidentError::Chronology(format!(
                "{item} done at {}, before the incident ({})",
                clock::rfc3339(&at),
                clock::rfc3339(o)
            )));
        }
        self.evidence.push(EvidenceTick {
            item: item.to_owned(),
            by: by.to_owned(),
            at,
            note: note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            recorded_at: now,
        });
        Ok(())
    }
}

/// An evidence file of the incident and its custody: the content is kept by the store by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFile {
    pub sha256: String,
    pub file_name: String,
    pub size: u64,
    /// Who added it.
    pub added_by: String,
    pub added_at: Timestamp,
    /// Where it comes from (machine, path, tool that produced it).
    pub from: String,
    pub note: Option<String>,
}

impl EvidenceFile {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sha256": self.sha256, "file_name": self.file_name, "size": self.size,
            "added_by": self.added_by, "added_at": self.added_at.to_string(),
            "from": self.from, "note": self.note,
        })
    }
}

impl Incident {
    /// Record an evidence file the store keeps under `sha256`, with who added it and from where.
    /// Refused on a closed incident, without a name, a source or a valid SHA-256.
    pub fn add_evidence_file(&mut self, file: EvidenceFile) -> Result<()> {
        if self.status == crate::IncidentStatus::Closed {
            return Err(IncidentError::Transition(format!(
                "incident {} is closed: cannot add evidence",
                self.id
            )));
        }
        if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IncidentError::invalid("sha256", "not a SHA-256 in hex"));
        }
        for (field, v) in [
            ("file_name", &file.file_name),
            ("by", &file.added_by),
            ("from", &file.from),
        ] {
            if v.trim().is_empty() {
                return Err(IncidentError::invalid(field, "must not be empty"));
            }
        }
        self.evidence_files.push(file);
        Ok(())
    }
}
