//! The access-token check every protected route makes, and introspection reports: the
//! signature and times hold, the session has not ended, and the user still exists.

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::sessions::StaleView;
use crate::auth::tokens::Claims;
use crate::store::{StoreError, UserRecord};

/// A token that passed [`check_access_token`], and the user it names.
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: Arc<Claims>,
    pub user: Arc<UserRecord>,
}

/// Why an access token is not honoured.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Malformed, forged, expired, its session ended, or its user gone: the client learns
    /// nothing more than that.
    #[error("invalid token")]
    Invalid,
    /// This process cannot tell whether the session ended elsewhere (fail closed).
    #[error(transparent)]
    Stale(#[from] StaleView),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `get_current_user` without the scopes: what `CurrentUser` and `/introspect` share.
pub async fn check_access_token(auth: &Auth, token: &str) -> Result<Verified, AccessError> {
    let claims = auth
        .tokens
        .decode_at(token, auth.clock.now())
        .map_err(|err| {
            tracing::debug!(%err, "token refused");
            AccessError::Invalid
        })?;
    // Signature and times hold, but the session may have ended since (logout, revocation,
    // reuse of its refresh token): ASVS V7.4.1. With a shared store, only while this
    // process's view of ended sessions is recent.
    auth.sessions.check_view()?;
    if auth.sessions.revocations().refuses(&claims) {
        return Err(AccessError::Invalid);
    }
    let user = auth
        .users
        .get_user(&claims.sub)
        .await?
        .ok_or(AccessError::Invalid)?;
    Ok(Verified { claims, user })
}
