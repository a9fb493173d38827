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

impl hygie_report::Translate for AlertsChart {
    fn lang(&self) -> Lang {
        self.lang
    }
}

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
    /// The plan's level reached at each point (0 to 3), drawn dashed on the same chart; empty
    /// for a chart of scores only.
    pub levels: &'a [u8],
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
    /// Ordinate of a level (the plan's three levels over the chart's height).
    fn level_y(&self, level: u8) -> f64 {
        self.y(f64::from(level.min(3)) * 100.0 / 3.0)
    }
    /// The level reached at the i-th point, when the chart has levels.
    fn level_at(&self, i: usize) -> Option<u8> {
        self.levels.get(i).copied()
    }
}

pub(crate) use hygie_report::level_label;

/// The CSS class colouring a level.
pub(crate) fn level_class(level: &str) -> &'static str {
    match level {
        "critical" => "sev-critical",
        "high" => "sev-high",
        "medium" => "sev-medium",
        "low" => "sev-low",
        _ => "sev-info",
    }
}

/// Days the alerts chart covers, today included.
pub const ALERT_CHART_DAYS: i64 = 30;

/// Sigma's levels, most severe first: the order of the stacks, from the bottom.
const CHART_LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

/// Alerts recorded per day, stacked by level with the severity colours of the alerts list, as
/// inline SVG (template `bars.html`); nothing when the period has no alert. Pages write it with
/// `{{ chart|safe }}`.
#[derive(askama::Template)]
#[template(path = "bars.html")]
pub struct AlertsChart {
    lang: Lang,
    bars: Vec<Bar>,
    /// The tallest day's count, written on the axis.
    max: i64,
    total: i64,
    first: Option<jiff::civil::Date>,
    last: Option<jiff::civil::Date>,
    /// The levels present, with their colour and abscissa, for the legend.
    legend: Vec<(&'static str, &'static str, Tenths)>,
}

/// One level's part of one day's column.
struct Bar {
    x: Tenths,
    y: Tenths,
    w: Tenths,
    h: Tenths,
    fill: &'static str,
    title: String,
}

fn level_fill(level: &str) -> &'static str {
    match level {
        "critical" => "#7a1010",
        "high" => "#b42318",
        "medium" => "#e0b84c",
        "low" => "#8fb8de",
        _ => "#aab4bf",
    }
}

impl AlertsChart {
    /// No alert in the period: nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The chart of the `ALERT_CHART_DAYS` days ending with `today` (UTC), from
    /// `Store::alerts_per_day`'s (days since 1970-01-01, level, count); a level Sigma does not
    /// know counts as informational.
    pub fn of(lang: Lang, today: jiff::civil::Date, counts: &[(i64, String, i64)]) -> AlertsChart {
        let epoch = jiff::civil::date(1970, 1, 1);
        let n = ALERT_CHART_DAYS as usize;
        let first = today
            .checked_sub(jiff::Span::new().days(ALERT_CHART_DAYS - 1))
            .unwrap_or(today);
        let first_index = epoch.until(first).map_or(0, |s| i64::from(s.get_days()));
        let mut per_day = vec![[0i64; CHART_LEVELS.len()]; n];
        for (day, level, count) in counts {
            let Some(slot) = usize::try_from(day - first_index)
                .ok()
                .and_then(|i| per_day.get_mut(i))
            else {
                continue;
            };
            let l = CHART_LEVELS
                .iter()
                .position(|x| x == level)
                .unwrap_or(CHART_LEVELS.len() - 1);
            slot[l] += count;
        }
        let max = per_day
            .iter()
            .map(|d| d.iter().sum::<i64>())
            .max()
            .unwrap_or(0);
        let total = per_day.iter().flatten().sum();
        let step = (W - 2.0 * PAD) / n as f64;
        let scale = (H - 2.0 * PAD) / max.max(1) as f64;
        let mut bars = Vec::new();
        for (i, day) in per_day.iter().enumerate() {
            let date = first
                .checked_add(jiff::Span::new().days(i as i64))
                .unwrap_or(first);
            let mut top = H - PAD;
            for (l, count) in day.iter().enumerate().filter(|(_, c)| **c > 0) {
                let h = *count as f64 * scale;
                top -= h;
                let level = CHART_LEVELS[l];
                bars.push(Bar {
                    x: Tenths(PAD + step * i as f64 + step * 0.1),
                    y: Tenths(top),
                    w: Tenths(step * 0.8),
                    h: Tenths(h),
                    fill: level_fill(level),
                    title: format!(
                        "{date} · {}{} {count}",
                        level_label(lang, level),
                        t(lang, ":", " :")
                    ),
                });
            }
        }
        let legend = CHART_LEVELS
            .iter()
            .enumerate()
            .filter(|(l, _)| per_day.iter().any(|d| d[*l] > 0))
            .enumerate()
            .map(|(i, (_, level))| {
                (
                    level_label(lang, level),
                    level_fill(level),
                    Tenths(PAD + 110.0 * i as f64),
                )
            })
            .collect();
        AlertsChart {
            lang,
            bars,
            max,
            total,
            first: Some(first),
            last: Some(today),
            legend,
        }
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
    fn alerts_chart_stacks_each_day_by_level() {
        let today = jiff::civil::date(2026, 12, 7);
        let day = |d: i8| {
            i64::from(
                jiff::civil::date(1970, 1, 1)
                    .until(jiff::civil::date(2026, 12, d))
                    .map(|s| s.get_days())
                    .unwrap_or(0),
            )
        };
        let counts = vec![
            (day(7), "high".to_owned(), 4),
            (day(7), "critical".to_owned(), 2),
            (day(6), "odd".to_owned(), 1),
            // Before the period: left out.
            (day(7) - 40, "high".to_owned(), 99),
        ];
        let c = AlertsChart::of(Lang::Fr, today, &counts);
        assert_eq!((c.max, c.total), (6, 7));
        assert_eq!(c.bars.len(), 3);
        // The most severe at the bottom of today's column, the last one.
        assert_eq!(c.bars[1].fill, "#7a1010");
        assert!(
            c.bars[1].title.contains("critique : 2"),
            "{}",
            c.bars[1].title
        );
        assert!(c.bars[2].y.0 < c.bars[1].y.0);
        assert!(c.bars[0].title.contains("2026-12-06 · information : 1"));
        let svg = c.to_string();
        assert!(svg.starts_with("<svg") && svg.contains("élevé"), "{svg}");
        assert!(AlertsChart::of(Lang::En, today, &[]).to_string().is_empty());
    }

    #[test]
    fn trend_draws_the_levels_reached_dashed() {
        let points = [
            (jiff::civil::date(2026, 10, 1), 20.0),
            (jiff::civil::date(2026, 11, 1), 45.0),
        ];
        let svg = TrendChart {
            lang: Lang::Fr,
            points: &points,
            levels: &[0, 2],
            label: hygie_core::Text::new("x", "x"),
        }
        .to_string();
        assert!(svg.contains("stroke-dasharray"), "{svg}");
        assert!(svg.contains("palier 2"), "{svg}");
        let plain = TrendChart {
            lang: Lang::Fr,
            points: &points,
            levels: &[],
            label: hygie_core::Text::new("x", "x"),
        }
        .to_string();
        assert!(!plain.contains("stroke-dasharray") && !plain.contains("palier"));
    }

    #[test]
    fn trend_has_one_point_per_date() {
        let d = jiff::civil::date(2026, 1, 1);
        let label = hygie_core::Text::new("Score", "Score");
        let chart = |lang, points: &[_]| {
            hygie_report::render(&TrendChart {
                lang,
                points,
                levels: &[],
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
