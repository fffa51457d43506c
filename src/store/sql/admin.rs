//! [`AccountAdmin`] on the database: each change in one transaction with its audit event
//! and, when the domain says so, the user's sessions ended in it, so the running servers
//! refuse their tokens within a second.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Any, Connection as _, Transaction};

use super::audit::append_in;
use super::sessions::{end_where, log_end};
use super::users::{USER_COLUMNS, user_from_row};
use super::{Database, unavailable};
use crate::model::event::Event;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::model::username::{canonical, pick};
use crate::store::admin::{AccountAdmin, AdminError, EndSessions, UserChange};
use crate::store::{StoreError, UserRecord};

impl From<sqlx::Error> for AdminError {
    fn from(err: sqlx::Error) -> Self {
        AdminError::Store(unavailable(err))
    }
}

/// A new name always takes rank 0 of its key, so the unique index on (key, rank) refuses it
/// beside any user it looks like, whichever server adds it.
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

/// Ends every session of the user and every session-less token issued to them until
/// `end.at`, with a `session.ended` event for each session that had started.
async fn end_everything(
    tx: &mut Transaction<'_, Any>,
    username: &str,
    end: &EndSessions,
) -> Result<(), AdminError> {
    let condition = "user_id = (SELECT subject FROM users WHERE username = $1)";
    let ended = end_where(tx, condition, &[username], end.at).await?;
    log_end(tx, None, username, end.at).await?;
    // A pending session (a code not yet exchanged) never started: it has no end to record.
    for session in ended.iter().filter(|session| !session.pending) {
        let event = end
            .ended
            .for_session(&session.id, session.client_id.as_deref())
            .user(&session.username, Some(session.user_id.as_str()));
        append_in(tx, &event).await?;
    }
    Ok(())
}

impl Database {
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *self.pool.get().await.map_err(unavailable)?)
            .await
            .map_err(unavailable)
    }

    /// The stored name of the user `typed` names (see [`AccountAdmin::resolve_user`]).
    pub async fn resolve(&self, typed: &str) -> Result<Username, AdminError> {
        Ok(self.resolve_user(typed).await?.username().clone())
    }
}

#[async_trait]
impl AccountAdmin for Database {
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.pool.get().await.map_err(unavailable)?)
            .await
            .map_err(unavailable)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn totp_users(&self) -> Result<HashSet<String>, StoreError> {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT username FROM totp_secrets WHERE enabled = TRUE")
                .fetch_all(&mut *self.pool.get().await.map_err(unavailable)?)
                .await
                .map_err(unavailable)?;
        Ok(names.into_iter().collect())
    }

    async fn resolve_user(&self, typed: &str) -> Result<Arc<UserRecord>, AdminError> {
        let candidates = self.users_like(typed).await?;
        let names: Vec<String> = candidates
            .iter()
            .map(|user| user.username().to_string())
            .collect();
        match pick(typed, candidates, |user| user.username().as_str()) {
            Some(user) => Ok(user),
            None if names.is_empty() => Err(AdminError::NoSuchUser(typed.to_owned())),
            None => Err(AdminError::Ambiguous {
                typed: typed.to_owned(),
                names: format!("{names:?}"),
            }),
        }
    }

    async fn add_user(&self, user: &UserRecord, event: &Event) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        insert_user(&mut tx, user).await?;
        append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An existing name stops the import (naming it) unless `replace`; a look-alike of an
    /// existing name always stops it: replacing works by exact name only.
    async fn import_users(
        &self,
        users: &[UserRecord],
        replace: Option<EndSessions>,
        event: &Event,
    ) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        for user in users {
            let end = match (insert_user(&mut tx, user).await, &replace) {
                (Err(AdminError::Exists(_)), Some(end)) => end,
                (other, _) => {
                    other?;
                    continue;
                }
            };
            // Sessions first: deleting the user would cascade them away unlogged.
            end_everything(&mut tx, user.username(), end).await?;
            // The same account, replaced: it keeps its stable id (`sub`).
            let kept: Option<String> =
                sqlx::query_scalar("DELETE FROM users WHERE username = $1 RETURNING subject")
                    .bind(user.username().as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let id = kept.map_or_else(|| user.id.clone(), UserId::stored);
            insert_user(&mut tx, &UserRecord { id, ..user.clone() }).await?;
        }
        append_in(&mut tx, event).await?;
        tx.commit().await?;
        for user in users {
            self.forget_user(user.username());
        }
        Ok(())
    }

    async fn update_user(
        &self,
        username: &Username,
        change: UserChange<'_>,
        end: Option<EndSessions>,
        event: &Event,
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
        if let Some(end) = &end {
            end_everything(&mut tx, username, end).await?;
        }
        append_in(&mut tx, event).await?;
        tx.commit().await?;
        self.forget_user(username);
        Ok(())
    }

    async fn delete_user(
        &self,
        username: &Username,
        end: EndSessions,
        event: &Event,
    ) -> Result<(), AdminError> {
        let mut connection = self.pool.get().await?;
        let mut tx = connection.begin().await?;
        end_everything(&mut tx, username, &end).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(AdminError::NoSuchUser(username.to_string()));
        }
        append_in(&mut tx, event).await?;
        tx.commit().await?;
        self.forget_user(username);
        Ok(())
    }

    async fn reset_totp(&self, username: &Username, event: &Event) -> Result<bool, AdminError> {
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
        if was_enabled {
            append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(was_enabled)
    }
}
