//! Key rotation: a facility changes its signing key and proves it with a statement signed by
//! the OLD key (the one the region enrolled), naming the new key and the time. The statement
//! travels in the next package (`Package::rotation`, signed as a whole by the new key), online or
//! as a file; the region checks it with the enrolment in force and moves the enrolment to the new
//! key, after which the old key is refused like any revoked key.
//!
//! What is signed: `"hygie-sync-rotation/1\n"` and the canonical JSON of `{at, new_key,
//! old_key}`, so a package's or a request's signature cannot pass for a rotation's.

use crate::{Identity, PublicKey, Refusal, canonical_json};
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

const DOMAIN: &str = "hygie-sync-rotation/1\n";

/// A rotation statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// The key enrolled until now (hex).
    pub old_key: String,
    /// The key that signs from now on (hex).
    pub new_key: String,
    /// When the facility rotated (RFC 3339).
    pub at: String,
    /// Ed25519 by the old key (hex).
    pub signature: String,
}

fn message(old_key: &str, new_key: &str, at: &str) -> Result<Vec<u8>, Refusal> {
    let body = serde_json::json!({ "old_key": old_key, "new_key": new_key, "at": at });
    let mut out = DOMAIN.as_bytes().to_vec();
    out.extend(canonical_json(&body)?);
    Ok(out)
}

impl Rotation {
    /// The statement that `old` hands over to `new` at `at`.
    pub fn sign(old: &Identity, new: &PublicKey, at: jiff::Timestamp) -> Result<Rotation, Refusal> {
        let (old_key, new_key, at) = (old.public_key().hex(), new.hex(), at.to_string());
        let signature = old.sign(&message(&old_key, &new_key, &at)?);
        Ok(Rotation {
            old_key,
            new_key,
            at,
            signature: hex::encode(signature.to_bytes()),
        })
    }

    /// Check the signature by the old key; the (old, new) keys.
    pub fn verify(&self) -> Result<(PublicKey, PublicKey), Refusal> {
        let old = PublicKey::parse(&self.old_key)?;
        let new = PublicKey::parse(&self.new_key)?;
        self.at
            .parse::<jiff::Timestamp>()
            .map_err(|e| Refusal::Malformed(format!("rotation.at: {e}")))?;
        let signature = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| {
                Refusal::Malformed("rotation.signature: 128 hexadecimal digits expected".into())
            })?;
        old.0
            .verify_strict(
                &message(&self.old_key, &self.new_key, &self.at)?,
                &Signature::from_bytes(&signature),
            )
            .map_err(|_| Refusal::BadRotation)?;
        Ok((old, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_verifies_with_the_old_key_only() {
        let old = Identity::from_seed(&[1; 32]);
        let new = Identity::from_seed(&[2; 32]);
        let at: jiff::Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let r = Rotation::sign(&old, &new.public_key(), at).unwrap();
        assert_eq!(r.verify().unwrap(), (old.public_key(), new.public_key()));
        // Naming another new key, or claiming another old key, breaks the signature.
        let other = Identity::from_seed(&[3; 32]).public_key().hex();
        let code = |r: &Rotation| r.verify().map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            code(&Rotation {
                new_key: other.clone(),
                ..r.clone()
            }),
            Err("bad_rotation")
        );
        assert_eq!(
            code(&Rotation {
                old_key: other,
                ..r.clone()
            }),
            Err("bad_rotation")
        );
        // Signed by the new key itself: not a proof.
        let forged = Rotation::sign(&new, &new.public_key(), at).unwrap();
        let claimed = Rotation {
            old_key: old.public_key().hex(),
            ..forged
        };
        assert_eq!(code(&claimed), Err("bad_rotation"));
    }
}
