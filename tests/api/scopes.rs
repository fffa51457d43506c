//! The scopes chapter: scopes are requested at login, granted only when allowed, and checked
//! per route. Everything a JWT-chapter client sees stays as it was.

use std::sync::Arc;

use crate::helpers::*;
use passflow::model::scopes::Scope;
use passflow::router;
use passflow::store::{InMemoryUserStore, User, UserRecord, demo};

const NOT_ENOUGH: &str = r#"{"detail":"Not enough permissions"}"#;

async fn login_with_scope(app: &axum::Router, scope: &str) -> Reply {
    post_form(
        app,
        &[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", scope),
        ],
    )
    .await
}

/// johndoe as in the demo, but only allowed `allowed`.
fn app_where_johndoe_may_have(allowed: &[Scope]) -> axum::Router {
    let users = demo::users().into_iter().map(|user| {
        if user.username() == "johndoe" {
            UserRecord {
                scopes: allowed.iter().cloned().collect(),
                ..user
            }
        } else {
            user
        }
    });
    router(state_with(settings(), InMemoryUserStore::new(users)))
}

#[tokio::test]
async fn no_scope_requested_grants_the_users_whole_allowed_set() {
    let app = app();
    let reply = login_with_scope(&app, "").await;
    assert_eq!(reply.json()["scope"], "me items");
    let restricted = app_where_johndoe_may_have(&[Scope::ME]);
    let reply = login_with_scope(&restricted, "").await;
    assert_eq!(reply.json()["scope"], "me");
}

#[tokio::test]
async fn a_token_scoped_to_me_reads_the_profile_but_not_the_items() {
    let app = app();
    let reply = login_with_scope(&app, "me").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["scope"], "me");
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let me = get_with_token(&app, "/users/me/", &token).await;
    assert_eq!(me.status, 200);
    for path in ["/users/me/items/", "/users/me/items"] {
        get_with_token(&app, path, &token).await.assert(
            401,
            NOT_ENOUGH,
            Some(r#"Bearer scope="me items""#),
        );
    }
}

#[tokio::test]
async fn a_token_scoped_to_items_alone_reads_nothing_under_users_me() {
    let app = app();
    let reply = login_with_scope(&app, "items").await;
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    get_with_token(&app, "/users/me/", &token).await.assert(
        401,
        NOT_ENOUGH,
        Some(r#"Bearer scope="me""#),
    );
    get_with_token(&app, "/users/me/items/", &token)
        .await
        .assert(401, NOT_ENOUGH, Some(r#"Bearer scope="me items""#));
}

#[tokio::test]
async fn requested_scopes_are_granted_in_canonical_order_without_repeats() {
    let app = app();
    let reply = login_with_scope(&app, "  items   me items ").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["scope"], "me items");
}

#[tokio::test]
async fn unknown_scopes_get_no_token() {
    let app = app();
    login_with_scope(&app, "me admin").await.assert(
        400,
        r#"{"detail":"Unknown scope: admin"}"#,
        None,
    );
}

#[tokio::test]
async fn a_scope_the_user_may_not_have_gets_no_token() {
    let app = app_where_johndoe_may_have(&[Scope::ME]);
    login_with_scope(&app, "me items").await.assert(
        400,
        r#"{"detail":"Scope not allowed for this user: items"}"#,
        None,
    );
}

#[tokio::test]
async fn the_scope_check_comes_after_the_password_check() {
    let app = app();
    let reply = post_form(
        &app,
        &[
            ("username", "johndoe"),
            ("password", "wrong"),
            ("scope", "admin"),
        ],
    )
    .await;
    reply.assert(
        401,
        r#"{"detail":"Incorrect username or password"}"#,
        Some("Bearer"),
    );
}

#[tokio::test]
async fn a_scope_taken_from_the_user_leaves_tokens_already_issued() {
    let app = app_where_johndoe_may_have(&[Scope::ME]);
    // Signed when johndoe still had `items` (no scope claim: the user's whole set).
    get_with_token(&app, "/users/me/items/", tokens::PYJWT_JOHNDOE)
        .await
        .assert(401, NOT_ENOUGH, Some(r#"Bearer scope="me items""#));
    let me = get_with_token(&app, "/users/me/", tokens::PYJWT_JOHNDOE).await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn an_explicitly_empty_scope_claim_grants_nothing() {
    let app = app();
    get_with_token(&app, "/users/me/", tokens::SCOPE_EMPTY)
        .await
        .assert(401, NOT_ENOUGH, Some(r#"Bearer scope="me""#));
    let me = get_with_token(&app, "/users/me/", tokens::SCOPE_ME).await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn status_needs_only_a_valid_token() {
    let app = app();
    for path in ["/status/", "/status"] {
        get_with_token(&app, path, tokens::SCOPE_EMPTY)
            .await
            .assert(200, r#"{"status":"ok"}"#, None);
        // The tutorial's /status/ uses get_current_user: disabled users pass.
        get_with_token(&app, path, tokens::PYJWT_ALICE)
            .await
            .assert(200, r#"{"status":"ok"}"#, None);
        get(&app, path, None).await.assert(
            401,
            r#"{"detail":"Not authenticated"}"#,
            Some("Bearer"),
        );
        get_with_token(&app, path, tokens::EXPIRED).await.assert(
            401,
            r#"{"detail":"Could not validate credentials"}"#,
            Some("Bearer"),
        );
    }
}

#[tokio::test]
async fn a_disabled_user_with_the_right_scopes_is_still_inactive() {
    let app = app();
    get_with_token(&app, "/users/me/", tokens::ALICE_SCOPE_ME)
        .await
        .assert(400, r#"{"detail":"Inactive user"}"#, None);
    // Scopes are checked before activity, as in the tutorial's dependency order.
    get_with_token(&app, "/users/me/items/", tokens::ALICE_SCOPE_ME)
        .await
        .assert(401, NOT_ENOUGH, Some(r#"Bearer scope="me items""#));
}

/// A user `robot` / `beep` with no email or full name, allowed `scopes`.
fn robot(scopes: &[Scope]) -> axum::Router {
    let robot = UserRecord {
        id: passflow::model::user_id::UserId::of_name("robot"),
        profile: Arc::new(User {
            username: "robot".into(),
            email: None,
            full_name: None,
            disabled: false,
        }),
        hashed_password: passflow::auth::credentials::password::hash_password("beep"),
        scopes: scopes.iter().cloned().collect(),
    };
    router(state_with(settings(), InMemoryUserStore::new([robot])))
}

#[tokio::test]
async fn users_without_scopes_can_still_read_the_status() {
    let app = robot(&[]);
    let reply = post_form(&app, &[("username", "robot"), ("password", "beep")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["scope"], "");
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let status = get_with_token(&app, "/status/", &token).await;
    assert_eq!(status.status, 200);
    get_with_token(&app, "/users/me/", &token).await.assert(
        401,
        NOT_ENOUGH,
        Some(r#"Bearer scope="me""#),
    );
    // Null email and full name serialize as null, like FastAPI's optional fields.
    let robot = robot(&Scope::TUTORIAL);
    let token = login(&robot, "robot", "beep").await;
    get_with_token(&robot, "/users/me/", &token).await.assert(
        200,
        r#"{"username":"robot","email":null,"full_name":null,"disabled":false}"#,
        None,
    );
}

/// Issue 30, point 7: a deployment's own scopes beside the tutorial's, with descriptions.
fn app_offering_openid() -> (axum::Router, passflow::AppState) {
    use passflow::model::scopes::{ScopeCatalog, ScopeSet};
    let offered =
        ScopeCatalog::with([("openid", "Sign you in"), ("email", "Read your email")]).unwrap();
    let users = demo::users().into_iter().map(|user| {
        if user.username() == "johndoe" {
            let openid = Scope::new("openid").unwrap();
            UserRecord {
                scopes: ScopeSet::from([Scope::ME, Scope::ITEMS, openid]),
                ..user
            }
        } else {
            user
        }
    });
    let state = state_with(settings(), InMemoryUserStore::new(users)).with_scopes(offered);
    (router(state.clone()), state)
}

#[tokio::test]
async fn scopes_offered_by_configuration_are_granted_documented_and_ordered() {
    let (app, state) = app_offering_openid();
    // Asked for, in any order: the tutorial's first, then the others by name.
    let reply = login_with_scope(&app, "openid me").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "me openid");
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    get_with_token(&app, "/users/me/", &token)
        .await
        .assert(
            200,
            r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#,
            None,
        );
    // Nothing asked for: everything the user is allowed and the deployment offers.
    let reply = login_with_scope(&app, "").await;
    assert_eq!(reply.json()["scope"], "me items openid");
    // Offered, but not allowed to johndoe; and not offered at all.
    login_with_scope(&app, "email").await.assert(
        400,
        r#"{"detail":"Scope not allowed for this user: email"}"#,
        None,
    );
    login_with_scope(&app, "profile").await.assert(
        400,
        r#"{"detail":"Unknown scope: profile"}"#,
        None,
    );
    // The Authorize dialog lists each offered scope with its description.
    let doc = serde_json::to_value(passflow::http::openapi::document(&state)).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["scopes"],
        serde_json::json!({
            "email": "Read your email",
            "items": "Read items.",
            "me": "Read information about the current user.",
            "openid": "Sign you in",
        })
    );
}

#[tokio::test]
async fn a_refresh_narrows_to_offered_scopes_only() {
    let (app, _) = app_offering_openid();
    let pair = login_with_scope(&app, "me openid").await.json();
    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let reply = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "openid");
    let refresh_token = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("scope", "profile"),
        ],
    )
    .await
    .assert(
        400,
        r#"{"error":"invalid_scope","detail":"Unknown scope: profile"}"#,
        None,
    );
}
