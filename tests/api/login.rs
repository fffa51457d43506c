//! The Core wire contract, case by case, through the router in-process.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};

const JOHNDOE: &str = r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#;
const JOHNDOE_ITEMS: &str = r#"[{"item_id":"Foo","owner":"johndoe"}]"#;
const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;
const INCORRECT: &str = r#"{"detail":"Incorrect username or password"}"#;
const INACTIVE: &str = r#"{"detail":"Inactive user"}"#;
const BEARER: Option<&str> = Some("Bearer");

fn missing(field: &str) -> Value {
    json!({"type": "missing", "loc": ["body", field], "msg": "Field required", "input": null})
}

fn decode_segment(segment: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn login_returns_a_bearer_token_that_is_not_cached() {
    let app = app();
    let reply = post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "me items");
    assert_eq!(
        keys_of(&body),
        [
            "access_token",
            "token_type",
            "scope",
            "expires_in",
            "refresh_token"
        ]
    );
    assert_eq!(body["expires_in"], 1800);
    let refresh_token = body["refresh_token"].as_str().unwrap();
    // 48 random bytes and a 16-byte tag, URL-safe base64 without padding; not a JWT.
    assert_eq!(refresh_token.len(), 86);
    assert!(
        refresh_token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    let token = body["access_token"].as_str().unwrap();
    let segments: Vec<_> = token.split('.').collect();
    assert_eq!(segments.len(), 3);
    assert_eq!(
        decode_segment(segments[0]),
        json!({"alg": "HS256", "typ": "JWT"})
    );
    let claims = decode_segment(segments[1]);
    assert_eq!(claims["sub"], "johndoe");
    let now = jsonwebtoken::get_current_timestamp();
    let exp = claims["exp"].as_u64().expect("exp is an integer");
    assert!(
        (now + 1790..=now + 1800).contains(&exp),
        "exp {exp}, now {now}"
    );
    assert_eq!(claims["iat"].as_u64().map(|iat| exp - iat), Some(1800));
    assert_eq!(claims["jti"].as_str().map(str::len), Some(32));
    assert_eq!(claims["sid"].as_str().map(str::len), Some(22));

    get_with_token(&app, "/users/me/", token)
        .await
        .assert(200, JOHNDOE, None);
}

#[tokio::test]
async fn login_accepts_multipart_as_curl_dash_f_sends_it() {
    let app = app();
    let reply = post_multipart(&app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    get_with_token(&app, "/users/me/", &token)
        .await
        .assert(200, JOHNDOE, None);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = app();
    for (username, password) in [
        ("johndoe", "wrong"),
        ("nobody", "secret"),
        ("JohnDoe", "wrong"),
    ] {
        post_form(&app, &[("username", username), ("password", password)])
            .await
            .assert(401, INCORRECT, BEARER);
    }
}

#[tokio::test]
async fn optional_fields_are_accepted_and_grant_type_must_be_password() {
    let app = app();
    let reply = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", ""),
            ("client_id", "swagger"),
            ("client_secret", "anything"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let reply = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("username", "johndoe"),
            ("password", "secret"),
        ],
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json(),
        json!({"detail": [{
            "type": "string_pattern_mismatch",
            "loc": ["body", "grant_type"],
            "msg": "String should match pattern '^password$'",
            "input": "client_credentials",
            "ctx": {"pattern": "^password$"},
        }]})
    );
}

#[tokio::test]
async fn missing_fields_are_422_in_fastapis_shape_one_entry_each() {
    let app = app();
    let reply = post_form(&app, &[("password", "secret")]).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.text(),
        r#"{"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required","input":null}]}"#
    );

    let reply = post_form(&app, &[("username", "johndoe")]).await;
    assert_eq!(reply.json(), json!({"detail": [missing("password")]}));

    // An empty value counts as missing, as it does in FastAPI.
    let reply = post_form(&app, &[("username", ""), ("password", "secret")]).await;
    assert_eq!(reply.json(), json!({"detail": [missing("username")]}));

    let reply = post_form(&app, &[("grant_type", "nope")]).await;
    let detail = reply.json()["detail"].clone();
    assert_eq!(detail.as_array().unwrap().len(), 3);
    assert_eq!(detail[0]["loc"], json!(["body", "grant_type"]));
    assert_eq!(detail[1], missing("username"));
    assert_eq!(detail[2], missing("password"));
}

#[tokio::test]
async fn bodies_that_are_not_forms_are_422_never_500() {
    let app = app();
    let both_missing = json!({"detail": [missing("username"), missing("password")]});
    let cases: [(Option<&str>, &str); 6] = [
        (
            Some("application/json"),
            r#"{"username":"johndoe","password":"secret"}"#,
        ),
        (None, "username=johndoe&password=secret"),
        (Some("text/plain"), "username=johndoe&password=secret"),
        (Some("multipart/form-data"), "no boundary at all"),
        (
            Some("multipart/form-data; boundary=abc"),
            "--abc\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohn",
        ),
        (Some("multipart/form-data; boundary=abc"), "garbage"),
    ];
    for (content_type, body) in cases {
        let mut request = Request::post("/token");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let reply = send(&app, request.body(Body::from(body)).unwrap()).await;
        assert_eq!(reply.status, 422, "{content_type:?}: {}", reply.text());
        assert_eq!(reply.json(), both_missing, "{content_type:?}");
    }
}

#[tokio::test]
async fn a_repeated_field_keeps_its_last_value_and_percent_encoding_is_decoded() {
    let app = app();
    let request = Request::post("/token")
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from(
            "username=alice&username=johndoe&password=%73ecret",
        ))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn oversized_login_bodies_are_413() {
    let app = app();
    let password = "x".repeat(20 * 1024);
    let reply = post_form(&app, &[("username", "johndoe"), ("password", &password)]).await;
    reply.assert(413, r#"{"detail":"Request body too large"}"#, None);
}

#[tokio::test]
async fn missing_or_foreign_authorization_is_not_authenticated() {
    let app = app();
    get(&app, "/users/me/", None)
        .await
        .assert(401, NOT_AUTHENTICATED, BEARER);
    for value in [
        "Basic am9obmRvZTpzZWNyZXQ=",
        "Token abc",
        "Bearerabc",
        "Bearer\tabc",
        "",
        tokens::PYJWT_JOHNDOE,
    ] {
        get(&app, "/users/me/", Some(value))
            .await
            .assert(401, NOT_AUTHENTICATED, BEARER);
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = app();
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let value = format!("{scheme} {}", tokens::PYJWT_JOHNDOE);
        get(&app, "/users/me/", Some(&value))
            .await
            .assert(200, JOHNDOE, None);
    }
}

#[tokio::test]
async fn every_kind_of_bad_token_could_not_be_validated() {
    let app = app();
    let [header, _, signature]: [&str; 3] = tokens::PYJWT_JOHNDOE
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let alice_payload = tokens::PYJWT_ALICE.split('.').nth(1).unwrap();
    let tampered = format!("{header}.{alice_payload}.{signature}");
    let bad = [
        ("malformed", "abc"),
        ("two segments", "abc.def"),
        ("not base64", "###.###.###"),
        ("no sub", tokens::NO_SUB),
        ("unknown user", tokens::UNKNOWN_USER),
        ("no exp", tokens::NO_EXP),
        ("expired", tokens::EXPIRED),
        ("not yet valid", tokens::NOT_YET_VALID),
        ("HS384", tokens::HS384),
        ("HS512", tokens::HS512),
        ("other key", tokens::OTHER_KEY),
        ("alg none", tokens::ALG_NONE),
        ("tampered payload", tampered.as_str()),
    ];
    for (case, token) in bad {
        let reply = get_with_token(&app, "/users/me/", token).await;
        assert_eq!(reply.status, 401, "{case}");
        reply.assert(401, INVALID, BEARER);
    }
    // A Bearer scheme with nothing after it is an (empty) token that fails, as in FastAPI.
    for value in ["Bearer", "bearer", "Bearer \u{e9}t\u{e9}"] {
        get(&app, "/users/me/", Some(value))
            .await
            .assert(401, INVALID, BEARER);
    }
    let huge = "a".repeat(9 * 1024);
    get_with_token(&app, "/users/me/", &huge)
        .await
        .assert(401, INVALID, BEARER);
}

#[tokio::test]
async fn a_pyjwt_token_from_the_fastapi_tutorial_is_accepted_on_every_route() {
    let app = app();
    for path in ["/users/me/", "/users/me"] {
        get_with_token(&app, path, tokens::PYJWT_JOHNDOE)
            .await
            .assert(200, JOHNDOE, None);
    }
    for path in ["/users/me/items/", "/users/me/items"] {
        get_with_token(&app, path, tokens::PYJWT_JOHNDOE)
            .await
            .assert(200, JOHNDOE_ITEMS, None);
    }
}

#[tokio::test]
async fn a_disabled_user_logs_in_but_is_an_inactive_user() {
    let app = app();
    let token = login(&app, "alice", "secretalice").await;
    for path in [
        "/users/me/",
        "/users/me",
        "/users/me/items/",
        "/users/me/items",
    ] {
        get_with_token(&app, path, &token)
            .await
            .assert(400, INACTIVE, None);
    }
    get_with_token(&app, "/users/me/", tokens::PYJWT_ALICE)
        .await
        .assert(400, INACTIVE, None);
}

#[tokio::test]
async fn health_unknown_paths_and_wrong_methods_answer_in_json() {
    let app = app();
    get(&app, "/health", None)
        .await
        .assert(200, r#"{"status":"ok"}"#, None);
    get(&app, "/nope", None)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    get(&app, "/users", None)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    let reply = get(&app, "/token", None).await;
    reply.assert(405, r#"{"detail":"Method Not Allowed"}"#, None);
    assert_eq!(reply.header("allow"), Some("POST"));
    let request = Request::delete("/users/me/").body(Body::empty()).unwrap();
    let reply = send(&app, request).await;
    reply.assert(405, r#"{"detail":"Method Not Allowed"}"#, None);
    assert_eq!(reply.header("allow"), Some("GET,HEAD"));
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let app = app();
    for path in ["/health", "/nope", "/users/me/", "/docs", "/openapi.json"] {
        let reply = get(&app, path, None).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}
