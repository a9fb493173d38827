//! What a package holds, as it travels (plain strings and integers, `serde`), and its validation
//! into the domain's types before the region stores anything.

use crate::Refusal;
use hygie_core::{
    CheckRun, Declaration, DeclaredStatus, Facility, FacilityKind, Finess, MeasureId, Nis2Status,
    Region, RuleOutcome, RuleResult, Severity,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One package: where it sits in the facility's sequence, and the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The facility the package reports on (its FINESS number).
    pub finess: String,
    /// 1 for the facility's first package, then one more each time.
    pub sequence: u64,
    /// The hash of the package before this one; absent for the first.
    pub previous_hash: Option<String>,
    /// The facility journal's last entry when the package was made.
    pub journal_head: JournalHead,
    /// When the package was made (RFC 3339, UTC).
    pub created_at: String,
    /// The catalogue version the facility's Hygie carries.
    pub catalog_version: String,
    pub facts: Facts,
    /// The facility changed its key: the statement signed by the old one (the package itself is
    /// signed by the new one). Absent otherwise, so packages without it keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<crate::Rotation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHead {
    pub seq: u64,
    pub hash: String,
}

/// Everything the region keeps about the facility: a full snapshot (see the crate doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    pub facility: FacilityRecord,
    /// Every declaration, oldest first (the order the status computation replays).
    pub declarations: Vec<DeclarationRecord>,
    pub evidence: Vec<EvidenceRecord>,
    pub check_runs: Vec<RunSummary>,
    pub obligations: Vec<ObligationRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityRecord {
    pub finess: String,
    pub legal_entity: Option<String>,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub nis2: String,
    pub plan_start: String,
}

/// A declaration, without who typed it: the owner (a role or team) is what the region reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationRecord {
    pub measure: String,
    pub status: String,
    pub justification: Option<String>,
    pub owner: Option<String>,
    pub note: Option<String>,
    pub at: String,
}

/// Evidence metadata: never the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRecord {
    pub measure: String,
    /// `file` or `link`.
    pub kind: String,
    /// The file's name or the link's title.
    pub name: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub url: Option<String>,
    pub at: String,
}

/// A check run's results by rule, with how many objects failed and never which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    pub id: String,
    pub source: String,
    pub at: String,
    pub results: Vec<RuleSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSummary {
    pub rule: String,
    pub severity: String,
    /// `pass` or `fail`.
    pub outcome: String,
    pub measures: Vec<String>,
    pub objects: u64,
}

/// One legal duty of an incident: no fact of the incident, no person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationRecord {
    pub incident: String,
    pub duty: String,
    /// due, late, sent, not_required, anticipated, recommended.
    pub status: String,
    pub due: Option<String>,
    pub sent: Option<String>,
    pub late: bool,
}

/// A package's facts in the domain's types, every field parsed.
#[derive(Debug, Clone)]
pub struct Checked {
    pub facility: Facility,
    pub declarations: Vec<(MeasureId, Declaration)>,
    pub runs: Vec<CheckRun>,
    /// Failed-object counts by run id and rule (the runs themselves carry no object names).
    pub object_counts: HashMap<String, Vec<(String, u64)>>,
}

/// The longest id, source, rule, duty or name a package may carry.
const MAX_NAME: usize = 200;

fn malformed(field: impl std::fmt::Display, why: impl std::fmt::Display) -> Refusal {
    Refusal::Malformed(format!("{field}: {why}"))
}

/// An instant, to the microsecond (what the store keeps, so a package read back compares equal).
fn timestamp(field: &str, s: &str) -> Result<jiff::Timestamp, Refusal> {
    let t = s
        .parse::<jiff::Timestamp>()
        .map_err(|e| malformed(field, format!("'{s}' is not an RFC 3339 instant ({e})")))?;
    jiff::Timestamp::from_microsecond(t.as_microsecond()).map_err(|e| malformed(field, e))
}

fn name(field: &str, s: &str) -> Result<(), Refusal> {
    if s.trim().is_empty() || s.chars().count() > MAX_NAME || s.chars().any(char::is_control) {
        return Err(malformed(
            field,
            format!("must be 1 to {MAX_NAME} printable characters"),
        ));
    }
    Ok(())
}

fn sha256_hex(field: &str, s: &str) -> Result<(), Refusal> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(malformed(
            field,
            "64 lower-case hexadecimal digits expected",
        ));
    }
    Ok(())
}

impl Facts {
    /// The facts of a facility, from its domain values: declarations in the order they are
    /// replayed, run results with object counts only. Evidence and obligations come as records.
    pub fn of(
        facility: &Facility,
        declarations: &[(MeasureId, Declaration)],
        runs: &[CheckRun],
        evidence: Vec<EvidenceRecord>,
        obligations: Vec<ObligationRecord>,
    ) -> Facts {
        Facts {
            facility: FacilityRecord {
                finess: facility.id.to_string(),
                legal_entity: facility.legal_entity.as_ref().map(|l| l.to_string()),
                name: facility.name.clone(),
                kind: facility.kind.as_str().to_owned(),
                region: facility.region.code().to_owned(),
                nis2: facility.nis2.as_str().to_owned(),
                plan_start: facility.plan_start.to_string(),
            },
            declarations: declarations
                .iter()
                .map(|(m, d)| DeclarationRecord::of(m, d))
                .collect(),
            evidence,
            check_runs: runs
                .iter()
                .map(|r| RunSummary {
                    id: r.id.clone(),
                    source: r.source.clone(),
                    at: r.at.to_string(),
                    results: r
                        .results
                        .iter()
                        .map(|x| RuleSummary {
                            rule: x.rule.clone(),
                            severity: x.severity.as_str().to_owned(),
                            outcome: match x.outcome {
                                RuleOutcome::Pass => "pass",
                                RuleOutcome::Fail => "fail",
                            }
                            .to_owned(),
                            measures: x.measures.iter().map(|m| m.to_string()).collect(),
                            objects: x.objects.len() as u64,
                        })
                        .collect(),
                })
                .collect(),
            obligations,
        }
    }
}

impl DeclarationRecord {
    /// A declaration in its travelling form (who typed it is left out).
    pub fn of(measure: &MeasureId, d: &Declaration) -> DeclarationRecord {
        DeclarationRecord {
            measure: measure.to_string(),
            status: d.status.as_str().to_owned(),
            justification: d.status.justification().map(str::to_owned),
            owner: d.owner.clone(),
            note: d.note.clone(),
            at: d.at.to_string(),
        }
    }
}

/// The positions in `incoming` (a package's declarations) of those `stored` (what earlier
/// packages brought, both in `DeclarationRecord::of`'s normal form) does not hold yet. A
/// facility's history only grows, so these are the new ones; a declaration made twice
/// identically counts twice.
pub fn new_declarations(
    incoming: &[DeclarationRecord],
    stored: &[DeclarationRecord],
) -> Vec<usize> {
    let mut have: HashMap<&DeclarationRecord, usize> = HashMap::new();
    for d in stored {
        *have.entry(d).or_default() += 1;
    }
    incoming
        .iter()
        .enumerate()
        .filter(|(_, d)| match have.get_mut(d) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .map(|(i, _)| i)
        .collect()
}

impl Package {
    /// Check every field and turn the facts into domain values, so nothing malformed is stored.
    /// `actor` is who the region records the declarations as made by (`sync:FINESS`).
    pub fn check(&self, actor: &str) -> Result<Checked, Refusal> {
        let finess = Finess::parse(&self.finess).map_err(|e| malformed("finess", e))?;
        if self.sequence == 0 {
            return Err(malformed("sequence", "starts at 1"));
        }
        match (&self.previous_hash, self.sequence) {
            (None, 1) => {}
            (Some(_), 1) => return Err(malformed("previous_hash", "the first package has none")),
            (None, _) => {
                return Err(malformed(
                    "previous_hash",
                    "required after the first package",
                ));
            }
            (Some(h), _) => sha256_hex("previous_hash", h)?,
        }
        sha256_hex("journal_head.hash", &self.journal_head.hash)?;
        timestamp("created_at", &self.created_at)?;
        name("catalog_version", &self.catalog_version)?;
        let f = &self.facts.facility;
        let facility = Facility {
            id: Finess::parse(&f.finess).map_err(|e| malformed("facility.finess", e))?,
            legal_entity: f
                .legal_entity
                .as_deref()
                .map(Finess::parse)
                .transpose()
                .map_err(|e| malformed("facility.legal_entity", e))?,
            name: {
                name("facility.name", &f.name)?;
                f.name.clone()
            },
            kind: f
                .kind
                .parse::<FacilityKind>()
                .map_err(|e| malformed("facility.kind", e))?,
            region: Region::parse(&f.region).map_err(|e| malformed("facility.region", e))?,
            nis2: f
                .nis2
                .parse::<Nis2Status>()
                .map_err(|e| malformed("facility.nis2", e))?,
            plan_start: hygie_core::parse_date("plan_start", &f.plan_start)
                .map_err(|e| malformed("facility.plan_start", e))?,
        };
        if facility.id != finess {
            return Err(malformed(
                "facility.finess",
                format!("{} differs from the package's {}", facility.id, finess),
            ));
        }
        let mut declarations = Vec::with_capacity(self.facts.declarations.len());
        for (i, d) in self.facts.declarations.iter().enumerate() {
            let field = |f: &str| format!("declarations[{i}].{f}");
            let measure =
                MeasureId::parse(&d.measure).map_err(|e| malformed(field("measure"), e))?;
            let status = DeclaredStatus::parse(&d.status, d.justification.as_deref())
                .map_err(|e| malformed(field(e.field), e.message))?;
            status
                .check_texts(d.owner.as_deref(), d.note.as_deref())
                .map_err(|e| malformed(field(e.field), e.message))?;
            declarations.push((
                measure,
                Declaration {
                    status,
                    owner: d.owner.clone(),
                    note: d.note.clone(),
                    at: timestamp(&field("at"), &d.at)?,
                    by: actor.to_owned(),
                },
            ));
        }
        for (i, e) in self.facts.evidence.iter().enumerate() {
            let field = |f: &str| format!("evidence[{i}].{f}");
            MeasureId::parse(&e.measure).map_err(|x| malformed(field("measure"), x))?;
            match e.kind.as_str() {
                "file" => sha256_hex(&field("sha256"), e.sha256.as_deref().unwrap_or(""))?,
                "link" => {}
                other => {
                    return Err(malformed(
                        field("kind"),
                        format!("'{other}' (file or link)"),
                    ));
                }
            }
            if let Some(n) = &e.name {
                name(&field("name"), n)?;
            }
            timestamp(&field("at"), &e.at)?;
        }
        let mut runs = Vec::with_capacity(self.facts.check_runs.len());
        let mut object_counts = HashMap::new();
        for (i, r) in self.facts.check_runs.iter().enumerate() {
            let field = |f: &str| format!("check_runs[{i}].{f}");
            name(&field("id"), &r.id)?;
            name(&field("source"), &r.source)?;
            let mut results = Vec::with_capacity(r.results.len());
            let mut counts = Vec::with_capacity(r.results.len());
            for (j, x) in r.results.iter().enumerate() {
                let field = |f: &str| format!("check_runs[{i}].results[{j}].{f}");
                name(&field("rule"), &x.rule)?;
                let outcome = match x.outcome.as_str() {
                    "pass" => RuleOutcome::Pass,
                    "fail" => RuleOutcome::Fail,
                    other => {
                        return Err(malformed(
                            field("outcome"),
                            format!("'{other}' (pass or fail)"),
                        ));
                    }
                };
                results.push(RuleResult {
                    rule: x.rule.clone(),
                    severity: x
                        .severity
                        .parse::<Severity>()
                        .map_err(|e| malformed(field("severity"), e))?,
                    outcome,
                    measures: x
                        .measures
                        .iter()
                        .map(|m| MeasureId::parse(m))
                        .collect::<Result<_, _>>()
                        .map_err(|e| malformed(field("measures"), e))?,
                    objects: Vec::new(),
                });
                counts.push((x.rule.clone(), x.objects));
            }
            if object_counts.insert(r.id.clone(), counts).is_some() {
                return Err(malformed(
                    field("id"),
                    format!("run '{}' appears twice", r.id),
                ));
            }
            runs.push(CheckRun {
                id: r.id.clone(),
                source: r.source.clone(),
                at: timestamp(&field("at"), &r.at)?,
                results,
            });
        }
        for (i, o) in self.facts.obligations.iter().enumerate() {
            let field = |f: &str| format!("obligations[{i}].{f}");
            name(&field("incident"), &o.incident)?;
            name(&field("duty"), &o.duty)?;
            name(&field("status"), &o.status)?;
            for (f, v) in [("due", &o.due), ("sent", &o.sent)] {
                if let Some(v) = v {
                    timestamp(&field(f), v)?;
                }
            }
        }
        Ok(Checked {
            facility,
            declarations,
            runs,
            object_counts,
        })
    }
}
