//! Authorization codes (RFC 6749 §4.1) and where they live. A store holds a code's SHA-256
//! digest, never the code, and spends it in the same statement that starts the session it
//! buys: of two exchanges of one code, exactly one starts a session, on every backend and
//! across replicas, and the other learns which session to end (RFC 6749 §4.1.2).

use async_trait::async_trait;

use std::sync::Arc;

use super::session::{Digest, SessionRecord, StoredSession};
use super::{StoreError, UserRecord, UserStore};
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

/// What an exchange starts besides the code's own user, scopes and client: the session's
/// random parts, drawn before the store is asked so that one statement can spend the code
/// and start its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSeed {
    pub id: String,
    /// Digests of the refresh token family and of its first token.
    pub family: Digest,
    pub current: Digest,
    pub expires_at: UnixTime,
}

impl SessionSeed {
    /// The session this seed grows into for `username` with `scope`, started at `now` (and
    /// only `client_id` may continue it, if any).
    pub fn start(
        &self,
        username: &str,
        scope: &ScopeSet,
        client_id: Option<&str>,
        now: UnixTime,
    ) -> StoredSession {
        StoredSession {
            record: SessionRecord {
                id: self.id.clone(),
                username: username.to_owned(),
                scope: scope.clone(),
                created_at: now,
                last_used_at: now,
                expires_at: self.expires_at,
                client_id: client_id.map(str::to_owned),
            },
            family: self.family,
            current: self.current,
            previous: None,
        }
    }

    /// The session an exchange of `code` at `now` starts.
    pub fn session(&self, code: &StoredCode, now: UnixTime) -> StoredSession {
        self.start(&code.username, &code.scope, Some(&code.client_id), now)
    }
}

/// The session a spent code started: its user as stored at that moment (enabled), and how
/// many other sessions the user holds, for the per-user cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub user: Arc<UserRecord>,
    pub others: usize,
}

/// What an exchange found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The code was live and is spent now. `started`: its user is enabled, and the seed's
    /// session was started in the same statement; `None`: the user is disabled or gone, and
    /// nothing was started.
    Spent {
        code: StoredCode,
        started: Option<Started>,
    },
    /// Spent before: by an exchange that started `session_id` (or started none, `None`).
    Replayed {
        session_id: Option<String>,
        username: String,
    },
    /// Past its lifetime, never spent.
    Expired,
    /// Never issued, or pruned.
    Unknown,
}

#[async_trait]
pub trait CodeStore: Send + Sync + 'static {
    async fn issue(&self, code: StoredCode) -> Result<(), StoreError>;

    /// Spends the code with this digest if it is live (never spent, `now` before its
    /// `expires_at`) and, if its user is enabled in `users`, starts the session `seed` makes
    /// of it: atomically, so a concurrent exchange of the same code waits, then finds it
    /// [`Exchange::Replayed`] with the session to end. The client, redirect URI and PKCE
    /// checks are the caller's, afterwards: a code is spent whatever they decide, so a stolen
    /// one gets a single try. A database reads the user from its own `users` table in the
    /// same statement (its user store is itself) and ignores `users`.
    async fn exchange(
        &self,
        digest: &Digest,
        now: UnixTime,
        seed: &SessionSeed,
        users: &dyn UserStore,
    ) -> Result<Exchange, StoreError>;

    /// Deletes the codes that expired before `before`: a replay after that is unknown.
    async fn prune_codes(&self, before: UnixTime) -> Result<usize, StoreError>;
}
