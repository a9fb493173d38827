//! `hygie audit ...`: the automated audits of a facility's systems. Each audit records a check
//! run for the facility, which `hygie status` turns into verified or failing measures.
//! One module per audit source.

use super::Ctx;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Active Directory over LDAPS/StartTLS, or an LDIF export (ANSSI control points, PingCastle-like rules).
    Ad(super::audit_ad::AuditAdArgs),
    /// Password quality from NT hashes (pwdump/secretsdump): empty, LM, user-name, default
    /// computer, shared, dictionary, breached and reused passwords. Never prints a hash or a
    /// password: findings name accounts only.
    Passwords(super::audit_passwords::PasswordsArgs),
    /// Audits from the facility's own exports: backups, antivirus, patching, network, wifi, mfa.
    #[command(flatten)]
    Collect(super::audit_collect::CollectCmd),
}

pub async fn run(ctx: &Ctx, cmd: AuditCmd) -> anyhow::Result<u8> {
    match cmd {
        AuditCmd::Ad(a) => super::audit_ad::run(ctx, a).await,
        AuditCmd::Passwords(a) => super::audit_passwords::passwords(ctx, a).await,
        AuditCmd::Collect(c) => super::audit_collect::run(ctx, c).await,
    }
}
