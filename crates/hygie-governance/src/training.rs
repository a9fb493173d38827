//! Training sessions and their coverage per department and year.

use crate::org::{Person, Policy};
use crate::rules::{self, Finding};
use crate::{ImportError, columns, csv_records, field};
use hygie_core::Localized;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// Training of the cyber-security ambassadors (by the CISO).
    AmbassadorTraining,
    /// Awareness for all staff.
    Awareness,
    /// SSI training of the IT (and biomedical) operational teams.
    ItTraining,
    /// A cyber-crisis exercise.
    CrisisExercise,
}

impl SessionKind {
    pub const ALL: [SessionKind; 4] = [
        SessionKind::AmbassadorTraining,
        SessionKind::Awareness,
        SessionKind::ItTraining,
        SessionKind::CrisisExercise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::AmbassadorTraining => "ambassador-training",
            SessionKind::Awareness => "awareness",
            SessionKind::ItTraining => "it-training",
            SessionKind::CrisisExercise => "crisis-exercise",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            SessionKind::AmbassadorTraining => {
                Localized::new("ambassador training", "formation des ambassadeurs")
            }
            SessionKind::Awareness => Localized::new(
                "all-staff awareness",
                "sensibilisation de tout le personnel",
            ),
            SessionKind::ItTraining => Localized::new(
                "IT team SSI training",
                "formation SSI des équipes informatiques",
            ),
            SessionKind::CrisisExercise => Localized::new("crisis exercise", "exercice de crise"),
        }
    }
}

impl std::str::FromStr for SessionKind {
    type Err = hygie_core::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        SessionKind::ALL
            .into_iter()
            .find(|x| x.as_str() == k)
            .ok_or_else(|| {
                hygie_core::InvalidValue::new(
                    "kind",
                    format!(
                        "'{s}' is not a session kind ({})",
                        SessionKind::ALL.map(SessionKind::as_str).join(", ")
                    ),
                )
            })
    }
}

/// One training session and who attended (people ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub date: Date,
    /// The trainer's person id (or a name for an outside trainer).
    pub trainer: String,
    pub kind: SessionKind,
    #[serde(default)]
    pub title: String,
    pub attendees: Vec<String>,
}

/// Parse an attendance CSV with one column `person` (people ids); blank lines are skipped.
pub fn parse_attendees_csv(file: &str, text: &str) -> Result<Vec<String>, ImportError> {
    let (header, rows) = csv_records(file, text)?;
    let [person] = columns(&header, ["person"]);
    if person.is_none() {
        return Err(ImportError::line(
            file,
            1,
            "the header must have the column person",
        ));
    }
    let mut out = Vec::new();
    for (line, r) in rows {
        let p = field(&r, person).ok_or_else(|| ImportError::line(file, line, "empty person"))?;
        if !out.iter().any(|x| x == p) {
            out.push(p.to_owned());
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentCoverage {
    pub department: String,
    pub headcount: usize,
    pub trained: usize,
    pub ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearCoverage {
    pub year: i16,
    pub kinds: Vec<SessionKind>,
    pub sessions: usize,
    pub headcount: usize,
    pub trained: usize,
    pub ratio: f64,
    pub departments: Vec<DepartmentCoverage>,
    /// Attendees who are not in the people register (outside staff, typos).
    pub unknown_attendees: usize,
}

const NO_DEPARTMENT: &str = "(no department)";

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 1000.0).round() / 1000.0
    }
}

/// Coverage of the given session kinds per department over the people in `people`, for the
/// sessions whose date falls in `[from, to]`.
pub fn coverage(
    people: &[Person],
    sessions: &[Session],
    kinds: &[SessionKind],
    from: Date,
    to: Date,
) -> (Vec<DepartmentCoverage>, usize, usize, usize) {
    let selected: Vec<&Session> = sessions
        .iter()
        .filter(|s| kinds.contains(&s.kind) && s.date >= from && s.date <= to)
        .collect();
    let attended: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.attendees.iter().map(String::as_str))
        .collect();
    let ids: BTreeSet<&str> = people.iter().map(|p| p.id.as_str()).collect();
    let unknown = attended.iter().filter(|a| !ids.contains(*a)).count();
    let mut deps: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for p in people {
        let d = p
            .department
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| NO_DEPARTMENT.into());
        let e = deps.entry(d).or_default();
        e.0 += 1;
        if attended.contains(p.id.as_str()) {
            e.1 += 1;
        }
    }
    let (mut h, mut t) = (0, 0);
    let list = deps
        .into_iter()
        .map(|(department, (headcount, trained))| {
            h += headcount;
            t += trained;
            DepartmentCoverage {
                department,
                headcount,
                trained,
                ratio: ratio(trained, headcount),
            }
        })
        .collect();
    (list, h, t, unknown)
}

/// Coverage per calendar year with at least one session of the given kinds.
pub fn coverage_by_year(
    people: &[Person],
    sessions: &[Session],
    kinds: &[SessionKind],
) -> Vec<YearCoverage> {
    let years: BTreeSet<i16> = sessions
        .iter()
        .filter(|s| kinds.contains(&s.kind))
        .map(|s| s.date.year())
        .collect();
    years
        .into_iter()
        .map(|y| {
            let from = Date::new(y, 1, 1).unwrap_or(Date::MIN);
            let to = Date::new(y, 12, 31).unwrap_or(Date::MAX);
            let (departments, headcount, trained, unknown_attendees) =
                coverage(people, sessions, kinds, from, to);
            YearCoverage {
                year: y,
                kinds: kinds.to_vec(),
                sessions: sessions
                    .iter()
                    .filter(|s| kinds.contains(&s.kind) && s.date >= from && s.date <= to)
                    .count(),
                headcount,
                trained,
                ratio: ratio(trained, headcount),
                departments,
                unknown_attendees,
            }
        })
        .collect()
}

/// Training rules, evaluated when sessions exist.
pub(crate) fn rules(
    people: &[Person],
    sessions: &[Session],
    it_department: Option<&str>,
    as_of: Date,
    policy: &Policy,
) -> Vec<Finding> {
    let year_ago = as_of
        .checked_sub(jiff::Span::new().months(12))
        .unwrap_or(Date::MIN)
        .tomorrow()
        .unwrap_or(Date::MIN);
    let mut out = Vec::new();

    let mut f = rules::AWARENESS_YEARLY.pass().titled(Localized::new(
        format!(
            "At least {:.0}% of staff attended awareness in the last 12 months",
            policy.awareness_min_ratio * 100.0
        ),
        format!(
            "Au moins {:.0} % du personnel a été sensibilisé dans les 12 derniers mois",
            policy.awareness_min_ratio * 100.0
        ),
    ));
    let (deps, h, t, _) = coverage(people, sessions, &[SessionKind::Awareness], year_ago, as_of);
    if h > 0 && ratio(t, h) < policy.awareness_min_ratio {
        for d in deps.iter().filter(|d| d.ratio < policy.awareness_min_ratio) {
            f.fail(
                d.department.clone(),
                Localized::new(
                    format!(
                        "{}: {}/{} staff made aware",
                        d.department, d.trained, d.headcount
                    ),
                    format!(
                        "{} : {}/{} personnes sensibilisées",
                        d.department, d.trained, d.headcount
                    ),
                ),
            );
        }
    }
    out.push(f);

    if let Some(it) = it_department {
        let team: Vec<&Person> = people
            .iter()
            .filter(|p| {
                p.department
                    .as_deref()
                    .is_some_and(|d| d.trim().eq_ignore_ascii_case(it.trim()))
            })
            .collect();
        let mut f = rules::IT_TEAM_TRAINED.pass();
        for p in team {
            let done = sessions.iter().any(|s| {
                s.kind == SessionKind::ItTraining
                    && s.date <= as_of
                    && s.attendees.iter().any(|a| a == &p.id)
            });
            if !done {
                f.fail(
                    p.name.clone(),
                    Localized::new(
                        format!("{} has no IT SSI training on record", p.name),
                        format!("{} n'a aucune formation SSI enregistrée", p.name),
                    ),
                );
            }
        }
        out.push(f);
    }

    let mut f = rules::CRISIS_EXERCISE_YEARLY.pass();
    if !sessions
        .iter()
        .any(|s| s.kind == SessionKind::CrisisExercise && s.date >= year_ago && s.date <= as_of)
    {
        f.fail(
            "crisis-exercise",
            Localized::new(
                format!("no crisis exercise since {year_ago}"),
                format!("aucun exercice de crise depuis le {year_ago}"),
            ),
        );
    }
    out.push(f);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(id: &str, dept: &str) -> Person {
        Person {
            id: id.into(),
            name: id.into(),
            function: None,
            department: Some(dept.into()),
            reports_to: None,
            email: None,
        }
    }

    #[test]
    fn coverage_per_department_and_year() {
        let people = vec![p("a", "Care"), p("b", "Care"), p("c", "IT")];
        let s = |date: &str, att: &[&str]| Session {
            id: date.into(),
            date: date.parse().unwrap(),
            trainer: "ciso".into(),
            kind: SessionKind::Awareness,
            title: String::new(),
            attendees: att.iter().map(|x| x.to_string()).collect(),
        };
        let sessions = vec![
            s("2025-03-01", &["a", "zz"]),
            s("2026-02-01", &["a", "b", "c"]),
        ];
        let y = coverage_by_year(&people, &sessions, &[SessionKind::Awareness]);
        assert_eq!(y.len(), 2);
        assert_eq!((y[0].year, y[0].trained, y[0].headcount), (2025, 1, 3));
        assert_eq!(y[0].unknown_attendees, 1);
        assert_eq!(y[0].departments[0].department, "Care");
        assert_eq!(y[0].departments[0].ratio, 0.5);
        assert_eq!(y[1].ratio, 1.0);
    }
}
