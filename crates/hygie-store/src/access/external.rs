//! The users whose identity an outside source proves: the hospital's directory (a bind with the
//! user's password) or an OpenID Connect provider (a signed ID token).
//!
//! Such a user is created at their first successful login when the mapping gives them a role,
//! and their role and binding follow the source at every later login (the source is the truth:
//! a user moved out of a group loses the role at the next login). The password column of such a
//! user holds a value that is not a PHC string, so no password ever matches it locally. Accounts
//! of different sources never share a name: no source can sign in, nor take over, an account of
//! another (a local one above all).

use super::users::{Binding, NewUser, Role, SignIn, User, check_new_user, insert_user};
use crate::journal::{Actor, append};
use crate::{Result, Store, StoreError};

/// Stored as the password hash of outside users: not a PHC string, so it verifies nothing.
const NO_LOCAL_PASSWORD: &str = "!external";

/// A login from an outside source that the mapping accepted.
#[derive(Debug, Clone)]
pub struct ExternalSignIn<'a> {
    /// The account name (the directory's `sAMAccountName`, the provider's username claim), in
    /// lower case.
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub binding: Binding,
    /// Who proved the identity: `SignIn::Directory` or `SignIn::Oidc(provider)`.
    pub source: SignIn,
    /// What decided the role and binding, journalled with the mapping decision: the directory
    /// group, or the claim and its value.
    pub decided_by: serde_json::Value,
}

impl Store {
    /// Create or update the user an outside login names, with the role and binding its mapping
    /// gives. Journalled as `auth.directory_mapping` (directory) or `auth.oidc_mapping` (single
    /// sign-on) with what decided, the role and binding given, and whether the account was
    /// created; the sign-in itself is journalled (`auth.login` with its method) when its session
    /// is complete, as a local one.
    pub async fn sign_in_external_user(&self, s: &ExternalSignIn<'_>) -> Result<User> {
        if s.source.is_local() {
            return Err(StoreError::Invalid(
                "an outside sign-in needs an outside source".into(),
            ));
        }
        let new = NewUser {
            username: s.username.to_owned(),
            display_name: s.display_name.to_owned(),
            role: s.role,
            binding: s.binding.clone(),
            password_hash: NO_LOCAL_PASSWORD.to_owned(),
            lang: None,
        };
        check_new_user(&new)?;
        let source = s.source.as_str();
        let (event, method) = match &s.source {
            SignIn::Directory => ("auth.directory_mapping", None),
            _ => ("auth.oidc_mapping", Some(source.as_ref())),
        };
        let actor = Actor("web:login".into());
        let id = self
            .write(|tx| {
                let (actor, new, source) = (&actor, &new, &source);
                Box::pin(async move {
                    let found: Option<(i64, String)> =
                        sqlx::query_as("SELECT id, auth_source FROM users WHERE username = $1")
                            .bind(s.username)
                            .fetch_optional(&mut **tx)
                            .await?;
                    let region = match &s.binding {
                        Binding::Region { region } => Some(region.code().to_owned()),
                        _ => None,
                    };
                    let (id, created) = match found {
                        Some((_, other)) if other != source.as_ref() => {
                            return Err(StoreError::Conflict(format!(
                                "user {}: an account of this name signs in another way ({other}); {source} cannot sign it in",
                                s.username
                            )));
                        }
                        Some((id, _)) => {
                            sqlx::query(
                                "UPDATE users SET display_name = $2, role = $3, binding = $4, region = $5 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(s.display_name)
                            .bind(s.role.as_str())
                            .bind(s.binding.kind())
                            .bind(region)
                            .execute(&mut **tx)
                            .await?;
                            sqlx::query("DELETE FROM user_facilities WHERE user_id = $1")
                                .bind(id)
                                .execute(&mut **tx)
                                .await?;
                            if let Binding::Facilities { facilities } = &s.binding {
                                for f in facilities {
                                    crate::rows::ensure_facility(tx, f).await?;
                                    sqlx::query(
                                        "INSERT INTO user_facilities (user_id, facility) VALUES ($1, $2)",
                                    )
                                    .bind(id)
                                    .bind(f.as_str())
                                    .execute(&mut **tx)
                                    .await?;
                                }
                            }
                            (id, false)
                        }
                        None => (insert_user(tx, new, actor).await?, true),
                    };
                    sqlx::query("UPDATE users SET auth_source = $2 WHERE id = $1")
                        .bind(id)
                        .bind(source.as_ref())
                        .execute(&mut **tx)
                        .await?;
                    let mut details = serde_json::json!({
                        "role": s.role.as_str(), "binding": s.binding, "created": created,
                    });
                    if let (Some(d), Some(more)) = (details.as_object_mut(), s.decided_by.as_object()) {
                        d.extend(more.clone());
                    }
                    if let Some(m) = method {
                        details["method"] = m.into();
                    }
                    append(tx, actor, event, s.username, &details).await?;
                    Ok(id)
                })
            })
            .await?;
        self.user(id).await
    }

    /// Journal an outside login the mapping refused (nothing the source says about the account
    /// maps to a role): the administrator sees who tried, how, why, and how many values (groups,
    /// claim values) were considered.
    pub async fn record_external_refusal(
        &self,
        username: &str,
        source: &SignIn,
        reason: &str,
        values: usize,
    ) -> Result<()> {
        let details = serde_json::json!({
            "method": source.as_str(), "reason": reason, "values": values,
        });
        self.journal(
            &Actor("web:login".into()),
            "auth.login_refused",
            username,
            &details.to_string(),
        )
        .await?;
        Ok(())
    }
}
