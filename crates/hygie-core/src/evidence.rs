//! An evidence link as people give it (the web form, the API, `hygie assess evidence --link`):
//! a web address and an optional title, checked once here for every front end and the store.

use crate::{FieldError, Localized};

/// The longest address accepted (what browsers and servers commonly handle).
pub const MAX_URL_CHARS: usize = 2000;
/// The longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;

/// A link to evidence kept elsewhere (a document management system, a ticket, a wiki page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceLink {
    /// An `http://` or `https://` address, trimmed.
    pub url: String,
    /// What the link shows, when given.
    pub title: Option<String>,
}

impl EvidenceLink {
    /// The link of `url` and `title` (empty: none), or every field refused with its reason in
    /// both languages. Only web addresses are links: a `javascript:` or `file:` address, spaces,
    /// control or text-direction characters are refused.
    pub fn parse(url: &str, title: &str) -> Result<EvidenceLink, Vec<FieldError>> {
        let mut errors = Vec::new();
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let bad = |en: String, fr: String| FieldError {
            field: "url",
            message: Localized::new(en, fr),
        };
        match rest {
            _ if url.is_empty() => errors.push(bad(
                "give the address of the evidence".into(),
                "indiquez l'adresse de la preuve".into(),
            )),
            None => errors.push(bad(
                format!("'{url}' is not a web address (http:// or https://)"),
                format!("« {url} » n'est pas une adresse web (http:// ou https://)"),
            )),
            Some(r) if r.is_empty() || r.starts_with('/') => errors.push(bad(
                format!("'{url}' names no server"),
                format!("« {url} » ne nomme aucun serveur"),
            )),
            Some(_) if url.chars().count() > MAX_URL_CHARS => errors.push(bad(
                format!("at most {MAX_URL_CHARS} characters"),
                format!("{MAX_URL_CHARS} caractères au plus"),
            )),
            Some(_)
                if url
                    .chars()
                    .any(|c| c.is_whitespace() || crate::is_disguising(c)) =>
            {
                errors.push(bad(
                    "holds a space, a control or a text-direction character".into(),
                    "contient une espace, un caractère de contrôle ou de sens d'écriture".into(),
                ))
            }
            Some(_) => {}
        }
        let title = title.trim();
        if title.chars().count() > MAX_TITLE_CHARS {
            errors.push(FieldError {
                field: "title",
                message: Localized::new(
                    format!("at most {MAX_TITLE_CHARS} characters"),
                    format!("{MAX_TITLE_CHARS} caractères au plus"),
                ),
            });
        } else if title.chars().any(crate::is_disguising) {
            errors.push(FieldError {
                field: "title",
                message: Localized::new(
                    "holds a control or text-direction character",
                    "contient un caractère de contrôle ou de sens d'écriture",
                ),
            });
        }
        if errors.is_empty() {
            Ok(EvidenceLink {
                url: url.to_owned(),
                title: Some(title.to_owned()).filter(|t| !t.is_empty()),
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, title: &str) -> Vec<&'static str> {
        EvidenceLink::parse(url, title)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn web_addresses_with_a_title_are_links() {
        let l = EvidenceLink::parse(" https://ged.chu.fr/doc/42 ", " PRA 2026 ").unwrap();
        assert_eq!(l.url, "https://ged.chu.fr/doc/42");
        assert_eq!(l.title.as_deref(), Some("PRA 2026"));
        assert_eq!(
            EvidenceLink::parse("HTTP://intranet/x", "").unwrap().title,
            None
        );
    }

    #[test]
    fn anything_else_is_refused_with_its_field() {
        for url in [
            "",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://",
            "https:///x",
            "https://a b",
            "https://x/\u{202e}fdp",
        ] {
            assert_eq!(refused(url, ""), ["url"], "{url:?}");
        }
        assert_eq!(
            refused(&format!("https://x/{}", "a".repeat(MAX_URL_CHARS)), ""),
            ["url"]
        );
        assert_eq!(
            refused("https://x", &"t".repeat(MAX_TITLE_CHARS + 1)),
            ["title"]
        );
        assert_eq!(refused("https://x", "a\nb"), ["title"]);
        let e = EvidenceLink::parse("ftp://x", "").unwrap_err();
        assert!(e[0].message.fr.contains("adresse web"));
    }
}
