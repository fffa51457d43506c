//! Login sessions and where they live, behind a trait a database can implement.
//!
//! A session is what one login starts: the refresh tokens rotated from it and every access
//! token minted under its id (`sid`). A store holds SHA-256 digests of the refresh token,
//! never the token, so a copy of the store cannot refresh anything. A session an
//! authorization code starts is stored when the code is issued, pending until the code is
//! exchanged (see [`super::codes`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::codes::{NotStarted, Started, StoredCode};
use super::{StoreError, UserRecord, UserStore};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;

/// A SHA-256 digest, as stored in place of a secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

/// What a session is, as the session list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Random, and the `sid` claim of every access token of the session.
    pub id: String,
    /// Whose it is: what the store files it under.
    pub user_id: UserId,
    /// The user's name, read with the session: what its access tokens carry as `sub`.
    pub username: Username,
    /// What the login was granted; a refresh may ask for less, never more (RFC 6749 §6).
    pub scope: ScopeSet,
    pub created_at: UnixTime,
    /// The login, or the latest refresh.
    pub last_used_at: UnixTime,
    /// The absolute end: `created_at` + `SESSION_MAX_LIFETIME_SECONDS`.
    pub expires_at: UnixTime,
    /// The registered client whose code exchange started it; `None`: a password login.
    /// Only that client may refresh it.
    pub client_id: Option<String>,
    /// Stored with an authorization code not exchanged yet: no token of it exists, nothing
    /// refreshes it and the session list hides it, but the per-user cap counts it.
    pub pending: bool,
}

/// A session with the digests of its refresh token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub record: SessionRecord,
    /// Digest of the family key every refresh token of this session starts with.
    pub family: Digest,
    /// Digest of the one refresh token that works now.
    pub current: Digest,
    /// Digest of the token `current` replaced, and when: a retry of it inside
    /// `REFRESH_REUSE_GRACE_SECONDS` is not reuse.
    pub previous: Option<(Digest, UnixTime)>,
}

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores `session` with the events of its start, together: never one without the
    /// other.
    async fn create(&self, session: StoredSession, events: &[Event]) -> Result<(), StoreError>;

    /// The session whose refresh tokens carry this family key, unless it is pending (its only
    /// token is an authorization code, which no refresh may use).
    async fn find_by_family(&self, family: &Digest) -> Result<Option<StoredSession>, StoreError>;

    /// Makes `next` the session's refresh token if `expected` still is (compare-and-swap,
    /// so of two concurrent refreshes exactly one wins), remembers `expected` as used at
    /// `now`, and marks the session used at `now`. `false` if `expected` was not current.
    async fn rotate(
        &self,
        id: &str,
        expected: &Digest,
        next: Digest,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// The success path of a refresh in one round trip: if the session of `family` is live
    /// (`now` before `expires_at`, last used after `idle_cutoff`), `presented` is its current
    /// token, its user exists and is enabled, and it is a password login's or `client`'s (the
    /// client the caller proved it is), rotates it to `next` as [`Self::rotate`] does and
    /// returns it with its user as stored now. `None` changes nothing, and sends the caller
    /// the long way (find, check, rotate), which tells the rare cases apart: unknown, reused,
    /// expired, a retry in the grace period, a disabled user, another client, a lost race.
    /// Stores for which the long way costs no round trips keep this default.
    async fn rotate_current(
        &self,
        _family: &Digest,
        _presented: &Digest,
        _next: Digest,
        _now: UnixTime,
        _idle_cutoff: UnixTime,
        _client: Option<&str>,
    ) -> Result<Option<Rotated>, StoreError> {
        Ok(None)
    }

    /// Marks the session used at `now` (its idle timeout restarts), changing nothing else.
    async fn touch(&self, id: &str, now: UnixTime) -> Result<(), StoreError>;

    /// The user's sessions, pending ones included, in no particular order.
    async fn list(&self, user: &UserId) -> Result<Vec<SessionRecord>, StoreError>;

    /// Stores `session` pending, with `code` (whose digest is the session's current token)
    /// beside it, together.
    async fn issue_code(&self, code: StoredCode, session: StoredSession) -> Result<(), StoreError>;

    /// How the user signed in for the session `id`, if a code started it and it lives.
    async fn sign_in(&self, id: &str) -> Result<Option<SignIn>, StoreError>;

    /// The ids of the live sessions whose codes were issued in `browser_session`.
    async fn started_in(&self, browser_session: &str) -> Result<Vec<String>, StoreError>;

    /// Exchanges the code with this digest, of the session family `family`: if its session is
    /// pending, the code live (`now` before its `expires_at`) and its user enabled in `users`,
    /// the session starts now with `next` as its current token, atomically, so of concurrent
    /// exchanges exactly one does and the others find it [`NotStarted::Replayed`]. The client,
    /// redirect URI and PKCE checks are the caller's, afterwards. A database reads the user
    /// from its own `users` table in the same statement (its user store is itself) and
    /// ignores `users`.
    async fn exchange_code(
        &self,
        family: &Digest,
        digest: &Digest,
        next: Digest,
        now: UnixTime,
        users: &dyn UserStore,
    ) -> Result<Result<Started, NotStarted>, StoreError>;

    /// Deletes the codes that expired by `now`, and their sessions still pending. Returns how
    /// many codes.
    async fn prune_codes(&self, now: UnixTime) -> Result<usize, StoreError>;

    /// Deletes a session, and logs the end for other servers; the record if it existed.
    async fn end(&self, id: &str, now: UnixTime) -> Result<Option<SessionRecord>, StoreError>;

    /// Deletes every session of the user but `keep`, and logs a cut-off for their
    /// session-less tokens (which name the user by `username`); the records that existed.
    async fn end_all(
        &self,
        user: &UserId,
        username: &Username,
        keep: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Whether other processes share this store (and so log ends that this process must
    /// replay before it can trust its view).
    fn is_shared(&self) -> bool {
        false
    }

    /// `false` from a statement's failure until the next successful [`Self::ends_since`]: the
    /// store is out of reach as far as this process can tell.
    fn reachable(&self) -> bool {
        true
    }

    /// A receiver that changes as soon as another process logs an end, where the store can
    /// announce them; `None` where it cannot (then polling alone finds them).
    fn ends_notifications(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        None
    }

    /// The ends logged after `cursor`, and the cursor to ask from next. A store that only one
    /// process can see (memory) logs nothing: that process already knows.
    async fn ends_since(&self, cursor: i64) -> Result<(Vec<SessionEnd>, i64), StoreError> {
        Ok((Vec::new(), cursor))
    }

    /// Deletes the sessions that ended by themselves (past `expires_at`, or unused since
    /// `idle_cutoff`) and the logged ends from before `ends_before`. Returns how many sessions.
    async fn prune(
        &self,
        now: UnixTime,
        idle_cutoff: UnixTime,
        ends_before: UnixTime,
    ) -> Result<usize, StoreError>;
}

/// A session [`SessionStore::rotate_current`] rotated, read in the same statement.
#[derive(Debug)]
pub struct Rotated {
    pub session: SessionRecord,
    /// The user as stored now.
    pub user: Arc<UserRecord>,
    /// How the user signed in, if a code started the session.
    pub sign_in: Option<SignIn>,
}

/// How the user signed in for a session an authorization code started (OpenID Connect): what
/// a refresh's id_token repeats, and the browser session the client was allowed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// When the user last gave their password before the code was issued.
    pub auth_time: UnixTime,
    /// The browser session the code was issued in.
    pub browser_session: Option<String>,
    /// Whether the user's TOTP was on, when the statement that read this read that too
    /// (`None`: ask the TOTP store). Turning it on or off ends every other session, browser
    /// sessions included, so a live sign-in passed the code exactly when it is on.
    pub second_factor: Option<bool>,
}

impl SignIn {
    /// What a code says of its sign-in.
    pub fn of(code: &StoredCode) -> Self {
        Self {
            auth_time: code.auth_time,
            browser_session: code.browser_session.clone(),
            second_factor: None,
        }
    }
}

/// A logged end: one session, or (no `session_id`) every session-less token of `username`
/// issued until `ended_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    pub session_id: Option<String>,
    pub username: Username,
    pub ended_at: UnixTime,
}
