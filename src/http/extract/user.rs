//! The tutorial's dependency chain as extractors: `oauth2_scheme` → `get_current_user` →
//! `get_current_active_user` become [`BearerToken`] → [`CurrentUser`] → [`ActiveUser`].
//! A handler names the one it needs in its signature; each builds on the previous one.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::BearerToken;
use crate::auth::tokens::Claims;
use crate::auth::tokens::access::{Verified, check_access_token};
use crate::http::error::ApiError;
use crate::model::scopes::{AnyScope, RequiredScopes};
use crate::state::AppState;
use crate::store::UserRecord;

/// The user a valid token names, holding the scopes `R` demands (FastAPI's
/// `get_current_user` with `SecurityScopes`). Disabled users get through; see [`ActiveUser`].
pub struct CurrentUser<R = AnyScope> {
    pub user: Arc<UserRecord>,
    /// The verified claims of the token that named the user.
    pub claims: Arc<Claims>,
    required: PhantomData<fn() -> R>,
}

impl<R: RequiredScopes> FromRequestParts<AppState> for CurrentUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let BearerToken(token) = BearerToken::from_request_parts(parts, state).await?;
        let Verified { claims, user } = check_access_token(&state.auth, &token).await?;
        // A scope counts only while the user is still allowed it, so taking a scope away
        // from a user also takes it out of tokens already issued.
        let granted = |scope| claims.grants(scope, &user.scopes);
        if !R::SCOPES.iter().all(granted) {
            return Err(ApiError::NotEnoughPermissions {
                required: R::SCOPES,
            });
        }
        Ok(Self {
            user,
            claims,
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
pub struct ActiveUser<R = AnyScope>(pub CurrentUser<R>);

impl<R: RequiredScopes> FromRequestParts<AppState> for ActiveUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = CurrentUser::<R>::from_request_parts(parts, state).await?;
        if current.profile.disabled {
            return Err(ApiError::InactiveUser);
        }
        Ok(Self(current))
    }
}

impl<R> Deref for ActiveUser<R> {
    type Target = CurrentUser<R>;

    fn deref(&self) -> &CurrentUser<R> {
        &self.0
    }
}
