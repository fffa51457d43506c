//! `USERS_FILE`: users in the tutorial's `fake_users_db` shape, checked whole at start-up.

use std::sync::Arc;

use serde::Deserialize;

use crate::auth::credentials::password::check_hash;
use crate::model::scopes::{ScopeCatalog, ScopeSet};
use crate::model::user_id::UserId;
use crate::model::username::canonical;
use crate::store::{InMemoryUserStore, User, UserRecord};

/// Why a users file was refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    #[error("{origin} {path}: {source}")]
    Read {
        origin: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{origin} {path}: not a JSON object of users: {source}")]
    Shape {
        origin: &'static str,
        path: String,
        source: serde_json::Error,
    },
    #[error("{origin} {path}: user {user:?}: {problem}")]
    User {
        origin: &'static str,
        path: String,
        user: String,
        problem: String,
    },
}

/// One user as the tutorial's `fake_users_db` writes it. Every field must be present;
/// `email` and `full_name` may be null. `scopes` is optional and defaults to the tutorial's
/// two, `me` and `items`, so a file from the JWT chapter (no scopes) behaves as it did there.
#[derive(Deserialize)]
struct UserEntry {
    username: String,
    #[serde(deserialize_with = "Option::deserialize")]
    full_name: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    email: Option<String>,
    hashed_password: String,
    disabled: bool,
    #[serde(default = "ScopeSet::tutorial")]
    scopes: ScopeSet,
}

impl InMemoryUserStore {
    /// Loads `USERS_FILE` with the tutorial's scopes offered, refusing it whole if any user
    /// is incomplete, keyed under another name, a look-alike of another (RFC 8265), allowed a
    /// scope not offered, or has a hash no verifier here can read.
    pub fn from_json_file(path: &std::path::Path) -> Result<Self, UsersFileError> {
        read_users_file(path, "USERS_FILE", &ScopeCatalog::default()).map(Self::new)
    }
}

/// Reads and checks a users file whole; `origin` names it in errors (`USERS_FILE`, or the
/// command that reads it); every scope a user may have must be `offered`.
pub fn read_users_file(
    path: &std::path::Path,
    origin: &'static str,
    offered: &ScopeCatalog,
) -> Result<Vec<UserRecord>, UsersFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Read {
        origin,
        path: shown.clone(),
        source,
    })?;
    let entries: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|source| UsersFileError::Shape {
            origin,
            path: shown.clone(),
            source,
        })?;
    let mut users = Vec::with_capacity(entries.len());
    // RFC 8265 key → the name that took it first in the file.
    let mut names_by_key = std::collections::HashMap::new();
    for (key, value) in entries {
        let refuse = |problem: String| UsersFileError::User {
            origin,
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
        if let Some(unknown) = offered.first_unknown(&entry.scopes) {
            return Err(refuse(format!("field `scopes`: unknown scope: {unknown}")));
        }
        check_hash(&entry.hashed_password)
            .map_err(|err| refuse(format!("field `hashed_password` is {err}")))?;
        let name_key = canonical(&entry.username).into_owned();
        if let Some(existing) = names_by_key.insert(name_key, entry.username.clone()) {
            return Err(refuse(format!(
                "is the user {existing:?} in another case, width or Unicode form (RFC 8265): \
                 two such accounts cannot be told apart"
            )));
        }
        users.push(UserRecord {
            id: UserId::of_name(&entry.username),
            profile: Arc::new(User {
                username: entry.username.into(),
                email: entry.email,
                full_name: entry.full_name,
                disabled: entry.disabled,
            }),
            hashed_password: entry.hashed_password,
            scopes: entry.scopes,
        });
    }
    Ok(users)
}
