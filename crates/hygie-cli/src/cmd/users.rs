//! `hygie users`: the break-glass management of web accounts by the server's administrator,
//! straight on the store (no web, no session): list, add, disable, enable, delete,
//! reset-password, reset-mfa, unlock. The store applies the same rules as the web (the last
//! enabled administrator stays) and journals every change under the `cli:` actor.
//!
//! A password comes from `--password-file` or from a prompt without echo, never from an
//! argument (the process list and the shell history would keep it); it is hashed here and only
//! its Argon2id hash reaches the store.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_core::{Finess, Lang, Region};
use hygie_report::t;
use hygie_store::{Actor, Binding, NewUser, Role, User};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Every web account with its role, scope and status (active, disabled, locked).
    List,
    /// Create a web account. The password comes from --password-file or a prompt without echo.
    Add {
        #[arg(long)]
        username: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// administrator, ciso, dpo, it_staff, ambassador, auditor, regional_officer
        #[arg(long)]
        role: String,
        /// Bind to one region (regional roles and administrators).
        #[arg(long, conflicts_with = "facilities")]
        region: Option<String>,
        /// Bind to these facilities (FINESS numbers, comma-separated). Without --region or
        /// --facilities an administrator is bound to the whole installation.
        #[arg(long)]
        facilities: Option<String>,
        /// File holding the password (its first line); else it is asked without echo.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Refuse every login of a user; their sessions end and the API tokens they created are
    /// revoked.
    Disable { username: String },
    /// Let a disabled user log in again.
    Enable { username: String },
    /// Delete a user (the journal keeps the name). Needs --yes.
    Delete {
        username: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Set a temporary password (from --password-file or a prompt without echo): the user must
    /// choose another at the next login; their sessions end and the password lock is lifted.
    ResetPassword {
        username: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Forget the second factor (a lost phone): a new enrolment at the next login.
    ResetMfa { username: String },
    /// Lift the locks of the password and of the second factor.
    Unlock { username: String },
}

/// The password of `--password-file` (its first line, without the line end) or typed twice
/// at a prompt without echo; then the web's password policy.
fn new_password(file: Option<&Path>, username: &str, lang: Lang) -> anyhow::Result<String> {
    let password = match file {
        Some(p) => {
            let s = std::fs::read_to_string(p)
                .map_err(|e| exit::invalid(format!("password file {}: {e}", p.display())))?;
            s.lines().next().unwrap_or("").to_owned()
        }
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let first = rpassword::prompt_password("New password / nouveau mot de passe: ")
                .context("cannot read the password")?;
            let again = rpassword::prompt_password("Again / encore: ")
                .context("cannot read the password")?;
            if first != again {
                return Err(exit::invalid(t(
                    lang,
                    "the two passwords differ",
                    "les deux mots de passe diffèrent",
                )));
            }
            first
        }
        None => {
            return Err(exit::invalid(t(
                lang,
                "no terminal to ask the password on: give --password-file FILE",
                "aucun terminal pour demander le mot de passe : donnez --password-file FICHIER",
            )));
        }
    };
    hygie_web::auth::check_password(&password, username, None).map_err(|e| {
        exit::invalid(match lang {
            Lang::Fr => e.fr,
            Lang::En => e.en,
        })
    })?;
    Ok(password)
}

/// An Argon2id hash of a password (the only form the store receives).
fn hash(password: String) -> anyhow::Result<String> {
    Ok(hygie_web::auth::hash_password(&password)?)
}

fn binding(role: Role, region: Option<&str>, facilities: Option<&str>) -> anyhow::Result<Binding> {
    Ok(match (region, facilities) {
        (Some(r), _) => Binding::Region {
            region: Region::parse(r)?,
        },
        (None, Some(list)) => Binding::Facilities {
            facilities: list
                .split([',', ' ', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Finess::parse)
                .collect::<Result<_, _>>()?,
        },
        (None, None) if role == Role::Administrator => Binding::Installation,
        (None, None) => {
            return Err(exit::invalid(format!(
                "--region or --facilities: a {} is bound to a region or to facilities",
                role.as_str()
            )));
        }
    })
}

fn scope(b: &Binding) -> String {
    match b {
        Binding::Installation => "installation".into(),
        Binding::Region { region } => region.code().into(),
        Binding::Facilities { facilities } => facilities
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A user as `--format json` prints it: the record and its status.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    user: &'a User,
    status: &'static str,
}

impl<'a> Listed<'a> {
    fn of(user: &'a User) -> Listed<'a> {
        Listed {
            user,
            status: user.status(),
        }
    }
}

/// Print the user after a change: JSON, or one line saying what was done.
fn done(ctx: &Ctx, u: &User, en: &'static str, fr: &'static str) -> anyhow::Result<u8> {
    match ctx.format {
        Format::Json => output::json(&Listed::of(u))?,
        _ => println!("{} {}", u.username, t(ctx.lang, en, fr)),
    }
    Ok(exit::OK)
}

pub async fn run(ctx: &Ctx, cmd: UsersCmd) -> anyhow::Result<u8> {
    let actor = Actor::cli();
    match cmd {
        UsersCmd::List => {
            let store = ctx.store().await?;
            let users = store.users_within(&Binding::Installation).await?;
            let rows: Vec<Listed<'_>> = users.iter().map(Listed::of).collect();
            let lang = ctx.lang;
            ctx.print_list(
                &rows,
                &["Username", "Name", "Role", "Scope", "Status", "TOTP"],
                |l| {
                    let u = l.user;
                    let mut status = match l.status {
                        "disabled" => t(lang, "disabled", "désactivé"),
                        "locked" => t(lang, "locked until", "verrouillé jusqu'au"),
                        _ => t(lang, "active", "actif"),
                    }
                    .to_owned();
                    if let Some(l) = u.locked_until {
                        status.push_str(&format!(" {} UTC", l.strftime("%Y-%m-%d %H:%M")));
                    }
                    if u.must_change_password {
                        status.push_str(t(
                            lang,
                            ", temporary password",
                            ", mot de passe temporaire",
                        ));
                    }
                    vec![
                        u.username.clone(),
                        u.display_name.clone(),
                        u.role.as_str().into(),
                        scope(&u.binding),
                        status,
                        t(
                            lang,
                            if u.totp_enrolled { "yes" } else { "no" },
                            if u.totp_enrolled { "oui" } else { "non" },
                        )
                        .into(),
                    ]
                },
            )?;
            Ok(exit::OK)
        }
        UsersCmd::Add {
            username,
            name,
            role,
            region,
            facilities,
            password_file,
        } => {
            let role = Role::parse(&role)?;
            let binding = binding(role, region.as_deref(), facilities.as_deref())?;
            if name.trim().is_empty() {
                return Err(exit::invalid("--name must not be empty"));
            }
            let password = new_password(password_file.as_deref(), &username, ctx.lang)?;
            let u = NewUser {
                username: username.trim().to_owned(),
                display_name: name.trim().to_owned(),
                role,
                binding,
                password_hash: hash(password)?,
                lang: None,
            };
            let store = ctx.store().await?;
            let u = store.create_user(&u, &actor).await?;
            done(ctx, &u, "created.", "créé.")
        }
        UsersCmd::Disable { username } => {
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.disable_user(u.id, &actor).await?;
            let u = store.user(u.id).await?;
            done(
                ctx,
                &u,
                "disabled: sessions ended, API tokens revoked.",
                "désactivé : sessions fermées, jetons d'API révoqués.",
            )
        }
        UsersCmd::Enable { username } => {
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.enable_user(u.id, &actor).await?;
            let u = store.user(u.id).await?;
            done(ctx, &u, "enabled.", "activé.")
        }
        UsersCmd::Delete { username, yes } => {
            if !yes {
                return Err(exit::invalid(format!(
                    "{} {username}: {}",
                    t(ctx.lang, "delete", "supprimer"),
                    t(
                        ctx.lang,
                        "add --yes to confirm (this cannot be undone)",
                        "ajoutez --yes pour confirmer (c'est irréversible)"
                    )
                )));
            }
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.delete_user(u.id, &actor).await?;
            match ctx.format {
                Format::Json => output::json(&serde_json::json!({ "deleted": u.username }))?,
                _ => println!("{} {}", u.username, t(ctx.lang, "deleted.", "supprimé.")),
            }
            Ok(exit::OK)
        }
        UsersCmd::ResetPassword {
            username,
            password_file,
        } => {
            let password = new_password(password_file.as_deref(), &username, ctx.lang)?;
            let phc = hash(password)?;
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.reset_password(u.id, &phc, &actor).await?;
            let u = store.user(u.id).await?;
            done(
                ctx,
                &u,
                "has a temporary password: to change at the next login; sessions ended.",
                "a un mot de passe temporaire : à changer à la prochaine connexion ; sessions fermées.",
            )
        }
        UsersCmd::ResetMfa { username } => {
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.reset_totp(u.id, &actor).await?;
            let u = store.user(u.id).await?;
            done(
                ctx,
                &u,
                "has no second factor: a new enrolment at the next login; sessions ended.",
                "n'a plus de second facteur : nouvelle activation à la prochaine connexion ; sessions fermées.",
            )
        }
        UsersCmd::Unlock { username } => {
            let store = ctx.store().await?;
            let u = store.user_named(&username).await?;
            store.unlock_user(u.id, &actor).await?;
            let u = store.user(u.id).await?;
            done(ctx, &u, "unlocked.", "déverrouillé.")
        }
    }
}
