//! `hygie identity`: this instance's federation signing key (Ed25519). The private key is a
//! 0600 file in the data directory (`identity.key`), created on first use, never in the
//! database and never printed; what is shown is the public key and its fingerprint.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_sync::Identity;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// The public key (64 hexadecimal digits) and its fingerprint, to give the regional agency
    /// (`hygie region enrol`); the key is created on first use.
    Show,
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

pub async fn run(ctx: &Ctx, cmd: IdentityCmd) -> anyhow::Result<u8> {
    let IdentityCmd::Show = cmd;
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
