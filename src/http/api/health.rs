//! Probes and the JSON answers for paths and methods that do not exist.

use axum::Json;
use axum::extract::State;

use super::{OK, Status};
use crate::http::error::ApiError;
use crate::state::AppState;

/// Liveness probe: 200 while the process serves; needs no token.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The service is up", body = Status)),
)]
pub(crate) async fn health() -> Json<Status> {
    Json(OK)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Readiness probe: 200 while this process can serve tokens correctly, 503 with
/// `Retry-After` within a second of its shared store going out of reach (a failed statement
/// or poll, or a view of ended sessions over a second old), 200 again at the first poll
/// that succeeds. What a load balancer or an orchestrator should route by; `/health` is
/// liveness.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "The session store is out of reach", body = crate::http::error::ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::SessionViewStale.body())),
    ),
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    state.auth.sessions.check_ready()?;
    Ok(Json(OK))
}
