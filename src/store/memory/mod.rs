//! The in-memory backend: users and sessions held in maps, gone when the process ends.

mod sessions;
mod users;

pub use sessions::InMemorySessionStore;
pub use users::InMemoryUserStore;
