//! `ThrottleStore` on the database: GCRA in one conditional upsert per attempt.

use async_trait::async_trait;

use super::Database;
use crate::store::StoreError;
use crate::store::throttle::ThrottleStore;

#[async_trait]
impl ThrottleStore for Database {
    async fn take(
        &self,
        key: &str,
        cell: i64,
        window: i64,
        now: i64,
    ) -> Result<Result<(), i64>, StoreError> {
        // The new arrival time is max(tat, now) + cell; it is allowed while it lies at most
        // `window` ahead. A refused take matches no row and writes nothing.
        let taken = sqlx::query(
            "INSERT INTO login_throttle (key, tat) VALUES ($1, $2 + $3) \
             ON CONFLICT (key) DO UPDATE SET \
               tat = (CASE WHEN login_throttle.tat > $2 THEN login_throttle.tat ELSE $2 END) + $3 \
             WHERE (CASE WHEN login_throttle.tat > $2 THEN login_throttle.tat ELSE $2 END) + $3 - $2 <= $4",
        )
        .bind(key)
        .bind(now)
        .bind(cell)
        .bind(window)
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        if taken.rows_affected() == 1 {
            return Ok(Ok(()));
        }
        let tat: i64 = sqlx::query_scalar("SELECT tat FROM login_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?
            .unwrap_or(now);
        Ok(Err((tat + cell - window - now).max(1)))
    }

    async fn refund(&self, key: &str, cell: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_throttle SET tat = tat - $1 WHERE key = $2")
            .bind(cell)
            .bind(key)
            .execute(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(())
    }
}
