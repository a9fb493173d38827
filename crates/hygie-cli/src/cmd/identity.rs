//! `hygie identity`: this instance's federation signing key (Ed25519). The private key is a
//! 0600 file in the data directory (`identity.key`), created on first use, never in the
//! database and never printed; what is shown is the public key and its fingerprint. `rotate`
//! makes a new key and a statement signed by the old one (`hygie_sync::Rotation`), carried by
//! the next packages until a push is acknowledged; the old private key is kept until then.
//! `hygie serve --sync-to` reads the key file again before each push (`current`).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_sync::{Identity, Rotation};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// The public key (64 hexadecimal digits) and its fingerprint, to give the regional agency
    /// (`hygie region enrol`); the key is created on first use.
    Show,
    /// Make a new signing key and a statement, signed by the old key, that hands over to it; the
    /// next package carries the statement and the region moves the enrolment to the new key.
    /// The old private key is kept (`identity.old.key`) until a push is acknowledged with it.
    Rotate,
}

/// The key file: `identity.key` in the data directory.
pub fn key_file(ctx: &Ctx) -> PathBuf {
    ctx.data_dir().join("identity.key")
}

/// This instance's signing key, created (0600, never overwritten) when there is none.
pub fn load_or_create(ctx: &Ctx) -> anyhow::Result<Identity> {
    ctx.prepare_data_dir()?;
    let path = key_file(ctx);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create / impossible de créer {}", dir.display()))?;
    }
    let key = hygie_web::seal::SecretKey::load_or_create(&path)
        .context("the federation signing key / la clé de signature de la fédération")?;
    Ok(Identity::from_seed(key.expose_seed()))
}

/// The signing key as the data directory `dir` holds it now: `hygie serve --sync-to` reads it
/// before each push, so a key rotated while it runs signs the next package (with the rotation
/// statement). Refused while a rotation is half made (the old key set aside, its statement not
/// written yet), so no package goes out signed by a key the region cannot tie to the old one.
pub fn current(dir: &Path) -> anyhow::Result<Identity> {
    if old_key_file(dir).exists() && !rotation_file(dir).exists() {
        anyhow::bail!(
            "a key rotation is under way (no statement yet): push later / un changement de clé est en cours : envoyer plus tard"
        );
    }
    let key = hygie_web::seal::SecretKey::load(&dir.join("identity.key"))
        .context("the federation signing key / la clé de signature de la fédération")?;
    Ok(Identity::from_seed(key.expose_seed()))
}

/// The old key, kept while a rotation is not acknowledged by the region.
fn old_key_file(dir: &Path) -> PathBuf {
    dir.join("identity.old.key")
}

/// The rotation statement the next packages carry until the region acknowledges one.
fn rotation_file(dir: &Path) -> PathBuf {
    dir.join("identity.rotation.json")
}

/// The rotation not yet acknowledged by the region, if any.
pub fn pending_rotation(dir: &Path) -> anyhow::Result<Option<Rotation>> {
    let path = rotation_file(dir);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path)
        .with_context(|| format!("cannot read / impossible de lire {}", path.display()))?;
    let r: Rotation = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{}: not a rotation statement / déclaration illisible",
            path.display()
        )
    })?;
    Ok(Some(r))
}

/// The region acknowledged a package carrying the rotation: the old private key and the
/// statement are no longer needed.
pub fn finish_rotation(dir: &Path) -> anyhow::Result<()> {
    for p in [old_key_file(dir), rotation_file(dir)] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| {
                format!("cannot remove / impossible de supprimer {}", p.display())
            })?;
        }
    }
    Ok(())
}

async fn rotate(ctx: &Ctx) -> anyhow::Result<u8> {
    let dir = ctx.data_dir();
    if rotation_file(&dir).exists() {
        return Err(exit::invalid(
            "a key rotation is not acknowledged by the region yet: push first / un changement de clé n'est pas encore acquitté par la région : envoyer d'abord",
        ));
    }
    let old = load_or_create(ctx)?;
    std::fs::rename(key_file(ctx), old_key_file(&dir))
        .context("keeping the old key / conservation de l'ancienne clé")?;
    let new = load_or_create(ctx)?;
    let statement = Rotation::sign(&old, &new.public_key(), jiff::Timestamp::now())?;
    let tmp = rotation_file(&dir).with_extension("partial");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&statement)?)
        .and_then(|()| std::fs::rename(&tmp, rotation_file(&dir)))
        .context("the rotation statement / la déclaration de changement de clé")?;
    let (o, n) = (old.public_key(), new.public_key());
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "old_fingerprint": o.fingerprint(), "public_key": n.hex(), "fingerprint": n.fingerprint(),
            "rotation": statement,
        }))?,
        _ => println!(
            "{}",
            match ctx.lang {
                hygie_core::Lang::En => format!(
                    "New key {} replaces {}: the next package carries the change, signed by the old key.",
                    n.fingerprint(),
                    o.fingerprint()
                ),
                hygie_core::Lang::Fr => format!(
                    "La nouvelle clé {} remplace {} : le prochain paquet porte le changement, signé par l'ancienne clé.",
                    n.fingerprint(),
                    o.fingerprint()
                ),
            }
        ),
    }
    Ok(exit::OK)
}

pub async fn run(ctx: &Ctx, cmd: IdentityCmd) -> anyhow::Result<u8> {
    if let IdentityCmd::Rotate = cmd {
        return rotate(ctx).await;
    }
    let id = load_or_create(ctx)?;
    let pk = id.public_key();
    match ctx.format {
        Format::Json => output::json(&serde_json::json!({
            "public_key": pk.hex(),
            "public_key_encoding": "hex",
            "algorithm": "ed25519",
            "fingerprint": pk.fingerprint(),
            "key_file": key_file(ctx).display().to_string(),
        }))?,
        Format::Table => {
            let (pk_label, fp_label) = match ctx.lang {
                hygie_core::Lang::En => ("Public key (Ed25519, hex)", "Fingerprint"),
                hygie_core::Lang::Fr => ("Clé publique (Ed25519, hex)", "Empreinte"),
            };
            println!("{pk_label}: {}", pk.hex());
            println!("{fp_label}: {}", pk.fingerprint());
        }
        f => return Err(output::unsupported(f, "table or json")),
    }
    Ok(exit::OK)
}
