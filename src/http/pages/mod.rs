//! Web pages for people rather than programs: the login page of the authorization endpoint.
//! HTML from templates, CSRF-checked forms, cookies, and the security headers every answer
//! carries. Served once `TOKEN_ISSUER` is an issuer URL (the code flow's `iss`), like the
//! metadata document that names the endpoint.

mod authorize;
mod cookies;
mod error;
mod render;

use axum::Router;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;
use authorize::{authorize_get, authorize_post};

pub(crate) fn routes() -> Router<AppState> {
    let mut routes = Router::new().route("/authorize", get(authorize_get).post(authorize_post));
    for (name, value) in render::security_headers() {
        routes = routes.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    routes
}
