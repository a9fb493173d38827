//! Encryption at rest of the TOTP seeds: the server must read a seed to check a code, so it
//! cannot be hashed; it is sealed with ChaCha20-Poly1305 under a key kept outside the database
//! (a file the binary names: by default `~/.config/hygie/secret.key`, outside the data directory,
//! created 0600 on first run; see `hygie serve --secret-key-file`). A copy of the database alone,
//! or of the data directory, does not give the seeds, and a seed moved to another user's row does
//! not open (the user id is authenticated with it).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use std::path::Path;
use zeroize::Zeroizing;

/// Prefix of a sealed value: version 1, hex of nonce (12 bytes) then ciphertext and tag.
const SEALED_V1: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the random source failed: {0}")]
    Random(String),
    #[error("a stored TOTP seed cannot be opened with this key (wrong key, or tampered)")]
    Open,
    #[error("cannot read the secret key {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot create the secret key {path}: {message}")]
    Create { path: String, message: String },
    #[error(
        "the secret key {path} is readable by other users (mode {mode:o}): run chmod 600 on it"
    )]
    Permissions { path: String, mode: u32 },
}

/// The key that seals TOTP seeds (32 bytes), held in the workspace's one secret type: never
/// printed or serialised, zeroed when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct SecretKey(std::sync::Arc<SecretBox<[u8; 32]>>);

impl SecretKey {
    /// A fresh random key (tests, and the first run).
    pub fn random() -> Result<SecretKey, SealError> {
        let mut k = SecretBox::new(Box::new([0u8; 32]));
        getrandom::fill(k.expose_secret_mut()).map_err(|e| SealError::Random(e.to_string()))?;
        Ok(SecretKey(k.into()))
    }

    /// The key's 32 bytes, for a key file that seeds another key: the federation signing key
    /// (`hygie identity`) is kept in a file of this same form, created and checked the same way.
    pub fn expose_seed(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// Read a key file: 64 hexadecimal digits (surrounding whitespace ignored). The file must not
    /// be readable by group or others.
    pub fn load(path: &Path) -> Result<SecretKey, SealError> {
        let read = |message: String| SealError::Read {
            path: path.display().to_string(),
            message,
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| read(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(SealError::Permissions {
                    path: path.display().to_string(),
                    mode: mode & 0o777,
                });
            }
        }
        let mut k = SecretBox::new(Box::new([0u8; 32]));
        hex::decode_to_slice(text.trim(), k.expose_secret_mut())
            .map_err(|_| read("expected 64 hexadecimal digits (32 bytes)".into()))?;
        Ok(SecretKey(k.into()))
    }

    /// Read the key at `path`, or create it (mode 0600, never overwriting) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretKey, SealError> {
        if path.exists() {
            return SecretKey::load(path);
        }
        let create = |message: String| SealError::Create {
            path: path.display().to_string(),
            message,
        };
        let key = SecretKey::random()?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| create(e.to_string()))?;
        use std::io::Write;
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.0.expose_secret())));
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| create(e.to_string()))?;
        Ok(key)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.expose_secret()))
    }

    /// Seal `user_id`'s seed for storage.
    pub fn seal(&self, user_id: i64, seed: &str) -> Result<String, SealError> {
        self.seal_with(&user_id.to_be_bytes(), seed)
    }

    /// Seal a value handed to one user and read back from them (a paging cursor whose number
    /// must not show): bound to `purpose` and the user, so it never opens as a seed, for
    /// another purpose or for another user.
    pub fn seal_for(&self, purpose: &str, user_id: i64, value: &str) -> Result<String, SealError> {
        self.seal_with(&purpose_aad(purpose, user_id), value)
    }

    /// Open what `seal_for` sealed; anything else (a value in clear included) is refused.
    pub fn open_for(&self, purpose: &str, user_id: i64, sealed: &str) -> Result<String, SealError> {
        if !sealed.starts_with(SEALED_V1) {
            return Err(SealError::Open);
        }
        self.open_with(&purpose_aad(purpose, user_id), sealed)
            .map(|(v, _)| v)
    }

    fn seal_with(&self, aad: &[u8], seed: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: seed.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| SealError::Open)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!("{SEALED_V1}{}", hex::encode(out)))
    }

    /// Open a stored seed. A value without the sealed prefix is a seed stored in clear by an
    /// earlier version: returned as is with `true`, for the caller to seal it again.
    pub fn open(&self, user_id: i64, stored: &str) -> Result<(String, bool), SealError> {
        self.open_with(&user_id.to_be_bytes(), stored)
    }

    fn open_with(&self, aad: &[u8], stored: &str) -> Result<(String, bool), SealError> {
        let Some(body) = stored.strip_prefix(SEALED_V1) else {
            return Ok((stored.to_owned(), true));
        };
        let raw = hex::decode(body).map_err(|_| SealError::Open)?;
        if raw.len() <= NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain)
            .map(|s| (s, false))
            .map_err(|_| SealError::Open)
    }
}

/// The associated data of a value sealed for a purpose: never the 8 bytes of a seed's.
fn purpose_aad(purpose: &str, user_id: i64) -> Vec<u8> {
    let mut aad = format!("hygie:{purpose}:").into_bytes();
    aad.extend_from_slice(&user_id.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key survives a file round trip and never shows in a debug print (the type has no
    /// `Display` and no `Serialize` to misuse).
    #[test]
    fn the_key_is_never_printed() -> Result<(), SealError> {
        let dir = tempfile::tempdir().map_err(|e| SealError::Random(e.to_string()))?;
        let path = dir.path().join("secret.key");
        let k = SecretKey::load_or_create(&path)?;
        let hex_key =
            std::fs::read_to_string(&path).map_err(|e| SealError::Random(e.to_string()))?;
        let shown = format!("{k:?}");
        assert!(!shown.contains(hex_key.trim()), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        let again = SecretKey::load(&path)?;
        assert_eq!(again.open(1, &k.seal(1, "seed")?)?.0, "seed");
        Ok(())
    }

    #[test]
    fn seals_and_opens_bound_to_the_user_and_key() -> Result<(), SealError> {
        let k = SecretKey::random()?;
        let sealed = k.seal(7, "JBSWY3DPEHPK3PXP")?;
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            k.seal(7, "JBSWY3DPEHPK3PXP")?,
            "fresh nonce each time"
        );
        assert_eq!(k.open(7, &sealed)?, ("JBSWY3DPEHPK3PXP".to_owned(), false));
        assert!(matches!(k.open(8, &sealed), Err(SealError::Open)));
        assert!(matches!(
            SecretKey::random()?.open(7, &sealed),
            Err(SealError::Open)
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('0');
        if tampered != sealed {
            assert!(matches!(k.open(7, &tampered), Err(SealError::Open)));
        }
        assert_eq!(k.open(7, "LEGACYSEED")?, ("LEGACYSEED".to_owned(), true));
        Ok(())
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret.key");
        let k1 = SecretKey::load_or_create(&path)?;
        let k2 = SecretKey::load_or_create(&path)?;
        let sealed = k1.seal(1, "SEED")?;
        assert_eq!(k2.open(1, &sealed)?.0, "SEED", "the same key is read back");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
            assert!(matches!(
                SecretKey::load(&path),
                Err(SealError::Permissions { .. })
            ));
        }
        Ok(())
    }

    #[test]
    fn values_sealed_for_a_purpose_open_only_for_it_and_their_user() -> Result<(), SealError> {
        let key = SecretKey::random()?;
        let c = key.seal_for("journal", 7, "1234")?;
        assert!(!c.contains("1234"));
        assert_eq!(key.open_for("journal", 7, &c)?, "1234");
        assert!(key.open_for("journal", 8, &c).is_err());
        assert!(key.open_for("alerts", 7, &c).is_err());
        assert!(key.open(7, &c).is_err(), "never a seed");
        assert!(
            key.open_for("journal", 7, "1234").is_err(),
            "never in clear"
        );
        let seed = key.seal(7, "1234")?;
        assert!(key.open_for("journal", 7, &seed).is_err());
        Ok(())
    }
}
