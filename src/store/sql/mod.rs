//! Users and sessions in SQLite (one server) or PostgreSQL (several), through sqlx's `Any`
//! driver: one code path, SQL written to run on both, and each dialect's schema embedded
//! from `migrations/<dialect>/`.

mod admin;
mod audit;
mod clients;
mod codes;
mod consents;
mod pool;
mod sessions;
mod throttle;
mod totp;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use sqlx::any::AnyConnectOptions;
use sqlx::migrate::{MigrateError, Migrator};

use super::{StoreError, UserRecord};

pub use pool::SQLITE_PRAGMAS;
pub use sessions::rotate_current_sql;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a user read for a token check is trusted. Changes made elsewhere (the `users`
/// command, another server) are seen within this; logins always read afresh.
pub const USER_CACHE_TTL: Duration = Duration::from_millis(500);

/// How long a request waits for a connection before the database counts as unavailable
/// (answered 503 with `Retry-After`, never left hanging).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Why `DATABASE_URL` cannot be used; passflow refuses to start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "DATABASE_URL: unsupported scheme in {0:?}; use sqlite:PATH, sqlite://PATH, postgres://… or postgresql://…"
    )]
    Scheme(String),
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error(
        "DATABASE_URL: the database's schema has migration {0}, which this passflow does not \
         know: it is newer than this binary; refusing to touch it"
    )]
    NewerSchema(i64),
    #[error("DATABASE_URL: migrating the schema failed: {0}")]
    Migrate(#[source] MigrateError),
    #[error("DATABASE_URL: filling in the users' username keys failed: {0}")]
    UsernameKeys(#[source] StoreError),
}

/// A pooled connection to the users and sessions database.
pub struct Database {
    pool: pool::Pool,
    dialect: Dialect,
    users: Cache<String, (Option<Arc<UserRecord>>, Instant)>,
    clients: Cache<String, (Option<Arc<crate::model::client::Client>>, Instant)>,
    /// For the LISTEN connection (PostgreSQL); never printed: it may hold a password.
    url: String,
    ends_notified: std::sync::OnceLock<tokio::sync::watch::Receiver<()>>,
    /// A statement failed since the last successful read of the ends log: what `/ready`
    /// reports, so a replica cut off from the database leaves rotation at its first failure.
    pub(super) failing: AtomicBool,
    /// Names that shared an RFC 8265 key before keys were enforced, as found when opened.
    confusable: Vec<Vec<String>>,
}

/// The channel on which PostgreSQL announces logged session ends, so that other servers
/// replay them at once instead of at their next poll.
pub(super) const ENDS_CHANNEL: &str = "passflow_session_ends";

impl Database {
    /// Connects, creating an SQLite file if missing, and brings the schema up to date,
    /// username keys included.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let mut database = Self::connect(url).await?;
        database.migrate().await?;
        database.confusable = database
            .settle_username_keys()
            .await
            .map_err(OpenError::UsernameKeys)?;
        Ok(database)
    }

    /// Each group of names that shared one RFC 8265 key when the database was opened
    /// (possible before passflow enforced keys): each logs in by its exact spelling only.
    /// Start-up and `passflow migrate` warn of them.
    pub fn confusable_names(&self) -> &[Vec<String>] {
        &self.confusable
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let dialect = dialect_of(url).ok_or_else(|| OpenError::Scheme(scheme_of(url)))?;
        let url = match dialect {
            // Created if missing; an existing `mode=` in the URL wins.
            Dialect::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(OpenError::Connect)?;
        // SQLite admits one writer at a time. With several connections, writers that meet
        // the lock get SQLITE_BUSY and its handler sleeps (1, 2, 5, 10 ms…), which capped
        // refreshes far below what one connection does back to back; the reads a server
        // makes are few (users are cached), so one connection serves all.
        let size = if dialect == Dialect::Sqlite { 1 } else { 10 };
        let pool = pool::Pool::new(options, dialect, size, ACQUIRE_TIMEOUT);
        // Refuse to start on a database out of reach, as for a bad URL.
        drop(pool.get().await.map_err(OpenError::Connect)?);
        Ok(Self {
            pool,
            dialect,
            users: Cache::new(10_000),
            clients: Cache::new(1_000),
            url,
            ends_notified: std::sync::OnceLock::new(),
            failing: AtomicBool::new(false),
            confusable: Vec::new(),
        })
    }

    /// With PostgreSQL: a receiver that changes whenever any server logs a session end
    /// (LISTEN/NOTIFY), from a listener task started on first call. `None` with SQLite,
    /// whose servers share a host and poll. The listener reconnects by itself; the poll
    /// remains the fallback.
    pub(super) fn ends_notifications(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let receiver = self.ends_notified.get_or_init(|| {
            let (sender, receiver) = tokio::sync::watch::channel(());
            let url = self.url.clone();
            tokio::spawn(async move {
                loop {
                    match listen(&url, &sender).await {
                        Ok(()) => return,
                        Err(err) => tracing::warn!(%err, "listening for session ends failed"),
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
            receiver
        });
        Some(receiver.clone())
    }

    /// Applies the embedded migrations. A database migrated by a newer passflow is refused
    /// untouched.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut connection = self.pool.get().await.map_err(OpenError::Connect)?;
        migrator
            .run(&mut *connection)
            .await
            .map_err(|err| match err {
                MigrateError::VersionMissing(version) => OpenError::NewerSchema(version),
                other => OpenError::Migrate(other),
            })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A connection, or the failure that counts the database unavailable.
    async fn connection(&self) -> Result<pool::Checkout, StoreError> {
        self.pool.get().await.map_err(|err| self.failed(err))
    }

    /// Maps a failed statement to [`StoreError::Unavailable`] and remembers the failure until
    /// the next successful read of the ends log (which every replica polls). A statement the
    /// database refused for the data it carried is [`StoreError::Unstorable`]: the database
    /// answered, so it is no outage, and `/ready` must not say it is (one request with a NUL
    /// byte would otherwise pull a replica from its load balancer).
    fn failed(&self, err: sqlx::Error) -> StoreError {
        if refused_for_its_data(&err) {
            return StoreError::Unstorable(Box::new(err));
        }
        self.failing.store(true, Ordering::Release);
        self.pool.failed();
        unavailable(err)
    }

    /// Whether statements have succeeded since the last failure was seen.
    fn reachable(&self) -> bool {
        !self.failing.load(Ordering::Acquire)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `url` names a PostgreSQL database (one that several servers may share).
pub fn is_postgres(url: &str) -> bool {
    dialect_of(url) == Some(Dialect::Postgres)
}

/// Forwards notifications until every receiver is gone (`Ok`) or the connection fails.
async fn listen(url: &str, sender: &tokio::sync::watch::Sender<()>) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(ENDS_CHANNEL).await?;
    loop {
        listener.recv().await?;
        if sender.send(()).is_err() {
            return Ok(());
        }
    }
}

fn dialect_of(url: &str) -> Option<Dialect> {
    if url.starts_with("sqlite:") {
        Some(Dialect::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Dialect::Postgres)
    } else {
        None
    }
}

/// The part of a URL before `:`, never the credentials after it.
fn scheme_of(url: &str) -> String {
    url.split(':').next().unwrap_or_default().to_owned()
}

/// PostgreSQL's SQLSTATE class 22 (data exception: a NUL byte, an invalid encoding, a value
/// out of range) and 54 (program limit exceeded: an index entry too large).
fn refused_for_its_data(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.len() == 5 && (code.starts_with("22") || code.starts_with("54")))
}

/// Any driver failure: the database is out of reach or refused the statement. Clients get a
/// 503 with `Retry-After`; the log gets the cause.
fn unavailable(err: sqlx::Error) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

/// Digests are stored as BLOB (SQLite) or BYTEA (PostgreSQL).
fn digest_of(bytes: Vec<u8>) -> Result<super::session::Digest, StoreError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Unavailable("a stored digest is not 32 bytes".into()))?;
    Ok(super::session::Digest(bytes))
}

/// Times are stored as BIGINT seconds since the epoch.
fn to_db(time: crate::model::time::UnixTime) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}

fn from_db(time: i64) -> crate::model::time::UnixTime {
    u64::try_from(time).unwrap_or_default()
}
