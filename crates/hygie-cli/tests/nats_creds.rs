//! `--nats-creds`: a NATS server in operator mode (decentralised JWT authentication, accounts
//! preloaded in a `MEMORY` resolver), started by the test. The operator, account and user JWTs
//! are minted here with the `nkeys` crate, as `nsc` would (`nsc` is not installed): a header
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, the claims, and the issuer's Ed25519 signature of
//! both, each part base64url without padding. `ingest --publish` and `detect-worker` connect
//! with the user's credentials file and an event becomes a stored alert; without the file the
//! server refuses the worker; a file that cannot be read or parsed is named in an input error,
//! and its seed is printed nowhere.

mod common;

use base64::Engine;
use common::nats::{FAILED_LOGON, start_nats_with, start_publisher_with, start_worker_with};
use common::{FINESS, HOSPITAL, Hygie, alerts};
use nkeys::KeyPair;
use serde_json::{Value, json};
use sha2::Digest;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT of `subject` signed by `issuer`, with the `nats` claims given.
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let mut claims = json!({
        "iat": jiff::Timestamp::now().as_second(),
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    // The claims' id: a digest of the claims, unique per token.
    let digest = sha2::Sha256::digest(claims.to_string().as_bytes());
    claims["jti"] = hex::encode(&digest[..16]).to_uppercase().into();
    let body = b64(claims.to_string().as_bytes());
    let signed = format!("{header}.{body}");
    let signature = issuer.sign(signed.as_bytes()).expect("sign");
    format!("{signed}.{}", b64(&signature))
}

/// Unlimited account limits, JetStream on or off.
fn limits(jetstream: bool) -> Value {
    let mut l = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
    });
    if jetstream {
        for k in ["mem_storage", "disk_storage", "streams", "consumer"] {
            l[k] = (-1).into();
        }
    }
    l
}

/// The server's configuration (operator and preloaded accounts) and a user's credentials file.
fn operator_mode(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let operator = KeyPair::new_operator();
    let system = KeyPair::new_account();
    let account = KeyPair::new_account();
    let user = KeyPair::new_user();
    let operator_jwt = jwt(
        &operator,
        &operator.public_key(),
        "hygie-test",
        json!({"type": "operator", "version": 2, "system_account": system.public_key()}),
    );
    let system_jwt = jwt(
        &operator,
        &system.public_key(),
        "SYS",
        json!({"type": "account", "version": 2, "limits": limits(false)}),
    );
    let account_jwt = jwt(
        &operator,
        &account.public_key(),
        "HYGIE",
        json!({"type": "account", "version": 2, "limits": limits(true)}),
    );
    let user_jwt = jwt(
        &account,
        &user.public_key(),
        "detect",
        json!({"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
    );
    let conf = dir.join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "operator: {operator_jwt}\nsystem_account: {sys}\nresolver: MEMORY\nresolver_preload: {{\n  {sys}: {system_jwt}\n  {acc}: {account_jwt}\n}}\n",
            sys = system.public_key(),
            acc = account.public_key(),
        ),
    )
    .expect("server configuration");
    let seed = user.seed().expect("seed");
    let creds = dir.join("detect.creds");
    std::fs::write(
        &creds,
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )
    .expect("credentials file");
    (conf, creds, seed)
}

#[test]
fn publisher_and_worker_authenticate_with_a_credentials_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let (conf, creds, seed) = operator_mode(dir.path());
    let Some(nats) = start_nats_with(&["-c", conf.to_str().expect("path")]) else {
        return;
    };
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    std::fs::create_dir_all(h.path().join("rules")).expect("rules folder");
    h.file("rules/failed-logon.yml", FAILED_LOGON);
    let rules = h.path().join("rules");
    let rules = rules.to_str().expect("path");
    let worker = |extra: &[&str]| {
        let mut args = vec![
            "detect-worker",
            "--nats",
            &nats.url,
            "--stream",
            common::nats::STREAM,
            "--facility",
            FINESS,
            "--rules",
            rules,
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, code: i32| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        String::from_utf8_lossy(&h.run(&args, code).stderr).into_owned()
    };

    // Without credentials the server refuses the connection.
    let err = run(worker(&[]), 1);
    assert!(err.contains("cannot connect to NATS"), "{err}");
    // A file that is not a credentials file, and a missing one: input errors naming them,
    // before any connection; the content is not echoed.
    let bad = h.file("bad.creds", "not a credentials file SUSECRETSEEDLIKE\n");
    let bad = bad.to_str().expect("path");
    let err = run(worker(&["--nats-creds", bad]), 2);
    assert!(err.contains("--nats-creds") && err.contains(bad), "{err}");
    assert!(err.contains("fichier d'identifiants NATS"), "{err}");
    assert!(!err.contains("SUSECRETSEEDLIKE"), "{err}");
    let missing = h.path().join("missing.creds");
    let missing = missing.to_str().expect("path");
    let err = run(worker(&["--nats-creds", missing]), 2);
    assert!(err.contains(missing), "{err}");
    let err = run(
        vec![
            "ingest".into(),
            "--publish".into(),
            nats.url.clone(),
            "--listen".into(),
            "json+tcp://127.0.0.1:0".into(),
            "--facility".into(),
            FINESS.into(),
            "--nats-creds".into(),
            bad.into(),
        ],
        2,
    );
    assert!(err.contains(bad), "{err}");

    // With the user's credentials: published, evaluated, stored.
    let creds = creds.to_str().expect("path");
    let (publisher, addr) = start_publisher_with(&h, &nats.url, &["--nats-creds", creds]);
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(
        b"{\"Channel\":\"Security\",\"Computer\":\"DC01\",\"EventRecordID\":1,\"EventID\":4625,\"TimeCreated\":\"2025-01-01T00:00:00Z\",\"TargetUserName\":\"alice\"}\n",
    )
    .expect("send");
    drop(tcp);
    let worker = start_worker_with(
        &h,
        &nats.url,
        std::path::Path::new(rules),
        &["--nats-creds", creds],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while alerts(&h).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no alert stored with credentials"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = publisher.stop();
    assert_eq!(published["accepted"], 1, "{published}");
    let stats = worker.stop();
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    let got = alerts(&h);
    assert_eq!(got.len(), 1);
    assert_eq!(got.values().next().expect("alert").0, 1);
    assert!(!format!("{published}{stats}").contains(&seed));
}
