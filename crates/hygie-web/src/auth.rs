//! Authentication primitives: Argon2id password hashing, the password policy, TOTP (RFC 6238),
//! random secrets and their digests. Pure functions, testable without a server.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A source of known-breached passwords (the breach index of the password audit, when one is
/// configured). Implementations must not log or keep the candidate password.
pub trait BreachIndex: Send + Sync {
    /// Whether this password appears in the index.
    fn contains(&self, password: &str) -> bool;
}

/// Why a password is refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{en}")]
pub struct PolicyError {
    pub en: String,
    pub fr: String,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Upper bound so that hashing cannot be abused to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The password policy of the catalogue: length first (≥ 12 characters), not the username, not in
/// the breach index when one is configured. No composition rules (they do not help).
pub fn check_password(
    password: &str,
    username: &str,
    breach: Option<&dyn BreachIndex>,
) -> Result<(), PolicyError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(PolicyError {
            en: format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
            fr: format!("le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères"),
        });
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PolicyError {
            en: format!("the password must have at most {MAX_PASSWORD_CHARS} characters"),
            fr: format!("le mot de passe doit compter au plus {MAX_PASSWORD_CHARS} caractères"),
        });
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(PolicyError {
            en: "the password must not be the username".into(),
            fr: "le mot de passe ne doit pas être l'identifiant".into(),
        });
    }
    if let Some(b) = breach
        && b.contains(password)
    {
        return Err(PolicyError {
            en: "this password appears in a list of breached passwords; choose another".into(),
            fr: "ce mot de passe figure dans une liste de mots de passe compromis ; choisissez-en un autre".into(),
        });
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the random source failed: {0}")]
    Random(String),
}

/// Hash a password with Argon2id (default parameters: 19 MiB, 2 passes), as a PHC string.
/// CPU-bound: call it from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Check a password against a PHC string; false on mismatch or on an unreadable hash.
/// CPU-bound: call it from `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    // No stored password is longer (the policy refuses it): nothing to hash for an attacker's
    // megabyte-long guesses.
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the username is unknown, so both cases take the same time.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("hygie-dummy-password-for-timing").unwrap_or_default())
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_hex(n: usize) -> Result<String, AuthError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(hex::encode(b))
}

/// A temporary password an administrator hands over once (a reset): 80 random bits as sixteen
/// base32 letters and digits in groups of four (`ABCD-EFGH-IJKL-MNOP`), easy to read out and
/// to type, within the password policy. Its holder must replace it at the next login.
pub fn temporary_password() -> Result<String, AuthError> {
    let mut b = [0u8; 10];
    getrandom::fill(&mut b).map_err(|e| AuthError::Random(e.to_string()))?;
    let letters = base32_encode(&b);
    Ok(letters
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-"))
}

/// SHA-256 of a high-entropy secret (session id, API token, bootstrap token), hex. Such secrets
/// are 256-bit random values, so a fast digest is enough to keep them unusable if the store leaks.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of the session whose id (the cookie's secret) is `session_id`: a keyed hash,
/// so the store keeps none (it holds only the id's digest, from which the token cannot be
/// computed) and a read of the database gives no usable token.
pub fn csrf_token(session_id: &str) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length: no failure is possible here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(session_id.as_bytes()) else {
        return String::new();
    };
    mac.update(b"hygie csrf token v1");
    hex::encode(mac.finalize().into_bytes())
}

/// Compare two strings in constant time (CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// --- TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 6 digits, 30 s) ----------------------------

pub const TOTP_STEP_SECONDS: i64 = 30;

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (what authenticator apps expect).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buf: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(B32[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(B32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = B32
            .iter()
            .position(|&x| x as char == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push(((buf >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// A new TOTP seed (160 bits, as RFC 4226 recommends), base32.
pub fn new_totp_secret() -> Result<String, AuthError> {
    let mut b = [0u8; 20];
    getrandom::fill(&mut b).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(base32_encode(&b))
}

/// The HOTP value of `key` at counter `counter` (6 digits).
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    bin % 1_000_000
}

/// The 6-digit code of a base32 seed at Unix time `unix` (for authenticator-like tests).
pub fn totp_code(secret_b32: &str, unix: i64) -> String {
    let key = base32_decode(secret_b32).unwrap_or_default();
    format!("{:06}", hotp(&key, (unix / TOTP_STEP_SECONDS) as u64))
}

/// The time step a code matches at `unix`, allowing one step of clock drift either way.
/// The caller must still refuse a step already used (replay).
pub fn totp_match(secret_b32: &str, code: &str, unix: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = base32_decode(secret_b32)?;
    let now = unix / TOTP_STEP_SECONDS;
    (now - 1..=now + 1)
        .find(|&step| step >= 0 && same(&format!("{:06}", hotp(&key, step as u64)), code))
}

/// Percent-encoding of everything but RFC 3986's unreserved characters (a URI component, a
/// form value).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The otpauth:// URI an authenticator app imports.
pub fn otpauth_uri(secret_b32: &str, username: &str) -> String {
    format!(
        "otpauth://totp/Hygie:{}?secret={secret_b32}&issuer=Hygie&algorithm=SHA1&digits=6&period=30",
        percent_encode(username)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits there; 6 here are the
        // last six of the RFC's values.
        let key = b"12345678901234567890";
        let secret = base32_encode(key);
        for (t, code8) in [
            (59i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(totp_code(&secret, t), code8[2..], "t={t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let key = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, e) in expected.iter().enumerate() {
            assert_eq!(hotp(key, c as u64), *e);
        }
    }

    #[test]
    fn totp_match_window_and_format() {
        let s = base32_encode(b"12345678901234567890");
        let now = 1_700_000_000;
        let code = totp_code(&s, now);
        assert_eq!(totp_match(&s, &code, now), Some(now / 30));
        assert_eq!(totp_match(&s, &code, now + 30), Some(now / 30));
        assert_eq!(totp_match(&s, &code, now + 90), None);
        assert_eq!(totp_match(&s, "12345", now), None);
        assert_eq!(totp_match(&s, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trip() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(base32_decode(&base32_encode(data)).as_deref(), Some(data));
        }
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("not base32!"), None);
    }

    struct OneBreached;
    impl BreachIndex for OneBreached {
        fn contains(&self, p: &str) -> bool {
            p == "correct horse battery"
        }
    }

    #[test]
    fn password_policy() {
        let table: [(&str, &str, bool); 5] = [
            ("short", "alice", false),
            ("elevenchars", "alice", false),
            ("twelve chars", "alice", true),
            ("alice.martin", "alice.martin", false),
            ("correct horse battery", "bob", false),
        ];
        for (pw, user, ok) in table {
            assert_eq!(
                check_password(pw, user, Some(&OneBreached)).is_ok(),
                ok,
                "{pw}"
            );
        }
        // Without an index, only length and username count.
        assert!(check_password("correct horse battery", "bob", None).is_ok());
        assert!(check_password(&"x".repeat(300), "bob", None).is_err());
    }

    #[test]
    fn temporary_passwords_follow_the_policy_and_differ() {
        let a = temporary_password().unwrap_or_default();
        let b = temporary_password().unwrap_or_default();
        assert_eq!(a.len(), 19, "{a}");
        assert_eq!(a.matches('-').count(), 3);
        assert_ne!(a, b);
        assert!(check_password(&a, "alice", None).is_ok());
    }

    #[test]
    fn argon2id_hash_and_verify() {
        let h = hash_password("a long enough password").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("a long enough password", &h));
        assert!(!verify_password("another password!!", &h));
        assert!(!verify_password(
            "a long enough password",
            "not a phc string"
        ));
        let h2 = hash_password("a long enough password").unwrap_or_default();
        assert_ne!(h, h2, "salts differ");
    }
}
