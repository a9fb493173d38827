//! Views of one incident for people and auditors: its timeline, its JSON form, the summary a
//! terminal shows, and the incident file an auditor receives (JSON, Markdown or HTML: facts,
//! obligations with their history, each sent version, the incident's journal slice).

use crate::{Incident, Obligation, Phase, Result, clock::rfc3339, draft};
use hygie_core::Lang;
use hygie_core::journal::JournalEntry;
use jiff::Timestamp;

/// Each obligation's JSON (`Obligation::to_json`).
pub fn obligations_json(obs: &[Obligation], lang: Lang, now: Timestamp) -> Vec<serde_json::Value> {
    obs.iter().map(|o| o.to_json(lang, now)).collect()
}

/// The columns of [`list_line`]'s row.
pub const LIST_HEADERS: [&str; 7] = [
    "Id",
    "Facility",
    "Status",
    "Awareness",
    "Due",
    "Late",
    "Title",
];

/// An incident as one line of a list, with how many of its obligations are due and late at
/// `now`: its table row (columns [`LIST_HEADERS`]) and its JSON.
pub fn list_line(inc: &Incident, now: Timestamp) -> Result<(Vec<String>, serde_json::Value)> {
    let (due, late) = inc.due_and_late(now)?;
    let awareness = rfc3339(&inc.facts.awareness);
    let json = serde_json::json!({"id": inc.id, "facility": inc.facts.facility, "status": inc.status.as_str(),
        "awareness": awareness, "title": inc.facts.title, "due": due, "late": late});
    let row = vec![
        inc.id.clone(),
        inc.facts.facility.clone(),
        inc.status.as_str().into(),
        awareness,
        due.to_string(),
        late.to_string(),
        inc.facts.title.clone(),
    ];
    Ok((row, json))
}

/// The timeline of an incident: facts, actions, sendings, closure, in time order.
pub fn timeline(inc: &Incident) -> Vec<(Timestamp, String, String)> {
    let f = &inc.facts;
    let tz = f.tz().unwrap_or(jiff::tz::TimeZone::UTC);
    let mut t: Vec<(Timestamp, String, String)> = Vec::new();
    let mut push = |z: &jiff::Zoned, what: String| t.push((z.timestamp(), rfc3339(z), what));
    if let Some(z) = &f.occurrence {
        push(z, "occurrence".into());
    }
    if let Some(z) = &f.detected {
        push(z, "detection".into());
    }
    push(&f.awareness, "awareness".into());
    for a in &f.actions {
        push(&a.at, format!("action: {}", a.text));
    }
    for s in &inc.sendings {
        push(
            &s.at,
            format!(
                "sent: {}{}{}",
                s.duty,
                if s.phase == Phase::Complement {
                    " (complement)"
                } else {
                    ""
                },
                s.reference
                    .as_deref()
                    .map(|r| format!(", ref. {r}"))
                    .unwrap_or_default()
            ),
        );
    }
    if let Some(z) = &f.resolved_at {
        push(z, "resolved".into());
    }
    if let Some(c) = &inc.closure {
        let z = c.at.to_zoned(tz);
        push(
            &z,
            format!(
                "closed{}",
                c.justification
                    .as_deref()
                    .map(|j| format!(": {j}"))
                    .unwrap_or_default()
            ),
        );
    }
    t.sort_by_key(|(ts, _, _)| *ts);
    t
}

/// The incident as JSON, its obligations computed at `now`.
pub fn to_json(inc: &Incident, lang: Lang, now: Timestamp) -> Result<serde_json::Value> {
    let obs = inc.obligations(now)?;
    Ok(serde_json::json!({
        "id": inc.id,
        "facility": inc.facts.facility,
        "title": inc.facts.title,
        "status": inc.status.as_str(),
        "as_of": now.to_string(),
        "facts": inc.facts,
        "obligations": obligations_json(&obs, lang, now),
        "obligation_history": inc.obligation_log,
        "sendings": inc.sendings,
        "timeline": timeline(inc).into_iter().map(|(_, at, what)| serde_json::json!({"at": at, "event": what})).collect::<Vec<_>>(),
        "closure": inc.closure,
    }))
}

/// The incident file as JSON: `to_json` with the versions as sent (`sent_versions`, as the
/// store keeps them) and the incident's journal entries.
pub fn export_json(
    inc: &Incident,
    sent_versions: serde_json::Value,
    journal: &[JournalEntry],
    lang: Lang,
    now: Timestamp,
) -> Result<serde_json::Value> {
    let mut j = to_json(inc, lang, now)?;
    if let serde_json::Value::Object(m) = &mut j {
        m.insert("sent_versions".into(), sent_versions);
        m.insert(
            "journal".into(),
            serde_json::to_value(journal).unwrap_or_default(),
        );
    }
    Ok(j)
}

/// The incident for a terminal: facts, obligations with their clocks, why, the timeline.
pub fn summary_text(inc: &Incident, lang: Lang, now: Timestamp) -> Result<String> {
    let f = &inc.facts;
    let obs = inc.obligations(now)?;
    let mut s = format!(
        "{} — {} [{}]\nFacility: {}{}  NIS 2: {}{}\nAwareness: {}  Serious: {}  Personal-data breach: {}\n",
        inc.id,
        f.title,
        inc.status.as_str(),
        f.facility,
        f.facility_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        f.nis2_status.as_str(),
        if f.nis2_significant {
            ", significant incident"
        } else {
            ""
        },
        rfc3339(&f.awareness),
        f.is_significant_or_serious(),
        f.personal_data_breach.as_str(),
    );
    s.push_str("\nObligations:\n");
    s.push_str(&hygie_report::table(
        &["Duty", "Recipient", "Status", "Due / sent", "Clock"],
        &obs.iter().map(|o| o.row(lang, now)).collect::<Vec<_>>(),
    ));
    s.push_str("\nWhy:\n");
    for o in &obs {
        s.push_str(&format!(
            "  {}: {} [{}]\n",
            o.duty,
            o.reason.get(lang),
            o.duty.basis_in(lang)
        ));
    }
    s.push_str("\nTimeline:\n");
    for (_, at, what) in timeline(inc) {
        s.push_str(&format!("  {at}  {what}\n"));
    }
    Ok(s)
}

/// The incident file's content, built once: Markdown renders it in code, HTML through the
/// template `incident_file.html`, so the two forms never say different things.
#[derive(askama::Template)]
#[template(path = "incident_file.html")]
struct File {
    lang: Lang,
    w: &'static Words,
    title: String,
    /// Labelled facts, one line each.
    facts: Vec<(&'static str, String)>,
    obligations: (Vec<String>, Vec<Vec<String>>),
    history: Vec<Vec<String>>,
    /// `at — event` lines.
    timeline: Vec<String>,
    sent: Vec<SentVersion>,
    closure: Option<String>,
    journal: Vec<Vec<String>>,
}

/// One version of a notification as it was sent.
struct SentVersion {
    heading: String,
    /// The digest of the text sent, and the reasons for a delay.
    digest: String,
    text: String,
}

/// The incident file's headings.
struct Words {
    obligations: &'static str,
    history: &'static str,
    history_headers: [&'static str; 6],
    timeline: &'static str,
    sent: &'static str,
    closure: &'static str,
    journal: &'static str,
    journal_headers: [&'static str; 5],
}

const WORDS: Words = Words {
    obligations: "Obligations",
    history: "History of the obligations",
    history_headers: ["At", "Duty", "Required", "Due", "Why", "Cause"],
    timeline: "Timeline",
    sent: "Sent versions",
    closure: "Closure",
    journal: "Journal",
    journal_headers: ["Seq", "At", "Actor", "Action", "Hash"],
};

impl File {
    fn new(inc: &Incident, journal: &[JournalEntry], lang: Lang, now: Timestamp) -> Result<File> {
        let f = &inc.facts;
        let obs = inc.obligations(now)?;
        let facts = vec![
            (
                "Facility",
                format!(
                    "{} {}",
                    f.facility,
                    f.facility_name.as_deref().unwrap_or("")
                ),
            ),
            ("Status", inc.status.as_str().to_owned()),
            ("Awareness", rfc3339(&f.awareness)),
            (
                "Occurrence",
                f.occurrence.as_ref().map(rfc3339).unwrap_or_default(),
            ),
            (
                "Detection",
                f.detected.as_ref().map(rfc3339).unwrap_or_default(),
            ),
            ("Serious", f.serious.to_string()),
            ("Criteria", f.impact.met().collect::<Vec<_>>().join(", ")),
            (
                "Personal-data breach",
                f.personal_data_breach.as_str().to_owned(),
            ),
            (
                "NIS 2",
                format!(
                    "{} (significant: {})",
                    f.nis2_status.as_str(),
                    f.nis2_significant
                ),
            ),
            ("Systems", f.affected_systems.join(", ")),
            (
                "Detection source",
                format!(
                    "{:?} alerts {:?} findings {:?}",
                    f.detection.source, f.detection.alert_ids, f.detection.finding_ids
                ),
            ),
        ];
        let history = inc
            .obligation_log
            .iter()
            .map(|e| {
                vec![
                    e.at.to_string(),
                    e.duty.to_string(),
                    e.required.to_string(),
                    e.due.clone().unwrap_or_default(),
                    e.reason.clone(),
                    e.cause.clone(),
                ]
            })
            .collect();
        let sent = inc
            .sendings
            .iter()
            .map(|s| SentVersion {
                heading: format!(
                    "{} — {} ({}){}",
                    s.duty,
                    rfc3339(&s.at),
                    draft::phase_label(s.phase, lang),
                    s.reference
                        .as_deref()
                        .map(|r| format!(", ref. {r}"))
                        .unwrap_or_default()
                ),
                digest: format!(
                    "SHA-256 {}{}",
                    s.snapshot_sha256,
                    s.late_reason
                        .as_deref()
                        .map(|r| format!("; reasons for the delay: {r}"))
                        .unwrap_or_default()
                ),
                text: s.snapshot.clone(),
            })
            .collect();
        let closure = inc.closure.as_ref().map(|c| {
            format!(
                "{}; unmet: {}; justification: {}",
                c.at,
                c.unmet
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                c.justification.as_deref().unwrap_or("-")
            )
        });
        let journal = journal
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.hash.clone(),
                ]
            })
            .collect();
        Ok(File {
            lang,
            w: &WORDS,
            title: format!("{} — {}", inc.id, f.title),
            facts,
            obligations: draft::obligations_table(&obs, lang),
            history,
            timeline: timeline(inc)
                .into_iter()
                .map(|(_, at, what)| format!("{at} — {what}"))
                .collect(),
            sent,
            closure,
            journal,
        })
    }

    fn markdown(&self) -> String {
        let w = self.w;
        let mut md = format!("# {}\n\n", self.title);
        for (k, v) in &self.facts {
            md.push_str(&format!("- {k}: {v}\n"));
        }
        md.push_str(&format!("\n## {}\n\n", w.obligations));
        draft::md_table(&mut md, &self.obligations.0, &self.obligations.1);
        md.push_str(&format!("\n## {}\n\n", w.history));
        draft::md_table(&mut md, &w.history_headers, &self.history);
        md.push_str(&format!("\n## {}\n\n", w.timeline));
        for t in &self.timeline {
            md.push_str(&format!("- {t}\n"));
        }
        md.push_str(&format!("\n## {}\n\n", w.sent));
        for s in &self.sent {
            // A fence inside the text sent would end the code block early.
            md.push_str(&format!(
                "### {}\n\n{}\n\n```text\n{}\n```\n\n",
                s.heading,
                s.digest,
                s.text.replace("```", "'''")
            ));
        }
        if let Some(c) = &self.closure {
            md.push_str(&format!("## {}\n\n{c}\n\n", w.closure));
        }
        md.push_str(&format!("## {}\n\n", w.journal));
        draft::md_table(&mut md, &w.journal_headers, &self.journal);
        md
    }
}

/// The incident file for an auditor, as Markdown: facts, obligations with their history, each
/// sent version, the journal slice.
pub fn export_markdown(
    inc: &Incident,
    journal: &[JournalEntry],
    lang: Lang,
    now: Timestamp,
) -> Result<String> {
    Ok(File::new(inc, journal, lang, now)?.markdown())
}

/// The incident file as printable, self-contained HTML (template `incident_file.html`): the
/// content of `export_markdown`, with each sent version shown exactly as sent.
pub fn export_html(
    inc: &Incident,
    journal: &[JournalEntry],
    lang: Lang,
    now: Timestamp,
) -> Result<String> {
    Ok(hygie_report::render(&File::new(inc, journal, lang, now)?))
}
