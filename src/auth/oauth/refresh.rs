//! The refresh use case (RFC 6749 §6): a refresh token in, a new token pair of the same
//! session out, the old refresh token spent.

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::guard::Throttled;
use crate::auth::oauth::clients::ClientCredentials;
use crate::auth::oauth::grant::{Grant, IdTokenError, id_token, issue_grant};
use crate::auth::sessions::{EndReason, RefreshRefused, RefreshToken};
use crate::model::description::naming;
use crate::model::scopes::{ScopeCatalog, ScopeSet, UnknownScope};
use crate::model::time::UnixTime;
use crate::store::session::{Rotated, SessionRecord};
use crate::store::{StoreError, UserRecord};

/// A refresh-token grant as the domain sees it.
pub struct RefreshRequest<'a> {
    /// The address the throttle counts failed refreshes against.
    pub address: IpAddr,
    pub refresh_token: &'a str,
    /// Space-separated scopes; empty keeps what the session was granted.
    pub scope: &'a str,
    /// How the caller identified itself as a client, if it did: checked only for a session
    /// a client's code exchange started, which only that client may refresh (RFC 6749 §6).
    pub client: Option<ClientCredentials<'a>>,
}

/// Why a refresh got no tokens.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Too many failures from this address; nothing was looked up.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error("{0}")]
    Refused(#[from] RefreshRefused),
    /// The session's user has been disabled or deleted; the session ended (ASVS V7.4.2).
    #[error("User is disabled")]
    UserDisabled,
    /// A requested scope does not exist, or the session was not granted it.
    #[error("{0}")]
    InvalidScope(String),
    /// The session belongs to a registered client, and the caller did not prove it is one
    /// (RFC 6749 §5.2 `invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The session belongs to another registered client than the one that proved itself.
    #[error("Refresh token was issued to another client")]
    OtherClient,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token encoding failed")]
    Token(#[from] jsonwebtoken::errors::Error),
}

impl From<IdTokenError> for RefreshError {
    fn from(err: IdTokenError) -> Self {
        match err {
            IdTokenError::Store(err) => RefreshError::Store(err),
            IdTokenError::Token(err) => RefreshError::Token(err),
        }
    }
}

/// Redeems a refresh token. Failures take a throttle cell from the client address, as
/// failed logins do; a store or encoding failure refunds it.
pub async fn refresh(auth: &Auth, request: RefreshRequest<'_>) -> Result<Grant, RefreshError> {
    let attempt = match auth.guard.address_attempt(request.address) {
        Ok(attempt) => attempt,
        Err(throttled) => {
            crate::metrics::refresh("throttled");
            return Err(throttled.into());
        }
    };
    let outcome = redeem(auth, &request).await;
    let label = match &outcome {
        Ok(_) => "success",
        Err(RefreshError::Throttled(_)) => "throttled",
        Err(RefreshError::Refused(_) | RefreshError::UserDisabled | RefreshError::OtherClient) => {
            "invalid_grant"
        }
        Err(RefreshError::InvalidClient) => "invalid_client",
        Err(RefreshError::InvalidScope(_)) => "invalid_scope",
        Err(RefreshError::Store(_) | RefreshError::Token(_)) => "error",
    };
    crate::metrics::refresh(label);
    match &outcome {
        Ok(_) => attempt.succeeded(),
        Err(RefreshError::Store(_) | RefreshError::Token(_)) => drop(attempt),
        Err(_) => attempt.failed().await,
    }
    outcome
}

async fn redeem(auth: &Auth, request: &RefreshRequest<'_>) -> Result<Grant, RefreshError> {
    let now = auth.clock.now();
    let (session, user, scope, refresh_token, sign_in) = match fast_way(auth, request, now).await? {
        Some((rotated, refresh_token)) => {
            let scope = kept_scopes(&auth.scopes, &rotated.session.scope, &rotated.user);
            (
                rotated.session,
                rotated.user,
                scope,
                refresh_token,
                rotated.sign_in,
            )
        }
        None => {
            let (session, user, scope, refresh_token) = long_way(auth, request, now).await?;
            // Read only for a client's session once id_tokens are on: what the new one repeats.
            let sign_in = match &session.client_id {
                Some(_) if auth.id_tokens.is_some() => auth.sessions.sign_in(&session.id).await?,
                _ => None,
            };
            (session, user, scope, refresh_token, sign_in)
        }
    };
    let mut grant = issue_grant(auth, user, &session, scope, refresh_token, now).await?;
    // A client's OpenID Connect session: a new id_token of the same sign-in (Core §12.2).
    if let Some(client_id) = &session.client_id
        && auth.id_tokens.is_some()
        && let Some(sign_in) = sign_in
    {
        grant.id_token = id_token(auth, &grant, client_id, &sign_in, None, now).await?;
    }
    Ok(grant)
}

/// The common case in one round trip: the current token of a live session of an enabled
/// user, keeping the session's scopes. A client's session rotates here only once the caller
/// has proved it is that client (RFC 6749 §6); checking the credentials changes nothing, so a
/// caller who is not the client still sets nothing off. A narrowing `scope` must be checked
/// before the token is spent, so it takes the long way, as do wrong credentials and every
/// refusal.
async fn fast_way(
    auth: &Auth,
    request: &RefreshRequest<'_>,
    now: UnixTime,
) -> Result<Option<(Rotated, RefreshToken)>, RefreshError> {
    if !request.scope.trim().is_empty() {
        return Ok(None);
    }
    let client = match request.client {
        Some(credentials) => match auth.clients.verify(credentials).await? {
            Some(client) => Some(client),
            None => return Ok(None),
        },
        None => None,
    };
    let client_id = client.as_ref().map(|client| client.id.as_str());
    Ok(auth
        .sessions
        .rotate_current(request.refresh_token, now, client_id)
        .await?)
}

/// Find, check, rotate: what tells the refusals apart. A session a client's code exchange
/// started authenticates that client first (RFC 6749 §6): without its credentials nothing
/// else runs, so neither reuse detection nor any change to the session can be set off by a
/// caller who is not that client. A rotation lost to a concurrent refresh of the same token
/// redeems again, which then finds the token used: of concurrent refreshes exactly one
/// succeeds.
async fn long_way(
    auth: &Auth,
    request: &RefreshRequest<'_>,
    now: UnixTime,
) -> Result<(SessionRecord, Arc<UserRecord>, ScopeSet, RefreshToken), RefreshError> {
    let mut client_proven = false;
    loop {
        let Some(found) = auth.sessions.find(request.refresh_token).await? else {
            return Err(RefreshRefused::Unknown.into());
        };
        if let Some(owner) = &found.session().client_id
            && !client_proven
        {
            let client = match request.client {
                Some(credentials) => auth.clients.verify(credentials).await?,
                None => None,
            };
            match client {
                None => return Err(RefreshError::InvalidClient),
                Some(client) if client.id != *owner => return Err(RefreshError::OtherClient),
                Some(_) => client_proven = true,
            }
        }
        let redeemable = auth.sessions.judge(found, now).await??;
        let session = &redeemable.session;
        let user = match auth.users.get_user_fresh(&session.username).await? {
            Some(user) if !user.profile.disabled => user,
            _ => {
                auth.sessions
                    .end(&session.id, now, EndReason::UserDisabled)
                    .await?;
                return Err(RefreshError::UserDisabled);
            }
        };
        let scope = kept_scopes(
            &auth.scopes,
            &narrow_scopes(&auth.scopes, request.scope, &session.scope)?,
            &user,
        );
        if let Some((session, refresh_token)) = auth.sessions.rotate(&redeemable, now).await? {
            return Ok((session, user, scope, refresh_token));
        }
    }
}

/// `asked` less whatever the user has lost since the login (identity scopes are never lost).
fn kept_scopes(offered: &ScopeCatalog, asked: &ScopeSet, user: &UserRecord) -> ScopeSet {
    offered.grantable(asked, &user.scopes)
}

/// The scopes a refresh asks for: any subset of the session's grant, or all of it when
/// none are named (RFC 6749 §6). A name this deployment does not offer is unknown.
pub fn narrow_scopes(
    offered: &ScopeCatalog,
    requested: &str,
    granted: &ScopeSet,
) -> Result<ScopeSet, RefreshError> {
    let requested = offered
        .parse_request(requested)
        .map_err(|UnknownScope(name)| RefreshError::InvalidScope(naming("Unknown scope", &name)))?;
    if let Some(beyond) = requested.iter().find(|scope| !granted.contains(scope)) {
        return Err(RefreshError::InvalidScope(format!(
            "Scope not granted to this session: {beyond}"
        )));
    }
    Ok(if requested.is_empty() {
        granted.clone()
    } else {
        requested
    })
}
