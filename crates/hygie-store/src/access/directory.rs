//! The users whose password the hospital's directory checks.
//!
//! A directory user is created at their first successful login when their groups map to a role,
//! and their role and binding follow the directory at every later login (the directory is the
//! source of truth: a user moved out of a group loses the role at the next login). The password
//! column of a directory user holds a value that is not a PHC string, so no password ever matches
//! it locally. A local account and a directory account never share a name: the directory cannot
//! sign a local account in, nor take it over.

use super::users::{Binding, NewUser, Role, SignIn, User, check_new_user, insert_user};
use crate::journal::{Actor, append};
use crate::{Result, Store, StoreError};

/// Stored as the password hash of directory users: not a PHC string, so it verifies nothing.
const NO_LOCAL_PASSWORD: &str = "!directory";

/// A directory login that the mapping accepted.
#[derive(Debug, Clone)]
pub struct DirectorySignIn<'a> {
    /// The account name (its `sAMAccountName`, in lower case).
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub binding: Binding,
    /// The directory group whose mapping decided the role and binding (journalled).
    pub group: &'a str,
}

impl Store {
    /// Create or update the user a directory login names, with the role and binding its groups
    /// map to. Journalled as `auth.directory_mapping` with the deciding group, the role and
    /// binding given, and whether the account was created; the sign-in itself is journalled
    /// (`auth.login`, method `directory`) when its session is complete, as a local one.
    pub async fn sign_in_directory_user(&self, s: &DirectorySignIn<'_>) -> Result<User> {
        check_new_user(&NewUser {
            username: s.username.to_owned(),
            display_name: s.display_name.to_owned(),
            role: s.role,
            binding: s.binding.clone(),
            password_hash: NO_LOCAL_PASSWORD.to_owned(),
            lang: None,
        })?;
        let actor = Actor("web:login".into());
        let id = self
            .write(|tx| {
                let actor = &actor;
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
                        Some((_, source)) if source != SignIn::Directory.as_str() => {
                            return Err(StoreError::Conflict(format!(
                                "user {}: a local account of this name exists; the directory cannot sign it in",
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
                        None => {
                            let new = NewUser {
                                username: s.username.to_owned(),
                                display_name: s.display_name.to_owned(),
                                role: s.role,
                                binding: s.binding.clone(),
                                password_hash: NO_LOCAL_PASSWORD.to_owned(),
                                lang: None,
                            };
                            (insert_user(tx, &new, actor).await?, true)
                        }
                    };
                    sqlx::query("UPDATE users SET auth_source = $2 WHERE id = $1")
                        .bind(id)
                        .bind(SignIn::Directory.as_str())
                        .execute(&mut **tx)
                        .await?;
                    let details = serde_json::json!({
                        "group": s.group, "role": s.role.as_str(), "binding": s.binding,
                        "created": created,
                    });
                    append(tx, actor, "auth.directory_mapping", s.username, &details).await?;
                    Ok(id)
                })
            })
            .await?;
        self.user(id).await
    }

    /// Journal a directory login the mapping refused (no group of the account maps to a role):
    /// the administrator sees who tried and how many groups were considered.
    pub async fn record_directory_refusal(&self, username: &str, groups: usize) -> Result<()> {
        let details = serde_json::json!({
            "method": SignIn::Directory.as_str(), "reason": "no_mapped_group", "groups": groups,
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
