//! Hygie's one rendering layer: aligned text tables for the terminal, Markdown for tickets and
//! wikis, self-contained HTML (inline CSS, no script, no external resource) that a CISO can send
//! to the director, and CSV through the one formula-safe writer ([`csv`]). JSON output is serde's
//! job at the edge, not this crate's.
//!
//! HTML is rendered by compiled askama templates (`templates/`): a typo in a template is a build
//! error, every value is escaped unless a template says otherwise, and the view models are plain
//! typed structs. The shared pieces live here and other crates reuse them by listing this crate's
//! `templates/` in their own `askama.toml`: `base.html` (the page skeleton), `report.html` with
//! `report.css` (printable reports), `macros.html` (progress bar, plain table). Text tables and
//! Markdown stay as code: they are column padding and pipe escaping, which templates would only
//! obscure.
//!
//! `digest_facility.txt` and `digest_region.txt` ([`digest`]) are the weekly e-mail digests'
//! plain-text bodies, rendered like the pages.
//!
//! `findings.html` ([`FindingsTable`]) shows the findings of a run, shared by the CLI's AD report
//! and the web's run page; `print.css` is the page frame of every PDF ([`print_document`], then
//! `hygie-pdf`). hygie-ad, hygie-incident and hygie-web keep their own templates beside their
//! code and list this crate's `templates/` in their `askama.toml`.
//!
//! The one HTML escaper is [`Escape`] (named entities), set in every crate's `askama.toml`, with
//! [`esc`] for the rare string built in code. Invariants: every HTML value is escaped unless a
//! template marks it `|safe`, and only HTML this layer built is; every CSV export goes through
//! [`csv::CsvWriter`].
//!
//! To add an HTML report: a struct deriving `askama::Template` and a template extending
//! `report.html`; a CSV export: `CsvWriter`; a PDF: the HTML through `print_document` and
//! `hygie-pdf`.

use hygie_core::plan::{EffectiveStatus, RegionStatus};
use hygie_core::{Catalog, FacilityStatus, Lang};
use std::fmt::Write as _;

mod campaign;
pub mod csv;
pub mod diagram;
pub mod digest;
mod findings;
mod html;
mod notifications;
mod oversight;
pub mod pdf;

pub use campaign::{CampaignRow, CampaignView, campaign_csv, campaign_html, campaign_text};
pub use findings::{FindingView, FindingsTable, OBJECTS_SHOWN, RunReport};

pub use html::{
    AuditLine, Escape, IncidentLine, Summary, esc, region_html, render, status_html,
    status_report_html,
};
pub use notifications::{notifications_csv, notifications_text};
pub use oversight::{late_csv, oversight_text};
pub use pdf::{PrintFrame, print_document};

// Templates name the escaper by this crate's path, here as in the crates that reuse them.
extern crate self as hygie_report;

/// Pick the text of the reader's language: the one form of every inline bilingual label.
pub fn t(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// A Sigma level (`critical` … `informational`) in the reader's language; a level Sigma does
/// not define is "other".
pub fn level_label(lang: Lang, level: &str) -> &'static str {
    match level {
        "critical" => t(lang, "critical", "critique"),
        "high" => t(lang, "high", "élevé"),
        "medium" => t(lang, "medium", "moyen"),
        "low" => t(lang, "low", "faible"),
        "informational" => t(lang, "informational", "information"),
        _ => t(lang, "other", "autre"),
    }
}

/// Implement [`Translate`] for view structs (with one lifetime) whose language is their `lang`
/// field: `hygie_report::translate_by_lang_field!(AlertsBody, AuditBody);`.
#[macro_export]
macro_rules! translate_by_lang_field {
    ($($view:ident),+ $(,)?) => {$(
        impl $crate::Translate for $view<'_> {
            fn lang(&self) -> ::hygie_core::Lang {
                self.lang
            }
        }
    )+};
}

/// A view rendered in one language. Templates write `{{ self.t("Title", "Titre") }}`.
pub trait Translate {
    fn lang(&self) -> Lang;
    fn t(&self, en: &'static str, fr: &'static str) -> &'static str {
        t(self.lang(), en, fr)
    }
}

/// Escape text for a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A plain text table with columns padded to their widest cell (counted in characters).
/// Text safe to show on a terminal: control characters (C0 but tab, line feed and a CR before a
/// line feed; DEL; C1) and the bidirectional overrides are written as visible escapes
/// (`\u{1b}`), so that a name read from someone else's file (an account in a pwdump or an LDIF
/// export) can neither move the cursor, recolour or retitle the terminal, nor reverse the text
/// around it. Borrowed when there is nothing to change, which is nearly always.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_at(s: &str, i: usize, c: char) -> bool {
        match c {
            '\n' | '\t' => false,
            '\r' => !s[i + 1..].starts_with('\n'),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
            c => c.is_control(),
        }
    }
    if !s.char_indices().any(|(i, c)| unsafe_at(s, i, c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        if unsafe_at(s, i, c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            l.push_str(c);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
        &mut out,
    );
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

pub(crate) struct Words {
    level: &'static str,
    due: &'static str,
    done: &'static str,
    overdue: &'static str,
    score: &'static str,
    principle: &'static str,
    measure: &'static str,
    status: &'static str,
    reason: &'static str,
    days: &'static str,
    title: &'static str,
    facility: &'static str,
    kind: &'static str,
    reached: &'static str,
    failing: &'static str,
    as_of: &'static str,
    overall: &'static str,
    report: &'static str,
    region: &'static str,
    demo: &'static str,
    unconfirmed: &'static str,
}

const EN: Words = Words {
    level: "Level",
    due: "Due",
    done: "Done",
    overdue: "Overdue",
    score: "Score",
    principle: "Principle",
    measure: "Measure",
    status: "Status",
    reason: "Why",
    days: "days late",
    title: "Title",
    facility: "Facility",
    kind: "Kind",
    reached: "Level reached",
    failing: "Failing checks",
    as_of: "as of",
    overall: "Overall score",
    report: "Security plan status",
    region: "Region",
    demo: "DEMO DATA",
    unconfirmed: "Plan levels and deadlines come from the 2016 instruction's annex as summarised in public sources; they are not yet confirmed from the primary text.",
};

const FR: Words = Words {
    level: "Palier",
    due: "Échéance",
    done: "Réalisées",
    overdue: "En retard",
    score: "Score",
    principle: "Principe",
    measure: "Mesure",
    status: "Statut",
    reason: "Motif",
    days: "jours de retard",
    title: "Intitulé",
    facility: "Établissement",
    kind: "Type",
    reached: "Palier atteint",
    failing: "Contrôles en échec",
    as_of: "au",
    overall: "Score global",
    report: "État du plan de sécurité",
    region: "Région",
    demo: "DONNÉES DE DÉMONSTRATION",
    unconfirmed: "Les paliers et échéances du plan viennent de l'annexe de l'instruction de 2016 telle que résumée par des sources publiques ; ils ne sont pas encore confirmés par le texte primaire.",
};

pub(crate) fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

fn level_rows(s: &FacilityStatus) -> Vec<Vec<String>> {
    s.levels
        .iter()
        .map(|l| {
            vec![
                l.level.to_string(),
                format!("{}{}", l.due_date, flag(l.unconfirmed)),
                format!("{}/{}", l.done, l.total),
                l.overdue.len().to_string(),
            ]
        })
        .collect()
}

/// The facility status as a terminal table.
pub fn status_text(s: &FacilityStatus, lang: Lang) -> String {
    let w = words(lang);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}) — {} {}",
        w.facility, s.facility.name, s.facility.id, w.as_of, s.as_of
    );
    let _ = writeln!(
        out,
        "{}: {}   {}: {:.1}% ({}/{})\n",
        w.reached, s.level_reached, w.overall, s.score, s.done, s.total
    );
    out.push_str(&table(&[w.level, w.due, w.done, w.overdue], &level_rows(s)));
    if s.has_unconfirmed_level() {
        let _ = writeln!(out, "[?] {}", w.unconfirmed);
    }
    out.push('\n');
    let prows: Vec<Vec<String>> = s
        .principles
        .iter()
        .map(|p| {
            vec![
                p.principle.label().get(lang).to_owned(),
                format!("{}/{}", p.done, p.total),
                format!("{:.1}%", p.score),
            ]
        })
        .collect();
    out.push_str(&table(&[w.principle, w.done, w.score], &prows));
    let attention: Vec<Vec<String>> = s
        .measures
        .iter()
        .filter(|m| m.days_overdue.is_some() || m.status == EffectiveStatus::Failing)
        .map(|m| {
            vec![
                m.id.to_string(),
                m.status.label().get(lang).to_owned(),
                m.days_overdue
                    .map(|d| format!("{d} {}", w.days))
                    .unwrap_or_default(),
                m.reason
                    .as_ref()
                    .map(|r| r.get(lang).to_owned())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    if !attention.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[w.measure, w.status, w.overdue, w.reason],
            &attention,
        ));
    }
    out
}

/// The facility status as Markdown.
pub fn status_markdown(s: &FacilityStatus, lang: Lang) -> String {
    let w = words(lang);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} — {} ({})\n",
        w.report,
        md(&s.facility.name),
        s.facility.id
    );
    if s.facility.region.is_demo() {
        let _ = writeln!(out, "> **{}**\n", w.demo);
    }
    let _ = writeln!(
        out,
        "{} {} · {}: **{}** · {}: **{:.1}%** ({}/{})\n",
        w.as_of, s.as_of, w.reached, s.level_reached, w.overall, s.score, s.done, s.total
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |\n|---|---|---|---|",
        w.level, w.due, w.done, w.overdue
    );
    for r in level_rows(s) {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    let _ = writeln!(
        out,
        "\n| {} | {} | {} |\n|---|---|---|",
        w.principle, w.done, w.score
    );
    for p in &s.principles {
        let _ = writeln!(
            out,
            "| {} | {}/{} | {:.1}% |",
            p.principle.label().get(lang),
            p.done,
            p.total,
            p.score
        );
    }
    let _ = writeln!(
        out,
        "\n| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
        w.measure, w.title, w.level, w.status, w.reason
    );
    for m in &s.measures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            m.id,
            md(m.title.get(lang)),
            m.level.map(|l| l.to_string()).unwrap_or_default(),
            m.status.label().get(lang),
            md(&m
                .reason
                .as_ref()
                .map(|r| r.get(lang).to_owned())
                .unwrap_or_default())
        );
    }
    let _ = writeln!(out, "\n_{}_", w.unconfirmed);
    out
}

pub(crate) fn region_rows(r: &RegionStatus, lang: Lang) -> Vec<Vec<String>> {
    r.facilities
        .iter()
        .map(|f| {
            let mut row = vec![
                f.id.to_string(),
                f.name.clone(),
                f.kind.label().get(lang).to_owned(),
                f.departement.clone(),
                f.level_reached.to_string(),
            ];
            row.extend(
                f.levels
                    .iter()
                    .map(|l| format!("{}/{}{}", l.done, l.total, flag(l.unconfirmed))),
            );
            row.extend([
                f.overdue.to_string(),
                f.failing.to_string(),
                format!("{:.1}%", f.score),
            ]);
            row
        })
        .collect()
}

/// The mark of a value resting on an unconfirmed fact, explained by `Words::unconfirmed`.
fn flag(unconfirmed: bool) -> &'static str {
    if unconfirmed { " [?]" } else { "" }
}

pub(crate) fn region_headers(w: &Words) -> Vec<String> {
    let mut h: Vec<String> = vec![
        "FINESS".into(),
        w.facility.into(),
        w.kind.into(),
        "Dpt".into(),
        w.reached.into(),
    ];
    h.extend((1..=3).map(|l| format!("{} {l}", w.level)));
    h.extend([
        w.overdue.to_owned(),
        w.failing.to_owned(),
        w.score.to_owned(),
    ]);
    h
}

pub fn region_text(r: &RegionStatus, lang: Lang) -> String {
    let w = words(lang);
    let h = region_headers(w);
    let hs: Vec<&str> = h.iter().map(String::as_str).collect();
    let demo = if r.demo {
        format!(" [{}]", w.demo)
    } else {
        String::new()
    };
    let mut out = format!(
        "{} {} ({}){demo} — {} {}\n\n{}",
        w.region,
        r.name,
        r.region,
        w.as_of,
        r.as_of,
        table(&hs, &region_rows(r, lang))
    );
    if r.has_unconfirmed_level() {
        let _ = writeln!(out, "[?] {}", w.unconfirmed);
    }
    out
}

pub fn region_markdown(r: &RegionStatus, lang: Lang) -> String {
    let w = words(lang);
    let h = region_headers(w);
    let mut out = format!(
        "# {} — {} {} ({})\n\n",
        w.report,
        w.region,
        md(r.name),
        r.region
    );
    if r.demo {
        let _ = writeln!(out, "> **{}**\n", w.demo);
    }
    let _ = writeln!(
        out,
        "{} {}\n\n| {} |\n|{}",
        w.as_of,
        r.as_of,
        h.join(" | "),
        "---|".repeat(h.len())
    );
    for row in region_rows(r, lang) {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    if r.has_unconfirmed_level() {
        let _ = writeln!(out, "\n_[?] {}_", w.unconfirmed);
    }
    out
}

/// Which columns a region CSV carries: the web export adds each level's overdue count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionColumns {
    Summary,
    WithLevelOverdue,
}

/// The region status as CSV, one facility a row. Name and département are text (neutralised);
/// FINESS, kind and the counters are Hygie's own values.
pub fn region_csv(r: &RegionStatus, columns: RegionColumns) -> String {
    let detail = columns == RegionColumns::WithLevelOverdue;
    let mut header = vec![
        "finess".to_owned(),
        "name".into(),
        "kind".into(),
        "departement".into(),
        "level_reached".into(),
    ];
    for l in 1..=3 {
        header.extend([format!("l{l}_done"), format!("l{l}_total")]);
        if detail {
            header.push(format!("l{l}_overdue"));
        }
    }
    // `unconfirmed_levels`, beside the levels: those (e.g. "1 2 3") resting on a fact not
    // confirmed from the primary text; their due dates and overdue counts carry the flag.
    header.extend([
        "unconfirmed_levels".into(),
        "overdue".into(),
        "failing".into(),
        "score".into(),
    ]);
    let mut w = csv::CsvWriter::new(Vec::new());
    let mut written = w.row(&header);
    for f in &r.facilities {
        let mut row = vec![
            csv::Cell::text(f.id.as_str()),
            csv::Cell::text(f.name.as_str()),
            csv::Cell::text(f.kind.as_str()),
            csv::Cell::text(f.departement.as_str()),
            csv::Cell::int(f.level_reached),
        ];
        for l in &f.levels {
            row.extend([csv::Cell::int(l.done), csv::Cell::int(l.total)]);
            if detail {
                row.push(csv::Cell::int(l.overdue));
            }
        }
        row.extend([
            csv::Cell::text(
                f.unconfirmed_levels()
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            csv::Cell::int(f.overdue),
            csv::Cell::int(f.failing),
            csv::Cell::decimal(f.score, 1),
        ]);
        written = written.and_then(|()| w.row(row));
    }
    csv::to_text(written, w)
}

/// The catalogue as a terminal table.
pub fn catalog_text(c: &Catalog, measures: &[&hygie_core::Measure], lang: Lang) -> String {
    let w = words(lang);
    let rows: Vec<Vec<String>> = measures
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.level
                    .map(|l| format!("{l} ({} m)", l * 6))
                    .unwrap_or_default(),
                m.verification.as_str().to_owned(),
                format!(
                    "{}{}",
                    m.title.get(lang),
                    if m.unconfirmed.is_some() { " [?]" } else { "" }
                ),
            ]
        })
        .collect();
    format!(
        "Catalogue {} — {} measures\n\n{}",
        c.version,
        measures.len(),
        table(&[w.measure, w.level, "Verification", w.title], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        // Multi-byte characters around and between the special ones are kept whole.
        assert_eq!(esc("é<ü>€&"), "é&lt;ü&gt;€&amp;");
        assert_eq!(esc(""), "");
        assert_eq!(esc("sans rien à échapper"), "sans rien à échapper");
    }

    #[test]
    fn terminal_text_shows_control_characters_as_escapes() {
        assert_eq!(terminal_safe("evil\u{1b}[31mred"), "evil\\u{1b}[31mred");
        assert_eq!(terminal_safe("a\u{9b}2Jb\u{7f}"), "a\\u{9b}2Jb\\u{7f}");
        assert_eq!(terminal_safe("gpj.\u{202e}exe"), "gpj.\\u{202e}exe");
        assert_eq!(terminal_safe("over\rwrite"), "over\\u{d}write");
        // Lines, tabs and CRLF line ends stay as they are, and need no copy.
        let plain = "nom\tvaleur\r\nÉchéance ✓\n";
        assert!(matches!(terminal_safe(plain), std::borrow::Cow::Borrowed(p) if p == plain));
    }

    #[test]
    fn tables_align_on_characters_not_bytes() {
        let t = table(
            &["a", "b"],
            &[
                vec!["Échéance".into(), "1".into()],
                vec!["x".into(), "22".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "a         b");
        assert_eq!(lines[2], "Échéance  1");
        assert_eq!(lines[3], "x         22");
    }
}
