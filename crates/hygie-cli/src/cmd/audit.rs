//! `hygie audit ...`: the automated audits of a facility's systems. Each audit records a check
//! run for the facility, which `hygie status` turns into verified or failing measures.

use super::Ctx;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Password quality from NT hashes (pwdump/secretsdump): empty, LM, user-name, default
    /// computer, shared, dictionary, breached and reused passwords. Never prints a hash or a
    /// password: findings name accounts only.
    Passwords(super::audit_passwords::PasswordsArgs),
}

pub async fn run(ctx: &Ctx, cmd: AuditCmd) -> anyhow::Result<u8> {
    match cmd {
        AuditCmd::Passwords(a) => super::audit_passwords::passwords(ctx, a).await,
    }
}
