//! The store traits' contract, one suite run against every backend: the memory stores, SQLite
//! and PostgreSQL. What a trait's documentation promises is asserted here once, so a backend
//! that drifts fails the same case the others pass.

use std::sync::Arc;

use passflow::auth::audit::{Audit, RETENTION_BATCH};
use passflow::model::event::{Actor, Event, EventType, Outcome};
use passflow::model::scopes::ScopeSet;
use passflow::model::user_id::UserId;
use passflow::model::username::Username;
use passflow::store::audit::{AuditStore, EventQuery, InMemoryAuditStore, MEMORY_EVENTS};
use passflow::store::session::{Digest, SessionRecord, SessionStore, StoredSession};
use passflow::store::totp::TotpStore;
use passflow::store::{
    InMemorySessionStore, InMemoryTotpStore, InMemoryUserStore, User, UserRecord, UserStore, demo,
};

use crate::database::TestDb;
use crate::helpers::operator_at;

/// One backend's stores, holding `users` (the demo users' shape).
struct Stores {
    users: Arc<dyn UserStore>,
    audit: Arc<dyn AuditStore>,
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
                audit: Arc::new(InMemoryAuditStore::new(MEMORY_EVENTS)),
                sessions: Arc::new(InMemorySessionStore::default()),
                totp: Arc::new(InMemoryTotpStore::default()),
                _db: None,
            };
        };
        let database = db.open().await;
        for user in &users {
            operator_at(&database, 0).add(user).await.unwrap();
        }
        Stores {
            users: Arc::clone(&database) as _,
            audit: Arc::clone(&database) as _,
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
    sessions.create(created.clone(), &[]).await.unwrap();
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
        sessions
            .create(session(id, username, 1_000), &[])
            .await
            .unwrap();
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

fn event(n: u8, kind: EventType, user: &str) -> Event {
    Event {
        // Time-ordered as UUIDv7s are: the id sorts as the time does.
        id: format!("0190b3a5-0000-7000-8000-0000000000{n:02x}"),
        time: 1_800_000_000_000 + i64::from(n) * 1000,
        kind,
        outcome: Outcome::Failure,
        user: Some(user.into()),
        sub: None,
        actor: Actor::Anonymous,
        client_id: None,
        session_id: None,
        address: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("curl/8".into()),
        request_id: Some(format!("request-{n}")),
        reason: Some("wrong_password".into()),
    }
}

on_every_backend!(audit_events_read_back_newest_first_and_go_by_age);
async fn audit_events_read_back_newest_first_and_go_by_age(backend: Backend) {
    let stores = backend.stores(vec![]).await;
    let audit = &stores.audit;
    let events: Vec<Event> = (1..=5)
        .map(|n| {
            let kind = if n % 2 == 0 {
                EventType::LoginSucceeded
            } else {
                EventType::LoginFailed
            };
            let mut event = event(n, kind, if n <= 3 { "zoe" } else { "ann" });
            if n == 5 {
                event.actor = Actor::Operator("root".into());
                event.outcome = Outcome::Success;
                event.address = None;
                event.user_agent = None;
            }
            event
        })
        .collect();
    audit.append(&events[..2]).await.unwrap();
    audit.append(&events[2..]).await.unwrap();
    let ids = |found: Vec<Event>| found.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let want = |ns: &[usize]| ns.iter().map(|&n| events[n].id.clone()).collect::<Vec<_>>();
    let all = EventQuery {
        limit: 10,
        ..EventQuery::default()
    };
    let newest_first: Vec<Event> = events.iter().rev().cloned().collect();
    assert_eq!(
        audit.events(&all).await.unwrap(),
        newest_first,
        "read back field by field"
    );
    let zoe = EventQuery {
        user: Some("zoe".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(audit.events(&zoe).await.unwrap()),
        ids(newest_first[2..].to_vec())
    );
    let failed = EventQuery {
        types: vec![EventType::LoginFailed],
        ..all.clone()
    };
    assert_eq!(ids(audit.events(&failed).await.unwrap()), want(&[4, 2, 0]));
    let both = EventQuery {
        types: vec![EventType::LoginFailed, EventType::LoginSucceeded],
        user: Some("ann".into()),
        ..all.clone()
    };
    assert_eq!(ids(audit.events(&both).await.unwrap()), want(&[4, 3]));
    let window = EventQuery {
        since: Some(events[1].time),
        until: Some(events[3].time),
        ..all.clone()
    };
    assert_eq!(ids(audit.events(&window).await.unwrap()), want(&[2, 1]));
    // A page of two, then the next from its last id.
    let page = EventQuery {
        limit: 2,
        ..all.clone()
    };
    let first = audit.events(&page).await.unwrap();
    assert_eq!(ids(first.clone()), want(&[4, 3]));
    let next = EventQuery {
        before_id: Some(first[1].id.clone()),
        ..page
    };
    assert_eq!(ids(audit.events(&next).await.unwrap()), want(&[2, 1]));
    // The retention: older than event 4's time, in batches of two.
    assert_eq!(audit.delete_older(events[3].time, 2).await.unwrap(), 2);
    assert_eq!(audit.delete_older(events[3].time, 2).await.unwrap(), 1);
    assert_eq!(audit.delete_older(events[3].time, 2).await.unwrap(), 0);
    assert_eq!(ids(audit.events(&all).await.unwrap()), want(&[4, 3]));
}

#[tokio::test]
async fn the_memory_trail_is_a_ring_that_drops_the_oldest() {
    let ring = InMemoryAuditStore::new(3);
    let events: Vec<Event> = (1..=5)
        .map(|n| event(n, EventType::LoginFailed, "zoe"))
        .collect();
    ring.append(&events).await.unwrap();
    let all = EventQuery {
        limit: 10,
        ..EventQuery::default()
    };
    let held: Vec<String> = ring
        .events(&all)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let want: Vec<String> = [4, 3, 2].map(|n| events[n].id.clone()).into();
    assert_eq!(held, want);
}

on_every_backend!(retention_forgets_old_events_in_batches);
/// `AUDIT_RETENTION_DAYS`' job: everything before the cutoff goes, in batches of
/// `RETENTION_BATCH`, and nothing at or after it.
async fn retention_forgets_old_events_in_batches(backend: Backend) {
    let stores = backend.stores(vec![]).await;
    let old = RETENTION_BATCH * 2 + 7;
    let events: Vec<Event> = (0..old + 3)
        .map(|n| Event {
            id: uuid::Uuid::now_v7().to_string(),
            time: 1_000 + n as i64,
            ..event(1, EventType::LoginFailed, "zoe")
        })
        .collect();
    stores.audit.append(&events).await.unwrap();
    let audit = Audit::new(Arc::clone(&stores.audit));
    let cutoff = 1_000 + old as i64;
    assert_eq!(audit.forget_older(cutoff).await.unwrap(), old);
    assert_eq!(
        audit.forget_older(cutoff).await.unwrap(),
        0,
        "nothing left to do"
    );
    let all = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    let left: Vec<i64> = audit
        .events(&all)
        .await
        .unwrap()
        .iter()
        .map(|event| event.time)
        .collect();
    assert_eq!(left, [cutoff + 2, cutoff + 1, cutoff]);
}
