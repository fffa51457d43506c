//! The domain of the tutorial: passwords, tokens, scopes, the login throttle, sessions, and
//! the login and refresh use cases that tie them together, and accounts (password changes, the
//! TOTP second factor). Nothing here knows HTTP; `http/` maps these errors to
//! responses.

pub mod access;
pub mod account;
pub mod context;
pub mod grant;
pub mod hash_pool;
pub mod introspection;
pub mod keys;
pub mod login;
pub mod metadata;
pub mod password;
pub mod policy;
pub mod refresh;
pub mod revocation;
pub mod session;
pub mod shared_throttle;
pub mod throttle;
pub mod token;
pub mod totp;
pub mod users_file;

pub use context::Auth;
pub use grant::Grant;
pub use login::{LoginError, LoginRequest, authenticate_user, grant_scopes, login};
pub use refresh::{RefreshError, RefreshRequest, refresh};
