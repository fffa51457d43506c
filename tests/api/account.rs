//! `POST /users/me/password` (issue 21, point 2): the current password first, counted like a
//! login; the policy; every other session ends and the calling one goes on.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use passflow::auth::guard::local::ThrottleSettings;
use passflow::router;
use passflow::store::InMemoryUserStore;
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) const NEW_PASSWORD: &str = "zebra fjord quill";

/// `POST /users/me/password` with a raw body and content type, as `token`.
pub(crate) async fn change(app: &Router, token: &str, content_type: &str, body: &str) -> Reply {
    let request = Request::post("/users/me/password")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(app, request).await
}

pub(crate) async fn change_to(app: &Router, token: &str, current: &str, new: &str) -> Reply {
    let body = json!({"current_password": current, "new_password": new}).to_string();
    change(app, token, "application/json", &body).await
}

pub(crate) async fn me(app: &Router, pair: &Value) -> u16 {
    let token = pair["access_token"].as_str().unwrap();
    get(app, "/users/me/", Some(&format!("Bearer {token}")))
        .await
        .status
        .as_u16()
}

/// The whole contract on `app`, whose johndoe logs in with `secret`.
pub(crate) async fn a_change_ends_the_other_sessions_only(app: &Router) {
    let caller = password_grant(app, "johndoe", "secret", "").await;
    let other = password_grant(app, "johndoe", "secret", "").await;
    let token = caller["access_token"].as_str().unwrap();
    let changed = change_to(app, token, "secret", NEW_PASSWORD).await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    assert!(changed.body.is_empty());

    assert_eq!(me(app, &caller).await, 200, "the calling session goes on");
    assert_eq!(
        refresh_grant(app, str_of(&caller, "refresh_token"), None)
            .await
            .status,
        200
    );
    assert_eq!(me(app, &other).await, 401, "every other session has ended");
    assert_eq!(
        refresh_grant(app, str_of(&other, "refresh_token"), None)
            .await
            .status,
        400
    );

    let old = post_form(app, &[("username", "johndoe"), ("password", "secret")]).await;
    old.assert(
        401,
        r#"{"detail":"Incorrect username or password"}"#,
        Some("Bearer"),
    );
    password_grant(app, "johndoe", NEW_PASSWORD, "").await;
}

#[tokio::test]
async fn a_change_ends_the_other_sessions_only_in_memory() {
    a_change_ends_the_other_sessions_only(&app()).await;
}

#[tokio::test]
async fn a_wrong_current_password_counts_like_a_failed_login() {
    let app = router(
        state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
            per_user: 3,
            ..ThrottleSettings::default()
        }),
    );
    let caller = password_grant(&app, "johndoe", "secret", "").await;
    let token = caller["access_token"].as_str().unwrap();
    for _ in 0..2 {
        change_to(&app, token, "guess-guess", NEW_PASSWORD)
            .await
            .assert(400, r#"{"detail":"Incorrect password"}"#, None);
    }
    // The third guess of the same budget, at /token.
    let wrong = [("username", "johndoe"), ("password", "guess-3")];
    assert_eq!(post_form(&app, &wrong).await.status, 401);
    let refused = change_to(&app, token, "secret", NEW_PASSWORD).await;
    refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(post_form(&app, &wrong).await.status, 429);
}

#[tokio::test]
async fn the_new_password_must_meet_the_policy() {
    let app = app();
    let caller = password_grant(&app, "johndoe", "secret", "").await;
    let token = caller["access_token"].as_str().unwrap();
    for (new, rule) in [
        ("short", "The password must have at least 8 characters"),
        ("Password123", "The password is too common"),
        ("i-am-johndoe!", "The password contains the username"),
    ] {
        change_to(&app, token, "secret", new).await.assert(
            400,
            &json!({ "detail": rule }).to_string(),
            None,
        );
    }
    // Nothing changed.
    password_grant(&app, "johndoe", "secret", "").await;
}

#[tokio::test]
async fn a_body_that_is_not_that_json_is_a_fastapi_422() {
    let app = app();
    let caller = password_grant(&app, "johndoe", "secret", "").await;
    let token = caller["access_token"].as_str().unwrap();
    let form = change(
        &app,
        token,
        "application/x-www-form-urlencoded",
        "current_password=secret&new_password=zebra",
    )
    .await;
    assert_eq!(form.status, 422, "{}", form.text());
    assert_eq!(form.json()["detail"][0]["type"], "json_invalid");
    change(&app, token, "application/json", "[]").await.assert(
        422,
        r#"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]}"#,
        None,
    );
    change(&app, token, "application/json", r#"{"current_password":1}"#)
        .await
        .assert(
            422,
            r#"{"detail":[{"type":"string_type","loc":["body","current_password"],"msg":"Input should be a valid string","input":1},{"type":"missing","loc":["body","new_password"],"msg":"Field required","input":{"current_password":1}}]}"#,
            None,
        );
    // Without a token: the protected route's usual answer.
    let request = Request::post("/users/me/password")
        .body(Body::from("{}"))
        .unwrap();
    send(&app, request)
        .await
        .assert(401, r#"{"detail":"Not authenticated"}"#, Some("Bearer"));
}
