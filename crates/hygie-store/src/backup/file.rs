//! Archives as files: written to a private temporary file beside the target and renamed when
//! complete (so the named file is never half-written), opened with or without a key, checked.

use super::crypt::{BackupKey, Decryptor, Encryptor, is_encrypted};
use super::format::{ArchiveReader, Item, Manifest, read_error};
use super::{BackupError, Problem};
use crate::{JournalCheck, Store};
use hygie_core::journal::JournalEntry;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What `write_backup` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupSummary {
    pub path: PathBuf,
    /// Size of the file.
    pub bytes: u64,
    /// SHA-256 of the file as written (what `sha256sum` prints), to record beside it.
    pub sha256: String,
    pub encrypted: bool,
    /// The id of the key it is encrypted to.
    pub key_id: Option<String>,
    pub manifest: Manifest,
}

/// Evidence files checked against their SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlobCheck {
    pub files: u64,
    pub bytes: u64,
    /// The SHA-256 names whose content does not hash to them (or whose size is wrong).
    pub mismatched: Vec<String>,
}

/// What `Checked::verify` found in a sound archive.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub manifest: Manifest,
    pub encrypted: bool,
    /// The archived journal's chain checked against the archived head.
    pub journal: JournalCheck,
    pub blobs: BlobCheck,
}

/// What a restore did and found.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub encrypted: bool,
    /// The journal entry that records the restore, chained after the restored head.
    pub restore_entry: i64,
    /// The restored journal (the restore's entry included) checked.
    pub journal: JournalCheck,
    pub blobs: BlobCheck,
}

/// Sums the bytes written through it: the file's SHA-256 and size.
struct Counted<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The file, plain or through the encryption.
enum Sink<W: Write> {
    Plain(W),
    Sealed(Encryptor<W>),
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Sealed(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Sealed(w) => w.flush(),
        }
    }
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

/// Write a snapshot of `store` to `path`, encrypted to `key` when given: into a temporary file
/// (mode 0600) in the same folder, flushed to disk, then renamed to `path`, which must not exist.
pub async fn write_backup(
    store: &Store,
    path: &Path,
    key: Option<&BackupKey>,
) -> Result<BackupSummary, BackupError> {
    let name = label(path);
    let exists = || {
        BackupError::new(
            Problem::Exists,
            format!("{name} exists already: a backup never overwrites a file"),
            format!("{name} existe déjà : une sauvegarde n'écrase jamais un fichier"),
        )
    };
    if path.exists() {
        return Err(exists());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // tempfile creates the file 0600; it is removed if anything below fails.
    let tmp = tempfile::Builder::new()
        .prefix(".hygie-backup-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(|e| BackupError::io(&dir.display().to_string(), &e))?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| BackupError::io(&name, &e))?;
    let counted = Counted {
        inner: file,
        hash: Sha256::new(),
        bytes: 0,
    };
    let sink = match key {
        Some(k) => {
            Sink::Sealed(Encryptor::new(counted, k).map_err(|e| BackupError::io(&name, &e))?)
        }
        None => Sink::Plain(counted),
    };
    let (out, manifest) = store
        .export_archive(BufWriter::with_capacity(1 << 16, sink))
        .await?;
    let sink = out
        .into_inner()
        .map_err(|e| BackupError::io(&name, e.error()))?;
    let mut counted = match sink {
        Sink::Plain(c) => c,
        Sink::Sealed(e) => e.finish().map_err(|e| BackupError::io(&name, &e))?,
    };
    counted.flush().map_err(|e| BackupError::io(&name, &e))?;
    counted
        .inner
        .sync_all()
        .map_err(|e| BackupError::io(&name, &e))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            BackupError::io(&name, &e.error)
        }
    })?;
    // The rename itself is durable once the folder is.
    #[cfg(unix)]
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BackupError::io(&dir.display().to_string(), &e))?;
    Ok(BackupSummary {
        path: path.to_path_buf(),
        bytes: counted.bytes,
        sha256: hex::encode(counted.hash.finalize()),
        encrypted: key.is_some(),
        key_id: key.map(BackupKey::id),
        manifest,
    })
}

type Reader = ArchiveReader<Box<dyn BufRead + Send>>;

/// Open `path` as an archive: decrypted with `key` when it is encrypted. An encrypted archive
/// without a key, or a key for an archive that is not encrypted, is refused: a key given means
/// the archive must prove it was written by its holder.
fn open(path: &Path, key: Option<&BackupKey>) -> Result<(Reader, bool), BackupError> {
    let name = label(path);
    let file = std::fs::File::open(path).map_err(|e| {
        BackupError::new(
            Problem::Unreadable,
            format!("{name}: cannot be read: {e}"),
            format!("{name} : illisible : {e}"),
        )
    })?;
    let mut inp = BufReader::with_capacity(1 << 16, file);
    let start = inp.fill_buf().map_err(|e| read_error(&name, e))?;
    let encrypted = is_encrypted(start);
    let boxed: Box<dyn BufRead + Send> = match (encrypted, key) {
        (true, Some(k)) => Box::new(BufReader::with_capacity(
            1 << 16,
            Decryptor::new(inp, k, &name)?,
        )),
        (true, None) => {
            return Err(BackupError::new(
                Problem::KeyNeeded,
                format!("{name} is encrypted: give its key file with --encrypt-key"),
                format!("{name} est chiffrée : donnez son fichier de clé avec --encrypt-key"),
            ));
        }
        (false, Some(_)) => {
            return Err(BackupError::new(
                Problem::NotEncrypted,
                format!(
                    "{name} is not encrypted, yet a key was given: nothing proves that the holder of the key wrote it (leave out --encrypt-key to read it anyway)"
                ),
                format!(
                    "{name} n'est pas chiffrée, alors qu'une clé est donnée : rien ne prouve que le détenteur de la clé l'a écrite (omettez --encrypt-key pour la lire quand même)"
                ),
            ));
        }
        (false, None) => Box::new(inp),
    };
    Ok((ArchiveReader::new(boxed, &name)?, encrypted))
}

/// An archive read whole and found sound (format, every checksum, the key): the only way to a
/// restore, so that nothing is written before the archive was checked.
pub struct Checked<'k> {
    pub(crate) path: PathBuf,
    pub(crate) key: Option<&'k BackupKey>,
    pub manifest: Manifest,
    pub encrypted: bool,
}

impl<'k> Checked<'k> {
    /// Read `path` to its end, checking everything the format covers.
    pub fn check(path: &Path, key: Option<&'k BackupKey>) -> Result<Checked<'k>, BackupError> {
        let (reader, encrypted) = open(path, key)?;
        let manifest = reader.check_to_end()?;
        Ok(Checked {
            path: path.to_path_buf(),
            key,
            manifest,
            encrypted,
        })
    }

    /// The archive opened again from its start (for the import, which checks it again as it
    /// goes: the file may have changed since).
    pub(crate) fn reopen(&self) -> Result<Reader, BackupError> {
        Ok(open(&self.path, self.key)?.0)
    }

    pub(crate) fn label(&self) -> String {
        label(&self.path)
    }

    /// Read `path` and also check what it holds: the journal's chain against its head, and
    /// every evidence file against its SHA-256 (what a restore checks, without a database).
    pub fn verify(path: &Path, key: Option<&'k BackupKey>) -> Result<VerifyReport, BackupError> {
        let (mut reader, encrypted) = open(path, key)?;
        let name = label(path);
        let mut table = String::new();
        let mut index: Vec<String> = Vec::new();
        let mut entries: Vec<JournalEntry> = Vec::new();
        let mut head: Option<(i64, String)> = None;
        let mut blobs = BlobCheck::default();
        let malformed = |what: &str| {
            BackupError::new(
                Problem::Malformed,
                format!("{name}: table {what} lacks a column Hygie needs"),
                format!("{name} : il manque à la table {what} une colonne dont Hygie a besoin"),
            )
        };
        loop {
            match reader.next_item()? {
                Item::Table(h) => {
                    table = h.table;
                    index = h.columns.into_iter().map(|c| c.name).collect();
                }
                Item::Row(values) => {
                    let get = |col: &str| {
                        index
                            .iter()
                            .position(|c| c == col)
                            .and_then(|i| values.get(i))
                    };
                    let text = |col: &str| match get(col) {
                        Some(super::Value::Text(s)) => Some(s.clone()),
                        _ => None,
                    };
                    let int = |col: &str| match get(col) {
                        Some(super::Value::Int(n)) => Some(*n),
                        _ => None,
                    };
                    match table.as_str() {
                        "journal" => entries.push(
                            (|| {
                                Some(JournalEntry {
                                    seq: int("seq")?,
                                    at: text("at")?,
                                    actor: text("actor")?,
                                    action: text("action")?,
                                    subject: text("subject")?,
                                    details: text("details")?,
                                    prev_hash: text("prev_hash")?,
                                    hash: text("hash")?,
                                })
                            })()
                            .ok_or_else(|| malformed("journal"))?,
                        ),
                        "journal_head" => {
                            head = Some(
                                int("seq")
                                    .zip(text("hash"))
                                    .ok_or_else(|| malformed("journal_head"))?,
                            );
                        }
                        "evidence_blobs" => {
                            let sha = text("sha256").ok_or_else(|| malformed("evidence_blobs"))?;
                            let size = int("size").ok_or_else(|| malformed("evidence_blobs"))?;
                            let Some(super::Value::Bytes(content)) = get("content") else {
                                return Err(malformed("evidence_blobs"));
                            };
                            blobs.record(&sha, size, content);
                        }
                        _ => {}
                    }
                }
                Item::End(manifest) => {
                    let journal = match hygie_core::journal::verify(
                        &entries,
                        head.as_ref().map(|(s, h)| (*s, h.as_str())),
                    ) {
                        Ok(n) => JournalCheck::Intact { entries: n },
                        Err(b) => JournalCheck::Broken(b),
                    };
                    return Ok(VerifyReport {
                        manifest,
                        encrypted,
                        journal,
                        blobs,
                    });
                }
            }
        }
    }
}

impl BlobCheck {
    /// Count one evidence file, noting it when its content does not match its name or size.
    pub(crate) fn record(&mut self, sha256: &str, size: i64, content: &[u8]) {
        self.files += 1;
        self.bytes += content.len() as u64;
        if hex::encode(Sha256::digest(content)) != sha256 || size != content.len() as i64 {
            self.mismatched.push(sha256.to_owned());
        }
    }
}
