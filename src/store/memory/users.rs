//! The in-memory store: the demo users, or a users file, held in a map, with each name's
//! RFC 8265 key beside it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::model::username::Username;
use crate::model::username::{canonical, pick};
use crate::store::{StoreError, UserRecord, UserStore};

/// Users held in a map; the hash upgrade swaps the record under a write lock.
#[derive(Debug, Default)]
pub struct InMemoryUserStore {
    users: RwLock<HashMap<Username, Arc<UserRecord>>>,
    /// Each key's names. A users file never holds two names with one key (its loader refuses
    /// them); a store built in code may, and then logins need the exact spelling.
    names_by_key: HashMap<String, Vec<String>>,
}

impl InMemoryUserStore {
    pub fn new(users: impl IntoIterator<Item = UserRecord>) -> Self {
        let users: HashMap<Username, Arc<UserRecord>> = users
            .into_iter()
            .map(|record| (record.username().to_owned(), Arc::new(record)))
            .collect();
        let mut names_by_key: HashMap<String, Vec<String>> = HashMap::new();
        for name in users.keys() {
            let key = canonical(name).into_owned();
            names_by_key.entry(key).or_default().push(name.to_string());
        }
        Self {
            users: RwLock::new(users),
            names_by_key,
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

    async fn find_login(&self, typed: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        let Some(names) = self.names_by_key.get(canonical(typed).as_ref()) else {
            return Ok(None);
        };
        let users = self
            .users
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let candidates = names
            .iter()
            .filter_map(|name| users.get(name.as_str()))
            .cloned();
        Ok(pick(typed, candidates.collect(), |user| {
            user.username().as_str()
        }))
    }

    async fn update_password_hash(
        &self,
        username: &Username,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool, StoreError> {
        let mut users = self
            .users
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = users
            .get_mut(username)
            .ok_or_else(|| StoreError::NoSuchUser(username.to_string()))?;
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
