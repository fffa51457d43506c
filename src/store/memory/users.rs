//! The in-memory store: the demo users, or a users file, held in a map.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::store::{StoreError, UserRecord, UserStore};

/// Users held in a map; the hash upgrade swaps the record under a write lock.
#[derive(Debug, Default)]
pub struct InMemoryUserStore {
    users: RwLock<HashMap<String, Arc<UserRecord>>>,
}

impl InMemoryUserStore {
    pub fn new(users: impl IntoIterator<Item = UserRecord>) -> Self {
        let users = users
            .into_iter()
            .map(|record| (record.username().to_owned(), Arc::new(record)))
            .collect();
        Self {
            users: RwLock::new(users),
        }
    }

    /// The tutorial's `fake_users_db` (johndoe, alice) and the users of the pytest suite that
    /// ported it to bcrypt (stanley, mike), so both test suites pass against a default server.
    pub fn demo() -> Self {
        Self::new(crate::store::demo::users())
    }
}

#[async_trait]
impl UserStore for InMemoryUserStore {
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        let users = self
            .users
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(users.get(username).cloned())
    }

    async fn update_password_hash(
        &self,
        username: &str,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool, StoreError> {
        let mut users = self
            .users
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = users
            .get_mut(username)
            .ok_or_else(|| StoreError::NoSuchUser(username.to_owned()))?;
        if record.hashed_password != old_hash {
            return Ok(false);
        }
        *record = Arc::new(UserRecord {
            hashed_password: new_hash,
            ..UserRecord::clone(record)
        });
        Ok(true)
    }
}
