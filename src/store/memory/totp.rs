//! `TotpStore` in memory: gone when the process ends, like the sessions.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::username::Username;
use crate::store::StoreError;
use crate::store::session::Digest;
use crate::store::totp::{TotpRecord, TotpStore};

/// A user's TOTP state and the digests of their unspent recovery codes.
type Factor = (TotpRecord, HashSet<[u8; 32]>);

#[derive(Debug, Default)]
pub struct InMemoryTotpStore {
    users: Mutex<HashMap<Username, Factor>>,
}

impl InMemoryTotpStore {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<Username, Factor>> {
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl TotpStore for InMemoryTotpStore {
    async fn totp(&self, username: &Username) -> Result<Option<TotpRecord>, StoreError> {
        Ok(self.users().get(username).map(|(record, _)| record.clone()))
    }

    async fn begin_totp(
        &self,
        username: &Username,
        sealed_secret: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let mut users = self.users();
        if users
            .get(username)
            .is_some_and(|(record, _)| record.enabled)
        {
            return Ok(false);
        }
        let record = TotpRecord {
            sealed_secret,
            enabled: false,
            last_step: None,
        };
        users.insert(username.to_owned(), (record, HashSet::new()));
        Ok(true)
    }

    async fn enable_totp(
        &self,
        username: &Username,
        sealed_secret: &[u8],
        step: u64,
        recovery: &[Digest],
    ) -> Result<bool, StoreError> {
        let mut users = self.users();
        let Some((record, codes)) = users.get_mut(username) else {
            return Ok(false);
        };
        if record.enabled || record.sealed_secret != sealed_secret {
            return Ok(false);
        }
        record.enabled = true;
        record.last_step = Some(step);
        *codes = recovery.iter().map(|digest| digest.0).collect();
        Ok(true)
    }

    async fn spend_totp_step(&self, username: &Username, step: u64) -> Result<bool, StoreError> {
        let mut users = self.users();
        match users.get_mut(username) {
            Some((record, _))
                if record.enabled && record.last_step.is_none_or(|last| last < step) =>
            {
                record.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn spend_recovery_code(
        &self,
        username: &Username,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let mut users = self.users();
        Ok(users
            .get_mut(username)
            .is_some_and(|(record, codes)| record.enabled && codes.remove(&digest.0)))
    }

    async fn remove_totp(&self, username: &Username) -> Result<bool, StoreError> {
        Ok(self
            .users()
            .remove(username)
            .is_some_and(|(record, _)| record.enabled))
    }
}
