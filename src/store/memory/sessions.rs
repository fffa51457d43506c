//! Sessions, and the authorization codes that start some of them, in memory: maps under one
//! lock. Sessions are touched by logins, refreshes, code exchanges and logouts only, never by
//! requests that merely carry an access token, so the lock is not on any hot path.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::model::event::Event;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::store::audit::{AuditStore, InMemoryAuditStore};
use crate::store::codes::{NotStarted, Started, StoredCode, not_started};
use crate::store::session::{Digest, SessionRecord, SessionStore, SignIn, StoredSession};
use crate::store::{StoreError, UserStore};

#[derive(Debug, Default)]
pub struct InMemorySessionStore {
    inner: Mutex<Inner>,
    /// Where the events of a session's start go with it: the server's memory trail.
    audit: Arc<InMemoryAuditStore>,
}

impl InMemorySessionStore {
    /// Sessions whose starts are recorded in `audit` (the trail the server reads).
    pub fn with_audit(audit: Arc<InMemoryAuditStore>) -> Self {
        Self {
            inner: Mutex::default(),
            audit,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, StoredSession>,
    by_family: HashMap<Digest, String>,
    by_user: HashMap<UserId, HashSet<String>>,
    codes: HashMap<Digest, StoredCode>,
    /// Session id → how its code's user signed in.
    sign_ins: HashMap<String, SignIn>,
}

impl Inner {
    fn insert(&mut self, session: StoredSession) {
        let id = session.record.id.clone();
        self.by_family.insert(session.family, id.clone());
        self.by_user
            .entry(session.record.user_id.clone())
            .or_default()
            .insert(id.clone());
        self.sessions.insert(id, session);
    }

    /// The live code `digest`, if the session of `family` is still pending with it.
    fn pending(&self, family: &Digest, digest: &Digest, now: UnixTime) -> Option<&StoredCode> {
        let code = self
            .codes
            .get(digest)
            .filter(|code| now < code.expires_at)?;
        let session = self.sessions.get(self.by_family.get(family)?)?;
        (session.record.pending && session.current == *digest).then_some(code)
    }

    /// Starts the session of `family` if it is still pending with the live code `digest`.
    fn start(
        &mut self,
        family: &Digest,
        digest: &Digest,
        next: Digest,
        now: UnixTime,
    ) -> Option<SessionRecord> {
        self.pending(family, digest, now)?;
        let session = self.sessions.get_mut(self.by_family.get(family)?)?;
        session.record.pending = false;
        session.record.created_at = now;
        session.record.last_used_at = now;
        session.current = next;
        Some(session.record.clone())
    }

    fn remove(&mut self, id: &str) -> Option<SessionRecord> {
        let session = self.sessions.remove(id)?;
        self.by_family.remove(&session.family);
        self.sign_ins.remove(id);
        let user = &session.record.user_id;
        if let Some(ids) = self.by_user.get_mut(user) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_user.remove(user);
            }
        }
        Some(session.record)
    }
}

impl InMemorySessionStore {
    /// Why an exchange started nothing, from what is held now (see [`not_started`]).
    fn not_started(&self, family: &Digest, digest: &Digest, now: UnixTime) -> NotStarted {
        let inner = self.lock();
        let session = inner
            .by_family
            .get(family)
            .and_then(|id| inner.sessions.get(id))
            .map(|session| (session.record.id.clone(), session.record.pending));
        let code = inner.codes.get(digest).map(|code| code.expires_at);
        not_started(session, code, now)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many sessions are held, ended ones included until pruned.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn create(&self, session: StoredSession, events: &[Event]) -> Result<(), StoreError> {
        self.lock().insert(session);
        // Memory cannot fail between the two: the ring takes every event.
        self.audit.append(events).await
    }

    async fn find_by_family(&self, family: &Digest) -> Result<Option<StoredSession>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .by_family
            .get(family)
            .and_then(|id| inner.sessions.get(id))
            .filter(|session| !session.record.pending)
            .cloned())
    }

    async fn rotate(
        &self,
        id: &str,
        expected: &Digest,
        next: Digest,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(session) = inner.sessions.get_mut(id) else {
            return Ok(false);
        };
        if session.current != *expected {
            return Ok(false);
        }
        session.previous = Some((session.current, now));
        session.current = next;
        session.record.last_used_at = now;
        Ok(true)
    }

    async fn touch(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        if let Some(session) = self.lock().sessions.get_mut(id) {
            session.record.last_used_at = now;
        }
        Ok(())
    }

    async fn list(&self, user: &UserId) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = self.lock();
        let Some(ids) = inner.by_user.get(user) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| inner.sessions.get(id))
            .map(|session| session.record.clone())
            .collect())
    }

    async fn issue_code(&self, code: StoredCode, session: StoredSession) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner
            .sign_ins
            .insert(session.record.id.clone(), SignIn::of(&code));
        inner.codes.insert(code.digest, code);
        inner.insert(session);
        Ok(())
    }

    async fn sign_in(&self, id: &str) -> Result<Option<SignIn>, StoreError> {
        Ok(self.lock().sign_ins.get(id).cloned())
    }

    async fn started_in(&self, browser_session: &str) -> Result<Vec<String>, StoreError> {
        let inner = self.lock();
        let started = inner
            .sign_ins
            .iter()
            .filter(|(_, sign_in)| sign_in.browser_session.as_deref() == Some(browser_session));
        Ok(started.map(|(id, _)| id.clone()).collect())
    }

    async fn exchange_code(
        &self,
        family: &Digest,
        digest: &Digest,
        next: Digest,
        now: UnixTime,
        users: &dyn UserStore,
    ) -> Result<Result<Started, NotStarted>, StoreError> {
        // The user is read without the lock held; the session starts only if it is still
        // pending afterwards, so of concurrent exchanges exactly one does.
        let code = self.lock().pending(family, digest, now).cloned();
        let Some(code) = code else {
            return Ok(Err(self.not_started(family, digest, now)));
        };
        // The name finds the user; the id proves it is the one the code was issued to.
        let user = users.get_user_fresh(&code.username).await?;
        let Some(user) = user.filter(|user| user.id == code.user_id && !user.profile.disabled)
        else {
            return Ok(Err(self.not_started(family, digest, now)));
        };
        let started = self.lock().start(family, digest, next, now);
        let Some(session) = started else {
            return Ok(Err(self.not_started(family, digest, now)));
        };
        Ok(Ok(Started {
            code,
            session,
            user,
            second_factor: None,
        }))
    }

    async fn prune_codes(&self, now: UnixTime) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let expired: Vec<StoredCode> = inner
            .codes
            .values()
            .filter(|code| code.expires_at <= now)
            .cloned()
            .collect();
        for code in &expired {
            inner.codes.remove(&code.digest);
            if inner
                .sessions
                .get(&code.session_id)
                .is_some_and(|session| session.record.pending)
            {
                inner.remove(&code.session_id);
            }
        }
        Ok(expired.len())
    }

    async fn end(&self, id: &str, _now: UnixTime) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().remove(id))
    }

    async fn end_all(
        &self,
        user: &UserId,
        _username: &Username,
        keep: Option<&str>,
        _now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut inner = self.lock();
        let ids: Vec<String> = inner
            .by_user
            .get(user)
            .map(|ids| {
                ids.iter()
                    .filter(|id| Some(id.as_str()) != keep)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(ids.iter().filter_map(|id| inner.remove(id)).collect())
    }

    async fn prune(
        &self,
        now: UnixTime,
        idle_cutoff: UnixTime,
        _ends_before: UnixTime,
    ) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let over: Vec<String> = inner
            .sessions
            .values()
            .filter(|s| s.record.expires_at <= now || s.record.last_used_at <= idle_cutoff)
            .map(|s| s.record.id.clone())
            .collect();
        for id in &over {
            inner.remove(id);
        }
        Ok(over.len())
    }
}
