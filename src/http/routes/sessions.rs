//! Ending sessions: logout, logout everywhere, token revocation (RFC 7009), and the user's
//! view of their sessions (ASVS V7.5.2).

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::sessions::EndReason;
use crate::http::error::{ApiError, OAuthErrorBody};
use crate::http::extract::{ActiveUser, CurrentUser, form_fields};
use crate::model::scopes::MeScope;
use crate::model::time::UnixTime;
use crate::state::AppState;
use crate::store::session::SessionRecord;

/// End the session of the calling token.
///
/// Its refresh token stops working and every access token of the session is refused from
/// the next request on. A token minted outside any session (the JWT chapter's) has none to
/// end; it lives until it expires, or until `/logout/all`.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "sessions",
    responses((status = 204, description = "The session has ended")),
)]
pub(crate) async fn logout(
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    if let Some(sid) = &user.claims.sid {
        let now = state.auth.clock.now();
        state.auth.sessions.end(sid, now, EndReason::Logout).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the calling user.
///
/// Every refresh token stops working, and every access token issued to the user until now
/// is refused, with or without a session id. Logging in again starts afresh.
#[utoipa::path(
    post,
    path = "/logout/all",
    tag = "sessions",
    responses((status = 204, description = "Every session of the user has ended")),
)]
pub(crate) async fn logout_all(
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .sessions
        .end_all(user.username(), state.auth.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

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

/// One live session, as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionView {
    /// The `sid` claim of the session's access tokens.
    #[schema(example = "Yk3lWtq0p1mS2Yd9WmQp3A")]
    id: String,
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T09:30:00Z")]
    created_at: String,
    /// The login, or the latest refresh.
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T10:00:00Z")]
    last_used_at: String,
    /// When it ends unless refreshed first: the idle timeout after the last use, capped by
    /// the absolute lifetime.
    #[schema(value_type = String, format = DateTime, example = "2026-12-10T10:00:00Z")]
    expires_at: String,
    /// Whether the calling token belongs to it.
    current: bool,
}

fn rfc3339(time: UnixTime) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(time))
        .to_string()
}

/// The current user's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/users/me/sessions/",
    tag = "sessions",
    responses((status = 200, description = "The user's live sessions", body = [SessionView])),
)]
pub(crate) async fn read_own_sessions(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let sessions = state
        .auth
        .sessions
        .list(user.username(), state.auth.clock.now())
        .await?;
    let current = user.claims.sid.as_deref();
    let view = |session: SessionRecord| SessionView {
        current: current == Some(session.id.as_str()),
        created_at: rfc3339(session.created_at),
        last_used_at: rfc3339(session.last_used_at),
        expires_at: rfc3339(state.auth.sessions.deadline(&session)),
        id: session.id,
    };
    Ok(Json(sessions.into_iter().map(view).collect()))
}

/// End one of the current user's sessions.
#[utoipa::path(
    delete,
    path = "/users/me/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "A session id from the list")),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 404, description = "The user has no session with this id", body = crate::http::error::ErrorDetail,
            example = json!(ApiError::NotFound.body())),
    ),
)]
pub(crate) async fn delete_own_session(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.auth.clock.now();
    if state
        .auth
        .sessions
        .end_own(user.username(), &id, now)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
