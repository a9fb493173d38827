//! The pure snapshot of a domain that the rules read, and the builder that makes it from raw
//! entries (live LDAP or LDIF alike).

use crate::raw::RawEntry;
use crate::sd::SecurityDescriptor;
use crate::sid::Sid;
use crate::time::{filetime, generalized_time, interval_days};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

pub mod uac {
    pub const ACCOUNTDISABLE: u32 = 0x2;
    pub const PASSWD_NOTREQD: u32 = 0x20;
    pub const ENCRYPTED_TEXT_PWD_ALLOWED: u32 = 0x80;
    pub const NORMAL_ACCOUNT: u32 = 0x200;
    pub const INTERDOMAIN_TRUST_ACCOUNT: u32 = 0x800;
    pub const WORKSTATION_TRUST_ACCOUNT: u32 = 0x1000;
    pub const SERVER_TRUST_ACCOUNT: u32 = 0x2000;
    pub const DONT_EXPIRE_PASSWORD: u32 = 0x10000;
    pub const SMARTCARD_REQUIRED: u32 = 0x40000;
    pub const TRUSTED_FOR_DELEGATION: u32 = 0x80000;
    pub const NOT_DELEGATED: u32 = 0x100000;
    pub const USE_DES_KEY_ONLY: u32 = 0x200000;
    pub const DONT_REQ_PREAUTH: u32 = 0x400000;
    pub const TRUSTED_TO_AUTH_FOR_DELEGATION: u32 = 0x1000000;
    pub const PARTIAL_SECRETS_ACCOUNT: u32 = 0x4000000;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    User,
    Computer,
    ManagedServiceAccount,
    /// Inter-domain trust accounts: not audited as users.
    Trust,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub dn: String,
    pub name: String,
    pub kind: AccountKind,
    pub sid: Option<Sid>,
    pub uac: u32,
    pub primary_group_id: Option<u32>,
    /// `None` when never set or "must change at next logon" (`pwdLastSet = 0`).
    pub pwd_last_set: Option<Timestamp>,
    pub last_logon: Option<Timestamp>,
    pub when_created: Option<Timestamp>,
    pub spns: Vec<String>,
    pub enctypes: Option<u32>,
    pub delegate_to: Vec<String>,
    /// Principals allowed by `msDS-AllowedToActOnBehalfOfOtherIdentity` (RBCD).
    pub rbcd_principals: Vec<Sid>,
    pub sid_history: Vec<Sid>,
    pub admin_count: bool,
    pub has_mail: bool,
    /// `userPassword` or `unixUserPassword` is populated (the value is never kept).
    pub password_attributes: bool,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub laps_expiry: Option<Timestamp>,
}

impl Account {
    pub fn enabled(&self) -> bool {
        self.uac & uac::ACCOUNTDISABLE == 0
    }
    pub fn has(&self, flag: u32) -> bool {
        self.uac & flag != 0
    }
    pub fn is_dc(&self) -> bool {
        self.kind == AccountKind::Computer
            && (self.has(uac::SERVER_TRUST_ACCOUNT)
                || self.has(uac::PARTIAL_SECRETS_ACCOUNT)
                || matches!(self.primary_group_id, Some(516 | 521)))
    }
    pub fn rid(&self) -> Option<u32> {
        self.sid.as_ref().and_then(Sid::rid)
    }
    /// When the password was last set: pwdLastSet, else creation (a password never changed).
    pub fn password_set(&self) -> Option<Timestamp> {
        self.pwd_last_set.or(self.when_created)
    }
    /// The last sign of life: last logon, else creation.
    pub fn last_activity(&self) -> Option<Timestamp> {
        self.last_logon.or(self.when_created)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub dn: String,
    pub name: String,
    pub sid: Option<Sid>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pso {
    pub dn: String,
    pub name: String,
    pub precedence: u32,
    pub min_length: u32,
    pub max_age_days: Option<f64>,
    pub complexity: bool,
    pub reversible: bool,
    pub history: u32,
    pub lockout_threshold: u32,
    pub applies_to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    pub dn: String,
    pub sid: Option<Sid>,
    pub min_pwd_length: u32,
    pub pwd_properties: u32,
    pub pwd_history_length: u32,
    /// `None`: passwords never expire.
    pub max_pwd_age_days: Option<f64>,
    pub lockout_threshold: u32,
    pub machine_account_quota: Option<u32>,
    pub functional_level: Option<u32>,
    pub smartcard_expire_passwords: bool,
}

impl Domain {
    /// `DC=chu,DC=test` → `chu.test`.
    pub fn dns_name(&self) -> String {
        self.dn
            .split(',')
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("dc")
                    .then(|| v.trim().to_ascii_lowercase())
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Everything the rules read about one domain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdSnapshot {
    pub domain: Domain,
    pub accounts: Vec<Account>,
    pub groups: Vec<Group>,
    pub psos: Vec<Pso>,
    /// Security descriptors read with the SD flags control, by lower-case DN.
    pub security_descriptors: BTreeMap<String, SecurityDescriptor>,
    pub forest_level: Option<u32>,
    pub ds_heuristics: Option<String>,
    pub recycle_bin: bool,
    pub laps_legacy_schema: bool,
    pub laps_windows_schema: bool,
    /// At least one DC reports Samba as its operating system.
    pub is_samba: bool,
}

impl AdSnapshot {
    pub fn adminsdholder_dn(&self) -> String {
        format!("CN=AdminSDHolder,CN=System,{}", self.domain.dn)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("entry '{dn}': attribute '{attr}': {message}")]
    Attribute {
        dn: String,
        attr: String,
        message: String,
    },
    #[error(
        "no domain object (objectClass domainDNS) was read: the export or search is incomplete"
    )]
    NoDomain,
    #[error("more than one domain object was read ('{0}' and '{1}'): audit one domain at a time")]
    TwoDomains(String, String),
}

fn attr_err(e: &RawEntry, attr: &str, message: impl Into<String>) -> ModelError {
    ModelError::Attribute {
        dn: e.dn.clone(),
        attr: attr.to_string(),
        message: message.into(),
    }
}

fn int(e: &RawEntry, attr: &str) -> Result<Option<i64>, ModelError> {
    match e.str(attr) {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| attr_err(e, attr, format!("'{s}' is not an integer"))),
    }
}

fn uint(e: &RawEntry, attr: &str) -> Result<Option<u32>, ModelError> {
    // AD writes some 32-bit flag attributes as signed values (e.g. -2147483646 groupType).
    Ok(int(e, attr)?.map(|v| v as u32))
}

fn boolean(e: &RawEntry, attr: &str) -> bool {
    e.str(attr)
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("TRUE"))
}

fn sid(e: &RawEntry, attr: &str) -> Result<Option<Sid>, ModelError> {
    match e.first(attr) {
        None => Ok(None),
        Some(b) => Sid::from_bytes(b)
            .map(Some)
            .ok_or_else(|| attr_err(e, attr, "malformed binary SID")),
    }
}

fn gentime(e: &RawEntry, attr: &str) -> Result<Option<Timestamp>, ModelError> {
    match e.str(attr) {
        None => Ok(None),
        Some(s) => generalized_time(&s)
            .map(Some)
            .ok_or_else(|| attr_err(e, attr, format!("'{s}' is not a GeneralizedTime"))),
    }
}

fn ftime(e: &RawEntry, attr: &str) -> Result<Option<Timestamp>, ModelError> {
    Ok(int(e, attr)?.and_then(filetime))
}

/// Turns raw entries, in any order, into an [`AdSnapshot`].
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    snap: AdSnapshot,
    domain_seen: bool,
    password_attr_dns: BTreeSet<String>,
}

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, e: RawEntry) -> Result<(), ModelError> {
        let dn_lower = e.dn.to_ascii_lowercase();
        if e.has("userpassword") || e.has("unixuserpassword") {
            self.password_attr_dns.insert(dn_lower.clone());
        }
        if let Some(b) = e.first("ntsecuritydescriptor") {
            let sd = SecurityDescriptor::parse(b)
                .map_err(|x| attr_err(&e, "nTSecurityDescriptor", x.to_string()))?;
            self.snap.security_descriptors.insert(dn_lower.clone(), sd);
        }
        let oc = |c: &str| e.has_value("objectclass", c);
        if oc("domainDNS") {
            if self.domain_seen && !self.snap.domain.dn.eq_ignore_ascii_case(&e.dn) {
                return Err(ModelError::TwoDomains(
                    self.snap.domain.dn.clone(),
                    e.dn.clone(),
                ));
            }
            self.domain_seen = true;
            let d = &mut self.snap.domain;
            d.dn = e.dn.clone();
            d.sid = sid(&e, "objectSid")?;
            d.min_pwd_length = uint(&e, "minPwdLength")?.unwrap_or(0);
            d.pwd_properties = uint(&e, "pwdProperties")?.unwrap_or(0);
            d.pwd_history_length = uint(&e, "pwdHistoryLength")?.unwrap_or(0);
            d.max_pwd_age_days = int(&e, "maxPwdAge")?.and_then(interval_days);
            d.lockout_threshold = uint(&e, "lockoutThreshold")?.unwrap_or(0);
            d.machine_account_quota = uint(&e, "ms-DS-MachineAccountQuota")?;
            d.functional_level = uint(&e, "msDS-Behavior-Version")?;
            d.smartcard_expire_passwords =
                boolean(&e, "msDS-ExpirePasswordsOnSmartCardOnlyAccounts");
        } else if oc("msDS-PasswordSettings") {
            self.snap.psos.push(Pso {
                dn: e.dn.clone(),
                name: e.str("cn").unwrap_or_else(|| e.dn.clone()),
                precedence: uint(&e, "msDS-PasswordSettingsPrecedence")?.unwrap_or(0),
                min_length: uint(&e, "msDS-MinimumPasswordLength")?.unwrap_or(0),
                max_age_days: int(&e, "msDS-MaximumPasswordAge")?.and_then(interval_days),
                complexity: boolean(&e, "msDS-PasswordComplexityEnabled"),
                reversible: boolean(&e, "msDS-PasswordReversibleEncryptionEnabled"),
                history: uint(&e, "msDS-PasswordHistoryLength")?.unwrap_or(0),
                lockout_threshold: uint(&e, "msDS-LockoutThreshold")?.unwrap_or(0),
                applies_to: e.strings("msDS-PSOAppliesTo"),
            });
        } else if oc("group") {
            self.snap.groups.push(Group {
                dn: e.dn.clone(),
                name: e.str("sAMAccountName").unwrap_or_else(|| e.dn.clone()),
                sid: sid(&e, "objectSid")?,
                members: e.strings("member"),
            });
        } else if oc("user") || oc("computer") {
            self.add_account(&e)?;
        } else if oc("crossRefContainer") {
            self.snap.forest_level = uint(&e, "msDS-Behavior-Version")?;
            self.snap.recycle_bin = e
                .strings("msDS-EnabledFeature")
                .iter()
                .any(|f| f.to_ascii_lowercase().starts_with("cn=recycle bin feature"));
        } else if oc("nTDSService") {
            self.snap.ds_heuristics = e.str("dSHeuristics");
        } else if oc("attributeSchema") {
            match e
                .str("lDAPDisplayName")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "ms-mcs-admpwd" | "ms-mcs-admpwdexpirationtime" => {
                    self.snap.laps_legacy_schema = true
                }
                "mslaps-password"
                | "mslaps-passwordexpirationtime"
                | "mslaps-encryptedpassword" => self.snap.laps_windows_schema = true,
                _ => {}
            }
        }
        Ok(())
    }

    fn add_account(&mut self, e: &RawEntry) -> Result<(), ModelError> {
        let uac_v = uint(e, "userAccountControl")?.unwrap_or(0);
        let oc = |c: &str| e.has_value("objectclass", c);
        let kind = if uac_v & uac::INTERDOMAIN_TRUST_ACCOUNT != 0 {
            AccountKind::Trust
        } else if oc("msDS-GroupManagedServiceAccount") || oc("msDS-ManagedServiceAccount") {
            AccountKind::ManagedServiceAccount
        } else if oc("computer") {
            AccountKind::Computer
        } else {
            AccountKind::User
        };
        let rbcd_principals = match e.first("msDS-AllowedToActOnBehalfOfOtherIdentity") {
            None => Vec::new(),
            Some(b) => {
                let sd = SecurityDescriptor::parse(b).map_err(|x| {
                    attr_err(e, "msDS-AllowedToActOnBehalfOfOtherIdentity", x.to_string())
                })?;
                sd.dacl
                    .into_iter()
                    .filter(|a| a.is_allow())
                    .map(|a| a.sid)
                    .collect()
            }
        };
        let mut sid_history = Vec::new();
        for b in e.values("sIDHistory") {
            sid_history.push(
                Sid::from_bytes(b)
                    .ok_or_else(|| attr_err(e, "sIDHistory", "malformed binary SID"))?,
            );
        }
        let laps = match (
            ftime(e, "msLAPS-PasswordExpirationTime")?,
            ftime(e, "ms-Mcs-AdmPwdExpirationTime")?,
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let account = Account {
            dn: e.dn.clone(),
            name: e.str("sAMAccountName").unwrap_or_else(|| e.dn.clone()),
            kind,
            sid: sid(e, "objectSid")?,
            uac: uac_v,
            primary_group_id: uint(e, "primaryGroupID")?,
            pwd_last_set: ftime(e, "pwdLastSet")?,
            last_logon: ftime(e, "lastLogonTimestamp")?,
            when_created: gentime(e, "whenCreated")?,
            spns: e.strings("servicePrincipalName"),
            enctypes: uint(e, "msDS-SupportedEncryptionTypes")?,
            delegate_to: e.strings("msDS-AllowedToDelegateTo"),
            rbcd_principals,
            sid_history,
            admin_count: int(e, "adminCount")?.is_some_and(|v| v != 0),
            has_mail: e.has("mail"),
            password_attributes: false,
            os: e.str("operatingSystem"),
            os_version: e.str("operatingSystemVersion"),
            laps_expiry: laps,
        };
        self.snap.accounts.push(account);
        Ok(())
    }

    /// Mark an object as having a password-like attribute populated, without its value
    /// (the live collector learns this from a presence filter).
    pub fn mark_password_attribute(&mut self, dn: &str) {
        self.password_attr_dns.insert(dn.to_ascii_lowercase());
    }

    /// The domain SID, once the domain object has been read.
    pub fn domain_sid(&self) -> Option<Sid> {
        self.snap.domain.sid.clone()
    }

    pub fn finish(mut self) -> Result<AdSnapshot, ModelError> {
        if !self.domain_seen {
            return Err(ModelError::NoDomain);
        }
        for a in &mut self.snap.accounts {
            a.password_attributes = self.password_attr_dns.contains(&a.dn.to_ascii_lowercase());
        }
        self.snap.is_samba = self.snap.accounts.iter().any(|a| {
            a.is_dc()
                && a.os
                    .as_deref()
                    .is_some_and(|o| o.to_ascii_lowercase().contains("samba"))
        });
        // Deterministic order whatever the order of reading.
        self.snap
            .accounts
            .sort_by_key(|a| a.dn.to_ascii_lowercase());
        self.snap.groups.sort_by_key(|a| a.dn.to_ascii_lowercase());
        for g in &mut self.snap.groups {
            g.members.sort_by_key(|m| m.to_ascii_lowercase());
        }
        self.snap.psos.sort_by_key(|a| a.dn.to_ascii_lowercase());
        Ok(self.snap)
    }
}
