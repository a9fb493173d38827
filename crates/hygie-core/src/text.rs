//! Bilingual text: every user-facing string of the catalogue exists in English and French.

use serde::{Deserialize, Serialize};

/// The two languages of Hygie's user-facing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// Both languages, in the order lists show them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The language's code, as `?lang=` and the serialised form write it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = crate::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "fr" | "french" | "français" | "francais" => Ok(Lang::Fr),
            other => Err(crate::InvalidValue::new(
                "lang",
                format!("'{other}' is not a language (en, fr)"),
            )),
        }
    }
}

/// A text in English and French.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub en: String,
    pub fr: String,
}

impl Localized {
    pub fn new(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            fr: fr.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }
}

/// Whether `c` can change how a name reads on a screen without being seen: a control character
/// (C0, DEL, C1: line breaks, terminal escapes) or a bidirectional embedding, override or
/// isolate (U+202A-U+202E, U+2066-U+2069), with which `gpj.exe` shows as `exe.jpg`.
pub fn is_disguising(c: char) -> bool {
    c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Check a file name people will see and download (evidence): refused, with the position and
/// code point of the first offending character, when a character could disguise it.
pub fn check_file_name(field: &'static str, name: &str) -> Result<(), crate::InvalidValue> {
    match name.chars().enumerate().find(|(_, c)| is_disguising(*c)) {
        None => Ok(()),
        Some((i, c)) => Err(crate::InvalidValue::new(
            field,
            format!(
                "character {} is U+{:04X}, a control or text-direction character that can disguise a file name; rename the file / le caractère {} est U+{:04X}, un caractère de contrôle ou de sens d'écriture qui peut déguiser un nom de fichier ; renommez le fichier",
                i + 1,
                u32::from(c),
                i + 1,
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::*;

    #[test]
    fn names_that_could_disguise_themselves_are_refused() {
        for bad in [
            "gpj.\u{202e}exe",
            "a\u{202a}b",
            "isolate\u{2066}.pdf",
            "\u{2069}",
            "line\nbreak",
            "cr\rlf",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{9b}2J",
            "nul\0",
        ] {
            let e = check_file_name("file_name", bad);
            assert!(e.is_err(), "{bad:?}");
            let msg = e.map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(msg.contains("U+") && msg.contains("renommez"), "{msg}");
        }
        let e = check_file_name("file_name", "gpj.\u{202e}exe").map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("character 5 is U+202E")));
        for good in [
            "Relevé \"final\" été.pdf",
            "plan; v2.docx",
            "报告.pdf",
            "نسخة.pdf",
            "'quoted' %41.txt",
        ] {
            assert!(check_file_name("file_name", good).is_ok(), "{good}");
        }
    }
}

#[cfg(test)]
mod lang_tests {
    use super::*;

    #[test]
    fn every_language_code_reads_back_as_itself() {
        for l in Lang::ALL {
            assert_eq!(l.code().parse::<Lang>().expect("a code"), l);
        }
    }
}
