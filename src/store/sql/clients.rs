//! Registered clients in the `clients` table. The server reads a client through a cache of
//! [`USER_CACHE_TTL`], so a change made by `passflow clients` on any host reaches every
//! replica within that.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Connection as _, Row};

use super::audit::append_in;
use super::sessions::end_where;
use super::{Database, USER_CACHE_TTL, to_db, unavailable};
use crate::model::client::{Client, PkcePolicy, RedirectUri};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::now;
use crate::store::admin::EndSessions;
use crate::store::clients::{ClientRegistry, ClientStore};
use crate::store::{StoreError, storable};

/// Booleans are read as integers: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, secret_sha256, \
     CAST(CASE WHEN first_party THEN 1 ELSE 0 END AS BIGINT) AS first_party, scopes, pkce, \
     CAST(CASE WHEN refresh_token THEN 1 ELSE 0 END AS BIGINT) AS refresh_token, \
     post_logout_redirect_uris";

/// A row that does not read back as a client was written by something other than passflow.
fn corrupt(what: String) -> StoreError {
    StoreError::Unavailable(what.into())
}

fn client_from_row(row: &AnyRow) -> Result<Client, StoreError> {
    let id: String = row.try_get("client_id").map_err(unavailable)?;
    let uris: String = row.try_get("redirect_uris").map_err(unavailable)?;
    let uris_of = |uris: String| {
        uris.split_whitespace()
            .map(RedirectUri::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| corrupt(format!("client {id:?}: {err}")))
    };
    let redirect_uris = uris_of(uris)?;
    let post_logout_redirect_uris = uris_of(
        row.try_get("post_logout_redirect_uris")
            .map_err(unavailable)?,
    )?;
    let secret: Option<Vec<u8>> = row.try_get("secret_sha256").map_err(unavailable)?;
    let secret_sha256 = secret
        .map(<[u8; 32]>::try_from)
        .transpose()
        .map_err(|_| corrupt(format!("client {id:?}: a secret digest is not 32 bytes")))?;
    let scopes: Option<String> = row.try_get("scopes").map_err(unavailable)?;
    let scopes = scopes
        .as_deref()
        .map(ScopeSet::read)
        .transpose()
        .map_err(|err| corrupt(format!("client {id:?}: {err}")))?;
    let pkce: String = row.try_get("pkce").map_err(unavailable)?;
    let pkce =
        PkcePolicy::parse(&pkce).ok_or_else(|| corrupt(format!("client {id:?}: pkce {pkce:?}")))?;
    Ok(Client {
        name: row.try_get("name").map_err(unavailable)?,
        redirect_uris,
        post_logout_redirect_uris,
        secret_sha256,
        first_party: row.try_get::<i64, _>("first_party").map_err(unavailable)? != 0,
        scopes,
        pkce,
        refresh: row
            .try_get::<i64, _>("refresh_token")
            .map_err(unavailable)?
            != 0,
        id,
    })
}

fn joined(uris: &[RedirectUri]) -> String {
    uris.iter()
        .map(RedirectUri::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Database {
    async fn read_client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        let client = row.as_ref().map(client_from_row).transpose()?.map(Arc::new);
        self.clients
            .insert(id.to_owned(), (client.clone(), Instant::now()));
        Ok(client)
    }
}

#[async_trait]
impl ClientStore for Database {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some((client, read_at)) = self.clients.get(id)
            && read_at.elapsed() < USER_CACHE_TTL
        {
            return Ok(client);
        }
        self.read_client(id).await
    }

    async fn any(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT client_id FROM clients LIMIT 1")
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl ClientRegistry for Database {
    async fn add(&self, client: Client, event: &Event) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, redirect_uris, secret_sha256, first_party, \
             scopes, pkce, refresh_token, created_at, post_logout_redirect_uris) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&client.id)
        .bind(&client.name)
        .bind(joined(&client.redirect_uris))
        .bind(client.secret_sha256.map(|digest| digest.to_vec()))
        .bind(client.first_party)
        .bind(client.scopes.as_ref().map(ToString::to_string))
        .bind(client.pkce.as_str())
        .bind(client.refresh)
        .bind(to_db(now()))
        .bind(joined(&client.post_logout_redirect_uris))
        .execute(&mut *tx)
        .await
        .map_err(|err| self.failed(err))?;
        append_in(&mut tx, event)
            .await
            .map_err(|err| self.failed(err))?;
        tx.commit().await.map_err(|err| self.failed(err))
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY name, client_id");
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        rows.iter().map(client_from_row).collect()
    }

    /// Removes the client, its codes and its sessions (logged as ended, so every replica
    /// refuses their access tokens at once), with their events, in one transaction.
    async fn remove(
        &self,
        id: &str,
        end: &EndSessions,
        event: &Event,
    ) -> Result<Option<Client>, StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        let sql = format!("DELETE FROM clients WHERE client_id = $1 RETURNING {CLIENT_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|err| self.failed(err))?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM authorization_codes WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|err| self.failed(err))?;
        let ended = end_where(&mut tx, "client_id = $1", &[id], end.at).await?;
        for session in ended.iter().filter(|session| !session.pending) {
            let ended = end
                .ended
                .for_session(&session.id, Some(id))
                .user(&session.username, Some(session.user_id.as_str()));
            append_in(&mut tx, &ended)
                .await
                .map_err(|err| self.failed(err))?;
        }
        append_in(&mut tx, event)
            .await
            .map_err(|err| self.failed(err))?;
        tx.commit().await.map_err(|err| self.failed(err))?;
        self.clients.remove(id);
        client_from_row(&row).map(Some)
    }

    async fn set_secret(
        &self,
        id: &str,
        secret_sha256: [u8; 32],
        event: &Event,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        let done = sqlx::query("UPDATE clients SET secret_sha256 = $1 WHERE client_id = $2")
            .bind(secret_sha256.to_vec())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|err| self.failed(err))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        append_in(&mut tx, event)
            .await
            .map_err(|err| self.failed(err))?;
        tx.commit().await.map_err(|err| self.failed(err))?;
        self.clients.remove(id);
        Ok(true)
    }
}
