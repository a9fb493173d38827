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
            o.duty.basis()
        ));
    }
    s.push_str("\nTimeline:\n");
    for (_, at, what) in timeline(inc) {
        s.push_str(&format!("  {at}  {what}\n"));
    }
    Ok(s)
}

/// The incident file for an auditor, as Markdown: facts, obligations with their history, each sent
/// version, the journal slice.
pub fn export_markdown(
    inc: &Incident,
    journal: &[JournalEntry],
    lang: Lang,
    now: Timestamp,
) -> Result<String> {
    let f = &inc.facts;
    let obs = inc.obligations(now)?;
    let mut md = format!("# {} — {}\n\n", inc.id, f.title);
    md.push_str(&format!(
        "- Facility: {} {}\n- Status: {}\n- Awareness: {}\n- Occurrence: {}\n- Detection: {}\n- Serious: {}\n- Criteria: {}\n- Personal-data breach: {}\n- NIS 2: {} (significant: {})\n- Systems: {}\n- Detection source: {:?} alerts {:?} findings {:?}\n\n",
        f.facility,
        f.facility_name.as_deref().unwrap_or(""),
        inc.status.as_str(),
        rfc3339(&f.awareness),
        f.occurrence.as_ref().map(rfc3339).unwrap_or_default(),
        f.detected.as_ref().map(rfc3339).unwrap_or_default(),
        f.serious,
        f.impact.met().collect::<Vec<_>>().join(", "),
        f.personal_data_breach.as_str(),
        f.nis2_status.as_str(),
        f.nis2_significant,
        f.affected_systems.join(", "),
        f.detection.source,
        f.detection.alert_ids,
        f.detection.finding_ids,
    ));
    md.push_str("## Obligations\n\n");
    md.push_str(&draft::obligations_markdown(&obs, lang));
    md.push_str("\n## History of the obligations\n\n| At | Duty | Required | Due | Why | Cause |\n|---|---|---|---|---|---|\n");
    for e in &inc.obligation_log {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.at,
            e.duty,
            e.required,
            e.due.as_deref().unwrap_or(""),
            e.reason.replace('|', "\\|"),
            e.cause.replace('|', "\\|")
        ));
    }
    md.push_str("\n## Timeline\n\n");
    for (_, at, what) in timeline(inc) {
        md.push_str(&format!("- {at} — {what}\n"));
    }
    md.push_str("\n## Sent versions\n\n");
    for s in &inc.sendings {
        md.push_str(&format!(
            "### {} — {} ({}){}\n\nSHA-256 {}{}\n\n```text\n{}\n```\n\n",
            s.duty,
            rfc3339(&s.at),
            draft::phase_label(s.phase, lang),
            s.reference
                .as_deref()
                .map(|r| format!(", ref. {r}"))
                .unwrap_or_default(),
            s.snapshot_sha256,
            s.late_reason
                .as_deref()
                .map(|r| format!("; reasons for the delay: {r}"))
                .unwrap_or_default(),
            s.snapshot.replace("```", "'''")
        ));
    }
    if let Some(c) = &inc.closure {
        md.push_str(&format!(
            "## Closure\n\n{}; unmet: {}; justification: {}\n\n",
            c.at,
            c.unmet
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            c.justification.as_deref().unwrap_or("-")
        ));
    }
    md.push_str("## Journal\n\n| Seq | At | Actor | Action | Hash |\n|---|---|---|---|---|\n");
    for e in journal {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            e.seq, e.at, e.actor, e.action, e.hash
        ));
    }
    Ok(md)
}

/// `export_markdown` as printable HTML: the same content; Markdown tables become tables, code
/// blocks `<pre>`.
pub fn export_html(
    inc: &Incident,
    journal: &[JournalEntry],
    lang: Lang,
    now: Timestamp,
) -> Result<String> {
    let md = export_markdown(inc, journal, lang, now)?;
    let f = &inc.facts;
    let e = hygie_report::esc;
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}\
         table{{border-collapse:collapse;margin-bottom:1em}}th,td{{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top}}\
         pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5em}}</style></head><body>\n",
        e(&format!("{} — {}", inc.id, f.title))
    );
    let mut in_pre = false;
    let mut in_table = false;
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_start_matches('|')
            .trim_end_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace("\\|", "|"))
            .collect()
    };
    for line in md.lines() {
        if line.starts_with("```") {
            html.push_str(if in_pre { "</pre>\n" } else { "<pre>" });
            in_pre = !in_pre;
            continue;
        }
        if in_pre {
            html.push_str(&e(line));
            html.push('\n');
            continue;
        }
        if line.starts_with('|') {
            if line.starts_with("|---") {
                continue;
            }
            if !in_table {
                html.push_str("<table>\n<tr>");
                for c in cells(line) {
                    html.push_str(&format!("<th>{}</th>", e(&c)));
                }
                html.push_str("</tr>\n");
                in_table = true;
            } else {
                html.push_str("<tr>");
                for c in cells(line) {
                    html.push_str(&format!("<td>{}</td>", e(&c)));
                }
                html.push_str("</tr>\n");
            }
            continue;
        }
        if in_table {
            html.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            html.push_str(&format!("<h3>{}</h3>\n", e(h)));
        } else if let Some(h) = line.strip_prefix("## ") {
            html.push_str(&format!("<h2>{}</h2>\n", e(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            html.push_str(&format!("<h1>{}</h1>\n", e(h)));
        } else if let Some(item) = line.strip_prefix("- ") {
            html.push_str(&format!("<div>• {}</div>\n", e(item)));
        } else if !line.is_empty() {
            html.push_str(&format!("<p>{}</p>\n", e(line)));
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    html.push_str("</body></html>\n");
    Ok(html)
}
