//! Web users, their roles and bindings, sessions, API tokens and the first-run bootstrap token.
//!
//! The store never sees a secret in clear: the web layer hands it Argon2id PHC strings for
//! passwords and SHA-256 digests for session ids, API tokens and the bootstrap token. The only
//! readable secret is the TOTP seed, which a verifier needs by construction.

use crate::batch::Value;
use crate::journal::{Actor, WriteTx, append};
use crate::{Result, Store, StoreError, now_us};
use hygie_core::{Finess, Region};
use serde::Serialize;
use sqlx::Row;

/// What a user does in Hygie; decides what they may do within their binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Ciso,
    Dpo,
    ItStaff,
    Ambassador,
    Auditor,
    RegionalOfficer,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Administrator,
        Role::Ciso,
        Role::Dpo,
        Role::ItStaff,
        Role::Ambassador,
        Role::Auditor,
        Role::RegionalOfficer,
    ];

    /// The role with the fewest rights (no writing, no journal, no token, no second factor to
    /// set up): what a new account is offered first.
    pub const LEAST: Role = Role::Ambassador;

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Ciso => "ciso",
            Role::Dpo => "dpo",
            Role::ItStaff => "it_staff",
            Role::Ambassador => "ambassador",
            Role::Auditor => "auditor",
            Role::RegionalOfficer => "regional_officer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, hygie_core::InvalidValue> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                hygie_core::InvalidValue::new(
                    "role",
                    format!(
                        "'{s}' is not a role (administrator, ciso, dpo, it_staff, ambassador, auditor, regional_officer)"
                    ),
                )
            })
    }

    pub fn label(self) -> hygie_core::Localized {
        use hygie_core::Localized as L;
        match self {
            Role::Administrator => L::new("administrator", "administrateur"),
            Role::Ciso => L::new("facility CISO", "RSSI de l'établissement"),
            Role::Dpo => L::new("DPO", "DPO"),
            Role::ItStaff => L::new("IT staff", "équipe informatique"),
            Role::Ambassador => L::new("security ambassador", "ambassadeur sécurité"),
            Role::Auditor => L::new("read-only auditor", "auditeur (lecture seule)"),
            Role::RegionalOfficer => L::new("regional officer", "référent régional (ARS)"),
        }
    }

    /// NIS 2 strong authentication: these roles must use a second factor.
    pub fn requires_totp(self) -> bool {
        matches!(
            self,
            Role::Administrator | Role::Ciso | Role::Dpo | Role::RegionalOfficer
        )
    }

    /// May change a facility's plan (declarations, evidence).
    pub fn can_write(self) -> bool {
        matches!(
            self,
            Role::Administrator | Role::Ciso | Role::Dpo | Role::ItStaff
        )
    }

    /// May read the journal of the facilities in scope.
    pub fn can_read_journal(self) -> bool {
        matches!(
            self,
            Role::Administrator | Role::Ciso | Role::Dpo | Role::Auditor | Role::RegionalOfficer
        )
    }

    /// May create and revoke API tokens for the facilities in scope.
    pub fn can_manage_tokens(self) -> bool {
        matches!(self, Role::Administrator | Role::Ciso)
    }
}

/// What part of the installation a user (or token) sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Binding {
    /// Every facility and region (installation administrators only).
    Installation,
    /// Every facility of one region (regional officers, regional auditors and administrators).
    Region { region: Region },
    /// A list of facilities.
    Facilities { facilities: Vec<Finess> },
}

impl Binding {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Binding::Installation => "installation",
            Binding::Region { .. } => "region",
            Binding::Facilities { .. } => "facilities",
        }
    }

    /// Whether a facility of `region` with id `id` is in this binding.
    pub fn covers(&self, id: &Finess, region: Region) -> bool {
        match self {
            Binding::Installation => true,
            Binding::Region { region: r } => *r == region,
            Binding::Facilities { facilities } => facilities.contains(id),
        }
    }

    /// Whether this binding holds everything `other` holds (for delegation).
    pub fn includes(&self, other: &Binding, region_of: impl Fn(&Finess) -> Option<Region>) -> bool {
        match (self, other) {
            (Binding::Installation, _) => true,
            (_, Binding::Installation) => false,
            (Binding::Region { region: a }, Binding::Region { region: b }) => a == b,
            (Binding::Region { region }, Binding::Facilities { facilities }) => {
                facilities.iter().all(|f| region_of(f) == Some(*region))
            }
            (Binding::Facilities { .. }, Binding::Region { .. }) => false,
            (Binding::Facilities { facilities: a }, Binding::Facilities { facilities: b }) => {
                b.iter().all(|f| a.contains(f))
            }
        }
    }

    /// Check that a role may have this binding.
    pub fn check_for(&self, role: Role) -> Result<(), hygie_core::InvalidValue> {
        let bad = |m: &str| Err(hygie_core::InvalidValue::new("binding", m.to_owned()));
        match (self, role) {
            (Binding::Installation, Role::Administrator) => Ok(()),
            (Binding::Installation, _) => {
                bad("only an administrator can be bound to the whole installation")
            }
            (
                Binding::Region { .. },
                Role::Administrator | Role::Auditor | Role::RegionalOfficer,
            ) => Ok(()),
            (Binding::Region { .. }, _) => bad("this role is bound to facilities, not to a region"),
            (Binding::Facilities { .. }, Role::RegionalOfficer) => {
                bad("a regional officer is bound to a region")
            }
            (Binding::Facilities { facilities }, _) if facilities.is_empty() => {
                bad("name at least one facility")
            }
            (Binding::Facilities { .. }, _) => Ok(()),
        }
    }
}

/// A user as the web layer sees it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub binding: Binding,
    pub totp_enrolled: bool,
    pub lang: Option<String>,
    pub disabled: bool,
    /// Until when a lock (of the password or of the second factor) refuses this user's logins,
    /// when one is running.
    pub locked_until: Option<jiff::Timestamp>,
    /// The password was set by someone else (an administrator's reset): its holder must choose
    /// another at the next login.
    pub must_change_password: bool,
    /// Who checks the password: Hygie (`local`), the hospital's directory (`directory`) or an
    /// OpenID Connect provider (`oidc:<provider>`).
    pub sign_in: SignIn,
    /// When a password (or a directory bind) of this user was last accepted.
    pub last_login: Option<jiff::Timestamp>,
}

/// Who checks a user's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Hygie, against the Argon2id hash it keeps.
    Local,
    /// The hospital's Active Directory, by a bind with the user's own credentials; role and
    /// binding follow the user's groups at each login.
    Directory,
    /// An OpenID Connect provider (its configured name); role and binding follow a claim of the
    /// provider's ID token at each login.
    Oidc(String),
}

impl SignIn {
    /// As stored and journalled: `local`, `directory`, `oidc:<provider>`.
    pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
        match self {
            SignIn::Local => "local".into(),
            SignIn::Directory => "directory".into(),
            SignIn::Oidc(p) => format!("oidc:{p}").into(),
        }
    }

    pub fn label(&self) -> hygie_core::Localized {
        match self {
            SignIn::Local => hygie_core::Localized::new("local password", "mot de passe local"),
            SignIn::Directory => hygie_core::Localized::new("Active Directory", "Active Directory"),
            SignIn::Oidc(p) => hygie_core::Localized::new(
                format!("single sign-on ({p})"),
                format!("authentification unique ({p})"),
            ),
        }
    }

    /// Whether a password typed into Hygie's form is checked elsewhere or nowhere.
    pub fn is_local(&self) -> bool {
        *self == SignIn::Local
    }

    fn parse(s: &str) -> Option<SignIn> {
        match s {
            "local" => Some(SignIn::Local),
            "directory" => Some(SignIn::Directory),
            _ => s
                .strip_prefix("oidc:")
                .filter(|p| !p.is_empty())
                .map(|p| SignIn::Oidc(p.to_owned())),
        }
    }
}

impl Serialize for SignIn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl User {
    /// Every value of `status`.
    pub const STATUSES: [&'static str; 3] = ["active", "locked", "disabled"];

    /// Where the account stands, as lists show it: `disabled`, `locked` (a lock is running) or
    /// `active`.
    pub fn status(&self) -> &'static str {
        if self.disabled {
            "disabled"
        } else if self.locked_until.is_some() {
            "locked"
        } else {
            "active"
        }
    }
}

/// The private part of a user, for the login flow only.
#[derive(Clone)]
pub struct Credentials {
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: jiff::Timestamp,
    /// Consecutive wrong second-factor codes (reset only by a correct code).
    pub totp_failures: i64,
    /// Until when the second factor refuses every code.
    pub totp_locked_until: jiff::Timestamp,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub binding: Binding,
    /// An Argon2id PHC string, never the password.
    pub password_hash: String,
    pub lang: Option<String>,
}

/// The factor a login failure is counted against; each has its own count and lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    Totp,
}

/// How a lock backs off: every `failures_per_lock` consecutive failures lock for `first`, then
/// twice as long at each further lock, never longer than `longest`. A lock always ends, so no
/// account (the last administrator's included) is locked for good; an attacker gets a handful of
/// guesses a day instead of thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub failures_per_lock: i64,
    pub first: jiff::SignedDuration,
    pub longest: jiff::SignedDuration,
}

impl Backoff {
    /// The lock that the `failures`-th consecutive failure sets, if it sets one.
    pub fn lock_after(&self, failures: i64) -> Option<jiff::SignedDuration> {
        if self.failures_per_lock <= 0 || failures <= 0 || failures % self.failures_per_lock != 0 {
            return None;
        }
        let doublings = (failures / self.failures_per_lock - 1).clamp(0, 30) as u32;
        let secs = self.first.as_secs().saturating_mul(1i64 << doublings);
        Some(jiff::SignedDuration::from_secs(secs).min(self.longest))
    }
}

const USER_COLS: &str = "id, username, display_name, role, binding, region, totp_confirmed, lang, disabled, password_hash, totp_secret, totp_last_step, failed_logins, locked_until_us, totp_failures, totp_locked_until_us, must_change_password, auth_source, last_login_us";

impl Store {
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Create a user; refuses a taken username and a binding the role cannot have.
    pub async fn create_user(&self, u: &NewUser, actor: &Actor) -> Result<User> {
        check_new_user(u)?;
        let id = self
            .write(|tx| Box::pin(async move { insert_user(tx, u, actor).await }))
            .await?;
        self.user(id).await
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        Ok(self.user_by_id(id).await?.0)
    }

    /// A user and their credentials, by id.
    async fn user_by_id(&self, id: i64) -> Result<(User, Credentials)> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        self.row_to_user(&row).await
    }

    /// A user and their credentials, by username (for the login flow).
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, Credentials)>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE username = $1"
        ))
        .bind(username.trim())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.row_to_user(&r).await?)),
            None => Ok(None),
        }
    }

    /// A user by username (the command line names users; the web uses ids).
    pub async fn user_named(&self, username: &str) -> Result<User> {
        self.user_for_login(username)
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| StoreError::NotFound(format!("user {}", username.trim())))
    }

    /// Credentials of a user by id (for the TOTP step of the login flow).
    pub async fn credentials(&self, id: i64) -> Result<Credentials> {
        Ok(self.user_by_id(id).await?.1)
    }

    /// Every user whose binding lies within `within` (for administrators).
    pub async fn users_within(&self, within: &Binding) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users ORDER BY username"))
            .fetch_all(&self.pool)
            .await?;
        let regions = self.facility_regions().await?;
        let mut out = Vec::new();
        for r in &rows {
            let (u, _) = self.row_to_user(r).await?;
            if within.includes(&u.binding, |f| regions.get(f).copied()) {
                out.push(u);
            }
        }
        Ok(out)
    }

    pub(crate) async fn facility_regions(
        &self,
    ) -> Result<std::collections::BTreeMap<Finess, Region>> {
        let rows = sqlx::query("SELECT finess, region FROM facilities")
            .fetch_all(&self.pool)
            .await?;
        let mut out = std::collections::BTreeMap::new();
        for r in rows {
            let f: String = r.try_get("finess")?;
            let g: String = r.try_get("region")?;
            let corrupt = |e: hygie_core::InvalidValue| StoreError::Corrupt(e.to_string());
            out.insert(
                Finess::parse(&f).map_err(corrupt)?,
                Region::parse(&g).map_err(corrupt)?,
            );
        }
        Ok(out)
    }

    async fn row_to_user(&self, r: &sqlx::any::AnyRow) -> Result<(User, Credentials)> {
        let id: i64 = r.try_get("id")?;
        let role: String = r.try_get("role")?;
        let role = Role::parse(&role).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let binding: String = r.try_get("binding")?;
        let binding = match binding.as_str() {
            "installation" => Binding::Installation,
            "region" => {
                let region: Option<String> = r.try_get("region")?;
                Binding::Region {
                    region: Region::parse(region.as_deref().unwrap_or(""))
                        .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
                }
            }
            "facilities" => {
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT facility FROM user_facilities WHERE user_id = $1 ORDER BY facility",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                Binding::Facilities {
                    facilities: rows
                        .iter()
                        .map(|f| Finess::parse(f))
                        .collect::<Result<_, _>>()
                        .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
                }
            }
            o => return Err(StoreError::Corrupt(format!("user {id}: binding '{o}'"))),
        };
        let locked: i64 = r.try_get("locked_until_us")?;
        let totp_locked: i64 = r.try_get("totp_locked_until_us")?;
        let lock_end = locked.max(totp_locked);
        let locked_until = if lock_end > now_us() {
            Some(crate::ts_from_us(lock_end)?)
        } else {
            None
        };
        Ok((
            User {
                id,
                username: r.try_get("username")?,
                display_name: r.try_get("display_name")?,
                role,
                binding,
                totp_enrolled: r.try_get::<i64, _>("totp_confirmed")? != 0,
                lang: r.try_get("lang")?,
                disabled: r.try_get::<i64, _>("disabled")? != 0,
                locked_until,
                must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
                sign_in: {
                    let s: String = r.try_get("auth_source")?;
                    SignIn::parse(&s).ok_or_else(|| {
                        StoreError::Corrupt(format!("user {id}: sign-in method '{s}'"))
                    })?
                },
                last_login: match r.try_get::<i64, _>("last_login_us")? {
                    0 => None,
                    us => Some(crate::ts_from_us(us)?),
                },
            },
            Credentials {
                password_hash: r.try_get("password_hash")?,
                totp_secret: r.try_get("totp_secret")?,
                totp_last_step: r.try_get("totp_last_step")?,
                failed_logins: r.try_get("failed_logins")?,
                locked_until: crate::ts_from_us(locked)?,
                totp_failures: r.try_get("totp_failures")?,
                totp_locked_until: crate::ts_from_us(totp_locked)?,
            },
        ))
    }

    /// A success of `factor` ends its count of failures (the other factor's count stays).
    /// Not journalled, like every login counter: bookkeeping of the login flow.
    pub async fn reset_failures(&self, user_id: i64, factor: Factor) -> Result<()> {
        let sql = match factor {
            Factor::Password => "UPDATE users SET failed_logins = 0 WHERE id = $1",
            Factor::Totp => "UPDATE users SET totp_failures = 0 WHERE id = $1",
        };
        self.bookkeeping(sql, &[Value::I64(user_id)]).await?;
        Ok(())
    }

    /// Count a failure of one factor (a wrong password, a wrong code). Every
    /// `policy.failures_per_lock` consecutive failures lock that factor for a time that grows with
    /// each lock (journalled, with the count); a success of the same factor ends the count
    /// ([`Store::reset_failures`]): a correct password does
    /// not reset the second factor's. Returns the lock's end when this failure locks.
    pub async fn record_failure(
        &self,
        user_id: i64,
        factor: Factor,
        policy: &Backoff,
    ) -> Result<Option<jiff::Timestamp>> {
        let (count, lock, action) = match factor {
            Factor::Password => ("failed_logins", "locked_until_us", "auth.lockout"),
            Factor::Totp => ("totp_failures", "totp_locked_until_us", "auth.totp_lockout"),
        };
        self.write(|tx| {
            Box::pin(async move {
                sqlx::query(&format!(
                    "UPDATE users SET {count} = {count} + 1 WHERE id = $1"
                ))
                .bind(user_id)
                .execute(&mut **tx)
                .await?;
                let r = sqlx::query(&format!(
                    "SELECT {count} AS n, username FROM users WHERE id = $1"
                ))
                .bind(user_id)
                .fetch_one(&mut **tx)
                .await?;
                let failures: i64 = r.try_get("n")?;
                let username: String = r.try_get("username")?;
                let Some(lock_for) = policy.lock_after(failures) else {
                    return Ok(None);
                };
                let until = jiff::Timestamp::now()
                    .checked_add(lock_for)
                    .map_err(|e| StoreError::Invalid(format!("lock of user {user_id}: {e}")))?;
                sqlx::query(&format!("UPDATE users SET {lock} = $2 WHERE id = $1"))
                    .bind(user_id)
                    .bind(until.as_microsecond())
                    .execute(&mut **tx)
                    .await?;
                let details =
                    serde_json::json!({ "failures": failures, "locked_for_s": lock_for.as_secs() });
                append(tx, &Actor("web:login".into()), action, &username, &details).await?;
                Ok(Some(until))
            })
        })
        .await
    }

    /// Accept a TOTP time step only if it is later than the last one used: a code is never
    /// accepted twice, even by concurrent requests.
    /// Not journalled: bookkeeping of the login flow.
    pub async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        let sql = "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2";
        let changed = self
            .bookkeeping(sql, &[Value::I64(user_id), Value::I64(step)])
            .await?;
        Ok(changed == 1)
    }

    /// Store a new, not yet confirmed TOTP seed (enrolment).
    /// Not journalled: the enrolment is, when `confirm_totp` ends it.
    pub async fn set_pending_totp(&self, user_id: i64, secret: &str) -> Result<()> {
        let sql = "UPDATE users SET totp_secret = $2, totp_confirmed = 0 WHERE id = $1 AND totp_confirmed = 0";
        self.bookkeeping(sql, &[Value::I64(user_id), Value::from(secret)])
            .await?;
        Ok(())
    }

    /// Replace a stored TOTP seed by another form of the same seed (sealing one stored in clear
    /// by an earlier version); nothing happens if the stored value changed meanwhile.
    /// Not journalled: the seed itself does not change.
    pub async fn reseal_totp(&self, user_id: i64, old: &str, new: &str) -> Result<()> {
        let sql = "UPDATE users SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2";
        let binds = [Value::I64(user_id), Value::from(old), Value::from(new)];
        self.bookkeeping(sql, &binds).await?;
        Ok(())
    }

    /// The user proved they hold the seed: enrolment done (journalled).
    pub async fn confirm_totp(&self, user_id: i64, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let username = username_of(tx, user_id).await?;
                sqlx::query("UPDATE users SET totp_confirmed = 1 WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                append(tx, actor, "user.totp_enrol", &username, "{}").await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_user_lang(&self, user_id: i64, lang: &str, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            Box::pin(async move {
                let username = username_of(tx, user_id).await?;
                sqlx::query("UPDATE users SET lang = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(lang)
                    .execute(&mut **tx)
                    .await?;
                let details = serde_json::json!({ "lang": lang });
                append(tx, actor, "user.lang", &username, &details).await?;
                Ok(())
            })
        })
        .await
    }
}

/// Refuse a binding the role cannot have and a malformed username.
pub(super) fn check_new_user(u: &NewUser) -> Result<()> {
    u.binding
        .check_for(u.role)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let name = u.username.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
    {
        return Err(StoreError::Invalid(format!(
            "username '{name}': 1 to 64 letters, digits, '.', '-', '_' or '@'"
        )));
    }
    Ok(())
}

/// The username of a user id, read inside a write transaction (journal entries name the user).
pub(super) async fn username_of(tx: &mut WriteTx<'_>, user_id: i64) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Insert a user inside a write transaction (journalled as `user.create`); returns their id.
pub(super) async fn insert_user(tx: &mut WriteTx<'_>, u: &NewUser, actor: &Actor) -> Result<i64> {
    let name = u.username.trim();
    let details = serde_json::json!({
        "role": u.role.as_str(), "binding": u.binding, "display_name": u.display_name,
    });
    append(tx, actor, "user.create", name, &details).await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!("user {name}")));
    }
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM users")
        .fetch_one(&mut **tx)
        .await?;
    let region = match &u.binding {
        Binding::Region { region } => Some(region.code().to_owned()),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, binding, region, password_hash, lang, created_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(name)
    .bind(&u.display_name)
    .bind(u.role.as_str())
    .bind(u.binding.kind())
    .bind(region)
    .bind(&u.password_hash)
    .bind(u.lang.clone())
    .bind(now_us())
    .execute(&mut **tx)
    .await?;
    if let Binding::Facilities { facilities } = &u.binding {
        for f in facilities {
            crate::rows::ensure_facility(tx, f).await?;
            sqlx::query("INSERT INTO user_facilities (user_id, facility) VALUES ($1, $2)")
                .bind(id)
                .bind(f.as_str())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use jiff::SignedDuration;

    #[test]
    fn locks_back_off_and_always_end() {
        let b = Backoff {
            failures_per_lock: 5,
            first: SignedDuration::from_mins(1),
            longest: SignedDuration::from_hours(24),
        };
        let mins = |f| b.lock_after(f).map(|d| d.as_secs() / 60);
        assert_eq!(mins(4), None);
        assert_eq!(mins(5), Some(1));
        assert_eq!(mins(6), None);
        assert_eq!(mins(10), Some(2));
        assert_eq!(mins(15), Some(4));
        assert_eq!(mins(55), Some(1024));
        assert_eq!(mins(60), Some(24 * 60), "capped");
        assert_eq!(mins(5_000_000), Some(24 * 60), "no overflow");
        assert_eq!(mins(0), None);
    }

    #[test]
    fn the_least_role_has_no_right_any_other_lacks() {
        use super::Role;
        let rights = |r: Role| {
            [
                r.can_write(),
                r.can_read_journal(),
                r.can_manage_tokens(),
                r.requires_totp(),
                r == Role::Administrator,
            ]
        };
        let least = rights(Role::LEAST);
        assert!(least.iter().all(|x| !x), "{:?}", Role::LEAST);
        for r in Role::ALL {
            let others = rights(r);
            assert!(least.iter().zip(others).all(|(l, o)| !l || o), "{r:?}");
        }
    }
}
