//! What a successful login or refresh hands out: an access token inside a session, and the
//! refresh token that continues it.

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::sessions::RefreshToken;
use crate::auth::tokens::{AccessToken, SessionBound};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::UserRecord;
use crate::store::session::SessionRecord;

/// A granted token pair.
#[derive(Debug)]
pub struct Grant {
    pub user: Arc<UserRecord>,
    pub scope: ScopeSet,
    pub access_token: AccessToken,
    pub refresh_token: RefreshToken,
    pub session_id: String,
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
            id_token: None,
        }
    }
}

/// Mints the access token for `session`: its `sid`, and an `exp` no later than the
/// session's deadline.
pub(crate) fn issue_grant(
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
    let access_token =
        auth.tokens
            .create_access_token_at(user.username(), &scope, Some(bound), now)?;
    Ok(Grant {
        user,
        scope,
        access_token,
        refresh_token,
        session_id: session.id.clone(),
    })
}
