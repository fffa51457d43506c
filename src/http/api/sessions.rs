//! Ending sessions: logout, logout everywhere, token revocation (RFC 7009), and the user's
//! view of their sessions (ASVS V7.5.2).

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::sessions::EndReason;
use crate::http::error::ApiError;
use crate::http::extract::{ActiveUser, CurrentUser};
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
        .end_all(&user, state.auth.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
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

pub(super) fn rfc3339(time: UnixTime) -> String {
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
        .list(&user.id, state.auth.clock.now())
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
    if state.auth.sessions.end_own(&user.id, &id, now).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
