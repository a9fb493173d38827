//! HTML building blocks of the web pages: the page layout (an askama template reusing
//! hygie-report's `base.html`), the facility navigation, progress bars and the SVG trend chart.
//! Every dynamic value goes through askama's escaping (`esc` for the parts still built in code).
//! No script anywhere: the CSP forbids it.

use hygie_core::Lang;
use hygie_report::Translate as _;
use hygie_report::esc;
use hygie_store::User;
use std::fmt::Write as _;

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

#[derive(askama::Template)]
#[template(path = "facility_nav.html")]
struct FacilityNav<'a> {
    lang: Lang,
    id: &'a hygie_core::Finess,
}

hygie_report::translate_by_lang_field!(Layout, FacilityNav);

/// Links between a facility's pages (template `facility_nav.html`, also included by the
/// templates of those pages).
pub fn facility_nav(lang: Lang, id: &hygie_core::Finess) -> String {
    hygie_report::render(&FacilityNav { lang, id })
}

/// A moment in the facilities' time zone (Europe/Paris), to the minute.
pub fn when(ts: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string()
}

/// The opening of a table and its header row; the caller adds rows and `</table>`.
pub fn table_head(headers: &[&str]) -> String {
    let mut s = String::from("<table><tr>");
    for h in headers {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    s
}

/// The banner of fictitious (demo) data.
pub fn demo_note(lang: Lang, en: &'static str, fr: &'static str) -> String {
    format!("<p class=\"demo\">{}</p>", t(lang, en, fr))
}

/// A progress bar with "done/total".
pub fn bar(done: usize, total: usize) -> String {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "<span class=\"bar\" title=\"{pct}%\"><i style=\"width:{pct}%\"></i></span> {done}/{total}"
    )
}

/// A line chart of scores (0-100) over dates, as inline SVG.
pub fn trend_svg(points: &[(jiff::civil::Date, f64)], lang: Lang) -> String {
    let (w, h, pad) = (640.0_f64, 180.0_f64, 30.0_f64);
    let n = points.len();
    if n == 0 {
        return String::new();
    }
    let x = |i: usize| pad + (w - 2.0 * pad) * (i as f64) / ((n.max(2) - 1) as f64);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v.clamp(0.0, 100.0) / 100.0;
    let mut s = format!(
        "<svg id=\"trend\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        t(
            lang,
            "Score over the last twelve months",
            "Score sur les douze derniers mois"
        )
    );
    for v in [0.0, 50.0, 100.0] {
        let _ = write!(
            s,
            "<line x1=\"{pad}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#d5dae0\"/><text x=\"2\" y=\"{}\" font-size=\"10\">{v}%</text>",
            w - pad,
            y(v) + 3.0,
            y = y(v)
        );
    }
    let pts: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = write!(
        s,
        "<polyline fill=\"none\" stroke=\"#2f855a\" stroke-width=\"2\" points=\"{}\"/>",
        pts.join(" ")
    );
    for (i, (d, v)) in points.iter().enumerate() {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#17324d\"><title>{d}: {v:.1}%</title></circle>",
            x(i),
            y(*v)
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            s,
            "<text x=\"{pad}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            h - 8.0,
            first.0,
            w - pad,
            h - 8.0,
            last.0
        );
    }
    s.push_str("</svg>");
    s
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
        let svg = trend_svg(&[(d, 10.0), (d, 50.0), (d, 90.0)], Lang::Fr);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("polyline"));
        assert!(trend_svg(&[], Lang::En).is_empty());
    }
}
