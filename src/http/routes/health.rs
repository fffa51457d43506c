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
/// `Retry-After` while its shared store is out of reach (its view of ended sessions is
/// stale). What a load balancer or an orchestrator should route by; `/health` is liveness.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "The session store is out of reach", body = crate::http::error::ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    state.auth.sessions.check_view()?;
    Ok(Json(OK))
}
