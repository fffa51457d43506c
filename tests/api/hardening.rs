//! Defences beyond the tutorial: login throttling, saturation, timeouts, CORS, request ids.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::helpers::*;
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use passflow::auth::credentials::hash_pool::HashPool;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::tokens::TokenKeys;
use passflow::http::HttpOptions;
use passflow::model::username::Username;
use passflow::store::{InMemoryUserStore, StoreError, UserRecord, UserStore};
use passflow::{AppState, router, router_with};

const TOO_MANY: &str = r#"{"detail":"Too many failed login attempts"}"#;
const INCORRECT: &str = r#"{"detail":"Incorrect username or password"}"#;

/// The demo store, counting lookups: a throttled login must not get as far as the store
/// (and so never reaches the hash).
#[derive(Default)]
struct CountingStore {
    inner: InMemoryUserStore,
    lookups: AtomicUsize,
}

#[async_trait]
impl UserStore for CountingStore {
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.get_user(username).await
    }

    async fn find_login(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.find_login(username).await
    }

    async fn update_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: String,
    ) -> Result<bool, StoreError> {
        self.inner.update_password_hash(username, old, new).await
    }
}

fn throttled_app(per_user: u32, per_ip: u32) -> (Router, Arc<CountingStore>) {
    let store = Arc::new(CountingStore {
        inner: InMemoryUserStore::demo(),
        lookups: AtomicUsize::new(0),
    });
    let state = state_with(settings(), InMemoryUserStore::default())
        .with_users(store.clone())
        .with_throttle(ThrottleSettings {
            per_user,
            per_ip,
            window: Duration::from_secs(900),
            ..passflow::auth::guard::local::ThrottleSettings::default()
        })
        .with_trusted_proxies(["10.0.0.0/8".parse().unwrap()]);
    (router(state), store)
}

/// `POST /token` as if it came over a socket from `peer`, with optional X-Forwarded-For.
pub(crate) async fn login_from(
    app: &Router,
    peer: &str,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> Reply {
    let body = format!("username={username}&password={password}");
    let mut request =
        Request::post("/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let mut request = request.body(Body::from(body)).unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    send(app, request).await
}

#[tokio::test]
async fn failed_logins_past_the_limit_get_429_without_touching_store_or_hash() {
    let (app, store) = throttled_app(3, 100);
    for _ in 0..3 {
        login_from(&app, "203.0.113.7", None, "johndoe", "guess")
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    let lookups = store.lookups.load(Ordering::SeqCst);
    // Even the right password is refused now: the attacker cannot tell.
    let reply = login_from(&app, "203.0.113.7", None, "johndoe", "secret").await;
    reply.assert(429, TOO_MANY, None);
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((290..=301).contains(&retry_after), "{retry_after}");
    assert_eq!(store.lookups.load(Ordering::SeqCst), lookups);
}

#[tokio::test]
async fn the_owner_still_logs_in_from_their_own_address() {
    let (app, _) = throttled_app(2, 100);
    for _ in 0..3 {
        login_from(&app, "203.0.113.7", None, "johndoe", "guess").await;
    }
    let reply = login_from(&app, "198.51.100.1", None, "johndoe", "secret").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_successful_login_clears_the_count_for_that_address_and_user() {
    let (app, _) = throttled_app(2, 100);
    login_from(&app, "198.51.100.1", None, "johndoe", "typo").await;
    let ok = login_from(&app, "198.51.100.1", None, "johndoe", "secret").await;
    assert_eq!(ok.status, 200);
    for _ in 0..2 {
        login_from(&app, "198.51.100.1", None, "johndoe", "typo")
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    login_from(&app, "198.51.100.1", None, "johndoe", "typo")
        .await
        .assert(429, TOO_MANY, None);
}

#[tokio::test]
async fn one_address_spraying_many_users_is_throttled() {
    let (app, _) = throttled_app(10, 3);
    for user in ["a", "b", "c"] {
        login_from(&app, "203.0.113.7", None, user, "x").await;
    }
    login_from(&app, "203.0.113.7", None, "d", "x")
        .await
        .assert(429, TOO_MANY, None);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let (app, _) = throttled_app(1, 100);
    // Behind the trusted proxy 10.0.0.1, each client is counted on its own.
    login_from(&app, "10.0.0.1", Some("203.0.113.7"), "johndoe", "guess").await;
    login_from(&app, "10.0.0.1", Some("203.0.113.7"), "johndoe", "guess")
        .await
        .assert(429, TOO_MANY, None);
    let owner = login_from(&app, "10.0.0.1", Some("198.51.100.1"), "johndoe", "secret").await;
    assert_eq!(owner.status, 200);
    // An untrusted peer cannot dodge the count by writing the header itself.
    login_from(&app, "203.0.113.50", Some("1.1.1.1"), "johndoe", "guess").await;
    login_from(&app, "203.0.113.50", Some("2.2.2.2"), "johndoe", "guess")
        .await
        .assert(429, TOO_MANY, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hash_queue_answers_503_with_retry_after() {
    let state = AppState::new(
        InMemoryUserStore::demo(),
        TokenKeys::new(settings()),
        HashPool::new(1, 0).unwrap(),
    );
    let app = router(state);
    let logins: Vec<_> = (0..6)
        .map(|i| {
            let app = app.clone();
            // Different addresses, so the throttle stays out of it.
            tokio::spawn(async move {
                login_from(&app, &format!("198.51.100.{i}"), None, "johndoe", "secret").await
            })
        })
        .collect();
    let mut busy = 0;
    let mut ok = 0;
    for login in logins {
        let reply = login.await.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            503 => {
                reply.assert(503, r#"{"detail":"Server busy, try again shortly"}"#, None);
                assert_eq!(reply.header("retry-after"), Some("1"));
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_408() {
    let options = HttpOptions {
        request_timeout: Duration::from_millis(5),
        ..HttpOptions::default()
    };
    let app = router_with(state_with(settings(), InMemoryUserStore::demo()), &options);
    post_form(&app, &[("username", "johndoe"), ("password", "secret")])
        .await
        .assert(408, r#"{"detail":"Request timed out"}"#, None);
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_only_listed_origins() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/token")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&app(), preflight("https://app.example")).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);

    let options = HttpOptions {
        cors_origins: vec!["https://app.example".parse().unwrap()],
        ..HttpOptions::default()
    };
    let app = router_with(state_with(settings(), InMemoryUserStore::demo()), &options);
    let reply = send(&app, preflight("https://app.example")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let methods = reply.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let reply = send(&app, preflight("https://evil.example")).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = app();
    let reply = get(&app, "/health", None).await;
    let id = reply.header("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let echoed = send(
        &app,
        Request::get("/health")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
}

#[tokio::test]
async fn many_users_behind_one_address_are_not_locked_out_by_their_own_logins() {
    let (app, _) = throttled_app(10, 2);
    for _ in 0..4 {
        let reply = login_from(&app, "192.0.2.1", None, "johndoe", "secret").await;
        assert_eq!(reply.status, 200);
    }
    for _ in 0..2 {
        login_from(&app, "192.0.2.1", None, "mallory", "x")
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    login_from(&app, "192.0.2.1", None, "johndoe", "secret")
        .await
        .assert(429, TOO_MANY, None);
}

/// A token for johndoe signed with the tutorial key, with `extra` claims merged in.
fn signed(extra: serde_json::Value) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = serde_json::json!({"sub": "johndoe", "exp": now + 600});
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TUTORIAL_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;

#[tokio::test]
async fn issuer_and_audience_are_minted_and_then_required() {
    let settings = passflow::auth::tokens::TokenSettings {
        issuer: Some("https://auth.example".into()),
        audience: Some("passflow".into()),
        ..settings()
    };
    let app = router(state_with(settings, InMemoryUserStore::demo()));
    let token = login(&app, "johndoe", "secret").await;
    let me = get_with_token(&app, "/users/me/", &token).await;
    assert_eq!(me.status, 200);

    let good = signed(serde_json::json!({"iss": "https://auth.example", "aud": "passflow"}));
    assert_eq!(get_with_token(&app, "/users/me/", &good).await.status, 200);
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"iss": "https://auth.example"}),
        serde_json::json!({"aud": "passflow"}),
        serde_json::json!({"iss": "https://evil.example", "aud": "passflow"}),
        serde_json::json!({"iss": "https://auth.example", "aud": "other"}),
    ] {
        get_with_token(&app, "/users/me/", &signed(bad.clone()))
            .await
            .assert(401, INVALID, Some("Bearer"));
    }
    // Without them configured, a token that carries an audience is refused (as PyJWT does).
    get_with_token(&crate::helpers::app(), "/users/me/", &good)
        .await
        .assert(401, INVALID, Some("Bearer"));
}

#[tokio::test]
async fn leeway_tolerates_configured_clock_skew_and_no_more() {
    let now = jsonwebtoken::get_current_timestamp();
    let expired_5s_ago = signed(serde_json::json!({"exp": now - 5}));
    let starts_in_5s = signed(serde_json::json!({"nbf": now + 5}));
    for token in [&expired_5s_ago, &starts_in_5s] {
        get_with_token(&app(), "/users/me/", token)
            .await
            .assert(401, INVALID, Some("Bearer"));
        let lenient = passflow::auth::tokens::TokenSettings {
            leeway: 30,
            ..settings()
        };
        let app = router(state_with(lenient, InMemoryUserStore::demo()));
        assert_eq!(get_with_token(&app, "/users/me/", token).await.status, 200);
    }
}
