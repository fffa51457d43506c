//! What other services need to trust passflow's tokens without its secret: the public keys
//! (`/.well-known/jwks.json`, RFC 7517 §5) and the server's metadata
//! (`/.well-known/oauth-authorization-server`, RFC 8414 §3).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use jsonwebtoken::jwk::Jwk;

use crate::auth::oauth::metadata::ServerMetadata;
use crate::http::error::ApiError;
use crate::state::AppState;

/// How long a cache may keep the key set: short, so that a rotation (a new key first
/// published beside the old) reaches every verifier within minutes.
const JWKS_MAX_AGE: HeaderValue = HeaderValue::from_static("public, max-age=300");

// The JWK set as served, each key as `jsonwebtoken` writes it; the doc comment below is the
// schema's description in the OpenAPI document.
/// `{"keys": [...]}`, as the OpenAPI document describes it.
#[derive(Serialize, ToSchema)]
pub(crate) struct JwkSet<'a> {
    /// Public JWKs: `kty`, the curve (`crv`, `x`, `y`) or modulus (`n`, `e`) members, `kid`,
    /// `alg` and `use: "sig"`.
    #[schema(value_type = Vec<Value>)]
    keys: &'a [Jwk],
}

/// The public keys that verify this server's tokens: the signing key's, then the previous
/// keys', each under the `kid` its tokens carry. Empty with HS256, whose key is a secret.
// With OpenID Connect on, the id_token keys follow (not in the summary: the document shows
// the deployment without sign-in).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses(
        (status = 200, description = "The JWK set", body = JwkSet,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    ),
)]
pub(crate) async fn jwks(State(state): State<AppState>) -> Response {
    const CACHE: [(HeaderName, HeaderValue); 1] = [(header::CACHE_CONTROL, JWKS_MAX_AGE)];
    let access = &state.auth.tokens.jwks().keys;
    let Some(id_tokens) = &state.auth.id_tokens else {
        return (CACHE, Json(JwkSet { keys: access })).into_response();
    };
    // Beside them, the id_token keys (OpenID Connect): their `kid`s differ from every
    // access-token key's, as start-up checked.
    let keys: Vec<Jwk> = access.iter().chain(id_tokens.jwks()).cloned().collect();
    (CACHE, Json(JwkSet { keys: &keys })).into_response()
}

/// OpenID Connect Discovery 1.0 §4: the same document with its OpenID Connect fields, once
/// OpenID Connect is on and a client is registered; until then, not found.
pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    Extension(metadata): Extension<Arc<ServerMetadata>>,
) -> Result<Response, ApiError> {
    if metadata.openid() && state.auth.clients.any().await? {
        return Ok(Json(metadata.with_code_flow()).into_response());
    }
    Err(ApiError::NotFound)
}

/// The authorization server's metadata: issuer, endpoints, grants, scopes. Served (and
/// documented) only when `TOKEN_ISSUER` is an `http(s)` URL without query or fragment; the
/// authorization-code flow's fields appear once a client is registered.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "keys",
    responses(
        (status = 200, description = "The metadata document", body = ServerMetadata),
    ),
)]
pub(crate) async fn authorization_server_metadata(
    State(state): State<AppState>,
    Extension(metadata): Extension<Arc<ServerMetadata>>,
) -> Result<Response, ApiError> {
    if state.auth.clients.any().await? {
        return Ok(Json(metadata.with_code_flow()).into_response());
    }
    Ok(Json(&*metadata).into_response())
}
