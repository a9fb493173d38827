//! A facility and its region, set up for the federation tests: the facility on SQLite with the
//! demo, the region on PostgreSQL, the facility's key enrolled at the region with a push token,
//! and the region's TLS certificate from the test CA.

use super::{FINESS, Hygie, Server, serve, test_ca};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub struct Federation {
    pub facility: Hygie,
    pub region: Hygie,
    /// The test CA's certificate, which the facility trusts for the region's HTTPS.
    pub ca: PathBuf,
    /// The region's certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The push token of the facility's enrolment (a 0600 file in the region's directory).
    pub token_file: PathBuf,
}

impl Federation {
    /// None without PostgreSQL (a skip outside CI, a failure in CI: `Hygie::postgres`).
    pub fn new() -> Option<Federation> {
        let region = Hygie::postgres()?;
        let facility = Hygie::sqlite();
        facility.run(&["demo"], 0);
        let (ca, cert, key) = test_ca(region.path());
        let fk = facility.json(&["identity", "show"], 0)["public_key"]
            .as_str()
            .expect("the facility's public key")
            .to_owned();
        region.json(&["region", "enrol", "--finess", FINESS, "--key", &fk], 0);
        let token_file = region.path().join("push.token");
        region.json(
            &[
                "region",
                "push-token",
                "--finess",
                FINESS,
                "-o",
                &token_file.to_string_lossy(),
            ],
            0,
        );
        Some(Federation {
            facility,
            region,
            ca,
            cert,
            key,
            token_file,
        })
    }

    /// The facility trusts the region's key for its requests; the `requests trust` report.
    pub fn trust_region(&self) -> (Value, Value) {
        let rid = self.region.json(&["identity", "show"], 0);
        let key = rid["public_key"].as_str().expect("the region's public key");
        let trusted = self
            .facility
            .json(&["requests", "trust", "--region", "DEMO", "--key", key], 0);
        (rid, trusted)
    }

    /// `hygie serve` of the region over HTTPS on `port`.
    pub fn serve_region(&self, port: u16) -> Server {
        let (cert, key) = (self.cert.to_string_lossy(), self.key.to_string_lossy());
        serve(
            &self.region,
            port,
            &["--tls-cert", &cert, "--tls-key", &key],
        )
    }

    /// `hygie sync push` from the facility to the region on `port`, ending with `code`: its
    /// JSON report.
    pub fn push(&self, port: u16, code: i32) -> Value {
        push_with(&self.facility, port, &self.ca, &self.token_file, code)
    }
}

/// `hygie sync push` from `f` with `token_file`, ending with `code`: its JSON report.
pub fn push_with(f: &Hygie, port: u16, ca: &Path, token_file: &Path, code: i32) -> Value {
    let out = super::run(
        f.cmd().args([
            "sync",
            "push",
            "--facility",
            FINESS,
            "--to",
            &format!("https://localhost:{port}"),
            "--token-file",
            &token_file.to_string_lossy(),
            "--ca-cert",
            &ca.to_string_lossy(),
            "--format",
            "json",
        ]),
        code,
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}
