//! Optional encryption of an archive: XChaCha20-Poly1305 in the STREAM construction (Hoang,
//! Reyhanitabar, Rogaway, Vizár 2015; RustCrypto's `StreamBE32`: the nonce is a per-archive
//! random prefix, a big-endian 32-bit chunk counter and a last-chunk flag).
//!
//! ```text
//! "hygie-backup-encrypted\n" | version (1 byte) | key id (8) | nonce prefix (19) | chunk size (u32 BE)
//! chunk 0 | chunk 1 | ... | last chunk          each: ciphertext of `chunk size` bytes + 16-byte tag;
//!                                               the last one shorter (possibly only its tag)
//! ```
//!
//! Why these choices: a nonce never repeats under one key (19 random bytes per archive, then a
//! counter that never wraps: an archive of more than 2^32 chunks is refused); a chunk cut off,
//! moved or replaced fails its tag; the last chunk is sealed with its flag, so an archive cut at
//! a chunk boundary does not authenticate as complete; the header is the associated data of every
//! chunk, so it cannot be changed either. The key id (8 bytes of a SHA-256 of the key) tells a
//! wrong key from damage without revealing anything usable about the key.

use super::{BackupError, Problem};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{KeyInit, Payload};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The first bytes of an encrypted archive.
pub const MAGIC: &[u8] = b"hygie-backup-encrypted\n";
const VERSION: u8 = 1;
const KEY_ID: usize = 8;
const PREFIX: usize = 19;
const HEADER: usize = MAGIC.len() + 1 + KEY_ID + PREFIX + 4;
/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// Largest chunk size a reader accepts (a header is read before it is authenticated).
const MAX_CHUNK: usize = 16 << 20;

/// A 32-byte backup key, in the workspace's one secret type: never printed, serialised or
/// logged; zeroed when dropped.
#[derive(Debug)]
pub struct BackupKey(SecretBox<[u8; 32]>);

fn key_error(path: &Path, en: &str, fr: &str) -> BackupError {
    BackupError::new(
        Problem::KeyFile,
        format!("key file {}: {en}", path.display()),
        format!("fichier de clé {} : {fr}", path.display()),
    )
}

impl BackupKey {
    /// Read a key file: 64 hexadecimal digits (surrounding whitespace ignored), not readable by
    /// group or others (as the web's `secret.key`).
    pub fn load(path: &Path) -> Result<BackupKey, BackupError> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            key_error(
                path,
                &format!("cannot be read: {e}"),
                &format!("illisible : {e}"),
            )
        })?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| BackupError::io(&path.display().to_string(), &e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(key_error(
                    path,
                    &format!(
                        "readable by other users (mode {:o}): run chmod 600 on it",
                        mode & 0o777
                    ),
                    &format!(
                        "lisible par d'autres utilisateurs (mode {:o}) : faites chmod 600",
                        mode & 0o777
                    ),
                ));
            }
        }
        let mut k = SecretBox::new(Box::new([0u8; 32]));
        match hex::decode_to_slice(text.trim(), k.expose_secret_mut()) {
            Ok(()) => Ok(BackupKey(k)),
            Err(_) => Err(key_error(
                path,
                "expected 64 hexadecimal digits (32 bytes)",
                "64 chiffres hexadécimaux (32 octets) attendus",
            )),
        }
    }

    /// Create a new random key in `path` (mode 0600, never overwriting a file).
    pub fn create(path: &Path) -> Result<BackupKey, BackupError> {
        let mut k = SecretBox::new(Box::new([0u8; 32]));
        getrandom::fill(k.expose_secret_mut()).map_err(|e| {
            key_error(
                path,
                &format!("the random source failed: {e}"),
                &format!("la source d'aléa a échoué : {e}"),
            )
        })?;
        let key = BackupKey(k);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::new(
                    Problem::Exists,
                    format!(
                        "{} exists already: a key is never overwritten",
                        path.display()
                    ),
                    format!(
                        "{} existe déjà : une clé n'est jamais écrasée",
                        path.display()
                    ),
                )
            } else {
                BackupError::io(&path.display().to_string(), &e)
            }
        })?;
        let mut text = zeroize::Zeroizing::new(hex::encode(key.0.expose_secret()));
        text.push('\n');
        let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
        written.map_err(|e| BackupError::io(&path.display().to_string(), &e))?;
        Ok(key)
    }

    /// The key's public id: 8 bytes of a SHA-256 of the key, in hexadecimal.
    pub fn id(&self) -> String {
        hex::encode(self.id_bytes())
    }

    fn id_bytes(&self) -> [u8; KEY_ID] {
        let mut h = Sha256::new();
        h.update(b"hygie-backup-key-id\0");
        h.update(self.0.expose_secret());
        let d = h.finalize();
        let mut id = [0u8; KEY_ID];
        id.copy_from_slice(&d[..KEY_ID]);
        id
    }

    fn stream(&self, prefix: &[u8]) -> StreamBE32<XChaCha20Poly1305> {
        let aead = XChaCha20Poly1305::new(GenericArray::from_slice(self.0.expose_secret()));
        StreamBE32::from_aead(aead, GenericArray::from_slice(prefix))
    }
}

/// Whether `start` (the first bytes of a file) is an encrypted archive's.
pub fn is_encrypted(start: &[u8]) -> bool {
    start.starts_with(MAGIC)
}

fn crypt_io(e: BackupError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// Encrypts what is written to it; [`Encryptor::finish`] seals the last chunk.
pub struct Encryptor<W: Write> {
    out: W,
    stream: StreamBE32<XChaCha20Poly1305>,
    header: Vec<u8>,
    buf: Vec<u8>,
    position: u32,
}

impl<W: Write> Encryptor<W> {
    /// Write the header to `out` with a fresh nonce prefix.
    pub fn new(mut out: W, key: &BackupKey) -> std::io::Result<Self> {
        let mut prefix = [0u8; PREFIX];
        getrandom::fill(&mut prefix).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.extend_from_slice(&key.id_bytes());
        header.extend_from_slice(&prefix);
        header.extend_from_slice(&(CHUNK as u32).to_be_bytes());
        out.write_all(&header)?;
        Ok(Encryptor {
            out,
            stream: key.stream(&prefix),
            header,
            buf: Vec::with_capacity(CHUNK),
            position: 0,
        })
    }

    fn seal(&mut self, last: bool) -> std::io::Result<()> {
        let sealed = self
            .stream
            .encrypt(
                self.position,
                last,
                Payload {
                    msg: &self.buf,
                    aad: &self.header,
                },
            )
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        self.out.write_all(&sealed)?;
        self.buf.clear();
        self.position = self.position.checked_add(1).ok_or_else(|| {
            std::io::Error::other("archive too large to encrypt (2^32 chunks of 64 KiB)")
        })?;
        Ok(())
    }

    /// Seal the last chunk (possibly empty) and return the output, flushed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            // A full chunk is sealed only when more data comes: it is then not the last one.
            if self.buf.len() == CHUNK {
                self.seal(false)?;
            }
            let take = rest.len().min(CHUNK - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts an encrypted archive as it is read. Its errors are [`BackupError`]s carried in
/// `io::Error` (see `format::read_error`).
pub struct Decryptor<R: Read> {
    inp: R,
    label: String,
    stream: StreamBE32<XChaCha20Poly1305>,
    header: Vec<u8>,
    chunk: usize,
    position: u32,
    /// The first byte of the next chunk, read to learn whether the current one is the last.
    peeked: Option<u8>,
    plain: Vec<u8>,
    at: usize,
    done: bool,
}

/// Read as much of `buf` as `inp` holds; the count read (short only at the end of the input).
fn read_full(inp: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match inp.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Decryptor<R> {
    /// Read and check the header; `label` names the file in errors.
    pub fn new(mut inp: R, key: &BackupKey, label: &str) -> Result<Self, BackupError> {
        let mut header = vec![0u8; HEADER];
        let n = read_full(&mut inp, &mut header).map_err(|e| BackupError::io(label, &e))?;
        if n < HEADER {
            return Err(truncated(label, 0));
        }
        if !is_encrypted(&header) {
            return Err(BackupError::new(
                Problem::Malformed,
                format!("{label}: not an encrypted Hygie backup"),
                format!("{label} : ce n'est pas une sauvegarde Hygie chiffrée"),
            ));
        }
        let version = header[MAGIC.len()];
        if version > VERSION {
            return Err(BackupError::new(
                Problem::Newer,
                format!(
                    "{label}: encrypted in format {version} by a newer Hygie; this one reads format {VERSION}: restore it with that newer version"
                ),
                format!(
                    "{label} : chiffrée au format {version} par une version plus récente de Hygie ; celle-ci lit le format {VERSION} : restaurez-la avec cette version plus récente"
                ),
            ));
        }
        let at = MAGIC.len() + 1;
        let id = &header[at..at + KEY_ID];
        if id != key.id_bytes() {
            return Err(BackupError::new(
                Problem::WrongKey,
                format!(
                    "{label}: wrong key: the archive was encrypted with key {}, the key given is {} (or the archive's header is damaged)",
                    hex::encode(id),
                    key.id()
                ),
                format!(
                    "{label} : mauvaise clé : l'archive a été chiffrée avec la clé {}, la clé fournie est {} (ou l'en-tête de l'archive est abîmé)",
                    hex::encode(id),
                    key.id()
                ),
            ));
        }
        let prefix = &header[at + KEY_ID..at + KEY_ID + PREFIX];
        let mut size = [0u8; 4];
        size.copy_from_slice(&header[HEADER - 4..]);
        let chunk = u32::from_be_bytes(size) as usize;
        if chunk == 0 || chunk > MAX_CHUNK {
            return Err(BackupError::new(
                Problem::Malformed,
                format!("{label}: damaged header (chunk size {chunk})"),
                format!("{label} : en-tête abîmé (taille de bloc {chunk})"),
            ));
        }
        Ok(Decryptor {
            stream: key.stream(prefix),
            inp,
            label: label.to_owned(),
            header,
            chunk,
            position: 0,
            peeked: None,
            plain: Vec::new(),
            at: 0,
            done: false,
        })
    }

    /// Decrypt the next chunk into `plain`.
    fn next_chunk(&mut self) -> std::io::Result<()> {
        let full = self.chunk + TAG;
        let mut sealed = vec![0u8; full];
        let mut n = 0;
        if let Some(b) = self.peeked.take() {
            sealed[0] = b;
            n = 1;
        }
        n += read_full(&mut self.inp, &mut sealed[n..])?;
        sealed.truncate(n);
        // A full chunk is the last one if nothing follows it.
        let last = if n == full {
            let mut one = [0u8; 1];
            let more = read_full(&mut self.inp, &mut one)?;
            if more == 1 {
                self.peeked = Some(one[0]);
            }
            more == 0
        } else {
            true
        };
        let open = |last: bool| {
            self.stream.decrypt(
                self.position,
                last,
                Payload {
                    msg: &sealed,
                    aad: &self.header,
                },
            )
        };
        match open(last) {
            Ok(p) => {
                self.plain = p;
                self.at = 0;
                self.done = last;
                self.position = self
                    .position
                    .checked_add(1)
                    .ok_or_else(|| crypt_io(self.damaged()))?;
                Ok(())
            }
            // A whole chunk that opens as a middle one: the chunks after it were cut off.
            Err(_) if last && n == full && open(false).is_ok() => {
                Err(crypt_io(truncated(&self.label, self.position + 1)))
            }
            Err(_) if last && n < TAG => Err(crypt_io(truncated(&self.label, self.position))),
            Err(_) => Err(crypt_io(self.damaged())),
        }
    }

    fn damaged(&self) -> BackupError {
        BackupError::new(
            Problem::Checksum,
            format!(
                "{}: chunk {} does not authenticate: the archive was changed, damaged or cut",
                self.label, self.position
            ),
            format!(
                "{} : le bloc {} ne s'authentifie pas : l'archive a été modifiée, abîmée ou coupée",
                self.label, self.position
            ),
        )
    }
}

fn truncated(label: &str, chunk: u32) -> BackupError {
    BackupError::new(
        Problem::Truncated,
        format!(
            "{label}: truncated: the encrypted archive ends at chunk {chunk}, before its last chunk"
        ),
        format!(
            "{label} : tronquée : l'archive chiffrée s'arrête au bloc {chunk}, avant son dernier bloc"
        ),
    )
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::format::read_error;
    use super::*;

    fn key(b: u8) -> BackupKey {
        BackupKey(SecretBox::new(Box::new([b; 32])))
    }

    fn encrypt(data: &[u8], k: &BackupKey) -> Vec<u8> {
        let mut e = Encryptor::new(Vec::new(), k).unwrap();
        // Written in odd pieces, as a BufWriter would.
        for piece in data.chunks(7777) {
            e.write_all(piece).unwrap();
        }
        e.finish().unwrap()
    }

    fn decrypt(sealed: &[u8], k: &BackupKey) -> Result<Vec<u8>, BackupError> {
        let mut d = Decryptor::new(sealed, k, "b.hyb")?;
        let mut out = Vec::new();
        d.read_to_end(&mut out)
            .map_err(|e| read_error("b.hyb", e))?;
        Ok(out)
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_chunk_boundary() {
        let k = key(1);
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5] {
            let d = data(n);
            let sealed = encrypt(&d, &k);
            let chunks = n.div_ceil(CHUNK).max(1);
            assert_eq!(sealed.len(), HEADER + n + TAG * chunks);
            assert_eq!(decrypt(&sealed, &k).unwrap(), d, "{n} bytes");
        }
    }

    #[test]
    fn two_archives_never_share_a_nonce_prefix() {
        let k = key(1);
        let (a, b) = (encrypt(b"x", &k), encrypt(b"x", &k));
        let p = MAGIC.len() + 1 + KEY_ID;
        assert_ne!(a[p..p + PREFIX], b[p..p + PREFIX]);
    }

    #[test]
    fn a_wrong_key_is_named() {
        let sealed = encrypt(b"hello", &key(1));
        let e = decrypt(&sealed, &key(2)).unwrap_err();
        assert_eq!(e.problem, Problem::WrongKey);
        assert!(e.to_string().contains(&key(1).id()), "{e}");
        assert!(e.to_string().contains("mauvaise clé"), "{e}");
    }

    #[test]
    fn every_cut_is_truncation_and_every_flip_is_caught() {
        let k = key(3);
        let d = data(2 * CHUNK + 100);
        let sealed = encrypt(&d, &k);
        // Cut at chunk boundaries and inside chunks.
        for len in [
            0,
            10,
            HEADER,
            HEADER + 5,
            HEADER + CHUNK + TAG,
            HEADER + 2 * (CHUNK + TAG),
            HEADER + 2 * (CHUNK + TAG) + 50,
            sealed.len() - 1,
        ] {
            let e = decrypt(&sealed[..len], &k).unwrap_err();
            assert!(
                matches!(e.problem, Problem::Truncated | Problem::Checksum),
                "cut at {len}: {e}"
            );
        }
        for len in [HEADER + CHUNK + TAG, HEADER + 2 * (CHUNK + TAG)] {
            assert_eq!(
                decrypt(&sealed[..len], &k).unwrap_err().problem,
                Problem::Truncated,
                "cut at the chunk boundary {len}"
            );
        }
        for i in (0..sealed.len())
            .step_by(997)
            .chain([HEADER - 1, sealed.len() - 1])
        {
            let mut b = sealed.clone();
            b[i] ^= 0x10;
            assert!(decrypt(&b, &k).is_err(), "flip at {i} went unnoticed");
        }
        // Chunks swapped: each fails its position.
        let mut swapped = sealed[..HEADER].to_vec();
        swapped.extend_from_slice(&sealed[HEADER + CHUNK + TAG..HEADER + 2 * (CHUNK + TAG)]);
        swapped.extend_from_slice(&sealed[HEADER..HEADER + CHUNK + TAG]);
        swapped.extend_from_slice(&sealed[HEADER + 2 * (CHUNK + TAG)..]);
        assert_eq!(
            decrypt(&swapped, &k).unwrap_err().problem,
            Problem::Checksum
        );
    }

    #[test]
    fn key_files_are_hex_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("backup.key");
        let k = BackupKey::create(&p).unwrap();
        assert_eq!(BackupKey::load(&p).unwrap().id(), k.id());
        assert_eq!(BackupKey::create(&p).unwrap_err().problem, Problem::Exists);
        let shown = format!("{k:?}");
        assert!(
            shown.contains("REDACTED")
                && !shown.contains(&std::fs::read_to_string(&p).unwrap().trim()[..16]),
            "{shown}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(BackupKey::load(&p).unwrap_err().problem, Problem::KeyFile);
        }
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "not hex").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(BackupKey::load(&bad).unwrap_err().problem, Problem::KeyFile);
    }
}
