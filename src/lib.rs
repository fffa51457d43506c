//! passflow: FastAPI's "OAuth2 with Password (and hashing), Bearer with JWT tokens" tutorial
//! and its scopes chapter, as an axum service.
//!
//! - [`auth`]: the domain — passwords, tokens, scopes, the throttle, sessions, and the login
//!   and refresh use cases.
//! - [`store`]: where users and sessions live, behind [`store::UserStore`] and
//!   [`store::session::SessionStore`].
//! - [`http`]: routes, extractors, the error surface and the OpenAPI document.
//! - [`startup`]: the composition root that wires them from [`config`].

pub mod auth;
pub mod clock;
pub mod commands;
pub mod config;
pub mod http;
pub mod metrics;
pub mod model;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

pub use http::{router, router_with};
pub use state::AppState;
