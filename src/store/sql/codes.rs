//! The authorization codes of `SessionStore` on the database. Issuing a code stores its
//! session pending beside it; the exchange is one `UPDATE` of that session's row, conditional
//! on it being pending with this code as its current token, the code live and the user
//! enabled, as one statement rotates a refresh token: it writes no index (PostgreSQL updates
//! the row in place), and a concurrent exchange of the same code waits on the row lock, then
//! finds the condition false (PostgreSQL) or runs after it (SQLite admits one writer).

use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{Connection as _, Row};

use super::sessions::{enabled_user_from_row, insert, record_from_row};
use super::{Database, Dialect, from_db, to_db, unavailable};
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::codes::{NotStarted, Started, StoredCode, not_started};
use crate::store::session::{Digest, StoredSession};

/// Parameters: $1 now, $2 the next refresh token's digest, $3 the family's digest, $4 the
/// code's digest. `previous_token` stays empty: the code is no refresh token, so presenting it
/// again is reuse, never a retry within the grace. `last_used_day` and `expires_at` keep
/// their values from the issue (indexed: rewriting them would cost an index entry each).
const EXCHANGE_POSTGRES: &str = "UPDATE sessions AS s SET pending = FALSE, current_token = $2, \
       created_at = $1, last_used_at = $1 \
     FROM authorization_codes AS c, users AS u \
     WHERE s.family = $3 AND s.current_token = $4 AND s.pending \
       AND c.digest = $4 AND c.session_id = s.id AND c.expires_at > $1 \
       AND u.subject = s.user_id AND NOT u.disabled \
     RETURNING s.id, s.user_id, u.username, s.scope, s.created_at, s.last_used_at, s.expires_at, \
       s.client_id, CAST(0 AS BIGINT) AS pending, c.redirect_uri, c.code_challenge, c.nonce, \
       c.browser_session, \
       c.auth_time, c.expires_at AS code_expires_at, \
       u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes, u.subject, \
       CAST(CASE WHEN EXISTS (SELECT 1 FROM totp_secrets t \
         WHERE t.username = u.username AND t.enabled) THEN 1 ELSE 0 END AS BIGINT) AS second_factor";

/// As [`EXCHANGE_POSTGRES`]; SQLite's `RETURNING` cannot name a joined table, so the code's
/// and the user's columns come from subqueries on their keys.
const EXCHANGE_SQLITE: &str = "UPDATE sessions SET pending = FALSE, current_token = $2, \
       created_at = $1, last_used_at = $1 \
     WHERE family = $3 AND current_token = $4 AND pending \
       AND EXISTS (SELECT 1 FROM authorization_codes c \
         WHERE c.digest = $4 AND c.session_id = sessions.id AND c.expires_at > $1) \
       AND EXISTS (SELECT 1 FROM users u WHERE u.subject = sessions.user_id AND NOT u.disabled) \
     RETURNING id, user_id, user_id AS subject, scope, created_at, last_used_at, expires_at, client_id, \
       CAST(0 AS BIGINT) AS pending, \
       (SELECT redirect_uri FROM authorization_codes c WHERE c.digest = $4) AS redirect_uri, \
       (SELECT code_challenge FROM authorization_codes c WHERE c.digest = $4) AS code_challenge, \
       (SELECT nonce FROM authorization_codes c WHERE c.digest = $4) AS nonce, \
       (SELECT browser_session FROM authorization_codes c WHERE c.digest = $4) \
         AS browser_session, \
       (SELECT auth_time FROM authorization_codes c WHERE c.digest = $4) AS auth_time, \
       (SELECT expires_at FROM authorization_codes c WHERE c.digest = $4) AS code_expires_at, \
       (SELECT username FROM users u WHERE u.subject = sessions.user_id) AS username, \
       (SELECT email FROM users u WHERE u.subject = sessions.user_id) AS email, \
       (SELECT full_name FROM users u WHERE u.subject = sessions.user_id) AS full_name, \
       (SELECT hashed_password FROM users u WHERE u.subject = sessions.user_id) \
         AS hashed_password, \
       (SELECT scopes FROM users u WHERE u.subject = sessions.user_id) AS user_scopes, \
       CAST(CASE WHEN EXISTS (SELECT 1 FROM totp_secrets t JOIN users u \
         ON u.username = t.username WHERE u.subject = sessions.user_id AND t.enabled) \
         THEN 1 ELSE 0 END AS BIGINT) AS second_factor";

/// Codes one prune statement deletes at most, with their pending sessions.
const PRUNE_BATCH: i64 = 1000;

/// PostgreSQL deletes a batch of expired codes and their pending sessions in one statement.
const PRUNE_POSTGRES: &str = "WITH gone AS ( \
       DELETE FROM authorization_codes WHERE digest IN \
         (SELECT digest FROM authorization_codes WHERE expires_at <= $1 LIMIT $2) \
       RETURNING session_id \
     ), ended AS ( \
       DELETE FROM sessions WHERE pending AND id IN (SELECT session_id FROM gone) \
     ) \
     SELECT COUNT(*) AS codes FROM gone";

/// SQLite, one writer at a time, deletes the sessions then the codes in one transaction.
const PRUNE_SQLITE_SESSIONS: &str = "DELETE FROM sessions WHERE pending AND id IN \
     (SELECT session_id FROM authorization_codes WHERE expires_at <= $1 \
      ORDER BY expires_at, digest LIMIT $2)";
const PRUNE_SQLITE_CODES: &str = "DELETE FROM authorization_codes WHERE digest IN \
     (SELECT digest FROM authorization_codes WHERE expires_at <= $1 \
      ORDER BY expires_at, digest LIMIT $2)";

fn code_from_row(row: &AnyRow, digest: &Digest) -> Result<StoredCode, StoreError> {
    let session = record_from_row(row)?;
    Ok(StoredCode {
        digest: *digest,
        session_id: session.id,
        client_id: session.client_id.unwrap_or_default(),
        redirect_uri: row.try_get("redirect_uri").map_err(unavailable)?,
        code_challenge: row.try_get("code_challenge").map_err(unavailable)?,
        nonce: row.try_get("nonce").map_err(unavailable)?,
        browser_session: row.try_get("browser_session").map_err(unavailable)?,
        user_id: session.user_id,
        username: session.username,
        scope: session.scope,
        auth_time: from_db(row.try_get("auth_time").map_err(unavailable)?),
        expires_at: from_db(row.try_get("code_expires_at").map_err(unavailable)?),
    })
}

impl Database {
    pub(super) async fn issue_code_and_session(
        &self,
        code: StoredCode,
        session: StoredSession,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        insert(&mut tx, &session)
            .await
            .map_err(|err| self.failed(err))?;
        sqlx::query(
            "INSERT INTO authorization_codes (digest, session_id, client_id, redirect_uri, \
             code_challenge, nonce, user_id, scope, auth_time, expires_at, browser_session) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(code.digest.0.to_vec())
        .bind(&code.session_id)
        .bind(&code.client_id)
        .bind(code.redirect_uri.as_deref())
        .bind(code.code_challenge.as_deref())
        .bind(code.nonce.as_deref())
        .bind(code.user_id.as_str())
        .bind(code.scope.to_string())
        .bind(to_db(code.auth_time))
        .bind(to_db(code.expires_at))
        .bind(code.browser_session.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|err| self.failed(err))?;
        sqlx::query("UPDATE sessions SET auth_time = $1, browser_session = $2 WHERE id = $3")
            .bind(to_db(code.auth_time))
            .bind(code.browser_session.as_deref())
            .bind(&code.session_id)
            .execute(&mut *tx)
            .await
            .map_err(|err| self.failed(err))?;
        tx.commit().await.map_err(|err| self.failed(err))
    }

    pub(super) async fn exchange(
        &self,
        family: &Digest,
        digest: &Digest,
        next: Digest,
        now: UnixTime,
    ) -> Result<Result<Started, NotStarted>, StoreError> {
        let sql = match self.dialect {
            Dialect::Postgres => EXCHANGE_POSTGRES,
            Dialect::Sqlite => EXCHANGE_SQLITE,
        };
        let mut connection = self.connection().await?;
        let started = sqlx::query(sql)
            .bind(to_db(now))
            .bind(next.0.to_vec())
            .bind(family.0.to_vec())
            .bind(digest.0.to_vec())
            .fetch_optional(&mut *connection)
            .await
            .map_err(|err| self.failed(err))?;
        let Some(row) = started else {
            return Ok(Err(self
                .not_started(family, digest, now, &mut connection)
                .await?));
        };
        let code = code_from_row(&row, digest)?;
        let session = record_from_row(&row)?;
        let user = Arc::new(enabled_user_from_row(&row, &session.username)?);
        // Read by the statement that started the session: token checks may use it.
        self.remember_user(&user);
        Ok(Ok(Started {
            second_factor: Some(
                row.try_get::<i64, _>("second_factor")
                    .map_err(unavailable)?
                    != 0,
            ),
            code,
            session,
            user,
        }))
    }

    /// Why an exchange started nothing: read after the failed `UPDATE`, so a concurrent
    /// exchange that won has committed by now.
    async fn not_started(
        &self,
        family: &Digest,
        digest: &Digest,
        now: UnixTime,
        connection: &mut sqlx::AnyConnection,
    ) -> Result<NotStarted, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT id FROM sessions WHERE family = $1) AS session_id, \
             (SELECT CAST(CASE WHEN pending THEN 1 ELSE 0 END AS BIGINT) FROM sessions \
               WHERE family = $1) AS pending, \
             (SELECT expires_at FROM authorization_codes WHERE digest = $2) AS code_expires_at",
        )
        .bind(family.0.to_vec())
        .bind(digest.0.to_vec())
        .fetch_one(connection)
        .await
        .map_err(|err| self.failed(err))?;
        let id: Option<String> = row.try_get("session_id").map_err(unavailable)?;
        let pending: Option<i64> = row.try_get("pending").map_err(unavailable)?;
        let expires_at: Option<i64> = row.try_get("code_expires_at").map_err(unavailable)?;
        let session = id.zip(pending).map(|(id, pending)| (id, pending != 0));
        Ok(not_started(session, expires_at.map(from_db), now))
    }

    pub(super) async fn prune_expired_codes(&self, now: UnixTime) -> Result<usize, StoreError> {
        let mut pruned = 0;
        loop {
            let mut connection = self.connection().await?;
            let batch: i64 = match self.dialect {
                Dialect::Postgres => sqlx::query(PRUNE_POSTGRES)
                    .bind(to_db(now))
                    .bind(PRUNE_BATCH)
                    .fetch_one(&mut *connection)
                    .await
                    .and_then(|row| row.try_get("codes"))
                    .map_err(|err| self.failed(err))?,
                Dialect::Sqlite => {
                    let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
                    sqlx::query(PRUNE_SQLITE_SESSIONS)
                        .bind(to_db(now))
                        .bind(PRUNE_BATCH)
                        .execute(&mut *tx)
                        .await
                        .map_err(|err| self.failed(err))?;
                    let codes = sqlx::query(PRUNE_SQLITE_CODES)
                        .bind(to_db(now))
                        .bind(PRUNE_BATCH)
                        .execute(&mut *tx)
                        .await
                        .map_err(|err| self.failed(err))?;
                    tx.commit().await.map_err(|err| self.failed(err))?;
                    i64::try_from(codes.rows_affected()).unwrap_or(i64::MAX)
                }
            };
            pruned += usize::try_from(batch).unwrap_or(0);
            if batch < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
    }
}
