//! A resource server to copy: another service that trusts passflow's tokens without its
//! secret, by verifying them offline against passflow's JWKS.
//!
//! ```sh
//! passflow keys generate --algorithm EdDSA > key.pem
//! TOKEN_ALGORITHM=EdDSA SIGNING_KEY_FILE=key.pem cargo run --release &
//! PASSFLOW_URL=http://127.0.0.1:8000 PORT=9000 cargo run --example resource_server
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9000/whoami
//! ```
//!
//! The key set is fetched at start and kept. A token naming a `kid` the set lacks (passflow
//! rotated its key) makes it fetch the set again, at most once per [`REFETCH_AFTER`], so a
//! flood of forged `kid`s cannot make it hammer passflow. Each key verifies only with the
//! algorithm its JWK names (RFC 8725 §3.1). A token is not checked against passflow's view of
//! sessions: a logout reaches this service only at the token's `exp`; where that is too late,
//! ask passflow's `/introspect` instead.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use passflow::model::scopes::{MeScope, RequiredScopes, ScopeSet};
use serde::Deserialize;
use serde_json::json;

/// The shortest time between two fetches of the key set.
const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// passflow's key set, as last fetched, and when an unknown `kid` last made it fetch again.
struct Keys {
    jwks_url: String,
    client: reqwest::Client,
    cached: Mutex<(JwkSet, Option<Instant>)>,
}

impl Keys {
    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        self.client
            .get(&self.jwks_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    /// The key named `kid` and the algorithm it verifies, fetching the set again if it is
    /// not there and the last fetch is old enough.
    async fn find(&self, kid: &str) -> Option<(DecodingKey, jsonwebtoken::Algorithm)> {
        let lookup = |set: &JwkSet| {
            let jwk = set.find(kid)?;
            let algorithm = jwk.common.key_algorithm?.to_string().parse().ok()?;
            Some((DecodingKey::from_jwk(jwk).ok()?, algorithm))
        };
        let stale = {
            let cached = self.cached.lock().unwrap();
            if let Some(found) = lookup(&cached.0) {
                return Some(found);
            }
            cached.1.is_none_or(|last| last.elapsed() >= REFETCH_AFTER)
        };
        if !stale {
            return None;
        }
        let fresh = self.fetch().await.ok()?;
        let found = lookup(&fresh);
        *self.cached.lock().unwrap() = (fresh, Some(Instant::now()));
        found
    }
}

/// The claims this service reads.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

/// A caller whose passflow token verified and grants the scopes `R` demands: passflow's own
/// `ActiveUser<R>` seen from outside (no user store here, so disabled users are passflow's
/// to refuse at login and refresh).
struct Caller<R> {
    claims: Claims,
    required: PhantomData<fn() -> R>,
}

/// The same answers passflow gives (RFC 6750 §3).
enum Refusal {
    NotAuthenticated,
    InvalidToken,
    NotEnoughPermissions(&'static [passflow::model::scopes::Scope]),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (detail, challenge) = match self {
            Refusal::NotAuthenticated => ("Not authenticated", "Bearer".to_owned()),
            Refusal::InvalidToken => ("Could not validate credentials", "Bearer".to_owned()),
            Refusal::NotEnoughPermissions(scopes) => (
                "Not enough permissions",
                format!("Bearer scope=\"{}\"", ScopeSet::from(scopes)),
            ),
        };
        let challenge = HeaderValue::from_str(&challenge).expect("scope names are ASCII");
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            Json(json!({ "detail": detail })),
        )
            .into_response()
    }
}

impl<R: RequiredScopes> FromRequestParts<Arc<Keys>> for Caller<R> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, keys: &Arc<Keys>) -> Result<Self, Refusal> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Refusal::NotAuthenticated)?;
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .ok_or(Refusal::InvalidToken)?;
        let (key, algorithm) = keys.find(&kid).await.ok_or(Refusal::InvalidToken)?;
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|_| Refusal::InvalidToken)?
            .claims;
        let granted = ScopeSet::from_claim(&claims.scope);
        if !R::SCOPES.iter().all(|scope| granted.contains(scope)) {
            return Err(Refusal::NotEnoughPermissions(R::SCOPES));
        }
        Ok(Self {
            claims,
            required: PhantomData,
        })
    }
}

async fn whoami(caller: Caller<MeScope>) -> Json<serde_json::Value> {
    Json(json!({ "sub": caller.claims.sub, "scope": caller.claims.scope }))
}

#[tokio::main]
async fn main() {
    let passflow = std::env::var("PASSFLOW_URL").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(9000);
    let keys = Keys {
        jwks_url: format!("{}/.well-known/jwks.json", passflow.trim_end_matches('/')),
        // Fetches are rare (start, rotations): no pooled connection to go stale meanwhile.
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client without TLS builds"),
        cached: Mutex::new((JwkSet { keys: Vec::new() }, None)),
    };
    let initial = keys.fetch().await.unwrap_or_else(|err| {
        eprintln!("cannot fetch {}: {err}", keys.jwks_url);
        std::process::exit(1);
    });
    keys.cached.lock().unwrap().0 = initial;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .with_state(Arc::new(keys));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
