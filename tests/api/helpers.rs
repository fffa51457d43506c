//! Shared test helpers: an in-process app, one-shot requests against it, and one helper per
//! endpoint call the scenarios make (a password grant, a refresh), so that test modules hold
//! scenarios, not their own ways of calling `/token`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use passflow::auth::credentials::hash_pool::HashPool;
use passflow::auth::oauth::introspection::IntrospectionClients;
use passflow::auth::oauth::metadata::ServerMetadata;
use passflow::auth::tokens::{SecretKey, TokenKeys, TokenSettings};
use passflow::state::AdmissionSettings;
use passflow::store::InMemoryUserStore;
use passflow::{AppState, router};
use serde_json::Value;
use tower::ServiceExt;

pub use crate::fixtures::{TUTORIAL_KEY, jwt_claims, jwt_header, python_with};

/// An operator (`--reason test`) acting on `database`, the clock stopped at `now`.
pub fn operator_at(
    database: &passflow::store::sql::Database,
    now: u64,
) -> passflow::auth::accounts::admin::Operator<'_> {
    passflow::auth::accounts::admin::Operator::new(
        database,
        passflow::model::event::RequestContext::operator(Some("test".into())),
        passflow::clock::Clock::manual(now),
    )
}

/// Tokens made with PyJWT 2 (`jwt.encode(claims, TUTORIAL_KEY, algorithm=...)`), `exp` in 2100.
pub mod tokens {
    /// `{"sub": "johndoe", "exp": 4102444800}`, exactly what the tutorial's app mints.
    pub const PYJWT_JOHNDOE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.4sh0Q1TUl-n_pM9DffzrC-WTE2hGuun7_RrAC6Ce1Rg";
    pub const PYJWT_ALICE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.D0rhIygAt_hx6pbbmqGaoQTJD2Q4HdRFbE8sTfC7cBo";
    pub const NO_SUB: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDB9.W0ogU7liR_T9lsU4oO45nBbW2upbDtlL92J9zMv25rw";
    pub const UNKNOWN_USER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJub2JvZHkiLCJleHAiOjQxMDI0NDQ4MDB9.ckt8hSq3xMK8JetQ_evhiz0uFxsSQG7tX4C9Zt_nQxc";
    pub const NO_EXP: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIn0.adqb-sj6G4xl7w7t9A4oRUBf1jNmcrc-0IcHjGhbz3o";
    /// `exp` in November 2023.
    pub const EXPIRED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjoxNzAwMDAwMDAwfQ.y2yOMnkPElewBlpTlGEmrYVcz5v9a50llMYvW3Ufrhk";
    pub const HS384: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.0n-hDQR5bTSLJdiKL6XTSHAHDD0D-62BJeofDJEl5JXJNo3YMkDlPJrPbXVdMxDh";
    pub const HS512: &str = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.h0hUwsB0sUvUz9dl1lghQVm_nfIogwIomvE-t5uaY2bC56rI97nzkicGAU0-P4gtSDQPClLxEzr48qmCA4zzaA";
    /// Signed with another key.
    pub const OTHER_KEY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.NBgr_MTvY0YxCDgukWmA5mzUPlGMcKQDyfPRooEUSEg";
    /// `alg: none`, no signature.
    pub const ALG_NONE: &str =
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.";
    /// `nbf` ten seconds before `exp`, in 2100.
    pub const NOT_YET_VALID: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwLCJuYmYiOjQxMDI0NDQ3OTB9.hvug_tQ10yBBndYEHteNd4Uo5y7BeMWs6UJAJ0q_tnk";
    pub const SCOPE_ME: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwLCJzY29wZSI6Im1lIn0.3rf_ueSUbjRqb6uvo4JA78vtr1Jd6eZhCvNDVGBy6ao";
    pub const SCOPE_EMPTY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIiwiZXhwIjo0MTAyNDQ0ODAwLCJzY29wZSI6IiJ9.zEuX_KN3JFuX-sHLNpyQzu9dLVbtcofOQwjca1IG8LU";
    pub const ALICE_SCOPE_ME: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMCwic2NvcGUiOiJtZSJ9.Kx4xpD0QeRuNZHLmPUoWQbgUy8gHtXuUWd6VMyKMvJk";
}

pub fn settings() -> TokenSettings {
    TokenSettings::new(
        SecretKey::new(TUTORIAL_KEY).unwrap(),
        Duration::from_secs(30 * 60),
    )
}

pub fn state_with(settings: TokenSettings, users: InMemoryUserStore) -> AppState {
    // In-process requests all share one address, and most tests are not about floods:
    // no per-address cap, no held refusals. `tests/api/floods.rs` sets its own.
    AppState::new(
        users,
        TokenKeys::new(settings),
        HashPool::new(2, 32).unwrap(),
    )
    .with_admission(AdmissionSettings {
        per_address: usize::MAX,
        refusal_hold: Duration::ZERO,
    })
}

/// The service as `cargo run` builds it, but signing with the tutorial's key.
pub fn app() -> Router {
    router(default_state())
}

/// The state behind [`app`]: the default settings, every optional route off.
pub fn default_state() -> AppState {
    state_with(settings(), InMemoryUserStore::demo())
}

/// An introspection client's secret in [`every_route_state`].
pub const INTROSPECTION_SECRET: &str = "resource-server-secret-0123456789abcdef";

/// Every optional route live: `/introspect` for the client `api` ([`INTROSPECTION_SECRET`])
/// and the RFC 8414 metadata of an issuer URL. Tokens are made and checked without `iss`
/// (unlike with `TOKEN_ISSUER`), so that the tutorial's PyJWT tokens work here too.
pub fn every_route_state() -> AppState {
    let clients = IntrospectionClients::parse(&format!("api:{INTROSPECTION_SECRET}")).unwrap();
    default_state()
        .with_introspection(clients)
        .with_metadata(ServerMetadata::new("https://auth.example.com", true))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts status, the exact body bytes and the `WWW-Authenticate` header (or its absence).
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str, www_authenticate: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(self.text(), body);
        assert_eq!(self.header("www-authenticate"), www_authenticate);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn get(app: &Router, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// `GET path` with raw `Authorization` bytes, for values a `&str` cannot hold.
pub async fn get_with_authorization(app: &Router, path: &str, value: HeaderValue) -> Reply {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, value)
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

pub async fn get_with_token(app: &Router, path: &str, token: &str) -> Reply {
    get(app, path, Some(&format!("Bearer {token}"))).await
}

/// `POST /token` with an urlencoded body built from `fields`.
pub async fn post_form(app: &Router, fields: &[(&str, &str)]) -> Reply {
    post_form_to(app, "/token", fields).await
}

/// `POST path` with an urlencoded body built from `fields` and, when given, `Authorization`.
pub async fn post_form_authorized(
    app: &Router,
    path: &str,
    authorization: Option<&str>,
    fields: &[(&str, &str)],
) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(app, request.body(Body::from(body)).unwrap()).await
}

/// `POST path` with an urlencoded body built from `fields`.
pub async fn post_form_to(app: &Router, path: &str, fields: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

/// `POST /token` with a multipart body (as `curl -F` sends it) built from `fields`.
pub async fn post_multipart(app: &Router, fields: &[(&str, &str)]) -> Reply {
    let boundary = "X-PASSFLOW-BOUNDARY";
    let mut body = String::new();
    for (name, value) in fields {
        body += &format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    body += &format!("--{boundary}--\r\n");
    let request = Request::post("/token")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

/// `POST /token`, password grant (`scope` sent when not empty), asserting a 200: the token
/// response, with `access_token` and `refresh_token`.
pub async fn password_grant(app: &Router, username: &str, password: &str, scope: &str) -> Value {
    let mut fields = vec![("username", username), ("password", password)];
    if !scope.is_empty() {
        fields.push(("scope", scope));
    }
    let reply = post_form(app, &fields).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// `POST /token`, refresh grant, with `scope` when given.
pub async fn refresh_grant(app: &Router, refresh_token: &str, scope: Option<&str>) -> Reply {
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    post_form(app, &fields).await
}

/// [`refresh_grant`] without `scope`, asserting a 200: the new token response.
pub async fn refreshed(app: &Router, refresh_token: &str) -> Value {
    let reply = refresh_grant(app, refresh_token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// A JSON object's keys, in the order the body carries them.
pub fn keys_of(body: &Value) -> Vec<String> {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    object.keys().cloned().collect()
}

/// A string field of a JSON body, named in the panic when it is missing.
pub fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {body}"))
}

pub async fn login(app: &Router, username: &str, password: &str) -> String {
    let reply = post_form(app, &[("username", username), ("password", password)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}
