//! `CodeStore` on the database: a code is spent by one conditional `UPDATE` inside the
//! transaction that inserts its session. PostgreSQL makes a concurrent exchange of the same
//! code wait on the row lock and then re-check the condition, which the first exchange's
//! commit has made false; SQLite admits one writer at a time.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Connection as _, Row};

use super::sessions::insert;
use super::{Database, digest_of, from_db, to_db, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::codes::{CodeStore, Exchange, ExchangeCheck, StoredCode};
use crate::store::session::Digest;

const CODE_COLUMNS: &str = "digest, client_id, redirect_uri, code_challenge, nonce, username, \
     scope, auth_time, expires_at";

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
        check: ExchangeCheck<'_>,
    ) -> Result<Exchange, StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        let sql = format!(
            "UPDATE authorization_codes SET spent_at = $1 \
             WHERE digest = $2 AND spent_at IS NULL AND expires_at > $1 RETURNING {CODE_COLUMNS}"
        );
        let taken = sqlx::query(&sql)
            .bind(to_db(now))
            .bind(digest.0.to_vec())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|err| self.failed(err))?;
        let Some(row) = taken else {
            drop(tx);
            return self.not_live(digest, &mut connection).await;
        };
        let code = code_from_row(&row)?;
        let session = check(&code);
        if let Some(session) = &session {
            insert(&mut tx, session)
                .await
                .map_err(|err| self.failed(err))?;
            sqlx::query("UPDATE authorization_codes SET session_id = $1 WHERE digest = $2")
                .bind(&session.record.id)
                .bind(digest.0.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(|err| self.failed(err))?;
        }
        tx.commit().await.map_err(|err| self.failed(err))?;
        Ok(Exchange::Spent {
            code,
            started: session.is_some(),
        })
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
