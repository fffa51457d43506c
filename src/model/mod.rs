//! Value types every layer shares: scopes, time, a user's id and name, how usernames
//! compare, and the security events of the audit trail. They depend on nothing else in the crate, so the stores below the domain and the
//! HTTP layer above it can both use them.

pub mod client;
pub mod description;
pub mod event;
pub mod scopes;
pub mod time;
pub mod user_id;
pub mod username;
