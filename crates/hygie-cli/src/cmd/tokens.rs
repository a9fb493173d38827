//! `hygie tokens`: API tokens made, listed and revoked by the server's administrator without
//! the web. A token is printed once at its creation (the store keeps its SHA-256 digest only),
//! for one facility, read or write, and expires (90 days unless `--expires-in` says otherwise,
//! 365 at most). Its creator is the `cli:` actor: no web account, so it is not revoked with one.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;
use hygie_core::Finess;
use hygie_report::t;
use hygie_store::{Actor, TokenAccess};

#[derive(Subcommand)]
pub enum TokensCmd {
    /// Create a token for one facility; it is printed once.
    Create {
        /// A name saying who uses it (an agent, a script).
        #[arg(long)]
        name: String,
        #[arg(long)]
        facility: String,
        /// read or write
        #[arg(long, default_value = "read")]
        access: String,
        /// Days until it expires (1 to 365).
        #[arg(long, value_name = "DAYS", default_value_t = hygie_store::TOKEN_DEFAULT_DAYS)]
        expires_in: i64,
    },
    /// Every token (or a facility's) with its creator, creation, end, last use; never a secret.
    List {
        #[arg(long)]
        facility: Option<String>,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
}

fn day(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d").to_string()
}

pub async fn run(ctx: &Ctx, cmd: TokensCmd) -> anyhow::Result<u8> {
    match cmd {
        TokensCmd::Create {
            name,
            facility,
            access,
            expires_in,
        } => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.len() > 80 {
                return Err(exit::invalid("--name: 1 to 80 characters"));
            }
            let f = Finess::parse(&facility)?;
            let access = TokenAccess::parse(&access)?;
            if !(1..=hygie_store::TOKEN_MAX_DAYS).contains(&expires_in) {
                return Err(exit::invalid(format!(
                    "--expires-in: {expires_in} is not between 1 and {} days",
                    hygie_store::TOKEN_MAX_DAYS
                )));
            }
            let secret = format!("hyg_{}", hygie_web::auth::random_hex(32)?);
            let store = ctx.facility_store(&f).await?;
            let tk = store
                .create_token(
                    &name,
                    &f,
                    access,
                    &hygie_web::auth::digest(&secret),
                    expires_in,
                    &Actor::cli(),
                )
                .await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({
                    "token": secret, "id": tk.id, "name": tk.name, "facility": tk.facility,
                    "access": tk.access, "expires_at": tk.expires_at,
                }))?,
                _ => {
                    println!(
                        "{} {} ({}, {}, {} {}):",
                        t(ctx.lang, "Token", "Jeton"),
                        tk.id,
                        tk.facility,
                        tk.access.as_str(),
                        t(ctx.lang, "expires", "expire le"),
                        day(tk.expires_at)
                    );
                    println!("\n    {secret}\n");
                    println!(
                        "{}",
                        t(
                            ctx.lang,
                            "Shown once: copy it now. Send it as 'Authorization: Bearer TOKEN'.",
                            "Affiché une seule fois : copiez-le maintenant. À envoyer en 'Authorization: Bearer JETON'."
                        )
                    );
                }
            }
            Ok(exit::OK)
        }
        TokensCmd::List { facility } => {
            let only = facility.as_deref().map(Finess::parse).transpose()?;
            let store = ctx.store().await?;
            let list = store
                .tokens(only.as_ref().map(std::slice::from_ref))
                .await?;
            ctx.print_list(
                &list,
                &[
                    "Id",
                    "Name",
                    "FINESS",
                    "Access",
                    "Created by",
                    "Created",
                    "Expires",
                    "Last used",
                    "Revoked",
                ],
                |tk| {
                    vec![
                        tk.id.clone(),
                        tk.name.clone(),
                        tk.facility.to_string(),
                        tk.access.as_str().into(),
                        tk.created_by.clone(),
                        day(tk.created_at),
                        day(tk.expires_at),
                        tk.last_used_at.map(day).unwrap_or_default(),
                        tk.revoked_at.map(day).unwrap_or_default(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        TokensCmd::Revoke { id } => {
            let store = ctx.store().await?;
            store.revoke_token(id.trim(), &Actor::cli()).await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({ "revoked": id.trim() }))?,
                _ => println!(
                    "{} {} {}",
                    t(ctx.lang, "Token", "Jeton"),
                    id.trim(),
                    t(ctx.lang, "revoked.", "révoqué.")
                ),
            }
            Ok(exit::OK)
        }
    }
}
