//! `hygie backup`, `hygie backup verify`, `hygie backup new-key` and `hygie restore`: glue over
//! `hygie_store::backup`, which owns the snapshot, the format, the encryption and the import.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::{Args, Subcommand};
use hygie_core::{Lang, Localized};
use hygie_store::backup::{
    BackupError, BackupKey, BlobCheck, Checked, Manifest, Problem, write_backup,
};
use hygie_store::{Actor, JournalCheck};
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    cmd: Option<BackupCmd>,
    /// The archive to write; it must not exist (written beside it, then renamed, mode 0600).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Encrypt the archive to this key file (64 hexadecimal digits, mode 0600; see `new-key`).
    #[arg(long, value_name = "KEYFILE")]
    encrypt_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BackupCmd {
    /// Check an archive without restoring it: format, every checksum, the key, the journal's
    /// chain and every evidence file's SHA-256. Exit 2 if the archive is damaged, 5 if what it
    /// holds is (a broken journal chain, an evidence file that does not match its hash).
    Verify {
        file: PathBuf,
        /// The key file the archive is encrypted to.
        #[arg(long, value_name = "KEYFILE")]
        encrypt_key: Option<PathBuf>,
    },
    /// Create a random key file for --encrypt-key (mode 0600; never overwrites a file). Keep a
    /// copy apart from the archives: an encrypted archive cannot be restored without it.
    NewKey {
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The archive written by `hygie backup`.
    file: PathBuf,
    /// The key file the archive is encrypted to.
    #[arg(long, value_name = "KEYFILE")]
    encrypt_key: Option<PathBuf>,
}

fn key(path: Option<&Path>) -> Result<Option<BackupKey>, BackupError> {
    path.map(BackupKey::load).transpose()
}

fn say(lang: Lang, en: String, fr: String) {
    println!("{}", Localized::new(en, fr).get(lang));
}

/// Why the web's key is not in the archive and where it goes: said by every command here.
fn sealing_key_note(lang: Lang, key_file: &Path) -> String {
    let k = key_file.display();
    Localized::new(
        format!(
            "Not in the archive, on purpose: the web's sealing key ({k}). An archive that carried it would unseal the users' TOTP seeds for whoever holds the archive. Keep a copy of it apart from the archives (a safe, another medium); after a restore, put it back as {k} (mode 0600) before `hygie serve`, or every second factor must be enrolled again."
        ),
        format!(
            "Absente de l'archive, volontairement : la clé de scellement du web ({k}). Une archive qui la contiendrait descellerait les graines TOTP des utilisateurs pour quiconque détient l'archive. Gardez-en une copie à part des archives (coffre, autre support) ; après une restauration, remettez-la en {k} (mode 0600) avant `hygie serve`, sinon chaque second facteur devra être enrôlé de nouveau."
        ),
    )
    .get(lang)
    .to_owned()
}

pub async fn backup(ctx: &Ctx, args: BackupArgs) -> anyhow::Result<u8> {
    match args.cmd {
        Some(BackupCmd::Verify { file, encrypt_key }) => verify(ctx, &file, encrypt_key.as_deref()),
        Some(BackupCmd::NewKey { output }) => new_key(ctx, &output),
        None => {
            let Some(output) = args.output else {
                return Err(exit::invalid(
                    "give the archive to write with -o FILE / indiquez l'archive à écrire avec -o FICHIER",
                ));
            };
            // Every input is read before the store is opened.
            let key = key(args.encrypt_key.as_deref())?;
            let dir = output.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(d) = dir.filter(|d| !d.is_dir()) {
                return Err(exit::invalid(format!(
                    "{}: no such folder / dossier inexistant",
                    d.display()
                )));
            }
            let store = ctx.existing_store().await?;
            let s = write_backup(&store, &output, key.as_ref()).await;
            store.close().await;
            let s = s?;
            let sealing = ctx.sealing_key_file();
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "file": s.path,
                    "bytes": s.bytes,
                    "sha256": s.sha256,
                    "encrypted": s.encrypted,
                    "key_id": s.key_id,
                    "manifest": s.manifest,
                    "sealing_key_included": false,
                    "sealing_key": sealing,
                }))?,
                Format::Table => {
                    let m = &s.manifest;
                    say(
                        ctx.lang,
                        format!(
                            "Backup written: {} ({} bytes, {}).",
                            s.path.display(),
                            s.bytes,
                            s.key_id
                                .as_ref()
                                .map_or("not encrypted".into(), |k| format!(
                                    "encrypted to key {k}"
                                ))
                        ),
                        format!(
                            "Sauvegarde écrite : {} ({} octets, {}).",
                            s.path.display(),
                            s.bytes,
                            s.key_id.as_ref().map_or("non chiffrée".into(), |k| format!(
                                "chiffrée pour la clé {k}"
                            ))
                        ),
                    );
                    say(
                        ctx.lang,
                        format!(
                            "SHA-256 of the file (record it with the archive): {}",
                            s.sha256
                        ),
                        format!(
                            "SHA-256 du fichier (à consigner avec l'archive) : {}",
                            s.sha256
                        ),
                    );
                    snapshot_lines(ctx.lang, m);
                    println!("{}", sealing_key_note(ctx.lang, &sealing));
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
    }
}

/// What the manifest says: the snapshot's instant, origin and size.
fn snapshot_lines(lang: Lang, m: &Manifest) {
    let short = |h: &str| h.chars().take(12).collect::<String>();
    say(
        lang,
        format!(
            "Snapshot of {} (Hygie {}, {}, schema {}): journal up to entry {} (hash {}), {} tables, {} rows, {} evidence files.",
            m.created_at,
            m.hygie_version,
            m.backend,
            m.schema_version,
            m.journal_head.seq,
            short(&m.journal_head.hash),
            m.tables.len(),
            m.rows(),
            m.rows_of("evidence_blobs")
        ),
        format!(
            "Instantané du {} (Hygie {}, {}, schéma {}) : journal jusqu'à l'entrée {} (empreinte {}), {} tables, {} lignes, {} fichiers de preuve.",
            m.created_at,
            m.hygie_version,
            m.backend,
            m.schema_version,
            m.journal_head.seq,
            short(&m.journal_head.hash),
            m.tables.len(),
            m.rows(),
            m.rows_of("evidence_blobs")
        ),
    );
}

fn tables_table(lang: Lang, m: &Manifest) -> String {
    let rows: Vec<Vec<String>> = m
        .tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.rows.to_string(),
                t.sha256.chars().take(16).collect(),
            ]
        })
        .collect();
    let headers = match lang {
        Lang::Fr => ["Table", "Lignes", "SHA-256"],
        Lang::En => ["Table", "Rows", "SHA-256"],
    };
    hygie_report::table(&headers, &rows)
}

fn journal_json(j: &JournalCheck) -> serde_json::Value {
    match j {
        JournalCheck::Intact { entries } => serde_json::json!({"intact": true, "entries": entries}),
        JournalCheck::Broken(b) => serde_json::json!({"intact": false, "problem": b.to_string()}),
    }
}

/// The journal and evidence lines; whether both are sound.
fn findings(lang: Lang, journal: &JournalCheck, blobs: &BlobCheck) -> bool {
    match journal {
        JournalCheck::Intact { entries } => say(
            lang,
            format!("Journal intact: {entries} entries, every hash and link verified."),
            format!(
                "Journal intact : {entries} entrées, chaque empreinte et chaque lien vérifiés."
            ),
        ),
        JournalCheck::Broken(b) => say(
            lang,
            format!("Journal BROKEN: {b}"),
            format!("Journal ROMPU : {b}"),
        ),
    }
    if blobs.mismatched.is_empty() {
        say(
            lang,
            format!(
                "Evidence files: {} ({} bytes), each matches its SHA-256.",
                blobs.files, blobs.bytes
            ),
            format!(
                "Fichiers de preuve : {} ({} octets), chacun correspond à son SHA-256.",
                blobs.files, blobs.bytes
            ),
        );
    } else {
        say(
            lang,
            format!(
                "Evidence files: {} of {} do NOT match their SHA-256: {}",
                blobs.mismatched.len(),
                blobs.files,
                blobs.mismatched.join(", ")
            ),
            format!(
                "Fichiers de preuve : {} sur {} ne correspondent PAS à leur SHA-256 : {}",
                blobs.mismatched.len(),
                blobs.files,
                blobs.mismatched.join(", ")
            ),
        );
    }
    matches!(journal, JournalCheck::Intact { .. }) && blobs.mismatched.is_empty()
}

fn verify(ctx: &Ctx, file: &Path, key_file: Option<&Path>) -> anyhow::Result<u8> {
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    let key = key(key_file)?;
    let r = Checked::verify(file, key.as_ref())?;
    let sound = matches!(r.journal, JournalCheck::Intact { .. }) && r.blobs.mismatched.is_empty();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "file": file,
            "sound": sound,
            "encrypted": r.encrypted,
            "manifest": r.manifest,
            "journal": journal_json(&r.journal),
            "evidence_files": r.blobs,
        }))?,
        _ => {
            say(
                ctx.lang,
                format!(
                    "Archive {}: format, checksums{} verified.",
                    file.display(),
                    if r.encrypted { " and key" } else { "" }
                ),
                format!(
                    "Archive {} : format, sommes de contrôle{} vérifiés.",
                    file.display(),
                    if r.encrypted { " et clé" } else { "" }
                ),
            );
            snapshot_lines(ctx.lang, &r.manifest);
            print!("{}", tables_table(ctx.lang, &r.manifest));
            findings(ctx.lang, &r.journal, &r.blobs);
        }
    }
    Ok(if sound { exit::OK } else { exit::FINDINGS })
}

fn new_key(ctx: &Ctx, output: &Path) -> anyhow::Result<u8> {
    let k = BackupKey::create(output)?;
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({"file": output, "key_id": k.id()}))?,
        _ => say(
            ctx.lang,
            format!(
                "Key {} written to {} (mode 0600). Keep a copy apart from the archives: an archive encrypted to it cannot be restored without it.",
                k.id(),
                output.display()
            ),
            format!(
                "Clé {} écrite dans {} (mode 0600). Gardez-en une copie à part des archives : une archive chiffrée pour elle ne peut être restaurée sans elle.",
                k.id(),
                output.display()
            ),
        ),
    }
    Ok(exit::OK)
}

pub async fn restore(ctx: &Ctx, args: RestoreArgs) -> anyhow::Result<u8> {
    if !matches!(ctx.format, Format::Table | Format::Json) {
        return Err(output::unsupported(ctx.format, "table or json"));
    }
    let key = key(args.encrypt_key.as_deref())?;
    // The whole archive is checked before the target is touched (even created).
    let checked = Checked::check(&args.file, key.as_ref())?;
    ctx.prepare_data_dir()?;
    let r = checked.restore(ctx.database_url(), &Actor::cli()).await?;
    let sound = matches!(r.journal, JournalCheck::Intact { .. }) && r.blobs.mismatched.is_empty();
    let sealing = ctx.sealing_key_file();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "archive": args.file,
            "target": ctx.database_label(),
            "sound": sound,
            "encrypted": r.encrypted,
            "manifest": r.manifest,
            "restore_entry": r.restore_entry,
            "journal": journal_json(&r.journal),
            "evidence_files": r.blobs,
            "sealing_key": { "path": sealing, "present": sealing.exists() },
        }))?,
        _ => {
            let m = &r.manifest;
            say(
                ctx.lang,
                format!(
                    "Restored {} into {}: {} tables, {} rows (journal entry {} records the restore).",
                    args.file.display(),
                    ctx.database_label(),
                    m.tables.len(),
                    m.rows(),
                    r.restore_entry
                ),
                format!(
                    "{} restaurée dans {} : {} tables, {} lignes (l'entrée de journal {} consigne la restauration).",
                    args.file.display(),
                    ctx.database_label(),
                    m.tables.len(),
                    m.rows(),
                    r.restore_entry
                ),
            );
            snapshot_lines(ctx.lang, m);
            print!("{}", tables_table(ctx.lang, m));
            findings(ctx.lang, &r.journal, &r.blobs);
            if sealing.exists() {
                say(
                    ctx.lang,
                    format!(
                        "A sealing key is at {}: it must be the original installation's, or second factors will not open.",
                        sealing.display()
                    ),
                    format!(
                        "Une clé de scellement se trouve en {} : ce doit être celle de l'installation d'origine, sinon les seconds facteurs ne s'ouvriront pas.",
                        sealing.display()
                    ),
                );
            } else {
                println!("{}", sealing_key_note(ctx.lang, &sealing));
            }
        }
    }
    Ok(if sound { exit::OK } else { exit::FINDINGS })
}

/// The error when the data directory holds no store to back up.
pub fn no_store(dir: &Path) -> BackupError {
    BackupError::new(
        Problem::NoStore,
        format!(
            "no Hygie store in {} (hygie.sqlite is missing): nothing to back up",
            dir.display()
        ),
        format!(
            "aucune base Hygie dans {} (hygie.sqlite est absent) : rien à sauvegarder",
            dir.display()
        ),
    )
}
