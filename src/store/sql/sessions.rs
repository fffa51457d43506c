//! `SessionStore` on the database. Ends are logged in `session_ends` so that every server
//! sharing the database refuses the access tokens of a session ended anywhere.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use std::sync::atomic::Ordering;

use super::{Database, ENDS_CHANNEL, digest_of, from_db, to_db, unavailable};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::session::{Digest, SessionEnd, SessionRecord, SessionStore, StoredSession};

const SESSION_COLUMNS: &str = "id, username, scope, created_at, last_used_at, expires_at, \
     family, current_token, previous_token, previous_used_at";

/// Rows re-read behind the cursor on every poll: PostgreSQL hands out `seq` at insert, so a
/// transaction committing late can land behind one already seen. Applying an end twice is
/// harmless.
const ENDS_OVERLAP: i64 = 256;

fn record_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    let scope: String = row.try_get("scope").map_err(unavailable)?;
    Ok(SessionRecord {
        id: row.try_get("id").map_err(unavailable)?,
        username: row.try_get("username").map_err(unavailable)?,
        scope: ScopeSet::parse(&scope).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
        created_at: from_db(row.try_get("created_at").map_err(unavailable)?),
        last_used_at: from_db(row.try_get("last_used_at").map_err(unavailable)?),
        expires_at: from_db(row.try_get("expires_at").map_err(unavailable)?),
    })
}

fn stored_from_row(row: &AnyRow) -> Result<StoredSession, StoreError> {
    let previous: Option<Vec<u8>> = row.try_get("previous_token").map_err(unavailable)?;
    let previous_used_at: Option<i64> = row.try_get("previous_used_at").map_err(unavailable)?;
    Ok(StoredSession {
        record: record_from_row(row)?,
        family: digest_of(row.try_get("family").map_err(unavailable)?)?,
        current: digest_of(row.try_get("current_token").map_err(unavailable)?)?,
        previous: match (previous, previous_used_at) {
            (Some(digest), Some(at)) => Some((digest_of(digest)?, from_db(at))),
            _ => None,
        },
    })
}

/// Deletes the sessions `condition` selects (its bound parameters `values`, in order) and
/// logs their ends.
pub(super) async fn end_where(
    tx: &mut Transaction<'_, Any>,
    condition: &str,
    values: &[&str],
    now: UnixTime,
) -> Result<Vec<SessionRecord>, StoreError> {
    let sql = format!("DELETE FROM sessions WHERE {condition} RETURNING {SESSION_COLUMNS}");
    let query = values
        .iter()
        .fold(sqlx::query(&sql), |query, value| query.bind(*value));
    let rows = query.fetch_all(&mut **tx).await.map_err(unavailable)?;
    let ended = rows
        .iter()
        .map(record_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    for session in &ended {
        log_end(tx, Some(&session.id), &session.username, now).await?;
    }
    Ok(ended)
}

pub(super) async fn log_end(
    tx: &mut Transaction<'_, Any>,
    session_id: Option<&str>,
    username: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO session_ends (session_id, username, ended_at) VALUES ($1, $2, $3)")
        .bind(session_id)
        .bind(username)
        .bind(to_db(now))
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    if tx.backend_name() == "PostgreSQL" {
        // Delivered at commit, once per transaction however many ends it logs.
        sqlx::query(&format!("NOTIFY {ENDS_CHANNEL}"))
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

#[async_trait]
impl SessionStore for Database {
    async fn create(&self, session: StoredSession) -> Result<(), StoreError> {
        let record = &session.record;
        sqlx::query(
            "INSERT INTO sessions (id, username, scope, created_at, last_used_at, expires_at, \
             family, current_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&record.id)
        .bind(&record.username)
        .bind(record.scope.to_string())
        .bind(to_db(record.created_at))
        .bind(to_db(record.last_used_at))
        .bind(to_db(record.expires_at))
        .bind(session.family.0.to_vec())
        .bind(session.current.0.to_vec())
        .execute(&self.pool)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(())
    }

    async fn find_by_family(&self, family: &Digest) -> Result<Option<StoredSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE family = $1");
        let row = sqlx::query(&sql)
            .bind(family.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|err| self.failed(err))?;
        row.as_ref().map(stored_from_row).transpose()
    }

    async fn rotate(
        &self,
        id: &str,
        expected: &Digest,
        next: Digest,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement, conditional on the current token: the database serialises
        // concurrent rotations, so exactly one of them matches.
        let rotated = sqlx::query(
            "UPDATE sessions SET previous_token = current_token, previous_used_at = $1, \
             current_token = $2, last_used_at = $1 WHERE id = $3 AND current_token = $4",
        )
        .bind(to_db(now))
        .bind(next.0.to_vec())
        .bind(id)
        .bind(expected.0.to_vec())
        .execute(&self.pool)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(rotated.rows_affected() == 1)
    }

    async fn list(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE username = $1");
        let rows = sqlx::query(&sql)
            .bind(username)
            .fetch_all(&self.pool)
            .await
            .map_err(|err| self.failed(err))?;
        rows.iter().map(record_from_row).collect()
    }

    async fn end(&self, id: &str, now: UnixTime) -> Result<Option<SessionRecord>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(|err| self.failed(err))?;
        let ended = end_where(&mut tx, "id = $1", &[id], now).await?;
        tx.commit().await.map_err(|err| self.failed(err))?;
        Ok(ended.into_iter().next())
    }

    async fn end_all(
        &self,
        username: &str,
        keep: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(|err| self.failed(err))?;
        let ended = match keep {
            Some(keep) => {
                let values = [username, keep];
                end_where(&mut tx, "username = $1 AND id <> $2", &values, now).await?
            }
            None => end_where(&mut tx, "username = $1", &[username], now).await?,
        };
        log_end(&mut tx, None, username, now).await?;
        tx.commit().await.map_err(|err| self.failed(err))?;
        Ok(ended)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn ends_notifications(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        Database::ends_notifications(self)
    }

    fn reachable(&self) -> bool {
        Database::reachable(self)
    }

    async fn ends_since(&self, cursor: i64) -> Result<(Vec<SessionEnd>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT seq, session_id, username, ended_at FROM session_ends WHERE seq > $1 \
             ORDER BY seq",
        )
        .bind(cursor - ENDS_OVERLAP)
        .fetch_all(&self.pool)
        .await
        .map_err(|err| self.failed(err))?;
        let mut next = cursor;
        let mut ends = Vec::with_capacity(rows.len());
        for row in &rows {
            next = next.max(row.try_get::<i64, _>("seq").map_err(unavailable)?);
            ends.push(SessionEnd {
                session_id: row.try_get("session_id").map_err(unavailable)?,
                username: row.try_get("username").map_err(unavailable)?,
                ended_at: from_db(row.try_get("ended_at").map_err(unavailable)?),
            });
        }
        self.failing.store(false, Ordering::Release);
        Ok((ends, next))
    }

    async fn prune(
        &self,
        now: UnixTime,
        idle_cutoff: UnixTime,
        ends_before: UnixTime,
    ) -> Result<usize, StoreError> {
        let pruned =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_used_at <= $2")
                .bind(to_db(now))
                .bind(to_db(idle_cutoff))
                .execute(&self.pool)
                .await
                .map_err(|err| self.failed(err))?;
        sqlx::query("DELETE FROM session_ends WHERE ended_at < $1")
            .bind(to_db(ends_before))
            .execute(&self.pool)
            .await
            .map_err(|err| self.failed(err))?;
        // The shared throttle's keys whose arrival time has passed are full buckets again:
        // dropping them changes nothing but the table's size.
        sqlx::query("DELETE FROM login_throttle WHERE tat < $1")
            .bind(to_db(now).saturating_mul(1000))
            .execute(&self.pool)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(usize::try_from(pruned.rows_affected()).unwrap_or(usize::MAX))
    }
}
