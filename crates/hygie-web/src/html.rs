//! HTML building blocks: the page layout, translations, progress bars and the SVG trend chart.
//! Every dynamic value goes through `esc`. No script anywhere: the CSP forbids it.

use hygie_core::Lang;
use hygie_report::esc;
use hygie_store::User;
use std::fmt::Write as _;

/// Pick the text of the page's language.
pub fn t(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}\
header{background:#17324d;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header form{display:inline;margin:0}\
main{padding:1rem 1.5rem;max-width:1200px}\
table{border-collapse:collapse;background:#fff;margin:.5rem 0}td,th{border:1px solid #d5dae0;padding:.25rem .5rem;text-align:left;font-size:.9rem}\
th{background:#eef1f4}.bar{display:inline-block;width:120px;height:.8rem;background:#e3e6ea;vertical-align:middle}\
.bar i{display:block;height:100%;background:#2f855a}.late{color:#b42318;font-weight:600}.ok{color:#2f855a}\
.card{background:#fff;border:1px solid #d5dae0;padding:.75rem 1rem;margin:.75rem 0}\
.demo{background:#fff4d6;border:1px solid #e0b84c;padding:.4rem .8rem}.err{background:#fde8e7;border:1px solid #b42318;padding:.5rem}\
label{display:block;margin:.4rem 0}input,select,textarea{font:inherit}code{background:#eef1f4;padding:0 .2rem}\
.grid{display:flex;gap:1rem;flex-wrap:wrap}.grid>.card{flex:1 1 300px}";

/// A whole page. `user` and `csrf` are given once logged in (navigation, language switch, logout).
pub fn layout(lang: Lang, title: &str, user: Option<(&User, &str)>, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 2048);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} — Hygie</title><style>{CSS}</style></head><body><header><strong><a href=\"/\">Hygie</a></strong>",
        match lang {
            Lang::En => "en",
            Lang::Fr => "fr",
        },
        esc(title)
    );
    if let Some((u, csrf)) = user {
        let _ = write!(
            s,
            "<a href=\"/\">{}</a><a href=\"/catalog\">{}</a>",
            t(lang, "Home", "Accueil"),
            t(lang, "Catalogue", "Catalogue")
        );
        if u.role.can_read_journal() {
            let _ = write!(
                s,
                "<a href=\"/journal\">{}</a>",
                t(lang, "Journal", "Journal")
            );
        }
        if u.role.can_manage_tokens() {
            let _ = write!(
                s,
                "<a href=\"/tokens\">{}</a>",
                t(lang, "API tokens", "Jetons d'API")
            );
        }
        if u.role == hygie_store::Role::Administrator {
            let _ = write!(
                s,
                "<a href=\"/admin/users\">{}</a>",
                t(lang, "Users", "Utilisateurs")
            );
        }
        let other = match lang {
            Lang::En => ("fr", "Français"),
            Lang::Fr => ("en", "English"),
        };
        let _ = write!(
            s,
            "<span style=\"margin-left:auto\">{} ({})</span>\
<form method=\"post\" action=\"/lang\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\"><button id=\"switch-lang\" type=\"submit\">{}</button></form>\
<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{}</button></form>",
            esc(&u.display_name),
            esc(u.role.label().get(lang)),
            esc(csrf),
            other.0,
            other.1,
            esc(csrf),
            t(lang, "Log out", "Se déconnecter")
        );
    }
    let _ = write!(
        s,
        "</header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title)
    );
    s
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
