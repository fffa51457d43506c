//! Users and where they live: the tutorial's `fake_users_db`, behind a trait a database can
//! implement.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scopes::{Scope, ScopeSet};

/// What `/users/me/` returns: the tutorial's `User` model, never the hash.
/// Field order is the JSON key order FastAPI clients see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    #[schema(example = "johndoe")]
    pub username: String,
    #[schema(example = "johndoe@example.com")]
    pub email: Option<String>,
    #[schema(example = "John Doe")]
    pub full_name: Option<String>,
    #[schema(example = false)]
    pub disabled: bool,
}

/// A stored user: the tutorial's `UserInDB`, plus the scopes the user may be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Shared so a response can serialize it without copying the strings.
    pub profile: Arc<User>,
    pub hashed_password: String,
    pub scopes: ScopeSet,
}

impl UserRecord {
    pub fn username(&self) -> &str {
        &self.profile.username
    }
}

#[derive(Debug, thiserror::Error)]
#[error("user store failure: {0}")]
pub struct StoreError(pub String);

/// Where users come from. The in-memory store below is the demo; a database implements the
/// same two calls.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// The tutorial's `get_user(db, username)`.
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError>;

    /// Replaces a user's password hash, used to upgrade hashes made with older parameters.
    async fn update_password_hash(
        &self,
        username: &str,
        new_hash: String,
    ) -> Result<(), StoreError>;
}

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
        Self::new(demo_users())
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
        new_hash: String,
    ) -> Result<(), StoreError> {
        let mut users = self
            .users
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = users
            .get_mut(username)
            .ok_or_else(|| StoreError(format!("no user named {username:?}")))?;
        *record = Arc::new(UserRecord {
            hashed_password: new_hash,
            ..UserRecord::clone(record)
        });
        Ok(())
    }
}

fn demo_user(
    username: &str,
    full_name: &str,
    email: &str,
    hashed_password: &str,
    disabled: bool,
) -> UserRecord {
    UserRecord {
        profile: Arc::new(User {
            username: username.to_owned(),
            email: Some(email.to_owned()),
            full_name: Some(full_name.to_owned()),
            disabled,
        }),
        hashed_password: hashed_password.to_owned(),
        scopes: Scope::ALL.into(),
    }
}

/// The demo users with their published passwords: `secret`, `secretalice` (disabled),
/// `secret` and `password`.
pub fn demo_users() -> Vec<UserRecord> {
    vec![
        demo_user(
            "johndoe",
            "John Doe",
            "johndoe@example.com",
            "$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc",
            false,
        ),
        demo_user(
            "alice",
            "Alice Chains",
            "alicechains@example.com",
            "$argon2id$v=19$m=65536,t=3,p=4$g2/AV1zwopqUntPKJavBFw$BwpRGDCyUHLvHICnwijyX8ROGoiUPwNKZ7915MeYfCE",
            true,
        ),
        demo_user(
            "stanley",
            "Stanley Jobson",
            "Stanley.Jobson@localhost",
            "$2b$12$HIbxs5kbjinDEUzbQJYqpeTp.GxRgy4m8hdQM4JnSunGQ6VaY5Ld6",
            false,
        ),
        demo_user(
            "mike",
            "Mike Doe",
            "Mike.Doe@localhost",
            "$2b$12$JAM3vz8gEZDeNSDAILiaReTmvoNM5EEP33Elhq5fCoTgno4SxfqKO",
            false,
        ),
    ]
}

/// Why a users file was refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    #[error("USERS_FILE {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("USERS_FILE {path}: not a JSON object of users: {source}")]
    Shape {
        path: String,
        source: serde_json::Error,
    },
    #[error("USERS_FILE {path}: user {user:?}: {problem}")]
    User {
        path: String,
        user: String,
        problem: String,
    },
}

/// One user as the tutorial's `fake_users_db` writes it. Every field must be present;
/// `email` and `full_name` may be null. `scopes` is optional and defaults to every scope,
/// so a file from the JWT chapter (no scopes) behaves as it did there.
#[derive(Deserialize)]
struct UserEntry {
    username: String,
    #[serde(deserialize_with = "Option::deserialize")]
    full_name: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    email: Option<String>,
    hashed_password: String,
    disabled: bool,
    #[serde(default = "all_scopes")]
    scopes: ScopeSet,
}

fn all_scopes() -> ScopeSet {
    Scope::ALL.into()
}

impl InMemoryUserStore {
    /// Loads `USERS_FILE`, refusing it whole if any user is incomplete, keyed under another
    /// name, or has a hash no verifier here can read.
    pub fn from_json_file(path: &std::path::Path) -> Result<Self, UsersFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|source| UsersFileError::Shape {
                path: shown.clone(),
                source,
            })?;
        let mut users = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let refuse = |problem: String| UsersFileError::User {
                path: shown.clone(),
                user: key.clone(),
                problem,
            };
            let entry: UserEntry =
                serde_json::from_value(value).map_err(|err| refuse(err.to_string()))?;
            if entry.username != key {
                return Err(refuse(format!(
                    "field `username` is {:?}, not the key it is stored under",
                    entry.username
                )));
            }
            crate::password::check_hash(&entry.hashed_password)
                .map_err(|err| refuse(format!("field `hashed_password` is {err}")))?;
            users.push(UserRecord {
                profile: Arc::new(User {
                    username: entry.username,
                    email: entry.email,
                    full_name: entry.full_name,
                    disabled: entry.disabled,
                }),
                hashed_password: entry.hashed_password,
                scopes: entry.scopes,
            });
        }
        Ok(Self::new(users))
    }
}
