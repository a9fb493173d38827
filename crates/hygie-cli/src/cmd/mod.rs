//! One module per command group. A command parses all of its input before it opens the store,
//! so bad input never leaves a trace.

pub mod assess;
pub mod audit;
pub mod audit_ad;
pub mod audit_collect;
pub mod audit_passwords;
pub mod backup;
pub mod catalog;
pub mod checks;
pub mod demo;
pub mod detect;
pub mod detect_worker;
pub mod facility;
pub mod forward;
pub mod identity;
pub mod incident;
pub mod incident_evidence;
pub mod ingest;
pub mod inventory;
pub mod journal;
pub mod notify;
pub mod notify_digest;
pub mod notify_renewal;
pub mod notify_smtp;
pub mod notify_webhook;
pub mod people;
pub mod phishing;
pub mod regime;
pub mod requests;
pub mod risk;
pub mod roles;
pub mod serve;
pub mod status;
pub mod sync;
pub mod sync_push;
pub mod tokens;
pub mod training;
pub mod users;
pub mod vuln;

use crate::output::{self, Format};
use anyhow::Context as _;
use hygie_core::{Catalog, Finess, Lang};
use hygie_store::{Actor, Store};
use std::path::{Path, PathBuf};

pub struct Ctx {
    pub format: Format,
    pub lang: Lang,
    database_url: String,
    data_dir: Option<PathBuf>,
}

impl Ctx {
    pub fn new(cli: &crate::Cli) -> anyhow::Result<Ctx> {
        let (database_url, data_dir) = match (&cli.database_url, &cli.data_dir) {
            (Some(url), _) => (url.clone(), None),
            (None, dir) => {
                let dir = match dir {
                    Some(d) => d.clone(),
                    None => default_data_dir(),
                };
                (hygie_store::sqlite_url_in(&dir), Some(dir))
            }
        };
        Ok(Ctx {
            format: cli.format,
            lang: cli.lang,
            database_url,
            data_dir,
        })
    }

    /// Open (creating and migrating if needed) the store, and record the bundled catalogue version.
    pub async fn store(&self) -> anyhow::Result<Store> {
        self.prepare_data_dir()?;
        let store = Store::open(&self.database_url).await?;
        let catalog = catalog()?;
        store
            .set_catalog_version(&catalog.version, &Actor::cli())
            .await?;
        Ok(store)
    }

    /// Make the SQLite data directory (0700, the database file 0600) if the store is one.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        if let Some(dir) = &self.data_dir {
            hygie_store::prepare_data_dir(dir).with_context(|| {
                format!(
                    "cannot prepare the data directory {} / impossible de préparer le répertoire de données {}",
                    dir.display(),
                    dir.display()
                )
            })?;
        }
        Ok(())
    }

    /// Open a store that exists, as it is: no catalogue recorded, and no empty store created
    /// in a data directory that has none (`hygie backup`).
    pub async fn existing_store(&self) -> anyhow::Result<Store> {
        if let Some(dir) = &self.data_dir
            && !dir.join("hygie.sqlite").is_file()
        {
            return Err(backup::no_store(dir).into());
        }
        self.prepare_data_dir()?;
        Ok(Store::open(&self.database_url).await?)
    }

    /// The database URL (with its password, for connecting; print `database_label`).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The web's sealing key file as `hygie serve` finds it by default (`sealing_key`).
    pub fn sealing_key_file(&self) -> PathBuf {
        self.sealing_key().path().to_owned()
    }

    /// Where the key sealing TOTP seeds is: `HYGIE_SECRET_KEY_FILE`, else its default place
    /// apart from the data directory (`default_key_file`), else, for an installation of an
    /// earlier version that kept it there, `secret.key` in the data directory.
    pub fn sealing_key(&self) -> SealingKey {
        if let Some(p) = std::env::var_os("HYGIE_SECRET_KEY_FILE") {
            return SealingKey::Named(PathBuf::from(p));
        }
        let default = default_key_file();
        let legacy = self.data_dir().join("secret.key");
        if !default.exists() && legacy.is_file() {
            return SealingKey::Legacy { legacy, default };
        }
        SealingKey::Default(default)
    }

    /// The store, after checking that `facility` is registered (every per-facility command).
    pub async fn facility_store(&self, facility: &Finess) -> anyhow::Result<Store> {
        let store = self.store().await?;
        store.facility(facility).await?;
        Ok(store)
    }

    /// Print a register as JSON (as stored) or as a table of `headers`, a row per item.
    pub fn print_list<T: serde::Serialize>(
        &self,
        items: &[T],
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Json => output::json(&items),
            Format::Table => {
                let rows: Vec<Vec<String>> = items.iter().map(row).collect();
                print!("{}", hygie_report::table(headers, &rows));
                Ok(())
            }
            f => Err(output::unsupported(f, "table or json")),
        }
    }

    /// Print what a command did: `value` as JSON, or its sentence in the reader's language.
    pub fn print_outcome<T: serde::Serialize>(
        &self,
        value: &T,
        text: hygie_core::Localized,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Json => output::json(value),
            _ => {
                println!("{}", text.get(self.lang));
                Ok(())
            }
        }
    }

    /// Where the server's own files (the key sealing TOTP seeds) live: the data directory, or the
    /// default one when the store is a database URL.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    pub fn database_label(&self) -> String {
        hygie_store::redact(&self.database_url)
    }
}

/// Where the sealing key file is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealingKey {
    /// Named by `--secret-key-file` / `HYGIE_SECRET_KEY_FILE`: it must exist.
    Named(PathBuf),
    /// The default place, created on the first start.
    Default(PathBuf),
    /// The data directory, where versions before this one created it: still read, with a
    /// warning to move it to `default`.
    Legacy { legacy: PathBuf, default: PathBuf },
}

impl SealingKey {
    pub fn path(&self) -> &Path {
        match self {
            SealingKey::Named(p) | SealingKey::Default(p) => p,
            SealingKey::Legacy { legacy, .. } => legacy,
        }
    }
}

/// The sealing key's default file, apart from the data directory so that a copy of the data
/// (or of its backups) does not carry the key of the seeds it holds:
/// `$XDG_CONFIG_HOME/hygie/secret.key`, else `~/.config/hygie/secret.key`, else (no home, a
/// service account) `/etc/hygie/secret.key`.
pub fn default_key_file() -> PathBuf {
    let dir = match (
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    ) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x).join("hygie"),
        (_, Some(h)) if !h.is_empty() => PathBuf::from(h).join(".config/hygie"),
        _ => PathBuf::from("/etc/hygie"),
    };
    dir.join("secret.key")
}

fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(x).join("hygie");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/hygie"),
        None => PathBuf::from("hygie-data"),
    }
}

/// The catalogue compiled into this binary.
pub fn catalog() -> anyhow::Result<Catalog> {
    Ok(hygie_catalog::bundled()?)
}

pub async fn init(ctx: &Ctx) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    let c = catalog()?;
    let facilities = store.facilities(None).await?.len();
    match ctx.format {
        Format::Json => crate::output::json(&serde_json::json!({
            "database": ctx.database_label(), "catalog_version": c.version, "measures": c.measures.len(), "facilities": facilities,
        }))?,
        _ => println!(
            "Store ready at {} — catalogue {} ({} measures), {} facilities.",
            ctx.database_label(),
            c.version,
            c.measures.len(),
            facilities
        ),
    }
    Ok(crate::exit::OK)
}

/// Parse `--as-of`, defaulting to today (France's calendar).
pub fn as_of(s: Option<&str>) -> anyhow::Result<jiff::civil::Date> {
    match s {
        Some(s) => Ok(hygie_core::parse_date("as-of", s)?),
        None => {
            let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
            Ok(jiff::Timestamp::now().to_zoned(tz).date())
        }
    }
}

/// A secret read from a file named by `flag` (its first line, without its line end; spaces are
/// kept, a password may have them; `what_fr` names it in French): unreadable or empty is
/// invalid input. Every copy is zeroed when dropped.
pub(crate) fn secret_file(
    flag: &str,
    what_fr: &str,
    p: &std::path::Path,
) -> anyhow::Result<secrecy::SecretString> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(p).map_err(|e| {
        crate::exit::invalid(format!(
            "{flag} {}: {e} / {what_fr} est illisible",
            p.display()
        ))
    })?);
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(crate::exit::invalid(format!(
            "{flag} {}: empty / {what_fr} est vide",
            p.display()
        )));
    }
    Ok(secrecy::SecretString::from(line.to_owned()))
}
