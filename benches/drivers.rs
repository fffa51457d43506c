//! sqlx's `Any` driver, which passflow uses for one code path over SQLite and PostgreSQL,
//! against each native driver, on the statement every refresh grant runs (the rotation of
//! issue 22), over one connection with the same binds: what `Any` costs a refresh.
//!
//! `cargo bench --bench drivers`. PostgreSQL is `PASSFLOW_BENCH_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432`), in a database created for the run and dropped after;
//! without a server there, only SQLite is measured, and that is said.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use passflow::model::event::{Event, EventType, Outcome, RequestContext};
use passflow::model::scopes::ScopeSet;
use passflow::store::UserRecord;
use passflow::store::admin::AccountAdmin;
use passflow::store::demo;
use passflow::store::session::{Digest, SessionRecord, SessionStore, StoredSession};
use passflow::store::sql::{Database, Dialect, SQLITE_PRAGMAS, rotate_current_sql};
use sqlx::{Connection, Executor};

const NOW: i64 = 1_800_000_000;
const FAMILY: [u8; 32] = [7; 32];
const TOKENS: [[u8; 32]; 2] = [[1; 32], [2; 32]];

fn user_event(kind: EventType, user: &UserRecord) -> Event {
    RequestContext::operator(None)
        .event(kind, Outcome::Success, NOW * 1000)
        .user(user.username(), Some(user.id.as_str()))
}

/// A database holding johndoe and one live session of family FAMILY whose token is TOKENS[0].
async fn prepared(url: &str) -> Database {
    let database = Database::open(url).await.unwrap();
    let user = demo::users().remove(0);
    let added = user_event(EventType::UserCreated, &user);
    database.add_user(&user, &added).await.unwrap();
    let now = u64::try_from(NOW).unwrap();
    let session = StoredSession {
        record: SessionRecord {
            id: "bench".into(),
            user_id: user.id.clone(),
            username: user.username().clone(),
            scope: ScopeSet::tutorial(),
            created_at: now,
            last_used_at: now,
            expires_at: now + 86_400,
            client_id: None,
            pending: false,
        },
        family: Digest(FAMILY),
        current: Digest(TOKENS[0]),
        previous: None,
    };
    database.create(session, &[]).await.unwrap();
    database
}

/// One rotation through `executor`: the current token (by the count of rotations so far)
/// becomes the other one.
async fn rotate<'e, E>(executor: E, sql: &str, rotations: &AtomicU64)
where
    E: Executor<'e>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    i64: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    Vec<u8>: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    Option<String>: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
{
    let n = usize::try_from(rotations.fetch_add(1, Ordering::Relaxed) % 2).unwrap();
    let row = sqlx::query(sql)
        .bind(NOW)
        .bind(TOKENS[1 - n].to_vec())
        .bind(FAMILY.to_vec())
        .bind(TOKENS[n].to_vec())
        .bind(NOW - 86_400)
        .bind(NOW / 86_400)
        .bind(None::<String>)
        .fetch_optional(executor)
        .await
        .unwrap();
    assert!(row.is_some(), "the rotation matched its session");
}

/// One connection behind an uncontended lock: criterion's async loop needs a shared borrow.
/// SQLite's with passflow's settings (WAL, no fsync per commit).
async fn one<C>(url: &str, dialect: Dialect) -> Result<tokio::sync::Mutex<C>, sqlx::Error>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: Executor<'c>,
{
    let mut connection = C::connect(url).await?;
    if dialect == Dialect::Sqlite {
        connection.execute(SQLITE_PRAGMAS).await?;
    }
    Ok(tokio::sync::Mutex::new(connection))
}

fn compare(c: &mut Criterion, name: &str, dialect: Dialect, url: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = rotate_current_sql(dialect);
    let database = runtime.block_on(prepared(url));
    drop(database);
    let rotations = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group(format!("refresh-rotation/{name}"));
    sqlx::any::install_default_drivers();
    // One connection each, as passflow's pool hands them out (no ping around a statement).
    let any: tokio::sync::Mutex<sqlx::AnyConnection> = runtime.block_on(one(url, dialect)).unwrap();
    group.bench_function("any", |b| {
        b.to_async(&runtime)
            .iter(|| async { rotate(&mut *any.lock().await, sql, &rotations).await })
    });
    match dialect {
        Dialect::Postgres => {
            let native: tokio::sync::Mutex<sqlx::PgConnection> =
                runtime.block_on(one(url, dialect)).unwrap();
            group.bench_function("native", |b| {
                b.to_async(&runtime)
                    .iter(|| async { rotate(&mut *native.lock().await, sql, &rotations).await })
            });
        }
        Dialect::Sqlite => {
            let native: tokio::sync::Mutex<sqlx::SqliteConnection> =
                runtime.block_on(one(url, dialect)).unwrap();
            group.bench_function("native", |b| {
                b.to_async(&runtime)
                    .iter(|| async { rotate(&mut *native.lock().await, sql, &rotations).await })
            });
        }
    }
    group.finish();
}

fn drivers(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite:{}?mode=rwc",
        dir.path().join("drivers.db").display()
    );
    compare(c, "sqlite", Dialect::Sqlite, &sqlite);

    let server = std::env::var("PASSFLOW_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = runtime.block_on(sqlx::PgConnection::connect(&format!("{server}/postgres")));
    let Ok(mut admin) = admin else {
        eprintln!("no PostgreSQL at {server} (PASSFLOW_BENCH_POSTGRES): measured SQLite only");
        return;
    };
    for statement in [
        "DROP DATABASE IF EXISTS passflow_drivers",
        "CREATE DATABASE passflow_drivers",
    ] {
        runtime.block_on(admin.execute(statement)).unwrap();
    }
    compare(
        c,
        "postgres",
        Dialect::Postgres,
        &format!("{server}/passflow_drivers"),
    );
    runtime
        .block_on(admin.execute("DROP DATABASE passflow_drivers WITH (FORCE)"))
        .unwrap();
}

criterion_group!(benches, drivers);
criterion_main!(benches);
