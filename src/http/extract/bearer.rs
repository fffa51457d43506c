//! FastAPI's `OAuth2PasswordBearer`: the raw token from the `Authorization` header.

use axum::extract::FromRequestParts;
use axum::http::{HeaderValue, header, request::Parts};
use axum_extra::TypedHeader;
use axum_extra::headers::{Authorization, authorization::Bearer};

use crate::http::error::ApiError;

/// Tokens longer than this are refused before any base64 or JSON work is spent on them;
/// ours are about 250 bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The raw token from `Authorization: Bearer <token>` (FastAPI's `OAuth2PasswordBearer`).
#[derive(Debug)]
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, state).await {
            Ok(TypedHeader(Authorization(bearer))) if bearer.token().len() > MAX_TOKEN_LEN => {
                Err(ApiError::InvalidToken)
            }
            Ok(TypedHeader(Authorization(bearer))) => Ok(Self(bearer.token().to_owned())),
            Err(rejection) if rejection.is_missing() => Err(ApiError::NotAuthenticated),
            Err(_) => Err(unparsed_authorization(
                parts.headers.get(header::AUTHORIZATION),
            )),
        }
    }
}

/// An `Authorization` header the typed parser refused. FastAPI splits at the first space:
/// another scheme means "Not authenticated", while a Bearer scheme with an empty or
/// non-ASCII token is a token that fails to validate.
fn unparsed_authorization(value: Option<&HeaderValue>) -> ApiError {
    let scheme = value
        .and_then(|value| value.as_bytes().split(|&b| b == b' ').next())
        .unwrap_or_default();
    if scheme.eq_ignore_ascii_case(b"bearer") {
        ApiError::InvalidToken
    } else {
        ApiError::NotAuthenticated
    }
}
