//! `GET` and `POST /userinfo`: OpenID Connect's UserInfo endpoint (Core §5.3). The access
//! token comes as `Authorization: Bearer`, or in a `POST`'s form as `access_token` (RFC 6750
//! §2.2), never both ways at once (§2). Refusals are RFC 6750 §3.1's.

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::{Authorization, HeaderMapExt};
use serde::Serialize;

use super::token::NO_STORE;
use crate::auth::oauth::userinfo::{UserInfo, UserInfoError, userinfo};
use crate::http::error::{ApiError, BearerError};
use crate::http::extract::MAX_TOKEN_LEN;
use crate::http::extract::form_fields;
use crate::state::AppState;

/// The claims as sent (Core §5.1); absent ones are left out.
#[derive(Serialize)]
struct Claims {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl From<UserInfo> for Claims {
    fn from(info: UserInfo) -> Self {
        let (name, preferred_username) = match info.profile {
            Some(profile) => (profile.name, Some(profile.preferred_username)),
            None => (None, None),
        };
        Self {
            sub: info.sub,
            name,
            preferred_username,
            email_verified: info.email.as_ref().map(|_| false),
            email: info.email,
        }
    }
}

impl From<UserInfoError> for ApiError {
    fn from(err: UserInfoError) -> Self {
        match err {
            UserInfoError::InvalidToken => refused(BearerError::InvalidToken),
            UserInfoError::InsufficientScope => ApiError::BearerRefused {
                error: BearerError::InsufficientScope,
                description: "The access token was not granted the openid scope",
            },
            UserInfoError::Stale(stale) => stale.into(),
            UserInfoError::Store(err) => err.into(),
        }
    }
}

fn refused(error: BearerError) -> ApiError {
    let description = match error {
        BearerError::InvalidRequest => "The access token was sent more than one way",
        _ => "The access token is missing, invalid, expired or revoked",
    };
    ApiError::BearerRefused { error, description }
}

/// `Authorization: Bearer`'s token; `Err` for an `Authorization` header that is not one.
fn header_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Ok(None);
    }
    match headers.typed_get::<Authorization<Bearer>>() {
        Some(Authorization(bearer)) if bearer.token().len() <= MAX_TOKEN_LEN => {
            Ok(Some(bearer.token().to_owned()))
        }
        _ => Err(refused(BearerError::InvalidToken)),
    }
}

async fn answer(state: &AppState, token: Option<String>) -> Result<Response, ApiError> {
    let token = token.ok_or_else(|| refused(BearerError::InvalidToken))?;
    let info = userinfo(&state.auth, &token).await?;
    Ok((NO_STORE, Json(Claims::from(info))).into_response())
}

/// The signed-in user's claims, for an access token with `openid`.
pub(crate) async fn userinfo_get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    answer(&state, header_token(&headers)?).await
}

/// As `GET`, the token also accepted as the form's `access_token`.
pub(crate) async fn userinfo_post(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let Ok(headers) = HeaderMap::from_request_parts(&mut parts, &state).await;
    let from_header = header_token(&headers)?;
    let fields = form_fields(Request::from_parts(parts, body), &state).await?;
    let from_form = fields
        .get("access_token")
        .filter(|token| !token.is_empty())
        .map(str::to_owned);
    let token = match (from_header, from_form) {
        (Some(_), Some(_)) => return Err(refused(BearerError::InvalidRequest)),
        (header, form) => header.or(form),
    };
    answer(&state, token).await
}
