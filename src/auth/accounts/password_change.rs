//! A user changing their own account: proving the current password (counted like a
//! login), and changing it (ASVS V6.2.2, V6.2.3, V7.4.3): the policy, then every other
//! session ends.

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::accounts::policy::Weakness;
use crate::auth::credentials::hash_pool::Saturated;
use crate::auth::guard::{Refused, Throttled};
use crate::auth::login::verify_user_password;
use crate::auth::sessions::EndReason;
use crate::model::username::Username;
use crate::store::{StoreError, UserRecord};

/// `POST /users/me/password` as the domain sees it.
pub struct PasswordChange<'a> {
    /// The client address the throttle counts a wrong current password against.
    pub client: IpAddr,
    pub username: &'a Username,
    /// The session the change is made from, which goes on; `None` for a token of no session.
    pub session: Option<&'a str>,
    pub current_password: String,
    pub new_password: String,
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The current password was not proven.
    #[error(transparent)]
    Proof(#[from] PasswordProofError),
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

/// Why a current password was not accepted: what `prove_password` refuses with.
#[derive(Debug, thiserror::Error)]
pub enum PasswordProofError {
    /// Too many wrong passwords for this (address, user); nothing was hashed.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error("incorrect current password")]
    IncorrectPassword,
    #[error("password hashing is saturated")]
    Busy(#[from] Saturated),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for PasswordProofError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(throttled) => Self::Throttled(throttled),
            Refused::Store(err) => Self::Store(err),
        }
    }
}

/// Checks the password of a user who already holds a token, before a change to their
/// account. A wrong one takes the same throttle cell a failed `/token` login takes for this
/// (address, user), so guessing here gets no second budget.
pub async fn prove_password(
    auth: &Auth,
    client: IpAddr,
    username: &Username,
    password: String,
) -> Result<Arc<UserRecord>, PasswordProofError> {
    let attempt = auth.guard.password_attempt(client, username).await?;
    let user = auth.users.get_user_fresh(username).await?;
    let Some(user) = verify_user_password(auth, user, password).await? else {
        attempt.failed();
        return Err(PasswordProofError::IncorrectPassword);
    };
    attempt.succeeded().await?;
    Ok(user)
}

/// Changes the user's password. The new password is checked only once the current one is
/// proven, so the policy's answers tell nothing to someone without it.
pub async fn change_password(
    auth: &Auth,
    change: PasswordChange<'_>,
) -> Result<(), PasswordChangeError> {
    let user = prove_password(
        auth,
        change.client,
        change.username,
        change.current_password,
    )
    .await?;
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
            &user,
            change.session,
            auth.clock.now(),
            EndReason::PasswordChanged,
        )
        .await?;
    tracing::info!(
        username = change.username.as_str(),
        "password changed; other sessions ended"
    );
    Ok(())
}
