//! The status reports as HTML, through the compiled templates in `templates/`.

use crate::{Translate as _, Words, words};
use askama::Template;
use hygie_core::plan::{EffectiveStatus, MeasureState, RegionStatus};
use hygie_core::{FacilityStatus, Lang};

/// The HTML escaper of every template (set in each crate's `askama.toml`), and of `esc`.
/// Askama's own escaper writes numeric entities (`&#60;`); Hygie's reports and pages have always
/// written the named ones (`&lt;`), which readers of the raw HTML and its tests expect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Escape;

impl askama::filters::Escaper for Escape {
    /// One pass over the bytes, writing the runs between special characters whole: every text
    /// of every page goes through here (a regional page of 1,000 facilities escapes tens of
    /// thousands of cells), and searching with a `char` pattern cost a third of that page.
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, s: &str) -> std::fmt::Result {
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            // The special characters are ASCII, so `i` is always a character boundary.
            dest.write_str(&s[start..i])?;
            dest.write_str(entity)?;
            start = i + 1;
        }
        dest.write_str(&s[start..])
    }
}

/// Escape text for HTML element content and attribute values, for the few places that still
/// assemble HTML in code: the same escaper as the templates.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing to a String cannot fail.
    let _ = askama::filters::Escaper::write_escaped_str(&Escape, &mut out, s);
    out
}

/// Render a template to a string. Askama fails only when a value's `Display` fails, which no
/// Hygie type does; the error text then stands in for the page rather than a panic.
pub fn render<T: Template>(t: &T) -> String {
    t.render()
        .unwrap_or_else(|e| format!("rendering failed / échec du rendu : {e}\n"))
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    lang: Lang,
    w: &'static Words,
    s: &'a FacilityStatus,
    summary: Option<&'a Summary>,
}

crate::translate_by_lang_field!(StatusPage);

/// What the executive summary (the first page of the printed facility report) adds to the
/// status: the open incidents and the last audits, from outside the plan's computation.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub incidents: Vec<IncidentLine>,
    pub audits: Vec<AuditLine>,
    /// The IS map as [`crate::diagram::svg`] drew it (hygie-inventory's `map`), when the
    /// facility has zones or assets.
    pub map_svg: Option<String>,
}

/// An open incident as the summary lists it.
#[derive(Debug, Clone)]
pub struct IncidentLine {
    pub id: String,
    pub title: String,
    /// When the facility became aware, as the reader reads it.
    pub aware: String,
    /// The duties late, by name in the reader's language.
    pub late: Vec<String>,
}

/// One of the last audit runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLine {
    pub source: String,
    pub at: String,
    pub rules: i64,
    pub failed: i64,
}

impl StatusPage<'_> {
    /// The measures past their level's due date, most late first: the summary's "late" list.
    fn late(&self) -> Vec<&MeasureState> {
        let mut v: Vec<&MeasureState> = self
            .s
            .measures
            .iter()
            .filter(|m| m.days_overdue.is_some())
            .collect();
        v.sort_by_key(|m| std::cmp::Reverse(m.days_overdue));
        v
    }

    /// A late measure is shown as overdue, unless a check says it is failing.
    fn status_class(&self, m: &MeasureState) -> &'static str {
        if m.days_overdue.is_some() && m.status != EffectiveStatus::Failing {
            "overdue"
        } else {
            m.status.as_str()
        }
    }
}

/// The facility status as a self-contained HTML report.
pub fn status_html(s: &FacilityStatus, lang: Lang) -> String {
    render(&StatusPage {
        lang,
        w: words(lang),
        s,
        summary: None,
    })
}

/// The facility report opening with its executive summary (one page when printed: level,
/// score per principle, late measures and why, open incidents, last audits).
pub fn status_report_html(s: &FacilityStatus, summary: &Summary, lang: Lang) -> String {
    render(&StatusPage {
        lang,
        w: words(lang),
        s,
        summary: Some(summary),
    })
}

#[derive(Template)]
#[template(path = "region.html")]
struct RegionPage<'a> {
    lang: Lang,
    w: &'static Words,
    r: &'a RegionStatus,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The region status as a self-contained HTML report.
pub fn region_html(r: &RegionStatus, lang: Lang) -> String {
    let w = words(lang);
    render(&RegionPage {
        lang,
        w,
        r,
        headers: crate::region_headers(w),
        rows: crate::region_rows(r, lang),
    })
}
