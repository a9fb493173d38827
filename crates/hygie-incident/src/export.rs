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

/// The columns of [`list_line`]'s row, in `lang`.
pub fn list_headers(lang: Lang) -> [&'static str; 7] {
    match lang {
        Lang::En => [
            "Id",
            "Facility",
            "Status",
            "Awareness",
            "Due",
            "Late",
            "Title",
        ],
        Lang::Fr => [
            "Id",
            "Établissement",
            "État",
            "Prise de connaissance",
            "À faire",
            "En retard",
            "Intitulé",
        ],
    }
}

/// An incident as one line of a list, with how many of its obligations are due and late at
/// `now`: its table row in `lang` (columns [`list_headers`]) and its JSON.
pub fn list_line(
    inc: &Incident,
    lang: Lang,
    now: Timestamp,
) -> Result<(Vec<String>, serde_json::Value)> {
    let (due, late) = inc.due_and_late(now)?;
    let awareness = rfc3339(&inc.facts.awareness);
    let json = serde_json::json!({"id": inc.id, "facility": inc.facts.facility, "status": inc.status.as_str(),
        "awareness": awareness, "title": inc.facts.title, "due": due, "late": late});
    let row = vec![
        inc.id.clone(),
        inc.facts.facility.clone(),
        inc.status.label().get(lang).to_owned(),
        awareness,
        due.to_string(),
        late.to_string(),
        inc.facts.title.clone(),
    ];
    Ok((row, json))
}

/// The timeline of an incident: facts, actions, sendings, closure, in time order, said in
/// `lang`.
pub fn timeline(inc: &Incident, lang: Lang) -> Vec<(Timestamp, String, String)> {
    let f = &inc.facts;
    let tr = |en: &'static str, fr: &'static str| if lang == Lang::Fr { fr } else { en };
    let tz = f.tz().unwrap_or(jiff::tz::TimeZone::UTC);
    let mut t: Vec<(Timestamp, String, String)> = Vec::new();
    let mut push = |z: &jiff::Zoned, what: String| t.push((z.timestamp(), rfc3339(z), what));
    if let Some(z) = &f.occurrence {
        push(z, tr("occurrence", "survenue").into());
    }
    if let Some(z) = &f.detected {
        push(z, tr("detection", "détection").into());
    }
    push(
        &f.awareness,
        tr("awareness", "prise de connaissance").into(),
    );
    for a in &f.actions {
        push(
            &a.at,
            format!("{}{} {}", tr("action", "action"), tr(":", " :"), a.text),
        );
    }
    for s in &inc.sendings {
        push(
            &s.at,
            format!(
                "{}{} {}{}{}",
                tr("sent", "envoi"),
                tr(":", " :"),
                s.duty.label().get(lang),
                if s.phase == Phase::Complement {
                    tr(" (complement)", " (complément)")
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
        push(z, tr("resolved", "résolu").into());
    }
    if let Some(c) = &inc.closure {
        let z = c.at.to_zoned(tz);
        push(
            &z,
            format!(
                "{}{}",
                tr("closed", "clos"),
                c.justification
                    .as_deref()
                    .map(|j| format!("{} {j}", tr(":", " :")))
                    .unwrap_or_default()
            ),
        );
    }
    t.sort_by_key(|(ts, _, _)| *ts);
    t
}

/// Why a duty's requirement was derived again (an obligation event's `cause`: `open`,
/// `update: FIELD, FIELD`, `status: STATUS`, `notify: DUTY`), said in `lang`.
pub fn cause_label(cause: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return cause.to_owned();
    }
    let field = |name: &str| -> String {
        let fr = match name {
            "title" => "titre",
            "description" => "description",
            "awareness" => "prise de connaissance",
            "occurrence" => "survenue",
            "detected" => "détection",
            "serious" => "gravité",
            "personal_data_breach" => "violation de données personnelles",
            "personal_data" => "données personnelles",
            "nis2_significant" => "incident important NIS 2",
            "nis2_status" => "statut NIS 2",
            "categories" => "catégories",
            "people_count" => "personnes concernées",
            "affected_systems" => "systèmes touchés",
            "resolved_at" => "résolution",
            "actions" => "actions menées",
            "gdpr34_exemption" => "exemption RGPD 34(3)",
            "alert_ids" => "alertes rattachées",
            "finding_ids" => "constats rattachés",
            other => return other.replace('_', " "),
        };
        fr.to_owned()
    };
    match cause.split_once(": ") {
        None if cause == "open" => "ouverture".into(),
        Some(("update", fields)) => format!(
            "mise à jour : {}",
            fields.split(", ").map(field).collect::<Vec<_>>().join(", ")
        ),
        Some(("status", st)) => format!(
            "état : {}",
            st.parse::<crate::IncidentStatus>()
                .map(|s| s.label().fr)
                .unwrap_or_else(|_| st.to_owned())
        ),
        Some(("notify", d)) => format!(
            "envoi : {}",
            d.parse::<crate::Duty>()
                .map(|d| d.label().fr)
                .unwrap_or_else(|_| d.replace('_', " "))
        ),
        _ => cause.replace('_', " "),
    }
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
        "timeline": timeline(inc, lang).into_iter().map(|(_, at, what)| serde_json::json!({"at": at, "event": what})).collect::<Vec<_>>(),
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
    let tr = |en: &'static str, fr: &'static str| if lang == Lang::Fr { fr } else { en };
    let w = words(lang);
    let mut s = format!(
        "{} — {} [{}]\n{}{} {}{}  NIS 2{} {}{}\n{}{} {}  {}{} {}  {}{} {}\n",
        inc.id,
        f.title,
        inc.status.label().get(lang),
        tr("Facility", "Établissement"),
        tr(":", " :"),
        f.facility,
        f.facility_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        tr(":", " :"),
        f.nis2_status.label().get(lang),
        if f.nis2_significant {
            tr(", significant incident", ", incident important")
        } else {
            ""
        },
        tr("Awareness", "Prise de connaissance"),
        tr(":", " :"),
        rfc3339(&f.awareness),
        tr("Significant or serious", "Significatif ou grave"),
        tr(":", " :"),
        yes_no(f.is_significant_or_serious(), lang),
        tr("Personal-data breach", "Violation de données personnelles"),
        tr(":", " :"),
        f.personal_data_breach.label().get(lang),
    );
    s.push_str(&format!("\n{}{}\n", w.obligations, tr(":", " :")));
    s.push_str(&hygie_report::table(
        &[
            tr("Duty", "Obligation"),
            tr("Recipient", "Destinataire"),
            tr("Status", "État"),
            tr("Due / sent", "Échéance / envoi"),
            tr("Clock", "Délai"),
        ],
        &obs.iter().map(|o| o.row(lang, now)).collect::<Vec<_>>(),
    ));
    s.push_str(&format!("\n{}{}\n", tr("Why", "Pourquoi"), tr(":", " :")));
    for o in &obs {
        s.push_str(&format!(
            "  {}{} {} [{}]\n",
            o.duty.label().get(lang),
            tr(":", " :"),
            o.reason.get(lang),
            o.duty.basis_in(lang)
        ));
    }
    s.push_str(&format!("\n{}{}\n", w.timeline, tr(":", " :")));
    for (_, at, what) in timeline(inc, lang) {
        s.push_str(&format!("  {at}  {what}\n"));
    }
    Ok(s)
}

fn yes_no(b: bool, lang: Lang) -> &'static str {
    match (b, lang) {
        (true, Lang::En) => "yes",
        (false, Lang::En) => "no",
        (true, Lang::Fr) => "oui",
        (false, Lang::Fr) => "non",
    }
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

const WORDS_EN: Words = Words {
    obligations: "Obligations",
    history: "History of the obligations",
    history_headers: ["At", "Duty", "Required", "Due", "Why", "Cause"],
    timeline: "Timeline",
    sent: "Sent versions",
    closure: "Closure",
    journal: "Journal",
    journal_headers: ["Seq", "At", "Actor", "Action", "Hash"],
};

const WORDS_FR: Words = Words {
    obligations: "Obligations",
    history: "Historique des obligations",
    history_headers: [
        "Le",
        "Obligation",
        "Requise",
        "Échéance",
        "Pourquoi",
        "Cause",
    ],
    timeline: "Chronologie",
    sent: "Versions envoyées",
    closure: "Clôture",
    journal: "Journal",
    journal_headers: ["N°", "Le", "Auteur", "Action", "Empreinte"],
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &WORDS_EN,
        Lang::Fr => &WORDS_FR,
    }
}

impl File {
    fn new(inc: &Incident, journal: &[JournalEntry], lang: Lang, now: Timestamp) -> Result<File> {
        let f = &inc.facts;
        let obs = inc.obligations(now)?;
        let tr = |en: &'static str, fr: &'static str| if lang == Lang::Fr { fr } else { en };
        let mut source = f.detection.source.label().get(lang).to_owned();
        if !f.detection.alert_ids.is_empty() {
            source.push_str(&format!(
                "; {}{} {}",
                tr("alerts", "alertes"),
                tr(":", " :"),
                f.detection.alert_ids.join(", ")
            ));
        }
        if !f.detection.finding_ids.is_empty() {
            source.push_str(&format!(
                "; {}{} {}",
                tr("findings", "constats"),
                tr(":", " :"),
                f.detection.finding_ids.join(", ")
            ));
        }
        let facts = vec![
            (
                tr("Facility", "Établissement"),
                format!(
                    "{} {}",
                    f.facility,
                    f.facility_name.as_deref().unwrap_or("")
                ),
            ),
            (
                tr("Status", "État"),
                inc.status.label().get(lang).to_owned(),
            ),
            (
                tr("Awareness", "Prise de connaissance"),
                rfc3339(&f.awareness),
            ),
            (
                tr("Occurrence", "Survenue"),
                f.occurrence.as_ref().map(rfc3339).unwrap_or_default(),
            ),
            (
                tr("Detection", "Détection"),
                f.detected.as_ref().map(rfc3339).unwrap_or_default(),
            ),
            (
                tr(
                    "Qualified significant or serious",
                    "Qualifié de significatif ou grave",
                ),
                yes_no(f.serious, lang).to_owned(),
            ),
            (
                tr("D.1111-16-2 criteria met", "Critères D.1111-16-2 remplis"),
                f.impact
                    .met()
                    .map(|n| crate::facts::ImpactCriteria::label(n).get(lang).to_owned())
                    .collect::<Vec<_>>()
                    .join(" ; "),
            ),
            (
                tr("Personal-data breach", "Violation de données personnelles"),
                f.personal_data_breach.label().get(lang).to_owned(),
            ),
            (
                "NIS 2",
                format!(
                    "{} ({}{} {})",
                    f.nis2_status.label().get(lang),
                    tr("significant incident", "incident important"),
                    tr(":", " :"),
                    yes_no(f.nis2_significant, lang)
                ),
            ),
            (
                tr("Systems", "Systèmes touchés"),
                f.affected_systems.join(", "),
            ),
            (tr("Detection source", "Source de la détection"), source),
        ];
        let history = inc
            .obligation_log
            .iter()
            .map(|e| {
                vec![
                    e.at.to_string(),
                    e.duty.label().get(lang).to_owned(),
                    yes_no(e.required, lang).to_owned(),
                    e.due.clone().unwrap_or_default(),
                    match (lang, &e.reason_fr) {
                        (Lang::Fr, Some(fr)) => fr.clone(),
                        _ => e.reason.clone(),
                    },
                    cause_label(&e.cause, lang),
                ]
            })
            .collect();
        let sent = inc
            .sendings
            .iter()
            .map(|s| SentVersion {
                heading: format!(
                    "{} — {} ({}){}",
                    s.duty.label().get(lang),
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
                        .map(|r| {
                            format!(
                                "; {}{} {r}",
                                tr("reasons for the delay", "motifs du retard"),
                                tr(":", " :")
                            )
                        })
                        .unwrap_or_default()
                ),
                text: s.snapshot.clone(),
            })
            .collect();
        let closure = inc.closure.as_ref().map(|c| {
            format!(
                "{}; {}{} {}; {}{} {}",
                c.at,
                tr("unmet", "non remplies"),
                tr(":", " :"),
                c.unmet
                    .iter()
                    .map(|d| d.label().get(lang).to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
                tr("justification", "justification"),
                tr(":", " :"),
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
            w: words(lang),
            title: format!("{} — {}", inc.id, f.title),
            facts,
            obligations: draft::obligations_table(&obs, lang),
            history,
            timeline: timeline(inc, lang)
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
