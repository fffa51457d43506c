//! The SQL stores (issue 12) against real servers: an SQLite file in a temp dir, and a
//! PostgreSQL database created for each test and dropped after it. Every case runs on both.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use passflow::AppState;
use passflow::auth::credentials::totp::SecondFactor;
use passflow::auth::credentials::totp::sealing::SecretCipher;
use passflow::auth::sessions::SessionSettings;
use passflow::clock::Clock;
use passflow::model::event::{Actor, Event, EventType, Outcome, RequestContext};
use passflow::model::scopes::{Scope, ScopeSet};
use passflow::model::username::Username;
use passflow::router;
use passflow::store::admin::{AccountAdmin, AdminError, EndSessions, UserChange};
use passflow::store::audit::{AuditStore, EventQuery};
use passflow::store::sql::{Database, OpenError};
use passflow::store::{InMemoryUserStore, UserRecord, UserStore, demo};
use serde_json::{Value, json};
use sha2::Digest as _;
use sqlx::Connection;

use crate::fixtures::{PostgresDb, postgres_server};
use crate::helpers::*;

/// One test's database, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresDb>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: format!("sqlite:{}", dir.path().join("passflow.db").display()),
            _dir: Some(dir),
            postgres: None,
        }
    }

    pub async fn postgres() -> Self {
        let database = PostgresDb::create().await;
        Self {
            url: database.url(),
            _dir: None,
            postgres: Some(database),
        }
    }

    /// The PostgreSQL database's name.
    fn name(&self) -> String {
        self.postgres
            .as_ref()
            .expect("a PostgreSQL database")
            .name
            .clone()
    }

    pub async fn open(&self) -> Arc<Database> {
        Arc::new(Database::open(&self.url).await.unwrap())
    }
}

/// Each case as two tests, one per database.
macro_rules! on_both {
    ($case:ident) => {
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(super::TestDb::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                no_postgres,
                ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
            )]
            async fn postgres() {
                super::$case(super::TestDb::postgres().await).await;
            }
        }
    };
}

pub(crate) use on_both;

fn johndoe() -> UserRecord {
    demo::users().remove(0)
}

/// The service on `database`, signing with the tutorial's key, its view of ended sessions
/// read once (as `startup` does before serving).
pub(crate) async fn app_on(database: &Arc<Database>) -> Router {
    router(state_on(database, SessionSettings::default()).await)
}

pub(crate) async fn state_on(database: &Arc<Database>, sessions: SessionSettings) -> AppState {
    let state = state_with(settings(), InMemoryUserStore::default())
        .with_users(Arc::clone(database) as Arc<dyn UserStore>)
        .with_sessions(Arc::clone(database) as _, sessions)
        .with_audit(Arc::clone(database) as _);
    state.auth.sessions.sync().await.unwrap();
    state
}

const JOHNDOE: &str = r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#;

on_both!(users_are_managed_all_or_nothing);
async fn users_are_managed_all_or_nothing(db: TestDb) {
    let database = db.open().await;
    assert_eq!(database.count_users().await.unwrap(), 0, "no demo users");
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    assert!(matches!(
        operator_at(&database, 0).add(&johndoe()).await,
        Err(AdminError::Exists(name)) if name == "johndoe"
    ));
    let listed = database.list_users().await.unwrap();
    assert_eq!(listed, vec![johndoe()]);

    operator_at(&database, 0)
        .set_scopes("johndoe", &ScopeSet::from([Scope::ME]))
        .await
        .unwrap();
    operator_at(&database, 1).disable("johndoe").await.unwrap();
    let user = database.get_user_fresh("johndoe").await.unwrap().unwrap();
    assert_eq!(user.scopes, ScopeSet::from([Scope::ME]));
    assert!(user.profile.disabled);
    assert!(matches!(
        operator_at(&database, 1).disable("nobody").await,
        Err(AdminError::NoSuchUser(name)) if name == "nobody"
    ));

    // Import: one existing name and nothing is imported; with replace, all are.
    let mut file = demo::users();
    file[0].hashed_password =
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
            .into();
    assert!(matches!(
        operator_at(&database, 1).import(&file, false).await,
        Err(AdminError::Exists(name)) if name == "johndoe"
    ));
    assert_eq!(database.count_users().await.unwrap(), 1);
    operator_at(&database, 1).import(&file, true).await.unwrap();
    file.sort_by(|a, b| a.username().cmp(b.username()));
    assert_eq!(database.list_users().await.unwrap(), file, "listed by name");

    operator_at(&database, 1).delete("alice").await.unwrap();
    assert!(matches!(
        operator_at(&database, 1).delete("alice").await,
        Err(AdminError::NoSuchUser(_))
    ));
    assert_eq!(database.get_user_fresh("alice").await.unwrap(), None);
}

on_both!(hash_upgrades_never_overwrite_a_newer_password);
async fn hash_upgrades_never_overwrite_a_newer_password(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let old = johndoe().hashed_password;
    operator_at(&database, 1)
        .set_password("johndoe", "new-hash")
        .await
        .unwrap();
    // A server that read the old hash before the change tries to upgrade it: refused.
    assert!(
        !database
            .update_password_hash(&Username::from("johndoe"), &old, "upgraded".into())
            .await
            .unwrap()
    );
    let user = database.get_user_fresh("johndoe").await.unwrap().unwrap();
    assert_eq!(user.hashed_password, "new-hash");
    assert!(
        database
            .update_password_hash(&Username::from("johndoe"), "new-hash", "upgraded".into())
            .await
            .unwrap()
    );
}

on_both!(sessions_survive_a_restart);
async fn sessions_survive_a_restart(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let first = password_grant(&app_on(&database).await, "johndoe", "secret", "").await;
    database.close().await;
    drop(database);

    let app = app_on(&db.open().await).await;
    let reply = refresh_grant(&app, str_of(&first, "refresh_token"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let next = reply.json();
    get_with_token(&app, "/users/me/", next["access_token"].as_str().unwrap())
        .await
        .assert(200, JOHNDOE, None);
    // The spent token, after the restart, is still known as spent: the session ends.
    refresh_grant(&app, str_of(&first, "refresh_token"), None).await.assert(
        400,
        r#"{"error":"invalid_grant","detail":"Refresh token already used; the session has been ended"}"#,
        None,
    );
    refresh_grant(&app, str_of(&next, "refresh_token"), None)
        .await
        .assert(
            400,
            r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#,
            None,
        );
}

on_both!(of_concurrent_refreshes_exactly_one_succeeds);
async fn of_concurrent_refreshes_exactly_one_succeeds(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let app = app_on(&database).await;
    for _ in 0..3 {
        let login = password_grant(&app, "johndoe", "secret", "").await;
        let racers: Vec<_> = (0..6)
            .map(|_| {
                let (app, login) = (app.clone(), login.clone());
                tokio::spawn(async move {
                    refresh_grant(&app, str_of(&login, "refresh_token"), None)
                        .await
                        .status
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400, 400, 400, 400, 400]);
    }
}

on_both!(an_end_on_one_server_reaches_the_others);
async fn an_end_on_one_server_reaches_the_others(db: TestDb) {
    let (one, other) = (db.open().await, db.open().await);
    operator_at(&one, 0).add(&johndoe()).await.unwrap();
    let state_one = state_on(&one, SessionSettings::default()).await;
    let state_other = state_on(&other, SessionSettings::default()).await;
    let (app_one, app_other) = (router(state_one.clone()), router(state_other.clone()));
    let login = password_grant(&app_one, "johndoe", "secret", "").await;
    let token = login["access_token"].as_str().unwrap();
    get_with_token(&app_other, "/users/me/", token)
        .await
        .assert(200, JOHNDOE, None);
    let logout = axum::http::Request::post("/logout")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app_one, logout).await.status, 204);
    // What the upkeep task does every 500 ms.
    state_other.auth.sessions.sync().await.unwrap();
    get_with_token(&app_other, "/users/me/", token)
        .await
        .assert(
            401,
            r#"{"detail":"Could not validate credentials"}"#,
            Some("Bearer"),
        );

    // The `users` command disabling a user ends their sessions everywhere.
    let second = password_grant(&app_one, "johndoe", "secret", "").await;
    operator_at(&other, passflow::model::time::now())
        .disable("johndoe")
        .await
        .unwrap();
    state_one.auth.sessions.sync().await.unwrap();
    get_with_token(
        &app_one,
        "/status/",
        second["access_token"].as_str().unwrap(),
    )
    .await
    .assert(
        401,
        r#"{"detail":"Could not validate credentials"}"#,
        Some("Bearer"),
    );
}

on_both!(a_change_elsewhere_is_seen_within_the_cache_lifetime);
async fn a_change_elsewhere_is_seen_within_the_cache_lifetime(db: TestDb) {
    let (server, cli) = (db.open().await, db.open().await);
    operator_at(&cli, 0).add(&johndoe()).await.unwrap();
    assert!(server.get_user("johndoe").await.unwrap().is_some());
    operator_at(&cli, 1).delete("johndoe").await.unwrap();
    tokio::time::sleep(passflow::store::sql::USER_CACHE_TTL + Duration::from_millis(50)).await;
    assert_eq!(server.get_user("johndoe").await.unwrap(), None);
}

on_both!(a_schema_newer_than_the_binary_is_refused_untouched);
async fn a_schema_newer_than_the_binary_is_refused_untouched(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    database.close().await;
    // As a newer passflow would leave it: a migration this binary does not have.
    let mut connection = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer passflow', TRUE, $2, 0)",
    )
    .bind(99_990_101_000_000_i64)
    .bind(vec![0u8; 48])
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    match Database::open(&db.url).await {
        Err(OpenError::NewerSchema(version)) => assert_eq!(version, 99_990_101_000_000),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
    let reopened = Database::connect(&db.url).await.unwrap();
    assert_eq!(
        reopened.count_users().await.unwrap(),
        1,
        "nothing was touched"
    );
}

/// Lets PostgreSQL accept connections to `name` again, or refuses them and drops the open
/// ones: the database gone, as the servers see it.
async fn allow_connections(name: &str, allowed: bool) {
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", postgres_server()))
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS {allowed}"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    if !allowed {
        sqlx::query(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

/// The database going away mid-service: 503 with `Retry-After`, never a 500 or a login on
/// stale data; and back to normal, by itself, when it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn a_failing_database_answers_503_and_recovers() {
    let db = TestDb::postgres().await;
    let name = db.name();
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let app = app_on(&database).await;
    let login = password_grant(&app, "johndoe", "secret", "").await;
    let token = login["access_token"].as_str().unwrap();

    allow_connections(&name, false).await;
    tokio::time::sleep(passflow::store::sql::USER_CACHE_TTL).await;

    let unavailable = r#"{"detail":"Service temporarily unavailable"}"#;
    for reply in [
        post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await,
        refresh_grant(&app, str_of(&login, "refresh_token"), None).await,
        get_with_token(&app, "/users/me/", token).await,
    ] {
        reply.assert(503, unavailable, None);
        assert_eq!(reply.header("retry-after"), Some("5"));
    }

    allow_connections(&name, true).await;
    get_with_token(&app, "/users/me/", token)
        .await
        .assert(200, JOHNDOE, None);
    assert_eq!(
        refresh_grant(&app, str_of(&login, "refresh_token"), None)
            .await
            .status,
        200
    );
}

/// Fail closed: once the view of ended sessions is older than it may be, token checks and
/// `/ready` answer 503 until the store answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn a_stale_view_of_ended_sessions_fails_closed() {
    let db = TestDb::postgres().await;
    let name = db.name();
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let sessions = SessionSettings {
        max_view_age: Duration::from_millis(300),
        ..SessionSettings::default()
    };
    let state = state_on(&database, sessions).await;
    let app = router(state.clone());
    let token = password_grant(&app, "johndoe", "secret", "").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The login's hashing may take longer than the view's age under load: read it afresh.
    state.auth.sessions.sync().await.unwrap();
    get(&app, "/ready", None)
        .await
        .assert(200, r#"{"status":"ok"}"#, None);

    allow_connections(&name, false).await;
    assert!(state.auth.sessions.sync().await.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let unavailable = r#"{"detail":"Service temporarily unavailable"}"#;
    for reply in [
        get(&app, "/ready", None).await,
        get_with_token(&app, "/users/me/", &token).await,
        get_with_token(&app, "/status/", &token).await,
    ] {
        reply.assert(503, unavailable, None);
        assert_eq!(reply.header("retry-after"), Some("5"));
    }

    allow_connections(&name, true).await;
    state.auth.sessions.sync().await.unwrap();
    get(&app, "/ready", None)
        .await
        .assert(200, r#"{"status":"ok"}"#, None);
    get_with_token(&app, "/users/me/", &token)
        .await
        .assert(200, JOHNDOE, None);
}

/// Two servers on `db`, each with its own throttle and the shared one, at `limits`.
async fn servers_sharing_a_throttle(
    db: &TestDb,
    limits: passflow::auth::guard::local::ThrottleSettings,
) -> Vec<Router> {
    let mut servers = Vec::new();
    for _ in 0..2 {
        let handle = db.open().await;
        let state = state_on(&handle, SessionSettings::default())
            .await
            .with_throttle(limits)
            .with_shared_throttle(handle, limits);
        servers.push(router(state));
    }
    servers
}

on_both!(guesses_spread_over_servers_share_one_budget);
async fn guesses_spread_over_servers_share_one_budget(db: TestDb) {
    use passflow::auth::guard::local::ThrottleSettings;

    use crate::hardening::login_from;

    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let limits = ThrottleSettings {
        per_user: 3,
        ..ThrottleSettings::default()
    };
    let servers = servers_sharing_a_throttle(&db, limits).await;
    const ATTACKER: &str = "203.0.113.7";
    const OWNER: &str = "198.51.100.1";
    let incorrect = r#"{"detail":"Incorrect username or password"}"#;
    for guess in 0..3 {
        login_from(&servers[guess % 2], ATTACKER, None, "johndoe", "wrong")
            .await
            .assert(401, incorrect, Some("Bearer"));
    }
    // Each server alone has seen one or two failures; together, three: the budget is spent.
    for server in &servers {
        let refused = login_from(server, ATTACKER, None, "johndoe", "secret").await;
        refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
        let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((290..=301).contains(&wait), "{wait}");
    }
    // The owner, from another address, is not locked out; a success clears their count
    // everywhere.
    for server in &servers {
        login_from(server, OWNER, None, "johndoe", "wrong")
            .await
            .assert(401, incorrect, Some("Bearer"));
    }
    assert_eq!(
        login_from(&servers[0], OWNER, None, "johndoe", "secret")
            .await
            .status,
        200
    );
    for guess in 0..3 {
        login_from(&servers[guess % 2], OWNER, None, "johndoe", "wrong")
            .await
            .assert(401, incorrect, Some("Bearer"));
    }
    assert_eq!(
        login_from(&servers[1], OWNER, None, "johndoe", "secret")
            .await
            .status,
        429
    );
}

on_both!(failed_refreshes_spread_over_servers_share_one_budget);
async fn failed_refreshes_spread_over_servers_share_one_budget(db: TestDb) {
    use passflow::auth::guard::local::ThrottleSettings;

    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let limits = ThrottleSettings {
        per_ip: 2,
        ..ThrottleSettings::default()
    };
    let servers = servers_sharing_a_throttle(&db, limits).await;
    let login = password_grant(&servers[0], "johndoe", "secret", "").await;
    let guess = |token: &str| json!({ "refresh_token": token });
    let invalid = r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#;
    refresh_grant(
        &servers[0],
        str_of(&guess("guess-1"), "refresh_token"),
        None,
    )
    .await
    .assert(400, invalid, None);
    refresh_grant(
        &servers[0],
        str_of(&guess("guess-2"), "refresh_token"),
        None,
    )
    .await
    .assert(400, invalid, None);
    // The other server has not refused this address yet: one guess more, which it charges
    // to the shared budget, already spent; from then on it refuses locally.
    refresh_grant(
        &servers[1],
        str_of(&guess("guess-3"), "refresh_token"),
        None,
    )
    .await
    .assert(400, invalid, None);
    let refused = refresh_grant(&servers[1], str_of(&login, "refresh_token"), None).await;
    refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
    assert!(refused.header("retry-after").is_some());
}

/// Issue 21, point 2, on a database: the change is stored, and the other session's end
/// reaches the view every token check consults.
async fn a_password_change_ends_the_other_sessions_only(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let app = app_on(&database).await;
    crate::account::a_change_ends_the_other_sessions_only(&app).await;
}
on_both!(a_password_change_ends_the_other_sessions_only);

/// A second factor kept in `database`, sealed under a fixed key.
fn totp_on(database: &Arc<Database>) -> SecondFactor {
    let cipher = SecretCipher::from_hex(TOTP_KEY).unwrap();
    SecondFactor::new(Arc::clone(database) as _, Some(cipher), "passflow")
}

const TOTP_KEY: &str = "5f1e0c9a7b3d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7";

/// A server on its own handle of `db`, with TOTP and the manual `clock`.
async fn totp_server(db: &TestDb, clock: &Clock) -> Router {
    let handle = db.open().await;
    // No upkeep task replays the ends log here: the view read at start stays trusted.
    let sessions = SessionSettings {
        max_view_age: Duration::from_secs(3600),
        ..SessionSettings::default()
    };
    let state = state_on(&handle, sessions)
        .await
        .with_clock(clock.clone())
        .with_throttle(crate::totp::ROOMY)
        .with_totp(totp_on(&handle));
    router(state)
}

/// Issue 21, point 3, on a database: the login contract; a code spent on one server is
/// refused by another and after a restart; the secret is stored sealed and the recovery
/// codes only as digests.
async fn totp_codes_are_spent_once_on_every_server(db: TestDb) {
    use crate::totp::{NOW, access, code_at, log_in, turn_on};

    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let clock = Clock::manual(NOW);
    let first = totp_server(&db, &clock).await;
    crate::totp::logins_need_each_code_once(&first, &clock).await;

    // Start over with a fresh enrolment, then race the servers.
    assert!(
        operator_at(&database, 0)
            .reset_totp("johndoe")
            .await
            .unwrap()
            .1
    );
    clock.advance(30);
    let (secret, recovery, _) = turn_on(&first, clock.now()).await;
    let second = totp_server(&db, &clock).await;
    clock.advance(30);
    let code = code_at(&secret, clock.now());
    access(&log_in(&second, "secret", Some(&code)).await);
    for server in [&first, &second, &totp_server(&db, &clock).await] {
        log_in(server, "secret", Some(&code)).await.assert(
            401,
            r#"{"detail":"Incorrect TOTP code"}"#,
            Some("Bearer"),
        );
    }
    access(&log_in(&first, "secret", Some(&recovery[0])).await);
    assert_eq!(
        log_in(&second, "secret", Some(&recovery[0])).await.status,
        401
    );

    let stored = sqlx::query("SELECT secret FROM totp_secrets WHERE username = 'johndoe'");
    let mut connection = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = stored.fetch_one(&mut connection).await.unwrap();
    let sealed: Vec<u8> = sqlx::Row::get(&row, "secret");
    let clear = totp_rs::Secret::try_from_base32(&secret).unwrap();
    assert!(!sealed.windows(20).any(|part| part == clear.as_bytes()));
    let digests: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT digest FROM totp_recovery_codes WHERE username = 'johndoe'")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    // The unspent codes, as SHA-256 digests of their characters without dashes; nothing else.
    let mut expected: Vec<Vec<u8>> = recovery[1..]
        .iter()
        .map(|code| sha2::Sha256::digest(code.replace('-', "")).to_vec())
        .collect();
    let mut digests = digests;
    expected.sort();
    digests.sort();
    assert_eq!(digests, expected);
    assert_eq!(
        database.totp_users().await.unwrap(),
        ["johndoe".to_owned()].into()
    );
}
on_both!(totp_codes_are_spent_once_on_every_server);

/// Without `TOTP_ENCRYPTION_KEY` a database offers no enrolment (never a secret in the
/// clear); `users totp-reset` turns a factor off.
async fn totp_is_off_without_a_key_and_reset_by_the_operator(db: TestDb) {
    use crate::totp::{NOW, access, enrol, log_in, turn_on};

    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let state = state_on(&database, SessionSettings::default()).await;
    let keyless = router(state.with_totp(SecondFactor::new(
        Arc::clone(&database) as _,
        None,
        "passflow",
    )));
    let token = access(&log_in(&keyless, "secret", None).await);
    enrol(&keyless, &token)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);

    let clock = Clock::manual(NOW);
    let app = totp_server(&db, &clock).await;
    turn_on(&app, NOW).await;
    log_in(&app, "secret", None).await.assert(
        401,
        r#"{"detail":"TOTP code required"}"#,
        Some("Bearer"),
    );
    assert!(
        operator_at(&database, 0)
            .reset_totp("johndoe")
            .await
            .unwrap()
            .1
    );
    assert!(
        !operator_at(&database, 0)
            .reset_totp("johndoe")
            .await
            .unwrap()
            .1
    );
    assert!(matches!(
        operator_at(&database, 0).reset_totp("nobody").await,
        Err(AdminError::NoSuchUser(name)) if name == "nobody"
    ));
    access(&log_in(&app, "secret", None).await);
    assert!(database.totp_users().await.unwrap().is_empty());
}
on_both!(totp_is_off_without_a_key_and_reset_by_the_operator);

/// Issue 22: the prunes delete, in batches, exactly the sessions past their deadlines (idle
/// ones by whole days), the ends no server needs, and the throttle keys that are full
/// buckets again; live rows stay.
async fn prunes_delete_what_ended_in_batches_and_nothing_live(db: TestDb) {
    use passflow::store::session::{Digest, SessionRecord, SessionStore, StoredSession};

    const DAY: u64 = 86_400;
    let now = 1_800_000_000 - 1_800_000_000 % DAY + DAY / 2;
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let mut n = 0u32;
    let mut session = |created_at: u64, last_used_at: u64, expires_at: u64| {
        n += 1;
        let digest = |tag: u8| {
            let mut bytes = [tag; 32];
            bytes[..4].copy_from_slice(&n.to_be_bytes());
            Digest(bytes)
        };
        StoredSession {
            record: SessionRecord {
                id: format!("s{n}"),
                user_id: johndoe().id,
                username: "johndoe".into(),
                scope: ScopeSet::from([Scope::ME]),
                created_at,
                last_used_at,
                expires_at,
                client_id: None,
                pending: false,
            },
            family: digest(1),
            current: digest(2),
            previous: None,
        }
    };
    let idle_timeout = 14 * DAY;
    let idle_cutoff = now - idle_timeout;
    // More expired sessions than one batch holds; idle ones two days past the cutoff; one
    // idle only since earlier today (kept until tomorrow's prunes); live ones.
    let mut sessions = Vec::new();
    for _ in 0..2_500 {
        sessions.push(session(now - 40 * DAY, now - DAY, now - 1));
    }
    for _ in 0..1_200 {
        sessions.push(session(
            now - 20 * DAY,
            idle_cutoff - 2 * DAY,
            now + 10 * DAY,
        ));
    }
    sessions.push(session(now - 20 * DAY, idle_cutoff - 60, now + 10 * DAY));
    for _ in 0..3 {
        sessions.push(session(now - DAY, now - 60, now + 29 * DAY));
    }
    for stored in sessions {
        database.create(stored, &[]).await.unwrap();
    }
    assert_eq!(
        database.prune(now, idle_cutoff, now - 3600).await.unwrap(),
        3_700
    );
    let mut left: Vec<String> = database
        .list(&johndoe().id)
        .await
        .unwrap()
        .into_iter()
        .map(|session| session.id)
        .collect();
    left.sort();
    assert_eq!(left, ["s3701", "s3702", "s3703", "s3704"]);
    assert_eq!(
        database.prune(now, idle_cutoff, now - 3600).await.unwrap(),
        0
    );
}
on_both!(prunes_delete_what_ended_in_batches_and_nothing_live);

/// The one-statement rotation leaves a session's last-used day alone (an index entry per
/// refresh): it matches only a session already used today, and the day's first refresh
/// takes the long way, which moves the day, so the idle prune still finds what it should.
async fn the_first_refresh_of_a_day_moves_the_session_to_it(db: TestDb) {
    use passflow::store::session::{Digest, SessionRecord, SessionStore, StoredSession};

    const DAY: u64 = 86_400;
    let today = 1_800_000_000 - 1_800_000_000 % DAY;
    let now = today + 60;
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    database
        .create(
            StoredSession {
                record: SessionRecord {
                    id: "s".into(),
                    user_id: johndoe().id,
                    username: "johndoe".into(),
                    scope: ScopeSet::from([Scope::ME]),
                    created_at: today - DAY,
                    last_used_at: today - 60,
                    expires_at: today + 10 * DAY,
                    client_id: None,
                    pending: false,
                },
                family: Digest([1; 32]),
                current: Digest([2; 32]),
                previous: None,
            },
            &[],
        )
        .await
        .unwrap();
    let idle_cutoff = now - 7 * DAY;
    let family = Digest([1; 32]);
    let digests = [2, 3, 4].map(|tag| Digest([tag; 32]));
    let rotated = database.rotate_current(&family, &digests[0], digests[1], now, idle_cutoff, None);
    assert!(rotated.await.unwrap().is_none(), "used yesterday");
    assert!(
        database
            .rotate("s", &digests[0], digests[1], now)
            .await
            .unwrap(),
        "the long way rotates"
    );
    let rotated = database.rotate_current(&family, &digests[1], digests[2], now, idle_cutoff, None);
    let rotated = rotated.await.unwrap().expect("used today");
    assert_eq!(
        (rotated.session.id.as_str(), rotated.session.last_used_at),
        ("s", now)
    );
    assert_eq!(rotated.user.username(), "johndoe");
    assert_eq!(rotated.sign_in, None, "a password login's session");
    // Its day is today's: kept by a prune of what was idle before today (it would go, were
    // it still yesterday's), gone with what was idle before tomorrow.
    assert_eq!(database.prune(now, now, now).await.unwrap(), 0);
    assert_eq!(database.prune(now, now + DAY, now).await.unwrap(), 1);
}
on_both!(the_first_refresh_of_a_day_moves_the_session_to_it);

/// A client's session takes the one-statement rotation only once its code was exchanged and
/// only for the client the caller proved it is (RFC 6749 §6), and returns how the user signed
/// in, for the refresh's id_token.
async fn a_clients_session_rotates_in_one_statement_only_for_its_client(db: TestDb) {
    use passflow::store::codes::StoredCode;
    use passflow::store::session::{Digest, SessionRecord, SessionStore, SignIn, StoredSession};

    const DAY: u64 = 86_400;
    let now = 1_800_000_000 - 1_800_000_000 % DAY + 60;
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let session = StoredSession {
        record: SessionRecord {
            id: "s".into(),
            user_id: johndoe().id,
            username: "johndoe".into(),
            scope: ScopeSet::from([Scope::ME]),
            created_at: now - 60,
            last_used_at: now - 30,
            expires_at: now + DAY,
            client_id: Some("app".into()),
            pending: true,
        },
        family: Digest([1; 32]),
        current: Digest([9; 32]),
        previous: None,
    };
    let code = StoredCode {
        digest: Digest([9; 32]),
        session_id: "s".into(),
        client_id: "app".into(),
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        browser_session: Some("b".into()),
        user_id: johndoe().id,
        username: "johndoe".into(),
        scope: ScopeSet::from([Scope::ME]),
        auth_time: now - 90,
        expires_at: now + 60,
    };
    database.issue_code(code.clone(), session).await.unwrap();
    let (family, idle_cutoff) = (Digest([1; 32]), now - 7 * DAY);
    let rotated = database.rotate_current(
        &family,
        &code.digest,
        Digest([3; 32]),
        now,
        idle_cutoff,
        Some("app"),
    );
    assert!(
        rotated.await.unwrap().is_none(),
        "a code is no refresh token"
    );
    let started = database
        .exchange_code(
            &Digest([1; 32]),
            &code.digest,
            Digest([2; 32]),
            now - 30,
            &*database,
        )
        .await
        .unwrap();
    assert!(started.is_ok(), "the code starts the session");
    let current = Digest([2; 32]);
    for (client, why) in [
        (None, "no client proven"),
        (Some("other"), "another client"),
    ] {
        let rotated =
            database.rotate_current(&family, &current, Digest([3; 32]), now, idle_cutoff, client);
        assert!(rotated.await.unwrap().is_none(), "{why}");
    }
    let rotated = database
        .rotate_current(
            &family,
            &current,
            Digest([3; 32]),
            now,
            idle_cutoff,
            Some("app"),
        )
        .await
        .unwrap()
        .expect("its client");
    assert_eq!(rotated.session.client_id.as_deref(), Some("app"));
    assert_eq!(
        rotated.sign_in,
        Some(SignIn {
            auth_time: now - 90,
            browser_session: Some("b".into()),
            second_factor: Some(false),
        })
    );
}
on_both!(a_clients_session_rotates_in_one_statement_only_for_its_client);

/// Counts the statements sqlx runs on this thread (PostgreSQL's driver logs each one where
/// it is awaited; SQLite's runs them on a worker thread, so only PostgreSQL is counted).
#[derive(Clone, Default)]
struct StatementCount(Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCount {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What `work` returns, and how many statements it ran on `database` (PostgreSQL).
async fn statements_of<T>(database: &Database, work: impl Future<Output = T>) -> (T, usize) {
    use tracing_subscriber::layer::SubscriberExt;

    let count = StatementCount::default();
    let subscriber = tracing_subscriber::registry().with(count.clone()).with(
        tracing_subscriber::filter::Targets::new().with_target("sqlx", tracing::Level::TRACE),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing caches each callsite's interest process-wide, and a sibling test thread with no
    // subscriber may register sqlx's query callsite as "never" after this install: one
    // statement registers it here, then every interest is recomputed against the live
    // subscribers (ours included) before counting.
    database.count_users().await.unwrap();
    tracing::callsite::rebuild_interest_cache();
    let before = count.0.load(std::sync::atomic::Ordering::Relaxed);
    let done = work.await;
    let after = count.0.load(std::sync::atomic::Ordering::Relaxed);
    (done, after - before)
}

/// Issue 41 §9: so is the refresh of a session a client's code exchange began, with the
/// client's credentials checked first (its registration is cached, as a user's is).
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn a_code_flow_refresh_costs_one_statement_on_postgres() {
    use crate::code_grant::{basic, sign_in};

    let sign_in = sign_in(crate::stores::Backend::Postgres).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let exchanged = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.text());
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let database = sign_in.database.as_ref().unwrap();
    let exchanged = exchanged.json();
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", str_of(&exchanged, "refresh_token")),
    ];
    let (refreshed, statements) = statements_of(
        database,
        post_form_authorized(&sign_in.app, "/token", Some(&web), &fields),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_eq!(statements, 1, "statements for one refresh grant");
}

/// Issue 22: a refresh's success path is one statement on PostgreSQL (it was three: find the
/// session, read the user, rotate), and every refusal still takes the long way.
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn a_refresh_costs_one_statement_on_postgres() {
    let db = TestDb::postgres().await;
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let app = app_on(&database).await;
    let login = password_grant(&app, "johndoe", "secret", "").await;

    let counted = statements_of(&database, async {
        let refreshed = refresh_grant(&app, str_of(&login, "refresh_token"), None).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text());
        refreshed.json()
    })
    .await;
    assert_eq!(counted.1, 1, "statements for one refresh grant");
    let next = counted.0;

    // The long way still tells the refusals apart: reuse ends the session...
    refresh_grant(&app, str_of(&login, "refresh_token"), None).await.assert(
        400,
        r#"{"error":"invalid_grant","detail":"Refresh token already used; the session has been ended"}"#,
        None,
    );
    assert_eq!(
        refresh_grant(&app, str_of(&next, "refresh_token"), None)
            .await
            .status,
        400
    );
    // ...and a user disabled behind passflow's back (no sessions ended) cannot refresh with
    // a current token: the long way ends that session.
    let login = password_grant(&app, "johndoe", "secret", "").await;
    let mut connection = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let disable = |disabled: bool| {
        sqlx::query("UPDATE users SET disabled = $1 WHERE username = 'johndoe'").bind(disabled)
    };
    disable(true).execute(&mut connection).await.unwrap();
    refresh_grant(&app, str_of(&login, "refresh_token"), None)
        .await
        .assert(
            400,
            r#"{"error":"invalid_grant","detail":"User is disabled"}"#,
            None,
        );
    disable(false).execute(&mut connection).await.unwrap();
    assert_eq!(
        refresh_grant(&app, str_of(&login, "refresh_token"), None)
            .await
            .status,
        400,
        "its session ended"
    );
}

on_both!(a_user_added_again_under_a_deleted_name_inherits_nothing);
/// Whatever was filed under a deleted account goes with it: `zoe` added again under the same
/// name finds no consent (the consent page asks again), no second factor and no session of
/// the `zoe` before.
async fn a_user_added_again_under_a_deleted_name_inherits_nothing(db: TestDb) {
    use passflow::model::user_id::UserId;
    use passflow::store::consents::{ConsentRecord, ConsentStore};
    use passflow::store::session::SessionStore;
    use passflow::store::totp::TotpStore;

    let database = db.open().await;
    let [web, ..] = crate::code_grant::register_all(database.as_ref()).await;
    let zoe_record = |id: UserId| UserRecord {
        id,
        profile: Arc::new(passflow::store::User {
            username: "zoe".into(),
            email: None,
            full_name: None,
            disabled: false,
        }),
        hashed_password: demo::JOHNDOE_HASH.into(),
        scopes: ScopeSet::from([Scope::ME]),
    };
    let zoe = Username::from("zoe");
    let first = UserId::random();
    operator_at(&database, 0)
        .add(&zoe_record(first.clone()))
        .await
        .unwrap();
    let consent = ConsentRecord {
        user_id: first.clone(),
        client_id: web.client.id.clone(),
        scope: ScopeSet::from([Scope::ME]),
        granted_at: 1_800_000_000,
    };
    database.put(consent).await.unwrap();
    assert!(database.begin_totp(&zoe, vec![1, 2, 3]).await.unwrap());
    assert!(
        database
            .enable_totp(&zoe, &[1, 2, 3], 7, &[])
            .await
            .unwrap()
    );
    let app = app_on(&database).await;
    password_grant(&app, "zoe", "secret", "").await;
    assert_eq!(
        SessionStore::list(database.as_ref(), &first)
            .await
            .unwrap()
            .len(),
        1
    );
    operator_at(&database, 0)
        .delete(zoe.as_str())
        .await
        .unwrap();
    let second = UserId::random();
    operator_at(&database, 0)
        .add(&zoe_record(second.clone()))
        .await
        .unwrap();
    // Nothing of the first zoe is left under either id, nor under the name.
    for id in [&first, &second] {
        assert_eq!(ConsentStore::list(database.as_ref(), id).await.unwrap(), []);
        assert_eq!(SessionStore::list(database.as_ref(), id).await.unwrap(), []);
    }
    assert_eq!(database.totp(&zoe).await.unwrap(), None);
}

/// A connection to `db` with every migration before `version` applied: the database as an
/// earlier passflow left it.
async fn migrated_before(db: &TestDb, version: i64) -> sqlx::AnyConnection {
    let dialect = if db.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut before = sqlx::migrate::Migrator::new(folder).await.unwrap();
    let earlier: Vec<_> = before
        .migrations
        .iter()
        .filter(|migration| migration.version < version)
        .cloned()
        .collect();
    before.migrations = earlier.into();
    sqlx::any::install_default_drivers();
    let url = match dialect {
        "sqlite" => format!("{}?mode=rwc", db.url),
        _ => db.url.clone(),
    };
    let mut raw = sqlx::AnyConnection::connect(&url).await.unwrap();
    before.run(&mut raw).await.unwrap();
    raw
}

on_both!(sessions_codes_and_consents_move_from_the_name_to_the_id);
/// Issue 41 §0: the migration that files sessions, codes and consents under the user's id
/// carries every row over to its user's id, each user's to their own, and what it carried
/// still works: the session refreshes, the code's session is there, the consent is found.
async fn sessions_codes_and_consents_move_from_the_name_to_the_id(db: TestDb) {
    use passflow::model::user_id::UserId;
    use passflow::store::consents::ConsentStore;
    use passflow::store::session::{Digest, SessionStore};

    let mut raw = migrated_before(&db, 20261208000001).await;
    // Digests are 32 bytes of one tag: a session's family `n` and current token `n + 1`.
    let statements: [(&str, &[u8]); 5] = [
        (
            "INSERT INTO users (username, hashed_password, disabled, scopes, subject) \
             VALUES ('zoe', 'x', FALSE, 'me items', 'id-of-zoe'), \
                    ('ann', 'x', FALSE, 'me items', 'id-of-ann')",
            &[],
        ),
        (
            "INSERT INTO clients (client_id, name, redirect_uris, created_at) \
             VALUES ('app', 'App', 'https://app.example/cb', 0)",
            &[],
        ),
        // zoe: a password login's session, and a code with its pending session; ann: one.
        (
            "INSERT INTO sessions (id, username, scope, created_at, last_used_at, expires_at, \
               family, current_token, last_used_day, pending) VALUES \
               ('z1', 'zoe', 'me', 1000, 1000, 4000000000, $1, $2, 0, FALSE), \
               ('z2', 'zoe', 'me', 1000, 1000, 4000000000, $3, $4, 0, TRUE), \
               ('a1', 'ann', 'me', 1000, 1000, 4000000000, $5, $6, 0, FALSE)",
            &[1, 2, 3, 4, 5, 6],
        ),
        (
            "INSERT INTO authorization_codes (digest, client_id, username, scope, auth_time, \
               expires_at, session_id) VALUES ($1, 'app', 'zoe', 'me', 1000, 4000000000, 'z2')",
            &[4],
        ),
        (
            "INSERT INTO consents (username, client_id, scope, granted_at) \
             VALUES ('zoe', 'app', 'me', 1000)",
            &[],
        ),
    ];
    for (sql, tags) in statements {
        let query = tags
            .iter()
            .fold(sqlx::query(sql), |query, tag| query.bind(vec![*tag; 32]));
        query.execute(&mut raw).await.unwrap();
    }
    raw.close().await.unwrap();

    let database = db.open().await;
    let (zoe, ann) = (
        UserId::stored("id-of-zoe".into()),
        UserId::stored("id-of-ann".into()),
    );
    let mut held: Vec<(String, String, bool)> = SessionStore::list(database.as_ref(), &zoe)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.username.to_string(), s.pending))
        .collect();
    held.sort();
    assert_eq!(
        held,
        [
            ("z1".into(), "zoe".into(), false),
            ("z2".into(), "zoe".into(), true)
        ]
    );
    let ids = SessionStore::list(database.as_ref(), &ann).await.unwrap();
    assert_eq!(
        ids.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["a1"]
    );
    let consent = ConsentStore::find(database.as_ref(), &zoe, "app")
        .await
        .unwrap();
    assert_eq!(consent.map(|c| c.scope.to_string()), Some("me".into()));
    assert_eq!(
        ConsentStore::list(database.as_ref(), &ann).await.unwrap(),
        []
    );
    // The password login's session still refreshes (the long way: it was not used today).
    assert!(
        database
            .rotate("z1", &Digest([2; 32]), Digest([7; 32]), 2000)
            .await
            .unwrap()
    );
    // The code still starts its session, for zoe.
    let users = database.as_ref();
    let started = database.exchange_code(
        &Digest([3; 32]),
        &Digest([4; 32]),
        Digest([8; 32]),
        2000,
        users,
    );
    let started = started.await.unwrap().expect("the code starts its session");
    assert_eq!(
        (
            started.session.id.as_str(),
            started.user.username().as_str(),
            &started.user.id
        ),
        ("z2", "zoe", &zoe)
    );
    assert_eq!(started.code.user_id, zoe);
    // Deleting zoe still takes everything filed under her id with her.
    operator_at(&database, 3000).delete("zoe").await.unwrap();
    assert_eq!(
        SessionStore::list(database.as_ref(), &zoe).await.unwrap(),
        []
    );
    assert_eq!(
        ConsentStore::list(database.as_ref(), &zoe).await.unwrap(),
        []
    );
    assert_eq!(
        SessionStore::list(database.as_ref(), &ann)
            .await
            .unwrap()
            .len(),
        1
    );
}

on_both!(the_database_refuses_to_change_an_audit_event);
/// ASVS V16.4.2: whoever holds the database's credentials cannot rewrite the trail; an UPDATE
/// is refused by the database itself (a trigger), and the event stays as it was.
async fn the_database_refuses_to_change_an_audit_event(db: TestDb) {
    use passflow::model::event::{Actor, Event, EventType, Outcome};
    use passflow::store::audit::{AuditStore, EventQuery};

    let database = db.open().await;
    let event = Event {
        id: "0190b3a5-0000-7000-8000-000000000001".into(),
        time: 1_800_000_000_000,
        kind: EventType::UserDisabled,
        outcome: Outcome::Success,
        user: Some("zoe".into()),
        sub: Some("id-of-zoe".into()),
        actor: Actor::Operator("root".into()),
        client_id: None,
        session_id: None,
        address: None,
        user_agent: None,
        request_id: None,
        reason: Some("left the company".into()),
    };
    database.append(std::slice::from_ref(&event)).await.unwrap();
    let mut raw = migrated_before(&db, i64::MAX).await;
    for sql in [
        "UPDATE audit_events SET reason = 'nothing happened'",
        "UPDATE audit_events SET username = 'ann' WHERE id = '0190b3a5-0000-7000-8000-000000000001'",
    ] {
        let refused = sqlx::query(sql).execute(&mut raw).await.unwrap_err();
        assert!(
            refused.to_string().contains("audit events are append-only"),
            "{refused}"
        );
    }
    let all = EventQuery {
        limit: 10,
        ..EventQuery::default()
    };
    assert_eq!(database.events(&all).await.unwrap(), [event]);
}

on_both!(every_user_has_a_stable_id_never_reassigned);
/// OpenID Connect's `sub` (issue 41 §1): users from before the migration are given an id,
/// each their own; it stays what it is; a user deleted and added again is someone new.
async fn every_user_has_a_stable_id_never_reassigned(db: TestDb) {
    use passflow::model::user_id::UserId;
    // The database as passflow left it before ids.
    let mut raw = migrated_before(&db, 20261207000002).await;
    for name in ["zoe", "ann"] {
        sqlx::query(
            "INSERT INTO users (username, hashed_password, disabled, scopes) \
             VALUES ($1, $2, FALSE, 'me items')",
        )
        .bind(name)
        .bind(demo::JOHNDOE_HASH)
        .execute(&mut raw)
        .await
        .unwrap();
    }
    raw.close().await.unwrap();

    let database = db.open().await;
    let id_of = |name: &'static str| {
        let database = Arc::clone(&database);
        async move {
            database
                .get_user_fresh(name)
                .await
                .unwrap()
                .unwrap()
                .id
                .clone()
        }
    };
    let (zoe, ann) = (id_of("zoe").await, id_of("ann").await);
    assert_ne!(zoe, ann);
    assert!(zoe.as_str().len() >= 22, "{zoe}");
    assert_eq!(id_of("zoe").await, zoe, "stable");
    database.close().await;
    let database = db.open().await;
    assert_eq!(
        database.get_user_fresh("zoe").await.unwrap().unwrap().id,
        zoe,
        "stable across a restart"
    );
    operator_at(&database, 0).delete("zoe").await.unwrap();
    let again = UserRecord {
        id: UserId::random(),
        ..database
            .get_user_fresh("ann")
            .await
            .unwrap()
            .unwrap()
            .as_ref()
            .clone()
    };
    let again = UserRecord {
        profile: Arc::new(passflow::store::User {
            username: "zoe".into(),
            ..again.profile.as_ref().clone()
        }),
        ..again
    };
    operator_at(&database, 0).add(&again).await.unwrap();
    let new = database
        .get_user_fresh("zoe")
        .await
        .unwrap()
        .unwrap()
        .id
        .clone();
    assert_ne!(new, zoe, "a new zoe is someone else");
    assert_ne!(new, ann);
}

/// (type, user, reason, session) of each recorded event, newest first.
async fn trail(database: &Database) -> Vec<(String, String, String, String)> {
    let query = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    let events = AuditStore::events(database, &query).await.unwrap();
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    events
        .iter()
        .map(|event| {
            let kind = event.kind.as_str().to_owned();
            (
                kind,
                text(&event.user),
                text(&event.reason),
                text(&event.session_id),
            )
        })
        .collect()
}

on_both!(an_operators_change_and_its_event_commit_together);
/// Issue 42 §2: never a change without its event, nor an event without its change.
async fn an_operators_change_and_its_event_commit_together(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    let app = app_on(&database).await;
    let login = password_grant(&app, "johndoe", "secret", "").await;
    let access = str_of(&login, "access_token");
    let sid = jwt_claims(access)["sid"].as_str().unwrap().to_owned();
    let query = EventQuery {
        types: vec![EventType::UserCreated],
        limit: 1,
        ..EventQuery::default()
    };
    let created = AuditStore::events(&*database, &query)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(created.kind, EventType::UserCreated);
    assert_eq!(created.actor, Actor::Operator(created_by()));
    assert_eq!(created.sub.as_deref(), Some(johndoe().id.as_str()));

    // An event the store cannot keep (its id is taken) takes its change down with it.
    let clashing = Event {
        id: created.id.clone(),
        ..RequestContext::operator(None).event(EventType::UserDisabled, Outcome::Success, 0)
    };
    let ended = RequestContext::operator(None).event(EventType::SessionEnded, Outcome::Success, 0);
    let end = EndSessions { at: 1, ended };
    let refused = database
        .update_user(
            &Username::from("johndoe"),
            UserChange::Disabled(true),
            Some(end),
            &clashing,
        )
        .await;
    assert!(matches!(refused, Err(AdminError::Store(_))), "{refused:?}");
    let user = database.get_user_fresh("johndoe").await.unwrap().unwrap();
    assert!(!user.profile.disabled, "the change went with its event");
    get_with_token(&app, "/users/me/", access)
        .await
        .assert(200, JOHNDOE, None);
    assert_eq!(
        trail(&database).await.len(),
        2,
        "user.created, login.succeeded"
    );

    // A change that cannot be made records nothing.
    assert!(operator_at(&database, 1).disable("nobody").await.is_err());
    assert_eq!(trail(&database).await.len(), 2);

    // Made: the change, and each session it ended for its reason, all in one commit.
    operator_at(&database, 1).disable("JOHNDOE").await.unwrap();
    operator_at(&database, 1).enable("johndoe").await.unwrap();
    operator_at(&database, 1)
        .set_scopes("johndoe", &ScopeSet::from([Scope::ME]))
        .await
        .unwrap();
    operator_at(&database, 1).delete("johndoe").await.unwrap();
    let row = |kind: &str, reason: &str, session: &str| {
        let user = "johndoe".to_owned();
        (kind.to_owned(), user, reason.to_owned(), session.to_owned())
    };
    assert_eq!(
        trail(&database).await,
        [
            row("user.deleted", "test", "-"),
            row("user.scopes_set", "test", "-"),
            row("user.enabled", "test", "-"),
            row("session.ended", "user_disabled", &sid),
            row("user.disabled", "test", "-"),
            row("login.succeeded", "-", &sid),
            row("user.created", "test", "-"),
        ]
    );
}

/// The OS user the tests run as, as the operator's events name them.
fn created_by() -> String {
    match RequestContext::operator(None).actor {
        Actor::Operator(name) => name,
        other => panic!("{other:?}"),
    }
}

on_both!(the_activity_page_shows_one_account_and_no_operator);
/// `/users/me/activity` finds the account by its stable id: a name deleted and added again is
/// another account, which sees none of the first one's events; an operator is shown without
/// their name or reason.
async fn the_activity_page_shows_one_account_and_no_operator(db: TestDb) {
    let database = db.open().await;
    let app = app_on(&database).await;
    operator_at(&database, 0).add(&johndoe()).await.unwrap();
    password_grant(&app, "johndoe", "secret", "").await;
    operator_at(&database, 0).delete("johndoe").await.unwrap();
    let again = UserRecord {
        id: passflow::model::user_id::UserId::random(),
        ..johndoe()
    };
    operator_at(&database, 0).add(&again).await.unwrap();
    operator_at(&database, 0)
        .set_scopes("johndoe", &ScopeSet::from([Scope::ME]))
        .await
        .unwrap();
    // A new password from the operator ends the session the first login started.
    password_grant(&app, "johndoe", "secret", "").await;
    let hash = passflow::auth::credentials::password::hash_password("a-new-secret-9");
    operator_at(&database, 0)
        .set_password("johndoe", &hash)
        .await
        .unwrap();
    let login = password_grant(&app, "johndoe", "a-new-secret-9", "").await;
    let page = get_with_token(&app, "/users/me/activity", str_of(&login, "access_token")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    let seen: Vec<(&str, &Value, &Value)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let kind = event["type"].as_str().unwrap();
            (kind, &event["actor"], &event["reason"])
        })
        .collect();
    let operator = json!({"kind": "operator"});
    let user = json!({"kind": "user", "name": "johndoe"});
    // The operator's `--reason` ("test") is theirs; the trail's own words stay.
    let (none, password_changed) = (Value::Null, json!("password_changed"));
    assert_eq!(
        seen,
        [
            ("login.succeeded", &user, &none),
            ("session.ended", &operator, &password_changed),
            ("user.password_set", &operator, &none),
            ("login.succeeded", &user, &none),
            ("user.scopes_set", &operator, &none),
            ("user.created", &operator, &none),
        ]
    );
    assert_eq!(page["next"], Value::Null);
}

on_both!(two_servers_write_one_trail);
/// Replicas share the trail: each server's events land in the one table, read alike from
/// either, and an operator's change made at the shell is among them.
async fn two_servers_write_one_trail(db: TestDb) {
    let (first, second) = (db.open().await, db.open().await);
    operator_at(&first, 0).add(&johndoe()).await.unwrap();
    let (one, other) = (app_on(&first).await, app_on(&second).await);
    let wrong = post_form(&one, &[("username", "johndoe"), ("password", "guess-9")]).await;
    assert_eq!(wrong.status, 401);
    let a = password_grant(&one, "johndoe", "secret", "").await;
    let b = password_grant(&other, "johndoe", "secret", "").await;
    let sid = |login: &Value| {
        let claims = jwt_claims(str_of(login, "access_token"));
        claims["sid"].as_str().unwrap().to_owned()
    };
    let (sid_a, sid_b) = (sid(&a), sid(&b));
    let from_second = trail(&second).await;
    assert_eq!(
        from_second,
        trail(&first).await,
        "one trail, whichever server reads it"
    );
    let row = |kind: &str, reason: &str, session: &str| {
        let user = "johndoe".to_owned();
        (kind.to_owned(), user, reason.to_owned(), session.to_owned())
    };
    assert_eq!(
        from_second,
        [
            row("login.succeeded", "-", &sid_b),
            row("login.succeeded", "-", &sid_a),
            row("login.failed", "wrong_password", "-"),
            row("user.created", "test", "-"),
        ]
    );
}

on_both!(a_typed_name_no_store_holds_is_still_recorded);
/// A NUL in a typed name (PostgreSQL's text cannot hold one) is a 401 like any wrong login,
/// and its failure is still recorded, the NUL kept as U+FFFD.
async fn a_typed_name_no_store_holds_is_still_recorded(db: TestDb) {
    let database = db.open().await;
    let app = app_on(&database).await;
    post_form(&app, &[("username", "nul\0name"), ("password", "guess-1")])
        .await
        .assert(
            401,
            r#"{"detail":"Incorrect username or password"}"#,
            Some("Bearer"),
        );
    let row = ("login.failed".to_owned(), "nul\u{fffd}name".to_owned());
    let trail: Vec<(String, String)> = trail(&database)
        .await
        .into_iter()
        .map(|(kind, user, _, _)| (kind, user))
        .collect();
    assert_eq!(trail, [row]);
}
