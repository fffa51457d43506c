//! The login: the password, then the factors a user has turned on, then a grant in a new
//! session. [`flow`] runs it step by step (a page runs each step in a request of its own);
//! [`login`] is `/token`'s password grant, all steps in one; [`ticket`] carries a proved
//! password from a page's first step to its second. Also the tutorial's
//! `authenticate_user`, and which scopes a login gets.

pub mod flow;
pub mod ticket;

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::credentials::hash_pool::Saturated;
use crate::auth::credentials::password::Verification;
use crate::auth::credentials::totp::sealing::Unsealable;
use crate::auth::credentials::totp::{CodeRefused, Factor};
use crate::auth::guard::{Refused, Throttled};
use crate::auth::oauth::grant::Grant;
use crate::model::event::RequestContext;
use crate::model::scopes::{Scope, ScopeCatalog, ScopeSet, UnknownScope};
use crate::store::{StoreError, UserRecord};
use flow::PasswordStep;

/// A password-grant login as the domain sees it.
pub struct LoginRequest<'a> {
    /// Who asks, from where: the address the throttle counts failures against, and what the
    /// login's events record.
    pub context: &'a RequestContext,
    pub username: &'a str,
    pub password: String,
    /// The space-separated scopes asked for; empty asks for all the user may have.
    pub scope: &'a str,
    /// The second factor sent with the password, for users with TOTP on.
    pub factor: Option<Factor>,
}

/// Why a login got no token.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many failures from this address (for this user, or at all); nothing was hashed.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// Unknown user or wrong password: deliberately one case (OWASP ASVS V6.3.8).
    #[error("incorrect username or password")]
    IncorrectCredentials,
    #[error("unknown scope {0}")]
    UnknownScope(String),
    #[error("scope {0} is not allowed for this user")]
    ScopeNotAllowed(Scope),
    /// The password was right; the user has TOTP on and sent no code.
    #[error("TOTP code required")]
    TotpRequired,
    /// The password was right; the code was wrong, replayed or a spent recovery code.
    #[error("incorrect TOTP code")]
    IncorrectTotp,
    /// The user's TOTP secret does not open with this server's `TOTP_ENCRYPTION_KEY`.
    #[error(transparent)]
    Unsealable(#[from] Unsealable),
    /// Every hashing thread is busy and the queue is full.
    #[error("password hashing is saturated")]
    Busy(#[from] Saturated),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token encoding failed")]
    Token(#[source] jsonwebtoken::errors::Error),
}

impl From<Refused> for LoginError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(throttled) => LoginError::Throttled(throttled),
            Refused::Store(err) => LoginError::Store(err),
        }
    }
}

impl From<CodeRefused> for LoginError {
    fn from(refused: CodeRefused) -> Self {
        match refused {
            CodeRefused::Incorrect => LoginError::IncorrectTotp,
            CodeRefused::Throttled(throttled) => LoginError::Throttled(throttled),
            CodeRefused::Unsealable(err) => LoginError::Unsealable(err),
            CodeRefused::Store(err) => LoginError::Store(err),
        }
    }
}

impl From<jsonwebtoken::errors::Error> for LoginError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        LoginError::Token(err)
    }
}

/// Logs a user in with the password grant and starts a session.
///
/// Every attempt takes a throttle cell before any hashing, so guessing costs the attacker,
/// not the server. A wrong password keeps the cell; a right one clears the count; anything
/// else (busy, a store failure, a cancelled request) refunds it as if it never happened.
pub async fn login(auth: &Auth, request: LoginRequest<'_>) -> Result<Grant, LoginError> {
    let outcome = attempt_login(auth, request).await;
    count(outcome.as_ref().map(|_| ()));
    outcome
}

/// Counts a login's outcome in the metrics, the password grant's and the login page's alike.
pub(crate) fn count(outcome: Result<(), &LoginError>) {
    crate::metrics::login(match outcome {
        Ok(()) => "success",
        Err(LoginError::IncorrectCredentials | LoginError::IncorrectTotp) => "failure",
        Err(LoginError::TotpRequired) => "totp_required",
        Err(LoginError::Throttled(_)) => "throttled",
        Err(LoginError::Busy(_)) => "busy",
        Err(LoginError::UnknownScope(_) | LoginError::ScopeNotAllowed(_)) => "invalid_scope",
        Err(LoginError::Store(_) | LoginError::Token(_) | LoginError::Unsealable(_)) => "error",
    });
}

/// The password grant: every step at once. A user with TOTP on who sent no factor is told
/// so only after a right password ([`LoginError::TotpRequired`]).
async fn attempt_login(auth: &Auth, request: LoginRequest<'_>) -> Result<Grant, LoginError> {
    let authenticated =
        match flow::password(auth, request.context, request.username, request.password).await? {
            PasswordStep::Authenticated(done) => done,
            PasswordStep::FactorRequired(pending) => {
                let factor = request.factor.ok_or(LoginError::TotpRequired)?;
                pending.factor(&factor).await?
            }
        };
    authenticated.grant(request.scope).await
}

/// The tutorial's `authenticate_user`: the account the typed name means (RFC 8265: `ZOE` is
/// `zoe`), if the password is its own. Unknown users and wrong passwords are the same error
/// after the same amount of hashing.
pub async fn authenticate_user(
    auth: &Auth,
    username: &str,
    password: String,
) -> Result<Arc<UserRecord>, LoginError> {
    check_password(auth, username, password)
        .await?
        .map_err(|_| LoginError::IncorrectCredentials)
}

/// Why a password proved no account. The two are told apart for the audit trail only: the
/// answer is one, after the same hashing (ASVS V6.3.8).
pub(crate) enum Unproven {
    UnknownUser,
    WrongPassword(Arc<UserRecord>),
}

/// [`authenticate_user`], saying which way it failed.
pub(crate) async fn check_password(
    auth: &Auth,
    username: &str,
    password: String,
) -> Result<Result<Arc<UserRecord>, Unproven>, LoginError> {
    // Never a cached copy: a password changed or a user disabled a moment ago counts now.
    let user = auth.users.find_login(username).await?;
    let known = user.clone();
    Ok(
        match (verify_user_password(auth, user, password).await?, known) {
            (Some(user), _) => Ok(user),
            (None, Some(user)) => Err(Unproven::WrongPassword(user)),
            (None, None) => Err(Unproven::UnknownUser),
        },
    )
}

/// Checks `password` against the user's stored hash (against a decoy when there is no user,
/// so that it takes as long). A right password on an outdated hash (bcrypt, weaker argon2,
/// or the password as typed rather than normalized) stores a fresh argon2id hash in its place.
pub(crate) async fn verify_user_password(
    auth: &Auth,
    user: Option<Arc<UserRecord>>,
    password: String,
) -> Result<Option<Arc<UserRecord>>, Saturated> {
    let stored_hash = user.as_ref().map(|user| user.hashed_password.clone());
    let Verification::Match { rehashed } =
        auth.hasher.verify_and_update(password, stored_hash).await?
    else {
        return Ok(None);
    };
    let Some(user) = user else {
        return Ok(None);
    };
    let Some(new_hash) = rehashed else {
        return Ok(Some(user));
    };
    let username = user.username().as_str();
    // A failed upgrade must not fail the login: the old hash still verifies.
    let upgrade =
        auth.users
            .update_password_hash(user.username(), &user.hashed_password, new_hash.clone());
    match upgrade.await {
        Ok(true) => {
            tracing::info!(username, "password hash upgraded to argon2id");
            // The record as now stored, for a change that swaps the hash next.
            return Ok(Some(Arc::new(UserRecord {
                hashed_password: new_hash,
                ..UserRecord::clone(&user)
            })));
        }
        Ok(false) => tracing::info!(username, "password changed meanwhile; not upgraded"),
        Err(err) => tracing::warn!(username, %err, "password hash upgrade failed"),
    }
    Ok(Some(user))
}

/// The scopes a login is granted: exactly those requested, each offered and allowed for the
/// user, or the user's whole allowed set when none are requested (RFC 6749 §3.3). The
/// tutorial grants whatever is asked; that is the hole this closes.
pub fn grant_scopes(
    offered: &ScopeCatalog,
    requested: &str,
    user: &UserRecord,
) -> Result<ScopeSet, LoginError> {
    let requested = offered
        .parse(requested)
        .map_err(|UnknownScope(name)| LoginError::UnknownScope(name))?;
    if let Some(refused) = requested.iter().find(|scope| !user.scopes.contains(scope)) {
        return Err(LoginError::ScopeNotAllowed(refused.clone()));
    }
    Ok(if requested.is_empty() {
        offered.restrict(&user.scopes)
    } else {
        requested
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::demo;

    fn johndoe_with(scopes: &[Scope]) -> UserRecord {
        UserRecord {
            scopes: ScopeSet::from(scopes),
            ..demo::users().remove(0)
        }
    }

    #[test]
    fn grants_what_is_asked_when_allowed() {
        let tutorial = ScopeCatalog::default();
        let user = johndoe_with(&Scope::TUTORIAL);
        assert_eq!(
            grant_scopes(&tutorial, "items", &user).unwrap(),
            ScopeSet::from([Scope::ITEMS])
        );
        assert_eq!(
            grant_scopes(&tutorial, "me me", &user).unwrap(),
            ScopeSet::from([Scope::ME])
        );
    }

    #[test]
    fn grants_the_allowed_set_when_nothing_is_asked() {
        let tutorial = ScopeCatalog::default();
        let user = johndoe_with(&[Scope::ME]);
        assert_eq!(
            grant_scopes(&tutorial, " ", &user).unwrap(),
            ScopeSet::from([Scope::ME])
        );
    }

    #[test]
    fn refuses_unknown_and_unallowed_scopes_by_name() {
        let tutorial = ScopeCatalog::default();
        let user = johndoe_with(&[Scope::ME]);
        assert!(matches!(
            grant_scopes(&tutorial, "me admin", &user),
            Err(LoginError::UnknownScope(name)) if name == "admin"
        ));
        assert!(matches!(
            grant_scopes(&tutorial, "items", &user),
            Err(LoginError::ScopeNotAllowed(scope)) if scope == Scope::ITEMS
        ));
    }

    #[test]
    fn grants_only_what_is_offered() {
        let offered = ScopeCatalog::with([("openid", "Sign you in")]).unwrap();
        let openid = Scope::new("openid").unwrap();
        let user = johndoe_with(&[Scope::ME, openid.clone()]);
        assert_eq!(
            grant_scopes(&offered, "openid", &user).unwrap(),
            ScopeSet::from([openid.clone()])
        );
        // Withdrawn from the catalogue: neither asked for nor granted by default.
        let tutorial = ScopeCatalog::default();
        assert!(matches!(
            grant_scopes(&tutorial, "openid", &user),
            Err(LoginError::UnknownScope(name)) if name == "openid"
        ));
        assert_eq!(
            grant_scopes(&tutorial, "", &user).unwrap(),
            ScopeSet::from([Scope::ME])
        );
    }
}
