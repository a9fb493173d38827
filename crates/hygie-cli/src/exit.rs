//! Exit codes: stable, documented, the same for every command.

use hygie_store::StoreError;
use hygie_store::backup::{BackupError, Problem};

pub const OK: u8 = 0;
/// The environment failed: database unreachable, disk, I/O.
pub const RUNTIME: u8 = 1;
/// The input is wrong: a value, a file, a line. Nothing was changed.
pub const INVALID: u8 = 2;
/// The named facility, measure or object does not exist.
pub const NOT_FOUND: u8 = 3;
/// The object already exists.
pub const CONFLICT: u8 = 4;
/// The command ran and found a problem: journal broken, catalogue lint failed, checks failed, obligation late.
pub const FINDINGS: u8 = 5;

pub const HELP: &str = "Exit codes: 0 success · 1 runtime error (database, disk) · 2 invalid input, nothing changed · \
3 not found · 4 already exists · 5 the command found a problem (broken journal, failed lint, failed checks, late obligation).";

/// An input error raised by the CLI itself.
#[derive(Debug)]
pub struct Invalid(pub String);

impl std::error::Error for Invalid {}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn invalid(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Invalid(msg.into()))
}

pub fn code_of(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<Invalid>()
            || cause.is::<hygie_core::InvalidValue>()
            || cause.is::<hygie_catalog::CatalogErrors>()
            || cause.is::<hygie_sync::Refusal>()
        {
            return INVALID;
        }
        if let Some(p) = cause.downcast_ref::<hygie_web::sync_client::PushError>() {
            return if p.is_input() { INVALID } else { RUNTIME };
        }
        if let Some(b) = cause.downcast_ref::<BackupError>() {
            match b.problem {
                Problem::Malformed
                | Problem::Checksum
                | Problem::Truncated
                | Problem::WrongKey
                | Problem::KeyNeeded
                | Problem::NotEncrypted
                | Problem::Newer
                | Problem::KeyFile
                | Problem::TargetSchema
                | Problem::Unreadable => return INVALID,
                Problem::TargetNotEmpty | Problem::Exists => return CONFLICT,
                Problem::NoStore => return NOT_FOUND,
                Problem::Io => return RUNTIME,
                // The database error that follows in the chain decides.
                Problem::Store => continue,
            }
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return match s {
                StoreError::NotFound(_) => NOT_FOUND,
                StoreError::Conflict(_) | StoreError::AlreadyAttached(_) => CONFLICT,
                StoreError::UnsupportedUrl(_)
                | StoreError::Invalid(_)
                | StoreError::Refused(_)
                | StoreError::LastAdministrator(..) => INVALID,
                _ => RUNTIME,
            };
        }
    }
    RUNTIME
}
