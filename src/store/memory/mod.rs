//! The in-memory backend: users, sessions, authorization codes and second factors held in
//! maps, gone when the process ends.

mod codes;
mod sessions;
mod totp;
mod users;

pub use codes::InMemoryCodeStore;
pub use sessions::InMemorySessionStore;
pub use totp::InMemoryTotpStore;
pub use users::InMemoryUserStore;
