//! Consent (ASVS V10.7): what a user allowed a client, remembered so the next sign-in from
//! that client does not ask again; a client asking for more than was allowed asks again
//! (V10.7.2), and a user can see and revoke what they allowed (V10.7.3). First-party
//! clients (the operator's own apps) are never asked.

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::oauth::authorize::Prompt;
use crate::model::client::Client;
use crate::model::scopes::ScopeSet;
use crate::model::user_id::UserId;
use crate::store::StoreError;
use crate::store::consents::ConsentRecord;

/// Whether the user must be asked before `client` gets `scope`.
pub async fn consent_needed(
    auth: &Auth,
    client: &Client,
    user: &UserId,
    scope: &ScopeSet,
    prompt: Prompt,
) -> Result<bool, StoreError> {
    if client.first_party {
        return Ok(false);
    }
    if prompt == Prompt::Consent {
        return Ok(true);
    }
    let given = auth.consents.find(user, &client.id).await?;
    Ok(!given.is_some_and(|given| given.scope.includes(scope)))
}

/// Remembers that the user allowed `client` `scope`, on top of what they allowed before.
pub async fn record_consent(
    auth: &Auth,
    client: &Client,
    user: &UserId,
    scope: &ScopeSet,
) -> Result<(), StoreError> {
    let earlier = auth.consents.find(user, &client.id).await?;
    let scope = match earlier {
        Some(earlier) => earlier.scope.union(scope),
        None => scope.clone(),
    };
    auth.consents
        .put(ConsentRecord {
            user_id: user.to_owned(),
            client_id: client.id.clone(),
            scope,
            granted_at: auth.clock.now(),
        })
        .await
}

/// A consent as its user sees it: with the client, unless it has been removed since.
pub struct GivenConsent {
    pub consent: ConsentRecord,
    pub client: Option<Arc<Client>>,
}

/// The user's consents, newest first.
pub async fn consents_of(auth: &Auth, user: &UserId) -> Result<Vec<GivenConsent>, StoreError> {
    let mut consents = auth.consents.list(user).await?;
    consents.sort_by(|a, b| {
        b.granted_at
            .cmp(&a.granted_at)
            .then_with(|| a.client_id.cmp(&b.client_id))
    });
    let mut given = Vec::with_capacity(consents.len());
    for consent in consents {
        let client = auth.clients.find(&consent.client_id).await?;
        given.push(GivenConsent { consent, client });
    }
    Ok(given)
}

/// Withdraws the user's consent to a client and ends the user's sessions of that client
/// (ASVS V10.7.3): its access tokens are refused from the next request, on every replica,
/// its refresh tokens are dead, and its codes not yet exchanged with them. `false`: there
/// was no such consent, and nothing changed.
pub async fn revoke_consent(
    auth: &Auth,
    user: &UserId,
    client_id: &str,
) -> Result<bool, StoreError> {
    if !auth.consents.revoke(user, client_id).await? {
        return Ok(false);
    }
    let now = auth.clock.now();
    auth.sessions
        .end_client_sessions(user, client_id, now)
        .await?;
    Ok(true)
}
