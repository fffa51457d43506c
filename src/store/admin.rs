//! Account administration as a store sees it: each change in one transaction with its audit
//! event (never a change without its event, nor an event without its change), and, when the
//! domain says so ([`crate::auth::accounts::admin`]), with the user's sessions ended in it.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::{StoreError, UserRecord};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::username::Username;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a user named {0:?} already exists")]
    Exists(String),
    /// RFC 8265 §3.3: a name a person could not tell from an existing one.
    #[error(
        "{name:?} is the existing user {existing:?} in another case, width or Unicode form \
         (RFC 8265): two such accounts cannot be told apart"
    )]
    LookAlike { name: String, existing: String },
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// Several users from before keys were enforced share this name's key.
    #[error("{typed:?} could be any of the users {names}: use the exact spelling")]
    Ambiguous { typed: String, names: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator changes about a user: one field at a time.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    Disabled(bool),
    Password(&'a str),
    Scopes(&'a ScopeSet),
}

/// A change that takes access away: every session of the user ends at `at`, each with a
/// `session.ended` event made from `ended` (its session and client filled in).
#[derive(Debug, Clone)]
pub struct EndSessions {
    pub at: UnixTime,
    pub ended: Event,
}

#[async_trait]
pub trait AccountAdmin: Send + Sync {
    /// Every user, by name.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// The users whose TOTP is enabled (a pending enrolment does not count).
    async fn totp_users(&self) -> Result<HashSet<String>, StoreError>;

    /// The user `typed` names for an operator: the one sharing its RFC 8265 key, as at a
    /// login (`ZOE` finds `zoe`).
    async fn resolve_user(&self, typed: &str) -> Result<Arc<UserRecord>, AdminError>;

    /// Adds a user; a name taken, or a look-alike of one, is refused.
    async fn add_user(&self, user: &UserRecord, event: &Event) -> Result<(), AdminError>;

    /// Imports users all or nothing; `replace` overwrites existing names (each keeps its id)
    /// and ends their sessions.
    async fn import_users(
        &self,
        users: &[UserRecord],
        replace: Option<EndSessions>,
        event: &Event,
    ) -> Result<(), AdminError>;

    /// Changes one field of the user, ending their sessions with `end`.
    async fn update_user(
        &self,
        username: &Username,
        change: UserChange<'_>,
        end: Option<EndSessions>,
        event: &Event,
    ) -> Result<(), AdminError>;

    /// Deletes the user and ends their sessions.
    async fn delete_user(
        &self,
        username: &Username,
        end: EndSessions,
        event: &Event,
    ) -> Result<(), AdminError>;

    /// Turns the user's TOTP off, pending or enabled, with its recovery codes; `event` is kept
    /// only if it was enabled (otherwise nothing changed). `false` if it was not.
    async fn reset_totp(&self, username: &Username, event: &Event) -> Result<bool, AdminError>;
}
