//! The login as a state machine over typed steps: a password verified, then the factors
//! pending, then done. Each step is a type, and each type has only the next step's method, so
//! a factor cannot be checked before the password, nor a grant issued before the factors.
//!
//! The (address, user) budget's cell is taken when the password arrives and settled once the
//! outcome is known (ASVS V6.3.5): a wrong password or a wrong code keeps it, a completed
//! login clears the count, and a login abandoned in between (no code yet, throttled codes, a
//! store failure) refunds it, as if it never happened.

use std::sync::Arc;

use super::ticket::ProvenPassword;
use super::{LoginError, Unproven, check_password, grant_scopes};
use crate::auth::Auth;
use crate::auth::credentials::totp::{self, CodeRefused, Factor};
use crate::auth::guard::{PasswordAttempt, Refused};
use crate::auth::oauth::grant::{Grant, issue_grant};
use crate::auth::sessions::RefreshToken;
use crate::model::event::{Actor, Event, EventType, Outcome, RequestContext};
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
    context: &'a RequestContext,
    username: &str,
    password: String,
) -> Result<PasswordStep<'a>, LoginError> {
    let attempt = admit(auth, context, username).await?;
    let user = match check_password(auth, username, password).await? {
        Ok(user) => user,
        Err(unproven) => {
            attempt.failed();
            let failed = auth.event(context, EventType::LoginFailed, Outcome::Failure);
            let failed = match unproven {
                // The name as typed, as data: it may be anything.
                Unproven::UnknownUser => failed.user(username, None).reason("unknown_user"),
                Unproven::WrongPassword(user) => failed
                    .user(user.username(), Some(user.id.as_str()))
                    .reason("wrong_password"),
            };
            auth.audit.record(&[failed]).await;
            return Err(LoginError::IncorrectCredentials);
        }
    };
    after_password(auth, context, user, attempt).await
}

/// The first step again, on a later request of a page: the password a login ticket vouches
/// for. The (address, user) cell is taken anew, so a wrong code there counts as on `/token`.
pub async fn password_proven<'a>(
    auth: &'a Auth,
    context: &'a RequestContext,
    proven: &ProvenPassword,
) -> Result<PasswordStep<'a>, LoginError> {
    let attempt = admit(auth, context, proven.username()).await?;
    // Removed since: as if unknown (the cell is refunded, nothing was guessed).
    let user = match auth.users.find_login(proven.username()).await? {
        Some(user) if user.username() == proven.username() => user,
        _ => return Err(LoginError::IncorrectCredentials),
    };
    after_password(auth, context, user, attempt).await
}

/// A cell of the (address, user) budget, or the refusal, recorded once per cell and window
/// (a flood of refused guesses is one event, not one per guess).
async fn admit<'a>(
    auth: &'a Auth,
    context: &RequestContext,
    username: &str,
) -> Result<PasswordAttempt<'a>, LoginError> {
    match auth
        .guard
        .password_attempt(context.client_address(), username)
        .await
    {
        Ok(attempt) => Ok(attempt),
        Err(Refused::Throttled(throttled)) => {
            let event = auth
                .event(context, EventType::LoginThrottled, Outcome::Failure)
                .user(username, None)
                .reason("failed_logins");
            auth.audit.record_throttled(event, throttled.0).await;
            Err(LoginError::Throttled(throttled))
        }
        Err(other) => Err(other.into()),
    }
}

async fn after_password<'a>(
    auth: &'a Auth,
    context: &'a RequestContext,
    user: Arc<UserRecord>,
    attempt: PasswordAttempt<'a>,
) -> Result<PasswordStep<'a>, LoginError> {
    match totp::required(auth, user.username()).await? {
        Some(record) => Ok(PasswordStep::FactorRequired(FactorRequired {
            auth,
            context,
            user,
            record,
            attempt,
        })),
        None => Ok(PasswordStep::Authenticated(
            Authenticated::settle(auth, context, user, attempt).await?,
        )),
    }
}

/// A right password, and a second factor to come.
#[must_use = "a login dropped before its factor is refunded, as if it never happened"]
pub struct FactorRequired<'a> {
    auth: &'a Auth,
    context: &'a RequestContext,
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
        let (auth, context) = (self.auth, self.context);
        let user = self.user.username();
        let refused = |kind, reason| {
            auth.event(context, kind, Outcome::Failure)
                .user(user, Some(self.user.id.as_str()))
                .reason(reason)
        };
        match totp::check(auth, user, &self.record, factor).await {
            Ok(()) => Authenticated::settle(auth, context, self.user, self.attempt).await,
            Err(CodeRefused::Incorrect) => {
                let event = refused(EventType::LoginSecondFactorFailed, "incorrect_code");
                self.attempt.failed();
                auth.audit.record(&[event]).await;
                Err(LoginError::IncorrectTotp)
            }
            Err(CodeRefused::Throttled(throttled)) => {
                let event = refused(EventType::LoginThrottled, "failed_codes");
                auth.audit.record_throttled(event, throttled.0).await;
                Err(LoginError::Throttled(throttled))
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// Every factor passed: what remains is the grant.
pub struct Authenticated<'a> {
    auth: &'a Auth,
    context: &'a RequestContext,
    user: Arc<UserRecord>,
}

impl<'a> Authenticated<'a> {
    /// The login succeeded: the (address, user) count is cleared on every server.
    async fn settle(
        auth: &'a Auth,
        context: &'a RequestContext,
        user: Arc<UserRecord>,
        attempt: PasswordAttempt<'a>,
    ) -> Result<Self, LoginError> {
        attempt.succeeded().await?;
        Ok(Self {
            auth,
            context,
            user,
        })
    }

    pub fn user(&self) -> &UserRecord {
        &self.user
    }

    /// The event of this login, recorded with the session it starts.
    fn succeeded(&self) -> Event {
        let user = &self.user;
        let by_user = self
            .context
            .as_actor(Actor::User(user.username().to_string()));
        self.auth
            .event(&by_user, EventType::LoginSucceeded, Outcome::Success)
            .user(user.username(), Some(user.id.as_str()))
    }

    /// A right password and factors for an account that is disabled: refused (the login
    /// page's rule), and recorded.
    pub async fn refuse_inactive(self) {
        let user = &self.user;
        let event = self
            .auth
            .event(
                self.context,
                EventType::LoginRefusedInactive,
                Outcome::Failure,
            )
            .user(user.username(), Some(user.id.as_str()))
            .reason("disabled");
        self.auth.audit.record(&[event]).await;
    }

    /// The last step: the scopes asked for (all the user may have when none are), in a new
    /// session, as an access token and a refresh token.
    pub async fn grant(self, scope: &str) -> Result<Grant, LoginError> {
        let auth = self.auth;
        let scope = grant_scopes(&auth.scopes, scope, &self.user)?;
        let now = auth.clock.now();
        let started = self.succeeded();
        let (session, refresh_token) = auth
            .sessions
            .start(&self.user, &scope, now, started)
            .await?;
        Ok(issue_grant(auth, self.user, &session, scope, refresh_token, now).await?)
    }

    /// The last step of a page's login: a session of the login page itself (no access
    /// token), whose refresh token the browser keeps as its cookie.
    pub async fn start_browser_session(
        self,
    ) -> Result<(SessionRecord, RefreshToken, Arc<UserRecord>), LoginError> {
        let now = self.auth.clock.now();
        let started = self.succeeded();
        let (session, token) = self
            .auth
            .sessions
            .start_browser(&self.user, now, started)
            .await?;
        Ok((session, token, self.user))
    }
}
