//! The in-memory backend: users, sessions, authorization codes and second factors held in
//! maps, gone when the process ends.

mod sessions;
mod totp;
mod users;

pub use sessions::InMemorySessionStore;
pub use totp::InMemoryTotpStore;
pub use users::InMemoryUserStore;
