//! passflow: FastAPI's "OAuth2 with Password (and hashing), Bearer with JWT tokens" tutorial
//! and its scopes chapter, as an axum service.
//!
//! - [`auth`]: the domain — passwords, tokens, scopes, the throttle, the login use case.
//! - [`store`]: where users live, behind the [`store::UserStore`] trait.
//! - [`http`]: routes, extractors, the error surface and the OpenAPI document.
//! - [`startup`]: the composition root that wires them from [`config`].

pub mod auth;
pub mod commands;
pub mod config;
pub mod http;
pub mod per_address;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

pub use http::{router, router_with};
pub use state::AppState;
