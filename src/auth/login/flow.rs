//! The login as a state machine over typed steps: a password verified, then the factors
//! pending, then done. Each step is a type, and each type has only the next step's method, so
//! a factor cannot be checked before the password, nor a grant issued before the factors.
//!
//! The (address, user) budget's cell is taken when the password arrives and settled once the
//! outcome is known (ASVS V6.3.5): a wrong password or a wrong code keeps it, a completed
//! login clears the count, and a login abandoned in between (no code yet, throttled codes, a
//! store failure) refunds it, as if it never happened.

use std::net::IpAddr;
use std::sync::Arc;

use super::ticket::ProvenPassword;
use super::{LoginError, authenticate_user, grant_scopes};
use crate::auth::Auth;
use crate::auth::credentials::totp::{self, CodeRefused, Factor};
use crate::auth::guard::PasswordAttempt;
use crate::auth::oauth::grant::{Grant, issue_grant};
use crate::auth::sessions::RefreshToken;
use crate::store::UserRecord;
use crate::store::session::SessionRecord;
use crate::store::totp::TotpRecord;

/// Where a login stands once its password is right.
pub enum PasswordStep<'a> {
    /// No factor is turned on: the user is authenticated.
    Authenticated(Authenticated<'a>),
    /// TOTP is on: a code or a recovery code must follow.
    FactorRequired(FactorRequired<'a>),
}

/// The first step: the account the typed name means, and its password.
pub async fn password<'a>(
    auth: &'a Auth,
    client: IpAddr,
    username: &str,
    password: String,
) -> Result<PasswordStep<'a>, LoginError> {
    let attempt = auth.guard.password_attempt(client, username).await?;
    let user = match authenticate_user(auth, username, password).await {
        Ok(user) => user,
        Err(LoginError::IncorrectCredentials) => {
            attempt.failed();
            return Err(LoginError::IncorrectCredentials);
        }
        Err(other) => return Err(other),
    };
    after_password(auth, user, attempt).await
}

/// The first step again, on a later request of a page: the password a login ticket vouches
/// for. The (address, user) cell is taken anew, so a wrong code there counts as on `/token`.
pub async fn password_proven<'a>(
    auth: &'a Auth,
    client: IpAddr,
    proven: &ProvenPassword,
) -> Result<PasswordStep<'a>, LoginError> {
    let attempt = auth
        .guard
        .password_attempt(client, proven.username())
        .await?;
    // Removed since: as if unknown (the cell is refunded, nothing was guessed).
    let user = match auth.users.find_login(proven.username()).await? {
        Some(user) if user.username() == proven.username() => user,
        _ => return Err(LoginError::IncorrectCredentials),
    };
    after_password(auth, user, attempt).await
}

async fn after_password<'a>(
    auth: &'a Auth,
    user: Arc<UserRecord>,
    attempt: PasswordAttempt<'a>,
) -> Result<PasswordStep<'a>, LoginError> {
    match totp::required(auth, user.username()).await? {
        Some(record) => Ok(PasswordStep::FactorRequired(FactorRequired {
            auth,
            user,
            record,
            attempt,
        })),
        None => Ok(PasswordStep::Authenticated(
            Authenticated::settle(auth, user, attempt).await?,
        )),
    }
}

/// A right password, and a second factor to come.
#[must_use = "a login dropped before its factor is refunded, as if it never happened"]
pub struct FactorRequired<'a> {
    auth: &'a Auth,
    user: Arc<UserRecord>,
    record: TotpRecord,
    attempt: PasswordAttempt<'a>,
}

impl<'a> FactorRequired<'a> {
    /// The user the password proved, for a page to greet by name.
    pub fn user(&self) -> &UserRecord {
        &self.user
    }

    /// The second step. A wrong code is a failed login of this (address, user) too; any
    /// other refusal (codes throttled, a store failure) leaves the login unsettled.
    pub async fn factor(self, factor: &Factor) -> Result<Authenticated<'a>, LoginError> {
        let user = self.user.username();
        match totp::check(self.auth, user, &self.record, factor).await {
            Ok(()) => Authenticated::settle(self.auth, self.user, self.attempt).await,
            Err(CodeRefused::Incorrect) => {
                self.attempt.failed();
                Err(LoginError::IncorrectTotp)
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// Every factor passed: what remains is the grant.
pub struct Authenticated<'a> {
    auth: &'a Auth,
    user: Arc<UserRecord>,
}

impl<'a> Authenticated<'a> {
    /// The login succeeded: the (address, user) count is cleared on every server.
    async fn settle(
        auth: &'a Auth,
        user: Arc<UserRecord>,
        attempt: PasswordAttempt<'a>,
    ) -> Result<Self, LoginError> {
        attempt.succeeded().await?;
        Ok(Self { auth, user })
    }

    pub fn user(&self) -> &UserRecord {
        &self.user
    }

    /// The last step: the scopes asked for (all the user may have when none are), in a new
    /// session, as an access token and a refresh token.
    pub async fn grant(self, scope: &str) -> Result<Grant, LoginError> {
        let auth = self.auth;
        let scope = grant_scopes(&auth.scopes, scope, &self.user)?;
        let now = auth.clock.now();
        let (session, refresh_token) = auth.sessions.start(&self.user, &scope, now).await?;
        Ok(issue_grant(auth, self.user, &session, scope, refresh_token, now).await?)
    }

    /// The last step of a page's login: a session of the login page itself (no access
    /// token), whose refresh token the browser keeps as its cookie.
    pub async fn start_browser_session(
        self,
    ) -> Result<(SessionRecord, RefreshToken, Arc<UserRecord>), LoginError> {
        let now = self.auth.clock.now();
        let (session, token) = self.auth.sessions.start_browser(&self.user, now).await?;
        Ok((session, token, self.user))
    }
}
