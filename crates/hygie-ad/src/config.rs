//! Audit thresholds and exceptions, with defaults (read from TOML by [`crate::load`]).

use serde::{Deserialize, Serialize};

/// Configurable thresholds. Defaults follow the ANSSI control points and PingCastle where they
/// give a number, and the catalogue measures (IAM-04, IAM-05) otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// PWD-01/PWD-10: minimum password length required by the domain policy and every PSO.
    pub min_password_length: u32,
    /// PWD-06: minimum length of the effective policy of privileged accounts.
    pub privileged_min_password_length: u32,
    /// PWD-06: maximum password age of the effective policy of privileged accounts (days).
    pub privileged_policy_max_age_days: u32,
    /// PWD-04: passwords must expire within this many days.
    pub max_password_age_days: u32,
    /// PWD-05: lockout must be on and at most this many attempts.
    pub max_lockout_threshold: u32,
    /// PWD-07: minimum remembered passwords.
    pub min_password_history: u32,
    /// PWD-08: a fine-grained policy at least this long should exist for service accounts.
    pub service_password_min_length: u32,
    /// ACC-05/PRV-07: an enabled account without logon for this many days is dormant.
    pub inactive_days: u32,
    /// ACC-12: ratio of dormant among enabled users that fails (percent).
    pub dormant_ratio_percent: u32,
    /// ACC-06: a user password older than this is not renewed.
    pub user_password_max_age_days: u32,
    /// KRB-01: krbtgt password age limit.
    pub krbtgt_max_age_days: u32,
    /// PRV-05: privileged account password age limit.
    pub privileged_password_max_age_days: u32,
    /// INF-05: computer password age compared with its last logon.
    pub computer_password_max_age_days: u32,
    /// INF-09: domain controller password age limit.
    pub dc_password_max_age_days: u32,
    /// INF-06: computer without logon for this many days.
    pub inactive_computer_days: u32,
    /// INF-10: domain controller without logon for this many days.
    pub inactive_dc_days: u32,
    /// PRV-01: maximum privileged accounts.
    pub max_privileged_accounts: u32,
    /// PRV-01: maximum privileged accounts as a percentage of enabled users (only above 100 users).
    pub max_privileged_percent: u32,
    /// INF-01: highest acceptable ms-DS-MachineAccountQuota.
    pub max_machine_account_quota: u32,
    /// INF-19: days a LAPS password may be past its expiration before the computer is flagged.
    pub laps_grace_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_password_length: 12,
            privileged_min_password_length: 8,
            privileged_policy_max_age_days: 1095,
            max_password_age_days: 365,
            max_lockout_threshold: 10,
            min_password_history: 12,
            service_password_min_length: 20,
            inactive_days: 180,
            dormant_ratio_percent: 25,
            user_password_max_age_days: 365,
            krbtgt_max_age_days: 365,
            privileged_password_max_age_days: 1095,
            computer_password_max_age_days: 90,
            dc_password_max_age_days: 45,
            inactive_computer_days: 90,
            inactive_dc_days: 45,
            max_privileged_accounts: 50,
            max_privileged_percent: 10,
            max_machine_account_quota: 0,
            laps_grace_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    pub thresholds: Thresholds,
    /// sAMAccountNames excluded from account rules (documented exceptions).
    pub exempt_accounts: Vec<String>,
    /// Rule ids not evaluated at all (they then verify nothing).
    pub disabled_rules: Vec<String>,
}

impl AuditConfig {
    pub fn is_exempt(&self, name: &str) -> bool {
        self.exempt_accounts
            .iter()
            .any(|e| e.eq_ignore_ascii_case(name))
    }
}
