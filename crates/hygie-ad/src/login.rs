//! Signing in with a directory account: the web login binds to the domain controller with the
//! user's own name and password (over the collector's TLS: the same CA, server name and refusal
//! of plain LDAP), then reads, with that same bind, the account's entry and every group it is a
//! member of, directly or through nested groups (AD's `LDAP_MATCHING_RULE_IN_CHAIN`, evaluated by
//! the DC). No service account is needed and the password goes nowhere but the bind.
//!
//! An empty password is refused before any connection: LDAP treats a simple bind with a name and
//! no password as an anonymous bind that *succeeds* (RFC 4513 §5.1.2), which would let anyone in.
//! A name with characters that cannot be in an `sAMAccountName` is refused the same way, so that
//! nothing typed at the login form reaches a search filter unescaped.

use crate::collect::{CollectError, INVALID_CREDENTIALS, LdapOptions, Password, connect_and_bind};
use ldap3::{Ldap, Scope, SearchEntry};

/// The OID of the matching rule that walks group nesting on the DC.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// Where and how directory logins bind; the password of [`LdapOptions`] is the user's, set per
/// login by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Directory {
    /// URL, CA, server name, StartTLS, base DN and timeout (bind DN and password are ignored).
    pub connection: LdapOptions,
    /// The UPN suffix users are bound with (`jdupont` binds as `jdupont@chu.test`).
    pub upn_suffix: String,
}

/// What the directory says about an account that proved its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryAccount {
    /// The account's name as Hygie keeps it: its `sAMAccountName`, in lower case.
    pub username: String,
    pub dn: String,
    pub display_name: String,
    /// Distinguished names of every group the account is in, nested membership included
    /// (not its primary group, which AD does not list as a membership).
    pub groups: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong password, unknown or disabled account, or a name that cannot be an account: the
    /// login form answers all of them alike.
    #[error("the directory refused these credentials")]
    Refused,
    /// The directory could not be asked (unreachable, TLS, timeout, unexpected answer).
    #[error("directory: {0}")]
    Directory(#[from] CollectError),
}

/// The account name a login form's text designates, in lower case: `name` or
/// `name@<upn suffix>`; `None` for anything else (another domain, `DOMAIN\name`, characters an
/// `sAMAccountName` cannot hold), which is then refused without asking the directory.
pub fn account_name(typed: &str, upn_suffix: &str) -> Option<String> {
    let typed = typed.trim();
    let name = match typed.rsplit_once('@') {
        Some((n, suffix)) if suffix.eq_ignore_ascii_case(upn_suffix) => n,
        Some(_) => return None,
        None => typed,
    };
    // AD: at most 20 characters, none of " / \ [ ] : ; | = , + * ? < > @ and no control
    // characters; parentheses and NUL are refused too, since the name goes into a filter.
    const FORBIDDEN: &str = "\"/\\[]:;|=,+*?<>@()";
    let ok = !name.is_empty()
        && name.chars().count() <= 20
        && !name
            .chars()
            .any(|c| c.is_control() || FORBIDDEN.contains(c));
    ok.then(|| name.to_lowercase())
}

/// Bind as the user and read their entry and groups. `typed` is what the login form received.
pub async fn authenticate(
    dir: &Directory,
    typed: &str,
    password: &Password,
) -> Result<DirectoryAccount, LoginError> {
    use secrecy::ExposeSecret as _;
    let Some(name) = account_name(typed, &dir.upn_suffix) else {
        return Err(LoginError::Refused);
    };
    if password.expose_secret().is_empty() {
        return Err(LoginError::Refused);
    }
    let mut opts = dir.connection.clone();
    opts.bind_dn = format!("{name}@{}", dir.upn_suffix);
    opts.password = password.clone();
    let mut ldap = match connect_and_bind(&opts).await {
        Ok(l) => l,
        Err(CollectError::Bind {
            rc: Some(INVALID_CREDENTIALS),
            ..
        }) => return Err(LoginError::Refused),
        Err(e) => return Err(e.into()),
    };
    let found = read_account(&mut ldap, &opts, &name).await;
    let _ = ldap.unbind().await;
    found
}

async fn read_account(
    ldap: &mut Ldap,
    opts: &LdapOptions,
    name: &str,
) -> Result<DirectoryAccount, LoginError> {
    let base = match &opts.base_dn {
        Some(b) => b.clone(),
        None => default_naming_context(ldap).await?,
    };
    let search_err = |e: ldap3::LdapError| {
        LoginError::Directory(CollectError::Search {
            base: base.clone(),
            message: e.to_string(),
        })
    };
    let filter = format!(
        "(&(objectCategory=person)(objectClass=user)(sAMAccountName={}))",
        crate::collect::escape_filter_bytes(name.as_bytes())
    );
    let (rs, _) = ldap
        .search(
            &base,
            Scope::Subtree,
            &filter,
            vec!["sAMAccountName", "displayName", "cn"],
        )
        .await
        .map_err(search_err)?
        .success()
        .map_err(search_err)?;
    // The bind succeeded for this name, so an absent entry means the base DN does not hold it:
    // the account is outside what this installation accepts.
    let Some(entry) = rs.into_iter().next().map(SearchEntry::construct) else {
        return Err(LoginError::Refused);
    };
    let first = |k: &str| entry.attrs.get(k).and_then(|v| v.first()).cloned();
    let username = first("sAMAccountName")
        .unwrap_or_else(|| name.to_string())
        .to_lowercase();
    let display_name = first("displayName")
        .or_else(|| first("cn"))
        .unwrap_or_else(|| username.clone());
    let groups_filter = format!(
        "(&(objectClass=group)(member:{IN_CHAIN}:={}))",
        escape_filter_value(&entry.dn)
    );
    let (rs, _) = ldap
        .search(&base, Scope::Subtree, &groups_filter, vec!["1.1"])
        .await
        .map_err(search_err)?
        .success()
        .map_err(search_err)?;
    let mut groups: Vec<String> = rs
        .into_iter()
        .map(|r| SearchEntry::construct(r).dn)
        .collect();
    groups.sort();
    Ok(DirectoryAccount {
        username,
        dn: entry.dn,
        display_name,
        groups,
    })
}

async fn default_naming_context(ldap: &mut Ldap) -> Result<String, LoginError> {
    let err = |e: ldap3::LdapError| {
        LoginError::Directory(CollectError::Search {
            base: "rootDSE".into(),
            message: e.to_string(),
        })
    };
    let (rs, _) = ldap
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["defaultNamingContext"],
        )
        .await
        .map_err(err)?
        .success()
        .map_err(err)?;
    rs.into_iter()
        .next()
        .map(SearchEntry::construct)
        .and_then(|e| e.attrs.get("defaultNamingContext")?.first().cloned())
        .ok_or(LoginError::Directory(CollectError::Missing(
            "defaultNamingContext",
        )))
}

/// Escape a string for an LDAP filter value (RFC 4515): `*`, `(`, `)`, `\` and NUL.
fn escape_filter_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// Whether two distinguished names are the same, as AD compares them (case-insensitively,
/// ignoring spaces around the separators).
pub fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|rdn| {
                rdn.split_once('=')
                    .map(|(k, v)| format!("{}={}", k.trim(), v.trim()))
                    .unwrap_or_else(|| rdn.trim().to_string())
                    .to_lowercase()
            })
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_accepted_and_refused() {
        assert_eq!(
            account_name(" JDupont ", "chu.test").as_deref(),
            Some("jdupont")
        );
        assert_eq!(
            account_name("jdupont@CHU.test", "chu.test").as_deref(),
            Some("jdupont")
        );
        assert_eq!(account_name("jdupont@other.test", "chu.test"), None);
        assert_eq!(account_name("CHU\\jdupont", "chu.test"), None);
        assert_eq!(account_name("*", "chu.test"), None);
        assert_eq!(account_name("a)(cn=*", "chu.test"), None);
        assert_eq!(account_name("", "chu.test"), None);
        assert_eq!(account_name("abcdefghijklmnopqrstu", "chu.test"), None);
    }

    #[test]
    fn an_empty_password_is_refused_before_any_connection() {
        // An unreachable address: reaching it would be an error, not a refusal.
        let dir = Directory {
            connection: LdapOptions::new("ldaps://192.0.2.1:636", "", Password::from("")),
            upn_suffix: "chu.test".into(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(authenticate(&dir, "jdupont", &Password::from("")));
        assert!(matches!(r, Err(LoginError::Refused)), "{r:?}");
        let r = rt.block_on(authenticate(&dir, "*)(cn=*", &Password::from("x")));
        assert!(matches!(r, Err(LoginError::Refused)), "{r:?}");
    }

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(
            escape_filter_value("CN=a*(b)\\c,DC=x"),
            "CN=a\\2a\\28b\\29\\5cc,DC=x"
        );
    }

    #[test]
    fn dns_compare_as_ad_does() {
        assert!(same_dn(
            "CN=GG-Hygie RSSI, OU=Groupes,DC=chu,DC=test",
            "cn=gg-hygie rssi,ou=groupes,dc=CHU,dc=test"
        ));
        assert!(!same_dn("CN=A,DC=chu,DC=test", "CN=B,DC=chu,DC=test"));
    }
}
