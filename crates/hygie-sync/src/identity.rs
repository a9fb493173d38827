//! An instance's signing identity: an Ed25519 key pair. The private half lives only in a 0600
//! file the caller manages (the CLI, in the data directory, as `hygie_web::seal::SecretKey`
//! keeps its key); it has no `Display`, no `Serialize`, a redacted `Debug`, and is zeroed on
//! drop (ed25519-dalek's `zeroize`).

use crate::Refusal;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The private signing key of this instance.
pub struct Identity(SigningKey);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({}, private key redacted)", self.public_key())
    }
}

impl Identity {
    /// The key of a 32-byte seed (the caller draws it from the operating system's generator).
    pub fn from_seed(seed: &[u8; 32]) -> Identity {
        Identity(SigningKey::from_bytes(seed))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

/// A public key, written as 64 lower-case hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// Parse 64 hexadecimal digits naming a valid Ed25519 point (case and spaces ignored).
    pub fn parse(text: &str) -> Result<PublicKey, Refusal> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = hex::decode(clean.to_ascii_lowercase()).map_err(|_| {
            Refusal::Malformed(
                "public key: 64 hexadecimal digits are expected / clé publique : 64 chiffres hexadécimaux sont attendus"
                    .into(),
            )
        })?;
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            Refusal::Malformed(format!(
                "public key: {} bytes instead of 32 / clé publique : {} octets au lieu de 32",
                bytes.len(),
                bytes.len()
            ))
        })?;
        VerifyingKey::from_bytes(&arr).map(PublicKey).map_err(|_| {
            Refusal::Malformed(
                "public key: not an Ed25519 key / clé publique : ce n'est pas une clé Ed25519"
                    .into(),
            )
        })
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// A short form to read over the phone or compare on a letter: the first 8 bytes of the
    /// key's SHA-256, as four groups of four hexadecimal digits (`3f2a-91bc-07de-55aa`).
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let h = hex::encode(&digest[..8]);
        format!("{}-{}-{}-{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_parses_back_and_the_private_one_never_shows() {
        let id = Identity::from_seed(&[7u8; 32]);
        let pk = PublicKey::parse(&id.public_key().hex().to_uppercase()).expect("parses");
        assert_eq!(pk, id.public_key());
        assert_eq!(pk.fingerprint().len(), 19);
        assert!(!format!("{id:?}").contains(&"07".repeat(32)));
        assert!(PublicKey::parse("zz").is_err());
        assert!(PublicKey::parse(&"00".repeat(31)).is_err());
    }
}
