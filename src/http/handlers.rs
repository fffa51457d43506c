//! The path operations. Each handler's arguments are its dependencies; its `utoipa::path`
//! attribute documents what it returns on success (failures are documented from the
//! extractors, see `openapi::guarded`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{authenticate_user, grant_scopes};
use crate::http::error::{ApiError, ErrorDetail, ValidationErrorBody};
use crate::http::extractor::{ActiveUser, ClientIp, CurrentUser};
use crate::http::form::OAuth2PasswordRequestForm;
use crate::scopes::{AnyScope, ReadItems, ReadMe, scope_string};
use crate::state::AppState;
use crate::store::User;

/// The `/token` response (RFC 6749 §5.1), the tutorial's `Token` model plus the granted
/// `scope`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// The granted scopes, space-separated.
    #[schema(example = "me items")]
    pub scope: String,
}

/// A token response must never be cached (RFC 6749 §5.1).
const NO_STORE: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

/// Log in with the OAuth2 password flow and get a bearer token.
#[utoipa::path(
    post,
    path = "/token",
    tag = "auth",
    request_body(
        content(
            (OAuth2PasswordRequestForm = "application/x-www-form-urlencoded"),
            (OAuth2PasswordRequestForm = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "The access token", body = Token,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "A requested scope is unknown or not allowed for the user", body = ErrorDetail),
        (status = 401, description = "Incorrect username or password", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 413, description = "The request body is too large", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = ValidationErrorBody),
        (status = 429, description = "Too many failed logins from this address; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many logins at once; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
)]
pub async fn login_for_access_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    form: OAuth2PasswordRequestForm,
) -> Result<([(HeaderName, HeaderValue); 2], Json<Token>), ApiError> {
    // Refused before any hashing, so guessing costs the attacker, not the server.
    let attempt =
        state
            .throttle
            .attempt(ip, &form.username)
            .map_err(|wait| ApiError::TooManyAttempts {
                retry_after_secs: wait.as_secs() + 1,
            })?;
    let user = match authenticate_user(&state, &form.username, form.password.clone()).await {
        Ok(user) => user,
        Err(ApiError::IncorrectLogin) => {
            attempt.failed();
            return Err(ApiError::IncorrectLogin);
        }
        // Busy or broken: not the client's failure, so the attempt is refunded on drop.
        Err(other) => return Err(other),
    };
    attempt.succeeded();
    let scope = scope_string(&grant_scopes(form.scopes(), &user)?);
    let access_token = state
        .tokens
        .create_access_token(user.username(), &scope)
        .map_err(|err| ApiError::Internal(format!("token encoding failed: {err}")))?;
    let token = Token {
        access_token,
        token_type: "bearer",
        scope,
    };
    Ok((NO_STORE, Json(token)))
}

/// The current user's profile.
#[utoipa::path(
    get,
    path = "/users/me/",
    tag = "users",
    responses((status = 200, description = "The current user", body = User)),
)]
pub async fn read_users_me(user: ActiveUser<ReadMe>) -> Json<Arc<User>> {
    Json(Arc::clone(&user.profile))
}

/// One of the current user's items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Item {
    #[schema(example = "Foo")]
    pub item_id: &'static str,
    #[schema(example = "johndoe")]
    pub owner: String,
}

/// The current user's items.
#[utoipa::path(
    get,
    path = "/users/me/items/",
    tag = "users",
    responses((status = 200, description = "The current user's items", body = [Item])),
)]
pub async fn read_own_items(user: ActiveUser<ReadItems>) -> Json<[Item; 1]> {
    Json([Item {
        item_id: "Foo",
        owner: user.username().to_owned(),
    }])
}

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

const OK: Status = Status { status: "ok" };

/// Whether the service is up, for any valid token (the scopes chapter's `/status/`).
#[utoipa::path(
    get,
    path = "/status/",
    tag = "users",
    responses((status = 200, description = "The service is up", body = Status)),
)]
pub async fn read_system_status(_user: CurrentUser<AnyScope>) -> Json<Status> {
    Json(OK)
}

/// Readiness probe; needs no token.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The service is up", body = Status)),
)]
pub async fn health() -> Json<Status> {
    Json(OK)
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
