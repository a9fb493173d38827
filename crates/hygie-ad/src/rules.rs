//! The rule catalogue: each rule reads the snapshot and says pass or fail with the objects at
//! fault. Levels follow the ANSSI control points (1 = most critical); the severity derives from
//! the level. `IAM-10` (ANSSI level at least 3) is verified by every level 1 and 2 rule.

use crate::config::AuditConfig;
use crate::index::Index;
use crate::model::{Account, AccountKind, AdSnapshot, uac};
use crate::sd::{self, SecurityDescriptor};
use crate::sid::{Sid, well_known};
use crate::time::days_between;
use hygie_core::Severity;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    PasswordPolicy,
    Accounts,
    KerberosDelegation,
    Privileged,
    Infrastructure,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::PasswordPolicy,
        Category::Accounts,
        Category::KerberosDelegation,
        Category::Privileged,
        Category::Infrastructure,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PasswordPolicy => "password_policy",
            Category::Accounts => "accounts",
            Category::KerberosDelegation => "kerberos_delegation",
            Category::Privileged => "privileged",
            Category::Infrastructure => "infrastructure",
        }
    }
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            Category::PasswordPolicy => ("Password policy", "Politique de mots de passe"),
            Category::Accounts => ("Accounts", "Comptes"),
            Category::KerberosDelegation => ("Kerberos and delegation", "Kerberos et délégation"),
            Category::Privileged => ("Privileged accounts", "Comptes à privilèges"),
            Category::Infrastructure => ("Infrastructure", "Infrastructure"),
        }
    }
}

/// What one rule found.
#[derive(Debug, Clone, PartialEq)]
pub enum Eval {
    Pass,
    /// Objects at fault (names, never secrets) and a language-neutral detail (values, thresholds).
    Fail {
        objects: Vec<String>,
        detail: String,
    },
    /// The rule cannot be judged on this directory (e.g. a Windows-only mechanism on Samba).
    NotApplicable {
        reason: &'static str,
    },
}

pub struct Ctx<'a> {
    pub snap: &'a AdSnapshot,
    pub idx: &'a Index<'a>,
    pub cfg: &'a AuditConfig,
    pub as_of: Timestamp,
}

impl<'a> Ctx<'a> {
    fn t(&self) -> &crate::config::Thresholds {
        &self.cfg.thresholds
    }
    fn age(&self, t: Option<Timestamp>) -> Option<f64> {
        t.map(|t| days_between(t, self.as_of))
    }
    /// Audited accounts: not trust accounts, not exempt.
    fn accounts(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.snap
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind != AccountKind::Trust && !self.cfg.is_exempt(&a.name))
    }
    fn enabled(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.accounts().filter(|(_, a)| a.enabled())
    }
    fn enabled_users(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.enabled().filter(|(_, a)| {
            matches!(
                a.kind,
                AccountKind::User | AccountKind::ManagedServiceAccount
            )
        })
    }
    fn enabled_computers(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.enabled()
            .filter(|(_, a)| a.kind == AccountKind::Computer)
    }
    fn privileged(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.idx
            .privileged_people()
            .filter(|(_, a)| a.kind != AccountKind::Trust && !self.cfg.is_exempt(&a.name))
    }
    fn privileged_enabled(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.privileged().filter(|(_, a)| a.enabled())
    }
    fn is_krbtgt(&self, a: &Account) -> bool {
        a.rid() == Some(502) || a.name.eq_ignore_ascii_case("krbtgt")
    }
    /// Samba's `dns-<host>` service account, provisioned with a random password and an SPN.
    fn is_samba_dns(&self, a: &Account) -> bool {
        self.snap.is_samba && a.name.to_ascii_lowercase().starts_with("dns-")
    }
    fn dc_hostnames(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for a in self.snap.accounts.iter().filter(|a| a.is_dc()) {
            let short = a.name.trim_end_matches('$').to_ascii_lowercase();
            s.insert(format!("{short}.{}", self.snap.domain.dns_name()));
            s.insert(short);
        }
        s
    }
    /// Principals trusted on tier-0 objects: SYSTEM, Enterprise DCs, SELF, CREATOR OWNER,
    /// Administrators and the builtin operator groups (themselves audited as privileged), and the
    /// domain's admin, DC and key-admin groups.
    fn tier0(&self, sid: &Sid) -> bool {
        let text = sid.to_string();
        const TRUSTED: &[&str] = &[
            well_known::LOCAL_SYSTEM,
            well_known::ENTERPRISE_DCS,
            well_known::SELF,
            well_known::CREATOR_OWNER,
            "S-1-5-32-544",
            "S-1-5-32-548",
            "S-1-5-32-549",
            "S-1-5-32-550",
            "S-1-5-32-551",
        ];
        if TRUSTED.contains(&text.as_str()) {
            return true;
        }
        match (sid.parent(), self.idx.domain_sid()) {
            (Some(p), Some(d)) if &p == d => matches!(
                sid.rid(),
                Some(500 | 498 | 512 | 516 | 518 | 519 | 521 | 526 | 527)
            ),
            _ => false,
        }
    }
}

fn fail(objects: impl IntoIterator<Item = String>, detail: impl Into<String>) -> Eval {
    let mut v: Vec<String> = objects.into_iter().collect();
    v.sort();
    v.dedup();
    Eval::Fail {
        objects: v,
        detail: detail.into(),
    }
}

fn names<'a>(it: impl Iterator<Item = (usize, &'a Account)>) -> Vec<String> {
    it.map(|(_, a)| a.name.clone()).collect()
}

fn list_rule<'a>(it: impl Iterator<Item = (usize, &'a Account)>, detail: &str) -> Eval {
    let v = names(it);
    if v.is_empty() {
        Eval::Pass
    } else {
        fail(v, detail)
    }
}

pub struct RuleDef {
    pub id: &'static str,
    pub category: Category,
    /// ANSSI-style level of the control: 1 (critical) to 5.
    pub level: u8,
    pub anssi: Option<&'static str>,
    pub pingcastle: Option<&'static str>,
    pub measures: &'static [&'static str],
    pub title: (&'static str, &'static str),
    pub rationale: (&'static str, &'static str),
    pub remediation: (&'static str, &'static str),
    pub eval: fn(&Ctx<'_>) -> Eval,
}

impl RuleDef {
    pub fn severity(&self) -> Severity {
        match self.level {
            1 => Severity::Critical,
            2 => Severity::High,
            3 => Severity::Medium,
            4 => Severity::Low,
            _ => Severity::Info,
        }
    }
    /// Risk points a failure adds to its category (capped at 100 per category).
    pub fn points(&self) -> u32 {
        match self.level {
            1 => 30,
            2 => 20,
            3 => 10,
            4 => 5,
            _ => 1,
        }
    }
    /// Catalogue measures verified: the rule's own plus IAM-10 for levels 1 and 2.
    pub fn all_measures(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.measures.to_vec();
        if self.level <= 2 && !v.contains(&"IAM-10") {
            v.push("IAM-10");
        }
        v
    }
}

pub fn rule(id: &str) -> Option<&'static RuleDef> {
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

// ---------------------------------------------------------------------------------------------
// Rule functions

fn pwd01(c: &Ctx<'_>) -> Eval {
    let d = &c.snap.domain;
    if d.min_pwd_length < c.t().min_password_length {
        fail(
            [c.snap.domain.dns_name()],
            format!(
                "minPwdLength={} < {}",
                d.min_pwd_length,
                c.t().min_password_length
            ),
        )
    } else {
        Eval::Pass
    }
}
fn pwd02(c: &Ctx<'_>) -> Eval {
    if c.snap.domain.pwd_properties & 1 == 0 {
        fail(
            [c.snap.domain.dns_name()],
            "pwdProperties: DOMAIN_PASSWORD_COMPLEX not set",
        )
    } else {
        Eval::Pass
    }
}
fn pwd03(c: &Ctx<'_>) -> Eval {
    if c.snap.domain.pwd_properties & 0x10 != 0 {
        fail(
            [c.snap.domain.dns_name()],
            "pwdProperties: DOMAIN_PASSWORD_STORE_CLEARTEXT set",
        )
    } else {
        Eval::Pass
    }
}
fn pwd04(c: &Ctx<'_>) -> Eval {
    match c.snap.domain.max_pwd_age_days {
        None => fail([c.snap.domain.dns_name()], "maxPwdAge=never"),
        Some(d) if d > f64::from(c.t().max_password_age_days) => fail(
            [c.snap.domain.dns_name()],
            format!("maxPwdAge={d:.0}d > {}d", c.t().max_password_age_days),
        ),
        _ => Eval::Pass,
    }
}
fn pwd05(c: &Ctx<'_>) -> Eval {
    let l = c.snap.domain.lockout_threshold;
    if l == 0 || l > c.t().max_lockout_threshold {
        fail(
            [c.snap.domain.dns_name()],
            format!(
                "lockoutThreshold={l} (0 = never; max {})",
                c.t().max_lockout_threshold
            ),
        )
    } else {
        Eval::Pass
    }
}
/// The effective policy of an account: the PSO with the lowest precedence applied to the account
/// itself, else to one of its groups (nested), else the domain policy (MS-ADTS 3.1.1.5.6.5).
fn effective_policy(c: &Ctx<'_>, ai: usize) -> (u32, Option<f64>) {
    let a = &c.snap.accounts[ai];
    let mut direct: Vec<&crate::model::Pso> = Vec::new();
    let mut via_group: Vec<&crate::model::Pso> = Vec::new();
    for p in &c.snap.psos {
        for t in &p.applies_to {
            if t.eq_ignore_ascii_case(&a.dn) {
                direct.push(p);
            } else if let Some(gi) = c
                .snap
                .groups
                .iter()
                .position(|g| g.dn.eq_ignore_ascii_case(t))
                && c.idx.expand(gi).accounts.contains(&ai)
            {
                via_group.push(p);
            }
        }
    }
    let pick = |v: &[&crate::model::Pso]| {
        v.iter()
            .min_by_key(|p| p.precedence)
            .map(|p| (p.min_length, p.max_age_days))
    };
    pick(&direct)
        .or_else(|| pick(&via_group))
        .unwrap_or((c.snap.domain.min_pwd_length, c.snap.domain.max_pwd_age_days))
}
fn pwd06(c: &Ctx<'_>) -> Eval {
    let t = c.t();
    let bad = c.privileged_enabled().filter(|(i, _)| {
        let (len, age) = effective_policy(c, *i);
        len < t.privileged_min_password_length
            || age.is_none_or(|d| d > f64::from(t.privileged_policy_max_age_days))
    });
    list_rule(
        bad,
        &format!(
            "effective min length < {} or max age > {}d",
            t.privileged_min_password_length, t.privileged_policy_max_age_days
        ),
    )
}
fn pwd07(c: &Ctx<'_>) -> Eval {
    let h = c.snap.domain.pwd_history_length;
    if h < c.t().min_password_history {
        fail(
            [c.snap.domain.dns_name()],
            format!("pwdHistoryLength={h} < {}", c.t().min_password_history),
        )
    } else {
        Eval::Pass
    }
}
fn pwd08(c: &Ctx<'_>) -> Eval {
    if c.snap
        .psos
        .iter()
        .any(|p| p.min_length >= c.t().service_password_min_length)
    {
        Eval::Pass
    } else {
        fail(
            [c.snap.domain.dns_name()],
            format!(
                "no PSO with msDS-MinimumPasswordLength >= {}",
                c.t().service_password_min_length
            ),
        )
    }
}
fn pwd09(c: &Ctx<'_>) -> Eval {
    if c.snap.domain.smartcard_expire_passwords {
        return Eval::Pass;
    }
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| a.has(uac::SMARTCARD_REQUIRED)),
        "msDS-ExpirePasswordsOnSmartCardOnlyAccounts not TRUE",
    )
}
fn pwd10(c: &Ctx<'_>) -> Eval {
    let t = c.t();
    let bad: Vec<String> = c
        .snap
        .psos
        .iter()
        .filter(|p| p.min_length < t.min_password_length || p.reversible || !p.complexity)
        .map(|p| p.name.clone())
        .collect();
    if bad.is_empty() {
        Eval::Pass
    } else {
        fail(
            bad,
            format!(
                "min length < {}, reversible or no complexity",
                t.min_password_length
            ),
        )
    }
}

fn acc01(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.has(uac::PASSWD_NOTREQD)),
        "userAccountControl & PASSWD_NOTREQD",
    )
}
fn acc02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| a.has(uac::DONT_EXPIRE_PASSWORD)),
        "userAccountControl & DONT_EXPIRE_PASSWORD",
    )
}
fn acc03(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled()
            .filter(|(_, a)| a.has(uac::ENCRYPTED_TEXT_PWD_ALLOWED)),
        "userAccountControl & ENCRYPTED_TEXT_PWD_ALLOWED",
    )
}
fn acc04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.rid() == Some(501)),
        "Guest (RID 501) enabled",
    )
}
fn dormant<'a>(c: &'a Ctx<'a>) -> impl Iterator<Item = (usize, &'a Account)> + 'a {
    let limit = f64::from(c.t().inactive_days);
    c.enabled_users().filter(move |(_, a)| {
        !c.is_krbtgt(a) && c.age(a.last_activity()).is_some_and(|d| d > limit)
    })
}
fn acc05(c: &Ctx<'_>) -> Eval {
    list_rule(
        dormant(c),
        &format!("no logon for more than {} days", c.t().inactive_days),
    )
}
fn acc06(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().user_password_max_age_days);
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| !c.is_krbtgt(a) && c.age(a.pwd_last_set).is_some_and(|d| d > limit)),
        &format!(
            "pwdLastSet older than {} days",
            c.t().user_password_max_age_days
        ),
    )
}
fn default_primary(a: &Account) -> bool {
    match (a.kind, a.primary_group_id) {
        (_, None) => true,
        (AccountKind::Computer, Some(p)) if a.is_dc() => p == 516 || p == 521,
        (AccountKind::Computer | AccountKind::ManagedServiceAccount, Some(p)) => p == 515,
        (AccountKind::User, Some(p)) => {
            p == 513 || (p == 514 && a.rid() == Some(501)) || (p == 514 && !a.enabled())
        }
        (AccountKind::Trust, _) => true,
    }
}
fn acc07(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| !default_primary(a)),
        "non-default primaryGroupID",
    )
}
fn acc08(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| !a.sid_history.is_empty()),
        "sIDHistory populated",
    )
}
fn acc09(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| {
            a.has(uac::USE_DES_KEY_ONLY) || a.enctypes.is_some_and(|e| e & 0x3 != 0)
        }),
        "USE_DES_KEY_ONLY or DES in msDS-SupportedEncryptionTypes",
    )
}
fn acc10(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.password_attributes),
        "userPassword or unixUserPassword populated",
    )
}
fn acc11(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.primary_group_id
                .is_some_and(|p| p < 1000 && ![513, 514, 515, 516, 521].contains(&p))
        }),
        "primaryGroupID < 1000 outside 513/514/515/516/521",
    )
}
fn acc12(c: &Ctx<'_>) -> Eval {
    let total = c.enabled_users().filter(|(_, a)| !c.is_krbtgt(a)).count();
    let d = names(dormant(c));
    if total == 0 {
        return Eval::Pass;
    }
    let pct = d.len() as f64 * 100.0 / total as f64;
    if pct > f64::from(c.t().dormant_ratio_percent) {
        fail(
            d.clone(),
            format!(
                "{} dormant of {total} enabled users ({pct:.1}% > {}%)",
                d.len(),
                c.t().dormant_ratio_percent
            ),
        )
    } else {
        Eval::Pass
    }
}
fn acc13(c: &Ctx<'_>) -> Eval {
    let dom = c.idx.domain_sid().cloned();
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.sid_history.iter().any(|s| {
                s.parent() == dom
                    || s.rid().is_some_and(|r| r < 1000)
                    || s.subs.first() == Some(&32)
            })
        }),
        "sIDHistory with a same-domain or well-known SID",
    )
}

fn krb01(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().krbtgt_max_age_days);
    list_rule(
        c.snap.accounts.iter().enumerate().filter(|(_, a)| {
            a.rid() == Some(502)
                && c.age(a.pwd_last_set.or(a.when_created))
                    .is_some_and(|d| d > limit)
        }),
        &format!(
            "krbtgt password older than {} days",
            c.t().krbtgt_max_age_days
        ),
    )
}
fn krb02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.has(uac::DONT_REQ_PREAUTH)),
        "DONT_REQ_PREAUTH",
    )
}
fn krb03(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| a.has(uac::DONT_REQ_PREAUTH)),
        "privileged and DONT_REQ_PREAUTH",
    )
}
fn kerberoastable(c: &Ctx<'_>, a: &Account) -> bool {
    a.kind == AccountKind::User && !a.spns.is_empty() && !c.is_krbtgt(a) && !c.is_samba_dns(a)
}
fn krb04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| kerberoastable(c, a)),
        "user account with servicePrincipalName",
    )
}
fn krb05(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled().filter(|(_, a)| kerberoastable(c, a)),
        "privileged account with servicePrincipalName",
    )
}
fn krb06(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled()
            .filter(|(_, a)| kerberoastable(c, a) && a.enctypes.is_some_and(|e| e & 0x18 == 0)),
        "msDS-SupportedEncryptionTypes set without AES",
    )
}

fn dlg01(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts()
            .filter(|(_, a)| a.has(uac::TRUSTED_FOR_DELEGATION) && !a.is_dc()),
        "TRUSTED_FOR_DELEGATION on a non-DC",
    )
}
fn dlg02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.has(uac::TRUSTED_TO_AUTH_FOR_DELEGATION) && !a.is_dc() && !a.delegate_to.is_empty()
        }),
        "TRUSTED_TO_AUTH_FOR_DELEGATION with msDS-AllowedToDelegateTo",
    )
}
fn delegates_to_dc(dcs: &BTreeSet<String>, a: &Account) -> bool {
    a.delegate_to.iter().any(|spn| {
        let host = spn
            .split('/')
            .nth(1)
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        dcs.contains(&host)
    })
}
fn dlg03(c: &Ctx<'_>) -> Eval {
    let mut out = Vec::new();
    for (i, a) in c.accounts() {
        if !a.rbcd_principals.is_empty() && (a.is_dc() || c.idx.is_privileged(i)) {
            for p in &a.rbcd_principals {
                out.push(format!("{} <- {}", a.name, c.idx.sid_name(p)));
            }
        }
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(
            out,
            "msDS-AllowedToActOnBehalfOfOtherIdentity on a DC or privileged account",
        )
    }
}
fn dlg04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(i, a)| !a.has(uac::NOT_DELEGATED) && !c.idx.protected_users.contains(i)),
        "privileged, not NOT_DELEGATED and not in Protected Users",
    )
}
fn dlg05(c: &Ctx<'_>) -> Eval {
    let dcs = c.dc_hostnames();
    list_rule(
        c.accounts()
            .filter(|(_, a)| !a.delegate_to.is_empty() && !a.is_dc() && delegates_to_dc(&dcs, a)),
        "msDS-AllowedToDelegateTo names a DC service",
    )
}
fn dlg06(c: &Ctx<'_>) -> Eval {
    let dcs = c.dc_hostnames();
    list_rule(
        c.accounts().filter(|(_, a)| {
            !a.is_dc() && a.has(uac::TRUSTED_TO_AUTH_FOR_DELEGATION) && delegates_to_dc(&dcs, a)
        }),
        "protocol transition to a DC service",
    )
}

fn prv01(c: &Ctx<'_>) -> Eval {
    let n = c.privileged_enabled().count();
    let users = c.enabled_users().count();
    let t = c.t();
    let too_many = n > t.max_privileged_accounts as usize
        || (users > 100 && n * 100 > users * t.max_privileged_percent as usize);
    if too_many {
        fail(
            names(c.privileged_enabled()),
            format!("{n} enabled privileged accounts for {users} enabled users"),
        )
    } else {
        Eval::Pass
    }
}
fn group_members_rule(c: &Ctx<'_>, groups: &[Option<usize>], detail: &str) -> Eval {
    let mut out = Vec::new();
    for gi in groups.iter().flatten() {
        let e = c.idx.expand(*gi);
        out.extend(
            e.accounts
                .iter()
                .map(|a| c.snap.accounts[*a].name.clone())
                .filter(|n| !c.cfg.is_exempt(n)),
        );
        out.extend(e.foreign.iter().map(|s| c.idx.sid_name(s)));
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(out, detail)
    }
}
fn prv02(c: &Ctx<'_>) -> Eval {
    group_members_rule(c, &[c.idx.domain_group(518)], "Schema Admins has members")
}
fn prv03(c: &Ctx<'_>) -> Eval {
    let g: Vec<Option<usize>> = [548, 549, 550, 551]
        .iter()
        .map(|r| c.idx.builtin_group(*r))
        .collect();
    group_members_rule(c, &g, "Account/Server/Print/Backup Operators have members")
}
fn prv04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| a.has(uac::DONT_EXPIRE_PASSWORD)),
        "privileged and DONT_EXPIRE_PASSWORD",
    )
}
fn prv05(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().privileged_password_max_age_days);
    list_rule(
        c.privileged_enabled().filter(|(_, a)| {
            c.age(a.pwd_last_set.or(a.when_created))
                .is_some_and(|d| d > limit)
        }),
        &format!(
            "privileged password older than {} days",
            c.t().privileged_password_max_age_days
        ),
    )
}
fn prv06(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(i, a)| a.kind == AccountKind::User && !c.idx.protected_users.contains(i)),
        "privileged user not in Protected Users",
    )
}
fn prv07(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().inactive_days);
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| c.age(a.last_activity()).is_some_and(|d| d > limit)),
        &format!(
            "privileged, no logon for more than {} days",
            c.t().inactive_days
        ),
    )
}
fn prv08(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(i, a)| {
            a.admin_count
                && !c.idx.is_privileged(*i)
                && !c.is_krbtgt(a)
                && a.kind != AccountKind::Computer
        }),
        "adminCount=1 but not in an administrative group",
    )
}
/// Tier-0 objects whose DACL the ACL rules read: the domain root, AdminSDHolder and the
/// administrative groups.
fn tier0_objects<'a>(c: &Ctx<'a>) -> Vec<(String, &'a SecurityDescriptor)> {
    let mut v = Vec::new();
    let mut push = |name: String, dn: &str| {
        if let Some(sd) = c.snap.security_descriptors.get(&dn.to_ascii_lowercase()) {
            v.push((name, sd));
        }
    };
    push(c.snap.domain.dns_name(), &c.snap.domain.dn);
    push("AdminSDHolder".into(), &c.snap.adminsdholder_dn());
    for gi in c.idx.admin_groups() {
        let g = &c.snap.groups[gi];
        push(g.name.clone(), &g.dn);
    }
    v
}
fn prv09(c: &Ctx<'_>) -> Eval {
    let Some(sd) = c
        .snap
        .security_descriptors
        .get(&c.snap.domain.dn.to_ascii_lowercase())
    else {
        return Eval::NotApplicable {
            reason: "domain root security descriptor not read",
        };
    };
    let repl = [
        sd::guids::DS_REPLICATION_GET_CHANGES,
        sd::guids::DS_REPLICATION_GET_CHANGES_ALL,
        sd::guids::DS_REPLICATION_GET_CHANGES_FILTERED,
    ];
    let mut out = Vec::new();
    for a in sd
        .dacl
        .iter()
        .filter(|a| a.is_allow() && a.applies_to_object() && !c.tier0(&a.sid))
    {
        let dcsync = a.mask & sd::RIGHT_GENERIC_ALL != 0
            || (a.mask & sd::RIGHT_DS_CONTROL_ACCESS != 0
                && a.object_type.as_deref().is_none_or(|g| repl.contains(&g)));
        if dcsync {
            out.push(c.idx.sid_name(&a.sid));
        }
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(out, "replication (DCSync) rights on the domain root")
    }
}
fn dangerous_ace(a: &sd::Ace) -> bool {
    let m = a.mask;
    m & (sd::RIGHT_GENERIC_ALL
        | sd::RIGHT_GENERIC_WRITE
        | sd::RIGHT_WRITE_DAC
        | sd::RIGHT_WRITE_OWNER)
        != 0
        || (m & sd::RIGHT_DS_WRITE_PROP != 0
            && a.object_type
                .as_deref()
                .is_none_or(|g| g == sd::guids::ATTR_MEMBER))
        || (m & sd::RIGHT_DS_SELF != 0 && a.object_type.as_deref() == Some(sd::guids::ATTR_MEMBER))
}
fn prv10(c: &Ctx<'_>) -> Eval {
    let objs = tier0_objects(c);
    if objs.is_empty() {
        return Eval::NotApplicable {
            reason: "no security descriptor read",
        };
    }
    let mut out = Vec::new();
    for (name, sd) in objs {
        for a in sd.dacl.iter().filter(|a| {
            a.is_allow() && a.applies_to_object() && !c.tier0(&a.sid) && dangerous_ace(a)
        }) {
            out.push(format!("{name} <- {}", c.idx.sid_name(&a.sid)));
        }
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(
            out,
            "write, full-control, owner or DACL rights for a non-tier-0 principal",
        )
    }
}
fn prv11(c: &Ctx<'_>) -> Eval {
    let broad: Vec<Sid> = [
        well_known::EVERYONE,
        well_known::AUTHENTICATED_USERS,
        well_known::ANONYMOUS,
    ]
    .iter()
    .filter_map(|s| Sid::parse(s))
    .collect();
    let mut out = Vec::new();
    for gi in c.idx.admin_groups() {
        let e = c.idx.expand(gi);
        let g = &c.snap.groups[gi];
        for f in e.foreign.iter().filter(|f| broad.contains(f)) {
            out.push(format!("{} <- {f}", g.name));
        }
        for sub in &e.groups {
            if c.snap.groups[*sub]
                .sid
                .as_ref()
                .and_then(Sid::rid)
                .is_some_and(|r| r == 513 || r == 515)
            {
                out.push(format!("{} <- {}", g.name, c.snap.groups[*sub].name));
            }
        }
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(out, "everyone-like principal in an administrative group")
    }
}
fn prv12(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled().filter(|(_, a)| a.has_mail),
        "privileged account with a mail address",
    )
}
fn prv13(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged()
            .filter(|(_, a)| !a.enabled() && a.rid() != Some(502)),
        "disabled account left in an administrative group",
    )
}
fn prv14(c: &Ctx<'_>) -> Eval {
    let mut out = Vec::new();
    for (name, sd) in tier0_objects(c) {
        if let Some(o) = &sd.owner
            && !c.tier0(o)
        {
            out.push(format!("{name} <- {}", c.idx.sid_name(o)));
        }
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(out, "tier-0 object owned by a non-tier-0 principal")
    }
}
fn prv15(c: &Ctx<'_>) -> Eval {
    if c.snap.is_samba {
        return Eval::NotApplicable {
            reason: "Samba does not run SDProp: adminCount is not maintained",
        };
    }
    list_rule(
        c.privileged_enabled().filter(|(_, a)| !a.admin_count),
        "privileged account without adminCount=1",
    )
}
fn prv16(c: &Ctx<'_>) -> Eval {
    group_members_rule(
        c,
        &[c.idx.group_by_name("DnsAdmins")],
        "DnsAdmins has members",
    )
}

fn inf01(c: &Ctx<'_>) -> Eval {
    let q = c.snap.domain.machine_account_quota.unwrap_or(10);
    if q > c.t().max_machine_account_quota {
        fail(
            [c.snap.domain.dns_name()],
            format!("ms-DS-MachineAccountQuota={q}"),
        )
    } else {
        Eval::Pass
    }
}
fn levels(c: &Ctx<'_>, below: u32) -> Eval {
    let mut out = Vec::new();
    if c.snap.domain.functional_level.is_some_and(|l| l < below) {
        out.push(format!("domain {}", c.snap.domain.dns_name()));
    }
    if c.snap.forest_level.is_some_and(|l| l < below) {
        out.push("forest".to_string());
    }
    if out.is_empty() {
        Eval::Pass
    } else {
        fail(
            out,
            format!(
                "domain level {:?}, forest level {:?} < {below}",
                c.snap.domain.functional_level, c.snap.forest_level
            ),
        )
    }
}
fn inf02(c: &Ctx<'_>) -> Eval {
    levels(c, 6)
}
fn prewin2000(c: &Ctx<'_>) -> Vec<(String, Option<Sid>)> {
    c.idx
        .builtin_group(554)
        .map(|g| c.idx.direct_member_sids(g))
        .unwrap_or_default()
}
fn inf03(c: &Ctx<'_>) -> Eval {
    let bad: Vec<String> = prewin2000(c)
        .into_iter()
        .filter(|(_, s)| {
            s.as_ref().is_some_and(|s| {
                [well_known::EVERYONE, well_known::ANONYMOUS].contains(&s.to_string().as_str())
            })
        })
        .map(|(n, _)| n)
        .collect();
    if bad.is_empty() {
        Eval::Pass
    } else {
        fail(
            bad,
            "Pre-Windows 2000 Compatible Access contains Everyone or Anonymous",
        )
    }
}
fn inf04(c: &Ctx<'_>) -> Eval {
    if c.snap.laps_legacy_schema || c.snap.laps_windows_schema {
        Eval::Pass
    } else {
        fail(
            [c.snap.domain.dns_name()],
            "no LAPS attribute in the schema",
        )
    }
}
fn inf05(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().computer_password_max_age_days);
    list_rule(
        c.enabled_computers().filter(|(_, a)| {
            !a.is_dc()
                && match (a.pwd_last_set, a.last_logon) {
                    (Some(p), Some(l)) => days_between(p, l) > limit,
                    _ => false,
                }
        }),
        &format!(
            "computer password unchanged for more than {} days before its last logon",
            c.t().computer_password_max_age_days
        ),
    )
}
fn inf06(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().inactive_computer_days);
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| !a.is_dc() && c.age(a.last_activity()).is_some_and(|d| d > limit)),
        &format!(
            "no logon for more than {} days",
            c.t().inactive_computer_days
        ),
    )
}
fn obsolete_os(a: &Account) -> bool {
    let os = a.os.as_deref().unwrap_or("").to_ascii_lowercase();
    if !os.contains("windows") {
        return false;
    }
    const OLD: &[&str] = &[
        "nt",
        "2000",
        "xp",
        "vista",
        "windows 7",
        "windows 8",
        "2003",
        "2008",
        "2012",
    ];
    OLD.iter().any(|o| {
        os.split(|ch: char| !ch.is_ascii_alphanumeric())
            .any(|w| w == *o)
            || (o.contains(' ') && os.contains(o))
    })
}
fn inf07(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| !a.is_dc() && obsolete_os(a)),
        "operating system out of vendor support",
    )
}
fn heuristic_char(c: &Ctx<'_>, pos: usize) -> Option<char> {
    c.snap
        .ds_heuristics
        .as_deref()
        .and_then(|h| h.chars().nth(pos - 1))
}
fn inf08(c: &Ctx<'_>) -> Eval {
    if heuristic_char(c, 7) == Some('2') {
        fail(
            ["dSHeuristics".to_string()],
            "7th character = 2: anonymous LDAP operations",
        )
    } else {
        Eval::Pass
    }
}
fn inf09(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().dc_password_max_age_days);
    list_rule(
        c.enabled_computers().filter(|(_, a)| {
            a.is_dc()
                && c.age(a.pwd_last_set.or(a.when_created))
                    .is_some_and(|d| d > limit)
        }),
        &format!(
            "DC password older than {} days",
            c.t().dc_password_max_age_days
        ),
    )
}
fn inf10(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().inactive_dc_days);
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| a.is_dc() && c.age(a.last_activity()).is_some_and(|d| d > limit)),
        &format!(
            "DC without logon for more than {} days",
            c.t().inactive_dc_days
        ),
    )
}
fn inf11(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| a.is_dc() && obsolete_os(a)),
        "DC operating system out of vendor support",
    )
}
fn inf12(c: &Ctx<'_>) -> Eval {
    levels(c, 4)
}
fn inf13(c: &Ctx<'_>) -> Eval {
    if heuristic_char(c, 16).is_some_and(|ch| ch != '0') {
        fail(
            ["dSHeuristics".to_string()],
            "16th character (dwAdminSDExMask) set: operator groups excluded from AdminSDHolder",
        )
    } else {
        Eval::Pass
    }
}
fn inf14(c: &Ctx<'_>) -> Eval {
    if c.snap.recycle_bin {
        Eval::Pass
    } else {
        fail(
            [c.snap.domain.dns_name()],
            "Recycle Bin optional feature not enabled",
        )
    }
}
fn inf15(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.snap.accounts.iter().enumerate().filter(|(_, a)| {
            a.is_dc()
                && if a.has(uac::PARTIAL_SECRETS_ACCOUNT) {
                    a.uac & 0x500_1000 != 0x500_1000
                } else {
                    a.uac & 0x8_2000 != 0x8_2000
                }
        }),
        "DC userAccountControl lacks SERVER_TRUST_ACCOUNT|TRUSTED_FOR_DELEGATION (RODC: 0x5001000)",
    )
}
fn inf16(c: &Ctx<'_>) -> Eval {
    let bad: Vec<String> = prewin2000(c)
        .into_iter()
        .filter(|(_, s)| {
            !s.as_ref().is_some_and(|s| {
                [well_known::EVERYONE, well_known::ANONYMOUS].contains(&s.to_string().as_str())
            })
        })
        .map(|(n, _)| n)
        .collect();
    if bad.is_empty() {
        Eval::Pass
    } else {
        fail(bad, "Pre-Windows 2000 Compatible Access is not empty")
    }
}
fn inf17(c: &Ctx<'_>) -> Eval {
    let v: Vec<String> = c
        .idx
        .loops
        .iter()
        .map(|g| c.snap.groups[*g].name.clone())
        .collect();
    if v.is_empty() {
        Eval::Pass
    } else {
        fail(v, "group nesting loop")
    }
}
fn inf18(c: &Ctx<'_>) -> Eval {
    let grace = f64::from(c.t().laps_grace_days);
    list_rule(
        c.enabled_computers().filter(|(_, a)| {
            !a.is_dc()
                && a.laps_expiry
                    .is_none_or(|t| days_between(t, c.as_of) > grace)
        }),
        "no LAPS password, or expired",
    )
}

// ---------------------------------------------------------------------------------------------
// The catalogue

use Category::*;

macro_rules! r {
    ($id:literal, $cat:expr, $lvl:literal, $anssi:expr, $pc:expr, [$($m:literal),*],
     $ten:literal, $tfr:literal, $ren:literal, $rfr:literal, $fen:literal, $ffr:literal, $f:expr) => {
        RuleDef { id: $id, category: $cat, level: $lvl, anssi: $anssi, pingcastle: $pc, measures: &[$($m),*],
                  title: ($ten, $tfr), rationale: ($ren, $rfr), remediation: ($fen, $ffr), eval: $f }
    };
}

pub static RULES: &[RuleDef] = &[
    r!(
        "PWD-01",
        PasswordPolicy,
        2,
        None,
        Some("A-MinPwdLen"),
        ["IAM-04"],
        "Domain minimum password length below target",
        "Longueur minimale des mots de passe du domaine insuffisante",
        "Short passwords fall quickly to guessing and offline cracking.",
        "Les mots de passe courts cèdent vite aux attaques par essais et au cassage hors ligne.",
        "Raise minPwdLength in the Default Domain Policy (12 or more; ANSSI recommends long passphrases).",
        "Augmenter minPwdLength dans la stratégie de domaine par défaut (12 ou plus ; l'ANSSI recommande des phrases de passe longues).",
        pwd01
    ),
    r!(
        "PWD-02",
        PasswordPolicy,
        3,
        None,
        None,
        ["IAM-04"],
        "Password complexity disabled",
        "Complexité des mots de passe désactivée",
        "Without complexity, single-word and numeric passwords are accepted.",
        "Sans complexité, les mots de passe d'un seul mot ou purement numériques sont acceptés.",
        "Enable 'Password must meet complexity requirements' in the domain policy.",
        "Activer « Le mot de passe doit respecter des exigences de complexité » dans la stratégie du domaine.",
        pwd02
    ),
    r!(
        "PWD-03",
        PasswordPolicy,
        3,
        Some("vuln3_reversible_password_priv_namingcontext"),
        Some("A-ReversiblePwd"),
        ["IAM-07"],
        "Domain stores passwords with reversible encryption",
        "Le domaine stocke les mots de passe avec un chiffrement réversible",
        "Reversibly encrypted passwords can be read back in clear by anyone who dumps the directory.",
        "Les mots de passe chiffrés de façon réversible peuvent être relus en clair par quiconque extrait l'annuaire.",
        "Disable 'Store passwords using reversible encryption' and reset the passwords set meanwhile.",
        "Désactiver « Enregistrer les mots de passe en utilisant un chiffrement réversible » et réinitialiser les mots de passe définis entre-temps.",
        pwd03
    ),
    r!(
        "PWD-04",
        PasswordPolicy,
        4,
        None,
        None,
        ["IAM-05"],
        "Passwords never expire or expire too late",
        "Mots de passe sans expiration ou à expiration trop tardive",
        "The regulator's measure requires defined renewal rules; a password leaked once stays valid forever.",
        "La mesure réglementaire exige des règles de renouvellement ; un mot de passe divulgué reste valable indéfiniment.",
        "Set maxPwdAge to the renewal period decided in the security policy, or document the risk acceptance.",
        "Fixer maxPwdAge à la période décidée dans la politique de sécurité, ou documenter l'acceptation du risque.",
        pwd04
    ),
    r!(
        "PWD-05",
        PasswordPolicy,
        3,
        None,
        None,
        ["IAM-04"],
        "No or weak account lockout",
        "Verrouillage des comptes absent ou trop permissif",
        "Without lockout, online password guessing is unlimited.",
        "Sans verrouillage, les essais de mots de passe en ligne sont illimités.",
        "Set lockoutThreshold (e.g. 5 to 10 attempts) with a lockout duration of at least one minute.",
        "Fixer lockoutThreshold (par exemple 5 à 10 essais) avec une durée de verrouillage d'au moins une minute.",
        pwd05
    ),
    r!(
        "PWD-06",
        PasswordPolicy,
        2,
        Some("vuln2_privileged_members_password"),
        Some("A-MinPwdLen"),
        ["IAM-04", "IAM-11"],
        "Privileged accounts under a weak effective password policy",
        "Comptes à privilèges soumis à une politique de mots de passe faible",
        "Administrators' passwords are the most targeted; their effective policy must be the strongest.",
        "Les mots de passe des administrateurs sont les plus visés ; leur politique effective doit être la plus forte.",
        "Apply a fine-grained password policy (PSO) to the administrative groups with a long minimum length.",
        "Appliquer une stratégie de mots de passe affinée (PSO) aux groupes d'administration avec une longueur minimale élevée.",
        pwd06
    ),
    r!(
        "PWD-07",
        PasswordPolicy,
        4,
        None,
        None,
        ["IAM-04"],
        "Password history too short",
        "Historique des mots de passe trop court",
        "A short history lets users cycle back to a previous password.",
        "Un historique court permet de revenir à un ancien mot de passe.",
        "Raise pwdHistoryLength (24 is the Windows default).",
        "Augmenter pwdHistoryLength (24 par défaut sous Windows).",
        pwd07
    ),
    r!(
        "PWD-08",
        PasswordPolicy,
        4,
        None,
        Some("A-NoServicePolicy"),
        ["IAM-04"],
        "No long-password policy for service accounts",
        "Aucune politique de mots de passe longs pour les comptes de service",
        "Service accounts are kerberoastable; only very long passwords resist offline cracking.",
        "Les comptes de service sont « kerberoastables » ; seuls des mots de passe très longs résistent au cassage.",
        "Create a PSO with a minimum length of 20 or more and apply it to service accounts, or use gMSAs.",
        "Créer une PSO d'au moins 20 caractères et l'appliquer aux comptes de service, ou utiliser des gMSA.",
        pwd08
    ),
    r!(
        "PWD-09",
        PasswordPolicy,
        4,
        Some("vuln4_smartcard_expire_passwords"),
        Some("A-SmartCardPwdRotation"),
        ["IAM-05"],
        "Smart-card accounts without password rotation",
        "Comptes à carte à puce sans rotation du mot de passe",
        "The hidden password of smart-card-only accounts never changes unless the domain rotates it.",
        "Le mot de passe caché des comptes à carte à puce ne change jamais si le domaine ne le renouvelle pas.",
        "Set msDS-ExpirePasswordsOnSmartCardOnlyAccounts to TRUE (functional level 2016).",
        "Positionner msDS-ExpirePasswordsOnSmartCardOnlyAccounts à TRUE (niveau fonctionnel 2016).",
        pwd09
    ),
    r!(
        "PWD-10",
        PasswordPolicy,
        2,
        Some("vuln2_privileged_members_password"),
        Some("A-MinPwdLen"),
        ["IAM-04"],
        "Weak fine-grained password policy (PSO)",
        "Stratégie de mots de passe affinée (PSO) faible",
        "A PSO overrides the domain policy for its targets; a weak one weakens them.",
        "Une PSO remplace la politique du domaine pour ses cibles ; une PSO faible les affaiblit.",
        "Raise the PSO's minimum length, enable complexity and disable reversible encryption.",
        "Augmenter la longueur minimale de la PSO, activer la complexité et désactiver le chiffrement réversible.",
        pwd10
    ),
    r!(
        "ACC-01",
        Accounts,
        3,
        None,
        Some("S-PwdNotRequired"),
        ["IAM-04"],
        "Enabled accounts allowed an empty password",
        "Comptes actifs autorisés à avoir un mot de passe vide",
        "PASSWD_NOTREQD lets the account have an empty password regardless of policy.",
        "PASSWD_NOTREQD permet un mot de passe vide quelle que soit la politique.",
        "Clear the PASSWD_NOTREQD flag (userAccountControl 0x20) and set a strong password.",
        "Retirer l'indicateur PASSWD_NOTREQD (userAccountControl 0x20) et définir un mot de passe robuste.",
        acc01
    ),
    r!(
        "ACC-02",
        Accounts,
        2,
        Some("vuln2_dont_expire"),
        Some("S-PwdNeverExpires"),
        ["IAM-05"],
        "Enabled accounts whose password never expires",
        "Comptes actifs dont le mot de passe n'expire jamais",
        "These passwords escape the renewal policy and often stay unchanged for years.",
        "Ces mots de passe échappent au renouvellement et restent souvent inchangés des années.",
        "Remove DONT_EXPIRE_PASSWORD; use gMSAs for services; document any exception.",
        "Retirer DONT_EXPIRE_PASSWORD ; utiliser des gMSA pour les services ; documenter toute exception.",
        acc02
    ),
    r!(
        "ACC-03",
        Accounts,
        3,
        None,
        Some("S-Reversible"),
        ["IAM-07"],
        "Accounts allowed reversible password storage",
        "Comptes autorisés au stockage réversible du mot de passe",
        "The password of these accounts is stored in a form that can be decrypted.",
        "Le mot de passe de ces comptes est stocké sous une forme déchiffrable.",
        "Clear ENCRYPTED_TEXT_PWD_ALLOWED (0x80) and reset the password.",
        "Retirer ENCRYPTED_TEXT_PWD_ALLOWED (0x80) et réinitialiser le mot de passe.",
        acc03
    ),
    r!(
        "ACC-04",
        Accounts,
        2,
        Some("vuln2_guest"),
        Some("A-Guest"),
        ["IAM-01"],
        "Guest account enabled",
        "Compte Invité actif",
        "The Guest account gives anonymous-like access to domain resources.",
        "Le compte Invité donne un accès quasi anonyme aux ressources du domaine.",
        "Disable the Guest account (RID 501).",
        "Désactiver le compte Invité (RID 501).",
        acc04
    ),
    r!(
        "ACC-05",
        Accounts,
        3,
        None,
        Some("S-Inactive"),
        ["IAM-02"],
        "Dormant enabled user accounts",
        "Comptes utilisateurs actifs mais dormants",
        "Unused enabled accounts (leavers, forgotten accounts) are easy, unnoticed entry points.",
        "Les comptes inutilisés mais actifs (départs, comptes oubliés) sont des portes d'entrée discrètes.",
        "Disable accounts without logon for the configured period, then delete them after review.",
        "Désactiver les comptes sans connexion depuis la période configurée, puis les supprimer après revue.",
        acc05
    ),
    r!(
        "ACC-06",
        Accounts,
        4,
        None,
        None,
        ["IAM-05"],
        "User passwords not renewed",
        "Mots de passe utilisateurs non renouvelés",
        "Old passwords have had more time to leak and be reused elsewhere.",
        "Les mots de passe anciens ont eu plus de temps pour fuiter et être réutilisés ailleurs.",
        "Have these users change their password; enforce the renewal policy.",
        "Faire changer le mot de passe de ces utilisateurs ; appliquer la politique de renouvellement.",
        acc06
    ),
    r!(
        "ACC-07",
        Accounts,
        3,
        Some("vuln3_primary_group_id_nochange"),
        Some("S-PrimaryGroup"),
        ["INV-04"],
        "Accounts with a non-default primary group",
        "Comptes avec un groupe principal modifié",
        "Primary group membership does not appear in the group's member list: it hides rights.",
        "L'appartenance par groupe principal n'apparaît pas dans la liste des membres : elle masque des droits.",
        "Reset primaryGroupID to 513 (users) or 515 (computers).",
        "Remettre primaryGroupID à 513 (utilisateurs) ou 515 (ordinateurs).",
        acc07
    ),
    r!(
        "ACC-08",
        Accounts,
        3,
        Some("vuln3_sidhistory_present"),
        Some("S-SIDHistory"),
        ["INV-04"],
        "Accounts with SID history",
        "Comptes avec un historique de SID",
        "sIDHistory grants the rights of another identity, invisibly.",
        "sIDHistory donne les droits d'une autre identité, de façon invisible.",
        "Clean sIDHistory once migrations are over.",
        "Nettoyer sIDHistory une fois les migrations terminées.",
        acc08
    ),
    r!(
        "ACC-09",
        Accounts,
        2,
        Some("vuln2_kerberos_properties_deskey"),
        Some("S-DesEnabled"),
        ["IAM-07"],
        "Accounts allowing DES Kerberos encryption",
        "Comptes autorisant le chiffrement Kerberos DES",
        "DES keys are broken in hours.",
        "Les clés DES se cassent en quelques heures.",
        "Clear USE_DES_KEY_ONLY and the DES bits of msDS-SupportedEncryptionTypes; reset the password.",
        "Retirer USE_DES_KEY_ONLY et les bits DES de msDS-SupportedEncryptionTypes ; réinitialiser le mot de passe.",
        acc09
    ),
    r!(
        "ACC-10",
        Accounts,
        3,
        Some("vuln3_reversible_password"),
        Some("A-UnixPwd"),
        ["IAM-07"],
        "Password-like attributes populated",
        "Attributs de type mot de passe renseignés",
        "userPassword and unixUserPassword are often readable and hold reusable secrets.",
        "userPassword et unixUserPassword sont souvent lisibles et contiennent des secrets réutilisables.",
        "Clear userPassword and unixUserPassword and change the corresponding passwords.",
        "Vider userPassword et unixUserPassword et changer les mots de passe correspondants.",
        acc10
    ),
    r!(
        "ACC-11",
        Accounts,
        1,
        Some("vuln1_primary_group_id_1000"),
        None,
        ["INV-04"],
        "Accounts whose primary group is a built-in privileged group",
        "Comptes dont le groupe principal est un groupe privilégié intégré",
        "A primaryGroupID below 1000 (e.g. 512) silently makes the account a member of an administrative group.",
        "Un primaryGroupID inférieur à 1000 (ex. 512) rend le compte discrètement membre d'un groupe d'administration.",
        "Reset primaryGroupID to 513/515 and review the account.",
        "Remettre primaryGroupID à 513/515 et examiner le compte.",
        acc11
    ),
    r!(
        "ACC-12",
        Accounts,
        1,
        Some("vuln1_user_accounts_dormant"),
        Some("S-Inactive"),
        ["IAM-02"],
        "High proportion of dormant enabled accounts",
        "Proportion importante de comptes actifs dormants",
        "Many dormant accounts show that departures are not processed.",
        "Beaucoup de comptes dormants montrent que les départs ne sont pas traités.",
        "Set up a leaver process fed by HR and disable dormant accounts.",
        "Mettre en place un processus de départ alimenté par les RH et désactiver les comptes dormants.",
        acc12
    ),
    r!(
        "ACC-13",
        Accounts,
        2,
        Some("vuln2_sidhistory_dangerous"),
        Some("T-SIDHistoryDangerous"),
        ["INV-04"],
        "Dangerous SID history (same domain or well-known SID)",
        "Historique de SID dangereux (même domaine ou SID connu)",
        "A same-domain or well-known SID in sIDHistory is a classic persistence backdoor.",
        "Un SID du même domaine ou bien connu dans sIDHistory est une porte dérobée classique.",
        "Remove the value at once and investigate how it was written.",
        "Supprimer la valeur immédiatement et rechercher comment elle a été écrite.",
        acc13
    ),
    r!(
        "KRB-01",
        KerberosDelegation,
        2,
        Some("vuln2_krbtgt"),
        Some("A-Krbtgt"),
        ["IAM-11"],
        "krbtgt password not changed for more than a year",
        "Mot de passe du compte krbtgt inchangé depuis plus d'un an",
        "Anyone who once obtained the krbtgt key can forge tickets (golden ticket) until it changes twice.",
        "Quiconque a obtenu la clé krbtgt peut forger des tickets (golden ticket) tant qu'elle n'a pas changé deux fois.",
        "Reset the krbtgt password twice, waiting for replication in between.",
        "Réinitialiser deux fois le mot de passe krbtgt, en attendant la réplication entre les deux.",
        krb01
    ),
    r!(
        "KRB-02",
        KerberosDelegation,
        2,
        Some("vuln2_kerberos_properties_preauth"),
        Some("S-NoPreAuth"),
        ["IAM-11"],
        "Accounts without Kerberos pre-authentication (AS-REP roasting)",
        "Comptes sans pré-authentification Kerberos (AS-REP roasting)",
        "Anyone can request material encrypted with these accounts' keys and crack it offline.",
        "N'importe qui peut obtenir des données chiffrées avec la clé de ces comptes et les casser hors ligne.",
        "Clear DONT_REQ_PREAUTH (0x400000).",
        "Retirer DONT_REQ_PREAUTH (0x400000).",
        krb02
    ),
    r!(
        "KRB-03",
        KerberosDelegation,
        1,
        Some("vuln1_kerberos_properties_preauth_priv"),
        Some("S-NoPreAuthAdmin"),
        ["IAM-11"],
        "Privileged accounts without Kerberos pre-authentication",
        "Comptes à privilèges sans pré-authentification Kerberos",
        "An offline-crackable privileged account gives domain control.",
        "Un compte à privilèges cassable hors ligne donne le contrôle du domaine.",
        "Clear DONT_REQ_PREAUTH on these accounts at once and change their password.",
        "Retirer immédiatement DONT_REQ_PREAUTH et changer leur mot de passe.",
        krb03
    ),
    r!(
        "KRB-04",
        KerberosDelegation,
        4,
        None,
        None,
        ["IAM-11"],
        "Kerberoastable user accounts",
        "Comptes utilisateurs « kerberoastables »",
        "Any user can obtain a service ticket encrypted with these accounts' password and crack it offline.",
        "Tout utilisateur peut obtenir un ticket chiffré avec le mot de passe de ces comptes et le casser hors ligne.",
        "Use gMSAs, or give these accounts very long random passwords and AES only.",
        "Utiliser des gMSA, ou des mots de passe aléatoires très longs et AES uniquement.",
        krb04
    ),
    r!(
        "KRB-05",
        KerberosDelegation,
        1,
        Some("vuln1_spn_priv"),
        Some("P-Kerberoasting"),
        ["IAM-11"],
        "Privileged accounts with a service principal name",
        "Comptes à privilèges avec un SPN",
        "A kerberoastable administrator gives domain control to any user who cracks its password.",
        "Un administrateur « kerberoastable » donne le contrôle du domaine à quiconque casse son mot de passe.",
        "Remove the SPN or the privileges; run services under dedicated unprivileged gMSAs.",
        "Retirer le SPN ou les privilèges ; faire tourner les services sous des gMSA non privilégiés.",
        krb05
    ),
    r!(
        "KRB-06",
        KerberosDelegation,
        3,
        Some("vuln3_kerberos_properties_encryption"),
        Some("S-AesNotEnabled"),
        ["IAM-07"],
        "Service accounts without AES",
        "Comptes de service sans AES",
        "Without AES, service tickets use RC4, much faster to crack.",
        "Sans AES, les tickets de service utilisent RC4, bien plus rapide à casser.",
        "Add AES128/AES256 (0x18) to msDS-SupportedEncryptionTypes and reset the password.",
        "Ajouter AES128/AES256 (0x18) à msDS-SupportedEncryptionTypes et réinitialiser le mot de passe.",
        krb06
    ),
    r!(
        "DLG-01",
        KerberosDelegation,
        1,
        Some("vuln1_delegation_t4d"),
        Some("P-UnconstrainedDelegation"),
        ["IAM-11"],
        "Unconstrained delegation outside domain controllers",
        "Délégation non contrainte hors contrôleurs de domaine",
        "A host with unconstrained delegation receives reusable tickets of everyone who connects, admins included.",
        "Un hôte en délégation non contrainte reçoit des tickets réutilisables de tous ceux qui s'y connectent, administrateurs compris.",
        "Replace with constrained or resource-based delegation; clear TRUSTED_FOR_DELEGATION.",
        "Remplacer par une délégation contrainte ou basée sur la ressource ; retirer TRUSTED_FOR_DELEGATION.",
        dlg01
    ),
    r!(
        "DLG-02",
        KerberosDelegation,
        2,
        None,
        None,
        ["IAM-11"],
        "Constrained delegation with protocol transition",
        "Délégation contrainte avec transition de protocole",
        "Protocol transition lets the account impersonate any user to its target services without their credentials.",
        "La transition de protocole permet d'usurper n'importe quel utilisateur auprès des services cibles sans ses identifiants.",
        "Use Kerberos-only constrained delegation unless strictly needed; protect the account as tier 0.",
        "Utiliser la délégation contrainte Kerberos seule sauf nécessité ; protéger le compte comme un compte de niveau 0.",
        dlg02
    ),
    r!(
        "DLG-03",
        KerberosDelegation,
        1,
        Some("vuln1_delegation_sourcedeleg"),
        Some("P-DelegationDCsourcedeleg"),
        ["IAM-11"],
        "Resource-based delegation to a DC or privileged account",
        "Délégation basée sur la ressource vers un DC ou un compte à privilèges",
        "The listed principals can impersonate anyone, administrators included, to the DC or privileged account.",
        "Les principaux listés peuvent usurper n'importe qui, administrateurs compris, auprès du DC ou du compte à privilèges.",
        "Clear msDS-AllowedToActOnBehalfOfOtherIdentity on these objects.",
        "Vider msDS-AllowedToActOnBehalfOfOtherIdentity sur ces objets.",
        dlg03
    ),
    r!(
        "DLG-04",
        KerberosDelegation,
        3,
        None,
        Some("P-Delegated"),
        ["IAM-11"],
        "Privileged accounts that can be delegated",
        "Comptes à privilèges délégables",
        "A delegable administrator's ticket can be reused by any host trusted for delegation.",
        "Le ticket d'un administrateur délégable peut être réutilisé par tout hôte autorisé à la délégation.",
        "Set 'Account is sensitive and cannot be delegated' or add the account to Protected Users.",
        "Cocher « Le compte est sensible et ne peut pas être délégué » ou ajouter le compte à Protected Users.",
        dlg04
    ),
    r!(
        "DLG-05",
        KerberosDelegation,
        1,
        Some("vuln1_delegation_a2d2"),
        Some("P-DelegationDCa2d2"),
        ["IAM-11"],
        "Constrained delegation to a domain controller service",
        "Délégation contrainte vers un service de contrôleur de domaine",
        "Delegating to a DC service lets the account act as any user on the DC.",
        "Déléguer vers un service du DC permet d'agir comme n'importe quel utilisateur sur le DC.",
        "Remove DC services from msDS-AllowedToDelegateTo.",
        "Retirer les services des DC de msDS-AllowedToDelegateTo.",
        dlg05
    ),
    r!(
        "DLG-06",
        KerberosDelegation,
        1,
        Some("vuln1_delegation_t2a4d"),
        Some("P-DelegationDCt2a4d"),
        ["IAM-11"],
        "Protocol transition to a domain controller service",
        "Transition de protocole vers un service de contrôleur de domaine",
        "Whoever controls the account can impersonate a domain admin on a DC without any credential.",
        "Qui contrôle le compte peut usurper un administrateur du domaine sur un DC sans identifiant.",
        "Remove the delegation at once; treat the account as compromised tier 0.",
        "Supprimer immédiatement la délégation ; traiter le compte comme un niveau 0 compromis.",
        dlg06
    ),
    r!(
        "PRV-01",
        Privileged,
        1,
        Some("vuln1_privileged_members"),
        Some("P-AdminNum"),
        ["INV-04"],
        "Too many privileged accounts",
        "Trop de comptes à privilèges",
        "Every privileged account widens the path to domain control.",
        "Chaque compte à privilèges élargit le chemin vers le contrôle du domaine.",
        "Reduce administrative group membership to the strict minimum; delegate finer rights instead.",
        "Réduire les membres des groupes d'administration au strict minimum ; déléguer des droits plus fins.",
        prv01
    ),
    r!(
        "PRV-02",
        Privileged,
        3,
        None,
        Some("P-SchemaAdmin"),
        ["INV-04"],
        "Schema Admins is not empty",
        "Le groupe Schema Admins n'est pas vide",
        "Schema changes are rare; permanent members are needless exposure.",
        "Les modifications du schéma sont rares ; des membres permanents exposent inutilement.",
        "Empty Schema Admins and add members only for the duration of a schema change.",
        "Vider Schema Admins et n'ajouter des membres que le temps d'une modification du schéma.",
        prv02
    ),
    r!(
        "PRV-03",
        Privileged,
        3,
        None,
        Some("P-OperatorsEmpty"),
        ["INV-04"],
        "Operator groups are not empty",
        "Les groupes d'opérateurs ne sont pas vides",
        "Account, Server, Print and Backup Operators have paths to domain control.",
        "Les groupes Account, Server, Print et Backup Operators ont des chemins vers le contrôle du domaine.",
        "Empty these groups and delegate specific rights instead.",
        "Vider ces groupes et déléguer des droits précis à la place.",
        prv03
    ),
    r!(
        "PRV-04",
        Privileged,
        1,
        Some("vuln1_dont_expire_priv"),
        Some("P-ServiceDomainAdmin"),
        ["IAM-05", "IAM-11"],
        "Privileged accounts whose password never expires",
        "Comptes à privilèges dont le mot de passe n'expire jamais",
        "Administrator passwords that never change are the most valuable to steal.",
        "Les mots de passe d'administrateurs qui ne changent jamais sont les plus précieux à voler.",
        "Remove DONT_EXPIRE_PASSWORD from privileged accounts and rotate their passwords.",
        "Retirer DONT_EXPIRE_PASSWORD des comptes à privilèges et renouveler leurs mots de passe.",
        prv04
    ),
    r!(
        "PRV-05",
        Privileged,
        1,
        Some("vuln1_password_change_priv"),
        Some("P-AdminPwdTooOld"),
        ["IAM-05", "IAM-11"],
        "Privileged account passwords unchanged for more than 3 years",
        "Mots de passe de comptes à privilèges inchangés depuis plus de 3 ans",
        "Old administrator passwords have probably been exposed in some dump or script.",
        "Les anciens mots de passe d'administrateurs ont probablement été exposés.",
        "Change these passwords now; disable the accounts if unused.",
        "Changer ces mots de passe maintenant ; désactiver les comptes inutilisés.",
        prv05
    ),
    r!(
        "PRV-06",
        Privileged,
        3,
        Some("vuln3_protected_users"),
        Some("P-ProtectedUsers"),
        ["IAM-11"],
        "Privileged users not in Protected Users",
        "Utilisateurs à privilèges hors du groupe Protected Users",
        "Protected Users blocks NTLM, RC4, delegation and credential caching for its members.",
        "Protected Users bloque NTLM, RC4, la délégation et la mise en cache des identifiants de ses membres.",
        "Add administrators to Protected Users after testing their tools.",
        "Ajouter les administrateurs à Protected Users après avoir testé leurs outils.",
        prv06
    ),
    r!(
        "PRV-07",
        Privileged,
        3,
        None,
        Some("P-Inactive"),
        ["IAM-02", "INV-04"],
        "Dormant privileged accounts",
        "Comptes à privilèges dormants",
        "Unused administrator accounts keep full rights for nobody's benefit.",
        "Les comptes d'administrateurs inutilisés gardent tous leurs droits sans utilité.",
        "Disable or remove the privileges of dormant administrator accounts.",
        "Désactiver les comptes d'administrateurs dormants ou leur retirer les privilèges.",
        prv07
    ),
    r!(
        "PRV-08",
        Privileged,
        3,
        None,
        Some("A-AdminSDHolder"),
        ["INV-04"],
        "Former administrators still marked adminCount=1",
        "Anciens administrateurs encore marqués adminCount=1",
        "adminCount=1 leaves a hardened ACL and hides that the account was privileged.",
        "adminCount=1 laisse une ACL figée et signale un ancien compte à privilèges.",
        "Clear adminCount and restore ACL inheritance on accounts no longer privileged.",
        "Effacer adminCount et rétablir l'héritage des ACL sur les comptes qui ne sont plus privilégiés.",
        prv08
    ),
    r!(
        "PRV-09",
        Privileged,
        1,
        Some("vuln1_permissions_naming_context"),
        None,
        ["INV-04", "IAM-11"],
        "Non-default principals can replicate secrets (DCSync)",
        "Des principaux non standard peuvent répliquer les secrets (DCSync)",
        "Replication rights on the domain root let the holder extract every password hash.",
        "Les droits de réplication à la racine du domaine permettent d'extraire tous les condensats de mots de passe.",
        "Remove the replication extended rights granted to these principals.",
        "Retirer les droits étendus de réplication accordés à ces principaux.",
        prv09
    ),
    r!(
        "PRV-10",
        Privileged,
        1,
        Some("vuln1_permissions_adminsdholder"),
        Some("P-ControlPathIndirectEveryone"),
        ["INV-04", "IAM-11"],
        "Dangerous permissions on tier-0 objects",
        "Permissions dangereuses sur des objets de niveau 0",
        "Write, owner or DACL rights on the domain root, AdminSDHolder or an admin group are a direct path to domain control.",
        "Des droits d'écriture, de propriétaire ou de DACL sur la racine, AdminSDHolder ou un groupe d'administration mènent directement au contrôle du domaine.",
        "Remove these ACEs; restrict delegations to tier-0 principals.",
        "Supprimer ces ACE ; réserver ces délégations aux principaux de niveau 0.",
        prv10
    ),
    r!(
        "PRV-11",
        Privileged,
        1,
        None,
        Some("A-MembershipEveryone"),
        ["INV-04"],
        "Everyone-like principal in an administrative group",
        "Principal de type « tout le monde » dans un groupe d'administration",
        "Everyone, Authenticated Users, Domain Users or Domain Computers in an admin group makes every account an administrator.",
        "Everyone, Authenticated Users, Domain Users ou Domain Computers dans un groupe d'administration rend chaque compte administrateur.",
        "Remove the principal from the group immediately.",
        "Retirer immédiatement ce principal du groupe.",
        prv11
    ),
    r!(
        "PRV-12",
        Privileged,
        3,
        None,
        Some("P-AdminEmailOn"),
        ["IAM-01"],
        "Privileged accounts with a mailbox address",
        "Comptes à privilèges avec une adresse de messagerie",
        "Administrator accounts should not read mail: separate admin and everyday accounts.",
        "Les comptes d'administration ne doivent pas lire de courriel : séparer comptes d'administration et comptes courants.",
        "Remove the mail attribute and use a separate everyday account.",
        "Retirer l'attribut mail et utiliser un compte distinct pour l'usage courant.",
        prv12
    ),
    r!(
        "PRV-13",
        Privileged,
        4,
        None,
        None,
        ["INV-04"],
        "Disabled accounts left in administrative groups",
        "Comptes désactivés laissés dans des groupes d'administration",
        "Re-enabling one of these accounts grants administrator rights at once.",
        "Réactiver l'un de ces comptes donne immédiatement les droits d'administration.",
        "Remove disabled accounts from administrative groups.",
        "Retirer les comptes désactivés des groupes d'administration.",
        prv13
    ),
    r!(
        "PRV-14",
        Privileged,
        3,
        Some("vuln3_owner"),
        Some("P-DCOwner"),
        ["INV-04"],
        "Tier-0 objects owned by non-tier-0 principals",
        "Objets de niveau 0 appartenant à des principaux hors niveau 0",
        "The owner of an object can rewrite its permissions.",
        "Le propriétaire d'un objet peut réécrire ses permissions.",
        "Set the owner to Domain Admins or Administrators.",
        "Donner la propriété à Domain Admins ou Administrators.",
        prv14
    ),
    r!(
        "PRV-15",
        Privileged,
        2,
        Some("vuln2_privileged_members_no_admincount"),
        None,
        ["INV-04"],
        "Privileged accounts without adminCount",
        "Comptes à privilèges sans adminCount",
        "On Windows, SDProp marks protected accounts; a missing mark reveals a recent or hidden addition.",
        "Sous Windows, SDProp marque les comptes protégés ; l'absence de marque révèle un ajout récent ou masqué.",
        "Check the membership and let SDProp run; investigate unexpected members.",
        "Vérifier l'appartenance et laisser SDProp s'exécuter ; examiner les membres inattendus.",
        prv15
    ),
    r!(
        "PRV-16",
        Privileged,
        4,
        Some("vuln4_dnsadmins"),
        Some("P-DNSAdmin"),
        ["INV-04"],
        "DnsAdmins is not empty",
        "Le groupe DnsAdmins n'est pas vide",
        "DnsAdmins members can load code into the DNS service running on DCs.",
        "Les membres de DnsAdmins peuvent charger du code dans le service DNS des DC.",
        "Empty DnsAdmins; manage DNS through delegated rights on zones.",
        "Vider DnsAdmins ; gérer le DNS par des droits délégués sur les zones.",
        prv16
    ),
    r!(
        "INF-01",
        Infrastructure,
        4,
        Some("vuln4_user_accounts_machineaccountquota"),
        Some("S-ADRegistration"),
        ["INV-01"],
        "Any user can join computers to the domain",
        "Tout utilisateur peut joindre des ordinateurs au domaine",
        "ms-DS-MachineAccountQuota lets any user create computer accounts, a building block of many attacks.",
        "ms-DS-MachineAccountQuota permet à tout utilisateur de créer des comptes d'ordinateur, base de nombreuses attaques.",
        "Set ms-DS-MachineAccountQuota to 0 and delegate domain joins to a dedicated group.",
        "Fixer ms-DS-MachineAccountQuota à 0 et déléguer la jonction au domaine à un groupe dédié.",
        inf01
    ),
    r!(
        "INF-02",
        Infrastructure,
        3,
        Some("vuln3_functional_level"),
        Some("S-FunctionalLevel3"),
        ["VUL-02"],
        "Functional level below Windows Server 2012 R2",
        "Niveau fonctionnel inférieur à Windows Server 2012 R2",
        "Older functional levels lack Protected Users protections and Kerberos armoring.",
        "Les niveaux fonctionnels anciens n'ont pas les protections de Protected Users ni le blindage Kerberos.",
        "Retire old DCs and raise the domain and forest functional levels.",
        "Retirer les anciens DC et relever les niveaux fonctionnels du domaine et de la forêt.",
        inf02
    ),
    r!(
        "INF-03",
        Infrastructure,
        2,
        Some("vuln2_compatible_2000_anonymous"),
        Some("A-PreWin2000Anonymous"),
        [],
        "Pre-Windows 2000 Compatible Access contains Everyone or Anonymous",
        "« Pre-Windows 2000 Compatible Access » contient Everyone ou Anonymous",
        "Anonymous users can then enumerate users and groups.",
        "Les utilisateurs anonymes peuvent alors énumérer utilisateurs et groupes.",
        "Remove Everyone and Anonymous Logon from the group.",
        "Retirer Everyone et Anonymous Logon du groupe.",
        inf03
    ),
    r!(
        "INF-04",
        Infrastructure,
        3,
        None,
        Some("A-LAPS-Not-Installed"),
        ["IAM-07", "END-05"],
        "LAPS is not deployed",
        "LAPS n'est pas déployé",
        "Without LAPS, local administrator passwords are usually identical across machines.",
        "Sans LAPS, les mots de passe d'administrateur local sont souvent identiques sur tous les postes.",
        "Deploy Windows LAPS (schema extension and policy).",
        "Déployer Windows LAPS (extension du schéma et stratégie).",
        inf04
    ),
    r!(
        "INF-05",
        Infrastructure,
        2,
        Some("vuln2_password_change_server_no_change_90"),
        Some("S-PwdLastSet-90"),
        ["IAM-05"],
        "Active computers not changing their account password",
        "Ordinateurs actifs ne changeant pas le mot de passe de leur compte",
        "A computer that stops rotating its password keeps a stealable secret valid indefinitely.",
        "Un ordinateur qui ne renouvelle plus son mot de passe garde indéfiniment un secret volable.",
        "Check the machines' secure channel and the policy disabling machine password changes.",
        "Vérifier le canal sécurisé des machines et la stratégie désactivant le changement du mot de passe machine.",
        inf05
    ),
    r!(
        "INF-06",
        Infrastructure,
        3,
        Some("vuln3_password_change_inactive_servers"),
        Some("S-C-Inactive"),
        ["INV-01"],
        "Inactive computer accounts",
        "Comptes d'ordinateurs inactifs",
        "Stale computer accounts blur the inventory and can be reused by attackers.",
        "Les comptes d'ordinateurs obsolètes faussent l'inventaire et peuvent être réutilisés par un attaquant.",
        "Disable then delete computer accounts without logon for the configured period.",
        "Désactiver puis supprimer les comptes d'ordinateurs sans connexion depuis la période configurée.",
        inf06
    ),
    r!(
        "INF-07",
        Infrastructure,
        2,
        None,
        Some("S-OS-*"),
        ["VUL-02"],
        "Computers with an unsupported operating system",
        "Ordinateurs avec un système d'exploitation non supporté",
        "Systems out of vendor support receive no security fixes.",
        "Les systèmes hors support ne reçoivent plus de correctifs de sécurité.",
        "Upgrade, or isolate them and record them in the exit plan.",
        "Mettre à jour, ou les isoler et les inscrire au plan de sortie.",
        inf07
    ),
    r!(
        "INF-08",
        Infrastructure,
        2,
        Some("vuln2_dsheuristics_bad"),
        Some("A-DsHeuristicsAnonymous"),
        [],
        "Anonymous LDAP operations allowed (dSHeuristics)",
        "Opérations LDAP anonymes autorisées (dSHeuristics)",
        "Anonymous users can read the directory.",
        "Les utilisateurs anonymes peuvent lire l'annuaire.",
        "Reset the 7th character of dSHeuristics to 0.",
        "Remettre à 0 le 7e caractère de dSHeuristics.",
        inf08
    ),
    r!(
        "INF-09",
        Infrastructure,
        1,
        Some("vuln1_password_change_dc_no_change"),
        Some("S-PwdLastSet-DC"),
        ["IAM-05"],
        "Domain controllers not changing their account password",
        "Contrôleurs de domaine ne changeant pas le mot de passe de leur compte",
        "A DC account password that no longer rotates often reveals a broken or restored DC.",
        "Un mot de passe de compte de DC qui ne change plus révèle souvent un DC en panne ou restauré.",
        "Check replication and the DC's health; reset the machine password.",
        "Vérifier la réplication et l'état du DC ; réinitialiser le mot de passe machine.",
        inf09
    ),
    r!(
        "INF-10",
        Infrastructure,
        1,
        Some("vuln1_password_change_inactive_dc"),
        Some("S-DC-Inactive"),
        ["INV-01"],
        "Inactive domain controllers",
        "Contrôleurs de domaine inactifs",
        "A DC that no longer logs on is probably gone but still trusted by the domain.",
        "Un DC qui ne se connecte plus a probablement disparu mais reste approuvé par le domaine.",
        "Clean up the metadata of decommissioned DCs.",
        "Nettoyer les métadonnées des DC décommissionnés.",
        inf10
    ),
    r!(
        "INF-11",
        Infrastructure,
        1,
        Some("vuln1_dc_obsolete"),
        Some("S-DC-2012"),
        ["VUL-02"],
        "Domain controllers with an unsupported operating system",
        "Contrôleurs de domaine avec un système non supporté",
        "An unpatched DC exposes the whole domain.",
        "Un DC non corrigé expose tout le domaine.",
        "Replace these DCs with supported versions.",
        "Remplacer ces DC par des versions supportées.",
        inf11
    ),
    r!(
        "INF-12",
        Infrastructure,
        1,
        Some("vuln1_functional_level"),
        Some("S-FunctionalLevel1"),
        ["VUL-02"],
        "Functional level below Windows Server 2008 R2",
        "Niveau fonctionnel inférieur à Windows Server 2008 R2",
        "Very old functional levels keep obsolete, weak protocols.",
        "Les niveaux fonctionnels très anciens conservent des protocoles obsolètes et faibles.",
        "Raise the domain and forest functional levels.",
        "Relever les niveaux fonctionnels du domaine et de la forêt.",
        inf12
    ),
    r!(
        "INF-13",
        Infrastructure,
        1,
        Some("vuln1_dsheuristics_bad"),
        Some("P-DsHeuristicsAdminSDExMask"),
        ["INV-04"],
        "Operator groups excluded from AdminSDHolder protection",
        "Groupes d'opérateurs exclus de la protection AdminSDHolder",
        "dwAdminSDExMask removes SDProp protection from operator groups, a known persistence trick.",
        "dwAdminSDExMask retire la protection SDProp des groupes d'opérateurs, technique de persistance connue.",
        "Reset the 16th character of dSHeuristics to 0.",
        "Remettre à 0 le 16e caractère de dSHeuristics.",
        inf13
    ),
    r!(
        "INF-14",
        Infrastructure,
        3,
        None,
        Some("P-RecycleBin"),
        [],
        "Active Directory Recycle Bin not enabled",
        "Corbeille Active Directory non activée",
        "Without the Recycle Bin, deleted objects lose their attributes and restore needs a backup.",
        "Sans corbeille, les objets supprimés perdent leurs attributs et leur restauration exige une sauvegarde.",
        "Enable the Recycle Bin optional feature.",
        "Activer la fonctionnalité optionnelle Corbeille.",
        inf14
    ),
    r!(
        "INF-15",
        Infrastructure,
        1,
        Some("vuln1_dc_inconsistent_uac"),
        Some("S-DCRegistration"),
        ["INV-01"],
        "Domain controllers with inconsistent account flags",
        "Contrôleurs de domaine aux indicateurs de compte incohérents",
        "A DC object without the expected flags is misregistered or a rogue object.",
        "Un objet DC sans les indicateurs attendus est mal enregistré ou illégitime.",
        "Restore userAccountControl to 0x82000 (RODC 0x5001000) and check the DC registration.",
        "Rétablir userAccountControl à 0x82000 (RODC 0x5001000) et vérifier l'enregistrement du DC.",
        inf15
    ),
    r!(
        "INF-16",
        Infrastructure,
        3,
        Some("vuln3_compatible_2000_not_default"),
        Some("A-PreWin2000Other"),
        [],
        "Pre-Windows 2000 Compatible Access is not empty",
        "« Pre-Windows 2000 Compatible Access » n'est pas vide",
        "Its members get broad read access kept only for legacy systems.",
        "Ses membres ont un large accès en lecture conservé pour d'anciens systèmes.",
        "Empty the group once no legacy system depends on it.",
        "Vider le groupe quand plus aucun ancien système n'en dépend.",
        inf16
    ),
    r!(
        "INF-17",
        Infrastructure,
        4,
        Some("vuln4_group_loop"),
        None,
        ["INV-04"],
        "Group nesting loops",
        "Boucles d'imbrication de groupes",
        "Loops make effective membership hard to review.",
        "Les boucles rendent l'appartenance effective difficile à vérifier.",
        "Break the loops.",
        "Casser les boucles.",
        inf17
    ),
    r!(
        "INF-18",
        Infrastructure,
        3,
        None,
        Some("A-LAPS-Joined-Computers"),
        ["IAM-07", "END-05"],
        "Computers without a current LAPS password",
        "Ordinateurs sans mot de passe LAPS à jour",
        "These machines probably share a local administrator password.",
        "Ces machines partagent probablement un mot de passe d'administrateur local.",
        "Apply the LAPS policy to these computers and check its event logs.",
        "Appliquer la stratégie LAPS à ces ordinateurs et vérifier ses journaux.",
        inf18
    ),
];
