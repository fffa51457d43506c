//! The JSON API a user's token opens (the tutorial's `/users/me/`, the account, TOTP, sessions
//! and consents routes) and the operators' probes, one module per area. Each handler's arguments
//! are its dependencies; its `utoipa::path` attribute documents what it returns on success
//! (failures of protected routes are documented from their extractors, see
//! `openapi::guarded`). Errors answer in FastAPI's `{"detail": ...}` shape ([`ApiError`]).
//!
//! [`ApiError`]: crate::http::error::ApiError

pub(crate) mod account;
pub(crate) mod activity;
pub(crate) mod consents;
mod error;
pub(crate) mod health;
pub(crate) mod sessions;
pub(crate) mod totp;
pub(crate) mod users;

use serde::Serialize;
use utoipa::ToSchema;

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Status {
    #[schema(example = "ok")]
    pub(crate) status: &'static str,
}

pub(crate) const OK: Status = Status { status: "ok" };
