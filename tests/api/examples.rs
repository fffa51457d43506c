//! Every error example the OpenAPI document shows is the body its route really sends: the
//! test walks the document, provokes each documented answer, and compares.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use passflow::auth::credentials::hash_pool::HashPool;
use passflow::auth::credentials::totp::SecondFactor;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::oauth::metadata::ServerMetadata;
use passflow::auth::sessions::SessionSettings;
use passflow::auth::tokens::{SessionBound, TokenKeys};
use passflow::clock::Clock;
use passflow::http::openapi::document;
use passflow::model::username::Username;
use passflow::state::AdmissionSettings;
use passflow::store::sql::Database;
use passflow::store::{InMemoryTotpStore, InMemoryUserStore, StoreError, UserRecord, UserStore};
use passflow::{AppState, router};
use serde_json::Value;

use crate::helpers::*;
use crate::totp::{NOW, access, code_at, confirm, demo_state, enrol, log_in, remove, turn_on};

/// A user store whose backing storage is out of reach.
pub(crate) struct Unreachable;

#[async_trait]
impl UserStore for Unreachable {
    async fn get_user(&self, _: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }

    async fn find_login(&self, _: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }

    async fn update_password_hash(
        &self,
        _: &Username,
        _: &str,
        _: String,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

/// The demo users, but a password change always finds the hash changed meanwhile.
struct ChangedMeanwhile(InMemoryUserStore);

#[async_trait]
impl UserStore for ChangedMeanwhile {
    async fn get_user(&self, name: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.0.get_user(name).await
    }

    async fn find_login(&self, name: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.0.find_login(name).await
    }

    async fn update_password_hash(
        &self,
        _: &Username,
        _: &str,
        _: String,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
}

async fn change_password_on(app: &Router, current: &str, new: &str) -> Reply {
    let body = serde_json::json!({"current_password": current, "new_password": new});
    let request = Request::post("/users/me/password")
        .header(header::AUTHORIZATION, bearer(tokens::PYJWT_JOHNDOE))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn call(app: &Router, method: &Method, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method.clone()).uri(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// Makes the route at `method path` give the answer documented as `status` / `name`.
async fn provoke(method: &Method, path: &str, status: &str, name: &str) -> Reply {
    // The code flow's routes are served with an issuer URL only.
    let code_flow = path.starts_with("/users/me/consents");
    let app = if code_flow {
        router(every_route_state())
    } else {
        app()
    };
    let concrete = path
        .replace("{id}", "no-such-session")
        .replace("{client_id}", "no-such-client");
    match (status, name) {
        ("401", "Not authenticated") => call(&app, method, &concrete, None).await,
        ("401", "Could not validate credentials") => {
            call(&app, method, &concrete, Some("Bearer not-a-jwt")).await
        }
        ("401", "Not enough permissions") => {
            call(&app, method, &concrete, Some(&bearer(tokens::SCOPE_EMPTY))).await
        }
        ("400", "Inactive user") => {
            call(&app, method, &concrete, Some(&bearer(tokens::PYJWT_ALICE))).await
        }
        ("503", _) if !["/token", "/ready", "/introspect"].contains(&path) => {
            let mut state = state_with(settings(), InMemoryUserStore::default())
                .with_users(Arc::new(Unreachable));
            if code_flow {
                state = state.with_metadata(ServerMetadata::new("https://auth.example.com", true));
            }
            let app = router(state);
            call(
                &app,
                method,
                &concrete,
                Some(&bearer(tokens::PYJWT_JOHNDOE)),
            )
            .await
        }
        ("404", _) if !path.starts_with("/users/me/totp") => {
            call(
                &app,
                method,
                &concrete,
                Some(&bearer(tokens::PYJWT_JOHNDOE)),
            )
            .await
        }
        _ => provoke_route(app, path, status, name).await,
    }
}

const CLIENT_SECRET: &str = INTROSPECTION_SECRET;

/// An access token of a session a registered client (`web`) holds, as a code exchange mints
/// it: `/revoke` asks that client to authenticate.
fn client_token() -> String {
    let session = SessionBound {
        id: "session-of-web",
        ends_at: u64::MAX,
        client_id: Some("web"),
    };
    let minted = TokenKeys::new(settings()).create_access_token_at(
        "johndoe",
        &passflow::model::scopes::ScopeSet::tutorial(),
        Some(session),
        passflow::model::time::now(),
    );
    minted.unwrap().token
}

fn introspection_state() -> AppState {
    every_route_state()
}

fn client_basic(secret: &str) -> String {
    use base64::Engine;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("api:{secret}"));
    format!("Basic {pair}")
}

async fn provoke_route(app: Router, path: &str, status: &str, name: &str) -> Reply {
    match (path, status, name) {
        ("/users/me/password", "400", "Incorrect password") => {
            change_password_on(&app, "wrong-password", "zebra fjord quill").await
        }
        ("/users/me/password", "400", "Too short") => {
            change_password_on(&app, "secret", "short").await
        }
        ("/users/me/activity", "422", _) => {
            let request = Request::get("/users/me/activity?limit=0")
                .header(header::AUTHORIZATION, bearer(tokens::PYJWT_JOHNDOE))
                .body(Body::empty())
                .unwrap();
            send(&app, request).await
        }
        ("/users/me/password", "422", _) => {
            let request = Request::post("/users/me/password")
                .header(header::AUTHORIZATION, bearer(tokens::PYJWT_JOHNDOE))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("[]"))
                .unwrap();
            send(&app, request).await
        }
        ("/users/me/password", "409", _) => {
            let store = Arc::new(ChangedMeanwhile(InMemoryUserStore::demo()));
            let app =
                router(state_with(settings(), InMemoryUserStore::default()).with_users(store));
            change_password_on(&app, "secret", "zebra fjord quill").await
        }
        ("/users/me/password", "429", _) => {
            let app = router(
                state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
                    per_user: 1,
                    ..ThrottleSettings::default()
                }),
            );
            assert_eq!(
                change_password_on(&app, "wrong", "zebra fjord quill")
                    .await
                    .status,
                400
            );
            change_password_on(&app, "secret", "zebra fjord quill").await
        }
        ("/users/me/totp" | "/users/me/totp/confirm", "404", _) => {
            let keyless = SecondFactor::new(Arc::new(InMemoryTotpStore::default()), None, "x");
            let app = router(demo_state(&Clock::system()).with_totp(keyless));
            let token = access(&log_in(&app, "secret", None).await);
            if path.ends_with("confirm") {
                confirm(&app, &token, "123456").await
            } else {
                enrol(&app, &token).await
            }
        }
        ("/users/me/totp", "409", _) => {
            let clock = Clock::manual(NOW);
            let app = router(demo_state(&clock));
            let (_, _, pair) = turn_on(&app, NOW).await;
            enrol(&app, pair["access_token"].as_str().unwrap()).await
        }
        ("/users/me/totp/confirm", "409", "TOTP is already enabled") => {
            let clock = Clock::manual(NOW);
            let app = router(demo_state(&clock));
            let (secret, _, pair) = turn_on(&app, NOW).await;
            let token = pair["access_token"].as_str().unwrap();
            confirm(&app, token, &code_at(&secret, NOW + 30)).await
        }
        ("/users/me/totp/confirm", "409", "No TOTP enrolment is pending") => {
            let token = access(&log_in(&app, "secret", None).await);
            confirm(&app, &token, "123456").await
        }
        ("/users/me/totp/confirm", "400", _) => {
            let token = access(&log_in(&app, "secret", None).await);
            assert_eq!(enrol(&app, &token).await.status, 200);
            confirm(&app, &token, "not-a-code").await
        }
        ("/users/me/totp/confirm" | "/users/me/totp", "422", _) => {
            let token = access(&log_in(&app, "secret", None).await);
            let method = if path.ends_with("confirm") {
                Method::POST
            } else {
                Method::DELETE
            };
            let body = Some(serde_json::json!([]));
            crate::totp::call(&app, method, path, &token, body).await
        }
        ("/users/me/totp", "400", "Incorrect password") => {
            let token = access(&log_in(&app, "secret", None).await);
            remove(&app, &token, "wrong-password").await
        }
        ("/users/me/totp", "429", _) => {
            let app = router(
                state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
                    per_user: 1,
                    ..ThrottleSettings::default()
                }),
            );
            let token = access(&log_in(&app, "secret", None).await);
            assert_eq!(remove(&app, &token, "wrong-password").await.status, 400);
            remove(&app, &token, "secret").await
        }
        ("/token", "401", "TOTP code required" | "Incorrect TOTP code") => {
            let clock = Clock::manual(NOW);
            let app = router(demo_state(&clock));
            turn_on(&app, NOW).await;
            let code = (name == "Incorrect TOTP code").then_some("not-a-code");
            log_in(&app, "secret", code).await
        }
        ("/introspect", "400", _) => {
            post_form_authorized(
                &router(introspection_state()),
                "/introspect",
                Some(&client_basic(CLIENT_SECRET)),
                &[],
            )
            .await
        }
        ("/introspect", "401", _) => {
            let app = router(introspection_state());
            post_form_authorized(&app, "/introspect", None, &[("token", "x")]).await
        }
        ("/introspect", "429", _) => {
            let app = router(introspection_state().with_throttle(ThrottleSettings {
                per_ip: 1,
                ..ThrottleSettings::default()
            }));
            assert_eq!(
                post_form_authorized(&app, "/introspect", None, &[("token", "x")])
                    .await
                    .status,
                401
            );
            post_form_authorized(&app, "/introspect", None, &[("token", "x")]).await
        }
        ("/introspect", "503", _) => {
            let app = router(introspection_state().with_users(Arc::new(Unreachable)));
            post_form_authorized(
                &app,
                "/introspect",
                Some(&client_basic(CLIENT_SECRET)),
                &[("token", tokens::PYJWT_JOHNDOE)],
            )
            .await
        }
        ("/ready", "503", _) => {
            // A shared store whose log of ended sessions was never read.
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", dir.path().join("ready.db").display());
            let database = Arc::new(Database::open(&url).await.unwrap());
            let state = state_with(settings(), InMemoryUserStore::demo())
                .with_sessions(database, SessionSettings::default());
            get(&router(state), "/ready", None).await
        }
        ("/revoke", "400", _) => post_form_to(&app, "/revoke", &[]).await,
        ("/revoke", "401", _) => post_form_to(&app, "/revoke", &[("token", &client_token())]).await,
        ("/revoke", "429", _) => {
            let app = router(default_state().with_throttle(ThrottleSettings {
                per_ip: 1,
                ..ThrottleSettings::default()
            }));
            let token = client_token();
            let wrong = client_basic("wrong");
            let fields = [("token", token.as_str())];
            let first = post_form_authorized(&app, "/revoke", Some(&wrong), &fields).await;
            assert_eq!(first.status, 401);
            post_form_authorized(&app, "/revoke", Some(&wrong), &fields).await
        }
        ("/token", "400", "Unknown scope") => {
            post_form(
                &app,
                &[
                    ("username", "johndoe"),
                    ("password", "secret"),
                    ("scope", "admin"),
                ],
            )
            .await
        }
        ("/token", "400", "invalid_grant") => refresh_grant(&app, "garbage", Some("")).await,
        ("/token", "400", "Refresh token reused") => {
            let first = password_grant(&app, "johndoe", "secret", "").await;
            let spent = first["refresh_token"].as_str().unwrap();
            assert_eq!(refresh_grant(&app, spent, Some("")).await.status, 200);
            refresh_grant(&app, spent, Some("")).await
        }
        ("/token", "400", "invalid_scope") => {
            let pair = password_grant(&app, "johndoe", "secret", "me").await;
            refresh_grant(&app, pair["refresh_token"].as_str().unwrap(), Some("items")).await
        }
        ("/token", "400", "invalid_request") => {
            post_form(&app, &[("grant_type", "refresh_token")]).await
        }
        ("/token", "401", _) => {
            post_form(&app, &[("username", "johndoe"), ("password", "wrong")]).await
        }
        ("/token", "413", _) => {
            let big = "x".repeat(64 * 1024);
            post_form(&app, &[("username", "johndoe"), ("password", &big)]).await
        }
        ("/token", "422", _) => post_form(&app, &[]).await,
        ("/token", "429", "Too many failed logins") => {
            let app = router(
                state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
                    per_user: 1,
                    ..ThrottleSettings::default()
                }),
            );
            let wrong = [("username", "johndoe"), ("password", "wrong")];
            assert_eq!(post_form(&app, &wrong).await.status, 401);
            post_form(&app, &wrong).await
        }
        ("/token", "429", "Too many logins in progress") => {
            let state = state_with(settings(), InMemoryUserStore::demo()).with_admission(
                AdmissionSettings {
                    per_address: 1,
                    refusal_hold: Duration::ZERO,
                },
            );
            let address = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
            let _place = state.login_admission.acquire(address).unwrap();
            post_form(
                &router(state),
                &[("username", "johndoe"), ("password", "secret")],
            )
            .await
        }
        ("/token", "503", "Hashing saturated") => {
            // One hashing thread and no queue: of several logins at once, some find it busy.
            let state = AppState::new(
                InMemoryUserStore::demo(),
                TokenKeys::new(settings()),
                HashPool::new(1, 0).unwrap(),
            );
            let app = router(state);
            let logins: Vec<_> = (0..6)
                .map(|_| {
                    let app = app.clone();
                    tokio::spawn(async move {
                        post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await
                    })
                })
                .collect();
            let mut busy = None;
            for login in logins {
                let reply = login.await.unwrap();
                if reply.status == 503 {
                    busy = Some(reply);
                }
            }
            busy.expect("one of six logins at once finds the only hashing thread busy")
        }
        ("/token", "503", "Store out of reach") => {
            let app = router(
                state_with(settings(), InMemoryUserStore::default())
                    .with_users(Arc::new(Unreachable)),
            );
            post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await
        }
        _ => panic!("no way to provoke {path} {status} {name:?}: add one to this test"),
    }
}

/// `(name, body)` of each example a documented answer shows; its detail names it.
fn examples_of(response: &Value) -> Vec<(String, Value)> {
    let content = &response["content"]["application/json"];
    if let Some(example) = content.get("example") {
        let name = example["detail"].as_str().unwrap_or_default().to_owned();
        return vec![(name, example.clone())];
    }
    content["examples"]
        .as_object()
        .map(|examples| {
            examples
                .iter()
                .map(|(name, example)| (name.clone(), example["value"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_documented_error_example_is_what_the_route_answers() {
    // The document with every route live, so every route's examples are checked.
    let doc = serde_json::to_value(document(&every_route_state())).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') || response.get("content").is_none() {
                    continue;
                }
                let examples = examples_of(response);
                assert!(
                    !examples.is_empty(),
                    "{method} {path} {status}: no example body"
                );
                for (name, example) in examples {
                    let reply = provoke(&method, path, status, &name).await;
                    assert_eq!(
                        reply.status.as_str(),
                        status,
                        "{method} {path} {name:?}: {}",
                        reply.text()
                    );
                    assert_eq!(reply.json(), example, "{method} {path} {status} {name:?}");
                    checked += 1;
                }
            }
        }
    }
    // Every route's own answers, and each protected route's 401s, 400 and 503.
    assert!(checked >= 40, "only {checked} examples checked");
}

#[test]
fn no_error_shows_another_errors_example() {
    let doc = serde_json::to_value(document(&every_route_state())).unwrap();
    let schema = &doc["components"]["schemas"]["ErrorDetail"];
    assert_eq!(
        schema["properties"]["detail"].get("example"),
        None,
        "{schema}"
    );
}
