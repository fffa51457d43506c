//! Users and sessions and where they live: the tutorial's `fake_users_db`, and the
//! sessions logins start, each behind a trait a database can implement.

pub mod admin;
pub mod audit;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod demo;
mod memory;
pub mod session;
pub mod sql;
pub mod throttle;
pub mod totp;

use std::sync::Arc;

use async_trait::async_trait;

use crate::model::scopes::ScopeSet;
use crate::model::user_id::UserId;
use crate::model::username::Username;

pub use memory::{InMemorySessionStore, InMemoryTotpStore, InMemoryUserStore};

/// A user's profile: the tutorial's `User` model, never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: Username,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub disabled: bool,
}

/// A stored user: the tutorial's `UserInDB`, plus the scopes the user may be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The stable id: OpenID Connect's `sub`.
    pub id: UserId,
    /// Shared by every copy of the record the caches hand out.
    pub profile: Arc<User>,
    pub hashed_password: String,
    pub scopes: ScopeSet,
}

impl UserRecord {
    pub fn username(&self) -> &Username {
        &self.profile.username
    }
}

/// Why a store could not answer. The cause is kept for the log; clients never see it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing storage failed or is out of reach (a database connection, say): worth
    /// retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A write named a user the store does not hold.
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// The store cannot hold a value the request carried (PostgreSQL's SQLSTATE classes 22
    /// and 54: a NUL byte in text, a value past an index's limit). The request's fault, not an
    /// outage: nothing was written, and the store still counts as reachable.
    #[error("the store cannot hold a value the request carried")]
    Unstorable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whether `text` can be stored as text everywhere: PostgreSQL's `text` holds no NUL (SQLite's
/// would, but nothing stored has one). A lookup by a value that cannot be stored finds nothing
/// and need not ask; a value to store that cannot be is the request's error, refused before
/// any store sees it.
pub fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// Where users come from. The in-memory store below is the demo; a database implements the
/// same two calls.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// The tutorial's `get_user(db, username)`.
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError>;

    /// The user as stored right now, never from a cache: what a change to the account
    /// checks against. Stores without a cache need not override it.
    async fn get_user_fresh(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        self.get_user(username).await
    }

    /// The account a person means by the name they typed at a login: the one whose name
    /// shares its [key](crate::model::username::canonical) (`ZOE` finds `zoe`), read as
    /// stored right now. Where several share it (a database from before keys were enforced),
    /// only the exact spelling finds one ([`pick`](crate::model::username::pick)).
    async fn find_login(&self, typed: &str) -> Result<Option<Arc<UserRecord>>, StoreError>;

    /// Replaces a user's password hash with an upgraded one, only if it is still `old_hash`
    /// (compare-and-swap: a password changed meanwhile is never overwritten). `false` if it
    /// was not.
    async fn update_password_hash(
        &self,
        username: &Username,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool, StoreError>;
}
