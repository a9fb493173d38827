//! HTML building blocks of the web pages: the page layout (an askama template reusing
//! hygie-report's `base.html`), the SVG trend chart, the SVG QR code (TOTP enrolment) and the small helpers templates call
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

/// A QR code as inline SVG (template `qr.html`): one path of the code's dark modules inside
/// the quiet zone the standard asks for. Pages write it with `{{ qr|safe }}`; no image, no
/// script, so the CSP stays as it is.
#[derive(askama::Template)]
#[template(path = "qr.html")]
pub struct QrSvg {
    /// What a screen reader says of it, in the reader's language.
    label: &'static str,
    /// Modules across, quiet zone included.
    size: usize,
    /// The dark modules, (x, y) with the quiet zone added.
    dark: Vec<(usize, usize)>,
}

/// Modules of blank around the code (ISO/IEC 18004).
const QUIET: usize = 4;

impl QrSvg {
    /// The QR code of `text` (error correction M, as authenticator apps scan from a screen);
    /// None when the text is too long for any QR code.
    pub fn of(lang: Lang, text: &str) -> Option<QrSvg> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .ok()?;
        let width = code.width();
        let dark = code
            .to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == qrcode::Color::Dark)
            .map(|(i, _)| (i % width + QUIET, i / width + QUIET))
            .collect();
        Some(QrSvg {
            label: t(lang, "QR code of the key", "QR code de la clé"),
            size: width + 2 * QUIET,
            dark,
        })
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

    #[test]
    fn a_qr_code_is_inline_svg_of_its_modules() {
        let qr = QrSvg::of(
            Lang::Fr,
            "otpauth://totp/Hygie:alice?secret=JBSWY3DPEHPK3PXP",
        )
        .unwrap();
        // A QR code of version v is 4v + 17 modules across; 4 modules of quiet zone each side.
        let across = qr.size - 2 * QUIET;
        assert!(across >= 21 && (across - 17).is_multiple_of(4), "{across}");
        let svg = hygie_report::render(&qr);
        assert!(svg.starts_with("<svg") && !svg.contains("<script"));
        assert_eq!(svg.matches("h1v1h-1z").count(), qr.dark.len());
        // The three finder patterns' corners are dark.
        for (x, y) in [
            (QUIET, QUIET),
            (qr.size - QUIET - 1, QUIET),
            (QUIET, qr.size - QUIET - 1),
        ] {
            assert!(qr.dark.contains(&(x, y)), "{x},{y}");
        }
        assert!(QrSvg::of(Lang::En, &"x".repeat(5000)).is_none());
    }
}
