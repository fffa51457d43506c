//! What other services need to trust passflow's tokens without its secret: the public keys
//! (`/.well-known/jwks.json`, RFC 7517 §5) and the server's metadata
//! (`/.well-known/oauth-authorization-server`, RFC 8414 §3).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::state::AppState;

/// How long a cache may keep the key set: short, so that a rotation (a new key first
/// published beside the old) reaches every verifier within minutes.
const JWKS_MAX_AGE: HeaderValue = HeaderValue::from_static("public, max-age=300");

/// `{"keys": [...]}`, as the OpenAPI document describes it.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // only its schema is used
pub(crate) struct JwkSet {
    /// Public JWKs: `kty`, the curve (`crv`, `x`, `y`) or modulus (`n`, `e`) members, `kid`,
    /// `alg` and `use: "sig"`.
    keys: Vec<Value>,
}

/// The public keys that verify this server's tokens: the signing key's, then the previous
/// keys', each under the `kid` its tokens carry. Empty with HS256, whose key is a secret.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses(
        (status = 200, description = "The JWK set", body = JwkSet,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    ),
)]
pub(crate) async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    const CACHE: [(HeaderName, HeaderValue); 1] = [(header::CACHE_CONTROL, JWKS_MAX_AGE)];
    (CACHE, Json(state.auth.tokens.jwks().clone()))
}

/// The RFC 8414 metadata, as the OpenAPI document describes it.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // only its schema is used
pub(crate) struct ServerMetadata {
    /// Exactly `TOKEN_ISSUER`, and exactly the tokens' `iss`.
    #[schema(example = "https://auth.example.com")]
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    /// When introspection is on (`INTROSPECTION_CLIENTS`).
    #[schema(required = false)]
    introspection_endpoint: String,
    grant_types_supported: Vec<String>,
    scopes_supported: Vec<String>,
    response_types_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    introspection_endpoint_auth_methods_supported: Vec<String>,
}

/// The authorization server's metadata: issuer, endpoints, grants, scopes. Served (and
/// documented) only when `TOKEN_ISSUER` is an `http(s)` URL without query or fragment.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "keys",
    responses(
        (status = 200, description = "The metadata document", body = ServerMetadata),
    ),
)]
pub(crate) async fn authorization_server_metadata(
    Extension(metadata): Extension<Arc<crate::auth::oauth::metadata::ServerMetadata>>,
) -> impl IntoResponse {
    Json(metadata)
}
