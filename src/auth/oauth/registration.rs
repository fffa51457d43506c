//! Registering clients, the operator's side of [`Clients`](super::clients::Clients): what
//! `passflow clients` checks and makes. Ids and secrets come from the OS RNG; a secret is
//! shown once, and only its SHA-256 is kept. Each change is recorded with the operator's
//! [`RequestContext`] in the change's own transaction (ASVS V16.3.3).

use super::clients::secret_digest;
use crate::auth::audit::announce;
use crate::auth::tokens::secret::os_random_base64url;
use crate::clock::Clock;
use crate::model::client::{Client, PkcePolicy, RedirectUri, RedirectUriError};
use crate::model::event::{Event, EventType, Outcome, RequestContext};
use crate::model::scopes::{ScopeCatalog, UnknownScope};
use crate::store::StoreError;
use crate::store::admin::EndSessions;
use crate::store::clients::ClientRegistry;

/// The `session.ended` reason of the sessions a removed client leaves.
const CLIENT_REMOVED: &str = "client_removed";

fn event(context: &RequestContext, kind: EventType, client_id: &str) -> Event {
    context
        .event(kind, Outcome::Success, Clock::system().now_millis())
        .client(client_id)
}

/// A client as the operator describes it.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Where it may send users after they sign out; none: the "signed out" page.
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    /// Space- or comma-separated; `None`: any scope the deployment offers.
    pub scopes: Option<String>,
    pub pkce: PkcePolicy,
    pub refresh: bool,
}

/// Why a client cannot be registered (the command exits 2, naming it).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the client's name is empty")]
    EmptyName,
    #[error("a client needs at least one --redirect-uri")]
    NoRedirectUri,
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    #[error("--scopes: {0}, not offered here (OFFERED_SCOPES)")]
    UnknownScope(UnknownScope),
    #[error("a public client must use PKCE: --pkce optional is for confidential clients")]
    PublicWithoutPkce,
    #[error("client {0:?} is public: it has no secret to rotate")]
    PublicSecret(String),
    #[error("no client {0:?}")]
    NoSuchClient(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client just registered, and its secret (confidential clients), which is not kept.
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

/// `n` bytes from the OS RNG, base64url.
fn random(n: usize) -> String {
    // The OS RNG failing is not a state to go on from: no id or secret is better than a
    // guessable one.
    os_random_base64url(n).expect("the operating system's RNG is unavailable")
}

/// A new client id (128 bits). Never one that begins with `-`, which a command line taking
/// the id as its own argument (`passflow clients remove ID`, older passflow builds and other
/// tools alike) would read as an option: one draw in 64 is drawn again.
fn new_client_id() -> String {
    loop {
        let id = random(16);
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// A new secret (256 bits) and the digest kept in its place.
fn new_secret() -> (String, [u8; 32]) {
    let secret = random(32);
    let digest = secret_digest(secret.as_bytes());
    (secret, digest)
}

/// Checks and stores a new client: redirect URIs registered as `https` or loopback `http`
/// without a fragment, scopes the deployment offers, PKCE for every public client.
pub async fn register(
    registry: &dyn ClientRegistry,
    offered: &ScopeCatalog,
    new: NewClient,
    context: &RequestContext,
) -> Result<Registered, RegistrationError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(RegistrationError::EmptyName);
    }
    if new.redirect_uris.is_empty() {
        return Err(RegistrationError::NoRedirectUri);
    }
    let redirect_uris = new
        .redirect_uris
        .iter()
        .map(|uri| RedirectUri::parse(uri))
        .collect::<Result<Vec<_>, _>>()?;
    let post_logout_redirect_uris = new
        .post_logout_redirect_uris
        .iter()
        .map(|uri| RedirectUri::parse(uri))
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = new
        .scopes
        .as_deref()
        .map(|scopes| offered.parse(&scopes.replace(',', " ")))
        .transpose()
        .map_err(RegistrationError::UnknownScope)?;
    if new.public && new.pkce == PkcePolicy::Optional {
        return Err(RegistrationError::PublicWithoutPkce);
    }
    let (secret, secret_sha256) = match new.public {
        true => (None, None),
        false => {
            let (secret, digest) = new_secret();
            (Some(secret), Some(digest))
        }
    };
    let client = Client {
        id: new_client_id(),
        name: name.to_owned(),
        redirect_uris,
        post_logout_redirect_uris,
        secret_sha256,
        first_party: new.first_party,
        scopes,
        pkce: new.pkce,
        refresh: new.refresh,
    };
    let event = event(context, EventType::ClientCreated, &client.id);
    registry.add(client.clone(), &event).await?;
    announce(&event);
    Ok(Registered { client, secret })
}

/// A new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(
    registry: &dyn ClientRegistry,
    id: &str,
    context: &RequestContext,
) -> Result<String, RegistrationError> {
    let listed = registry.list().await?;
    let client = listed
        .iter()
        .find(|client| client.id == id)
        .ok_or_else(|| RegistrationError::NoSuchClient(id.to_owned()))?;
    if client.is_public() {
        return Err(RegistrationError::PublicSecret(id.to_owned()));
    }
    let (secret, digest) = new_secret();
    let event = event(context, EventType::ClientSecretRotated, id);
    if !registry.set_secret(id, digest, &event).await? {
        return Err(RegistrationError::NoSuchClient(id.to_owned()));
    }
    announce(&event);
    Ok(secret)
}

/// Removes a client: its codes stop working and its sessions end, each recorded.
pub async fn remove(
    registry: &dyn ClientRegistry,
    id: &str,
    context: &RequestContext,
) -> Result<Client, RegistrationError> {
    let event = event(context, EventType::ClientRemoved, id);
    let clock = Clock::system();
    let end = EndSessions {
        at: clock.now(),
        ended: context
            .event(
                EventType::SessionEnded,
                Outcome::Success,
                clock.now_millis(),
            )
            .reason(CLIENT_REMOVED),
    };
    let removed = registry.remove(id, &end, &event).await?;
    let client = removed.ok_or_else(|| RegistrationError::NoSuchClient(id.to_owned()))?;
    announce(&event);
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_never_begin_with_a_dash() {
        // Of 4 096 base64url ids, about 64 would begin with `-` if nothing prevented it.
        let ids: Vec<String> = (0..4096).map(|_| new_client_id()).collect();
        assert!(ids.iter().all(|id| id.len() == 22 && !id.starts_with('-')));
        assert!(
            ids.iter().any(|id| id.contains('-')),
            "dashes elsewhere are kept"
        );
    }
}
