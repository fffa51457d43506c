//! passflow: FastAPI's "OAuth2 with Password (and hashing), Bearer with JWT tokens" tutorial
//! and its scopes chapter, as an axum service.
//!
//! [`http::router`] builds the service from an [`AppState`]; `main.rs` only reads the
//! configuration and serves it.

pub mod auth;
pub mod config;
pub mod http;
pub mod password;
pub mod scopes;
pub mod server;
pub mod state;
pub mod store;
pub mod throttle;
pub mod token;

pub use http::{router, router_with};
pub use state::AppState;
