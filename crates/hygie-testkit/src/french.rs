//! What gives English away in a text meant to be French (issue 18): the known offenders of
//! the walk-through (statuses, severities, "Overdue", "GDPR", "2 d" for days, CLI flags in
//! web errors) and raw enum values (`in_progress`). The web's every-page walk and the CLI's
//! French exports share this checker.

/// Words and phrases that gave English away in French pages (issue 18's walk-through).
pub const OFFENDERS: &[&str] = &[
    "Overdue",
    "high",
    "medium",
    "critical",
    "implemented",
    "in progress",
    "not started",
    "failed",
    "passed",
    "NIS 2: essential",
    "essential",
    "GDPR",
    "--justification",
    "Not found",
    "not found",
    "Forbidden",
    "forbidden",
    "Error",
    "days",
    "late by",
];

/// The text a reader sees: tags, styles and entities' markup removed; attribute values that
/// people read (title, aria-label, placeholder) kept.
pub fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        // A style block is CSS, not text; code is identifiers shown as they are typed or
        // logged (ANSSI control points, event names, the journal's stored JSON details).
        if tail.starts_with("<style") {
            rest = tail.find("</style>").map_or("", |j| &tail[j + 8..]);
            continue;
        }
        if tail.starts_with("<code") {
            rest = tail.find("</code>").map_or("", |j| &tail[j + 7..]);
            continue;
        }
        let end = tail.find('>').map_or(tail.len(), |j| j + 1);
        let tag = &tail[..end];
        for attr in ["title=\"", "aria-label=\"", "placeholder=\""] {
            if let Some(a) = tag.find(attr) {
                let v = &tag[a + attr.len()..];
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                out.push(' ');
            }
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out.replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

/// A duration in English days ("2 d", "3 d 4 h"): a number, a space, a lone "d" (not the "d" of a
/// reference such as NIS 2's "23.4.d").
fn english_days(flat: &str) -> Option<String> {
    let b = flat.as_bytes();
    for (i, _) in flat.match_indices(" d") {
        let after = b.get(i + 2).copied();
        let lone = after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'.');
        let digits = flat[..i]
            .bytes()
            .rev()
            .take_while(u8::is_ascii_digit)
            .count();
        let before = flat[..i - digits].bytes().last();
        if lone && digits > 0 && before.is_none_or(|c| c == b' ' || c == b'(') {
            return Some(flat[i - digits..i + 2].to_owned());
        }
    }
    None
}

/// Where `needle` first shows in `text`: a few words around it, to find its source.
fn around(text: &str, needle: &str) -> String {
    let Some(i) = text.find(needle) else {
        return String::new();
    };
    let start = text[..i].char_indices().rev().nth(30).map_or(0, |(j, _)| j);
    let end = text[i..]
        .char_indices()
        .nth(needle.chars().count() + 30)
        .map_or(text.len(), |(j, _)| i + j);
    let snippet: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(" in \"…{snippet}…\"")
}

/// The offenders and raw enum values found in a page's visible text.
pub fn english_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    for o in OFFENDERS {
        let hit = if o.contains(' ') || o.contains(':') || o.starts_with('-') {
            text.contains(o)
        } else {
            words.contains(o)
        };
        if hit {
            found.push(format!("'{o}'{}", around(text, o)));
        }
    }
    // A duration in English days ("2 d"; "3 h 05 min" reads the same in French).
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(at) = english_days(&flat) {
        found.push(format!(
            "a duration in days written 'd'{}",
            around(&flat, &at)
        ));
    }
    for w in &words {
        let raw = w.contains('_')
            && !w.starts_with('_')
            && !w.ends_with('_')
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit());
        if raw {
            found.push(format!("raw value '{w}'"));
        }
    }
    found
}
