//! `TotpStore` on the database. Spending a step or a recovery code is one conditional
//! statement, so replicas racing on one code cannot both accept it.

use async_trait::async_trait;
use sqlx::{Connection as _, Row};

use super::{Database, from_db, to_db};
use crate::model::username::Username;
use crate::store::StoreError;
use crate::store::session::Digest;
use crate::store::totp::{TotpRecord, TotpStore};

#[async_trait]
impl TotpStore for Database {
    async fn totp(&self, username: &Username) -> Result<Option<TotpRecord>, StoreError> {
        // `enabled` as an integer: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
        let row = sqlx::query(
            "SELECT secret, CAST(CASE WHEN enabled THEN 1 ELSE 0 END AS BIGINT) AS enabled, \
             last_step FROM totp_secrets WHERE username = $1",
        )
        .bind(username.as_str())
        .fetch_optional(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let field = |err| self.failed(err);
        Ok(Some(TotpRecord {
            sealed_secret: row.try_get("secret").map_err(field)?,
            enabled: row.try_get::<i64, _>("enabled").map_err(field)? != 0,
            last_step: row
                .try_get::<Option<i64>, _>("last_step")
                .map_err(field)?
                .map(from_db),
        }))
    }

    async fn begin_totp(
        &self,
        username: &Username,
        sealed_secret: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let stored = sqlx::query(
            "INSERT INTO totp_secrets (username, secret, enabled) VALUES ($1, $2, FALSE) \
             ON CONFLICT (username) DO UPDATE SET secret = excluded.secret, last_step = NULL \
             WHERE totp_secrets.enabled = FALSE",
        )
        .bind(username.as_str())
        .bind(sealed_secret)
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(stored.rows_affected() == 1)
    }

    async fn enable_totp(
        &self,
        username: &Username,
        sealed_secret: &[u8],
        step: u64,
        recovery: &[Digest],
    ) -> Result<bool, StoreError> {
        let failed = |err| self.failed(err);
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(failed)?;
        let enabled = sqlx::query(
            "UPDATE totp_secrets SET enabled = TRUE, last_step = $3 \
             WHERE username = $1 AND secret = $2 AND enabled = FALSE",
        )
        .bind(username.as_str())
        .bind(sealed_secret)
        .bind(to_db(step))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        if enabled.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_recovery_codes WHERE username = $1")
            .bind(username.as_str())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        for digest in recovery {
            sqlx::query("INSERT INTO totp_recovery_codes (username, digest) VALUES ($1, $2)")
                .bind(username.as_str())
                .bind(digest.0.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        Ok(true)
    }

    async fn spend_totp_step(&self, username: &Username, step: u64) -> Result<bool, StoreError> {
        let spent = sqlx::query(
            "UPDATE totp_secrets SET last_step = $2 WHERE username = $1 AND enabled = TRUE \
             AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(username.as_str())
        .bind(to_db(step))
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(spent.rows_affected() == 1)
    }

    async fn spend_recovery_code(
        &self,
        username: &Username,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        // Only while TOTP is on: codes of a removed factor are deleted with it anyway.
        let spent = sqlx::query(
            "DELETE FROM totp_recovery_codes WHERE username = $1 AND digest = $2 \
             AND EXISTS (SELECT 1 FROM totp_secrets t WHERE t.username = $1 AND t.enabled = TRUE)",
        )
        .bind(username.as_str())
        .bind(digest.0.to_vec())
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(spent.rows_affected() == 1)
    }

    async fn remove_totp(&self, username: &Username) -> Result<bool, StoreError> {
        let failed = |err| self.failed(err);
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(failed)?;
        let was_enabled = remove_in(&mut tx, username).await.map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(was_enabled)
    }
}

/// Deletes the user's TOTP and recovery codes; `true` if it was enabled.
pub(super) async fn remove_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    username: &Username,
) -> Result<bool, sqlx::Error> {
    let enabled = sqlx::query("DELETE FROM totp_secrets WHERE username = $1 AND enabled = TRUE")
        .bind(username.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM totp_secrets WHERE username = $1")
        .bind(username.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM totp_recovery_codes WHERE username = $1")
        .bind(username.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(enabled.rows_affected() == 1)
}

impl Database {
    /// One stored secret (any user's, pending or enabled), to prove at start that
    /// `TOTP_ENCRYPTION_KEY` opens what the database holds. `None` when it holds none.
    pub async fn any_totp_secret(&self) -> Result<Option<(Username, Vec<u8>)>, StoreError> {
        let row =
            sqlx::query("SELECT username, secret FROM totp_secrets ORDER BY username LIMIT 1")
                .fetch_optional(&mut *self.connection().await?)
                .await
                .map_err(|err| self.failed(err))?;
        row.map(|row| {
            let field = |err| self.failed(err);
            Ok((
                Username::from(row.try_get::<String, _>("username").map_err(field)?),
                row.try_get("secret").map_err(field)?,
            ))
        })
        .transpose()
    }
}
