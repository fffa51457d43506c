//! `UserStore` on the database, with a short-lived cache for token checks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Database, USER_CACHE_TTL, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::model::username::{canonical, pick};
use crate::store::{StoreError, User, UserRecord, UserStore, storable};

/// `disabled` is read as an integer: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
pub(super) const USER_COLUMNS: &str = "username, email, full_name, hashed_password, \
     CAST(CASE WHEN disabled THEN 1 ELSE 0 END AS BIGINT) AS disabled, scopes, subject";

pub(super) fn user_from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let field = |err: sqlx::Error| unavailable(err);
    let scopes: String = row.try_get("scopes").map_err(field)?;
    Ok(UserRecord {
        id: UserId::stored(row.try_get("subject").map_err(field)?),
        profile: Arc::new(User {
            username: Username::from(row.try_get::<String, _>("username").map_err(field)?),
            email: row.try_get("email").map_err(field)?,
            full_name: row.try_get("full_name").map_err(field)?,
            disabled: row.try_get::<i64, _>("disabled").map_err(field)? != 0,
        }),
        hashed_password: row.try_get("hashed_password").map_err(field)?,
        scopes: ScopeSet::read(&scopes).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
    })
}

impl Database {
    pub(super) async fn read_user(
        &self,
        username: &str,
    ) -> Result<Option<Arc<UserRecord>>, StoreError> {
        if !storable(username) {
            return Ok(None);
        }
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
            user.username().to_string(),
            (Some(Arc::clone(user)), Instant::now()),
        );
    }

    /// Drops a user's cached record, after this process changed it.
    pub(super) fn forget_user(&self, username: &str) {
        self.users.remove(username);
    }

    /// The users a typed name may mean: those sharing its key, and the exact spelling (whose
    /// key may be missing: a row written by a passflow from before keys).
    pub(super) async fn users_like(&self, typed: &str) -> Result<Vec<Arc<UserRecord>>, StoreError> {
        if !storable(typed) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_key = $1 OR username = $2 \
             ORDER BY username"
        );
        let rows = sqlx::query(&sql)
            .bind(canonical(typed).as_ref())
            .bind(typed)
            .fetch_all(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        rows.iter()
            .map(|row| user_from_row(row).map(Arc::new))
            .collect()
    }

    /// Fills in the key of every user from before keys (run at each open; a no-op once done),
    /// ranking names that already share one by name, and returns each group of names that
    /// share a key: accounts that only their exact spelling can log in to.
    pub async fn settle_username_keys(&self) -> Result<Vec<Vec<String>>, StoreError> {
        let mut connection = self.pool.get().await.map_err(unavailable)?;
        let mut tx = sqlx::Connection::begin(&mut *connection)
            .await
            .map_err(unavailable)?;
        let unkeyed: Vec<String> = sqlx::query_scalar(
            "SELECT username FROM users WHERE username_key IS NULL ORDER BY username",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
        if !unkeyed.is_empty() {
            let mut taken: HashSet<(String, i64)> = sqlx::query_as(
                "SELECT username_key, CAST(key_rank AS BIGINT) FROM users \
                 WHERE username_key IS NOT NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable)?
            .into_iter()
            .collect();
            // In name order, each takes its key's lowest free rank: the same answer on every
            // server that runs this at once.
            for name in unkeyed {
                let key = canonical(&name).into_owned();
                let rank = (0..)
                    .find(|rank| !taken.contains(&(key.clone(), *rank)))
                    .unwrap_or_default();
                sqlx::query(
                    "UPDATE users SET username_key = $1, key_rank = $2 \
                     WHERE username = $3 AND username_key IS NULL",
                )
                .bind(&key)
                .bind(rank)
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                taken.insert((key, rank));
            }
        }
        let shared: Vec<(String, String)> = sqlx::query_as(
            "SELECT username_key, username FROM users WHERE username_key IN \
             (SELECT username_key FROM users WHERE key_rank > 0) ORDER BY username_key, key_rank",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (key, name) in shared {
            match groups.last_mut() {
                Some((last, names)) if *last == key => names.push(name),
                _ => groups.push((key, vec![name])),
            }
        }
        Ok(groups.into_iter().map(|(_, names)| names).collect())
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

    async fn find_login(&self, typed: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        let candidates = self.users_like(typed).await?;
        Ok(pick(typed, candidates, |user| user.username()))
    }

    async fn update_password_hash(
        &self,
        username: &Username,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET hashed_password = $1 WHERE username = $2 AND hashed_password = $3",
        )
        .bind(new_hash)
        .bind(username.as_str())
        .bind(old_hash)
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        self.forget_user(username);
        Ok(updated.rows_affected() == 1)
    }
}
