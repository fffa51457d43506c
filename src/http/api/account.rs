//! `POST /users/me/password`: a user changes their own password.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use utoipa::ToSchema;

use crate::auth::accounts::password_change::{PasswordChange, change_password};
use crate::http::error::{ApiError, ErrorDetail, ValidationErrorBody};
use crate::http::extract::{ActiveUser, ClientIp, not_an_object, string_fields};
use crate::model::scopes::MeScope;
use crate::state::AppState;

/// The JSON body: `{"current_password": "...", "new_password": "..."}`.
#[derive(ToSchema)]
pub(crate) struct PasswordChangeRequest {
    #[schema(format = Password)]
    current_password: String,
    /// Must meet the password policy: at least `PASSWORD_MIN_LENGTH` (never under 8)
    /// characters, not common, not containing the username.
    #[schema(format = Password, min_length = 8)]
    new_password: String,
}

impl<S: Send + Sync> FromRequest<S> for PasswordChangeRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let [current_password, new_password] =
            string_fields(req, state, ["current_password", "new_password"]).await?;
        Ok(Self {
            current_password,
            new_password,
        })
    }
}

/// Change the current user's password. Every other session of the user ends (their access
/// and refresh tokens are refused); the session making the change goes on. A wrong current
/// password counts as a failed login of this address and user.
#[utoipa::path(
    post,
    path = "/users/me/password",
    tag = "users",
    request_body(content = PasswordChangeRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The new password works at once; the user's other sessions have ended"),
        (status = 400, description = "The current password is wrong, or the new one breaks the policy", body = ErrorDetail,
            examples(
                ("Incorrect password" = (value = json!(ApiError::IncorrectPassword.body()))),
                ("Too short" = (value = json!(ApiError::WeakPassword(
                    crate::auth::accounts::policy::Weakness::TooShort(8).to_string()).body()))),
            )),
        (status = 409, description = "The password changed meanwhile; try again", body = ErrorDetail,
            example = json!(ApiError::PasswordChangedMeanwhile.body())),
        (status = 422, description = "Validation Error", body = ValidationErrorBody,
            example = json!(not_an_object(serde_json::Value::Array(Vec::new())).body())),
        (status = 429, description = "Too many wrong passwords; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::TooManyAttempts { retry_after_secs: 1 }.body())),
    ),
)]
pub(crate) async fn change_own_password(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    request: PasswordChangeRequest,
) -> Result<StatusCode, ApiError> {
    let change = PasswordChange {
        client,
        username: user.username(),
        session: user.claims.sid.as_deref(),
        current_password: request.current_password,
        new_password: request.new_password,
    };
    change_password(&state.auth, change).await?;
    Ok(StatusCode::NO_CONTENT)
}
