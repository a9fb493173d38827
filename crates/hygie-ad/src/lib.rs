#![cfg_attr(test, allow(clippy::unwrap_used))]
//! Active Directory audit for Hygie.
//!
//! Adapters at the edges ([`collect`] over LDAPS/StartTLS, [`ldif`] for offline exports) produce
//! [`raw::RawEntry`] values; one [`model::SnapshotBuilder`] turns them into an
//! [`model::AdSnapshot`]; the pure [`rules`] (one file per category, each rule a
//! `hygie_core::RuleDef` beside its function) read the snapshot with an injected "now" and the
//! thresholds of [`config`] (read from TOML by [`load`]); [`report`] runs them, scores (ANSSI
//! level = lowest failed level, 5 if none; per-category points capped at 100), compares with the
//! previous run, renders, and gives the audit contract's findings for the run (source `ad`).
//! A snapshot never holds a password: password-like attributes are detected, never read.
//! [`login`] lets the web sign users in with their directory account over the same TLS.
//!
//! One path from a snapshot to a recorded run, [`report::audit_run`], serves the CLI (`--ldif`
//! or live) and the web's LDIF upload, and `report::ScoresView` is the level and scores both
//! show, so the two cannot disagree. [`login`] reuses the collector's connection code
//! (`connect_and_bind`: the same TLS checks) and reads the user's nested groups.
//!
//! Invariant: the 69 rules are pure functions of (snapshot, config, date); a rule on a list of
//! objects ends with `fail_on(objects, detail)`, a rule on the domain as a whole with
//! `domain_fails`. To add a rule: its category's file in `src/rules/`, a case in
//! `tests/rules_table.rs`, and the rule's id in its measures' `check_rules`.

pub mod collect;
pub mod config;
pub mod index;
pub mod ldif;
pub mod load;
pub mod login;
pub mod model;
pub mod raw;
pub mod report;
pub mod rules;
pub mod sd;
pub mod sid;
pub mod time;

pub use config::AuditConfig;
pub use load::ConfigError;
pub use model::{AdSnapshot, SnapshotBuilder};
pub use report::{AuditReport, audit};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LdifFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        source: ldif::LdifError,
    },
    #[error("{path}: {source}")]
    Model {
        path: String,
        source: model::ModelError,
    },
}

/// Read an LDIF export (as written by `scripts/ad-ldif-export.sh` or ldapsearch) into a snapshot.
pub fn snapshot_from_ldif_file(path: &Path) -> Result<AdSnapshot, LdifFileError> {
    let p = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| LdifFileError::Io {
        path: p.clone(),
        source: e,
    })?;
    snapshot_from_ldif(std::io::BufReader::new(f)).map_err(|e| match e {
        LdifOrModel::Syntax(s) => LdifFileError::Syntax {
            path: p.clone(),
            source: s,
        },
        LdifOrModel::Model(m) => LdifFileError::Model {
            path: p.clone(),
            source: m,
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LdifOrModel {
    #[error(transparent)]
    Syntax(#[from] ldif::LdifError),
    #[error(transparent)]
    Model(#[from] model::ModelError),
}

pub fn snapshot_from_ldif<R: std::io::BufRead>(r: R) -> Result<AdSnapshot, LdifOrModel> {
    let mut b = SnapshotBuilder::new();
    for e in ldif::LdifReader::new(r) {
        b.add(e?)?;
    }
    Ok(b.finish()?)
}
