//! The package file: canonical bytes, signature, compression, and opening a file received.

use crate::{Checked, Identity, Package, PublicKey, Refusal};
use ed25519_dalek::Signature;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;

/// The envelope's `format`.
pub const FORMAT: &str = "hygie-sync-package";
/// The one version of the format this build writes and reads.
pub const VERSION: u64 = 1;
/// The most a package may unpack to: far above a year's package (tens of KB), far below what
/// would hurt the region (a compressed bomb is refused, not inflated).
pub const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

/// What is signed and hashed: a domain-separating prefix that names the version, then the
/// package's canonical JSON.
fn message(package: &Value) -> Result<Vec<u8>, Refusal> {
    let mut out = format!("{FORMAT}/{VERSION}\n").into_bytes();
    canonical_into(package, &mut out)?;
    Ok(out)
}

/// JSON with object keys sorted (by their UTF-8 bytes), no whitespace, strings escaped as
/// serde_json writes them, integers only: the same bytes for the same value in any tool.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    canonical_into(value, &mut out)?;
    Ok(out)
}

fn canonical_into(value: &Value, out: &mut Vec<u8>) -> Result<(), Refusal> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => serde_json::to_writer(&mut *out, value)
            .map_err(|e| Refusal::Malformed(e.to_string()))?,
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return Err(Refusal::Malformed(format!(
                    "number {n}: a package holds integers only"
                )));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_into(v, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k)
                    .map_err(|e| Refusal::Malformed(e.to_string()))?;
                out.push(b':');
                canonical_into(&map[k], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A package ready to write: the file's bytes and the package's hash.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    /// SHA-256 of the signed message, hex: what the next package names as `previous_hash`.
    pub hash: String,
}

/// Sign and compress a package.
pub fn seal(package: &Package, identity: &Identity) -> Result<Sealed, Refusal> {
    let value = serde_json::to_value(package).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let msg = message(&value)?;
    let signature = identity.sign(&msg);
    let envelope = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "public_key": identity.public_key().hex(),
        "signature": hex::encode(signature.to_bytes()),
        "package": value,
    });
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    serde_json::to_writer(&mut gz, &envelope).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let bytes = gz.finish().map_err(|e| Refusal::Malformed(e.to_string()))?;
    Ok(Sealed {
        bytes,
        hash: hex::encode(Sha256::digest(&msg)),
    })
}

/// A package whose signature verified and whose fields all parse.
#[derive(Debug, Clone)]
pub struct Opened {
    pub package: Package,
    pub public_key: PublicKey,
    pub hash: String,
}

fn field<'a>(envelope: &'a Value, name: &str) -> Result<&'a Value, Refusal> {
    envelope
        .get(name)
        .ok_or_else(|| Refusal::Malformed(format!("the envelope has no '{name}'")))
}

/// Read a package file: unpack (bounded), check the format and version, verify the signature
/// over the package's canonical bytes, then parse the package strictly. Enrolment and sequence
/// are the region's next checks (`authorise`, `admit`); content checks are `Package::check`.
pub fn open(bytes: &[u8]) -> Result<Opened, Refusal> {
    let mut text = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_UNPACKED + 1)
        .read_to_end(&mut text)
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    if text.len() as u64 > MAX_UNPACKED {
        return Err(Refusal::Unreadable(format!(
            "unpacks to more than {MAX_UNPACKED} bytes"
        )));
    }
    let envelope: Value =
        serde_json::from_slice(&text).map_err(|e| Refusal::Malformed(format!("not JSON: {e}")))?;
    let format = field(&envelope, "format")?;
    if format.as_str() != Some(FORMAT) {
        return Err(Refusal::UnknownFormat(format.to_string()));
    }
    let version = field(&envelope, "version")?;
    match version.as_u64() {
        Some(VERSION) => {}
        Some(v) => return Err(Refusal::UnknownVersion(v)),
        None => {
            return Err(Refusal::Malformed(format!(
                "version {version} is not a number"
            )));
        }
    }
    let public_key = PublicKey::parse(field(&envelope, "public_key")?.as_str().unwrap_or(""))?;
    let signature = field(&envelope, "signature")?
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| Refusal::Malformed("signature: 128 hexadecimal digits expected".into()))?;
    let package = field(&envelope, "package")?;
    let msg = message(package)?;
    public_key
        .0
        .verify_strict(&msg, &Signature::from_bytes(&signature))
        .map_err(|_| Refusal::BadSignature)?;
    let package: Package =
        serde_json::from_value(package.clone()).map_err(|e| Refusal::Malformed(e.to_string()))?;
    Ok(Opened {
        package,
        public_key,
        hash: hex::encode(Sha256::digest(&msg)),
    })
}

/// What the region does with a package file before its store is touched, the same for `hygie
/// sync import` and for a push: [`open`] it, refuse a package about another facility than the
/// pusher's (`pusher`: the FINESS of the push token; `None` from a file), and check its content
/// ([`Package::check`], the declarations recorded as made by `sync:FINESS`).
pub fn receive(bytes: &[u8], pusher: Option<&str>) -> Result<(Opened, Checked), Refusal> {
    let opened = open(bytes)?;
    if let Some(enrolled) = pusher
        && opened.package.finess != enrolled
    {
        return Err(Refusal::OtherFacility {
            package: opened.package.finess.clone(),
            enrolled: enrolled.to_owned(),
        });
    }
    // A rotation must hand over to the very key that signed this package.
    if let Some(r) = &opened.package.rotation {
        let (_, new) = r.verify()?;
        if new != opened.public_key {
            return Err(Refusal::BadRotation);
        }
    }
    let checked = opened
        .package
        .check(&format!("sync:{}", opened.package.finess))?;
    Ok((opened, checked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeclarationRecord, FacilityRecord, Facts, JournalHead};
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn package() -> Package {
        Package {
            finess: "750712184".into(),
            sequence: 1,
            previous_hash: None,
            journal_head: JournalHead {
                seq: 12,
                hash: "ab".repeat(32),
            },
            created_at: "2026-12-06T10:00:00Z".into(),
            catalog_version: "2026.1".into(),
            rotation: None,
            facts: Facts {
                facility: FacilityRecord {
                    finess: "750712184".into(),
                    legal_entity: None,
                    name: "CH Test « été »".into(),
                    kind: "hospital".into(),
                    region: "IDF".into(),
                    nis2: "essential".into(),
                    plan_start: "2026-01-01".into(),
                },
                declarations: vec![DeclarationRecord {
                    measure: "ADM-01".into(),
                    status: "implemented".into(),
                    justification: None,
                    owner: Some("RSSI".into()),
                    note: None,
                    at: "2026-02-01T09:00:00Z".into(),
                }],
                evidence: vec![],
                check_runs: vec![],
                obligations: vec![],
            },
        }
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(text).expect("in memory");
        gz.finish().expect("in memory")
    }

    fn gunzip(bytes: &[u8]) -> Value {
        let mut text = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut text).expect("gzip");
        serde_json::from_slice(&text).expect("json")
    }

    #[test]
    fn a_sealed_package_opens_with_its_key_and_hash() {
        let id = Identity::from_seed(&[9; 32]);
        let sealed = seal(&package(), &id).expect("seals");
        let opened = open(&sealed.bytes).expect("opens");
        assert_eq!(opened.package, package());
        assert_eq!(opened.public_key, id.public_key());
        assert_eq!(opened.hash, sealed.hash);
    }

    #[test]
    fn a_changed_field_a_truncated_file_or_another_version_is_refused() {
        let id = Identity::from_seed(&[9; 32]);
        let sealed = seal(&package(), &id).expect("seals");
        let mut v = gunzip(&sealed.bytes);
        v["package"]["facts"]["declarations"][0]["status"] = "in_progress".into();
        let changed = gzip(&serde_json::to_vec(&v).expect("json"));
        assert_eq!(open(&changed).map(|_| ()), Err(Refusal::BadSignature));
        // Whitespace and key order do not matter: the signature covers the canonical form.
        let mut v = gunzip(&sealed.bytes);
        let pretty = gzip(&serde_json::to_vec_pretty(&v).expect("json"));
        assert!(open(&pretty).is_ok());
        v["version"] = 2.into();
        let newer = gzip(&serde_json::to_vec(&v).expect("json"));
        assert_eq!(open(&newer).map(|_| ()), Err(Refusal::UnknownVersion(2)));
        v["version"] = 1.into();
        v["format"] = "other".into();
        assert_eq!(
            open(&gzip(&serde_json::to_vec(&v).expect("json")))
                .map_err(|e| e.code())
                .err(),
            Some("unknown_format")
        );
        let truncated = &sealed.bytes[..sealed.bytes.len() / 2];
        assert_eq!(
            open(truncated).map_err(|e| e.code()).err(),
            Some("unreadable")
        );
        let mut flipped = sealed.bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x01;
        assert!(open(&flipped).is_err());
        assert_eq!(open(b"").map_err(|e| e.code()).err(), Some("unreadable"));
    }

    #[test]
    fn an_unknown_field_is_refused_even_when_signed() {
        let id = Identity::from_seed(&[9; 32]);
        let mut value = serde_json::to_value(package()).expect("json");
        value["extra"] = 1.into();
        let msg = message(&value).expect("canonical");
        let envelope = serde_json::json!({
            "format": FORMAT, "version": VERSION, "public_key": id.public_key().hex(),
            "signature": hex::encode(id.sign(&msg).to_bytes()), "package": value,
        });
        let bytes = gzip(&serde_json::to_vec(&envelope).expect("json"));
        assert_eq!(open(&bytes).map_err(|e| e.code()).err(), Some("malformed"));
    }

    #[test]
    fn canonical_json_sorts_keys_and_refuses_fractions() {
        let v = serde_json::json!({"b": [1, {"d": null, "c": "é\n"}], "a": true});
        assert_eq!(
            String::from_utf8(canonical_json(&v).expect("canonical")).expect("utf-8"),
            r#"{"a":true,"b":[1,{"c":"é\n","d":null}]}"#
        );
        assert!(canonical_json(&serde_json::json!({"x": 1.5})).is_err());
    }

    #[test]
    fn check_turns_fields_into_domain_values_and_names_the_bad_one() {
        let p = package();
        let c = p.check("sync:750712184").expect("valid");
        assert_eq!(c.declarations.len(), 1);
        assert_eq!(c.declarations[0].1.by, "sync:750712184");
        let mut bad = package();
        bad.facts.facility.finess = "690000005".into();
        assert!(bad.check("x").is_err());
        let mut bad = package();
        bad.facts.declarations[0].measure = "nope".into();
        let e = bad.check("x").expect_err("bad measure").to_string();
        assert!(e.contains("declarations[0].measure"), "{e}");
        let mut bad = package();
        bad.sequence = 2;
        assert!(
            bad.check("x").is_err(),
            "a later package names its previous one"
        );
    }

    #[test]
    fn only_declarations_not_yet_stored_are_new() {
        let mut p = package();
        let first = p.facts.declarations[0].clone();
        let mut second = first.clone();
        second.status = "in_progress".into();
        p.facts.declarations = vec![first.clone(), first.clone(), second.clone()];
        let new = crate::new_declarations(&p.facts.declarations, std::slice::from_ref(&first));
        assert_eq!(new, vec![1, 2]);
        assert!(crate::new_declarations(&p.facts.declarations, &p.facts.declarations).is_empty());
    }

    #[test]
    fn a_push_is_received_only_for_the_pushers_facility() {
        let id = Identity::from_seed(&[7u8; 32]);
        let sealed = seal(&package(), &id).expect("seal");
        let (opened, checked) = receive(&sealed.bytes, None).expect("from a file");
        assert_eq!(opened.package.finess, "750712184");
        assert_eq!(checked.facility.id.as_str(), "750712184");
        assert!(receive(&sealed.bytes, Some("750712184")).is_ok());
        assert!(matches!(
            receive(&sealed.bytes, Some("350000014")),
            Err(Refusal::OtherFacility { .. })
        ));
        assert!(matches!(
            receive(&sealed.bytes[..10], None),
            Err(Refusal::Unreadable(_))
        ));
    }
}
