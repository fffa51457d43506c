//! `POST /introspect` (RFC 7662): registered clients only, live tokens reported, everything
//! else exactly `{"active": false}`, and nothing spent by asking.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::oauth::introspection::IntrospectionClients;
use passflow::router;
use passflow::store::InMemoryUserStore;
use serde_json::json;

use crate::helpers::*;

const SECRET: &str = "resource-server-secret-0123456789abcdef";
const INACTIVE: &str = r#"{"active":false}"#;
const INVALID_CLIENT: &str = r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#;

fn app_with_clients() -> Router {
    let clients = IntrospectionClients::parse(&format!("api:{SECRET}")).unwrap();
    router(state_with(settings(), InMemoryUserStore::demo()).with_introspection(clients))
}

fn basic(id: &str, secret: &str) -> String {
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    format!("Basic {pair}")
}

async fn introspect(app: &Router, token: &str) -> Reply {
    let reply = post_form_authorized(
        app,
        "/introspect",
        Some(&basic("api", SECRET)),
        &[("token", token)],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply
}

#[tokio::test]
async fn without_clients_the_route_is_not_served() {
    post_form_authorized(
        &app(),
        "/introspect",
        Some(&basic("api", SECRET)),
        &[("token", "x")],
    )
    .await
    .assert(404, r#"{"detail":"Not Found"}"#, None);
}

#[tokio::test]
async fn only_registered_clients_may_ask_and_failures_are_throttled() {
    let app = app_with_clients();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let token = pair["access_token"].as_str().unwrap();
    for authorization in [
        None,
        Some(basic("api", "wrong-secret-wrong-secret-wrong-secret")),
        Some(basic("other", SECRET)),
        Some("Bearer whatever".to_owned()),
    ] {
        post_form_authorized(
            &app,
            "/introspect",
            authorization.as_deref(),
            &[("token", token)],
        )
        .await
        .assert(401, INVALID_CLIENT, Some("Basic realm=\"passflow\""));
    }
    post_form_authorized(&app, "/introspect", Some(&basic("api", SECRET)), &[])
        .await
        .assert(
            400,
            r#"{"error":"invalid_request","detail":"Missing token"}"#,
            None,
        );

    // Wrong secrets take cells of the address's failed-login budget.
    let clients = IntrospectionClients::parse(&format!("api:{SECRET}")).unwrap();
    let throttled = router(
        state_with(settings(), InMemoryUserStore::demo())
            .with_introspection(clients)
            .with_throttle(ThrottleSettings {
                per_ip: 2,
                ..ThrottleSettings::default()
            }),
    );
    let wrong = basic("api", "guess-guess-guess-guess-guess-guess");
    for _ in 0..2 {
        assert_eq!(
            post_form_authorized(&throttled, "/introspect", Some(&wrong), &[("token", "x")])
                .await
                .status,
            401
        );
    }
    let refused = post_form_authorized(
        &throttled,
        "/introspect",
        Some(&basic("api", SECRET)),
        &[("token", "x")],
    )
    .await;
    refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
    assert!(refused.header("retry-after").is_some());
}

#[tokio::test]
async fn a_live_access_token_is_reported_with_its_claims() {
    let app = app_with_clients();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let token = pair["access_token"].as_str().unwrap();
    let claims = jwt_claims(token);
    let reply = introspect(&app, token).await;
    assert_eq!(
        reply.json(),
        json!({
            "active": true,
            "sub": "johndoe",
            "username": "johndoe",
            "scope": "me items",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "token_type": "bearer",
            "sid": claims["sid"],
        })
    );
    // The tutorial's scope-less PyJWT token: no iat, no sid, the user's allowed scopes.
    assert_eq!(
        introspect(&app, tokens::PYJWT_JOHNDOE).await.json(),
        json!({
            "active": true, "sub": "johndoe", "username": "johndoe", "scope": "me items",
            "exp": 4102444800u64, "token_type": "bearer",
        })
    );
}

#[tokio::test]
async fn a_live_refresh_token_is_reported_and_nothing_is_spent() {
    let app = app_with_clients();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let sid = jwt_claims(pair["access_token"].as_str().unwrap())["sid"].clone();
    for _ in 0..2 {
        let body = introspect(&app, refresh_token).await.json();
        assert_eq!(body["active"], true);
        assert_eq!(body["sub"], "johndoe");
        assert_eq!(body["username"], "johndoe");
        assert_eq!(body["scope"], "me items");
        assert_eq!(body["sid"], sid);
        assert!(
            body["exp"].as_u64().unwrap()
                > jwt_claims(pair["access_token"].as_str().unwrap())["exp"]
                    .as_u64()
                    .unwrap()
        );
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["active", "sub", "username", "scope", "exp", "sid"]);
    }
    // Still redeemable: introspection rotated nothing.
    let refreshed = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    // The spent token is inactive, and asking about it does not end the session (only
    // presenting it for a refresh does).
    introspect(&app, refresh_token)
        .await
        .assert(200, INACTIVE, None);
    let next = refreshed.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(introspect(&app, &next).await.json()["active"], true);
}

#[tokio::test]
async fn anything_not_live_is_exactly_inactive() {
    let app = app_with_clients();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh_token = pair["refresh_token"].as_str().unwrap().to_owned();
    for dead in [
        "garbage",
        "a.b.c",
        tokens::EXPIRED,
        tokens::OTHER_KEY,
        tokens::ALG_NONE,
        tokens::UNKNOWN_USER,
        // alice is disabled.
        tokens::PYJWT_ALICE,
    ] {
        introspect(&app, dead).await.assert(200, INACTIVE, None);
    }
    let logout = get(&app, "/users/me/", Some(&format!("Bearer {access}"))).await;
    assert_eq!(logout.status, 200);
    let ended = send(
        &app,
        Request::post("/logout")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ended.status, 204);
    for token in [&access, &refresh_token] {
        introspect(&app, token).await.assert(200, INACTIVE, None);
    }
}

/// RFC 6749 §2.3.1: a resource server may form-urlencode its id and secret; one that sends
/// them as they are (as passflow read them before) is still let in.
#[tokio::test]
async fn a_secret_is_accepted_form_urlencoded_or_as_configured() {
    const ODD: &str = "resource+server%secret 0123456789abcdef";
    let clients = IntrospectionClients::parse(&format!("api:{ODD}")).unwrap();
    let app = router(state_with(settings(), InMemoryUserStore::demo()).with_introspection(clients));
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let token = pair["access_token"].as_str().unwrap();
    for secret in [ODD, "resource%2Bserver%25secret+0123456789abcdef"] {
        let reply = post_form_authorized(
            &app,
            "/introspect",
            Some(&basic("api", secret)),
            &[("token", token)],
        )
        .await;
        assert_eq!(reply.status, 200, "{secret}: {}", reply.text());
        assert_eq!(reply.json()["active"], true);
    }
    // `+` decodes to a space: neither reading of this one is the secret.
    post_form_authorized(
        &app,
        "/introspect",
        Some(&basic(
            "api",
            "resource%2Bserver%25secret%2B0123456789abcdef",
        )),
        &[("token", token)],
    )
    .await
    .assert(401, INVALID_CLIENT, Some("Basic realm=\"passflow\""));
}
