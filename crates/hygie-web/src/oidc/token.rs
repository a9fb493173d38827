//! The checks of an OpenID Connect ID token, pure (no I/O): its signature against the provider's
//! published keys (JWKS), then its claims (issuer, audience, authorised party, expiry, issue
//! time, nonce). Signatures are checked with `ring` (already the TLS stack's): RS256, PS256 and
//! ES256, the algorithms providers use; `none` and HMAC are refused (a token signed with the
//! client secret proves nothing the secret's holder could not forge).
//!
//! A key id the key set does not know is its own error (`TokenError::UnknownKey`): the provider
//! has rotated its keys, and the caller fetches the key set again once before refusing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde_json::Value;

/// Clock difference allowed between the provider and Hygie, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why an ID token is refused. None of these carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed ID token: {0}")]
    Malformed(String),
    #[error("ID token algorithm '{0}' refused (RS256, PS256 or ES256 only)")]
    Algorithm(String),
    #[error("the provider's key set has no key '{0}'")]
    UnknownKey(String),
    #[error("bad ID token signature")]
    Signature,
    #[error("ID token issuer '{0}' is not the configured issuer")]
    Issuer(String),
    #[error("ID token audience does not name this client")]
    Audience,
    #[error("ID token nonce does not match the login's")]
    Nonce,
    #[error("ID token expired")]
    Expired,
    #[error("ID token issued in the future")]
    NotYetValid,
}

/// One public key of the provider.
#[derive(Debug, Clone)]
enum PublicKey {
    /// Modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed P-256 point (0x04 ‖ x ‖ y).
    P256(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    key: PublicKey,
}

/// The provider's signing keys, from its `jwks_uri`. Keys of other types or uses are skipped.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

fn b64(field: &str, v: &Value) -> Result<Vec<u8>, TokenError> {
    let s = v
        .as_str()
        .ok_or_else(|| TokenError::Malformed(format!("{field} missing")))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed(format!("{field} is not base64url")))
}

impl KeySet {
    /// Read a JWKS document.
    pub fn parse(json: &[u8]) -> Result<KeySet, TokenError> {
        let v: Value = serde_json::from_slice(json)
            .map_err(|e| TokenError::Malformed(format!("key set: {e}")))?;
        let list = v["keys"]
            .as_array()
            .ok_or_else(|| TokenError::Malformed("key set: no 'keys' array".into()))?;
        let mut keys = Vec::new();
        for k in list {
            if k["use"].as_str().is_some_and(|u| u != "sig") {
                continue;
            }
            let kid = k["kid"].as_str().map(str::to_owned);
            let key = match (k["kty"].as_str(), k["crv"].as_str()) {
                (Some("RSA"), _) => {
                    let mut n = b64("n", &k["n"])?;
                    // ring wants the modulus without leading zero bytes.
                    let zeros = n.iter().take_while(|b| **b == 0).count();
                    n.drain(..zeros);
                    PublicKey::Rsa {
                        n,
                        e: b64("e", &k["e"])?,
                    }
                }
                (Some("EC"), Some("P-256")) => {
                    let (x, y) = (b64("x", &k["x"])?, b64("y", &k["y"])?);
                    if x.len() != 32 || y.len() != 32 {
                        return Err(TokenError::Malformed("P-256 key of the wrong size".into()));
                    }
                    let mut p = vec![4u8];
                    p.extend_from_slice(&x);
                    p.extend_from_slice(&y);
                    PublicKey::P256(p)
                }
                _ => continue,
            };
            keys.push(Jwk { kid, key });
        }
        Ok(KeySet { keys })
    }

    /// The keys that may have signed a token of this key id and algorithm.
    fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: &'a str,
    ) -> impl Iterator<Item = &'a Jwk> {
        self.keys.iter().filter(move |k| {
            let fits = matches!(
                (&k.key, alg),
                (PublicKey::Rsa { .. }, "RS256" | "PS256") | (PublicKey::P256(_), "ES256")
            );
            fits && (kid.is_none() || k.kid.as_deref() == kid)
        })
    }
}

/// What the login expects of its ID token.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Now, in Unix seconds.
    pub now: i64,
}

/// The claims of a checked ID token.
#[derive(Debug, Clone)]
pub struct IdToken {
    pub subject: String,
    /// Every claim, for the mapping's claim and the display name.
    pub claims: Value,
}

impl IdToken {
    /// The values of a claim as strings: a string, or an array's strings (groups, roles).
    pub fn values(&self, claim: &str) -> Vec<String> {
        match &self.claims[claim] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A claim's string value, if it has one.
    pub fn text(&self, claim: &str) -> Option<&str> {
        self.claims[claim].as_str()
    }
}

/// Check a compact-serialised ID token: signature first, then the claims.
pub fn verify(token: &str, keys: &KeySet, want: &Expected<'_>) -> Result<IdToken, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three parts".into()));
    };
    let header: Value = serde_json::from_slice(&b64("header", &Value::from(h))?)
        .map_err(|_| TokenError::Malformed("header is not JSON".into()))?;
    let alg = header["alg"].as_str().unwrap_or("none");
    if !matches!(alg, "RS256" | "PS256" | "ES256") {
        return Err(TokenError::Algorithm(alg.to_owned()));
    }
    let kid = header["kid"].as_str();
    let sig = b64("signature", &Value::from(s))?;
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    let mut tried = false;
    let mut good = false;
    for k in keys.candidates(kid, alg) {
        tried = true;
        let ok = match (&k.key, alg) {
            (PublicKey::Rsa { n, e }, "RS256") => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, &sig)
                .is_ok(),
            (PublicKey::Rsa { n, e }, "PS256") => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, signed, &sig)
                .is_ok(),
            (PublicKey::P256(point), "ES256") => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signed, &sig)
                    .is_ok()
            }
            _ => false,
        };
        if ok {
            good = true;
            break;
        }
    }
    if !tried {
        return Err(TokenError::UnknownKey(kid.unwrap_or("").to_owned()));
    }
    if !good {
        return Err(TokenError::Signature);
    }
    let claims: Value = serde_json::from_slice(&b64("payload", &Value::from(p))?)
        .map_err(|_| TokenError::Malformed("payload is not JSON".into()))?;
    let iss = claims["iss"].as_str().unwrap_or("");
    if iss != want.issuer {
        return Err(TokenError::Issuer(iss.to_owned()));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&want.client_id) {
        return Err(TokenError::Audience);
    }
    // Several audiences: the authorised party must be this client (OIDC Core 3.1.3.7).
    if (audiences.len() > 1 || claims.get("azp").is_some())
        && claims["azp"].as_str() != Some(want.client_id)
    {
        return Err(TokenError::Audience);
    }
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| TokenError::Malformed("no exp".into()))?;
    if exp + LEEWAY_SECONDS <= want.now {
        return Err(TokenError::Expired);
    }
    let iat = claims["iat"]
        .as_i64()
        .ok_or_else(|| TokenError::Malformed("no iat".into()))?;
    if iat - LEEWAY_SECONDS > want.now {
        return Err(TokenError::NotYetValid);
    }
    match claims["nonce"].as_str() {
        Some(n) if crate::auth::same(n, want.nonce) => {}
        _ => return Err(TokenError::Nonce),
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TokenError::Malformed("no sub".into()))?
        .to_owned();
    Ok(IdToken { subject, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    /// A provider's signing key made for the test, and its JWKS.
    struct Signer {
        pair: EcdsaKeyPair,
        kid: String,
    }

    impl Signer {
        fn new(kid: &str) -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .expect("pair");
            Signer {
                pair,
                kid: kid.into(),
            }
        }
        fn jwk(&self) -> Value {
            let p = self.pair.public_key().as_ref();
            json!({ "kty": "EC", "crv": "P-256", "use": "sig", "kid": self.kid,
                    "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65]) })
        }
        fn sign(&self, claims: &Value) -> String {
            let h = URL_SAFE_NO_PAD.encode(json!({ "alg": "ES256", "kid": self.kid }).to_string());
            let p = URL_SAFE_NO_PAD.encode(claims.to_string());
            let input = format!("{h}.{p}");
            let sig = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .expect("sign");
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    fn keys(signers: &[&Signer]) -> KeySet {
        let doc = json!({ "keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>() });
        KeySet::parse(doc.to_string().as_bytes()).expect("jwks")
    }

    const NOW: i64 = 1_800_000_000;

    fn claims() -> Value {
        json!({ "iss": "https://idp.chu.test", "aud": "hygie", "sub": "u-42", "nonce": "n-1",
                "iat": NOW - 5, "exp": NOW + 300, "groups": ["rssi", "staff"], "name": "Ann" })
    }

    fn want() -> Expected<'static> {
        Expected {
            issuer: "https://idp.chu.test",
            client_id: "hygie",
            nonce: "n-1",
            now: NOW,
        }
    }

    #[test]
    fn a_well_signed_token_with_the_right_claims_passes() {
        let s = Signer::new("k1");
        let t = verify(&s.sign(&claims()), &keys(&[&s]), &want()).expect("valid");
        assert_eq!(t.subject, "u-42");
        assert_eq!(t.values("groups"), vec!["rssi", "staff"]);
        assert_eq!(t.values("name"), vec!["Ann"]);
        assert!(t.values("roles").is_empty());
    }

    /// Each tampering, alone, is refused with its own reason.
    #[test]
    fn every_tampering_is_refused() {
        let s = Signer::new("k1");
        let ks = keys(&[&s]);
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            verify(&s.sign(&c), &ks, &want())
        };
        assert_eq!(
            with("aud", json!("another-client")).unwrap_err(),
            TokenError::Audience
        );
        assert_eq!(
            with("aud", json!(["hygie", "other"])).unwrap_err(),
            TokenError::Audience,
            "several audiences without azp"
        );
        assert!(
            with("iss", json!("https://evil.test"))
                .is_err_and(|e| matches!(e, TokenError::Issuer(_)))
        );
        assert_eq!(with("nonce", json!("n-2")).unwrap_err(), TokenError::Nonce);
        let mut c = claims();
        c.as_object_mut().expect("object").remove("nonce");
        assert_eq!(
            verify(&s.sign(&c), &ks, &want()).unwrap_err(),
            TokenError::Nonce
        );
        assert_eq!(
            with("exp", json!(NOW - LEEWAY_SECONDS - 1)).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            with("iat", json!(NOW + 3600)).unwrap_err(),
            TokenError::NotYetValid
        );

        // A payload changed after signing.
        let good = s.sign(&claims());
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c["groups"] = json!(["admin"]);
        parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        assert_eq!(
            verify(&parts.join("."), &ks, &want()).unwrap_err(),
            TokenError::Signature
        );
        // Signed by another key under the same key id.
        let forger = Signer::new("k1");
        assert_eq!(
            verify(&forger.sign(&claims()), &ks, &want()).unwrap_err(),
            TokenError::Signature
        );
        // `none` and HMAC are never accepted.
        let h = URL_SAFE_NO_PAD.encode(json!({ "alg": "none" }).to_string());
        let unsigned = format!("{h}.{}.", URL_SAFE_NO_PAD.encode(claims().to_string()));
        assert_eq!(
            verify(&unsigned, &ks, &want()).unwrap_err(),
            TokenError::Algorithm("none".into())
        );
        assert!(verify("a.b", &ks, &want()).is_err());
    }

    /// A key the set does not know: the caller refetches the set (the provider rotated keys).
    #[test]
    fn a_rotated_key_is_an_unknown_key_until_the_set_is_fetched_again() {
        let old = Signer::new("2026-01");
        let new = Signer::new("2026-07");
        let token = new.sign(&claims());
        assert_eq!(
            verify(&token, &keys(&[&old]), &want()).unwrap_err(),
            TokenError::UnknownKey("2026-07".into())
        );
        assert!(verify(&token, &keys(&[&old, &new]), &want()).is_ok());
    }

    #[test]
    fn a_key_set_skips_foreign_keys_and_refuses_broken_ones() {
        let doc = json!({ "keys": [ { "kty": "oct", "k": "c2VjcmV0" },
                                    { "kty": "EC", "crv": "P-256", "use": "enc", "x": "", "y": "" } ] });
        assert!(
            KeySet::parse(doc.to_string().as_bytes())
                .expect("parse")
                .keys
                .is_empty()
        );
        assert!(KeySet::parse(b"{}").is_err());
        let bad = json!({ "keys": [ { "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA" } ] });
        assert!(KeySet::parse(bad.to_string().as_bytes()).is_err());
    }
}
