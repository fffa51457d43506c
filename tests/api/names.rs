//! Passwords and usernames compared as people type them (issue 29): passwords in NFKC (NIST
//! SP 800-63B §5.1.1.2), usernames by their RFC 8265 §3.3 key. Every case runs on the memory
//! store, SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use axum::Router;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::sessions::SessionSettings;
use passflow::router;
use passflow::store::admin::AdminError;
use passflow::store::{InMemoryUserStore, User, UserRecord, UserStore, demo};
use sqlx::Connection as _;

use crate::account::change_to;
use crate::database::{TestDb, on_both, state_on};
use crate::helpers::*;
use crate::stores::{Backend, on_every_backend};

/// `Crème-brûlée-Kürbis-9` as most keyboards send it (NFC), and decomposed (NFD), as macOS
/// file pickers, some password managers and text copied from PDFs send it.
const NFC: &str = "Cr\u{e8}me-br\u{fb}l\u{e9}e-K\u{fc}rbis-9";
const NFD: &str = "Cre\u{300}me-bru\u{302}le\u{301}e-Ku\u{308}rbis-9";
/// Another password, set decomposed and typed composed.
const NFD_2: &str = "Sma\u{30a}la\u{308}nd-pa\u{301}prika-7";
const NFC_2: &str = "Sm\u{e5}l\u{e4}nd-p\u{e1}prika-7";

const INCORRECT: &str = r#"{"detail":"Incorrect username or password"}"#;

fn user(name: &str, hashed_password: &str) -> UserRecord {
    UserRecord {
        id: passflow::model::user_id::UserId::of_name(name),
        profile: Arc::new(User {
            username: name.into(),
            email: None,
            full_name: None,
            disabled: false,
        }),
        hashed_password: hashed_password.into(),
        ..demo::users().remove(0)
    }
}

/// No upkeep task replays the view of ended sessions in these tests: it stays trusted for
/// the whole case, however slowly a loaded machine runs its hashes.
fn trusted_view() -> SessionSettings {
    SessionSettings {
        max_view_age: Duration::from_secs(3600),
        ..SessionSettings::default()
    }
}

/// A server whose store holds `users`, with `throttle`, and the store itself.
async fn server(
    backend: &Option<TestDb>,
    users: Vec<UserRecord>,
    throttle: ThrottleSettings,
) -> (Router, Arc<dyn UserStore>) {
    match backend {
        None => {
            let store: Arc<dyn UserStore> = Arc::new(InMemoryUserStore::new(users));
            let state = state_with(settings(), InMemoryUserStore::default())
                .with_users(Arc::clone(&store))
                .with_throttle(throttle);
            (router(state), store)
        }
        Some(db) => {
            let database = db.open().await;
            for user in &users {
                operator_at(&database, 0).add(user).await.unwrap();
            }
            let state = state_on(&database, trusted_view())
                .await
                .with_throttle(throttle);
            (router(state), database)
        }
    }
}

async fn log_in(app: &Router, username: &str, password: &str) -> Reply {
    post_form(app, &[("username", username), ("password", password)]).await
}

/// The user a login's token names, as `/users/me/` reports it and as its `sub` carries it.
async fn logged_in_as(app: &Router, username: &str, password: &str) -> String {
    let token = login(app, username, password).await;
    let me = get_with_token(app, "/users/me/", &token).await;
    assert_eq!(me.status, 200, "{}", me.text());
    let name = me.json()["username"].as_str().unwrap().to_owned();
    assert_eq!(jwt_claims(&token)["sub"], name.as_str());
    name
}

#[track_caller]
fn changed(reply: Reply) {
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(reply.body, b"");
}

on_every_backend!(a_password_set_in_one_form_logs_in_in_the_other);
async fn a_password_set_in_one_form_logs_in_in_the_other(backend: Backend) {
    let backend = backend.database().await;
    let (app, _) = server(&backend, vec![demo::users().remove(0)], Default::default()).await;
    // Set composed, typed decomposed.
    let token = login(&app, "johndoe", "secret").await;
    changed(change_to(&app, &token, "secret", NFC).await);
    assert_eq!(logged_in_as(&app, "johndoe", NFD).await, "johndoe");
    // Set decomposed (proving the current one decomposed too), typed composed.
    let token = login(&app, "johndoe", NFC).await;
    changed(change_to(&app, &token, NFD, NFD_2).await);
    assert_eq!(logged_in_as(&app, "johndoe", NFC_2).await, "johndoe");
    assert_eq!(logged_in_as(&app, "johndoe", NFD_2).await, "johndoe");
    log_in(&app, "johndoe", NFC)
        .await
        .assert(401, INCORRECT, Some("Bearer"));
}

/// An argon2id hash of the password exactly as typed, decomposed: what pwdlib, or passflow
/// before it normalized, stored.
fn hash_of_typed_form(password: &str) -> String {
    let params = Params::new(65_536, 3, 4, Some(32)).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .unwrap()
        .to_string()
}

on_every_backend!(an_old_hash_of_the_decomposed_form_verifies_and_is_replaced);
async fn an_old_hash_of_the_decomposed_form_verifies_and_is_replaced(backend: Backend) {
    let backend = backend.database().await;
    let old = hash_of_typed_form(NFD);
    let (app, store) = server(&backend, vec![user("renee", &old)], Default::default()).await;
    // Typed composed, the old hash cannot match: nothing recovers the form it was made from.
    log_in(&app, "renee", NFC)
        .await
        .assert(401, INCORRECT, Some("Bearer"));
    assert_eq!(logged_in_as(&app, "renee", NFD).await, "renee");
    let stored = store.get_user_fresh("renee").await.unwrap().unwrap();
    assert_ne!(stored.hashed_password, old);
    assert!(
        stored
            .hashed_password
            .starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "{}",
        stored.hashed_password
    );
    // The new hash is of the normal form: either form logs in from now on.
    assert_eq!(logged_in_as(&app, "renee", NFC).await, "renee");
    assert_eq!(logged_in_as(&app, "renee", NFD).await, "renee");
}

on_every_backend!(look_alike_spellings_find_one_account);
async fn look_alike_spellings_find_one_account(backend: Backend) {
    let backend = backend.database().await;
    let zoe = user("zoe", demo::JOHNDOE_HASH);
    let (app, _) = server(&backend, vec![zoe], Default::default()).await;
    for typed in ["zoe", "ZOE", "Zoe", "ｚｏｅ", "ＺＯＥ"] {
        assert_eq!(logged_in_as(&app, typed, "secret").await, "zoe", "{typed}");
    }
    log_in(&app, "ZOE", "wrong")
        .await
        .assert(401, INCORRECT, Some("Bearer"));
    log_in(&app, "zoé", "secret")
        .await
        .assert(401, INCORRECT, Some("Bearer"));
}

on_every_backend!(look_alike_spellings_share_one_throttle_cell);
async fn look_alike_spellings_share_one_throttle_cell(backend: Backend) {
    let backend = backend.database().await;
    let throttle = ThrottleSettings {
        per_user: 2,
        ..Default::default()
    };
    let zoe = user("zoe", demo::JOHNDOE_HASH);
    let (app, _) = server(&backend, vec![zoe], throttle).await;
    for typed in ["ZOE", "Zoe"] {
        log_in(&app, typed, "wrong")
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    let refused = log_in(&app, "zoe", "secret").await;
    refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
    assert!(refused.header("retry-after").is_some());
}

/// `passflow users add` and `import` on a database; a users file: tests/api/users_file.rs.
async fn a_look_alike_of_an_existing_name_is_refused(db: TestDb) {
    let database = db.open().await;
    operator_at(&database, 0)
        .add(&user("zoe", demo::JOHNDOE_HASH))
        .await
        .unwrap();
    for look_alike in ["Zoe", "ZOE", "ｚｏｅ"] {
        let refused = operator_at(&database, 0)
            .add(&user(look_alike, demo::JOHNDOE_HASH))
            .await;
        assert!(
            matches!(&refused, Err(AdminError::LookAlike { name, existing })
                if name == look_alike && existing == "zoe"),
            "{refused:?}"
        );
        let imported = operator_at(&database, 1)
            .import(&[user(look_alike, demo::JOHNDOE_HASH)], true)
            .await;
        assert!(
            matches!(&imported, Err(AdminError::LookAlike { .. })),
            "{imported:?}"
        );
    }
    assert!(matches!(
        operator_at(&database, 0).add(&user("zoe", demo::JOHNDOE_HASH)).await,
        Err(AdminError::Exists(name)) if name == "zoe"
    ));
    assert_eq!(database.count_users().await.unwrap(), 1);
    assert_eq!(database.resolve("ＺＯＥ").await.unwrap(), "zoe");
    assert!(matches!(
        database.resolve("zoey").await,
        Err(AdminError::NoSuchUser(name)) if name == "zoey"
    ));
}

/// Two replicas adding look-alike names at the same moment: the database's unique index on
/// the key lets exactly one of each pair in.
async fn two_servers_racing_look_alikes_cannot_both_win(db: TestDb) {
    let first = db.open().await;
    let second = db.open().await;
    for round in 0..20 {
        let lower = user(&format!("racer{round}"), demo::JOHNDOE_HASH);
        let upper = user(&format!("RACER{round}"), demo::JOHNDOE_HASH);
        let (one, other) = (operator_at(&first, 0), operator_at(&second, 0));
        let (a, b) = tokio::join!(one.add(&lower), other.add(&upper));
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one wins: {a:?} {b:?}"
        );
        let lost = if a.is_ok() { b } else { a };
        assert!(
            matches!(lost, Err(AdminError::LookAlike { .. })),
            "{lost:?}"
        );
    }
    assert_eq!(first.count_users().await.unwrap(), 20);
}

/// A database from before keys: rows written without one, two of them look-alikes.
async fn look_alikes_from_before_keys_log_in_by_exact_spelling_only(db: TestDb) {
    let database = db.open().await;
    assert!(database.confusable_names().is_empty());
    database.close().await;
    let mut raw = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    for (name, hash) in [
        ("zoe", demo::ALICE_HASH),
        ("Zoe", demo::JOHNDOE_HASH),
        ("ann", demo::JOHNDOE_HASH),
    ] {
        sqlx::query(
            "INSERT INTO users (username, hashed_password, disabled, scopes, subject) \
             VALUES ($1, $2, FALSE, 'me items', $1)",
        )
        .bind(name)
        .bind(hash)
        .execute(&mut raw)
        .await
        .unwrap();
    }
    raw.close().await.unwrap();

    let database = db.open().await;
    assert_eq!(
        database.confusable_names(),
        [vec!["Zoe".to_owned(), "zoe".to_owned()]]
    );
    // Filled in once: opening again finds the same and changes nothing.
    assert_eq!(
        db.open().await.confusable_names(),
        database.confusable_names()
    );
    let app = router(state_on(&database, trusted_view()).await);
    assert_eq!(logged_in_as(&app, "Zoe", "secret").await, "Zoe");
    assert_eq!(logged_in_as(&app, "zoe", "secretalice").await, "zoe");
    assert_eq!(logged_in_as(&app, "ANN", "secret").await, "ann");
    for password in ["secret", "secretalice"] {
        log_in(&app, "ZOE", password)
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    assert!(matches!(
        database.resolve("ZOE").await,
        Err(AdminError::Ambiguous { .. })
    ));
    assert_eq!(database.resolve("Zoe").await.unwrap(), "Zoe");
    assert!(matches!(
        operator_at(&database, 0).add(&user("zOE", demo::JOHNDOE_HASH)).await,
        Err(AdminError::LookAlike { existing, .. }) if existing == "Zoe"
    ));
    // Deleting one leaves the other to every spelling.
    operator_at(&database, 1).delete("Zoe").await.unwrap();
    assert_eq!(logged_in_as(&app, "ZOE", "secretalice").await, "zoe");
}

/// The same rule in a memory store built in code with a look-alike pair.
#[tokio::test]
async fn a_memory_store_with_look_alikes_needs_the_exact_spelling() {
    let store = InMemoryUserStore::new([
        user("Zoe", demo::JOHNDOE_HASH),
        user("zoe", demo::ALICE_HASH),
    ]);
    let app = router(state_with(settings(), store));
    assert_eq!(logged_in_as(&app, "Zoe", "secret").await, "Zoe");
    assert_eq!(logged_in_as(&app, "zoe", "secretalice").await, "zoe");
    log_in(&app, "ZOE", "secret")
        .await
        .assert(401, INCORRECT, Some("Bearer"));
}

on_both!(a_look_alike_of_an_existing_name_is_refused);
on_both!(two_servers_racing_look_alikes_cannot_both_win);
on_both!(look_alikes_from_before_keys_log_in_by_exact_spelling_only);
