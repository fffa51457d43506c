//! `POST /introspect`: token introspection (RFC 7662) for registered resource servers.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::revoke::RevocationRequest;
use super::token::NO_STORE;
use crate::auth::oauth::introspection::{Introspection, IntrospectionClients, introspect};
use crate::http::error::{ApiError, ErrorDetail, OAuthErrorBody};
use crate::http::extract::{BasicCredentials, ClientIp};
use crate::state::AppState;

/// The introspection response (RFC 7662 §2.2): `{"active": false}` alone for anything not
/// live, else the token's facts.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct IntrospectionResponse {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "johndoe")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "johndoe")]
    username: Option<String>,
    /// What the token grants now, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "me items")]
    scope: Option<String>,
    /// Access token: its `exp`. Refresh token: the session's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    /// `bearer` for access tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    aud: Option<serde_json::Value>,
}

impl From<Introspection> for IntrospectionResponse {
    fn from(found: Introspection) -> Self {
        match found {
            Introspection::Access { verified, scope } => {
                let claims = verified.claims;
                Self {
                    active: true,
                    sub: Some(claims.sub.clone()),
                    username: Some(verified.user.username().to_string()),
                    scope: Some(scope.to_string()),
                    exp: Some(claims.exp),
                    iat: claims.iat,
                    token_type: Some("bearer"),
                    sid: claims.sid.clone(),
                    iss: claims.iss.clone(),
                    aud: claims.aud.clone(),
                }
            }
            Introspection::Refresh {
                username,
                scope,
                session_id,
                deadline,
            } => Self {
                active: true,
                sub: Some(username.to_string()),
                username: Some(username.into()),
                scope: Some(scope.to_string()),
                exp: Some(deadline),
                sid: Some(session_id),
                ..Self::default()
            },
            Introspection::Inactive => Self::default(),
        }
    }
}

/// Whether a token is live now, for a registered resource server (HTTP Basic with one of
/// `INTROSPECTION_CLIENTS`). Sees a logout at once, where an offline signature check sees it
/// only at `exp`. Introspecting a refresh token spends nothing. Served (and documented)
/// only with `INTROSPECTION_CLIENTS`.
#[utoipa::path(
    post,
    path = "/introspect",
    tag = "keys",
    request_body(content((RevocationRequest = "application/x-www-form-urlencoded"))),
    security(("ResourceServer" = [])),
    responses(
        (status = 200, description = "What the token is; `{\"active\": false}` for anything not live",
            body = IntrospectionResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`invalid_request`: no `token`", body = OAuthErrorBody,
            example = json!(ApiError::missing_field("token").body())),
        (status = 401, description = "Missing or wrong client credentials; counted as a failed login of the caller's address",
            body = OAuthErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"passflow\"`")),
            example = json!(ApiError::InvalidClient.body())),
        (status = 429, description = "Too many failures from this address; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::TooManyAttempts { retry_after_secs: 1 }.body())),
        (status = 503, description = "The store is out of reach: the token's state cannot be told", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::SessionViewStale.body())),
    ),
)]
pub(crate) async fn introspect_token(
    State(state): State<AppState>,
    Extension(clients): Extension<IntrospectionClients>,
    ClientIp(client): ClientIp,
    basic: BasicCredentials,
    request: Result<RevocationRequest, ApiError>,
) -> Result<([(HeaderName, HeaderValue); 2], Json<IntrospectionResponse>), ApiError> {
    // Client authentication comes first (RFC 7662 §2.1).
    clients
        .admit(&state.auth.guard, client, basic.readings())
        .await?;
    let request = request?;
    let found = introspect(&state.auth, &request.token).await?;
    Ok((NO_STORE, Json(found.into())))
}
