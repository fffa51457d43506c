//! Token revocation (RFC 7009): a client gives back a token it no longer needs, and the
//! session the token belongs to ends.
//!
//! A token bound to a registered client is that client's to give back: the client
//! authenticates before anything changes (RFC 7009 §2.1), a confidential one with its secret,
//! a public one with its `client_id`. Without that, nothing ends, so a token seen in a log is
//! no kill switch. The tutorial's sessions (no client) are revoked by whoever holds one of
//! their tokens, credentials or none, as before. Every other outcome is the same 200, so the answer tells nothing about a token
//! (RFC 7009 §2.2).

use std::net::IpAddr;

use crate::auth::Auth;
use crate::auth::oauth::clients::{ClientCredentials, ClientRefused};
use crate::auth::sessions::EndReason;
use crate::store::StoreError;

/// A revocation request as the domain sees it.
#[derive(Debug, Clone, Copy)]
pub struct Revocation<'a> {
    /// The address a failed client authentication is counted against.
    pub address: IpAddr,
    /// An access token or a refresh token.
    pub token: &'a str,
    /// How the caller identified itself as a client, if it did.
    pub client: Option<ClientCredentials<'a>>,
}

/// The session a token belongs to, and the client that owns it.
struct Target {
    session_id: String,
    client_id: Option<String>,
}

/// Ends the session `request.token` belongs to, if the caller may end it. The only refusal is
/// a client's ([`ClientRefused`]): nothing ended.
pub async fn revoke(auth: &Auth, request: Revocation<'_>) -> Result<(), ClientRefused> {
    let Some(target) = target(auth, request.token).await? else {
        return Ok(());
    };
    if let Some(owner) = &target.client_id {
        // A wrong secret spends a cell of the address's budget, like a wrong password.
        let client = auth
            .clients
            .authenticate(&auth.guard, request.address, request.client)
            .await?;
        if client.id != *owner {
            // Not this client's to give back: answered as an unknown token.
            return Ok(());
        }
    }
    let now = auth.clock.now();
    auth.sessions
        .end(&target.session_id, now, EndReason::Revoked)
        .await?;
    Ok(())
}

/// What a token would end. Access tokens are JWTs and refresh tokens are not, so each kind is
/// recognised by trying it (RFC 7009 §2.1 lets the server extend its search beyond the hint).
/// A refresh token must be one its session was really given ([`Found::genuine`]).
///
/// [`Found::genuine`]: crate::auth::sessions::Found::genuine
async fn target(auth: &Auth, token: &str) -> Result<Option<Target>, StoreError> {
    let now = auth.clock.now();
    if let Ok(claims) = auth.tokens.decode_at(token, now) {
        return Ok(claims.sid.as_ref().map(|sid| Target {
            session_id: sid.clone(),
            client_id: claims.client_id.clone(),
        }));
    }
    Ok(auth
        .sessions
        .find(token)
        .await?
        .filter(|found| found.genuine())
        .map(|found| Target {
            session_id: found.session().id.clone(),
            client_id: found.session().client_id.clone(),
        }))
}
