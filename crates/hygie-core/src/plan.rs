//! Where a facility stands: declarations and check results combined, per plan level and per
//! PGSSI-S principle, at any date.

use crate::check::{AutoStatus, CheckRun};
use crate::declaration::{Declaration, DeclaredStatus};
use crate::{Catalog, Facility, Localized, MeasureId, Principle};
use jiff::civil::Date;
use serde::Serialize;
use std::collections::BTreeMap;

/// The status that counts, after combining what was declared and what checks found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    /// Automated checks failed; beats any declaration.
    Failing,
    /// Automated checks passed.
    Verified,
    /// Declared implemented (and still within its recurrence, if any).
    Implemented,
    /// Declared implemented, but longer ago than the measure's recurrence allows.
    Expired,
    InProgress,
    NotStarted,
    NotApplicable,
}

impl EffectiveStatus {
    pub fn is_done(self) -> bool {
        matches!(
            self,
            EffectiveStatus::Verified | EffectiveStatus::Implemented
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EffectiveStatus::Failing => "failing",
            EffectiveStatus::Verified => "verified",
            EffectiveStatus::Implemented => "implemented",
            EffectiveStatus::Expired => "expired",
            EffectiveStatus::InProgress => "in_progress",
            EffectiveStatus::NotStarted => "not_started",
            EffectiveStatus::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            EffectiveStatus::Failing => Localized::new("failing", "en échec"),
            EffectiveStatus::Verified => Localized::new("verified", "vérifiée"),
            EffectiveStatus::Implemented => Localized::new("implemented", "mise en œuvre"),
            EffectiveStatus::Expired => Localized::new("expired", "à renouveler"),
            EffectiveStatus::InProgress => Localized::new("in progress", "en cours"),
            EffectiveStatus::NotStarted => Localized::new("not started", "non commencée"),
            EffectiveStatus::NotApplicable => Localized::new("not applicable", "non applicable"),
        }
    }
}

/// One measure owed by the facility, as of the status date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureState {
    pub id: MeasureId,
    pub title: Localized,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    pub status: EffectiveStatus,
    /// The declared status, if anyone declared one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<&'static str>,
    #[serde(flatten)]
    pub auto: AutoStatus,
    /// Why the status is what it is, when it is not simply the declaration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Localized>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_overdue: Option<i32>,
    /// Some fact of this measure (often its plan level) is not yet confirmed from the primary text.
    pub unconfirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueMeasure {
    pub id: MeasureId,
    pub days: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelStatus {
    pub level: u8,
    pub due_date: Date,
    pub total: usize,
    pub done: usize,
    /// Ids of the measures of this level not done after the due date.
    pub overdue: Vec<MeasureId>,
    pub overdue_detail: Vec<OverdueMeasure>,
    /// All measures done (the level is reached).
    pub reached: bool,
    /// A measure of this level rests on a fact not confirmed from the primary text (its plan
    /// level, often): the level, due date and overdue count carry the flag ([`unconfirmed_note`]).
    pub unconfirmed: bool,
}

/// What the unconfirmed flag on a plan level, due date or overdue count means.
pub fn unconfirmed_note() -> Localized {
    Localized::new(
        "not confirmed from the primary text: this level rests on measures whose plan level or deadline comes from the 2016 instruction's annex as summarised in public sources",
        "non confirmé par le texte source : ce palier repose sur des mesures dont le palier ou l'échéance vient de l'annexe de l'instruction de 2016 telle que résumée par des sources publiques",
    )
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrincipleScore {
    pub principle: Principle,
    pub total: usize,
    pub done: usize,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityStatus {
    pub facility: Facility,
    pub as_of: Date,
    pub catalog_version: String,
    pub levels: Vec<LevelStatus>,
    pub principles: Vec<PrincipleScore>,
    /// Percentage of the applicable measures done (0-100, one decimal).
    pub score: f64,
    pub total: usize,
    pub done: usize,
    /// The highest plan level whose measures are all done, with every lower level (0 for none).
    pub level_reached: u8,
    pub measures: Vec<MeasureState>,
}

impl FacilityStatus {
    pub fn overdue_count(&self) -> usize {
        self.levels.iter().map(|l| l.overdue.len()).sum()
    }

    /// The measures to act on now, each once: past their plan level's due date, or declared
    /// once but expired (a recurring measure not renewed in time), or both. Issue 18: both are
    /// late work, so the dashboard counts them together.
    pub fn needing_action(&self) -> Vec<&MeasureState> {
        self.measures
            .iter()
            .filter(|m| m.days_overdue.is_some() || m.status == EffectiveStatus::Expired)
            .collect()
    }

    /// The measures an automated check finds failing.
    pub fn failing(&self) -> Vec<&MeasureState> {
        self.measures
            .iter()
            .filter(|m| m.status == EffectiveStatus::Failing)
            .collect()
    }

    /// The first plan level not reached and the measures that block it (applicable, not done);
    /// `None` when every level is reached. Levels count in order: a complete level 2 does not
    /// count while level 1 is not reached, which is why "level reached" can be below a level
    /// that is complete.
    pub fn next_level(&self) -> Option<(&LevelStatus, Vec<&MeasureState>)> {
        let next = self.levels.iter().find(|l| !l.reached)?;
        let blocking = self
            .measures
            .iter()
            .filter(|m| {
                m.level == Some(next.level)
                    && m.status != EffectiveStatus::NotApplicable
                    && !m.status.is_done()
            })
            .collect();
        Some((next, blocking))
    }

    /// The levels above the next one to reach that are complete already (they will count once
    /// the levels below them are reached).
    pub fn complete_beyond_next(&self) -> Vec<u8> {
        let Some((next, _)) = self.next_level() else {
            return Vec::new();
        };
        self.levels
            .iter()
            .filter(|l| l.level > next.level && l.reached)
            .map(|l| l.level)
            .collect()
    }

    /// Some plan level rests on a fact not confirmed from the primary text.
    pub fn has_unconfirmed_level(&self) -> bool {
        self.levels.iter().any(|l| l.unconfirmed)
    }
}

/// The instant a status date ends: midnight after it, in France's time (Europe/Paris).
pub fn end_of_day(date: Date) -> jiff::Timestamp {
    let next = date.tomorrow().unwrap_or(date);
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    next.to_zoned(tz)
        .map(|z| z.timestamp())
        .unwrap_or(jiff::Timestamp::MAX)
}

fn score(done: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        (done as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// Compute where `facility` stands on `as_of`.
///
/// `declarations` holds each measure's declaration history in time order; `runs` every check run
/// known. Only what happened by the end of `as_of` counts, so any past date can be replayed.
pub fn facility_status(
    facility: &Facility,
    catalog: &Catalog,
    declarations: &BTreeMap<MeasureId, Vec<Declaration>>,
    runs: &[CheckRun],
    as_of: Date,
) -> FacilityStatus {
    let cutoff = end_of_day(as_of);
    // The latest complete run of each source by the cutoff.
    let mut latest: BTreeMap<&str, &CheckRun> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.at < cutoff) {
        let slot = latest.entry(run.source.as_str()).or_insert(run);
        if run.at > slot.at {
            *slot = run;
        }
    }
    let latest_runs: Vec<&CheckRun> = latest.into_values().collect();

    let mut measures = Vec::new();
    for m in catalog
        .measures
        .iter()
        .filter(|m| m.applies(facility.kind, facility.nis2))
    {
        let declared = declarations
            .get(&m.id)
            .and_then(|h| h.iter().filter(|d| d.at < cutoff).max_by_key(|d| d.at));
        let auto = AutoStatus::of(&m.id, &latest_runs);
        let (status, mut reason) = combine(m.recurrence_months, declared, &auto, cutoff);
        // An expired renewal whose period is Hygie's choice says so, not a text's requirement.
        if status == EffectiveStatus::Expired
            && let (Some(r), Some(why)) = (&reason, &m.recurrence_recommended)
        {
            reason = Some(Localized::new(
                format!(
                    "{}; this period is Hygie's recommendation, not a text's requirement: {}",
                    r.en, why.en
                ),
                format!(
                    "{} ; cette périodicité est une recommandation de Hygie, non une exigence d'un texte : {}",
                    r.fr, why.fr
                ),
            ));
        }
        let days_overdue = m.level.and_then(|l| {
            let due = facility.level_due(l);
            let late = (as_of - due).get_days();
            (late > 0 && !status.is_done() && status != EffectiveStatus::NotApplicable)
                .then_some(late)
        });
        measures.push(MeasureState {
            id: m.id.clone(),
            title: m.title.clone(),
            level: m.level,
            status,
            declared: declared.map(|d| d.status.as_str()),
            auto,
            reason,
            days_overdue,
            unconfirmed: m.unconfirmed.is_some(),
        });
    }

    let counted = |s: &MeasureState| s.status != EffectiveStatus::NotApplicable;
    let mut levels = Vec::new();
    for level in 1..=3u8 {
        let of_level: Vec<&MeasureState> = measures
            .iter()
            .filter(|s| s.level == Some(level) && counted(s))
            .collect();
        let done = of_level.iter().filter(|s| s.status.is_done()).count();
        let overdue_detail: Vec<OverdueMeasure> = of_level
            .iter()
            .filter_map(|s| {
                s.days_overdue.map(|days| OverdueMeasure {
                    id: s.id.clone(),
                    days,
                })
            })
            .collect();
        levels.push(LevelStatus {
            level,
            due_date: facility.level_due(level),
            total: of_level.len(),
            done,
            overdue: overdue_detail.iter().map(|o| o.id.clone()).collect(),
            overdue_detail,
            reached: done == of_level.len(),
            unconfirmed: measures
                .iter()
                .any(|s| s.level == Some(level) && s.unconfirmed),
        });
    }
    let level_reached = levels.iter().take_while(|l| l.reached).count() as u8;

    let principles = Principle::ALL
        .into_iter()
        .map(|p| {
            let serving: Vec<&MeasureState> = measures
                .iter()
                .filter(|s| {
                    counted(s)
                        && catalog
                            .measure(&s.id)
                            .is_some_and(|m| m.principles.contains(&p))
                })
                .collect();
            let done = serving.iter().filter(|s| s.status.is_done()).count();
            PrincipleScore {
                principle: p,
                total: serving.len(),
                done,
                score: score(done, serving.len()),
            }
        })
        .collect();

    let total = measures.iter().filter(|s| counted(s)).count();
    let done = measures.iter().filter(|s| s.status.is_done()).count();
    FacilityStatus {
        facility: facility.clone(),
        as_of,
        catalog_version: catalog.version.clone(),
        levels,
        principles,
        score: score(done, total),
        total,
        done,
        level_reached,
        measures,
    }
}

/// When a declaration "implemented" of a measure renewed every `months` months stops counting
/// (also what `hygie-notify`'s renewal reminders count down to).
pub fn expiry(declared_at: jiff::Timestamp, months: u8) -> jiff::Timestamp {
    declared_at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .saturating_add(jiff::Span::new().months(i32::from(months)))
        .timestamp()
}

fn combine(
    recurrence_months: Option<u8>,
    declared: Option<&Declaration>,
    auto: &AutoStatus,
    cutoff: jiff::Timestamp,
) -> (EffectiveStatus, Option<Localized>) {
    if let AutoStatus::Failing { sources, rules, at } = auto {
        let overrides = match declared.map(|d| &d.status) {
            Some(DeclaredStatus::Implemented) => " (overrides the declaration 'implemented')",
            Some(DeclaredStatus::NotApplicable { .. }) => {
                " (overrides the declaration 'not applicable')"
            }
            _ => "",
        };
        let overrides_fr = match declared.map(|d| &d.status) {
            Some(DeclaredStatus::Implemented) => {
                " (l'emporte sur la déclaration « mise en œuvre »)"
            }
            Some(DeclaredStatus::NotApplicable { .. }) => {
                " (l'emporte sur la déclaration « non applicable »)"
            }
            _ => "",
        };
        let when = at.strftime("%Y-%m-%d").to_string();
        return (
            EffectiveStatus::Failing,
            Some(Localized::new(
                format!(
                    "automated check failed: {} ({} audit of {when}){overrides}",
                    rules.join(", "),
                    sources.join(", ")
                ),
                format!(
                    "contrôle automatique en échec : {} (audit {} du {when}){overrides_fr}",
                    rules.join(", "),
                    sources.join(", ")
                ),
            )),
        );
    }
    if let AutoStatus::Verified { sources, rules, at } = auto {
        let when = at.strftime("%Y-%m-%d").to_string();
        return (
            EffectiveStatus::Verified,
            Some(Localized::new(
                format!(
                    "verified by {} ({} audit of {when})",
                    rules.join(", "),
                    sources.join(", ")
                ),
                format!(
                    "vérifiée par {} (audit {} du {when})",
                    rules.join(", "),
                    sources.join(", ")
                ),
            )),
        );
    }
    let Some(d) = declared else {
        return (EffectiveStatus::NotStarted, None);
    };
    match &d.status {
        DeclaredStatus::NotStarted => (EffectiveStatus::NotStarted, None),
        DeclaredStatus::InProgress => (EffectiveStatus::InProgress, None),
        DeclaredStatus::NotApplicable { justification } => (
            EffectiveStatus::NotApplicable,
            Some(Localized::new(
                format!("not applicable: {justification}"),
                format!("non applicable : {justification}"),
            )),
        ),
        DeclaredStatus::Implemented => {
            if let Some(months) = recurrence_months
                && expiry(d.at, months) < cutoff
            {
                let when = d.at.strftime("%Y-%m-%d").to_string();
                return (
                    EffectiveStatus::Expired,
                    Some(Localized::new(
                        format!(
                            "declared implemented on {when}, must be renewed every {months} months"
                        ),
                        format!(
                            "déclarée mise en œuvre le {when}, à renouveler tous les {months} mois"
                        ),
                    )),
                );
            }
            (EffectiveStatus::Implemented, None)
        }
    }
}

/// One facility's line in a regional view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionRow {
    pub id: crate::Finess,
    pub name: String,
    pub kind: crate::FacilityKind,
    pub departement: String,
    pub nis2: crate::Nis2Status,
    pub plan_start: Date,
    pub level_reached: u8,
    pub levels: Vec<RegionLevel>,
    pub overdue: usize,
    pub failing: usize,
    pub score: f64,
    /// When a level is flagged unconfirmed: what the flag means, in both languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<Localized>,
    /// When the facility's last federation package was imported (a regional instance only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_report: Option<jiff::Timestamp>,
}

impl RegionRow {
    /// The levels flagged unconfirmed, e.g. `[1, 2, 3]`.
    pub fn unconfirmed_levels(&self) -> Vec<u8> {
        self.levels
            .iter()
            .filter(|l| l.unconfirmed)
            .map(|l| l.level)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionLevel {
    pub level: u8,
    pub due_date: Date,
    pub done: usize,
    pub total: usize,
    pub overdue: usize,
    /// Rests on a fact not confirmed from the primary text (see [`unconfirmed_note`]).
    pub unconfirmed: bool,
}

/// Every facility of a region side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionStatus {
    pub region: crate::Region,
    pub name: &'static str,
    pub demo: bool,
    pub as_of: Date,
    pub facilities: Vec<RegionRow>,
}

impl RegionStatus {
    /// Some level of some facility rests on a fact not confirmed from the primary text.
    pub fn has_unconfirmed_level(&self) -> bool {
        self.facilities.iter().any(|f| f.unconfirmed.is_some())
    }

    pub fn from_statuses(
        region: crate::Region,
        as_of: Date,
        statuses: &[FacilityStatus],
    ) -> RegionStatus {
        let facilities = statuses
            .iter()
            .map(|s| RegionRow {
                id: s.facility.id.clone(),
                name: s.facility.name.clone(),
                kind: s.facility.kind,
                departement: s.facility.id.departement().to_owned(),
                nis2: s.facility.nis2,
                plan_start: s.facility.plan_start,
                level_reached: s.level_reached,
                levels: s
                    .levels
                    .iter()
                    .map(|l| RegionLevel {
                        level: l.level,
                        due_date: l.due_date,
                        done: l.done,
                        total: l.total,
                        overdue: l.overdue.len(),
                        unconfirmed: l.unconfirmed,
                    })
                    .collect(),
                overdue: s.overdue_count(),
                failing: s
                    .measures
                    .iter()
                    .filter(|m| m.status == EffectiveStatus::Failing)
                    .count(),
                score: s.score,
                unconfirmed: s
                    .levels
                    .iter()
                    .any(|l| l.unconfirmed)
                    .then(unconfirmed_note),
                last_report: None,
            })
            .collect();
        RegionStatus {
            region,
            name: region.name(),
            demo: region.is_demo(),
            as_of,
            facilities,
        }
    }
}

/// How one applicable measure stands whatever the date, once the facility's declarations and
/// check runs are known: only the expiry of a recurring "implemented" depends on the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not applicable: not counted.
    Excluded,
    /// Counted, not done (not started, in progress, or failing).
    Open { failing: bool },
    /// Done on every date after the facts (verified, or implemented without recurrence).
    Done,
    /// Done while the status date ends no later than this instant (microseconds): a recurring
    /// "implemented" that must be renewed.
    DoneUntil(i64),
}

/// The counts of one plan level (or of the measures without a level) that do not depend on the
/// date, with the expiry instants of the recurring ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SummaryBucket {
    /// Applicable measures counted.
    pub total: usize,
    /// Done whatever the date.
    pub done: usize,
    /// Expiry instants (microseconds) of measures done until then.
    pub until: Vec<i64>,
    /// An applicable measure of this bucket rests on an unconfirmed fact.
    #[serde(default)]
    pub unconfirmed: bool,
}

impl SummaryBucket {
    fn add(&mut self, s: Standing) {
        match s {
            Standing::Excluded => {}
            Standing::Open { .. } => self.total += 1,
            Standing::Done => {
                self.total += 1;
                self.done += 1;
            }
            Standing::DoneUntil(t) => {
                self.total += 1;
                self.until.push(t);
            }
        }
    }

    /// Measures done at a status date whose day ends at `cutoff_us`.
    fn done_at(&self, cutoff_us: i64) -> usize {
        self.done + self.until.iter().filter(|&&t| t >= cutoff_us).count()
    }
}

/// A facility's status reduced to what does not depend on the date: enough to give its regional
/// row on any date after its latest declaration or check run. Stored by the store as a
/// precomputed view; `region_row` derives due and overdue counts at read time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatusSummary {
    /// Index 0: measures without a plan level; 1..=3: the plan levels.
    pub buckets: [SummaryBucket; 4],
    pub failing: usize,
}

/// How `measure` stands for a facility given its latest declaration and the automated status.
fn standing(
    recurrence_months: Option<u8>,
    declared: Option<&Declaration>,
    auto: &AutoStatus,
) -> Standing {
    match auto {
        AutoStatus::Failing { .. } => return Standing::Open { failing: true },
        AutoStatus::Verified { .. } => return Standing::Done,
        AutoStatus::Unchecked => {}
    }
    match declared.map(|d| (&d.status, d.at)) {
        None | Some((DeclaredStatus::NotStarted | DeclaredStatus::InProgress, _)) => {
            Standing::Open { failing: false }
        }
        Some((DeclaredStatus::NotApplicable { .. }, _)) => Standing::Excluded,
        Some((DeclaredStatus::Implemented, at)) => match recurrence_months {
            Some(months) => Standing::DoneUntil(expiry(at, months).as_microsecond()),
            None => Standing::Done,
        },
    }
}

/// Summarise a facility from the latest declaration of each measure and the latest run of each
/// audit source (the caller selects them). Equal to `facility_status` on every date whose end
/// comes after all of these facts.
pub fn summarize(
    facility: &Facility,
    catalog: &Catalog,
    latest: &BTreeMap<MeasureId, Declaration>,
    latest_runs: &[&CheckRun],
) -> StatusSummary {
    let mut out = StatusSummary::default();
    for m in catalog
        .measures
        .iter()
        .filter(|m| m.applies(facility.kind, facility.nis2))
    {
        let auto = AutoStatus::of(&m.id, latest_runs);
        let s = standing(m.recurrence_months, latest.get(&m.id), &auto);
        if s == (Standing::Open { failing: true }) {
            out.failing += 1;
        }
        let i = m
            .level
            .map(usize::from)
            .filter(|l| (1..=3).contains(l))
            .unwrap_or(0);
        out.buckets[i].add(s);
        out.buckets[i].unconfirmed |= m.unconfirmed.is_some();
    }
    out
}

/// A facility's regional row on `as_of`, from its summary: due dates and overdue counts are
/// derived here, from the date, never stored.
pub fn region_row(facility: &Facility, summary: &StatusSummary, as_of: Date) -> RegionRow {
    let cutoff = end_of_day(as_of).as_microsecond();
    let levels: Vec<RegionLevel> = (1..=3u8)
        .map(|level| {
            let b = &summary.buckets[usize::from(level)];
            let due_date = facility.level_due(level);
            let done = b.done_at(cutoff);
            RegionLevel {
                level,
                due_date,
                done,
                total: b.total,
                overdue: if (as_of - due_date).get_days() > 0 {
                    b.total - done
                } else {
                    0
                },
                unconfirmed: b.unconfirmed,
            }
        })
        .collect();
    let total: usize = summary.buckets.iter().map(|b| b.total).sum();
    let done: usize = summary.buckets.iter().map(|b| b.done_at(cutoff)).sum();
    RegionRow {
        id: facility.id.clone(),
        name: facility.name.clone(),
        kind: facility.kind,
        departement: facility.id.departement().to_owned(),
        nis2: facility.nis2,
        plan_start: facility.plan_start,
        level_reached: levels.iter().take_while(|l| l.done == l.total).count() as u8,
        overdue: levels.iter().map(|l| l.overdue).sum(),
        unconfirmed: levels.iter().any(|l| l.unconfirmed).then(unconfirmed_note),
        levels,
        failing: summary.failing,
        score: score(done, total),
        last_report: None,
    }
}

/// A fingerprint of what, in the catalogue, a status depends on (which measures apply to whom,
/// their levels, recurrences and principles): precomputed views made with another catalogue are
/// not reused.
pub fn catalog_fingerprint(catalog: &Catalog) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in &catalog.measures {
        h.update(m.id.as_str());
        h.update([
            m.level.unwrap_or(0),
            m.recurrence_months.unwrap_or(0),
            u8::from(m.nis2_only),
            // The unconfirmed flag of the levels is kept in the summaries too.
            u8::from(m.unconfirmed.is_some()),
        ]);
        for k in &m.applies_to {
            h.update(k.as_str());
            h.update(b",");
        }
        for p in &m.principles {
            h.update(p.as_str());
            h.update(b",");
        }
        h.update(b";");
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod action_tests {
    use super::*;
    use crate::{Facility, FacilityKind, Finess, Nis2Status, Region};

    fn measure(id: &str, level: u8, status: EffectiveStatus, overdue: Option<i32>) -> MeasureState {
        MeasureState {
            id: MeasureId::parse(id).unwrap_or_else(|e| panic!("{e}")),
            title: Localized::new(id, id),
            level: Some(level),
            status,
            declared: None,
            auto: AutoStatus::Unchecked,
            reason: None,
            days_overdue: overdue,
            unconfirmed: false,
        }
    }

    fn level(level: u8, total: usize, done: usize) -> LevelStatus {
        LevelStatus {
            level,
            due_date: jiff::civil::date(2026, 1, 1),
            total,
            done,
            overdue: vec![],
            overdue_detail: vec![],
            reached: done == total,
            unconfirmed: false,
        }
    }

    #[test]
    fn actions_count_overdue_and_expired_once_and_name_what_blocks_the_next_level() {
        use EffectiveStatus as S;
        let measures = vec![
            measure("IAM-01", 1, S::NotStarted, Some(30)),
            measure("IAM-02", 1, S::Expired, Some(3)),
            measure("IAM-03", 1, S::Implemented, None),
            measure("IAM-04", 2, S::Expired, None),
            measure("IAM-05", 2, S::Verified, None),
            measure("IAM-06", 3, S::Failing, None),
            measure("IAM-07", 1, S::NotApplicable, None),
        ];
        let s = FacilityStatus {
            facility: Facility {
                id: Finess::parse("750712184").unwrap_or_else(|e| panic!("{e}")),
                legal_entity: None,
                name: "F".into(),
                kind: FacilityKind::Hospital,
                region: Region::demo(),
                nis2: Nis2Status::OutOfScope,
                plan_start: jiff::civil::date(2025, 1, 1),
            },
            as_of: jiff::civil::date(2026, 2, 1),
            catalog_version: "t".into(),
            levels: vec![level(1, 3, 1), level(2, 1, 1), level(3, 1, 0)],
            principles: vec![],
            score: 0.0,
            total: 6,
            done: 2,
            level_reached: 0,
            measures,
        };
        let ids = |v: Vec<&MeasureState>| v.iter().map(|m| m.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(s.needing_action()), ["IAM-01", "IAM-02", "IAM-04"]);
        assert_eq!(ids(s.failing()), ["IAM-06"]);
        let (next, blocking) = s
            .next_level()
            .unwrap_or_else(|| panic!("a level is not reached"));
        assert_eq!(next.level, 1);
        assert_eq!(ids(blocking), ["IAM-01", "IAM-02"]);
        assert_eq!(s.complete_beyond_next(), [2]);
    }
}
