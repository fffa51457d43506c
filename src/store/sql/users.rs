//! `UserStore` on the database, with a short-lived cache for token checks.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Database, USER_CACHE_TTL, unavailable};
use crate::model::scopes::ScopeSet;
use crate::store::{StoreError, User, UserRecord, UserStore};

/// `disabled` is read as an integer: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
pub(super) const USER_COLUMNS: &str = "username, email, full_name, hashed_password, \
     CAST(CASE WHEN disabled THEN 1 ELSE 0 END AS BIGINT) AS disabled, scopes";

pub(super) fn user_from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let field = |err: sqlx::Error| unavailable(err);
    let scopes: String = row.try_get("scopes").map_err(field)?;
    Ok(UserRecord {
        profile: Arc::new(User {
            username: row.try_get("username").map_err(field)?,
            email: row.try_get("email").map_err(field)?,
            full_name: row.try_get("full_name").map_err(field)?,
            disabled: row.try_get::<i64, _>("disabled").map_err(field)? != 0,
        }),
        hashed_password: row.try_get("hashed_password").map_err(field)?,
        scopes: ScopeSet::parse(&scopes).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
    })
}

impl Database {
    pub(super) async fn read_user(
        &self,
        username: &str,
    ) -> Result<Option<Arc<UserRecord>>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        let user = row.as_ref().map(user_from_row).transpose()?.map(Arc::new);
        self.users
            .insert(username.to_owned(), (user.clone(), Instant::now()));
        Ok(user)
    }

    /// Caches a record just read by another statement (a refresh's rotation).
    pub(super) fn remember_user(&self, user: &Arc<UserRecord>) {
        self.users.insert(
            user.username().to_owned(),
            (Some(Arc::clone(user)), Instant::now()),
        );
    }

    /// Drops a user's cached record, after this process changed it.
    pub(super) fn forget_user(&self, username: &str) {
        self.users.remove(username);
    }
}

#[async_trait]
impl UserStore for Database {
    /// For token checks: a copy at most [`USER_CACHE_TTL`] old, so a valid token costs no
    /// round trip per request, and a change made elsewhere counts within that time.
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        if let Some((user, read_at)) = self.users.get(username)
            && read_at.elapsed() < USER_CACHE_TTL
        {
            return Ok(user);
        }
        self.read_user(username).await
    }

    async fn get_user_fresh(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.read_user(username).await
    }

    async fn update_password_hash(
        &self,
        username: &str,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET hashed_password = $1 WHERE username = $2 AND hashed_password = $3",
        )
        .bind(new_hash)
        .bind(username)
        .bind(old_hash)
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        self.forget_user(username);
        Ok(updated.rows_affected() == 1)
    }
}
