//! What the `hygie` binary's integration tests share: a `hygie` command on a test's own store,
//! the test hospital, and running a command that must end with a given exit code, its output read
//! as text or JSON.
//!
//! Every command starts from a clean environment for the variables `hygie` reads (database URL,
//! data directory, language, AD password), so a developer's shell never changes a test. Each
//! test file uses a part of this module, hence `dead_code`. Commands are `std::process::Command`,
//! so that a test can also spawn a long-running one (`serve`, `ingest`); `assert_cmd::prelude`
//! adds `.assert()` to them.
#![allow(dead_code)]

pub mod federation;
pub mod nats;
pub mod receiver;
pub mod smtp;

use hygie_testkit::TestDb;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The test hospital's FINESS number (check digit included).
pub const FINESS: &str = "350000014";

/// A facility as `hygie facility add` takes it; a test writes
/// `Facility { region: "IDF", ..HOSPITAL }` for the fields it is about.
#[derive(Clone, Copy)]
pub struct Facility<'a> {
    pub finess: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub region: &'a str,
    pub nis2: Option<&'a str>,
    pub plan_start: &'a str,
}

/// The test hospital.
pub const HOSPITAL: Facility<'static> = Facility {
    finess: FINESS,
    name: "CH Test",
    kind: "hospital",
    region: "BRE",
    nis2: None,
    plan_start: "2025-01-01",
};

impl<'a> Facility<'a> {
    /// `facility add` with this facility's flags.
    pub fn add_args(&self) -> Vec<&'a str> {
        let mut args = vec![
            "facility",
            "add",
            "--finess",
            self.finess,
            "--name",
            self.name,
            "--kind",
            self.kind,
            "--region",
            self.region,
            "--plan-start",
            self.plan_start,
        ];
        if let Some(nis2) = self.nis2 {
            args.extend(["--nis2", nis2]);
        }
        args
    }
}

/// A FINESS number from its first eight digits, with its check digit.
pub fn finess(first8: &str) -> String {
    hygie_core::Finess::with_check_digit(first8)
        .map(|f| f.to_string())
        .unwrap_or_else(|e| panic!("{first8}: {e}"))
}

/// The `hygie` binary, with none of the variables it reads set.
fn bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hygie"));
    for var in [
        "HYGIE_DATABASE_URL",
        "HYGIE_DATA_DIR",
        "HYGIE_LANG",
        "HYGIE_AD_PASSWORD",
        "HYGIE_SECRET_KEY_FILE",
    ] {
        c.env_remove(var);
    }
    c
}

/// `hygie` on the SQLite store in `data`.
pub fn hygie(data: &Path) -> Command {
    let mut c = bare();
    c.env("HYGIE_DATA_DIR", data);
    // The sealing key's default folder, beside the data directory: never the user's own.
    c.env("XDG_CONFIG_HOME", data.with_file_name("config"));
    c
}

/// Run `cmd`, which must end with exit `code`; a wrong code fails showing both streams.
pub fn run(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().expect("hygie runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What `cmd` printed on stdout; it must end with exit `code`.
pub fn stdout(cmd: &mut Command, code: i32) -> String {
    String::from_utf8_lossy(&run(cmd, code).stdout).into_owned()
}

/// What `cmd` printed on stderr; it must end with exit `code`.
pub fn stderr(cmd: &mut Command, code: i32) -> String {
    String::from_utf8_lossy(&run(cmd, code).stderr).into_owned()
}

/// What `cmd` printed on stdout, as JSON (Null when it printed nothing, as a refused command
/// does); it must end with exit `code`.
pub fn json(cmd: &mut Command, code: i32) -> Value {
    parse(&stdout(cmd, code))
}

fn parse(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A test's own `hygie`: a temporary folder for its files (also HOME), and a store, SQLite in
/// `data/` of that folder or a testkit database (dropped with it).
pub struct Hygie {
    dir: tempfile::TempDir,
    db: Option<TestDb>,
    lang: Option<&'static str>,
}

impl Hygie {
    /// SQLite in a new temporary folder.
    pub fn sqlite() -> Hygie {
        Hygie {
            dir: tempfile::tempdir().expect("a temporary folder"),
            db: None,
            lang: None,
        }
    }

    /// On a testkit database: SQLite (its own folder) or PostgreSQL.
    pub fn on(db: TestDb) -> Hygie {
        Hygie {
            db: Some(db),
            ..Hygie::sqlite()
        }
    }

    /// One per backend available (PostgreSQL skipped, or failing in CI, when unreachable).
    pub fn each() -> Vec<Hygie> {
        TestDb::each().into_iter().map(Hygie::on).collect()
    }

    /// PostgreSQL, or None (the testkit printed SKIP; in CI it failed).
    pub fn postgres() -> Option<Hygie> {
        TestDb::postgres().map(Hygie::on)
    }

    /// Every command in `lang` (`HYGIE_LANG`), for tests that read the text.
    pub fn in_lang(self, lang: &'static str) -> Hygie {
        Hygie {
            lang: Some(lang),
            ..self
        }
    }

    /// "sqlite" or "postgres", to name the backend in a failure.
    pub fn backend(&self) -> &'static str {
        self.db.as_ref().map_or("sqlite", |db| db.backend)
    }

    /// The database URL, for tests that edit rows behind the binary's back.
    pub fn database_url(&self) -> String {
        match &self.db {
            Some(db) => db.url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data().join("hygie.sqlite").display()
            ),
        }
    }

    /// The test's folder, for the files it writes.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory `hygie` uses (its SQLite file, its secret key).
    pub fn data(&self) -> PathBuf {
        match self.db.as_ref().and_then(|db| db.data_dir.clone()) {
            Some(dir) => dir,
            None => self.dir.path().join("data"),
        }
    }

    /// Write `content` to `name` in the test's folder; its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    /// `hygie` on this test's store.
    pub fn cmd(&self) -> Command {
        let mut c = hygie(&self.data());
        c.env("HOME", self.dir.path());
        if let Some(db) = self.db.as_ref().filter(|db| db.data_dir.is_none()) {
            c.env("HYGIE_DATABASE_URL", &db.url);
        }
        if let Some(lang) = self.lang {
            c.env("HYGIE_LANG", lang);
        }
        c
    }

    /// Run `hygie ARGS`, which must end with exit `code`.
    pub fn run(&self, args: &[&str], code: i32) -> Output {
        run(self.cmd().args(args), code)
    }

    /// Stdout of `hygie ARGS`, which must end with exit `code`.
    pub fn stdout(&self, args: &[&str], code: i32) -> String {
        stdout(self.cmd().args(args), code)
    }

    /// Stderr of `hygie ARGS`, which must end with exit `code`.
    pub fn stderr(&self, args: &[&str], code: i32) -> String {
        stderr(self.cmd().args(args), code)
    }

    /// `hygie ARGS --format json`, which must end with exit `code`, its output parsed.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        json(self.cmd().args(args).args(["--format", "json"]), code)
    }

    /// Record `facility` (it must succeed).
    pub fn add(&self, facility: &Facility<'_>) {
        self.run(&facility.add_args(), 0);
    }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate for localhost and 127.0.0.1 signed by it (P-256).
/// Returns (CA certificate, server certificate, server key).
pub fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Hygie test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &req);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("server.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Every table's row count and the journal head: what a refused push must leave as it was.
pub fn store_dump(t: &Hygie) -> Vec<(String, i64)> {
    let url = t.database_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("store dump");
        rt.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.expect("store dump");
            let mut out = Vec::new();
            for table in hygie_store::backup::TABLES {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&pool)
                    .await
                    .expect("store dump");
                out.push((table.to_string(), n));
            }
            let head: String = sqlx::query_scalar("SELECT hash FROM journal_head WHERE id = 1")
                .fetch_one(&pool)
                .await
                .expect("store dump");
            out.push((head, 0));
            pool.close().await;
            out
        })
    })
    .join()
    .expect("store dump")
}

/// Today in Europe/Paris, the facilities' day.
pub fn today() -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").expect("Europe/Paris");
    jiff::Timestamp::now().to_zoned(tz).date().to_string()
}

/// The facility's score and each measure's status.
pub fn measure_statuses(t: &Hygie, facility: &str, day: &str) -> (f64, Vec<(String, String)>) {
    let s = t.json(&["status", facility, "--as-of", day], 0);
    let measures = s["measures"]
        .as_array()
        .expect("status JSON")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("status JSON").to_owned(),
                m["status"].as_str().expect("status JSON").to_owned(),
            )
        })
        .collect();
    (s["score"].as_f64().expect("status JSON"), measures)
}

/// Longest wait for a server to start or a scheduled push to land.
pub const BOUND: std::time::Duration = std::time::Duration::from_secs(90);

/// A `hygie serve` process, killed when the test ends whatever happens.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free now (the OS's choice).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Start `hygie serve` on `port` with `args`; ready when it accepts connections.
pub fn serve(t: &Hygie, port: u16, args: &[&str]) -> Server {
    use std::process::Stdio;
    let child = t
        .cmd()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hygie serve");
    let server = Server(child);
    let deadline = std::time::Instant::now() + BOUND;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "hygie serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

/// The instance acting as its own agency: a campaign asking the hospital for BCK-06 by `due`,
/// exported signed and imported by the hospital, which trusts the key (as a facility does with
/// its agency's).
pub fn receive_request(env: &Hygie, due: &str) {
    env.json(
        &[
            "region",
            "request",
            "create",
            "--region",
            "BRE",
            "--target",
            &format!("facility:{}", FINESS),
            "--measure",
            "BCK-06",
            "--due",
            due,
            "--message",
            "Merci de transmettre un test de restauration.",
            "--message-en",
            "Please send a restore test.",
        ],
        0,
    );
    let file = env.path().join("requests.json");
    let file = file.to_str().unwrap_or_default();
    env.json(
        &[
            "region",
            "request",
            "export",
            "--facility",
            FINESS,
            "-o",
            file,
        ],
        0,
    );
    let id = env.json(&["identity", "show"], 0);
    let key = id["public_key"].as_str().unwrap_or_default().to_owned();
    env.json(&["requests", "trust", "--region", "BRE", "--key", &key], 0);
    env.json(&["requests", "import", "--facility", FINESS, file], 0);
}

/// A minimal JSON Schema check, enough for the federation schemas (`docs/sync-*.schema.json`): types, required properties, no
/// property the schema does not name, items, local `$ref`s.
pub fn conforms(schema: &Value, root: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/$defs/");
        return conforms(&root["$defs"][name], root, v, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_of = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.is_empty() && !types.contains(&type_of) {
        return Err(format!("{at}: {type_of}, expected {types:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{at}: {v} is not {c}"));
    }
    if let Value::Object(map) = v {
        for req in schema["required"].as_array().into_iter().flatten() {
            let Some(req) = req.as_str() else {
                return Err(format!("{at}: the schema's 'required' holds {req}"));
            };
            if !map.contains_key(req) {
                return Err(format!("{at}: no '{req}'"));
            }
        }
        for (k, x) in map {
            match schema["properties"].get(k) {
                Some(s) => conforms(s, root, x, &format!("{at}.{k}"))?,
                None if schema["additionalProperties"] == false => {
                    return Err(format!("{at}: '{k}' is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, x) in items.iter().enumerate() {
            conforms(s, root, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Batch `hygie detect` of `logs` with `rules` into `h`'s store for the test hospital, which
/// must succeed: the reference the streaming and NATS paths are compared with.
pub fn detect_into(h: &Hygie, rules: &Path, logs: &Path) {
    let status = h
        .cmd()
        .args(["detect", "--rules"])
        .arg(rules)
        .arg("--logs")
        .arg(logs)
        .args(["--facility", FINESS, "--format", "json"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("hygie detect");
    assert!(status.success(), "batch detect failed: {status}");
}

/// The facility's alerts by id: (count, first time, last time, representative's record id).
pub type Alerts = std::collections::BTreeMap<String, (u64, String, String, u64)>;

pub fn alerts(h: &Hygie) -> Alerts {
    let v = h.json(
        &["alerts", "list", "--facility", FINESS, "--limit", "1000000"],
        0,
    );
    v.as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                (
                    a["count"].as_u64().expect("count"),
                    a["time"].as_str().unwrap_or("").to_owned(),
                    a["last_time"].as_str().unwrap_or("").to_owned(),
                    a["record_id"].as_u64().expect("record id"),
                ),
            )
        })
        .collect()
}

/// Position after the last byte of a spool's segments (0 when it has none): read from the
/// files' names and sizes, so also while an ingest holds the spool.
pub fn spool_end(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let base: u64 = name.strip_suffix(".seg")?.parse().ok()?;
            Some(base + e.metadata().ok()?.len())
        })
        .max()
        .unwrap_or(0)
}
