//! Sessions: what a password login starts, a refresh continues and a logout ends.
//!
//! Standards: refresh tokens rotate on every use (RFC 9700 §4.14.2, ASVS V10.4.5) and a used
//! one presented again ends the whole session, newest token included (RFC 9700 §4.14.2,
//! ASVS V10.4.8); sessions have idle and absolute timeouts (ASVS V7.3.1, V7.3.2); ending a
//! session refuses its self-contained access tokens too (ASVS V7.4.1), through
//! [`Revocations`].

pub mod browser;
pub mod revocation;
pub mod view;

pub use view::{READY_VIEW_AGE, SYNC_EVERY, spawn_upkeep};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::{Duration, Instant};

use crate::auth::audit::announce;
use crate::auth::sessions::revocation::Revocations;
pub use crate::auth::tokens::refresh_token::RefreshToken;
use crate::auth::tokens::refresh_token::{
    FAMILY_KEY_BYTES, Presented, TokenTags, random_id, sha256,
};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::store::codes::{NotStarted, Started, StoredCode};
use crate::store::session::{Digest, Rotated, SessionRecord, SessionStore, SignIn, StoredSession};
use crate::store::{StoreError, UserRecord, UserStore};

/// Session lifetimes, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// `SESSION_IDLE_TIMEOUT_SECONDS`: a session whose refresh token goes unused this long
    /// is over.
    pub idle_timeout: u64,
    /// `SESSION_MAX_LIFETIME_SECONDS`: no refresh this long after the login.
    pub max_lifetime: u64,
    /// `REFRESH_REUSE_GRACE_SECONDS`: how long the token a refresh replaced may be retried
    /// (a response lost on the network) before presenting it counts as reuse.
    pub reuse_grace: u64,
    /// With a store other processes share: how old the view of ended sessions may get
    /// before token checks are refused with 503 (fail closed).
    pub max_view_age: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: 14 * 24 * 60 * 60,
            max_lifetime: 30 * 24 * 60 * 60,
            reuse_grace: 0,
            max_view_age: Duration::from_secs(5),
        }
    }
}

/// Live sessions one user may hold; a login beyond it ends the least recently used one.
/// Sessions otherwise live for weeks, so this is what bounds their memory.
pub const MAX_SESSIONS_PER_USER: usize = 64;

/// Why a refresh token was refused; all are RFC 6749 §5.2 `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefused {
    /// Malformed, never issued (a code, a forgery with a session's family bytes), or its
    /// session has ended.
    #[error("Invalid refresh token")]
    Unknown,
    /// The session's idle or absolute timeout has passed.
    #[error("Refresh token expired")]
    Expired,
    /// Already used: the session it belongs to has now ended (RFC 9700 §4.14.2).
    #[error("Refresh token already used; the session has been ended")]
    Reused,
}

/// Why a session ended, as the `passflow_sessions_ended_total` metric counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `POST /logout`.
    Logout,
    /// `POST /logout/all`.
    LogoutAll,
    /// `DELETE /users/me/sessions/{id}`.
    Deleted,
    /// `POST /revoke`.
    Revoked,
    /// A spent refresh token came back.
    Reused,
    /// Past its idle or absolute timeout.
    Expired,
    /// Its user is disabled or gone.
    UserDisabled,
    /// The user's least recently used session, past [`MAX_SESSIONS_PER_USER`].
    Evicted,
    /// The authorization code that started it was exchanged again (RFC 6749 §4.1.2).
    CodeReplayed,
    /// The user revoked their consent to its client, or the client was removed.
    ClientRevoked,
    /// The user changed their password from another session.
    PasswordChanged,
    /// The user turned their second factor on or off from another session.
    SecondFactorChanged,
    /// The browser signed in again on the login page: its earlier browser session is over.
    SignedInAgain,
    /// The user signed out at the end-session endpoint (RP-Initiated Logout): the browser
    /// session, and every session its sign-ins started.
    SignedOut,
    /// The code exchange that started it failed a check (client, redirect URI, PKCE), so no
    /// token of it was ever issued.
    CodeRefused,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::LogoutAll => "logout_all",
            EndReason::Deleted => "deleted",
            EndReason::Revoked => "revoked",
            EndReason::Reused => "reused",
            EndReason::Expired => "expired",
            EndReason::UserDisabled => "user_disabled",
            EndReason::Evicted => "evicted",
            EndReason::CodeReplayed => "code_replayed",
            EndReason::ClientRevoked => "client_revoked",
            EndReason::PasswordChanged => "password_changed",
            EndReason::SecondFactorChanged => "second_factor_changed",
            EndReason::SignedInAgain => "signed_in_again",
            EndReason::SignedOut => "signed_out",
            EndReason::CodeRefused => "code_refused",
        }
    }
}

/// A presented refresh token and the session its family names, found without changing
/// anything: what a caller checks (the session's client) before [`Sessions::judge`] acts.
pub struct Found {
    presented: Presented,
    stored: StoredSession,
    tags: TokenTags,
}

impl Found {
    pub fn session(&self) -> &SessionRecord {
        &self.stored.record
    }

    /// Whether the token is one this session was really given: its current or previous token
    /// (their digests are the proof), or a spent one whose tag proves passflow minted it.
    /// Anything else (an authorization code, the family bytes with a made-up secret) is not
    /// this session's token, and must change nothing.
    pub fn genuine(&self) -> bool {
        self.is_current() || self.is_previous() || self.presented.minted(&self.tags)
    }

    fn is_current(&self) -> bool {
        self.presented.token == self.stored.current
    }

    fn is_previous(&self) -> bool {
        self.stored
            .previous
            .is_some_and(|(previous, _)| previous == self.presented.token)
    }
}

/// A refresh token found current (or inside its retry grace): the session and the digest a
/// rotation must replace.
pub struct Redeemable {
    pub session: SessionRecord,
    family_key: [u8; FAMILY_KEY_BYTES],
    expected: Digest,
}

/// A session about to start: its id and first token are drawn before the store is asked.
/// For a password login the first token is a refresh token; for an authorization code, the
/// code itself.
pub struct PreparedSession {
    id: String,
    family: Digest,
    first_token: RefreshToken,
}

impl PreparedSession {
    /// The session as stored, for the user `user_id` (named `username`) with `scope`, started
    /// at `now`.
    pub fn stored(
        &self,
        user_id: &UserId,
        username: &Username,
        scope: &ScopeSet,
        client_id: Option<&str>,
        now: UnixTime,
        max_lifetime: u64,
    ) -> StoredSession {
        StoredSession {
            record: SessionRecord {
                id: self.id.clone(),
                user_id: user_id.to_owned(),
                username: username.to_owned(),
                scope: scope.clone(),
                created_at: now,
                last_used_at: now,
                expires_at: now + max_lifetime,
                client_id: client_id.map(str::to_owned),
                pending: false,
            },
            family: self.family,
            current: self.first_digest(),
            previous: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The digest the store keeps of the first token.
    pub fn first_digest(&self) -> Digest {
        sha256(self.first_token.as_str().as_bytes())
    }

    pub fn into_refresh_token(self) -> RefreshToken {
        self.first_token
    }
}

/// Sessions, the authorization codes that start some of them, and the list of what ending
/// them revoked.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    revocations: Revocations,
    /// What mints and recognises this deployment's refresh tokens.
    tags: TokenTags,
    settings: SessionSettings,
    /// Where the replay of the store's log of ends has got to.
    cursor: AtomicI64,
    /// When the replay last succeeded, in milliseconds since `born`, plus one; 0: never.
    synced: AtomicU64,
    born: Instant,
}

/// The view of ended sessions is older than [`SessionSettings::max_view_age`]: a session
/// ended elsewhere may not be refused here, so requests that depend on it are not served
/// (fail closed) until the store answers again.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the view of ended sessions is out of date (the session store is out of reach)")]
pub struct StaleView;

impl Sessions {
    pub fn new(
        store: Arc<dyn SessionStore>,
        revocations: Revocations,
        settings: SessionSettings,
        tags: TokenTags,
    ) -> Self {
        Self {
            store,
            revocations,
            tags,
            settings,
            cursor: AtomicI64::new(0),
            synced: AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// Ends a browser session and every session its sign-ins started (RP-Initiated Logout):
    /// their access tokens are refused from the next request, on every replica, and their
    /// refresh tokens are dead.
    pub async fn sign_out(&self, browser_session: &str, now: UnixTime) -> Result<(), StoreError> {
        for id in self.store.started_in(browser_session).await? {
            self.end(&id, now, EndReason::SignedOut).await?;
        }
        self.end(browser_session, now, EndReason::SignedOut).await?;
        Ok(())
    }

    /// How the user signed in for the session `id`, if a code started it.
    pub async fn sign_in(&self, id: &str) -> Result<Option<SignIn>, StoreError> {
        self.store.sign_in(id).await
    }

    /// The earliest moment the session ends by itself if its refresh token goes unused.
    pub fn deadline(&self, session: &SessionRecord) -> UnixTime {
        session
            .expires_at
            .min(session.last_used_at + self.settings.idle_timeout)
    }

    /// A new session id and refresh token family, not yet stored.
    pub fn prepare(&self) -> PreparedSession {
        let mut family_key = [0u8; FAMILY_KEY_BYTES];
        rand::fill(&mut family_key);
        PreparedSession {
            id: random_id(),
            family: sha256(&family_key),
            first_token: RefreshToken::mint(&family_key, &self.tags),
        }
    }

    /// A new session whose first token is an authorization code: every byte of it from the OS
    /// RNG (RFC 6749 §10.10; 384 bits, ASVS V10.4.3 asks for 128).
    pub fn prepare_code(&self) -> Result<PreparedSession, rand::rand_core::OsError> {
        let (first_token, family_key) = RefreshToken::from_os()?;
        Ok(PreparedSession {
            id: random_id(),
            family: sha256(&family_key),
            first_token,
        })
    }

    /// Starts a session for `user`'s login that was granted `scope`, and its first refresh
    /// token.
    pub async fn start(
        &self,
        user: &UserRecord,
        scope: &ScopeSet,
        now: UnixTime,
        started: Event,
    ) -> Result<(SessionRecord, RefreshToken), StoreError> {
        self.start_owned(user, scope, None, now, started).await
    }

    /// [`Self::start`] for a session only `client_id` may continue. `started`, the event of
    /// the start (its session filled in here), is stored with the session.
    async fn start_owned(
        &self,
        user: &UserRecord,
        scope: &ScopeSet,
        client_id: Option<&str>,
        now: UnixTime,
        started: Event,
    ) -> Result<(SessionRecord, RefreshToken), StoreError> {
        let prepared = self.prepare();
        let lifetime = self.settings.max_lifetime;
        let stored = prepared.stored(&user.id, user.username(), scope, client_id, now, lifetime);
        let record = stored.record.clone();
        let started = started.session(&record.id);
        self.store
            .create(stored, std::slice::from_ref(&started))
            .await?;
        announce(&started);
        self.keep_per_user_bound(&user.id, now).await?;
        Ok((record, prepared.into_refresh_token()))
    }

    /// Issues `code`, whose first token `prepared` drew: its session is stored pending
    /// beside it, and counts against the user's cap from now (the least recently used goes
    /// beyond it, as at a password login). Returns the code as the client gets it.
    pub async fn issue_code(
        &self,
        prepared: PreparedSession,
        code: StoredCode,
        now: UnixTime,
    ) -> Result<String, StoreError> {
        let mut session = prepared.stored(
            &code.user_id,
            &code.username,
            &code.scope,
            Some(&code.client_id),
            now,
            self.settings.max_lifetime,
        );
        session.record.pending = true;
        let user = code.user_id.clone();
        self.store.issue_code(code, session).await?;
        self.keep_per_user_bound(&user, now).await?;
        Ok(prepared.into_refresh_token().into_string())
    }

    /// Exchanges `code`: its pending session starts, with the refresh token returned beside
    /// it as its current one, if the code is live and its user enabled (see
    /// [`SessionStore::exchange_code`]). A code exchanged before ends the session its first
    /// exchange started, here and on every replica (RFC 6749 §4.1.2, ASVS V10.4.2): one of the
    /// two parties is an attacker, and nobody can tell which. A disabled user's code ends its
    /// pending session: it cannot be tried again.
    pub async fn exchange_code(
        &self,
        code: &str,
        now: UnixTime,
        users: &dyn UserStore,
    ) -> Result<Result<(Started, RefreshToken), NotStarted>, StoreError> {
        let Some(presented) = Presented::parse(code) else {
            return Ok(Err(NotStarted::Unknown));
        };
        let next = RefreshToken::mint(&presented.family_key, &self.tags);
        let not_started = match self
            .store
            .exchange_code(
                &presented.family,
                &presented.token,
                sha256(next.as_str().as_bytes()),
                now,
                users,
            )
            .await?
        {
            Ok(started) => return Ok(Ok((started, next))),
            Err(not_started) => not_started,
        };
        match &not_started {
            NotStarted::Replayed { session_id: id } => {
                tracing::warn!(session = %id, "authorization code replayed; session ended");
                self.end(id, now, EndReason::CodeReplayed).await?;
            }
            NotStarted::UserDisabled { session_id } => {
                self.end(session_id, now, EndReason::UserDisabled).await?;
            }
            NotStarted::Ended | NotStarted::Expired | NotStarted::Unknown => {}
        }
        Ok(Err(not_started))
    }

    /// Ends every session of the user that `client_id` holds, pending ones included (a
    /// consent revoked: the client's codes not yet exchanged die with them).
    pub async fn end_client_sessions(
        &self,
        user: &UserId,
        client_id: &str,
        now: UnixTime,
    ) -> Result<usize, StoreError> {
        let held = self.store.list(user).await?;
        let mut ended = 0;
        for session in held
            .iter()
            .filter(|session| session.client_id.as_deref() == Some(client_id))
        {
            if self.end(&session.id, now, EndReason::ClientRevoked).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    async fn keep_per_user_bound(&self, user: &UserId, now: UnixTime) -> Result<(), StoreError> {
        let mut sessions = self.store.list(user).await?;
        if sessions.len() <= MAX_SESSIONS_PER_USER {
            return Ok(());
        }
        sessions.sort_by_key(|session| std::cmp::Reverse(session.last_used_at));
        for stale in &sessions[MAX_SESSIONS_PER_USER..] {
            self.end(&stale.id, now, EndReason::Evicted).await?;
        }
        Ok(())
    }

    /// The session a presented refresh token's family names, if any; changes nothing.
    pub async fn find(&self, token: &str) -> Result<Option<Found>, StoreError> {
        let Some(presented) = Presented::parse(token) else {
            return Ok(None);
        };
        let stored = self.store.find_by_family(&presented.family).await?;
        Ok(stored.map(|stored| Found {
            presented,
            stored,
            tags: self.tags.clone(),
        }))
    }

    /// Judges a found refresh token. A spent one (outside its grace) ends its session here and
    /// now: the legitimate client and a thief cannot be told apart (RFC 9700 §4.14.2). A token
    /// the session was never given is unknown and changes nothing, so seeing a code or a
    /// family key is no way to end someone's session.
    pub async fn judge(
        &self,
        found: Found,
        now: UnixTime,
    ) -> Result<Result<Redeemable, RefreshRefused>, StoreError> {
        if !found.genuine() {
            return Ok(Err(RefreshRefused::Unknown));
        }
        let stored = &found.stored;
        if now >= self.deadline(&stored.record) {
            self.end(&stored.record.id, now, EndReason::Expired).await?;
            return Ok(Err(RefreshRefused::Expired));
        }
        let retry_in_grace = found.is_previous()
            && stored
                .previous
                .is_some_and(|(_, used_at)| now - used_at < self.settings.reuse_grace);
        if !found.is_current() && !retry_in_grace {
            tracing::warn!(session = %stored.record.id, "refresh token reused; session ended");
            self.end(&stored.record.id, now, EndReason::Reused).await?;
            return Ok(Err(RefreshRefused::Reused));
        }
        Ok(Ok(Redeemable {
            expected: stored.current,
            family_key: found.presented.family_key,
            session: found.stored.record,
        }))
    }

    /// [`Self::find`], then [`Self::judge`]: for a session no client owns.
    pub async fn redeem(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Result<Redeemable, RefreshRefused>, StoreError> {
        match self.find(token).await? {
            Some(found) => self.judge(found, now).await,
            None => Ok(Err(RefreshRefused::Unknown)),
        }
    }

    /// The success path of a refresh, in one round trip where the store offers it: `token`
    /// rotated in its live session, with the session's user as stored now (enabled), if the
    /// session is a password login's or `client`'s (the client the caller proved it is).
    /// `None` when the store could not take that path (it then changed nothing):
    /// [`Self::redeem`] tells the other cases apart.
    pub async fn rotate_current(
        &self,
        token: &str,
        now: UnixTime,
        client: Option<&str>,
    ) -> Result<Option<(Rotated, RefreshToken)>, StoreError> {
        let Some(presented) = Presented::parse(token) else {
            return Ok(None);
        };
        let next = RefreshToken::mint(&presented.family_key, &self.tags);
        let idle_cutoff = now.saturating_sub(self.settings.idle_timeout);
        let rotated = self
            .store
            .rotate_current(
                &presented.family,
                &presented.token,
                sha256(next.as_str().as_bytes()),
                now,
                idle_cutoff,
                client,
            )
            .await?;
        Ok(rotated.map(|rotated| (rotated, next)))
    }

    /// The session `token` continues, if it is that session's current refresh token and the
    /// session is live; what introspection reports. Changes nothing: no rotation, and a spent
    /// or expired token is merely not live (redeeming it is what ends its session).
    pub async fn inspect(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(found) = self.find(token).await? else {
            return Ok(None);
        };
        let live = now < self.deadline(found.session()) && found.is_current();
        Ok(live.then_some(found.stored.record))
    }

    /// Replaces the redeemed token with a new one of the same family. `None` if another
    /// refresh replaced it first: redeem again to learn what that makes this one.
    pub async fn rotate(
        &self,
        redeemable: &Redeemable,
        now: UnixTime,
    ) -> Result<Option<(SessionRecord, RefreshToken)>, StoreError> {
        let next = RefreshToken::mint(&redeemable.family_key, &self.tags);
        let rotated = self
            .store
            .rotate(
                &redeemable.session.id,
                &redeemable.expected,
                sha256(next.as_str().as_bytes()),
                now,
            )
            .await?;
        Ok(rotated.then(|| {
            let session = SessionRecord {
                last_used_at: now,
                ..redeemable.session.clone()
            };
            (session, next)
        }))
    }

    /// Ends one session: its refresh token stops working and its access tokens are refused.
    pub async fn end(
        &self,
        id: &str,
        now: UnixTime,
        reason: EndReason,
    ) -> Result<bool, StoreError> {
        self.revocations.end_session(id, now);
        let ended = self.store.end(id, now).await?.is_some();
        if ended {
            crate::metrics::session_ended(reason.as_str());
        }
        Ok(ended)
    }

    /// Ends one of the user's sessions; `false` if they hold none with that id.
    pub async fn end_own(
        &self,
        user: &UserId,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let owned = self.store.list(user).await?.iter().any(|s| s.id == id);
        if !owned {
            return Ok(false);
        }
        self.end(id, now, EndReason::Deleted).await
    }

    /// Logs the user out everywhere: every session ends, and every session-less token
    /// issued to them until now is refused (ASVS V7.4.1, V7.5.2).
    pub async fn end_all(&self, user: &UserRecord, now: UnixTime) -> Result<(), StoreError> {
        self.end_all_but(user, None, now, EndReason::LogoutAll)
            .await
    }

    /// [`Self::end_all`] except the session `keep`, which goes on (the one a password was
    /// just changed from, ASVS V7.4.3).
    pub async fn end_all_but(
        &self,
        user: &UserRecord,
        keep: Option<&str>,
        now: UnixTime,
        reason: EndReason,
    ) -> Result<(), StoreError> {
        // Session-less tokens name the user as access tokens do: by `sub` = username.
        let username = user.username();
        self.revocations.cut_off(username, now);
        for session in self.store.end_all(&user.id, username, keep, now).await? {
            self.revocations.end_session(&session.id, now);
            crate::metrics::session_ended(reason.as_str());
        }
        Ok(())
    }

    /// The user's live sessions, newest first (pending ones are not sessions yet).
    pub async fn list(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = self.store.list(user).await?;
        sessions.retain(|session| !session.pending && now < self.deadline(session));
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(sessions)
    }

    /// Drops sessions past their deadlines and revocations no token can match any more.
    pub async fn prune(&self, now: UnixTime) -> Result<usize, StoreError> {
        self.revocations.prune(now);
        let idle_cutoff = now.saturating_sub(self.settings.idle_timeout);
        let ends_before = now.saturating_sub(self.revocations.keep_for());
        self.store.prune_codes(now).await?;
        self.store.prune(now, idle_cutoff, ends_before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InMemorySessionStore;

    const NOW: UnixTime = 1_800_000_000;

    /// A demo user by name.
    fn user(name: &str) -> UserRecord {
        let users = crate::store::demo::users();
        users
            .into_iter()
            .find(|user| user.username().as_str() == name)
            .unwrap()
    }

    /// A login's event, as the login flow makes it.
    fn started() -> Event {
        crate::model::event::RequestContext::anonymous(None).event(
            crate::model::event::EventType::LoginSucceeded,
            crate::model::event::Outcome::Success,
            0,
        )
    }

    fn sessions(store: Arc<InMemorySessionStore>) -> Sessions {
        Sessions::new(
            store,
            Revocations::new(1800, 1800),
            SessionSettings::default(),
            TokenTags::random(),
        )
    }

    #[tokio::test]
    async fn the_store_holds_digests_never_the_refresh_token() {
        let store = Arc::new(InMemorySessionStore::default());
        let sessions = sessions(Arc::clone(&store));
        let (record, token) = sessions
            .start(&user("johndoe"), &ScopeSet::tutorial(), NOW, started())
            .await
            .unwrap();
        let presented = Presented::parse(token.as_str()).unwrap();
        let stored = store
            .find_by_family(&presented.family)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.record, record);
        assert_eq!(stored.current, sha256(token.as_str().as_bytes()));
        assert_ne!(stored.family.0[..], presented.family_key[..]);
        // Everything the store holds, printed, contains no part of the token's secret.
        let dump = format!("{stored:?}");
        assert!(!dump.contains(&token.as_str()[22..]), "{dump}");
    }

    #[tokio::test]
    async fn a_user_holds_at_most_the_cap_and_the_least_recently_used_goes() {
        let store = Arc::new(InMemorySessionStore::default());
        let sessions = sessions(Arc::clone(&store));
        let mut first = None;
        for i in 0..=MAX_SESSIONS_PER_USER as u64 {
            let (record, _) = sessions
                .start(&user("johndoe"), &ScopeSet::tutorial(), NOW + i, started())
                .await
                .unwrap();
            first.get_or_insert(record.id);
        }
        let live = sessions.list(&user("johndoe").id, NOW + 100).await.unwrap();
        assert_eq!(live.len(), MAX_SESSIONS_PER_USER);
        let first = first.unwrap();
        assert!(live.iter().all(|session| session.id != first));
        assert!(
            sessions
                .revocations()
                .refuses(&crate::auth::tokens::Claims {
                    sub: "johndoe".into(),
                    exp: NOW + 1800,
                    nbf: None,
                    iat: Some(NOW),
                    sid: Some(first),
                    scope: None,
                    iss: None,
                    aud: None,
                    client_id: None,
                })
        );
    }

    #[tokio::test]
    async fn pruning_drops_idle_and_expired_sessions_and_old_revocations() {
        let store = Arc::new(InMemorySessionStore::default());
        let sessions = Sessions::new(
            Arc::clone(&store) as Arc<dyn SessionStore>,
            Revocations::new(1800, 1800),
            SessionSettings {
                idle_timeout: 100,
                max_lifetime: 1000,
                ..SessionSettings::default()
            },
            TokenTags::random(),
        );
        let (_, idle) = sessions
            .start(&user("johndoe"), &ScopeSet::tutorial(), NOW, started())
            .await
            .unwrap();
        let (_, active) = sessions
            .start(&user("alice"), &ScopeSet::tutorial(), NOW, started())
            .await
            .unwrap();
        let (ended, _) = sessions
            .start(&user("stanley"), &ScopeSet::tutorial(), NOW, started())
            .await
            .unwrap();
        sessions
            .end(&ended.id, NOW, EndReason::Logout)
            .await
            .unwrap();
        let mut active = active;
        for step in 1..=9 {
            let redeemable = sessions
                .redeem(active.as_str(), NOW + step * 99)
                .await
                .unwrap()
                .unwrap();
            active = sessions
                .rotate(&redeemable, NOW + step * 99)
                .await
                .unwrap()
                .unwrap()
                .1;
        }
        assert_eq!(store.len(), 2);
        assert_eq!(sessions.prune(NOW + 950).await.unwrap(), 1, "the idle one");
        assert!(
            sessions
                .redeem(idle.as_str(), NOW + 950)
                .await
                .unwrap()
                .is_err()
        );
        assert_eq!(sessions.revocations().len(), 1);
        assert_eq!(
            sessions.prune(NOW + 1800).await.unwrap(),
            1,
            "past its lifetime"
        );
        assert!(store.is_empty());
        assert!(sessions.revocations().is_empty());
    }
}
