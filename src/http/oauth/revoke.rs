//! `POST /revoke` (RFC 7009): a client gives back a token it no longer needs.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use utoipa::ToSchema;

use crate::auth::oauth::revocation::{Revocation, revoke as revoke_token};
use crate::http::error::{ApiError, ErrorDetail, OAuthErrorBody};
use crate::http::extract::{BasicCredentials, TokenCaller, form_fields};
use crate::state::AppState;

/// The RFC 7009 revocation request; RFC 7662's introspection request has the same fields.
#[derive(ToSchema)]
pub(crate) struct RevocationRequest {
    /// An access token or a refresh token.
    #[schema(format = Password, min_length = 1)]
    pub(crate) token: String,
    /// `access_token` or `refresh_token`: a hint only; both kinds are looked for anyway.
    #[schema(nullable = false)]
    token_type_hint: Option<String>,
    /// A registered client's id, when its credentials are not sent with HTTP Basic: needed
    /// for a token of a code-flow session (a public client's id alone proves it).
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// With `client_id`: a confidential client's secret (`client_secret_post`).
    #[schema(format = Password, nullable = false)]
    client_secret: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for RevocationRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut fields = form_fields(req, state).await?;
        let mut take = |name: &str| fields.remove(name).filter(|value| !value.is_empty());
        let token = take("token").ok_or_else(|| ApiError::missing_field("token"))?;
        Ok(Self {
            token,
            token_type_hint: take("token_type_hint"),
            client_id: take("client_id"),
            client_secret: take("client_secret"),
        })
    }
}

/// Revoke a token (RFC 7009): either token of a session ends the session.
///
/// A token of a code-flow session is its client's to revoke: the client authenticates as at
/// `/token` (HTTP Basic, `client_secret_post`, or a public client's `client_id`). Otherwise
/// answers 200 for any token, also unknown, malformed or expired ones, so the answer tells
/// nothing about a token (RFC 7009 §2.2).
#[utoipa::path(
    post,
    path = "/revoke",
    tag = "sessions",
    request_body(content((RevocationRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token is no longer valid, if it ever was"),
        (status = 400, description = "`invalid_request`: no `token`", body = OAuthErrorBody,
            example = json!(ApiError::missing_field("token").body())),
        (status = 401, description = "`invalid_client`: the token belongs to a registered client, and the request does not \
            authenticate as it", body = OAuthErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"passflow\"`")),
            example = json!(ApiError::InvalidClient.body())),
        (status = 429, description = "Too many failed client authentications from this address; retry after `Retry-After` seconds",
            body = ErrorDetail, headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::TooManyAttempts { retry_after_secs: 1 }.body())),
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: TokenCaller,
    basic: BasicCredentials,
    request: RevocationRequest,
) -> Result<StatusCode, ApiError> {
    // The hint is not needed: access tokens are JWTs and refresh tokens are not.
    let _ = &request.token_type_hint;
    // As at the refresh grant: credentials that contradict each other prove no client, so a
    // client's token is refused and a tutorial session's revocation ignores them, as before.
    let client = basic
        .with_form(
            request.client_id.as_deref(),
            request.client_secret.as_deref(),
        )
        .ok()
        .flatten();
    let revocation = Revocation {
        address: caller.client(),
        token: &request.token,
        client,
    };
    match revoke_token(&state.auth, revocation).await {
        Ok(()) => Ok(StatusCode::OK),
        Err(err) => {
            caller.hold().await;
            Err(err.into())
        }
    }
}
