//! Offline vulnerability matching of a facility's inventoried software (issue 21).
//!
//! The feeds are files a user downloads (no network at run time): the CISA Known Exploited
//! Vulnerabilities catalogue and NVD CVE API 2.0 JSON ([`feed`]: streaming readers, errors with
//! file, line and column, unknown versions refused), and CERT-FR's advisories ([`certfr`]: each
//! advisory's JSON; a match names the advisories citing its CVEs, what a French CISO reads). NVD's vulnerable CPE ranges ([`cpe`]) are
//! indexed by normalised vendor and product ([`names`]: the normalisation rule and the versioned
//! alias table `data/aliases.toml`); an inventory's software (name, publisher, version) is looked
//! up with a stated certainty (exact CPE, normalised name, vendor only) and its version tested
//! against the ranges ([`version`]: Debian versions against upstream ranges, the rule and what it
//! cannot see) in [`matching`]. What is not matched is listed with why, never guessed. The rule
//! `ASSET-SW-VULNERABLE` ([`rules`]) turns the matches into a finding.
//!
//! Pure: readers take a `Read` and a closure per record; the store (`hygie-store`'s `vuln`)
//! keeps the feeds per instance and the CLI (`hygie vuln import`, `hygie inventory vulns`) drives
//! it. Cost and figures: `benches/matching.rs`, BENCHMARKS.md.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod certfr;
pub mod cpe;
pub mod feed;
pub mod matching;
pub mod names;
pub mod rules;
pub mod version;

pub use certfr::{Advisory, AdvisoryKind, read_certfr};
pub use feed::{CpeRange, CveRecord, FeedInfo, FeedKind, KevEntry, read_kev, read_nvd};
pub use matching::{Certainty, Cited, Index, IndexBuilder, Report, Unmatched, VulnMatch};
pub use names::Aliases;

/// Bad feed: always names the file, and the line and column when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct VulnError {
    pub file: String,
    /// Line and column (1-based).
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl VulnError {
    pub fn whole(file: &str, message: impl Into<String>) -> Self {
        VulnError {
            file: file.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    fn json(file: &str, e: &serde_json::Error) -> Self {
        let position = (e.line() > 0).then(|| (e.line(), e.column()));
        // serde_json appends " at line L column C": the position is ours to print.
        let text = e.to_string();
        let text = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(t, _)| t)
            .to_owned();
        let message = if e.is_eof() {
            format!("truncated file (ends inside the JSON): {text}")
        } else if e.is_syntax() {
            format!("malformed JSON: {text}")
        } else {
            text
        };
        VulnError {
            file: file.to_owned(),
            position,
            message,
        }
    }
}
