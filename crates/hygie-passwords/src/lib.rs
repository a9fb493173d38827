//! Password-quality audit from NT hashes.
//!
//! Input: a pwdump / secretsdump file (`pwdump`), optionally the directory's enabled and
//! privileged status of accounts (`directory`), the built-in French-hospital weak-password
//! dictionary (`dictionary`) and a breach corpus index (`breach`). Output: an `AuditReport` whose
//! findings name accounts only, and the `hygie_core::CheckRun` recorded for the facility.
//!
//! Secrets: NT hashes live in `NtHash`, which has no `Display`, no `Serialize` and a redacted
//! `Debug`; candidate passwords exist only inside the hashing loops. Nothing in this crate logs.

pub mod audit;
pub mod breach;
pub mod checks;
pub mod dictionary;
pub mod directory;
pub mod hash;
pub mod input;
pub mod pwdump;

pub use audit::{
    AuditOptions, AuditReport, CHECKS, CheckOutcome, Evaluation, Finding, Sources, Summary, audit,
};
pub use breach::{BreachError, BreachIndex, ImportStats, LineProblem, import, import_file};
pub use dictionary::Dictionary;
pub use directory::{AccountStatus, Directory, DirectoryError};
pub use hash::NtHash;
pub use input::InputError;
pub use pwdump::{
    Account, Dump, DumpError, parse as parse_dump, parse_bytes as parse_dump_bytes,
    parse_file as parse_dump_file,
};
