//! Web pages for people rather than programs: the login page of the authorization endpoint.
//! HTML from templates, CSRF-checked forms, cookies, and the security headers every answer
//! carries. Served once `TOKEN_ISSUER` is an issuer URL (the code flow's `iss`), like the
//! metadata document that names the endpoint.

mod authorize;
mod cookies;
mod end_session;
mod error;
mod render;

use axum::Router;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;
use authorize::{authorize_get, authorize_post};
use end_session::{end_session_get, end_session_post};

/// The pages; with OpenID Connect on (`openid`), the end-session endpoint too.
pub(crate) fn routes(openid: bool) -> Router<AppState> {
    let mut routes = Router::new().route("/authorize", get(authorize_get).post(authorize_post));
    if openid {
        routes = routes.route("/end-session", get(end_session_get).post(end_session_post));
    }
    for (name, value) in render::security_headers() {
        routes = routes.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    routes
}
