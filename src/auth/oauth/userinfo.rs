//! OpenID Connect's UserInfo endpoint (Core §5.3): the signed-in user's claims for a client
//! holding an access token with `openid`, by the scopes it was granted (§5.4): `profile` adds
//! the names, `email` the address. The token passes the same check as every protected route,
//! so a session that ended (a logout, a code replayed, a consent revoked) is refused at once,
//! on every replica.

use crate::auth::Auth;
use crate::auth::sessions::StaleView;
use crate::auth::tokens::access::{AccessError, check_access_token};
use crate::model::scopes::Scope;
use crate::store::StoreError;

/// The claims a token's scopes open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user's stable id, as in the id_token.
    pub sub: String,
    /// With `profile`: the full name, when the account has one, and the username.
    pub profile: Option<Profile>,
    /// With `email`: the address, when the account has one. passflow verifies no address,
    /// so `email_verified` is always `false`.
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub preferred_username: String,
}

/// Why no claims (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserInfoError {
    /// Malformed, forged, expired, its session ended, its user gone or disabled.
    #[error("invalid token")]
    InvalidToken,
    /// A live token without `openid`.
    #[error("the token lacks the openid scope")]
    InsufficientScope,
    #[error(transparent)]
    Stale(#[from] StaleView),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The claims of the user `token` was issued for.
pub async fn userinfo(auth: &Auth, token: &str) -> Result<UserInfo, UserInfoError> {
    let verified = check_access_token(auth, token)
        .await
        .map_err(|err| match err {
            AccessError::Invalid => UserInfoError::InvalidToken,
            AccessError::Stale(stale) => UserInfoError::Stale(stale),
            AccessError::Store(err) => UserInfoError::Store(err),
        })?;
    let user = &verified.user;
    if user.profile.disabled {
        return Err(UserInfoError::InvalidToken);
    }
    let granted = |scope: &Scope| {
        verified
            .claims
            .scope
            .as_ref()
            .is_some_and(|claim| claim.contains(scope))
    };
    if !granted(&Scope::OPENID) {
        return Err(UserInfoError::InsufficientScope);
    }
    Ok(UserInfo {
        sub: user.id.to_string(),
        profile: granted(&Scope::PROFILE).then(|| Profile {
            name: user.profile.full_name.clone(),
            preferred_username: user.username().to_string(),
        }),
        email: granted(&Scope::EMAIL)
            .then(|| user.profile.email.clone())
            .flatten(),
    })
}
