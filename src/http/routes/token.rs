//! `POST /token`: the OAuth2 password grant (RFC 6749 §4.3).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{LoginRequest, login};
use crate::http::error::{ApiError, ErrorDetail, ValidationErrorBody};
use crate::http::extract::{AdmittedLogin, OAuth2PasswordRequestForm};
use crate::state::AppState;

/// The `/token` response (RFC 6749 §5.1), the tutorial's `Token` model plus the granted
/// `scope`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Token {
    pub(crate) access_token: String,
    #[schema(example = "bearer")]
    pub(crate) token_type: &'static str,
    /// The granted scopes, space-separated.
    #[schema(example = "me items")]
    pub(crate) scope: String,
}

/// A token response must never be cached (RFC 6749 §5.1).
const NO_STORE: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

/// Log in with the OAuth2 password flow and get a bearer token.
///
/// Failed and refused logins are answered no sooner than a second after they arrive.
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
        (status = 429, description = "Too many failed logins, or too many logins in progress, from this address; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many logins at once; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
)]
pub(crate) async fn login_for_access_token(
    State(state): State<AppState>,
    admitted: AdmittedLogin,
    form: Result<OAuth2PasswordRequestForm, ApiError>,
) -> Result<([(HeaderName, HeaderValue); 2], Json<Token>), ApiError> {
    let answer = password_grant(&state, &admitted, form).await;
    if answer.is_err() {
        admitted.hold().await;
    }
    answer.map(|token| (NO_STORE, Json(token)))
}

async fn password_grant(
    state: &AppState,
    admitted: &AdmittedLogin,
    form: Result<OAuth2PasswordRequestForm, ApiError>,
) -> Result<Token, ApiError> {
    let form = form?;
    let request = LoginRequest {
        client: admitted.client(),
        username: &form.username,
        password: form.password.clone(),
        scope: &form.scope,
    };
    let grant = login(state, request).await?;
    Ok(Token {
        access_token: grant.access_token,
        token_type: "bearer",
        scope: grant.scope.to_string(),
    })
}
