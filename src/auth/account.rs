//! A user changing their own password (ASVS V6.2.2, V6.2.3, V7.4.3): the current password
//! first, counted like a login, then the policy, then every other session ends.

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::Auth;
use crate::auth::hash_pool::Saturated;
use crate::auth::password::Verification;
use crate::auth::policy::Weakness;
use crate::auth::session::EndReason;
use crate::auth::shared_throttle::{Refused, attempt_shared};
use crate::store::StoreError;

/// `POST /users/me/password` as the domain sees it.
pub struct PasswordChange<'a> {
    /// The client address the throttle counts a wrong current password against.
    pub client: IpAddr,
    pub username: &'a str,
    /// The session the change is made from, which goes on; `None` for a token of no session.
    pub session: Option<&'a str>,
    pub current_password: String,
    pub new_password: String,
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// Too many wrong passwords for this (address, user); nothing was hashed.
    #[error("too many failed attempts; retry in {retry_after:?}")]
    Throttled { retry_after: Duration },
    #[error("incorrect current password")]
    IncorrectPassword,
    #[error(transparent)]
    Weak(#[from] Weakness),
    /// The password changed between reading and writing it (another change, the CLI).
    #[error("the password changed meanwhile")]
    ChangedMeanwhile,
    #[error("password hashing is saturated")]
    Busy(#[from] Saturated),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for PasswordChangeError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(retry_after) => Self::Throttled { retry_after },
            Refused::Store(err) => Self::Store(err),
        }
    }
}

/// Changes the user's password. A wrong current password takes the same throttle cell a
/// failed `/token` login takes for this (address, user), so guessing here gets no second
/// budget. The new password is checked only once the current one is proven, so the policy's
/// answers tell nothing to someone without it.
pub async fn change_password(
    auth: &Auth,
    change: PasswordChange<'_>,
) -> Result<(), PasswordChangeError> {
    let attempt = auth
        .throttle
        .attempt(change.client, change.username)
        .map_err(|retry_after| PasswordChangeError::Throttled { retry_after })?;
    let shared = attempt_shared(
        auth.shared_throttle.as_ref(),
        change.client,
        change.username,
    )
    .await?;
    let user = auth.users.get_user_fresh(change.username).await?;
    let stored = user.as_ref().map(|user| user.hashed_password.clone());
    let verified = auth
        .hasher
        .verify_and_update(change.current_password, stored)
        .await?;
    let (Verification::Match { .. }, Some(user)) = (verified, user) else {
        attempt.failed();
        if let Some(shared) = shared {
            shared.failed();
        }
        return Err(PasswordChangeError::IncorrectPassword);
    };
    attempt.succeeded();
    if let Some(shared) = shared {
        shared.succeeded().await?;
    }
    auth.password_policy
        .check(change.username, &change.new_password)?;
    let new_hash = auth.hasher.hash(change.new_password).await?;
    let swapped = auth
        .users
        .update_password_hash(change.username, &user.hashed_password, new_hash)
        .await?;
    if !swapped {
        return Err(PasswordChangeError::ChangedMeanwhile);
    }
    auth.sessions
        .end_all_but(
            change.username,
            change.session,
            auth.clock.now(),
            EndReason::PasswordChanged,
        )
        .await?;
    tracing::info!(
        username = change.username,
        "password changed; other sessions ended"
    );
    Ok(())
}
