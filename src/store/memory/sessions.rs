//! Sessions in memory: one map under one lock. Sessions are touched by logins, refreshes and
//! logouts only (a few per second at most, bounded by password hashing), never by requests
//! that merely carry an access token, so the lock is not on any hot path.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::session::{Digest, SessionRecord, SessionStore, StoredSession};

#[derive(Debug, Default)]
pub struct InMemorySessionStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, StoredSession>,
    by_family: HashMap<Digest, String>,
    by_user: HashMap<String, HashSet<String>>,
}

impl Inner {
    fn remove(&mut self, id: &str) -> Option<SessionRecord> {
        let session = self.sessions.remove(id)?;
        self.by_family.remove(&session.family);
        let username = &session.record.username;
        if let Some(ids) = self.by_user.get_mut(username) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_user.remove(username);
            }
        }
        Some(session.record)
    }
}

impl InMemorySessionStore {
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
    async fn create(&self, session: StoredSession) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let id = session.record.id.clone();
        inner.by_family.insert(session.family, id.clone());
        inner
            .by_user
            .entry(session.record.username.clone())
            .or_default()
            .insert(id.clone());
        inner.sessions.insert(id, session);
        Ok(())
    }

    async fn find_by_family(&self, family: &Digest) -> Result<Option<StoredSession>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .by_family
            .get(family)
            .and_then(|id| inner.sessions.get(id))
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

    async fn list(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = self.lock();
        let Some(ids) = inner.by_user.get(username) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| inner.sessions.get(id))
            .map(|session| session.record.clone())
            .collect())
    }

    async fn count(&self, username: &str) -> Result<usize, StoreError> {
        Ok(self.lock().by_user.get(username).map_or(0, HashSet::len))
    }

    async fn end(&self, id: &str, _now: UnixTime) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().remove(id))
    }

    async fn end_all(
        &self,
        username: &str,
        keep: Option<&str>,
        _now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut inner = self.lock();
        let ids: Vec<String> = inner
            .by_user
            .get(username)
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
