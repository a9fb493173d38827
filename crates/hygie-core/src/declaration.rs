//! What people declare about a measure.

use crate::InvalidValue;
use serde::Serialize;

/// Longest note or justification, in characters: an auditor reads it on one page; a longer text
/// belongs in an evidence file. Checked by the store for every front end.
pub const MAX_NOTE_CHARS: usize = 4_000;
/// Longest owner (a person or team name).
pub const MAX_OWNER_CHARS: usize = 200;

/// Refuse a free text of a declaration longer than `max` characters, or holding a NUL character
/// (which no one types, and which PostgreSQL cannot store), naming the field.
pub fn check_length(field: &'static str, text: &str, max: usize) -> Result<(), InvalidValue> {
    if text.contains('\0') {
        return Err(InvalidValue::new(
            field,
            format!("{field} holds a NUL character / {field} contient un caractère NUL"),
        ));
    }
    let n = text.chars().count();
    if n > max {
        return Err(InvalidValue::new(
            field,
            format!(
                "{field} is {n} characters long, at most {max} are kept (attach a longer text as an evidence file) / \
                 {field} compte {n} caractères, au plus {max} sont conservés (joindre un texte plus long comme pièce justificative)"
            ),
        ));
    }
    Ok(())
}

/// The declared state of a measure at a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeclaredStatus {
    NotStarted,
    InProgress,
    Implemented,
    /// Not applicable, with the justification the auditor will read.
    NotApplicable {
        justification: String,
    },
}

impl DeclaredStatus {
    /// The names of the statuses, as `parse` reads them and `as_str` writes them.
    pub const NAMES: [&'static str; 4] = [
        "not_started",
        "in_progress",
        "implemented",
        "not_applicable",
    ];

    /// Parse a status name; `not_applicable` needs a non-blank justification.
    pub fn parse(status: &str, justification: Option<&str>) -> Result<Self, InvalidValue> {
        let s = status.trim().to_ascii_lowercase().replace('-', "_");
        match s.as_str() {
            "not_started" => Ok(DeclaredStatus::NotStarted),
            "in_progress" => Ok(DeclaredStatus::InProgress),
            "implemented" | "done" => Ok(DeclaredStatus::Implemented),
            "not_applicable" | "na" | "n/a" => match justification.map(str::trim) {
                Some(j) if !j.is_empty() => Ok(DeclaredStatus::NotApplicable {
                    justification: j.to_owned(),
                }),
                _ => Err(InvalidValue::new(
                    "justification",
                    "a measure declared not applicable needs a justification (--justification)",
                )),
            },
            _ => Err(InvalidValue::new(
                "status",
                format!(
                    "'{status}' is not a status (not_started, in_progress, implemented, not_applicable)"
                ),
            )),
        }
    }

    /// The free texts of a declaration within their limits.
    pub fn check_texts(&self, owner: Option<&str>, note: Option<&str>) -> Result<(), InvalidValue> {
        if let Some(j) = self.justification() {
            check_length("justification", j, MAX_NOTE_CHARS)?;
        }
        if let Some(o) = owner {
            check_length("owner", o, MAX_OWNER_CHARS)?;
        }
        if let Some(n) = note {
            check_length("note", n, MAX_NOTE_CHARS)?;
        }
        Ok(())
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DeclaredStatus::NotStarted => "not_started",
            DeclaredStatus::InProgress => "in_progress",
            DeclaredStatus::Implemented => "implemented",
            DeclaredStatus::NotApplicable { .. } => "not_applicable",
        }
    }

    pub fn justification(&self) -> Option<&str> {
        match self {
            DeclaredStatus::NotApplicable { justification } => Some(justification),
            _ => None,
        }
    }
}

/// One declaration: the state of a measure as someone set it at some instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declaration {
    pub status: DeclaredStatus,
    pub owner: Option<String>,
    pub note: Option<String>,
    pub at: jiff::Timestamp,
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the OpenAPI document lists are exactly what `parse` reads and `as_str` writes.
    #[test]
    fn every_status_name_parses_to_itself() {
        for name in DeclaredStatus::NAMES {
            let s = DeclaredStatus::parse(name, Some("a reason")).expect(name);
            assert_eq!(s.as_str(), name);
        }
    }

    #[test]
    fn a_nul_character_is_refused_in_every_text() {
        let s = DeclaredStatus::parse("not_applicable", Some("a\0b")).expect("parses");
        assert!(s.check_texts(None, None).is_err());
        let s = DeclaredStatus::Implemented;
        assert!(s.check_texts(Some("x\0"), None).is_err());
        assert!(s.check_texts(None, Some("\0")).is_err());
        assert!(s.check_texts(Some("owner"), Some("note")).is_ok());
    }
}
