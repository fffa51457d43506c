//! `CodeStore` on the database: one statement spends a code and starts its session, as one
//! statement rotates a refresh token (a transaction of several would hold SQLite's single
//! connection, and PostgreSQL's row lock, across round trips). On PostgreSQL the `UPDATE`
//! that spends the code feeds an `INSERT` of the session in the same statement; on SQLite,
//! which has no data-modifying `WITH`, the `UPDATE` carries the session's random parts and a
//! trigger inserts it (migration `20261206000001`). PostgreSQL makes a concurrent exchange
//! of the same code wait on the row lock and then re-check the condition, which the first
//! exchange's commit has made false; SQLite admits one writer at a time.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::sessions::enabled_user_from_row;
use super::{Database, Dialect, digest_of, from_db, to_db, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::codes::{CodeStore, Exchange, SessionSeed, Started, StoredCode};
use crate::store::session::Digest;
use crate::store::{StoreError, UserStore};

/// Parameters: $1 now, $2 the code's digest, $3 the session's id, $4 its `expires_at`, $5 its
/// family's digest, $6 its first refresh token's digest. The session is started (and its id
/// recorded on the code) only for an enabled user, whose columns come back with the code's;
/// `others` counts the user's sessions before this one.
const EXCHANGE_POSTGRES: &str = "WITH spent AS ( \
       UPDATE authorization_codes AS c SET spent_at = $1, session_id = CASE WHEN EXISTS \
         (SELECT 1 FROM users u WHERE u.username = c.username AND NOT u.disabled) THEN $3 END \
       WHERE c.digest = $2 AND c.spent_at IS NULL AND c.expires_at > $1 \
       RETURNING c.digest, c.client_id, c.redirect_uri, c.code_challenge, c.nonce, c.username, \
         c.scope, c.auth_time, c.expires_at, c.session_id \
     ), started AS ( \
       INSERT INTO sessions (id, username, scope, created_at, last_used_at, expires_at, \
         client_id, family, current_token, last_used_day) \
       SELECT session_id, username, scope, $1, $1, $4, client_id, $5, $6, $1 / 86400 \
       FROM spent WHERE session_id IS NOT NULL \
     ) \
     SELECT spent.*, u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes, \
       (SELECT COUNT(*) FROM sessions s WHERE s.username = spent.username) AS others \
     FROM spent LEFT JOIN users u ON u.username = spent.username";

/// As [`EXCHANGE_POSTGRES`]; the trigger `authorization_code_starts_session` inserts the
/// session when `session_id` is set, after `RETURNING` has counted the others.
const EXCHANGE_SQLITE: &str = "UPDATE authorization_codes SET spent_at = $1, \
       session_id = CASE WHEN EXISTS (SELECT 1 FROM users u \
         WHERE u.username = authorization_codes.username AND NOT u.disabled) THEN $3 END, \
       session_expires_at = $4, session_family = $5, session_token = $6 \
     WHERE digest = $2 AND spent_at IS NULL AND expires_at > $1 \
     RETURNING digest, client_id, redirect_uri, code_challenge, nonce, username, scope, \
       auth_time, expires_at, session_id, \
       (SELECT email FROM users u WHERE u.username = authorization_codes.username) AS email, \
       (SELECT full_name FROM users u WHERE u.username = authorization_codes.username) \
         AS full_name, \
       (SELECT hashed_password FROM users u WHERE u.username = authorization_codes.username) \
         AS hashed_password, \
       (SELECT scopes FROM users u WHERE u.username = authorization_codes.username) \
         AS user_scopes, \
       (SELECT COUNT(*) FROM sessions s WHERE s.username = authorization_codes.username) \
         AS others";

fn code_from_row(row: &AnyRow) -> Result<StoredCode, StoreError> {
    let scope: String = row.try_get("scope").map_err(unavailable)?;
    Ok(StoredCode {
        digest: digest_of(row.try_get("digest").map_err(unavailable)?)?,
        client_id: row.try_get("client_id").map_err(unavailable)?,
        redirect_uri: row.try_get("redirect_uri").map_err(unavailable)?,
        code_challenge: row.try_get("code_challenge").map_err(unavailable)?,
        nonce: row.try_get("nonce").map_err(unavailable)?,
        username: row.try_get("username").map_err(unavailable)?,
        scope: ScopeSet::read(&scope).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
        auth_time: from_db(row.try_get("auth_time").map_err(unavailable)?),
        expires_at: from_db(row.try_get("expires_at").map_err(unavailable)?),
    })
}

#[async_trait]
impl CodeStore for Database {
    async fn issue(&self, code: StoredCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_codes (digest, client_id, redirect_uri, code_challenge, \
             nonce, username, scope, auth_time, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(code.digest.0.to_vec())
        .bind(&code.client_id)
        .bind(code.redirect_uri.as_deref())
        .bind(code.code_challenge.as_deref())
        .bind(code.nonce.as_deref())
        .bind(&code.username)
        .bind(code.scope.to_string())
        .bind(to_db(code.auth_time))
        .bind(to_db(code.expires_at))
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(())
    }

    async fn exchange(
        &self,
        digest: &Digest,
        now: UnixTime,
        seed: &SessionSeed,
        _users: &dyn UserStore,
    ) -> Result<Exchange, StoreError> {
        let sql = match self.dialect {
            Dialect::Postgres => EXCHANGE_POSTGRES,
            Dialect::Sqlite => EXCHANGE_SQLITE,
        };
        let mut connection = self.connection().await?;
        let taken = sqlx::query(sql)
            .bind(to_db(now))
            .bind(digest.0.to_vec())
            .bind(&seed.id)
            .bind(to_db(seed.expires_at))
            .bind(seed.family.0.to_vec())
            .bind(seed.current.0.to_vec())
            .fetch_optional(&mut *connection)
            .await
            .map_err(|err| self.failed(err))?;
        let Some(row) = taken else {
            return self.not_live(digest, &mut connection).await;
        };
        let code = code_from_row(&row)?;
        let session_id: Option<String> = row.try_get("session_id").map_err(unavailable)?;
        let started = match session_id {
            Some(_) => {
                let user = Arc::new(enabled_user_from_row(&row, &code.username)?);
                // Read by the statement that started the session: token checks may use it.
                self.remember_user(&user);
                let others: i64 = row.try_get("others").map_err(unavailable)?;
                Some(Started {
                    user,
                    others: usize::try_from(others).unwrap_or(0),
                })
            }
            None => None,
        };
        Ok(Exchange::Spent { code, started })
    }

    async fn prune_codes(&self, before: UnixTime) -> Result<usize, StoreError> {
        let done = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(to_db(before))
            .execute(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}

impl Database {
    /// Why a code could not be spent: read after the failed `UPDATE`, so a concurrent
    /// exchange that won has committed its session by now.
    async fn not_live(
        &self,
        digest: &Digest,
        connection: &mut sqlx::AnyConnection,
    ) -> Result<Exchange, StoreError> {
        let row = sqlx::query(
            "SELECT username, session_id, spent_at FROM authorization_codes WHERE digest = $1",
        )
        .bind(digest.0.to_vec())
        .fetch_optional(connection)
        .await
        .map_err(|err| self.failed(err))?;
        let Some(row) = row else {
            return Ok(Exchange::Unknown);
        };
        let spent: Option<i64> = row.try_get("spent_at").map_err(unavailable)?;
        Ok(match spent {
            Some(_) => Exchange::Replayed {
                session_id: row.try_get("session_id").map_err(unavailable)?,
                username: row.try_get("username").map_err(unavailable)?,
            },
            None => Exchange::Expired,
        })
    }
}
