//! Authorization codes in memory, beside the sessions they start. One async lock covers a
//! whole exchange, the session's creation included, so a second exchange of a code waits
//! and then finds the session to end.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::model::time::UnixTime;
use crate::store::codes::{CodeStore, Exchange, SessionSeed, Started, StoredCode};
use crate::store::session::{Digest, SessionStore};
use crate::store::{StoreError, UserStore};

struct Entry {
    code: StoredCode,
    /// `Some` once spent: the session the exchange started, if it started one.
    spent: Option<Option<String>>,
}

pub struct InMemoryCodeStore {
    codes: Mutex<HashMap<Digest, Entry>>,
    sessions: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for InMemoryCodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryCodeStore").finish_non_exhaustive()
    }
}

impl InMemoryCodeStore {
    /// Codes whose exchanges start sessions in `sessions`.
    pub fn new(sessions: Arc<dyn SessionStore>) -> Self {
        Self {
            codes: Mutex::new(HashMap::new()),
            sessions,
        }
    }
}

#[async_trait]
impl CodeStore for InMemoryCodeStore {
    async fn issue(&self, code: StoredCode) -> Result<(), StoreError> {
        let entry = Entry { code, spent: None };
        self.codes.lock().await.insert(entry.code.digest, entry);
        Ok(())
    }

    async fn exchange(
        &self,
        digest: &Digest,
        now: UnixTime,
        seed: &SessionSeed,
        users: &dyn UserStore,
    ) -> Result<Exchange, StoreError> {
        let mut codes = self.codes.lock().await;
        let Some(entry) = codes.get_mut(digest) else {
            return Ok(Exchange::Unknown);
        };
        if let Some(session_id) = &entry.spent {
            return Ok(Exchange::Replayed {
                session_id: session_id.clone(),
                username: entry.code.username.clone(),
            });
        }
        if now >= entry.code.expires_at {
            return Ok(Exchange::Expired);
        }
        let user = users
            .get_user_fresh(&entry.code.username)
            .await?
            .filter(|user| !user.profile.disabled);
        let started = match user {
            Some(user) => {
                let others = self.sessions.count(&entry.code.username).await?;
                self.sessions.create(seed.session(&entry.code, now)).await?;
                Some(Started { user, others })
            }
            None => None,
        };
        entry.spent = Some(started.as_ref().map(|_| seed.id.clone()));
        Ok(Exchange::Spent {
            code: entry.code.clone(),
            started,
        })
    }

    async fn prune_codes(&self, before: UnixTime) -> Result<usize, StoreError> {
        let mut codes = self.codes.lock().await;
        let held = codes.len();
        codes.retain(|_, entry| entry.code.expires_at >= before);
        Ok(held - codes.len())
    }
}
