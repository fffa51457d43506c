//! `ConsentStore` on the database: the `consents` table, one row per (user, client).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Database, from_db, to_db, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::user_id::UserId;
use crate::store::consents::{ConsentRecord, ConsentStore};
use crate::store::{StoreError, storable};

fn consent_from_row(row: &AnyRow) -> Result<ConsentRecord, StoreError> {
    let scope: String = row.try_get("scope").map_err(unavailable)?;
    Ok(ConsentRecord {
        user_id: UserId::stored(row.try_get("user_id").map_err(unavailable)?),
        client_id: row.try_get("client_id").map_err(unavailable)?,
        scope: ScopeSet::read(&scope).map_err(|err| StoreError::Unavailable(err.into()))?,
        granted_at: from_db(row.try_get("granted_at").map_err(unavailable)?),
    })
}

#[async_trait]
impl ConsentStore for Database {
    async fn find(
        &self,
        user: &UserId,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        if !storable(client_id) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT user_id, client_id, scope, granted_at FROM consents \
             WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user.as_str())
        .bind(client_id)
        .fetch_optional(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn put(&self, consent: ConsentRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, granted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
             DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(consent.user_id.as_str())
        .bind(&consent.client_id)
        .bind(consent.scope.to_string())
        .bind(to_db(consent.granted_at))
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(())
    }

    async fn list(&self, user: &UserId) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, client_id, scope, granted_at FROM consents WHERE user_id = $1",
        )
        .bind(user.as_str())
        .fetch_all(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        rows.iter().map(consent_from_row).collect()
    }

    async fn revoke(&self, user: &UserId, client_id: &str) -> Result<bool, StoreError> {
        if !storable(client_id) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client_id)
            .execute(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(done.rows_affected() == 1)
    }
}
