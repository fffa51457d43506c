//! The clients allowed to call passflow's protocol endpoints, and how they prove who they
//! are (RFC 6749 §2.3): the resource servers of `INTROSPECTION_CLIENTS` (RFC 7662 §2.1), and
//! the registered clients of the authorization-code flow ([`Clients`]). Secrets are compared
//! as SHA-256 digests in constant time.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::guard::{Guard, Throttled};
use crate::model::client::Client;
use crate::store::StoreError;
use crate::store::clients::ClientStore;

/// Shortest introspection client secret accepted: 32 characters, as long as `SECRET_KEY`.
pub const MIN_CLIENT_SECRET_LEN: usize = 32;

/// `INTROSPECTION_CLIENTS`: who may introspect. Secrets are kept as SHA-256 digests, so a
/// comparison takes the same time whatever the presented secret's length; `Debug` shows ids
/// only.
#[derive(Clone)]
pub struct IntrospectionClients {
    clients: Arc<[(String, [u8; 32])]>,
}

impl fmt::Debug for IntrospectionClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.clients.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("IntrospectionClients")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

/// An `INTROSPECTION_CLIENTS` value that cannot be used; passflow refuses to start. The
/// secret itself is never repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientsError {
    #[error("INTROSPECTION_CLIENTS: entry {0} is not `client_id:secret`")]
    Shape(usize),
    #[error(
        "INTROSPECTION_CLIENTS: the secret of client {id:?} is {len} characters long; it must \
         be at least {MIN_CLIENT_SECRET_LEN} (`openssl rand -hex 32`)"
    )]
    ShortSecret { id: String, len: usize },
    #[error("INTROSPECTION_CLIENTS: client {0:?} is listed twice")]
    Duplicate(String),
}

/// What is kept of a client secret, and compared: its SHA-256.
pub(crate) fn secret_digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

impl IntrospectionClients {
    /// Parses `client_id:secret` pairs, comma-separated.
    pub fn parse(value: &str) -> Result<Self, ClientsError> {
        let mut clients: Vec<(String, [u8; 32])> = Vec::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            let (id, secret) = entry
                .split_once(':')
                .filter(|(id, _)| !id.is_empty())
                .ok_or(ClientsError::Shape(index + 1))?;
            let len = secret.chars().count();
            if len < MIN_CLIENT_SECRET_LEN {
                return Err(ClientsError::ShortSecret {
                    id: id.to_owned(),
                    len,
                });
            }
            if clients.iter().any(|(known, _)| known == id) {
                return Err(ClientsError::Duplicate(id.to_owned()));
            }
            clients.push((id.to_owned(), secret_digest(secret.as_bytes())));
        }
        Ok(Self {
            clients: clients.into(),
        })
    }

    /// Whether `id` and `secret` are a registered client's. An unknown id costs the same
    /// comparison as a known one.
    pub fn authenticate(&self, id: &str, secret: &str) -> bool {
        let presented = secret_digest(secret.as_bytes());
        let expected = self
            .clients
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, secret)| *secret);
        let matches: bool = presented.ct_eq(&expected.unwrap_or([0; 32])).into();
        matches && expected.is_some()
    }
}

/// Why a client was not let in.
#[derive(Debug, thiserror::Error)]
pub enum ClientRefused {
    /// Too many failures from this address: nothing was compared.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// No credentials, or not a registered client's (RFC 6749 §5.2 `invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The clients' store is out of reach: nothing was decided.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntrospectionClients {
    /// Client authentication (RFC 6749 §2.3.1), the first thing a client's request does, with
    /// each reading of the credentials sent (decoded, and as sent). A wrong secret is a guess
    /// like a wrong password: it takes one cell of the address's budget.
    pub async fn admit(
        &self,
        guard: &Guard,
        address: IpAddr,
        readings: impl IntoIterator<Item = (&str, &str)>,
    ) -> Result<(), ClientRefused> {
        let attempt = guard.address_attempt(address)?;
        let mut readings = readings.into_iter();
        if readings.any(|(id, secret)| self.authenticate(id, secret)) {
            attempt.succeeded();
            Ok(())
        } else {
            attempt.failed().await;
            Err(ClientRefused::InvalidClient)
        }
    }
}

/// How a client presented itself at the token endpoint (RFC 6749 §2.3.1, OpenID Connect
/// Core §9's method names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCredentials<'a> {
    /// `client_secret_basic`: HTTP Basic.
    Basic { id: &'a str, secret: &'a str },
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post { id: &'a str, secret: &'a str },
    /// `none`: a public client names itself with `client_id` and proves nothing more; PKCE
    /// is what binds its code to it.
    Public { id: &'a str },
}

impl ClientCredentials<'_> {
    pub fn id(&self) -> &str {
        match self {
            ClientCredentials::Basic { id, .. }
            | ClientCredentials::Post { id, .. }
            | ClientCredentials::Public { id } => id,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
                Some(secret)
            }
            ClientCredentials::Public { .. } => None,
        }
    }
}

/// How long "is any client registered?" is answered from memory: a client registered on
/// any host is served everywhere within this.
const ANY_CLIENT_TTL: std::time::Duration = std::time::Duration::from_millis(500);

/// The registered clients.
#[derive(Clone)]
pub struct Clients {
    store: Arc<dyn ClientStore>,
    any: Arc<std::sync::Mutex<Option<(bool, std::time::Instant)>>>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

impl Clients {
    pub fn new(store: Arc<dyn ClientStore>) -> Self {
        Self {
            store,
            any: Arc::default(),
        }
    }

    /// The client a request names, registered now.
    pub async fn find(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        self.store.client(id).await
    }

    /// Whether any client is registered: with none, the sign-in endpoints are not served.
    pub async fn any(&self) -> Result<bool, StoreError> {
        let remembered = *self.any.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((any, at)) = remembered
            && at.elapsed() < ANY_CLIENT_TTL
        {
            return Ok(any);
        }
        let any = self.store.any().await?;
        *self.any.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((any, std::time::Instant::now()));
        Ok(any)
    }

    /// The client these credentials prove, if any. A confidential client must present its
    /// secret; a public one must present none (it has none to keep).
    pub async fn verify(
        &self,
        credentials: ClientCredentials<'_>,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        let client = self.store.client(credentials.id()).await?;
        let expected = client.as_ref().and_then(|client| client.secret_sha256);
        let proven = match (credentials.secret(), &client) {
            (Some(secret), Some(_)) => {
                // Compared even for a public client, so the time taken does not tell which.
                let matches: bool = secret_digest(secret.as_bytes())
                    .ct_eq(&expected.unwrap_or([0; 32]))
                    .into();
                matches && expected.is_some()
            }
            (None, Some(client)) => client.is_public(),
            (_, None) => false,
        };
        Ok(client.filter(|_| proven))
    }

    /// Client authentication at the token endpoint (RFC 6749 §2.3). Every failure is
    /// `invalid_client` and takes a cell of the address's budget, like a wrong password.
    pub async fn authenticate(
        &self,
        guard: &Guard,
        address: IpAddr,
        credentials: Option<ClientCredentials<'_>>,
    ) -> Result<Arc<Client>, ClientRefused> {
        let attempt = guard.address_attempt(address)?;
        let client = match credentials {
            Some(credentials) => self.verify(credentials).await?,
            None => None,
        };
        match client {
            Some(client) => {
                attempt.succeeded();
                Ok(client)
            }
            None => {
                attempt.failed().await;
                Err(ClientRefused::InvalidClient)
            }
        }
    }
}
