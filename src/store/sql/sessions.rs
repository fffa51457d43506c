//! `SessionStore` on the database. Ends are logged in `session_ends` so that every server
//! sharing the database refuses the access tokens of a session ended anywhere.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Connection as _, Row, Transaction};

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::audit::append_in;
use super::{Database, Dialect, ENDS_CHANNEL, digest_of, from_db, to_db, unavailable};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::store::codes::{NotStarted, Started, StoredCode};
use crate::store::session::{
    Digest, Rotated, SessionEnd, SessionRecord, SessionStore, SignIn, StoredSession,
};
use crate::store::{StoreError, User, UserRecord, UserStore};

/// `pending` is read as an integer: sqlx's `Any` driver cannot decode SQLite's BOOLEAN. The
/// user's name is read from `users` (a session is filed under the user's id), so a statement
/// using these names the table `sessions`, unaliased.
const SESSION_COLUMNS: &str = "id, user_id, \
     (SELECT username FROM users u WHERE u.subject = sessions.user_id) AS username, \
     scope, created_at, last_used_at, expires_at, \
     client_id, family, current_token, previous_token, previous_used_at, \
     CAST(CASE WHEN pending THEN 1 ELSE 0 END AS BIGINT) AS pending";

/// Rows one prune statement deletes at most: each statement locks one batch, never a large
/// table for long, and finds it through an index.
const PRUNE_BATCH: i64 = 1000;

/// `last_used_day` is `last_used_at` in whole days: what the idle prune's index covers (see
/// the migration `prune_indexes`).
const DAY: i64 = 86_400;

/// Rows re-read behind the cursor on every poll: PostgreSQL hands out `seq` at insert, so a
/// transaction committing late can land behind one already seen. Applying an end twice is
/// harmless.
const ENDS_OVERLAP: i64 = 256;

pub(super) fn record_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    let scope: String = row.try_get("scope").map_err(unavailable)?;
    Ok(SessionRecord {
        id: row.try_get("id").map_err(unavailable)?,
        user_id: UserId::stored(row.try_get("user_id").map_err(unavailable)?),
        username: Username::from(row.try_get::<String, _>("username").map_err(unavailable)?),
        scope: ScopeSet::read(&scope).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
        created_at: from_db(row.try_get("created_at").map_err(unavailable)?),
        last_used_at: from_db(row.try_get("last_used_at").map_err(unavailable)?),
        expires_at: from_db(row.try_get("expires_at").map_err(unavailable)?),
        client_id: row.try_get("client_id").map_err(unavailable)?,
        pending: row.try_get::<i64, _>("pending").map_err(unavailable)? != 0,
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

/// How the user signed in, from a row with a session's `auth_time` and `browser_session`
/// (and `second_factor`, when `with_factor`): `None` for a session no authorization code
/// started.
fn sign_in_from_row(row: &AnyRow, with_factor: bool) -> Result<Option<SignIn>, StoreError> {
    let auth_time: Option<i64> = row.try_get("auth_time").map_err(unavailable)?;
    auth_time
        .map(|auth_time| {
            let second_factor = if with_factor {
                Some(
                    row.try_get::<i64, _>("second_factor")
                        .map_err(unavailable)?
                        != 0,
                )
            } else {
                None
            };
            Ok(SignIn {
                auth_time: from_db(auth_time),
                browser_session: row.try_get("browser_session").map_err(unavailable)?,
                second_factor,
            })
        })
        .transpose()
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

/// Inserts a session (on its own, or pending with the code that starts it).
pub(super) async fn insert(
    connection: &mut AnyConnection,
    session: &StoredSession,
) -> Result<(), sqlx::Error> {
    let record = &session.record;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, scope, created_at, last_used_at, expires_at, \
         client_id, family, current_token, last_used_day, pending) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&record.id)
    .bind(record.user_id.as_str())
    .bind(record.scope.to_string())
    .bind(to_db(record.created_at))
    .bind(to_db(record.last_used_at))
    .bind(to_db(record.expires_at))
    .bind(record.client_id.as_deref())
    .bind(session.family.0.to_vec())
    .bind(session.current.0.to_vec())
    .bind(to_db(record.last_used_at) / DAY)
    .bind(record.pending)
    .execute(connection)
    .await?;
    Ok(())
}

#[async_trait]
impl SessionStore for Database {
    async fn create(&self, session: StoredSession, events: &[Event]) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        if events.is_empty() {
            return insert(&mut connection, &session)
                .await
                .map_err(|err| self.failed(err));
        }
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        insert(&mut tx, &session)
            .await
            .map_err(|err| self.failed(err))?;
        for event in events {
            append_in(&mut tx, event)
                .await
                .map_err(|err| self.failed(err))?;
        }
        tx.commit().await.map_err(|err| self.failed(err))
    }

    async fn find_by_family(&self, family: &Digest) -> Result<Option<StoredSession>, StoreError> {
        let sql =
            format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE family = $1 AND NOT pending");
        let row = sqlx::query(&sql)
            .bind(family.0.to_vec())
            .fetch_optional(&mut *self.connection().await?)
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
             current_token = $2, last_used_at = $1, last_used_day = $5 \
             WHERE id = $3 AND current_token = $4",
        )
        .bind(to_db(now))
        .bind(next.0.to_vec())
        .bind(id)
        .bind(expected.0.to_vec())
        .bind(to_db(now) / DAY)
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(rotated.rows_affected() == 1)
    }

    async fn touch(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_used_at = $1, last_used_day = $2 WHERE id = $3")
            .bind(to_db(now))
            .bind(to_db(now) / DAY)
            .bind(id)
            .execute(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        Ok(())
    }

    async fn rotate_current(
        &self,
        family: &Digest,
        presented: &Digest,
        next: Digest,
        now: UnixTime,
        idle_cutoff: UnixTime,
        client: Option<&str>,
    ) -> Result<Option<Rotated>, StoreError> {
        let row = sqlx::query(rotate_current_sql(self.dialect))
            .bind(to_db(now))
            .bind(next.0.to_vec())
            .bind(family.0.to_vec())
            .bind(presented.0.to_vec())
            .bind(to_db(idle_cutoff))
            .bind(to_db(now) / DAY)
            .bind(client)
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let session = record_from_row(&row)?;
        let user = Arc::new(enabled_user_from_row(&row, &session.username)?);
        // What the statement read is the user as stored now: token checks may use it.
        self.remember_user(&user);
        Ok(Some(Rotated {
            sign_in: sign_in_from_row(&row, true)?,
            session,
            user,
        }))
    }

    async fn list(&self, user: &UserId) -> Result<Vec<SessionRecord>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1");
        let rows = sqlx::query(&sql)
            .bind(user.as_str())
            .fetch_all(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        rows.iter().map(record_from_row).collect()
    }

    async fn issue_code(&self, code: StoredCode, session: StoredSession) -> Result<(), StoreError> {
        self.issue_code_and_session(code, session).await
    }

    async fn started_in(&self, browser_session: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE browser_session = $1")
            .bind(browser_session)
            .fetch_all(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))
    }

    async fn sign_in(&self, id: &str) -> Result<Option<SignIn>, StoreError> {
        let row = sqlx::query("SELECT auth_time, browser_session FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        let sign_in = row.as_ref().map(|row| sign_in_from_row(row, false));
        Ok(sign_in.transpose()?.flatten())
    }

    async fn exchange_code(
        &self,
        family: &Digest,
        digest: &Digest,
        next: Digest,
        now: UnixTime,
        _users: &dyn UserStore,
    ) -> Result<Result<Started, NotStarted>, StoreError> {
        self.exchange(family, digest, next, now).await
    }

    async fn prune_codes(&self, now: UnixTime) -> Result<usize, StoreError> {
        self.prune_expired_codes(now).await
    }

    async fn end(&self, id: &str, now: UnixTime) -> Result<Option<SessionRecord>, StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        let ended = end_where(&mut tx, "id = $1", &[id], now).await?;
        tx.commit().await.map_err(|err| self.failed(err))?;
        Ok(ended.into_iter().next())
    }

    async fn end_all(
        &self,
        user: &UserId,
        username: &Username,
        keep: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        let ended = match keep {
            Some(keep) => {
                let values = [user.as_str(), keep];
                end_where(&mut tx, "user_id = $1 AND id <> $2", &values, now).await?
            }
            None => end_where(&mut tx, "user_id = $1", &[user.as_str()], now).await?,
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
        .fetch_all(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        let mut next = cursor;
        let mut ends = Vec::with_capacity(rows.len());
        for row in &rows {
            next = next.max(row.try_get::<i64, _>("seq").map_err(unavailable)?);
            ends.push(SessionEnd {
                session_id: row.try_get("session_id").map_err(unavailable)?,
                username: Username::from(
                    row.try_get::<String, _>("username").map_err(unavailable)?,
                ),
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
        let expired = self
            .delete_in_batches(
                "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE expires_at <= $1 LIMIT $2)",
                to_db(now),
            )
            .await?;
        // By whole days: a session idle for less than a day past its deadline may stay until
        // the next day's prune. Nothing can use it meanwhile: redeeming checks the exact
        // deadline, and listing hides it.
        let idle = self
            .delete_in_batches(
                "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE last_used_day < $1 LIMIT $2)",
                to_db(idle_cutoff) / DAY,
            )
            .await?;
        self.delete_in_batches(
            "DELETE FROM session_ends WHERE seq IN \
             (SELECT seq FROM session_ends WHERE ended_at < $1 LIMIT $2)",
            to_db(ends_before),
        )
        .await?;
        // The shared throttle's keys whose arrival time has passed are full buckets again:
        // dropping them changes nothing but the table's size.
        self.delete_in_batches(
            "DELETE FROM login_throttle WHERE key IN \
             (SELECT key FROM login_throttle WHERE tat < $1 LIMIT $2)",
            to_db(now).saturating_mul(1000),
        )
        .await?;
        Ok(usize::try_from(expired + idle).unwrap_or(usize::MAX))
    }
}

/// The success path of a refresh as one statement: rotate the live session of this family
/// whose current token was presented, if its user exists and is enabled, and return both.
/// PostgreSQL joins the user in (`UPDATE … FROM`); SQLite's `RETURNING` cannot name a joined
/// table, so it reads the user's columns by subqueries on the user's id (a unique index). Only a session
/// already used today matches: its `last_used_day` is right, so the statement leaves that
/// indexed column alone (an index entry rewritten on every refresh cost SQLite ~30 % of the
/// statement), and the day's first refresh takes the long way, whose `rotate` moves it. A
/// client's session matches only when `$7` names that client, which the caller proved first
/// (RFC 6749 §6), and only once its code was exchanged (a pending session's token is the
/// code); a password login's session matches whoever asks, as on the long way.
/// For a session a code began, it also reads whether the user's TOTP is on (the refresh's
/// id_token says how the user signed in), a password login's session skips that read.
/// Parameters: $1 now, $2 next digest, $3 family, $4 presented digest, $5 idle cutoff, $6
/// now's day, $7 the proven client or NULL.
const ROTATE_CURRENT_POSTGRES: &str = "UPDATE sessions AS s SET previous_token = s.current_token, \
     previous_used_at = $1, current_token = $2, last_used_at = $1 \
     FROM users AS u \
     WHERE s.family = $3 AND s.current_token = $4 AND s.expires_at > $1 AND s.last_used_at > $5 \
       AND s.last_used_day = $6 AND NOT s.pending AND (s.client_id IS NULL OR s.client_id = $7) \
       AND u.subject = s.user_id AND NOT u.disabled \
     RETURNING s.id, s.user_id, u.username, s.scope, s.created_at, s.last_used_at, s.expires_at, \
       s.client_id, CAST(0 AS BIGINT) AS pending, s.auth_time, s.browser_session, u.email, \
       u.full_name, u.hashed_password, u.scopes AS user_scopes, u.subject, \
       CAST(CASE WHEN s.auth_time IS NOT NULL AND EXISTS (SELECT 1 FROM totp_secrets t \
         WHERE t.username = u.username AND t.enabled) THEN 1 ELSE 0 END AS BIGINT) AS second_factor";

const ROTATE_CURRENT_SQLITE: &str = "UPDATE sessions SET previous_token = current_token, \
     previous_used_at = $1, current_token = $2, last_used_at = $1 \
     WHERE family = $3 AND current_token = $4 AND expires_at > $1 AND last_used_at > $5 \
       AND last_used_day = $6 AND NOT pending AND (client_id IS NULL OR client_id = $7) \
       AND EXISTS (SELECT 1 FROM users u WHERE u.subject = sessions.user_id AND NOT u.disabled) \
     RETURNING id, user_id, scope, created_at, last_used_at, expires_at, client_id, \
       CAST(0 AS BIGINT) AS pending, auth_time, browser_session, user_id AS subject, \
       (SELECT username FROM users u WHERE u.subject = sessions.user_id) AS username, \
       (SELECT email FROM users u WHERE u.subject = sessions.user_id) AS email, \
       (SELECT full_name FROM users u WHERE u.subject = sessions.user_id) AS full_name, \
       (SELECT hashed_password FROM users u WHERE u.subject = sessions.user_id) AS hashed_password, \
       (SELECT scopes FROM users u WHERE u.subject = sessions.user_id) AS user_scopes, \
       CAST(CASE WHEN auth_time IS NOT NULL AND EXISTS (SELECT 1 FROM totp_secrets t \
         JOIN users u ON u.username = t.username \
         WHERE u.subject = sessions.user_id AND t.enabled) THEN 1 ELSE 0 END AS BIGINT) \
         AS second_factor";

/// The statement `rotate_current` runs on `dialect` (public for `benches/drivers.rs`).
pub fn rotate_current_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => ROTATE_CURRENT_POSTGRES,
        Dialect::Sqlite => ROTATE_CURRENT_SQLITE,
    }
}

/// The user columns of a row a statement read only for an enabled user (a rotation, a code
/// exchange).
pub(super) fn enabled_user_from_row(
    row: &AnyRow,
    username: &str,
) -> Result<UserRecord, StoreError> {
    let scopes: String = row.try_get("user_scopes").map_err(unavailable)?;
    Ok(UserRecord {
        id: UserId::stored(row.try_get("subject").map_err(unavailable)?),
        profile: Arc::new(User {
            username: username.into(),
            email: row.try_get("email").map_err(unavailable)?,
            full_name: row.try_get("full_name").map_err(unavailable)?,
            disabled: false,
        }),
        hashed_password: row.try_get("hashed_password").map_err(unavailable)?,
        scopes: ScopeSet::read(&scopes).map_err(|err| StoreError::Unavailable(Box::new(err)))?,
    })
}

impl Database {
    /// Runs `sql` (a `DELETE` of at most `$2` rows below `$1`) until a batch comes up short.
    async fn delete_in_batches(&self, sql: &str, below: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let batch = sqlx::query(sql)
                .bind(below)
                .bind(PRUNE_BATCH)
                .execute(&mut *self.connection().await?)
                .await
                .map_err(|err| self.failed(err))?
                .rows_affected();
            deleted += batch;
            if batch < PRUNE_BATCH.unsigned_abs() {
                return Ok(deleted);
            }
        }
    }
}
