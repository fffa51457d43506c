//! Everything HTTP, split by audience: [`api`], the JSON API a user's token opens;
//! [`oauth`], the protocol endpoints other software calls; [`pages`], the login page people
//! see (HTML, cookies, CSRF); and [`docs`], Swagger UI.
//! Shared by all: the extractors, the error surface and the OpenAPI document.

pub(crate) mod api;
pub(crate) mod docs;
pub mod error;
pub mod extract;
pub(crate) mod oauth;
pub mod openapi;
pub(crate) mod pages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method, Request, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;
use api::account::*;
use api::activity::*;
use api::consents::*;
use api::health::*;
use api::sessions::*;
use api::totp::*;
use api::users::*;
use error::ApiError;
use oauth::introspect::*;
use oauth::keys::*;
use oauth::revoke::*;
use oauth::token::*;
use oauth::userinfo::*;
use openapi::{ApiDoc, guarded_routes};

/// `/token` bodies are a few short fields; anything near this size is not a login.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

/// HTTP behaviour that is configuration rather than routing.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Origins allowed to call the API from a browser (CORS); empty turns CORS off.
    pub cors_origins: Vec<HeaderValue>,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Record each request's latency by route and status (`METRICS_ADDR` is set).
    pub metrics: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            metrics: false,
        }
    }
}

/// The whole service with default options, ready to serve or to drive in-process.
pub fn router(state: AppState) -> Router {
    router_with(state, &HttpOptions::default())
}

pub fn router_with(state: AppState, options: &HttpOptions) -> Router {
    let (router, api) = api_routes(&state).split_for_parts();
    let mut router = router.merge(docs::routes(api));
    if state.metadata.is_some() {
        router = router.merge(pages::routes(state.auth.id_tokens.is_some()));
    }
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    if options.metrics {
        router = router.layer(middleware::from_fn(record_latency));
    }
    if !options.cors_origins.is_empty() {
        // The tutorial's frontend lives on another origin; only listed origins may read
        // responses, and only with the methods and headers the API uses.
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(options.cors_origins.iter().cloned()))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    router
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_| async {
                    ApiError::RequestTimeout
                }))
                .timeout(options.request_timeout),
        )
        .layer(
            // One span per request with its id, method and path (never the query, headers
            // or body: that is where passwords and tokens travel), closed with status and
            // latency.
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// `passflow_http_request_duration_seconds`, labelled with the route's template (never the
/// raw path: `/users/me/sessions/{id}` stays one series) and the status.
async fn record_latency(request: axum::extract::Request, next: middleware::Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    crate::metrics::http_request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = request.uri().path(),
    )
}

/// The routes this configuration serves and, collected from the same declarations, their
/// OpenAPI document: a route a setting turns off is neither served nor documented.
pub(crate) fn api_routes(state: &AppState) -> OpenApiRouter<AppState> {
    let mut routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login_for_access_token))
        .routes(guarded_routes!(read_users_me))
        .routes(guarded_routes!(read_own_items))
        .routes(guarded_routes!(read_system_status))
        .routes(guarded_routes!(change_own_password))
        .routes(guarded_routes!(enrol_totp))
        .routes(guarded_routes!(disable_totp))
        .routes(guarded_routes!(confirm_totp))
        .routes(guarded_routes!(read_own_sessions))
        .routes(guarded_routes!(delete_own_session))
        .routes(guarded_routes!(read_own_activity))
        .routes(guarded_routes!(logout))
        .routes(guarded_routes!(logout_all))
        .routes(routes!(revoke))
        .routes(routes!(jwks))
        .routes(routes!(health))
        .routes(routes!(ready))
        // FastAPI answers these with a 307 to the slashed path; we serve them directly and
        // keep them out of the document so each operation appears once.
        .route("/users/me", get(read_users_me))
        .route("/users/me/items", get(read_own_items))
        .route("/status", get(read_system_status))
        .route("/users/me/sessions", get(read_own_sessions));
    openapi::add_password_scheme(routes.get_openapi_mut(), &state.auth.scopes);
    // Each optional route gets what it serves as an extension of its own, so it cannot be
    // mounted without it.
    if let Some(clients) = &state.introspection {
        let introspection = OpenApiRouter::new()
            .routes(routes!(introspect_token))
            .layer(Extension(clients.clone()));
        routes = routes.merge(introspection);
        openapi::add_resource_server_scheme(routes.get_openapi_mut());
    }
    if let Some(metadata) = &state.metadata {
        // OpenID Connect's discovery document and UserInfo endpoint are for its relying
        // parties (which read discovery, not OpenAPI): served, not documented.
        let metadata = OpenApiRouter::new()
            .routes(routes!(authorization_server_metadata))
            .route(
                "/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .layer(Extension(Arc::clone(metadata)));
        if state.auth.id_tokens.is_some() {
            routes = routes.route("/userinfo", get(userinfo_get).post(userinfo_post));
        }
        // The code flow's: what users allowed its clients.
        routes = routes
            .merge(metadata)
            .routes(guarded_routes!(read_own_consents))
            .routes(guarded_routes!(revoke_own_consent));
    }
    routes
}
