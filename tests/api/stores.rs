//! The store traits' contract, one suite run against every backend: the memory stores, SQLite
//! and PostgreSQL. What a trait's documentation promises is asserted here once, so a backend
//! that drifts fails the same case the others pass.

use std::sync::Arc;

use passflow::model::scopes::ScopeSet;
use passflow::model::user_id::UserId;
use passflow::model::username::Username;
use passflow::store::session::{Digest, SessionRecord, SessionStore, StoredSession};
use passflow::store::totp::TotpStore;
use passflow::store::{
    InMemorySessionStore, InMemoryTotpStore, InMemoryUserStore, User, UserRecord, UserStore, demo,
};

use crate::database::TestDb;

/// One backend's stores, holding `users` (the demo users' shape).
struct Stores {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    totp: Arc<dyn TotpStore>,
    /// Keeps a test database alive for the case.
    _db: Option<TestDb>,
}

/// Where a case's data lives: the memory stores, or a database of its own.
pub(crate) enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    /// The case's database; `None` for the memory stores.
    pub(crate) async fn database(self) -> Option<TestDb> {
        match self {
            Backend::Memory => None,
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => Some(TestDb::postgres().await),
        }
    }

    async fn stores(self, users: Vec<UserRecord>) -> Stores {
        let Some(db) = self.database().await else {
            return Stores {
                users: Arc::new(InMemoryUserStore::new(users)),
                sessions: Arc::new(InMemorySessionStore::default()),
                totp: Arc::new(InMemoryTotpStore::default()),
                _db: None,
            };
        };
        let database = db.open().await;
        for user in &users {
            database.add_user(user).await.unwrap();
        }
        Stores {
            users: Arc::clone(&database) as _,
            sessions: Arc::clone(&database) as _,
            totp: database as _,
            _db: Some(db),
        }
    }
}

/// Each case as three tests, one per backend.
macro_rules! on_every_backend {
    ($case:ident) => {
        mod $case {
            use crate::stores::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$case(Backend::Memory).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                no_postgres,
                ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
            )]
            async fn postgres() {
                super::$case(Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_every_backend;

fn user(name: &str) -> UserRecord {
    UserRecord {
        id: UserId::of_name(name),
        profile: Arc::new(User {
            username: name.into(),
            email: Some(format!("{name}@example.com")),
            full_name: None,
            disabled: false,
        }),
        ..demo::users().remove(0)
    }
}

on_every_backend!(users_are_found_by_name_and_by_what_a_person_types);
async fn users_are_found_by_name_and_by_what_a_person_types(backend: Backend) {
    let stores = backend.stores(vec![user("zoe"), user("ann")]).await;
    let users = &stores.users;
    let zoe = users.get_user("zoe").await.unwrap().unwrap();
    assert_eq!(*zoe, user("zoe"));
    assert_eq!(users.get_user_fresh("zoe").await.unwrap(), Some(zoe));
    // A token's `sub` is the stored spelling: no other spelling finds it.
    assert_eq!(users.get_user("ZOE").await.unwrap(), None);
    // A login's name is compared by its RFC 8265 key.
    for typed in ["zoe", "ZOE", "ｚｏｅ"] {
        let found = users.find_login(typed).await.unwrap();
        assert_eq!(
            found.map(|user| user.username().to_owned()),
            Some("zoe".into())
        );
    }
    assert_eq!(users.find_login("zoey").await.unwrap(), None);
    assert_eq!(users.get_user("nobody").await.unwrap(), None);
}

on_every_backend!(a_hash_upgrade_is_a_compare_and_swap);
async fn a_hash_upgrade_is_a_compare_and_swap(backend: Backend) {
    let stores = backend.stores(vec![user("ann")]).await;
    let users = &stores.users;
    let old = demo::JOHNDOE_HASH;
    assert!(
        !users
            .update_password_hash(&Username::from("ann"), "not-the-hash", "x".into())
            .await
            .unwrap()
    );
    assert!(
        users
            .update_password_hash(&Username::from("ann"), old, "new".into())
            .await
            .unwrap()
    );
    // The swap is seen at once by a fresh read, and a second swap from the old hash loses.
    let stored = users.get_user_fresh("ann").await.unwrap().unwrap();
    assert_eq!(stored.hashed_password, "new");
    assert!(
        !users
            .update_password_hash(&Username::from("ann"), old, "other".into())
            .await
            .unwrap()
    );
}

fn digest(byte: u8) -> Digest {
    Digest([byte; 32])
}

fn session(id: &str, username: &str, created_at: u64) -> StoredSession {
    StoredSession {
        record: SessionRecord {
            id: id.into(),
            user_id: UserId::of_name(username),
            username: username.into(),
            scope: ScopeSet::tutorial(),
            created_at,
            last_used_at: created_at,
            expires_at: created_at + 3600,
            client_id: None,
            pending: false,
        },
        family: digest(id.as_bytes()[0]),
        current: digest(100 + id.as_bytes()[0]),
        previous: None,
    }
}

on_every_backend!(a_refresh_token_rotates_once);
async fn a_refresh_token_rotates_once(backend: Backend) {
    let stores = backend.stores(vec![user("ann")]).await;
    let sessions = &stores.sessions;
    let created = session("a", "ann", 1_000);
    sessions.create(created.clone()).await.unwrap();
    let found = sessions.find_by_family(&created.family).await.unwrap();
    assert_eq!(found, Some(created.clone()));
    assert_eq!(sessions.find_by_family(&digest(9)).await.unwrap(), None);
    // Compare-and-swap: the current digest rotates once; the used one is remembered.
    assert!(
        sessions
            .rotate("a", &created.current, digest(1), 1_010)
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .rotate("a", &created.current, digest(2), 1_020)
            .await
            .unwrap()
    );
    let rotated = sessions
        .find_by_family(&created.family)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.current, digest(1));
    assert_eq!(rotated.previous, Some((created.current, 1_010)));
    assert_eq!(rotated.record.last_used_at, 1_010);
}

on_every_backend!(sessions_end_one_or_all_but_one);
async fn sessions_end_one_or_all_but_one(backend: Backend) {
    let stores = backend.stores(vec![user("ann"), user("bob")]).await;
    let sessions = &stores.sessions;
    for (id, username) in [("a", "ann"), ("b", "ann"), ("c", "ann"), ("d", "bob")] {
        sessions.create(session(id, username, 1_000)).await.unwrap();
    }
    let ids = |records: Vec<SessionRecord>| {
        let mut ids: Vec<String> = records.into_iter().map(|record| record.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(sessions.list(&UserId::of_name("ann")).await.unwrap()),
        ["a", "b", "c"]
    );
    let ended = sessions.end("a", 1_100).await.unwrap();
    assert_eq!(ended.map(|record| record.id), Some("a".into()));
    assert_eq!(sessions.end("a", 1_100).await.unwrap(), None);
    let ended = sessions
        .end_all(&UserId::of_name("ann"), &"ann".into(), Some("b"), 1_200)
        .await
        .unwrap();
    assert_eq!(ids(ended), ["c"]);
    assert_eq!(
        ids(sessions.list(&UserId::of_name("ann")).await.unwrap()),
        ["b"]
    );
    assert_eq!(
        ids(sessions.list(&UserId::of_name("bob")).await.unwrap()),
        ["d"]
    );
}

on_every_backend!(totp_steps_and_recovery_codes_are_spent_once);
async fn totp_steps_and_recovery_codes_are_spent_once(backend: Backend) {
    let stores = backend.stores(vec![user("ann")]).await;
    let totp = &stores.totp;
    assert!(totp.totp(&Username::from("ann")).await.unwrap().is_none());
    assert!(
        totp.begin_totp(&Username::from("ann"), vec![1, 2, 3])
            .await
            .unwrap()
    );
    // A pending secret is replaced by a new one; only the one pending can be enabled.
    assert!(
        totp.begin_totp(&Username::from("ann"), vec![4, 5, 6])
            .await
            .unwrap()
    );
    let codes = [digest(7), digest(8)];
    assert!(
        !totp
            .enable_totp(&Username::from("ann"), &[1, 2, 3], 10, &codes)
            .await
            .unwrap()
    );
    assert!(
        totp.enable_totp(&Username::from("ann"), &[4, 5, 6], 10, &codes)
            .await
            .unwrap()
    );
    assert!(
        totp.totp(&Username::from("ann"))
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(
        !totp
            .begin_totp(&Username::from("ann"), vec![9])
            .await
            .unwrap()
    );
    // Steps only move forward; each recovery code works once.
    assert!(
        !totp
            .spend_totp_step(&Username::from("ann"), 10)
            .await
            .unwrap()
    );
    assert!(
        totp.spend_totp_step(&Username::from("ann"), 11)
            .await
            .unwrap()
    );
    assert!(
        !totp
            .spend_totp_step(&Username::from("ann"), 11)
            .await
            .unwrap()
    );
    assert!(
        totp.spend_recovery_code(&Username::from("ann"), &digest(7))
            .await
            .unwrap()
    );
    assert!(
        !totp
            .spend_recovery_code(&Username::from("ann"), &digest(7))
            .await
            .unwrap()
    );
    assert!(
        !totp
            .spend_recovery_code(&Username::from("ann"), &digest(9))
            .await
            .unwrap()
    );
    assert!(totp.remove_totp(&Username::from("ann")).await.unwrap());
    assert!(!totp.remove_totp(&Username::from("ann")).await.unwrap());
    assert!(totp.totp(&Username::from("ann")).await.unwrap().is_none());
}
