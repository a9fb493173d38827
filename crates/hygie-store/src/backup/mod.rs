//! Backup and restore of the whole store (issue 25, BCK-06): `hygie backup`, `hygie restore`,
//! `hygie backup verify`.
//!
//! **What is saved.** Every table the migrations create (evidence files included: they live in
//! `evidence_blobs`), read in ONE read transaction, so the archive is a snapshot of one instant even
//! while `hygie serve`, imports and other writers run: SQLite opens a deferred transaction whose
//! first read fixes the snapshot (WAL mode lets writers go on beside it); PostgreSQL uses
//! `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`. The journal head in the manifest is read in
//! that transaction. Not saved: the web's sealing key (`secret.key`), on purpose: an archive that
//! carried the key of the TOTP seeds it holds would unseal them for whoever holds the archive.
//!
//! **Format** (version 1, `format`): one UTF-8 text of JSON lines, the same on both backends.
//!
//! ```text
//! {"format":"hygie-backup","version":1}                         header
//! {"table":"facilities","columns":[{"name":"finess","type":"text"},...]}   a table starts
//! ["350000014",null,"DÉMO — CHU de Kerlann",...]                 one row per line, in key order
//! ...                                                            every table, parents first
//! {"manifest":{...}}                                             versions, journal head, tables
//! {"sha256":"..."}                                               SHA-256 of every byte above
//! ```
//!
//! Column types are `int` (JSON integer), `real` (a JSON string holding the shortest decimal that
//! reads back to the same `f64`, since JSON readers may round numbers), `text` and `bytes`
//! (standard base64); NULL is `null`. The manifest gives the format version, the Hygie version,
//! the schema version (the last migration applied), the backend of origin, the time of the
//! snapshot, the journal head (seq and hash), and for each table its rows and the SHA-256 of its
//! lines (its header line included). Every byte is covered by a hash that the reader checks, so
//! one flipped byte anywhere is reported, and a file that ends before its last line is truncated.
//!
//! Why lines of JSON and not `tar`: the archive is written as the snapshot is read, without
//! knowing a member's size in advance (tar needs it first, so every table would be spooled to a
//! temporary file), the last line can cover every byte before it (tar's padding and headers would
//! escape a checksum of members), and it reads with `head`, `jq` and `grep` when needed.
//!
//! **Encryption** (`crypt`): optional, to a key file of 64 hexadecimal digits (mode 0600), with
//! XChaCha20-Poly1305 in the STREAM construction (RustCrypto `aead::stream`, big-endian 32-bit
//! counter and last-chunk flag): 64 KiB chunks, a random 19-byte nonce prefix per archive, so no
//! nonce repeats under one key; the header (with a key id, 8 bytes of a hash of the key, so a
//! wrong key is named as such) is authenticated with every chunk, and a missing last chunk is
//! reported as truncation.
//!
//! **Restore** (`import`): the archive is checked whole first (`Checked`), then the target is
//! checked empty (no facility, user or journal entry: no merge), migrated only up to the archive's
//! schema, filled in one write transaction (which also journals the restore, chained after the
//! restored head), migrated to this build's schema, and verified: the journal chain and every
//! evidence file against its SHA-256. No table has a sequence or autoincrement (ids are `MAX + 1`
//! or journal numbers, so they follow the restored rows; a test keeps it so), hence nothing to
//! move on PostgreSQL after the import.

mod crypt;
mod export;
mod file;
mod format;
mod import;

pub use crypt::BackupKey;
pub use export::TABLES;
pub use file::{BackupSummary, BlobCheck, Checked, RestoreReport, VerifyReport, write_backup};
pub use format::{
    ArchiveReader, ArchiveWriter, Column, ColumnType, FORMAT_VERSION, Item, JournalHead, Manifest,
    TableSummary, Value,
};

use crate::StoreError;
use hygie_core::Localized;

/// What went wrong, in English and French, naming the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{} / {}", .text.en, .text.fr)]
pub struct BackupError {
    pub problem: Problem,
    pub text: Localized,
    #[source]
    pub source: Option<StoreError>,
}

/// The kinds of [`BackupError`], for exit codes and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not a Hygie backup, or a line or chunk that does not parse.
    Malformed,
    /// A checksum or an authentication tag does not match: the archive was changed or damaged.
    Checksum,
    /// The archive ends before its end.
    Truncated,
    /// Encrypted with another key.
    WrongKey,
    /// Encrypted, and no key was given.
    KeyNeeded,
    /// Not encrypted, yet a key was given: nothing proves who wrote it.
    NotEncrypted,
    /// Written by a newer Hygie (format or schema version).
    Newer,
    /// The key file cannot be used.
    KeyFile,
    /// The target store holds data: a restore never merges.
    TargetNotEmpty,
    /// The target database was set up by a newer schema than the archive's.
    TargetSchema,
    /// The file to create exists already.
    Exists,
    /// There is no store to back up.
    NoStore,
    /// The archive cannot be read (missing, no permission).
    Unreadable,
    /// A file could not be written, or read midway.
    Io,
    /// The database failed (the `source` says how).
    Store,
}

impl BackupError {
    pub fn new(problem: Problem, en: impl Into<String>, fr: impl Into<String>) -> Self {
        BackupError {
            problem,
            text: Localized::new(en, fr),
            source: None,
        }
    }

    pub(crate) fn io(path: &str, e: &std::io::Error) -> Self {
        Self::new(
            Problem::Io,
            format!("{path}: {e}"),
            format!("{path} : erreur d'entrée-sortie : {e}"),
        )
    }

    /// A database error about `what` (`quoi` in French); the error itself follows as the source.
    pub(crate) fn store(what: &str, quoi: &str, e: StoreError) -> Self {
        BackupError {
            problem: Problem::Store,
            text: Localized::new(
                format!("{what}: database error"),
                format!("{quoi} : erreur de la base"),
            ),
            source: Some(e),
        }
    }
}

/// A database error met while exporting or importing `table`.
pub(crate) fn db_error(table: &str, e: impl Into<StoreError>) -> BackupError {
    BackupError::store(
        &format!("table {table}"),
        &format!("table {table}"),
        e.into(),
    )
}
