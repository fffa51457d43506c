//! The domain of the tutorial: passwords, tokens, scopes, the login throttle, and the login
//! use case that ties them together. Nothing here knows HTTP; `http/` maps these errors to
//! responses.

pub mod hash_pool;
pub mod login;
pub mod password;
pub mod scopes;
pub mod throttle;
pub mod token;

pub use login::{Grant, LoginError, LoginRequest, authenticate_user, grant_scopes, login};
