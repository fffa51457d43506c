//! The connections a [`Database`](super::Database) holds: a deadpool pool of sqlx connections.
//!
//! sqlx's own pool pings every connection when it hands it out and again when it takes it
//! back: on PostgreSQL two extra round trips for each statement, on SQLite two more hops to
//! its worker thread. A refresh grant is one statement (issue 22), so those pings were two
//! thirds of its database work. Here a connection is tested only after some statement has
//! failed since it was last known good; one that broke in an outage fails its ping on the next
//! checkout and is replaced. A statement abandoned half-way (its client went away) leaves
//! nothing behind: sqlx drains a connection's pending replies before its next statement, and
//! a dropped transaction's `ROLLBACK` is sent ahead of it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, TimeoutType};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection as _, Executor as _};

use super::Dialect;

/// Each SQLite connection's settings. WAL: readers never wait for the writer; the busy
/// timeout makes concurrent writers (another server, the `users` command) queue.
/// synchronous = NORMAL is WAL's usual pairing: no fsync per commit; a power cut may lose the
/// last rotations (their clients log in again), never corrupt the file.
pub const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// Opens connections, with each dialect's settings, and decides which to test on checkout.
pub(super) struct Connector {
    options: AnyConnectOptions,
    dialect: Dialect,
    /// How many failed statements any connection has seen: one whose `checked` is behind it
    /// is pinged before it is used again.
    failures: Arc<AtomicU64>,
}

/// A connection and the failure count when it was last known to work.
pub(super) struct Pooled {
    raw: AnyConnection,
    checked: u64,
}

impl managed::Manager for Connector {
    type Type = Pooled;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Pooled, sqlx::Error> {
        let checked = self.failures.load(Ordering::Acquire);
        let mut raw = AnyConnection::connect_with(&self.options).await?;
        if self.dialect == Dialect::Sqlite {
            raw.execute(SQLITE_PRAGMAS).await?;
        }
        Ok(Pooled { raw, checked })
    }

    async fn recycle(&self, connection: &mut Pooled, _: &Metrics) -> RecycleResult<sqlx::Error> {
        let failures = self.failures.load(Ordering::Acquire);
        if connection.checked != failures {
            connection.raw.ping().await.map_err(RecycleError::Backend)?;
            connection.checked = failures;
        }
        Ok(())
    }
}

/// A pool of connections to one database.
pub(super) struct Pool {
    inner: managed::Pool<Connector>,
    failures: Arc<AtomicU64>,
}

/// A connection checked out of the [`Pool`]; back in the pool when dropped.
pub(super) struct Checkout(managed::Object<Connector>);

impl Deref for Checkout {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.0.raw
    }
}

impl DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0.raw
    }
}

impl Pool {
    /// At most `size` connections; a checkout waits at most `timeout` (for a free connection,
    /// and again for a new one to open) before it fails as [`sqlx::Error::PoolTimedOut`].
    pub(super) fn new(
        options: AnyConnectOptions,
        dialect: Dialect,
        size: usize,
        timeout: Duration,
    ) -> Self {
        let failures = Arc::new(AtomicU64::new(0));
        let connector = Connector {
            options,
            dialect,
            failures: Arc::clone(&failures),
        };
        let inner = managed::Pool::builder(connector)
            .max_size(size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .expect("a runtime and timeouts are set");
        Self { inner, failures }
    }

    /// A connection, in sqlx's error terms, so callers map one error type.
    pub(super) async fn get(&self) -> Result<Checkout, sqlx::Error> {
        self.inner
            .get()
            .await
            .map(Checkout)
            .map_err(|err| match err {
                PoolError::Backend(err) => err,
                PoolError::Timeout(
                    TimeoutType::Wait | TimeoutType::Create | TimeoutType::Recycle,
                ) => sqlx::Error::PoolTimedOut,
                PoolError::Closed
                | PoolError::NoRuntimeSpecified
                | PoolError::PostCreateHook(_) => sqlx::Error::PoolClosed,
            })
    }

    /// Counts a failed statement: every connection is tested before its next use.
    pub(super) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::AcqRel);
    }

    /// Closes the idle connections politely (PostgreSQL sees a `Terminate`, SQLite
    /// checkpoints); later checkouts fail as [`sqlx::Error::PoolClosed`].
    pub(super) async fn close(&self) {
        let idle = self.inner.retain(|_, _| false).removed;
        self.inner.close();
        for connection in idle {
            let _ = connection.raw.close().await;
        }
    }
}
