//! What a successful login or refresh hands out: an access token inside a session, and the
//! refresh token that continues it.

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::credentials::totp;
use crate::auth::sessions::RefreshToken;
use crate::auth::tokens::id_token::{Methods, SignInFacts};
use crate::auth::tokens::{AccessToken, SessionBound};
use crate::model::scopes::{Scope, ScopeSet};
use crate::model::time::UnixTime;
use crate::store::session::{SessionRecord, SignIn};
use crate::store::{StoreError, UserRecord};

/// A granted token pair.
#[derive(Debug)]
pub struct Grant {
    pub user: Arc<UserRecord>,
    pub scope: ScopeSet,
    pub access_token: AccessToken,
    pub refresh_token: RefreshToken,
    pub session_id: String,
    /// OpenID Connect's id_token, for a client's grant with `openid`.
    pub id_token: Option<String>,
}

/// What the token endpoint answers, whichever grant gave it (RFC 6749 §5.1): the access
/// token, the scope granted, and the session's refresh token where the client may hold one.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub scope: ScopeSet,
    /// `None` for a client not registered for the refresh grant.
    pub refresh_token: Option<RefreshToken>,
    /// OpenID Connect's id_token, when the grant has `openid`.
    pub id_token: Option<String>,
}

/// A password login's or a refresh's grant, answered whole.
impl From<Grant> for TokenResponse {
    fn from(grant: Grant) -> Self {
        Self {
            access_token: grant.access_token,
            scope: grant.scope,
            refresh_token: Some(grant.refresh_token),
            id_token: grant.id_token,
        }
    }
}

/// Mints the access token for `session`: its `sid`, and an `exp` no later than the
/// session's deadline.
pub(crate) async fn issue_grant(
    auth: &Auth,
    user: Arc<UserRecord>,
    session: &SessionRecord,
    scope: ScopeSet,
    refresh_token: RefreshToken,
    now: UnixTime,
) -> Result<Grant, jsonwebtoken::errors::Error> {
    let bound = SessionBound {
        id: &session.id,
        ends_at: auth.sessions.deadline(session),
        client_id: session.client_id.as_deref(),
    };
    let access_token = auth
        .tokens
        .issue_access_token(user.username(), &scope, Some(bound), now)
        .await?;
    Ok(Grant {
        user,
        scope,
        access_token,
        refresh_token,
        session_id: session.id.clone(),
        id_token: None,
    })
}

/// Why no id_token could be made.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token encoding failed")]
    Token(#[from] jsonwebtoken::errors::Error),
}

/// The id_token of `client_id`'s grant (OpenID Connect Core §3.1.3.3; a refresh's, §12.2,
/// repeats the sign-in's `auth_time` and carries no `nonce`); `None` for a grant without
/// `openid`, or with OpenID Connect off.
pub(crate) async fn id_token(
    auth: &Auth,
    grant: &Grant,
    client_id: &str,
    sign_in: &SignIn,
    nonce: Option<&str>,
    now: UnixTime,
) -> Result<Option<String>, IdTokenError> {
    let Some(id_tokens) = &auth.id_tokens else {
        return Ok(None);
    };
    if !grant.scope.contains(&Scope::OPENID) {
        return Ok(None);
    }
    // Turning TOTP on or off ends every other session of the user, browser sessions
    // included, so a live sign-in passed the code exactly when the user has TOTP on now:
    // read with the session where the store could, else now.
    let second_factor = match sign_in.second_factor {
        Some(on) => on,
        None => totp::required(auth, grant.user.username()).await?.is_some(),
    };
    let methods = if second_factor {
        Methods::PasswordAndCode
    } else {
        Methods::Password
    };
    let facts = SignInFacts {
        subject: grant.user.id.as_str(),
        client_id,
        auth_time: sign_in.auth_time,
        nonce,
        access_token: &grant.access_token.token,
        methods,
        session: sign_in.browser_session.as_deref(),
    };
    Ok(Some(id_tokens.issue(&facts, now).await?))
}
