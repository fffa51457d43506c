//! `/users/me/totp`: a user enrols a second factor (RFC 6238), confirms it with a first
//! code, or removes it.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::accounts::totp::{confirm, disable, enrol};
use crate::http::error::{ApiError, ErrorDetail, ValidationErrorBody};
use crate::http::extract::{ActiveUser, ClientIp, not_an_object, string_fields};
use crate::http::oauth::token::NO_STORE;
use crate::model::scopes::MeScope;
use crate::state::AppState;

/// A pending enrolment: add it to an authenticator app, then confirm with a code.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TotpEnrolment {
    /// Base32 (RFC 4648, no padding), 160 random bits, for typing in by hand.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// The same secret as a Key URI, for a QR code: SHA-1, 6 digits, 30-second steps.
    #[schema(
        example = "otpauth://totp/passflow:johndoe?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=passflow&algorithm=SHA1&digits=6&period=30"
    )]
    otpauth_uri: String,
}

/// TOTP is on; these codes are shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecoveryCodes {
    /// Ten single-use codes for a lost authenticator: each works once in `/token`'s `totp`.
    #[schema(example = json!(["abcdef-ghijkl-mnopqr-stuvwx"]))]
    recovery_codes: Vec<String>,
}

/// `{"code": "123456"}`.
#[derive(ToSchema)]
pub(crate) struct TotpConfirmation {
    /// The authenticator's current code for the pending secret.
    #[schema(example = "123456")]
    code: String,
}

/// `{"password": "..."}`.
#[derive(ToSchema)]
pub(crate) struct TotpRemoval {
    #[schema(format = Password)]
    password: String,
}

impl<S: Send + Sync> FromRequest<S> for TotpConfirmation {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let [code] = string_fields(req, state, ["code"]).await?;
        Ok(Self { code })
    }
}

impl<S: Send + Sync> FromRequest<S> for TotpRemoval {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let [password] = string_fields(req, state, ["password"]).await?;
        Ok(Self { password })
    }
}

type NoStore = [(HeaderName, HeaderValue); 2];

/// Start enrolling a TOTP second factor. Returns a new secret; TOTP stays off until it is
/// confirmed. Asking again replaces a pending secret.
#[utoipa::path(
    post,
    path = "/users/me/totp",
    tag = "users",
    responses(
        (status = 200, description = "A pending enrolment: add it to an authenticator app, then confirm", body = TotpEnrolment,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 404, description = "This server offers no TOTP (a database without `TOTP_ENCRYPTION_KEY`)", body = ErrorDetail,
            example = json!(ApiError::NotFound.body())),
        (status = 409, description = "TOTP is already enabled", body = ErrorDetail,
            example = json!(ApiError::TotpAlreadyEnabled.body())),
    ),
)]
pub(crate) async fn enrol_totp(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
) -> Result<(NoStore, Json<TotpEnrolment>), ApiError> {
    let enrolment = enrol(&state.auth, user.username()).await?;
    let body = TotpEnrolment {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    };
    Ok((NO_STORE, Json(body)))
}

/// Confirm the pending enrolment with the authenticator's current code. TOTP is on from
/// now: logins need a code in `/token`'s `totp` field. The user's other sessions end.
#[utoipa::path(
    post,
    path = "/users/me/totp/confirm",
    tag = "users",
    request_body(content = TotpConfirmation, content_type = "application/json"),
    responses(
        (status = 200, description = "TOTP is on; the recovery codes are shown this once", body = RecoveryCodes,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "The code is not the pending secret's", body = ErrorDetail,
            example = json!(ApiError::IncorrectCode.body())),
        (status = 404, description = "This server offers no TOTP (a database without `TOTP_ENCRYPTION_KEY`)", body = ErrorDetail,
            example = json!(ApiError::NotFound.body())),
        (status = 409, description = "Nothing to confirm", body = ErrorDetail,
            examples(
                ("TOTP is already enabled" = (value = json!(ApiError::TotpAlreadyEnabled.body()))),
                ("No TOTP enrolment is pending" = (value = json!(ApiError::TotpNotPending.body()))),
            )),
        (status = 422, description = "Validation Error", body = ValidationErrorBody,
            example = json!(not_an_object(serde_json::Value::Array(Vec::new())).body())),
    ),
)]
pub(crate) async fn confirm_totp(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
    request: TotpConfirmation,
) -> Result<(NoStore, Json<RecoveryCodes>), ApiError> {
    let session = user.claims.sid.as_deref();
    let recovery_codes = confirm(&state.auth, &user, session, &request.code).await?;
    Ok((NO_STORE, Json(RecoveryCodes { recovery_codes })))
}

/// Turn TOTP off (or drop a pending enrolment), proving the password. A wrong password
/// counts as a failed login of this address and user. The user's other sessions end.
#[utoipa::path(
    delete,
    path = "/users/me/totp",
    tag = "users",
    request_body(content = TotpRemoval, content_type = "application/json"),
    responses(
        (status = 204, description = "TOTP is off; the user's other sessions have ended"),
        (status = 400, description = "The password is wrong", body = ErrorDetail,
            example = json!(ApiError::IncorrectPassword.body())),
        (status = 422, description = "Validation Error", body = ValidationErrorBody,
            example = json!(not_an_object(serde_json::Value::Array(Vec::new())).body())),
        (status = 429, description = "Too many wrong passwords; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!(ApiError::TooManyAttempts { retry_after_secs: 1 }.body())),
    ),
)]
pub(crate) async fn disable_totp(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    request: TotpRemoval,
) -> Result<StatusCode, ApiError> {
    let session = user.claims.sid.as_deref();
    disable(&state.auth, client, &user, session, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
