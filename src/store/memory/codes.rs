//! Authorization codes in memory, beside the sessions they start. One async lock covers a
//! whole exchange, the session's creation included, so a second exchange of a code waits
//! and then finds the session to end.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::codes::{CodeStore, Exchange, ExchangeCheck, StoredCode};
use crate::store::session::{Digest, SessionStore};

struct Entry {
    code: StoredCode,
    /// `Some` once spent: the session the exchange started, if it was accepted.
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
        check: ExchangeCheck<'_>,
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
        let session = check(&entry.code);
        let started = session.as_ref().map(|session| session.record.id.clone());
        if let Some(session) = session {
            self.sessions.create(session).await?;
        }
        entry.spent = Some(started.clone());
        Ok(Exchange::Spent {
            code: entry.code.clone(),
            started: started.is_some(),
        })
    }

    async fn prune_codes(&self, before: UnixTime) -> Result<usize, StoreError> {
        let mut codes = self.codes.lock().await;
        let held = codes.len();
        codes.retain(|_, entry| entry.code.expires_at >= before);
        Ok(held - codes.len())
    }
}
