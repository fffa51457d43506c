//! Authorization codes (RFC 6749 §4.1) and where they live. A store holds a code's SHA-256
//! digest, never the code, and spends it in the same transaction that starts the session it
//! buys: of two exchanges of one code, exactly one starts a session, on every backend and
//! across replicas, and the other learns which session to end (RFC 6749 §4.1.2).

use async_trait::async_trait;

use super::StoreError;
use super::session::{Digest, StoredSession};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;

/// A code as issued: what it was bound to when the user allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub digest: Digest,
    pub client_id: String,
    /// The redirect URI as the authorization request named it: the exchange must name it
    /// again (RFC 6749 §4.1.3). `None`: the request named none (one is registered).
    pub redirect_uri: Option<String>,
    /// The S256 challenge (RFC 7636 §4.2), when the request carried one.
    pub code_challenge: Option<String>,
    /// OpenID Connect's `nonce`, for the ID token a later version mints.
    pub nonce: Option<String>,
    pub username: String,
    pub scope: ScopeSet,
    /// When the user last proved their password.
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
}

/// What an exchange found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The code was live and is spent now. `started` is true when the check accepted it and
    /// its session was created in the same transaction.
    Spent { code: StoredCode, started: bool },
    /// Spent before: by an exchange that started `session_id` (or was refused, `None`).
    Replayed {
        session_id: Option<String>,
        username: String,
    },
    /// Past its lifetime, never spent.
    Expired,
    /// Never issued, or pruned.
    Unknown,
}

/// Decides, inside the exchange, whether a live code buys a session: the client, redirect
/// URI and PKCE verifier checks. `None` refuses; the code is spent either way, so a stolen
/// code gets one try.
pub type ExchangeCheck<'a> = &'a (dyn Fn(&StoredCode) -> Option<StoredSession> + Send + Sync);

#[async_trait]
pub trait CodeStore: Send + Sync + 'static {
    async fn issue(&self, code: StoredCode) -> Result<(), StoreError>;

    /// Spends the code with this digest if it is live (never spent, `now` before its
    /// `expires_at`) and, when `check` returns a session, creates that session: both in one
    /// transaction, so a concurrent exchange of the same code waits, then finds it
    /// [`Exchange::Replayed`] with the session to end.
    async fn exchange(
        &self,
        digest: &Digest,
        now: UnixTime,
        check: ExchangeCheck<'_>,
    ) -> Result<Exchange, StoreError>;

    /// Deletes the codes that expired before `before`: a replay after that is unknown.
    async fn prune_codes(&self, before: UnixTime) -> Result<usize, StoreError>;
}
