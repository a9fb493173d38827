//! `hygie sync`: federation packages (hygie-sync). `export` on a facility's instance writes a
//! signed package for the regional agency; `import` on the region's verifies it (signature,
//! format, content here; enrolment and sequence in the store's transaction) and stores it.
//! `hygie region enrol | revoke | keys` manage the keys the region accepts.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_core::{Finess, Lang};
use hygie_store::{Actor, StoreError};
use hygie_sync::{Package, PublicKey, Refusal};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum SyncCmd {
    /// Write a signed, compressed package of what the regional agency needs about a facility
    /// (a full snapshot: record, declarations, evidence metadata, check-run summaries,
    /// incident obligations), numbered after the last one exported.
    Export {
        /// FINESS number of the facility.
        #[arg(long)]
        facility: String,
        /// The package file to write.
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Re-issue package SEQ exactly as it was exported (same bytes, same hash), for a
        /// region that lost it; nothing new is numbered.
        #[arg(long, value_name = "SEQ")]
        resend: Option<u64>,
    },
    /// Verify and import a package (regional instance). A package that fails any check is
    /// refused as a whole, with the reason, and nothing is stored.
    Import {
        /// The package file.
        file: PathBuf,
    },
    /// Send to the regional instance over HTTPS what it has not acknowledged: the package
    /// already numbered (sent again byte for byte after a failure), then a new one if anything
    /// changed. The region imports each as `sync import` does; a package it already has is
    /// "already imported". Proxies: HTTPS_PROXY / NO_PROXY.
    Push {
        /// FINESS number of the facility.
        #[arg(long)]
        facility: String,
        /// The regional instance, https://HOST[:PORT][/BASE].
        #[arg(long, value_name = "URL")]
        to: String,
        /// File holding the push token the agency gave (`hygie region push-token`).
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// CA certificate(s) (PEM) the region's certificate must chain to; default: the
        /// system's.
        #[arg(long, value_name = "PEM")]
        ca_cert: Option<PathBuf>,
    },
}

/// Largest package file read: a year's package is tens of kilobytes.
const MAX_FILE: u64 = hygie_sync::MAX_UNPACKED;

pub async fn run(ctx: &Ctx, cmd: SyncCmd) -> anyhow::Result<u8> {
    match cmd {
        SyncCmd::Export {
            facility,
            output,
            resend: Some(seq),
        } => resend(ctx, &facility, seq, &output).await,
        SyncCmd::Export {
            facility,
            output,
            resend: None,
        } => export(ctx, &facility, &output).await,
        SyncCmd::Import { file } => import(ctx, &file).await,
        SyncCmd::Push {
            facility,
            to,
            token_file,
            ca_cert,
        } => {
            let dest = super::sync_push::Destination {
                to,
                token_file,
                ca_cert,
            };
            super::sync_push::run(ctx, &facility, &dest).await
        }
    }
}

/// The next package of a facility from its snapshot, sealed, and the digest of its facts (what
/// the next push compares to know whether anything changed).
pub(super) fn next_package(
    snap: hygie_store::SyncSnapshot,
    now: jiff::Timestamp,
    identity: &hygie_sync::Identity,
    rotation: Option<hygie_sync::Rotation>,
) -> anyhow::Result<(Package, hygie_sync::Sealed, String)> {
    let package = Package {
        finess: snap.facts.facility.finess.clone(),
        sequence: snap.last_export.as_ref().map_or(1, |l| l.sequence + 1),
        previous_hash: snap.last_export.map(|l| l.hash),
        journal_head: snap.journal_head,
        created_at: now.to_string(),
        catalog_version: super::catalog()?.version,
        facts: snap.facts,
        rotation,
    };
    let digest = package.facts.digest()?;
    let sealed = hygie_sync::seal(&package, identity)?;
    Ok((package, sealed, digest))
}

async fn export(ctx: &Ctx, facility: &str, to: &Path) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let identity = super::identity::load_or_create(ctx)?;
    let store = ctx.facility_store(&id).await?;
    let now = jiff::Timestamp::now();
    let snap = store.sync_snapshot(&id, now).await?;
    let rotation = super::identity::pending_rotation(&ctx.data_dir())?;
    let (package, sealed, digest) = next_package(snap, now, &identity, rotation)?;
    // Written aside, then numbered in the store, then put in place: a failed write takes no
    // number, so the region never waits for a package that does not exist.
    let tmp = to.with_extension("partial");
    std::fs::write(&tmp, &sealed.bytes)
        .with_context(|| format!("cannot write / impossible d'écrire {}", tmp.display()))?;
    if let Err(e) = store
        .record_export(&id, package.sequence, &sealed, &digest, &Actor::cli())
        .await
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    std::fs::rename(&tmp, to)
        .with_context(|| format!("cannot write / impossible d'écrire {}", to.display()))?;
    let report = serde_json::json!({
        "file": to.display().to_string(),
        "facility": id.to_string(),
        "sequence": package.sequence,
        "hash": sealed.hash,
        "previous_hash": package.previous_hash,
        "size": sealed.bytes.len(),
        "fingerprint": identity.public_key().fingerprint(),
    });
    match ctx.format {
        Format::Json => output::json(&report)?,
        _ => println!(
            "{}",
            match ctx.lang {
                Lang::En => format!(
                    "Package {} of {} written to {} ({} bytes, hash {}).",
                    package.sequence,
                    id,
                    to.display(),
                    sealed.bytes.len(),
                    sealed.hash
                ),
                Lang::Fr => format!(
                    "Paquet {} de {} écrit dans {} ({} octets, empreinte {}).",
                    package.sequence,
                    id,
                    to.display(),
                    sealed.bytes.len(),
                    sealed.hash
                ),
            }
        ),
    }
    Ok(exit::OK)
}

/// `sync export --resend SEQ`: the stored bytes of package SEQ, written again.
async fn resend(ctx: &Ctx, facility: &str, seq: u64, to: &Path) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let store = ctx.facility_store(&id).await?;
    let Some((hash, bytes)) = store.exported_package(&id, seq).await? else {
        return Err(StoreError::NotFound(format!(
            "package {seq} of facility {id} (never exported, or exported before packages were kept) / paquet {seq} de {id} introuvable"
        ))
        .into());
    };
    let tmp = to.with_extension("partial");
    std::fs::write(&tmp, &bytes)
        .and_then(|()| std::fs::rename(&tmp, to))
        .with_context(|| format!("cannot write / impossible d'écrire {}", to.display()))?;
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "file": to.display().to_string(),
            "facility": id.to_string(),
            "sequence": seq,
            "hash": hash,
            "size": bytes.len(),
            "resent": true,
        }))?,
        _ => println!(
            "{}",
            match ctx.lang {
                Lang::En => format!(
                    "Package {seq} of {id} re-issued to {} (hash {hash}, unchanged).",
                    to.display()
                ),
                Lang::Fr => format!(
                    "Paquet {seq} de {id} réémis dans {} (empreinte {hash}, inchangée).",
                    to.display()
                ),
            }
        ),
    }
    Ok(exit::OK)
}

async fn import(ctx: &Ctx, file: &Path) -> anyhow::Result<u8> {
    let refused = |r: Refusal| refuse(ctx, file, r);
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read / impossible de lire {}", file.display()))?
        .len();
    if size > MAX_FILE {
        return refused(Refusal::Unreadable(format!("{size} bytes")));
    }
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read / impossible de lire {}", file.display()))?;
    let (opened, checked) = match hygie_sync::receive(&bytes, None) {
        Ok(r) => r,
        Err(r) => return refused(r),
    };
    let store = ctx.store().await?;
    let report = match store
        .import_package(&opened, &checked, bytes.len() as u64)
        .await
    {
        Ok(r) => r,
        Err(StoreError::Refused(r)) => return refused(r),
        Err(e) => return Err(e.into()),
    };
    match ctx.format {
        Format::Json => output::json(&report)?,
        _ => println!(
            "{}",
            match (ctx.lang, report.outcome) {
                (Lang::En, "already_imported") => format!(
                    "Package {} of {} was already imported: nothing changed.",
                    report.sequence, report.facility
                ),
                (Lang::Fr, "already_imported") => format!(
                    "Le paquet {} de {} était déjà importé : rien n'a changé.",
                    report.sequence, report.facility
                ),
                (Lang::En, _) => format!(
                    "Package {} of {} imported: {} new declarations, {} new check runs, {} evidence items, {} obligations.",
                    report.sequence,
                    report.facility,
                    report.new_declarations,
                    report.new_check_runs,
                    report.evidence,
                    report.obligations
                ),
                (Lang::Fr, _) => format!(
                    "Paquet {} de {} importé : {} nouvelles déclarations, {} nouvelles exécutions de contrôles, {} justificatifs, {} obligations.",
                    report.sequence,
                    report.facility,
                    report.new_declarations,
                    report.new_check_runs,
                    report.evidence,
                    report.obligations
                ),
            }
        ),
    }
    Ok(exit::OK)
}

/// A refused package: with `--format json`, the refusal on stdout for scripts; the reason in
/// both languages on stderr, exit 2 (invalid input, nothing changed).
fn refuse(ctx: &Ctx, file: &Path, r: Refusal) -> anyhow::Result<u8> {
    if ctx.format == Format::Json {
        let mut answer = r.answer();
        answer["file"] = file.display().to_string().into();
        output::json(&answer)?;
    }
    Err(anyhow::Error::new(r).context(format!(
        "package refused / paquet refusé: {}",
        file.display()
    )))
}

/// `hygie region enrol`: accept `key` as the signing key of `facility`.
pub async fn enrol(ctx: &Ctx, facility: &str, key: &str) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let key = PublicKey::parse(key)?;
    let store = ctx.store().await?;
    store.enrol_key(&id, &key, &Actor::cli()).await?;
    let out = serde_json::json!({ "facility": id.to_string(), "public_key": key.hex(), "fingerprint": key.fingerprint() });
    match ctx.format {
        Format::Json => output::json(&out)?,
        _ => println!(
            "{}",
            match ctx.lang {
                Lang::En => format!("Key {} enrolled for {id}.", key.fingerprint()),
                Lang::Fr => format!("Clé {} enrôlée pour {id}.", key.fingerprint()),
            }
        ),
    }
    Ok(exit::OK)
}

/// `hygie region revoke`: refuse the packages signed by the facility's key from now on.
pub async fn revoke(ctx: &Ctx, facility: &str) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let store = ctx.store().await?;
    store.revoke_key(&id, &Actor::cli()).await?;
    match ctx.format {
        Format::Json => {
            output::json(&serde_json::json!({ "facility": id.to_string(), "revoked": true }))?
        }
        _ => println!(
            "{}",
            match ctx.lang {
                Lang::En => format!("The key of {id} is revoked."),
                Lang::Fr => format!("La clé de {id} est révoquée."),
            }
        ),
    }
    Ok(exit::OK)
}

/// `hygie region keys`: every enrolment, in force or revoked.
pub async fn keys(ctx: &Ctx) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    let keys = store.enrolled_keys().await?;
    let headers = match ctx.lang {
        Lang::En => ["Facility", "Fingerprint", "Enrolled", "Revoked"],
        Lang::Fr => ["Établissement", "Empreinte", "Enrôlée", "Révoquée"],
    };
    ctx.print_list(&keys, &headers, |k| {
        vec![
            k.facility.clone(),
            k.fingerprint.clone(),
            k.enrolled_at.to_string(),
            k.revoked_at.map(|t| t.to_string()).unwrap_or_default(),
        ]
    })?;
    Ok(exit::OK)
}
