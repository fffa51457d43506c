//! Everything HTTP: routes, extractors, the error type and the OpenAPI document.

pub mod docs;
pub mod error;
pub mod extractor;
pub mod form;
pub mod handlers;
pub mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;
use handlers::*;
use openapi::{ApiDoc, guarded};

/// `/token` bodies are a few short fields; anything near this size is not a login.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole service as a router, ready to serve or to drive in-process from tests.
pub fn router(state: AppState) -> Router {
    let (router, api) = routes().split_for_parts();
    router
        .merge(docs::routes(api))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The routes and, collected from the same declarations, their OpenAPI document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login_for_access_token))
        .routes(guarded(routes!(read_users_me), read_users_me))
        .routes(guarded(routes!(read_own_items), read_own_items))
        .routes(guarded(routes!(read_system_status), read_system_status))
        .routes(routes!(health))
        // FastAPI answers these with a 307 to the slashed path; we serve them directly and
        // keep them out of the document so each operation appears once.
        .route("/users/me", get(read_users_me))
        .route("/users/me/items", get(read_own_items))
        .route("/status", get(read_system_status))
}
