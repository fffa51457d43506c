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

use crate::auth::oauth::metadata::ServerMetadata as Metadata;
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
    let keys = &state.auth.tokens.jwks().keys;
    (CACHE, Json(JwkSet { keys })).into_response()
}

// The RFC 8414 §2 document as served: the domain's `Metadata` in its wire shape. The doc
// comment below is the schema's description in the OpenAPI document.
/// The RFC 8414 metadata, as the OpenAPI document describes it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ServerMetadata<'a> {
    /// Exactly `TOKEN_ISSUER`, and exactly the tokens' `iss`.
    #[schema(example = "https://auth.example.com")]
    issuer: &'a str,
    /// Once a client is registered: the login page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    authorization_endpoint: Option<&'a str>,
    token_endpoint: &'a str,
    jwks_uri: &'a str,
    revocation_endpoint: &'a str,
    /// When introspection is on (`INTROSPECTION_CLIENTS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    introspection_endpoint: Option<&'a str>,
    grant_types_supported: &'a [&'static str],
    scopes_supported: &'a [String],
    response_types_supported: &'a [&'static str],
    token_endpoint_auth_methods_supported: &'a [&'static str],
    revocation_endpoint_auth_methods_supported: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    introspection_endpoint_auth_methods_supported: Option<&'a [&'static str]>,
    /// Once a client is registered: `["S256"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    code_challenge_methods_supported: Option<&'a [&'static str]>,
    /// Once a client is registered: `true` (RFC 9207).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = bool)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl<'a> From<&'a Metadata> for ServerMetadata<'a> {
    fn from(metadata: &'a Metadata) -> Self {
        Self {
            issuer: &metadata.issuer,
            authorization_endpoint: metadata.authorization_endpoint.as_deref(),
            token_endpoint: &metadata.token_endpoint,
            jwks_uri: &metadata.jwks_uri,
            revocation_endpoint: &metadata.revocation_endpoint,
            introspection_endpoint: metadata.introspection_endpoint.as_deref(),
            grant_types_supported: &metadata.grant_types_supported,
            scopes_supported: &metadata.scopes_supported,
            response_types_supported: &metadata.response_types_supported,
            token_endpoint_auth_methods_supported: &metadata.token_endpoint_auth_methods_supported,
            revocation_endpoint_auth_methods_supported: &metadata
                .revocation_endpoint_auth_methods_supported,
            introspection_endpoint_auth_methods_supported: metadata
                .introspection_endpoint_auth_methods_supported
                .as_ref()
                .map(|methods| methods.as_slice()),
            code_challenge_methods_supported: metadata
                .code_challenge_methods_supported
                .as_ref()
                .map(|methods| methods.as_slice()),
            authorization_response_iss_parameter_supported: metadata
                .authorization_response_iss_parameter_supported,
        }
    }
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
    Extension(metadata): Extension<Arc<Metadata>>,
) -> Result<Response, ApiError> {
    if state.auth.clients.any().await? {
        let metadata = metadata.with_code_flow();
        return Ok(Json(ServerMetadata::from(&metadata)).into_response());
    }
    Ok(Json(ServerMetadata::from(&*metadata)).into_response())
}
