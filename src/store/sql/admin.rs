//! What `passflow users …` does to the database. Every change that takes access away
//! (disable, new password, delete) ends the user's sessions in the same transaction
//! (ASVS V7.4.2, V7.4.3), and the running servers refuse their tokens within a second.

use sqlx::{Any, Connection as _, Transaction};

use super::sessions::{end_where, log_end};
use super::users::{USER_COLUMNS, user_from_row};
use super::{Database, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::{StoreError, UserRecord};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a user named {0:?} already exists")]
    Exists(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AdminError {
    fn from(err: sqlx::Error) -> Self {
        AdminError::Store(unavailable(err))
    }
}

const INSERT_USER: &str = "INSERT INTO users (username, email, full_name, hashed_password, \
     disabled, scopes) VALUES ($1, $2, $3, $4, $5, $6)";

async fn insert_user(
    tx: &mut Transaction<'_, Any>,
    user: &UserRecord,
    on_conflict: &str,
) -> Result<u64, sqlx::Error> {
    let sql = format!("{INSERT_USER} {on_conflict}");
    let inserted = sqlx::query(&sql)
        .bind(user.username())
        .bind(user.profile.email.as_deref())
        .bind(user.profile.full_name.as_deref())
        .bind(&user.hashed_password)
        .bind(user.profile.disabled)
        .bind(user.scopes.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(inserted.rows_affected())
}

/// Ends every session of the user and every session-less token issued to them until `now`.
async fn end_everything(
    tx: &mut Transaction<'_, Any>,
    username: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    end_where(tx, "username = $1", &[username], now).await?;
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
        if insert_user(&mut tx, user, "ON CONFLICT (username) DO NOTHING").await? == 0 {
            return Err(AdminError::Exists(user.username().to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Imports users all or nothing: an existing name stops the import (naming it) unless
    /// `replace`, which overwrites them and ends their sessions.
    pub async fn import_users(
        &self,
        users: &[UserRecord],
        replace: bool,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        for user in users {
            let inserted = insert_user(&mut tx, user, "ON CONFLICT (username) DO NOTHING").await?;
            if inserted == 1 {
                continue;
            }
            if !replace {
                return Err(AdminError::Exists(user.username().to_owned()));
            }
            // Sessions first: deleting the user would cascade them away unlogged.
            end_everything(&mut tx, user.username(), now).await?;
            sqlx::query("DELETE FROM users WHERE username = $1")
                .bind(user.username())
                .execute(&mut *tx)
                .await?;
            insert_user(&mut tx, user, "").await?;
        }
        tx.commit().await?;
        for user in users {
            self.forget_user(user.username());
        }
        Ok(())
    }

    /// Runs `UPDATE users SET {assignment} WHERE username = $2` with `$1` bound to `value`,
    /// ending the user's sessions too when `ends_sessions`.
    async fn update_user<T>(
        &self,
        username: &str,
        assignment: &str,
        value: T,
        ends_sessions: bool,
        now: UnixTime,
    ) -> Result<(), AdminError>
    where
        T: for<'q> sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send,
    {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        let sql = format!("UPDATE users SET {assignment} WHERE username = $2");
        let updated = sqlx::query(&sql)
            .bind(value)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(AdminError::NoSuchUser(username.to_owned()));
        }
        if ends_sessions {
            end_everything(&mut tx, username, now).await?;
        }
        tx.commit().await?;
        self.forget_user(username);
        Ok(())
    }

    /// Disabling ends every session of the user (ASVS V7.4.2).
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        self.update_user(username, "disabled = $1", disabled, disabled, now)
            .await
    }

    /// A new password ends every session of the user (ASVS V7.4.3).
    pub async fn set_password(
        &self,
        username: &str,
        hashed_password: String,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        self.update_user(username, "hashed_password = $1", hashed_password, true, now)
            .await
    }

    /// Scopes taken away also leave tokens already issued: they count only while allowed.
    pub async fn set_scopes(&self, username: &str, scopes: &ScopeSet) -> Result<(), AdminError> {
        self.update_user(username, "scopes = $1", scopes.to_string(), false, 0)
            .await
    }

    /// Deletes the user and ends their sessions.
    pub async fn delete_user(&self, username: &str, now: UnixTime) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        end_everything(&mut tx, username, now).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(AdminError::NoSuchUser(username.to_owned()));
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
    pub async fn reset_totp(&self, username: &str) -> Result<bool, AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT username FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(AdminError::NoSuchUser(username.to_owned()));
        }
        let was_enabled = super::totp::remove_in(&mut tx, username).await?;
        tx.commit().await?;
        Ok(was_enabled)
    }
}
