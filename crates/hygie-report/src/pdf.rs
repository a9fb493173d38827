//! The print frame of every PDF: one stylesheet (`templates/print.css`) with the paper, the
//! margins and, in CSS `@page` margin boxes, the running header (what the report is about, its
//! date) and footer ("confidential", "page n / m"), added to a report's HTML before
//! `hygie-pdf` prints it. The screen's HTML is left as it is: the same templates make both.

use crate::Translate;
use askama::Template;
use hygie_core::Lang;

/// What the margins of every page say.
#[derive(Debug, Clone)]
pub struct PrintFrame {
    /// Left of the header: the facility (or region) and the report's name.
    pub header: String,
    /// Right of the header: the report's date.
    pub date: String,
    pub lang: Lang,
}

#[derive(Template)]
#[template(path = "print.css", escape = "none")]
struct PrintCss<'a> {
    header: &'a str,
    date: &'a str,
    lang: Lang,
}

impl Translate for PrintCss<'_> {
    fn lang(&self) -> Lang {
        self.lang
    }
}

impl PrintCss<'_> {
    /// `s` as a quoted CSS string: every character but letters, digits and a few plain marks is
    /// written as a hexadecimal escape, so no text (a facility's name) can end the string, the
    /// rule or the `<style>` element.
    fn css(&self, s: &str) -> String {
        css_string(s)
    }
}

pub(crate) fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || " .,:;-_()/".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\{:x} ", u32::from(c)));
        }
    }
    out.push('"');
    out
}

/// `html` (a whole document from this crate's templates) with the print stylesheet for
/// `frame` added at the end of its head, where it wins over the screen's rules.
pub fn print_document(html: &str, frame: &PrintFrame) -> String {
    let css = crate::render(&PrintCss {
        header: &frame.header,
        date: &frame.date,
        lang: frame.lang,
    });
    let style = format!("<style media=\"print\">{css}</style>");
    match html.find("</head>") {
        Some(i) => format!("{}{style}{}", &html[..i], &html[i..]),
        None => format!("{style}{html}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_text_cannot_leave_its_css_string() {
        let s = css_string("CH \"x\" </style><script>é");
        assert_eq!(
            s,
            "\"CH \\22 x\\22  \\3c /style\\3e \\3c script\\3e \\e9 \""
        );
        let doc = print_document(
            "<html><head><title>t</title></head><body></body></html>",
            &PrintFrame {
                header: "CH </style>".into(),
                date: "2026-12-06".into(),
                lang: Lang::Fr,
            },
        );
        assert_eq!(doc.matches("</style>").count(), 1);
        assert!(doc.contains("CONFIDENTIEL"));
        assert!(doc.contains("counter(pages)"));
        assert!(doc.find("<style media").unwrap() < doc.find("</head>").unwrap());
    }
}
