//! The tutorial's dependency chain as extractors: `oauth2_scheme` → `get_current_user` →
//! `get_current_active_user` become [`BearerToken`] → [`CurrentUser`] → [`ActiveUser`].
//! A handler names the one it needs in its signature; each builds on the previous one.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{HeaderValue, header, request::Parts};
use axum_extra::TypedHeader;
use axum_extra::headers::{Authorization, authorization::Bearer};

use crate::http::error::ApiError;
use crate::scopes::{AnyScope, RequiredScopes};
use crate::state::AppState;
use crate::store::UserRecord;

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

/// The user a valid token names, holding the scopes `R` demands (FastAPI's
/// `get_current_user` with `SecurityScopes`). Disabled users get through; see [`ActiveUser`].
pub struct CurrentUser<R = AnyScope> {
    pub user: Arc<UserRecord>,
    required: PhantomData<fn() -> R>,
}

impl<R: RequiredScopes> FromRequestParts<AppState> for CurrentUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let BearerToken(token) = BearerToken::from_request_parts(parts, state).await?;
        let claims = state.tokens.decode(&token).map_err(|err| {
            tracing::debug!(%err, "token refused");
            ApiError::InvalidToken
        })?;
        let user = state
            .users
            .get_user(&claims.sub)
            .await?
            .ok_or(ApiError::InvalidToken)?;
        // A scope counts only while the user is still allowed it, so taking a scope away
        // from a user also takes it out of tokens already issued. Tokens without a `scope`
        // claim come from the JWT chapter (or PyJWT), which had no scopes: they carry the
        // user's allowed set, exactly what a scope-less login is granted today.
        let granted = |scope: &crate::scopes::Scope| {
            user.scopes.contains(scope)
                && claims
                    .scope
                    .as_deref()
                    .is_none_or(|claim| claim.split(' ').any(|s| s == scope.as_str()))
        };
        if !R::SCOPES.iter().all(granted) {
            return Err(ApiError::NotEnoughPermissions {
                required: R::SCOPES,
            });
        }
        Ok(Self {
            user,
            required: PhantomData,
        })
    }
}

impl<R> Deref for CurrentUser<R> {
    type Target = UserRecord;

    fn deref(&self) -> &UserRecord {
        &self.user
    }
}

/// A [`CurrentUser`] who is not disabled (FastAPI's `get_current_active_user`).
pub struct ActiveUser<R = AnyScope> {
    pub user: Arc<UserRecord>,
    required: PhantomData<fn() -> R>,
}

impl<R: RequiredScopes> FromRequestParts<AppState> for ActiveUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser { user, .. } = CurrentUser::<R>::from_request_parts(parts, state).await?;
        if user.profile.disabled {
            return Err(ApiError::InactiveUser);
        }
        Ok(Self {
            user,
            required: PhantomData,
        })
    }
}

impl<R> Deref for ActiveUser<R> {
    type Target = UserRecord;

    fn deref(&self) -> &UserRecord {
        &self.user
    }
}
