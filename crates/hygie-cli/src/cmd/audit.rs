//! `hygie audit ...`: automated audits. One module per audit source.

use super::Ctx;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Active Directory over LDAPS/StartTLS, or an LDIF export (ANSSI control points, PingCastle-like rules).
    Ad(super::audit_ad::AuditAdArgs),
    /// Audits from the facility's own exports: backups, antivirus, patching, network, wifi, mfa.
    #[command(flatten)]
    Collect(super::audit_collect::CollectCmd),
}

pub async fn run(ctx: &Ctx, c: AuditCmd) -> anyhow::Result<u8> {
    match c {
        AuditCmd::Ad(a) => super::audit_ad::run(ctx, a).await,
        AuditCmd::Collect(c) => super::audit_collect::run(ctx, c).await,
    }
}
