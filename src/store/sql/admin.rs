//! The database's side of an operator's changes to accounts: each in one transaction, with
//! the user's sessions ended in it when the domain says so ([`crate::auth::accounts::admin`]),
//! so the running servers refuse their tokens within a second.

use sqlx::{Any, Connection as _, Transaction};

use super::sessions::{end_where, log_end};
use super::users::{USER_COLUMNS, user_from_row};
use super::{Database, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::model::username::{canonical, pick};
use crate::store::{StoreError, UserRecord};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a user named {0:?} already exists")]
    Exists(String),
    /// RFC 8265 §3.3: a name a person could not tell from an existing one.
    #[error(
        "{name:?} is the existing user {existing:?} in another case, width or Unicode form \
         (RFC 8265): two such accounts cannot be told apart"
    )]
    LookAlike { name: String, existing: String },
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// Several users from before keys were enforced share this name's key.
    #[error("{typed:?} could be any of the users {names}: use the exact spelling")]
    Ambiguous { typed: String, names: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AdminError {
    fn from(err: sqlx::Error) -> Self {
        AdminError::Store(unavailable(err))
    }
}

/// A new name always takes rank 0 of its key, so the unique index on (key, rank) refuses it
/// beside any user it looks like, whichever server adds it.
/// What an operator changes about a user: one field at a time.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    Disabled(bool),
    Password(&'a str),
    Scopes(&'a ScopeSet),
}

const INSERT_USER: &str = "INSERT INTO users (username, email, full_name, hashed_password, \
     disabled, scopes, username_key, subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT DO NOTHING";

/// Inserts `user`, or names the existing user in the way: `Exists` for the same name,
/// `LookAlike` for one that shares its key.
async fn insert_user(tx: &mut Transaction<'_, Any>, user: &UserRecord) -> Result<(), AdminError> {
    let key = canonical(user.username());
    let inserted = sqlx::query(INSERT_USER)
        .bind(user.username().as_str())
        .bind(user.profile.email.as_deref())
        .bind(user.profile.full_name.as_deref())
        .bind(&user.hashed_password)
        .bind(user.profile.disabled)
        .bind(user.scopes.to_string())
        .bind(key.as_ref())
        .bind(user.id.as_str())
        .execute(&mut **tx)
        .await?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT username FROM users WHERE username = $1 OR username_key = $2 ORDER BY key_rank",
    )
    .bind(user.username().as_str())
    .bind(key.as_ref())
    .fetch_all(&mut **tx)
    .await?;
    let name = user.username().to_string();
    Err(if existing.contains(&name) {
        AdminError::Exists(name)
    } else {
        match existing.into_iter().next() {
            Some(existing) => AdminError::LookAlike { name, existing },
            // Gone again meanwhile: as good as taken for this transaction.
            None => AdminError::Exists(name),
        }
    })
}

/// Ends every session of the user and every session-less token issued to them until `now`.
async fn end_everything(
    tx: &mut Transaction<'_, Any>,
    username: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    let condition = "user_id = (SELECT subject FROM users WHERE username = $1)";
    end_where(tx, condition, &[username], now).await?;
    log_end(tx, None, username, now).await
}

impl Database {
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *self.pool.get().await.map_err(unavailable)?)
            .await
            .map_err(unavailable)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.pool.get().await.map_err(unavailable)?)
            .await
            .map_err(unavailable)?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn add_user(&self, user: &UserRecord) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Imports users all or nothing: an existing name stops the import (naming it) unless
    /// `replace`, which overwrites them and ends their sessions. A look-alike of an existing
    /// name always stops it: replacing works by exact name only.
    pub async fn import_users(
        &self,
        users: &[UserRecord],
        replace: bool,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        for user in users {
            match insert_user(&mut tx, user).await {
                Err(AdminError::Exists(_)) if replace => {}
                other => {
                    other?;
                    continue;
                }
            }
            // Sessions first: deleting the user would cascade them away unlogged.
            end_everything(&mut tx, user.username(), now).await?;
            // The same account, replaced: it keeps its stable id (`sub`).
            let kept: Option<String> =
                sqlx::query_scalar("DELETE FROM users WHERE username = $1 RETURNING subject")
                    .bind(user.username().as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let id = kept.map_or_else(|| user.id.clone(), UserId::stored);
            insert_user(&mut tx, &UserRecord { id, ..user.clone() }).await?;
        }
        tx.commit().await?;
        for user in users {
            self.forget_user(user.username());
        }
        Ok(())
    }

    /// The stored name of the user `typed` names for an operator command: the one sharing
    /// its RFC 8265 key, as at a login (`ZOE` finds `zoe`).
    pub async fn resolve(&self, typed: &str) -> Result<Username, AdminError> {
        let candidates = self.users_like(typed).await?;
        let names: Vec<String> = candidates
            .iter()
            .map(|user| user.username().to_string())
            .collect();
        match pick(typed, candidates, |user| user.username().as_str()) {
            Some(user) => Ok(user.username().clone()),
            None if names.is_empty() => Err(AdminError::NoSuchUser(typed.to_owned())),
            None => Err(AdminError::Ambiguous {
                typed: typed.to_owned(),
                names: format!("{names:?}"),
            }),
        }
    }

    /// Changes one field of the user and, with `end_sessions_at`, ends every session of theirs
    /// in the same transaction: which changes end sessions is the domain's to say
    /// ([`crate::auth::accounts::admin`]).
    pub async fn update_user(
        &self,
        username: &Username,
        change: UserChange<'_>,
        end_sessions_at: Option<UnixTime>,
    ) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        let query = match change {
            UserChange::Disabled(disabled) => {
                sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2").bind(disabled)
            }
            UserChange::Password(hash) => {
                sqlx::query("UPDATE users SET hashed_password = $1 WHERE username = $2").bind(hash)
            }
            UserChange::Scopes(scopes) => {
                sqlx::query("UPDATE users SET scopes = $1 WHERE username = $2")
                    .bind(scopes.to_string())
            }
        };
        let updated = query.bind(username.as_str()).execute(&mut *tx).await?;
        if updated.rows_affected() == 0 {
            return Err(AdminError::NoSuchUser(username.to_string()));
        }
        if let Some(now) = end_sessions_at {
            end_everything(&mut tx, username, now).await?;
        }
        tx.commit().await?;
        self.forget_user(username);
        Ok(())
    }

    /// Deletes the user and ends their sessions.
    pub async fn delete_user(&self, username: &Username, now: UnixTime) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        end_everything(&mut tx, username, now).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(AdminError::NoSuchUser(username.to_string()));
        }
        tx.commit().await?;
        self.forget_user(username);
        Ok(())
    }

    /// The users whose TOTP is enabled (a pending enrolment does not count).
    pub async fn totp_users(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT username FROM totp_secrets WHERE enabled = TRUE")
                .fetch_all(&mut *self.pool.get().await.map_err(unavailable)?)
                .await
                .map_err(unavailable)?;
        Ok(names.into_iter().collect())
    }

    /// Turns the user's TOTP off (a lost authenticator), pending or enabled, with its
    /// recovery codes. Sessions go on: nothing was taken from the user, and whoever holds
    /// their password still needs it to log in. `false` if TOTP was not enabled.
    pub async fn reset_totp(&self, username: &Username) -> Result<bool, AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT username FROM users WHERE username = $1")
                .bind(username.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(AdminError::NoSuchUser(username.to_string()));
        }
        let was_enabled = super::totp::remove_in(&mut tx, username).await?;
        tx.commit().await?;
        Ok(was_enabled)
    }
}
