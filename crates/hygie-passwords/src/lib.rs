//! Password-quality audit from NT hashes.
//!
//! Input: a pwdump / secretsdump file (`pwdump`), optionally the directory's enabled and
//! privileged status of accounts (`directory`), the built-in French-hospital weak-password
//! dictionary (`dictionary`) and a breach corpus index (`breach`). Output: an `AuditReport` whose
//! findings name accounts only, and the `hygie_core::CheckRun` recorded for the facility.
//!
//! Secrets: NT hashes live in `NtHash`, which has no `Display`, no `Serialize` and a redacted
//! `Debug`; candidate passwords exist only inside the hashing loops. Nothing in this crate logs.
//!
//! Modules: `hash` (`NtHash`; `lanes`: sixteen-lane MD4 and its AVX2 / AVX-512 builds; `table`;
//! `hex`), `pwdump` (parallel parse; `line`: the grammar), `breach` (`import`: list to index;
//! `index`: format and lookups), `checks` (the `HSH-01..08` definitions), `audit`. A library
//! with no database: the CLI reads the files and records the run.
//!
//! `unsafe` is denied, not forbidden (the workspace forbids it): it is allowed only at the memory
//! maps and the CPU-feature dispatch of the SIMD builds, each with its safety argument, and tests
//! check every build against the portable one.
//!
//! To add a check: its definition in `checks.rs`, its evaluation in `audit.rs`, a test in
//! `tests/audit_checks.rs`; an index format: `breach/index.rs` (version, header) and
//! `breach/import.rs`.

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
