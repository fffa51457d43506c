//! Users from a file, and hashes from Python systems upgraded on login.

use std::sync::Arc;

use crate::helpers::*;
use passflow::router;
use passflow::store::{InMemoryUserStore, UserStore};
use serde_json::json;

const STANLEY_BCRYPT: &str = "$2b$12$HIbxs5kbjinDEUzbQJYqpeTp.GxRgy4m8hdQM4JnSunGQ6VaY5Ld6";

fn write_users(value: &serde_json::Value) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    serde_json::to_writer(&mut file, value).unwrap();
    file
}

fn load_error(value: serde_json::Value) -> String {
    let file = write_users(&value);
    InMemoryUserStore::from_json_file(file.path())
        .map(drop)
        .unwrap_err()
        .to_string()
}

fn stanley() -> serde_json::Value {
    json!({
        "username": "stanley",
        "full_name": "Stanley Jobson",
        "email": "Stanley.Jobson@localhost",
        "hashed_password": STANLEY_BCRYPT,
        "disabled": false,
    })
}

#[test]
fn a_look_alike_of_another_user_is_refused() {
    let entry = |name: &str| {
        json!({"username": name, "full_name": null, "email": null,
               "hashed_password": STANLEY_BCRYPT, "disabled": false})
    };
    for look_alike in ["Zoe", "ＺＯＥ"] {
        let mut users = serde_json::Map::new();
        users.insert("zoe".into(), entry("zoe"));
        users.insert(look_alike.into(), entry(look_alike));
        let error = load_error(users.into());
        assert!(
            error.ends_with(&format!(
                "user {look_alike:?}: is the user \"zoe\" in another case, width or Unicode \
                 form (RFC 8265): two such accounts cannot be told apart"
            )),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_users_file_replaces_the_demo_users() {
    let file = write_users(&json!({ "stanley": stanley() }));
    let users = InMemoryUserStore::from_json_file(file.path()).unwrap();
    let app = router(state_with(settings(), users));
    let token = login(&app, "stanley", "secret").await;
    get_with_token(&app, "/users/me/", &token).await.assert(
        200,
        r#"{"username":"stanley","email":"Stanley.Jobson@localhost","full_name":"Stanley Jobson","disabled":false}"#,
        None,
    );
    let reply = post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn scopes_in_the_file_limit_what_a_user_is_granted() {
    let mut user = stanley();
    user["scopes"] = json!(["me"]);
    let file = write_users(&json!({ "stanley": user }));
    let app = router(state_with(
        settings(),
        InMemoryUserStore::from_json_file(file.path()).unwrap(),
    ));
    let reply = post_form(&app, &[("username", "stanley"), ("password", "secret")]).await;
    assert_eq!(reply.json()["scope"], "me");
}

#[test]
fn an_incomplete_user_is_refused_naming_the_user_and_the_field() {
    for field in [
        "username",
        "full_name",
        "email",
        "hashed_password",
        "disabled",
    ] {
        let mut user = stanley();
        user.as_object_mut().unwrap().remove(field);
        let message = load_error(json!({ "stanley": user }));
        assert!(message.contains("user \"stanley\""), "{message}");
        assert!(
            message.contains(&format!("missing field `{field}`")),
            "{message}"
        );
    }
}

#[test]
fn null_email_and_full_name_are_allowed() {
    let mut user = stanley();
    user["email"] = json!(null);
    user["full_name"] = json!(null);
    let file = write_users(&json!({ "stanley": user }));
    assert!(InMemoryUserStore::from_json_file(file.path()).is_ok());
}

#[test]
fn a_key_that_disagrees_with_the_username_is_refused() {
    let message = load_error(json!({ "stan": stanley() }));
    assert!(message.contains("user \"stan\""), "{message}");
    assert!(
        message.contains("field `username` is \"stanley\""),
        "{message}"
    );
}

#[test]
fn a_hash_nothing_here_can_verify_is_refused() {
    for hash in ["secret", "$1$saltsalt$hash", "$pbkdf2-sha256$29000$abc$def"] {
        let mut user = stanley();
        user["hashed_password"] = json!(hash);
        let message = load_error(json!({ "stanley": user }));
        assert!(message.contains("user \"stanley\""), "{message}");
        assert!(message.contains("field `hashed_password`"), "{message}");
    }
}

#[test]
fn unknown_scopes_and_wrong_shapes_are_refused() {
    let mut user = stanley();
    user["scopes"] = json!(["me", "admin"]);
    let message = load_error(json!({ "stanley": user }));
    assert!(message.contains("user \"stanley\""), "{message}");
    assert!(message.contains("admin"), "{message}");

    let message = load_error(json!([stanley()]));
    assert!(message.contains("not a JSON object of users"), "{message}");
}

#[tokio::test]
async fn a_bcrypt_user_is_upgraded_to_argon2id_on_login_and_still_logs_in() {
    let store = Arc::new(InMemoryUserStore::demo());
    let app =
        router(state_with(settings(), InMemoryUserStore::default()).with_users(store.clone()));
    let before = store.get_user("stanley").await.unwrap().unwrap();
    assert_eq!(before.hashed_password, STANLEY_BCRYPT);

    login(&app, "stanley", "secret").await;
    let after = store.get_user("stanley").await.unwrap().unwrap();
    assert!(
        after
            .hashed_password
            .starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "{}",
        after.hashed_password
    );
    assert_ne!(after.hashed_password, STANLEY_BCRYPT);
    assert_eq!(after.profile, before.profile);

    // The new hash works, and is left alone from now on.
    login(&app, "stanley", "secret").await;
    let again = store.get_user("stanley").await.unwrap().unwrap();
    assert_eq!(again.hashed_password, after.hashed_password);
    // A wrong password changes nothing.
    let reply = post_form(&app, &[("username", "mike"), ("password", "wrong")]).await;
    assert_eq!(reply.status, 401);
    let mike = store.get_user("mike").await.unwrap().unwrap();
    assert!(mike.hashed_password.starts_with("$2b$12$"));
}

#[tokio::test]
async fn current_argon2id_hashes_are_not_rewritten() {
    let store = Arc::new(InMemoryUserStore::demo());
    let app =
        router(state_with(settings(), InMemoryUserStore::default()).with_users(store.clone()));
    let before = store.get_user("johndoe").await.unwrap().unwrap();
    login(&app, "johndoe", "secret").await;
    let after = store.get_user("johndoe").await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&before, &after));
}
