//! The whole error surface of the JSON edges: every answer a failure can get, status +
//! `{"detail": ...}` (or RFC 6749 §5.2's `{"error", "detail"}`) + headers, is written here and
//! nowhere else. What every edge shares is mapped here too (a store out of reach, a spent
//! budget, a stale view of ended sessions, a refused token); each edge maps its own domain
//! errors in its error module: `http/api/error.rs`, `http/oauth/error.rs`. Web pages will
//! answer in HTML from theirs.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::guard::Throttled;
use crate::auth::sessions::StaleView;
use crate::auth::tokens::access::AccessError;
use crate::model::scopes::{Scope, ScopeSet};
use crate::store::StoreError;

/// A cause kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` header (FastAPI's `OAuth2PasswordBearer`).
    #[error("Not authenticated")]
    NotAuthenticated,
    /// The token is malformed, forged, expired, or names no user.
    #[error("Could not validate credentials")]
    InvalidToken,
    /// The token is valid but lacks a scope the route requires.
    #[error("Not enough permissions")]
    NotEnoughPermissions { required: &'static [Scope] },
    #[error("Incorrect username or password")]
    IncorrectLogin,
    /// A right password for a user with TOTP on, and no `totp` field.
    #[error("TOTP code required")]
    TotpRequired,
    /// A right password and a wrong, replayed or spent `totp`.
    #[error("Incorrect TOTP code")]
    IncorrectTotp,
    /// `/introspect` without a registered client's HTTP Basic credentials (RFC 7662 §2.1,
    /// RFC 6749 §5.2 `invalid_client`).
    #[error("Invalid client credentials")]
    InvalidClient,
    #[error("Inactive user")]
    InactiveUser,
    /// `POST /users/me/password` with a wrong `current_password`.
    #[error("Incorrect password")]
    IncorrectPassword,
    /// A new password the policy refuses; the text names the rule.
    #[error("{0}")]
    WeakPassword(String),
    #[error("The password changed meanwhile; try again")]
    PasswordChangedMeanwhile,
    /// `POST /users/me/totp/confirm` with a code that is not the pending secret's.
    #[error("Incorrect code")]
    IncorrectCode,
    #[error("TOTP is already enabled")]
    TotpAlreadyEnabled,
    #[error("No TOTP enrolment is pending")]
    TotpNotPending,
    /// `/token` was asked for a scope that does not exist or the user may not have.
    #[error("{0}")]
    InvalidScope(String),
    /// An RFC 6749 §5.2 error of the refresh grant or `/revoke`; the body carries the
    /// standard `error` code beside the usual `detail`.
    #[error("{detail}")]
    OAuth { error: OAuthError, detail: String },
    /// An error of the authorization-code grant, in RFC 6749 §5.2's own shape:
    /// `{"error", "error_description"}`, never cached. Its clients are OAuth libraries, not
    /// FastAPI frontends. `invalid_client` is a 401 naming the Basic scheme.
    #[error("{description}")]
    Protocol {
        error: OAuthError,
        description: String,
    },
    /// A registered client asked for a grant passflow does not serve: RFC 6749 §5.2's
    /// `unsupported_grant_type`, in the code grant's shape, never cached. Not part of
    /// [`OAuthError`], whose schema the tutorial's documents show unchanged.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// RFC 6750 §3.1: OpenID Connect's `/userinfo` refusing a bearer token, with the error
    /// in `WWW-Authenticate` and the body (`{"error", "error_description"}`), never cached.
    #[error("{description}")]
    BearerRefused {
        error: BearerError,
        description: &'static str,
    },
    /// The request body failed validation; rendered in FastAPI's 422 shape.
    #[error("request validation failed")]
    Validation(Vec<ValidationIssue>),
    #[error("Request body too large")]
    PayloadTooLarge,
    /// The request line and headers are over `max_header_bytes` (RFC 6585 §5). The
    /// connection is closed after the answer: what follows on it cannot be framed reliably.
    #[error("Request Header Fields Too Large")]
    HeaderFieldsTooLarge,
    #[error("Too many failed login attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The client address already has `LOGIN_CONCURRENCY_PER_IP` logins in flight.
    #[error("Too many logins in progress from this address")]
    TooManyLoginsInFlight,
    #[error("Server busy, try again shortly")]
    Overloaded,
    /// The user store is out of reach; worth retrying (never a 500: nothing is wrong with
    /// the request).
    #[error("Service temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// A value the request carried that the store cannot hold (a NUL byte): bad input, never
    /// an outage. The edges refuse such values before a store sees them; this is the last
    /// word where one got through.
    #[error("Invalid request")]
    Unstorable,
    /// The view of ended sessions is too old to trust (a shared store out of reach): fail
    /// closed. Not logged per request; the upkeep task logs the store's failures.
    #[error("Service temporarily unavailable")]
    SessionViewStale,
    #[error("Request timed out")]
    RequestTimeout,
    #[error("Not Found")]
    NotFound,
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// Details go to the log, never to the client.
    #[error("Internal Server Error")]
    Internal(#[source] Cause),
}

/// The body of every error response: `{"detail": "..."}`. Each documented response shows
/// its own example, rendered by [`ApiError::body`] from the error it stands for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub detail: String,
}

/// RFC 6749 §5.2 error codes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
}

/// RFC 6750 §3.1's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
}

impl BearerError {
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }
}

/// The body of an RFC 6749 §5.2 error as the code grant answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProtocolErrorBody {
    pub error: OAuthError,
    pub error_description: String,
}

/// The body of an RFC 6749 §5.2 error: `{"error": "...", "detail": "..."}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// Always present here; documented as optional because `/token`'s password grant
    /// answers its 400s in FastAPI's `{"detail"}` shape.
    #[schema(required = false)]
    pub error: OAuthError,
    pub detail: String,
}

/// One entry of FastAPI's 422 body: `{"type", "loc", "msg", "input"[, "ctx"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ValidationError)]
pub struct ValidationIssue {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<String>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// FastAPI's 422 body: `{"detail": [ValidationIssue, ...]}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HTTPValidationError)]
pub struct ValidationErrorBody {
    pub detail: Vec<ValidationIssue>,
}

/// Seconds a client should wait after a 503 from a saturated hash pool (about the time the
/// pool takes to drain a queue of logins), or a 429 for logins already in flight.
const OVERLOADED_RETRY_AFTER_SECS: u64 = 1;

/// Seconds a client should wait after a 503 from an unreachable store.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// `invalid_request` for a form without a field it needs (RFC 6749 §5.2).
    pub(crate) fn missing_field(field: &str) -> Self {
        ApiError::OAuth {
            error: OAuthError::InvalidRequest,
            detail: format!("Missing {field}"),
        }
    }

    /// The JSON body this error is answered with. The OpenAPI document's examples are made
    /// here too, so they cannot differ from what the routes send.
    pub fn body(&self) -> Value {
        let body = match self {
            ApiError::Validation(detail) => serde_json::to_value(ValidationErrorBody {
                detail: detail.clone(),
            }),
            ApiError::OAuth { error, detail } => serde_json::to_value(OAuthErrorBody {
                error: *error,
                detail: detail.clone(),
            }),
            ApiError::Protocol { error, description } => serde_json::to_value(ProtocolErrorBody {
                error: *error,
                error_description: description.clone(),
            }),
            ApiError::BearerRefused { error, description } => Ok(serde_json::json!({
                "error": error.as_str(),
                "error_description": description,
            })),
            ApiError::UnsupportedGrantType(description) => Ok(serde_json::json!({
                "error": "unsupported_grant_type",
                "error_description": description,
            })),
            ApiError::InvalidClient => serde_json::to_value(OAuthErrorBody {
                error: OAuthError::InvalidClient,
                detail: self.to_string(),
            }),
            other => serde_json::to_value(ErrorDetail {
                detail: other.to_string(),
            }),
        };
        body.unwrap_or(Value::Null)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated
            | ApiError::InvalidToken
            | ApiError::NotEnoughPermissions { .. }
            | ApiError::IncorrectLogin
            | ApiError::TotpRequired
            | ApiError::IncorrectTotp
            | ApiError::InvalidClient
            | ApiError::Protocol {
                error: OAuthError::InvalidClient,
                ..
            }
            | ApiError::BearerRefused {
                error: BearerError::InvalidToken,
                ..
            } => StatusCode::UNAUTHORIZED,
            ApiError::BearerRefused {
                error: BearerError::InsufficientScope,
                ..
            } => StatusCode::FORBIDDEN,
            ApiError::InactiveUser
            | ApiError::InvalidScope(_)
            | ApiError::OAuth { .. }
            | ApiError::Protocol { .. }
            | ApiError::UnsupportedGrantType(_)
            | ApiError::BearerRefused { .. }
            | ApiError::IncorrectPassword
            | ApiError::IncorrectCode
            | ApiError::Unstorable
            | ApiError::WeakPassword(_) => StatusCode::BAD_REQUEST,
            ApiError::PasswordChangedMeanwhile
            | ApiError::TotpAlreadyEnabled
            | ApiError::TotpNotPending => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::TooManyAttempts { .. } | ApiError::TooManyLoginsInFlight => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Overloaded | ApiError::Unavailable(_) | ApiError::SessionViewStale => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        match self {
            // RFC 6750 §3: every 401 names the scheme; the scope attribute tells the client
            // which token to ask for, and only appears when scopes are what's missing.
            ApiError::NotAuthenticated
            | ApiError::InvalidToken
            | ApiError::IncorrectLogin
            | ApiError::TotpRequired
            | ApiError::IncorrectTotp => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"passflow\""),
                );
            }
            ApiError::OAuth { .. } | ApiError::UnsupportedGrantType(_) => {
                // RFC 6749 §5.2: a client's refusals, like its answers, are not cached.
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            ApiError::Protocol { error, .. } => {
                // RFC 6749 §5.2: token endpoint errors, like its answers, are not cached.
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
                if *error == OAuthError::InvalidClient {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"passflow\""),
                    );
                }
            }
            ApiError::BearerRefused { error, .. } => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                let challenge = match error {
                    BearerError::InsufficientScope => {
                        "Bearer error=\"insufficient_scope\", scope=\"openid\""
                    }
                    BearerError::InvalidToken => "Bearer error=\"invalid_token\"",
                    BearerError::InvalidRequest => "Bearer error=\"invalid_request\"",
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::NotEnoughPermissions { required } => {
                let value = format!("Bearer scope=\"{}\"", ScopeSet::from(*required));
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            ApiError::TooManyAttempts { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Overloaded | ApiError::TooManyLoginsInFlight => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(OVERLOADED_RETRY_AFTER_SECS),
                );
            }
            ApiError::Unavailable(_) | ApiError::SessionViewStale => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
            }
            ApiError::HeaderFieldsTooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        headers
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let headers = self.headers();
        if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = &self {
            tracing::error!(cause = %Chain(cause.as_ref()), "{self}");
        }
        (status, headers, Json(self.body())).into_response()
    }
}

/// An error and its sources on one line, for the log.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ApiError::Unavailable(err.into()),
            StoreError::NoSuchUser(_) => ApiError::Internal(err.into()),
            StoreError::Unstorable(_) => ApiError::Unstorable,
        }
    }
}

/// Every budget's refusal, whichever guess spent it: `429` with the seconds to wait.
impl From<Throttled> for ApiError {
    fn from(throttled: Throttled) -> Self {
        ApiError::TooManyAttempts {
            retry_after_secs: throttled.retry_after_secs(),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Invalid => ApiError::InvalidToken,
            AccessError::Stale(stale) => stale.into(),
            AccessError::Store(err) => err.into(),
        }
    }
}

impl From<StaleView> for ApiError {
    fn from(StaleView: StaleView) -> Self {
        ApiError::SessionViewStale
    }
}
