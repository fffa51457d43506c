//! Probes and the JSON answers for paths and methods that do not exist.

use axum::Json;

use super::{OK, Status};
use crate::http::error::ApiError;

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
