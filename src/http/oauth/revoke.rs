//! `POST /revoke` (RFC 7009): a client gives back a token it no longer needs.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use utoipa::ToSchema;

use crate::auth::sessions::EndReason;
use crate::http::error::{ApiError, OAuthErrorBody};
use crate::http::extract::form_fields;
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
}

impl<S: Send + Sync> FromRequest<S> for RevocationRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut fields = form_fields(req, state).await?;
        let token = fields
            .remove("token")
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::missing_field("token"))?;
        Ok(Self {
            token,
            token_type_hint: fields.remove("token_type_hint"),
        })
    }
}

/// Revoke a token (RFC 7009): either token of a session ends the session.
///
/// Answers 200 for any token, also unknown, malformed or expired ones, so the answer tells
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
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    request: RevocationRequest,
) -> Result<StatusCode, ApiError> {
    let now = state.auth.clock.now();
    // The hint is not needed: access tokens are JWTs and refresh tokens are not, so each
    // kind is recognised by trying it (RFC 7009 §2.1 allows extending the search).
    let _ = request.token_type_hint;
    match state.auth.tokens.decode_at(&request.token, now) {
        Ok(claims) => {
            if let Some(sid) = &claims.sid {
                state
                    .auth
                    .sessions
                    .end(sid, now, EndReason::Revoked)
                    .await?;
            }
        }
        Err(_) => {
            state
                .auth
                .sessions
                .revoke_refresh_token(&request.token, now)
                .await?;
        }
    }
    Ok(StatusCode::OK)
}
