//! HTML building blocks of the web pages: the page layout (an askama template reusing
//! hygie-report's `base.html`), the SVG trend chart and the small helpers templates call
//! (`when`, `pct`, `status_class`). The facility navigation, progress bars and demo banner are
//! template pieces (`facility_nav.html`, `web_macros.html`).
//! Every dynamic value goes through askama's escaping (hygie-report's `Escape`).
//! No script anywhere: the CSP forbids it.

use hygie_core::Lang;
use hygie_report::Translate as _;
use hygie_store::User;

pub use hygie_report::t;

#[derive(askama::Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    lang: Lang,
    title: &'a str,
    user: Option<(&'a User, &'a str)>,
    body: &'a str,
}

/// A whole page (template `layout.html`). `user` and `csrf` are given once logged in
/// (navigation, language switch, logout). `body` is HTML the page built, already escaped.
pub fn layout(lang: Lang, title: &str, user: Option<(&User, &str)>, body: &str) -> String {
    hygie_report::render(&Layout {
        lang,
        title,
        user,
        body,
    })
}

hygie_report::translate_by_lang_field!(Layout, TrendChart);

/// A moment in the facilities' time zone (Europe/Paris), to the minute.
pub fn when(ts: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string()
}

/// A number shown to one decimal (`{{ crate::html::Tenths(score) }}`): written straight into the
/// page, where askama's `format` filter would allocate a string per cell.
pub struct Tenths(pub f64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// The share done, in whole percent (100 when there is nothing to do): the width of a progress
/// bar (macro `progress` in `web_macros.html`).
pub fn pct(done: usize, total: usize) -> usize {
    (done * 100).checked_div(total).unwrap_or(100)
}

/// A line chart of scores (0-100) over dates, as inline SVG (template `trend.html`); nothing
/// without points. The dashboard writes it into its page with `{{ trend|safe }}`.
#[derive(askama::Template)]
#[template(path = "trend.html")]
pub struct TrendChart<'a> {
    pub lang: Lang,
    pub points: &'a [(jiff::civil::Date, f64)],
    /// What the chart shows, for screen readers.
    pub label: hygie_core::Text,
}

// The chart's size and margin, in SVG user units.
const W: f64 = 640.0;
const H: f64 = 180.0;
const PAD: f64 = 30.0;

impl TrendChart<'_> {
    /// Abscissa of the i-th point (points evenly spaced).
    fn x(&self, i: usize) -> f64 {
        PAD + (W - 2.0 * PAD) * (i as f64) / ((self.points.len().max(2) - 1) as f64)
    }
    /// Ordinate of a score (100 at the top).
    fn y(&self, v: f64) -> f64 {
        H - PAD - (H - 2.0 * PAD) * v.clamp(0.0, 100.0) / 100.0
    }
}

/// The CSS class of a measure's status: late when failing or expired, ok when done.
pub fn status_class(s: hygie_core::EffectiveStatus) -> &'static str {
    use hygie_core::EffectiveStatus as S;
    match s {
        S::Failing | S::Expired => "late",
        S::Verified | S::Implemented => "ok",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_escapes_and_has_no_script() {
        let p = layout(Lang::En, "<x>", None, "<p>body</p>");
        assert!(p.contains("&lt;x&gt;"));
        assert!(!p.contains("<script"));
    }

    #[test]
    fn trend_has_one_point_per_date() {
        let d = jiff::civil::date(2026, 1, 1);
        let label = hygie_core::Text::new("Score", "Score");
        let chart = |lang, points: &[_]| {
            hygie_report::render(&TrendChart {
                lang,
                points,
                label,
            })
        };
        let points = [(d, 10.0), (d, 50.0), (d, 90.0)];
        let svg = chart(Lang::Fr, &points);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("polyline"));
        assert!(chart(Lang::En, &[]).is_empty());
    }
}
